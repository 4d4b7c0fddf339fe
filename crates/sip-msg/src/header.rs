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

        /// The known names as a field-less enum: its discriminant is the span id.
        #[derive(Clone, Copy)]
        #[allow(dead_code, reason = "only the discriminants are used")]
        enum Idx {
            $( $var, )*
        }

        /// (name, long form, compact form) in declaration order; the index is the id stored in
        /// header spans.
        pub(crate) static KNOWN: &[(HeaderName, &str, Option<u8>)] = &[
            $( (HeaderName::$var, $long, header_names!(@c $($compact)?)), )*
        ];

        /// Long forms by id (a `const` copy of `KNOWN`'s second column for the lookup tables).
        const LONG: &[&str] = &[ $( $long, )* ];

        /// Compact forms by id.
        const COMPACT: &[Option<u8>] = &[ $( header_names!(@c $($compact)?), )* ];

        impl HeaderName {
            /// Id of a known variant (`None` for `Other`), without looking at `KNOWN`.
            #[inline]
            fn variant_id(&self) -> Option<u8> {
                match self {
                    $( Self::$var => Some(Idx::$var as u8), )*
                    Self::Other(_) => None,
                }
            }
        }
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
    #[inline]
    pub(crate) fn static_name(&self) -> &'static str {
        self.id()
            .map_or("extension header", |i| LONG[usize::from(i)])
    }

    /// The compact form (RFC 3261 §7.3.3 and extensions), if the header has one.
    pub fn compact(&self) -> Option<char> {
        self.id()
            .and_then(|i| COMPACT[usize::from(i)])
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
    #[inline]
    pub(crate) fn id(&self) -> Option<u8> {
        match self {
            Self::Other(s) => known_id(s.as_bytes()),
            n => n.variant_id(),
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

/// Multiplier of the perfect hash of long names (found offline: no two of `LONG` share a
/// slot; `build_hashed` fails the build if a new name collides).
const HASH_MUL: u32 = 0x890a_5239;

/// Slot of a long name (length ≥ 2) in [`HASHED`]: a multiplicative hash of its length and
/// its first, middle and last octets, lowercased.
#[inline(always)]
const fn name_hash(raw: &[u8]) -> usize {
    let n = raw.len();
    let key = raw[0].to_ascii_lowercase() as u32
        | (raw[n - 1].to_ascii_lowercase() as u32) << 8
        | (n as u32 & 0xff) << 16
        | (raw[n / 2].to_ascii_lowercase() as u32) << 24;
    (key.wrapping_mul(HASH_MUL) >> 24) as usize
}

/// Long-name hash slot → id (`OTHER_ID` when empty).
static HASHED: [u8; 256] = build_hashed();

/// Octet → id of the header with that compact form, either case (`OTHER_ID` when none).
static COMPACT_ID: [u8; 256] = build_compact();

const fn build_hashed() -> [u8; 256] {
    let mut t = [OTHER_ID; 256];
    let mut i = 0;
    while i < LONG.len() {
        let h = name_hash(LONG[i].as_bytes());
        assert!(
            t[h] == OTHER_ID,
            "header name hash collision: change HASH_MUL"
        );
        t[h] = i as u8;
        i += 1;
    }
    t
}

const fn build_compact() -> [u8; 256] {
    let mut t = [OTHER_ID; 256];
    let mut i = 0;
    while i < COMPACT.len() {
        if let Some(c) = COMPACT[i] {
            t[c.to_ascii_lowercase() as usize] = i as u8;
            t[c.to_ascii_uppercase() as usize] = i as u8;
        }
        i += 1;
    }
    t
}

/// Span id of a wire name; allocation-free, used while parsing. One table lookup and at most
/// one case-insensitive comparison.
#[inline]
pub(crate) fn known_id(raw: &[u8]) -> Option<u8> {
    let id = match raw.len() {
        0 => return None,
        1 => COMPACT_ID[usize::from(raw[0])],
        _ => {
            let id = HASHED[name_hash(raw)];
            if id == OTHER_ID || !LONG[usize::from(id)].as_bytes().eq_ignore_ascii_case(raw) {
                return None;
            }
            id
        }
    };
    (id != OTHER_ID).then_some(id)
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

    /// The tables agree with the plain scan of `KNOWN` they replace.
    #[test]
    fn lookups_match_linear_scan() {
        let scan = |raw: &[u8]| -> Option<u8> {
            let pos = if raw.len() == 1 {
                let c = raw[0].to_ascii_lowercase();
                KNOWN.iter().position(|(_, _, k)| *k == Some(c))
            } else {
                KNOWN
                    .iter()
                    .position(|(_, long, _)| long.as_bytes().eq_ignore_ascii_case(raw))
            };
            pos.and_then(|i| u8::try_from(i).ok())
        };
        for (i, (name, long, compact)) in KNOWN.iter().enumerate() {
            let i = u8::try_from(i).unwrap();
            assert_eq!(name.id(), Some(i));
            assert_eq!(name.static_name(), *long);
            assert_eq!(name.compact(), compact.map(char::from));
            assert_eq!(LONG[usize::from(i)], *long);
            assert_eq!(HeaderName::Other((*long).to_owned()).id(), Some(i));
            for v in [
                (*long).to_owned(),
                long.to_ascii_lowercase(),
                long.to_ascii_uppercase(),
            ] {
                assert_eq!(known_id(v.as_bytes()), Some(i), "{v}");
                assert_eq!(HeaderName::new(&v), *name);
            }
            let mut near = long.as_bytes().to_vec();
            near[1] ^= 1;
            assert_eq!(known_id(&near), scan(&near));
            near.push(b'x');
            assert_eq!(known_id(&near), scan(&near));
        }
        for b in 0..=255u8 {
            assert_eq!(known_id(&[b]), scan(&[b]), "{b}");
            assert_eq!(known_id(&[b, b]), scan(&[b, b]));
            assert_eq!(known_id(&[b'T', b]), scan(&[b'T', b]));
        }
        for raw in [&b""[..], b"X-Foo", b"Tox", b"Contact-", b"\xffVia", b"Viaa"] {
            assert_eq!(known_id(raw), scan(raw));
        }
        assert_eq!(HeaderName::Other("X-Foo".into()).id(), None);
        assert_eq!(
            HeaderName::Other("X-Foo".into()).static_name(),
            "extension header"
        );
    }
}
