//! Header field names: known names (long and compact forms, RFC 3261 §7.3.3) and extensions.

use std::fmt;

use crate::lex::is_token_str;

macro_rules! header_names {
    ($( $(#[$doc:meta])* $var:ident = $long:literal $(, $compact:literal)? ;)*) => {
        /// A header field name. Names compare case-insensitively and compact forms equal
        /// their long forms: construct with [`HeaderName::new`] (or `From<&str>`) to get the
        /// known variant for `v`, `Via`, `VIA` alike.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum HeaderName {
            $( $(#[$doc])* $var, )*
            /// An extension header, kept as written (compare with [`HeaderName::matches`]).
            Other(String),
        }

        /// (name, long form, compact form) in declaration order; the index is the id stored in
        /// header spans.
        pub(crate) static KNOWN: &[(HeaderName, &str, Option<u8>)] = &[
            $( (HeaderName::$var, $long, header_names!(@c $($compact)?)), )*
        ];
    };
    (@c $c:literal) => { Some($c) };
    (@c) => { None };
}

header_names! {
    /// `Accept` (RFC 3261 §20.1).
    Accept = "Accept";
    /// `Accept-Contact`, compact `a` (RFC 3841).
    AcceptContact = "Accept-Contact", b'a';
    /// `Accept-Encoding` (RFC 3261 §20.2).
    AcceptEncoding = "Accept-Encoding";
    /// `Accept-Language` (RFC 3261 §20.3).
    AcceptLanguage = "Accept-Language";
    /// `Alert-Info` (RFC 3261 §20.4).
    AlertInfo = "Alert-Info";
    /// `Allow` (RFC 3261 §20.5).
    Allow = "Allow";
    /// `Allow-Events`, compact `u` (RFC 6665).
    AllowEvents = "Allow-Events", b'u';
    /// `Authentication-Info` (RFC 3261 §20.6).
    AuthenticationInfo = "Authentication-Info";
    /// `Authorization` (RFC 3261 §20.7).
    Authorization = "Authorization";
    /// `Call-ID`, compact `i` (RFC 3261 §20.8).
    CallId = "Call-ID", b'i';
    /// `Call-Info` (RFC 3261 §20.9).
    CallInfo = "Call-Info";
    /// `Contact`, compact `m` (RFC 3261 §20.10).
    Contact = "Contact", b'm';
    /// `Content-Disposition` (RFC 3261 §20.11).
    ContentDisposition = "Content-Disposition";
    /// `Content-Encoding`, compact `e` (RFC 3261 §20.12).
    ContentEncoding = "Content-Encoding", b'e';
    /// `Content-Language` (RFC 3261 §20.13).
    ContentLanguage = "Content-Language";
    /// `Content-Length`, compact `l` (RFC 3261 §20.14).
    ContentLength = "Content-Length", b'l';
    /// `Content-Type`, compact `c` (RFC 3261 §20.15).
    ContentType = "Content-Type", b'c';
    /// `CSeq` (RFC 3261 §20.16).
    CSeq = "CSeq";
    /// `Date` (RFC 3261 §20.17).
    Date = "Date";
    /// `Error-Info` (RFC 3261 §20.18).
    ErrorInfo = "Error-Info";
    /// `Event`, compact `o` (RFC 6665).
    Event = "Event", b'o';
    /// `Expires` (RFC 3261 §20.19).
    Expires = "Expires";
    /// `From`, compact `f` (RFC 3261 §20.20).
    From = "From", b'f';
    /// `Identity`, compact `y` (RFC 8224).
    Identity = "Identity", b'y';
    /// `In-Reply-To` (RFC 3261 §20.21).
    InReplyTo = "In-Reply-To";
    /// `Max-Forwards` (RFC 3261 §20.22).
    MaxForwards = "Max-Forwards";
    /// `MIME-Version` (RFC 3261 §20.24).
    MimeVersion = "MIME-Version";
    /// `Min-Expires` (RFC 3261 §20.23).
    MinExpires = "Min-Expires";
    /// `Min-SE` (RFC 4028).
    MinSe = "Min-SE";
    /// `Organization` (RFC 3261 §20.25).
    Organization = "Organization";
    /// `P-Asserted-Identity` (RFC 3325).
    PAssertedIdentity = "P-Asserted-Identity";
    /// `P-Preferred-Identity` (RFC 3325).
    PPreferredIdentity = "P-Preferred-Identity";
    /// `Priority` (RFC 3261 §20.26).
    Priority = "Priority";
    /// `Proxy-Authenticate` (RFC 3261 §20.27).
    ProxyAuthenticate = "Proxy-Authenticate";
    /// `Proxy-Authorization` (RFC 3261 §20.28).
    ProxyAuthorization = "Proxy-Authorization";
    /// `Proxy-Require` (RFC 3261 §20.29).
    ProxyRequire = "Proxy-Require";
    /// `RAck` (RFC 3262).
    RAck = "RAck";
    /// `Reason` (RFC 3326).
    Reason = "Reason";
    /// `Record-Route` (RFC 3261 §20.30).
    RecordRoute = "Record-Route";
    /// `Refer-To`, compact `r` (RFC 3515).
    ReferTo = "Refer-To", b'r';
    /// `Referred-By`, compact `b` (RFC 3892).
    ReferredBy = "Referred-By", b'b';
    /// `Reject-Contact`, compact `j` (RFC 3841).
    RejectContact = "Reject-Contact", b'j';
    /// `Replaces` (RFC 3891).
    Replaces = "Replaces";
    /// `Reply-To` (RFC 3261 §20.31).
    ReplyTo = "Reply-To";
    /// `Request-Disposition`, compact `d` (RFC 3841).
    RequestDisposition = "Request-Disposition", b'd';
    /// `Require` (RFC 3261 §20.32).
    Require = "Require";
    /// `Retry-After` (RFC 3261 §20.33).
    RetryAfter = "Retry-After";
    /// `Route` (RFC 3261 §20.34).
    Route = "Route";
    /// `RSeq` (RFC 3262).
    RSeq = "RSeq";
    /// `Server` (RFC 3261 §20.35).
    Server = "Server";
    /// `Session-Expires`, compact `x` (RFC 4028).
    SessionExpires = "Session-Expires", b'x';
    /// `Subject`, compact `s` (RFC 3261 §20.36).
    Subject = "Subject", b's';
    /// `Subscription-State` (RFC 6665).
    SubscriptionState = "Subscription-State";
    /// `Supported`, compact `k` (RFC 3261 §20.37).
    Supported = "Supported", b'k';
    /// `Timestamp` (RFC 3261 §20.38).
    Timestamp = "Timestamp";
    /// `To`, compact `t` (RFC 3261 §20.39).
    To = "To", b't';
    /// `Unsupported` (RFC 3261 §20.40).
    Unsupported = "Unsupported";
    /// `User-Agent` (RFC 3261 §20.41).
    UserAgent = "User-Agent";
    /// `Via`, compact `v` (RFC 3261 §20.42).
    Via = "Via", b'v';
    /// `Warning` (RFC 3261 §20.43).
    Warning = "Warning";
    /// `WWW-Authenticate` (RFC 3261 §20.44).
    WwwAuthenticate = "WWW-Authenticate";
}

/// Span id of an extension header.
pub(crate) const OTHER_ID: u8 = u8::MAX;

impl HeaderName {
    /// Builds a name from wire text: known long or compact names (any case) give the known
    /// variant, anything else `Other`.
    pub fn new(s: &str) -> Self {
        match known_id(s.as_bytes()) {
            Some(id) => KNOWN[usize::from(id)].0.clone(),
            None => Self::Other(s.to_owned()),
        }
    }

    /// The canonical (long) name, or the extension name as given.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Other(s) => s,
            _ => self.static_name(),
        }
    }

    /// The canonical name of a known header, `"extension header"` for `Other`.
    pub(crate) fn static_name(&self) -> &'static str {
        self.id()
            .map_or("extension header", |i| KNOWN[usize::from(i)].1)
    }

    /// The compact form (RFC 3261 §7.3.3 and extensions), if the header has one.
    pub fn compact(&self) -> Option<char> {
        self.id()
            .and_then(|i| KNOWN[usize::from(i)].2)
            .map(char::from)
    }

    /// True when the wire name `raw` denotes this header (case-insensitive, compact = long).
    pub fn matches(&self, raw: &[u8]) -> bool {
        match self.id() {
            Some(id) => known_id(raw) == Some(id),
            None => raw.eq_ignore_ascii_case(self.as_str().as_bytes()),
        }
    }

    /// True when the name is a valid token.
    pub fn is_valid(&self) -> bool {
        is_token_str(self.as_str())
    }

    /// Span id: index in [`KNOWN`], or `None` for an extension (an `Other` holding a known
    /// name is normalised).
    pub(crate) fn id(&self) -> Option<u8> {
        match self {
            Self::Other(s) => known_id(s.as_bytes()),
            n => KNOWN
                .iter()
                .position(|(k, _, _)| k == n)
                .and_then(|i| u8::try_from(i).ok()),
        }
    }
}

