//! SIP methods: an open set (RFC 3261 §7.1, §27.4).

use std::fmt;

use crate::lex::is_token_str;

/// A request method. Method tokens are case-sensitive (RFC 3261 §7.1): `invite` and
/// `RE%47ISTER` are [`Method::Other`], so a UAS can answer 501 to them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// RFC 3261.
    Invite,
    /// RFC 3261.
    Ack,
    /// RFC 3261.
    Bye,
    /// RFC 3261.
    Cancel,
    /// RFC 3261.
    Options,
    /// RFC 3261.
    Register,
    /// RFC 3262.
    Prack,
    /// RFC 3311.
    Update,
    /// RFC 6086.
    Info,
    /// RFC 3515.
    Refer,
    /// RFC 6665.
    Notify,
    /// RFC 6665.
    Subscribe,
    /// RFC 3428.
    Message,
    /// RFC 3903.
    Publish,
    /// Any other token, kept as written.
    Other(String),
}

const KNOWN: [(Method, &str); 14] = [
    (Method::Invite, "INVITE"),
    (Method::Ack, "ACK"),
    (Method::Bye, "BYE"),
    (Method::Cancel, "CANCEL"),
    (Method::Options, "OPTIONS"),
    (Method::Register, "REGISTER"),
    (Method::Prack, "PRACK"),
    (Method::Update, "UPDATE"),
    (Method::Info, "INFO"),
    (Method::Refer, "REFER"),
    (Method::Notify, "NOTIFY"),
    (Method::Subscribe, "SUBSCRIBE"),
    (Method::Message, "MESSAGE"),
    (Method::Publish, "PUBLISH"),
];

impl Method {
    /// Parses a method token (case-sensitive). Returns `None` unless `s` is a token.
    pub fn from_token(s: &str) -> Option<Self> {
        if !is_token_str(s) {
            return None;
        }
        Some(
            KNOWN
                .iter()
                .find(|(_, n)| *n == s)
                .map_or_else(|| Self::Other(s.to_owned()), |(m, _)| m.clone()),
        )
    }

    /// The method token.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Other(s) => s,
            known => KNOWN
                .iter()
                .find(|(m, _)| m == known)
                .map_or("", |(_, n)| n),
        }
    }

    /// True when this method token is `s` exactly.
    pub fn is(&self, s: &str) -> bool {
        self.as_str() == s
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_sensitive_and_open() {
        assert_eq!(Method::from_token("INVITE"), Some(Method::Invite));
        assert_eq!(
            Method::from_token("invite"),
            Some(Method::Other("invite".into()))
        );
        assert_eq!(
            Method::from_token("RE%47ISTER"),
            Some(Method::Other("RE%47ISTER".into()))
        );
        assert_eq!(Method::from_token("BAD METHOD"), None);
        assert_eq!(Method::from_token(""), None);
        for (m, n) in KNOWN {
            assert_eq!(m.as_str(), n);
            assert_eq!(Method::from_token(n), Some(m));
        }
    }
}