impl From<&str> for HeaderName {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

impl fmt::Display for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Span id of a wire name; allocation-free, used while parsing.
pub(crate) fn known_id(raw: &[u8]) -> Option<u8> {
    let pos = if raw.len() == 1 {
        let c = raw[0].to_ascii_lowercase();
        KNOWN.iter().position(|(_, _, k)| *k == Some(c))
    } else {
        KNOWN
            .iter()
            .position(|(_, long, _)| long.as_bytes().eq_ignore_ascii_case(raw))
    };
    pos.and_then(|i| u8::try_from(i).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_equals_long() {
        assert_eq!(HeaderName::new("v"), HeaderName::Via);
        assert_eq!(HeaderName::new("VIA"), HeaderName::Via);
        assert_eq!(HeaderName::new("i"), HeaderName::CallId);
        assert_eq!(HeaderName::new("x"), HeaderName::SessionExpires);
        assert_eq!(HeaderName::new("j"), HeaderName::RejectContact);
        assert!(HeaderName::Via.matches(b"V"));
        assert!(HeaderName::Other("Via".into()).matches(b"v"));
        assert_eq!(
            HeaderName::new("C%6Fntact"),
            HeaderName::Other("C%6Fntact".into())
        );
        assert!(HeaderName::Other("X-Foo".into()).matches(b"x-foo"));
        assert_eq!(HeaderName::ContentLength.compact(), Some('l'));
        assert_eq!(HeaderName::CSeq.compact(), None);
        assert!(KNOWN.len() < usize::from(OTHER_ID));
    }
}
