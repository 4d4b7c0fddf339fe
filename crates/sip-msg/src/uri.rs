//! URIs: SIP/SIPS (RFC 3261 §19.1), tel (RFC 3966) and any other absolute URI (kept as
//! text, so a UAS can answer 416 Unsupported URI Scheme, RFC 3261 §8.2.2.1).
//!
//! Components are stored as written (still %-escaped, original case), so
//! `Uri::parse(s)?.to_string() == s` for every valid URI with a lower-case `sip`/`sips`/`tel`
//! scheme. Comparison per RFC 3261 §19.1.4 is [`Uri::equivalent`]: it unescapes exactly once
//! (`%2541` is `%41`, not `A`; RFC 4475 §3.1.1.3).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::UriError;
use crate::lex::{escapes_ok, unescape};

/// Any URI that can appear in a SIP message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Uri {
    /// `sip:` or `sips:` (RFC 3261 §19.1).
    Sip(SipUri),
    /// `tel:` (RFC 3966).
    Tel(TelUri),
    /// Any other absolute URI, kept verbatim (`text` is the whole URI, scheme included).
    Other {
        /// Scheme as written.
        scheme: String,
        /// The whole URI text.
        text: String,
    },
}

/// `sip` or `sips`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `sip:`.
    Sip,
    /// `sips:` (RFC 3261 §19.1.1).
    Sips,
}

/// A SIP or SIPS URI. Every text component is kept %-escaped as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SipUri {
    /// `sip` or `sips`.
    pub scheme: Scheme,
    /// User part, escaped; may contain `;` (RFC 4475 §3.1.1.9).
    pub user: Option<String>,
    /// Password, escaped.
    pub password: Option<String>,
    /// Host.
    pub host: Host,
    /// Explicit port.
    pub port: Option<u16>,
    /// `;name[=value]` URI parameters, escaped, in order.
    pub params: Vec<(String, Option<String>)>,
    /// `?name=value&...` headers, escaped, in order.
    pub headers: Vec<(String, String)>,
}

/// A host: name, IPv4 address or IPv6 reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// A host name, as written.
    Name(String),
    /// A dotted IPv4 address.
    Ipv4(Ipv4Addr),
    /// An IPv6 reference, text between the brackets as written. Kept as text because RFC 5118
    /// §4.10 asks to tolerate the RFC 3261 ABNF bug (`2001:db8:::192.0.2.1`), which is not an
    /// RFC 4291 address; [`Host::ip`] gives the address when it is one.
    Ipv6(String),
}

/// A `tel:` URI (RFC 3966).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TelUri {
    /// The number as written, `+` included for a global number.
    pub number: String,
    /// `;name[=value]` parameters as written.
    pub params: Vec<(String, Option<String>)>,
}

impl Uri {
    /// Parses a URI. The text must be the URI alone (no surrounding `<>` or whitespace).
    pub fn parse(s: &str) -> Result<Self, UriError> {
        if s.is_empty() {
            return Err(UriError::Empty);
        }
        let colon = s.find(':').ok_or(UriError::BadScheme)?;
        let scheme = &s[..colon];
        let rest = &s[colon + 1..];
        if !is_scheme(scheme) {
            return Err(UriError::BadScheme);
        }
        if scheme.eq_ignore_ascii_case("sip") {
            SipUri::parse_rest(Scheme::Sip, rest).map(Self::Sip)
        } else if scheme.eq_ignore_ascii_case("sips") {
            SipUri::parse_rest(Scheme::Sips, rest).map(Self::Sip)
        } else if scheme.eq_ignore_ascii_case("tel") {
            TelUri::parse_rest(rest).map(Self::Tel)
        } else {
            if rest.is_empty()
                || !rest
                    .bytes()
                    .all(|c| c.is_ascii_graphic() && !matches!(c, b'<' | b'>' | b'"'))
            {
                return Err(UriError::BadChar);
            }
            Ok(Self::Other {
                scheme: scheme.to_owned(),
                text: s.to_owned(),
            })
        }
    }

    /// The SIP URI, if this is one.
    pub fn as_sip(&self) -> Option<&SipUri> {
        match self {
            Self::Sip(u) => Some(u),
            _ => None,
        }
    }

    /// The scheme (lower case for sip/sips/tel, as written otherwise).
    pub fn scheme(&self) -> &str {
        match self {
            Self::Sip(u) => match u.scheme {
                Scheme::Sip => "sip",
                Scheme::Sips => "sips",
            },
            Self::Tel(_) => "tel",
            Self::Other { scheme, .. } => scheme,
        }
    }

    /// URI equality per RFC 3261 §19.1.4 (sip/sips), RFC 3966 §4 (tel), and
    /// case-insensitive scheme + exact text for other schemes.
    pub fn equivalent(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Sip(a), Self::Sip(b)) => a.equivalent(b),
            (Self::Tel(a), Self::Tel(b)) => a.equivalent(b),
            (
                Self::Other {
                    scheme: sa,
                    text: ta,
                },
                Self::Other {
                    scheme: sb,
                    text: tb,
                },
            ) => sa.eq_ignore_ascii_case(sb) && ta.get(sa.len()..) == tb.get(sb.len()..),
            _ => false,
        }
    }
}

impl std::str::FromStr for Uri {
    type Err = UriError;
    fn from_str(s: &str) -> Result<Self, UriError> {
        Self::parse(s)
    }
}

impl SipUri {
    /// A `sip:` URI with just a host.
    pub fn new(host: Host) -> Self {
        Self {
            scheme: Scheme::Sip,
            user: None,
            password: None,
            host,
            port: None,
            params: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// The value of a URI parameter (case-insensitive name); `Some(None)` for a flag.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }

    /// The user part unescaped once (RFC 3261 §19.1.4): bytes, since `%00` is legal
    /// (RFC 4475 §3.1.1.4).
    pub fn user_unescaped(&self) -> Option<Vec<u8>> {
        self.user.as_deref().map(|u| unescape(u).into_owned())
    }

    /// `lr` parameter present (loose routing, RFC 3261 §16.12).
    pub fn is_loose_route(&self) -> bool {
        self.param("lr").is_some()
    }

    fn parse_rest(scheme: Scheme, s: &str) -> Result<Self, UriError> {
        if s.bytes().any(|c| !c.is_ascii_graphic()) {
            return Err(UriError::BadChar);
        }
        // The user part can contain `;`, `?` and `/` but never an unescaped `@`, nor can
        // params or headers: the first `@` ends the userinfo.
        let (user, password, hostpart) = match s.find('@') {
            Some(at) => {
                let (ui, hp) = (&s[..at], &s[at + 1..]);
                let (u, p) = match ui.find(':') {
                    Some(c) => (&ui[..c], Some(&ui[c + 1..])),
                    None => (ui, None),
                };
                if u.is_empty() || !escapes_ok(u) || !u.bytes().all(is_user_char) {
                    return Err(UriError::BadUser);
                }
                if let Some(p) = p
                    && (!escapes_ok(p) || !p.bytes().all(is_password_char))
                {
                    return Err(UriError::BadUser);
                }
                (Some(u.to_owned()), p.map(str::to_owned), hp)
            }
            None => (None, None, s),
        };
        let (host, after) = parse_host(hostpart)?;
        let mut rest = after;
        let mut port = None;
        if let Some(r) = rest.strip_prefix(':') {
            let end = r.find([';', '?']).unwrap_or(r.len());
            port = Some(parse_port(&r[..end])?);
            rest = &r[end..];
        }
        let (param_text, header_text) = match rest.find('?') {
            Some(q) => (&rest[..q], Some(&rest[q + 1..])),
            None => (rest, None),
        };
        let params = parse_params(param_text, is_param_char)?;
        let mut headers = Vec::new();
        if let Some(h) = header_text {
            for item in h.split('&') {
                let (n, v) = item.split_once('=').ok_or(UriError::BadHeaders)?;
                if n.is_empty()
                    || !escapes_ok(item)
                    || !n.bytes().all(is_header_char)
                    || !v.bytes().all(is_header_char)
                {
                    return Err(UriError::BadHeaders);
                }
                headers.push((n.to_owned(), v.to_owned()));
            }
        }
        Ok(Self {
            scheme,
            user,
            password,
            host,
            port,
            params,
            headers,
        })
    }

    /// RFC 3261 §19.1.4 comparison.
    pub fn equivalent(&self, o: &Self) -> bool {
        let esc_eq = |a: &Option<String>, b: &Option<String>| match (a, b) {
            (Some(a), Some(b)) => unescape(a) == unescape(b),
            (None, None) => true,
            _ => false,
        };
        if self.scheme != o.scheme
            || !esc_eq(&self.user, &o.user)
            || !esc_eq(&self.password, &o.password)
            || !self.host.equivalent(&o.host)
            || self.port != o.port
        {
            return false;
        }
        // Names and values compare unescaped and case-insensitively.
        type Norm = Vec<(Vec<u8>, Option<Vec<u8>>)>;
        let norm = |p: &[(String, Option<String>)]| -> Norm {
            p.iter()
                .map(|(n, v)| {
                    (
                        unescape(n).to_ascii_lowercase(),
                        v.as_deref().map(|v| unescape(v).to_ascii_lowercase()),
                    )
                })
                .collect()
        };
        let (pa, pb) = (norm(&self.params), norm(&o.params));
        let find = |p: &Norm, n: &[u8]| p.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        // user, ttl, method, maddr, transport: present in one => must match in the other.
        for special in ["user", "ttl", "method", "maddr", "transport"] {
            if find(&pa, special.as_bytes()) != find(&pb, special.as_bytes()) {
                return false;
            }
        }
        // Any other parameter present in both must match. A name given twice counts by its
        // first occurrence (§19.1.4 assumes each appears once), which keeps this reflexive.
        for (n, _) in &pa {
            if let (Some(v), Some(ov)) = (find(&pa, n), find(&pb, n))
                && v != ov
            {
                return false;
            }
        }
        // Header components are never ignored.
        let hset = |h: &[(String, String)]| {
            let mut v: Vec<(Vec<u8>, Vec<u8>)> = h
                .iter()
                .map(|(n, v)| (unescape(n).to_ascii_lowercase(), unescape(v).into_owned()))
                .collect();
            v.sort();
            v
        };
        hset(&self.headers) == hset(&o.headers)
    }
}

impl Host {
    /// Parses a host (name, IPv4, or `[IPv6]` with brackets).
    pub fn parse(s: &str) -> Result<Self, UriError> {
        match parse_host(s)? {
            (h, "") => Ok(h),
            _ => Err(UriError::BadHost),
        }
    }

    /// The IP address, if the host is one (an RFC 4291-valid IPv6 reference, or IPv4).
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Self::Name(_) => None,
            Self::Ipv4(a) => Some(IpAddr::V4(*a)),
            Self::Ipv6(t) => t.parse::<Ipv6Addr>().ok().map(IpAddr::V6),
        }
    }

    /// Host comparison: names case-insensitively, IPv6 by address when both parse.
    pub fn equivalent(&self, o: &Self) -> bool {
        match (self, o) {
            (Self::Name(a), Self::Name(b)) => a.eq_ignore_ascii_case(b),
            (Self::Ipv4(a), Self::Ipv4(b)) => a == b,
            (Self::Ipv6(a), Self::Ipv6(b)) => match (self.ip(), o.ip()) {
                (Some(x), Some(y)) => x == y,
                _ => a.eq_ignore_ascii_case(b),
            },
            _ => false,
        }
    }
}

impl TelUri {
    /// True for a global number (`+` prefix, RFC 3966 §5.1.4).
    pub fn is_global(&self) -> bool {
        self.number.starts_with('+')
    }

    fn parse_rest(s: &str) -> Result<Self, UriError> {
        let end = s.find(';').unwrap_or(s.len());
        let number = &s[..end];
        let digits = number.strip_prefix('+').unwrap_or(number);
        let global = digits.len() != number.len();
        let ok_char = |c: u8| {
            c.is_ascii_digit()
                || matches!(c, b'-' | b'.' | b'(' | b')')
                || (!global && (c.is_ascii_hexdigit() || c == b'*' || c == b'#'))
        };
        if !digits
            .bytes()
            .any(|c| c.is_ascii_hexdigit() || c == b'*' || c == b'#')
            || !digits.bytes().all(ok_char)
        {
            return Err(UriError::BadTel);
        }
        let params = parse_params(&s[end..], |c| is_param_char(c) || c == b'+')?;
        Ok(Self {
            number: number.to_owned(),
            params,
        })
    }

    /// RFC 3966 §4: numbers compare without visual separators, parameters as a set,
    /// case-insensitively.
    pub fn equivalent(&self, o: &Self) -> bool {
        let norm = |n: &str| -> String {
            n.chars()
                .filter(|c| !matches!(c, '-' | '.' | '(' | ')'))
                .collect::<String>()
                .to_ascii_lowercase()
        };
        let pset = |p: &[(String, Option<String>)]| {
            let mut v: Vec<(String, Option<String>)> = p
                .iter()
                .map(|(n, v)| {
                    (
                        n.to_ascii_lowercase(),
                        v.as_ref().map(|v| v.to_ascii_lowercase()),
                    )
                })
                .collect();
            v.sort();
            v
        };
        norm(&self.number) == norm(&o.number) && pset(&self.params) == pset(&o.params)
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sip(u) => u.fmt(f),
            Self::Tel(t) => t.fmt(f),
            Self::Other { text, .. } => f.write_str(text),
        }
    }
}

impl fmt::Display for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.scheme {
            Scheme::Sip => "sip:",
            Scheme::Sips => "sips:",
        })?;
        if let Some(u) = &self.user {
            f.write_str(u)?;
            if let Some(p) = &self.password {
                write!(f, ":{p}")?;
            }
            f.write_str("@")?;
        }
        write!(f, "{}", self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write_params(f, &self.params)?;
        for (i, (n, v)) in self.headers.iter().enumerate() {
            write!(f, "{}{n}={v}", if i == 0 { '?' } else { '&' })?;
        }
        Ok(())
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Name(n) => f.write_str(n),
            Self::Ipv4(a) => write!(f, "{a}"),
            Self::Ipv6(t) => write!(f, "[{t}]"),
        }
    }
}

impl fmt::Display for TelUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tel:{}", self.number)?;
        write_params(f, &self.params)
    }
}

fn write_params(f: &mut fmt::Formatter<'_>, p: &[(String, Option<String>)]) -> fmt::Result {
    for (n, v) in p {
        write!(f, ";{n}")?;
        if let Some(v) = v {
            write!(f, "={v}")?;
        }
    }
    Ok(())
}

// ---- helpers ----

fn is_scheme(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphabetic()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
}

fn is_unreserved(c: u8) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')'
        )
}

fn is_user_char(c: u8) -> bool {
    is_unreserved(c)
        || matches!(
            c,
            b'%' | b'&' | b'=' | b'+' | b'$' | b',' | b';' | b'?' | b'/'
        )
}

fn is_password_char(c: u8) -> bool {
    is_unreserved(c) || matches!(c, b'%' | b'&' | b'=' | b'+' | b'$' | b',')
}

fn is_param_char(c: u8) -> bool {
    is_unreserved(c) || matches!(c, b'%' | b'[' | b']' | b'/' | b':' | b'&' | b'+' | b'$')
}

fn is_header_char(c: u8) -> bool {
    is_unreserved(c) || matches!(c, b'%' | b'[' | b']' | b'/' | b'?' | b':' | b'+' | b'$')
}

/// Parses a host at the start of `s`; returns it and the unparsed rest.
pub(crate) fn parse_host(s: &str) -> Result<(Host, &str), UriError> {
    if let Some(r) = s.strip_prefix('[') {
        let close = r.find(']').ok_or(UriError::BadHost)?;
        let inner = &r[..close];
        if !valid_ipv6_text(inner) {
            return Err(UriError::BadHost);
        }
        return Ok((Host::Ipv6(inner.to_owned()), &r[close + 1..]));
    }
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_'))
        .unwrap_or(s.len());
    let name = &s[..end];
    if name.is_empty() || name.starts_with('.') || name.contains("..") {
        return Err(UriError::BadHost);
    }
    let host = match name.parse::<Ipv4Addr>() {
        Ok(a) if a.to_string() == name => Host::Ipv4(a),
        _ => Host::Name(name.to_owned()),
    };
    Ok((host, &s[end..]))
}

/// IPv6 reference text: an RFC 4291 address, or the RFC 3261 ABNF variant RFC 5118 §4.10
/// asks to tolerate (hex groups, colons and an optional trailing dotted quad).
fn valid_ipv6_text(s: &str) -> bool {
    if s.parse::<Ipv6Addr>().is_ok() {
        return true;
    }
    s.contains("::")
        && s.len() <= 64
        && s.bytes()
            .all(|c| c.is_ascii_hexdigit() || c == b':' || c == b'.')
        && s.split(':')
            .all(|g| g.len() <= 4 || g.parse::<Ipv4Addr>().is_ok())
}

pub(crate) fn parse_port(s: &str) -> Result<u16, UriError> {
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|c| c.is_ascii_digit()) {
        return Err(UriError::BadPort);
    }
    s.parse().map_err(|_| UriError::BadPort)
}

fn parse_params(
    s: &str,
    ok: impl Fn(u8) -> bool,
) -> Result<Vec<(String, Option<String>)>, UriError> {
    let mut out = Vec::new();
    if s.is_empty() {
        return Ok(out);
    }
    let body = s.strip_prefix(';').ok_or(UriError::BadParam)?;
    for p in body.split(';') {
        let (n, v) = match p.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (p, None),
        };
        let v_ok = v.is_none_or(|v| !v.is_empty() && v.bytes().all(&ok));
        if n.is_empty() || !n.bytes().all(&ok) || !v_ok || !escapes_ok(p) {
            return Err(UriError::BadParam);
        }
        out.push((n.to_owned(), v.map(str::to_owned)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sip(s: &str) -> SipUri {
        match Uri::parse(s).unwrap() {
            Uri::Sip(u) => u,
            other => panic!("not sip: {other:?}"),
        }
    }

    #[test]
    fn round_trips() {
        for s in [
            "sip:user@example.com",
            "sips:user:pw@[2001:db8::10]:5070;transport=tcp;lr?Route=%3Csip:x%3E&a=b",
            "sip:user;par=u%40example.net@example.com",
            "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com",
            "tel:+1-201-555-0123;ext=1",
            "tel:7042;phone-context=example.com",
            "nobodyKnowsThisScheme:totallyopaquecontent",
            "soap.beep://192.0.2.103:3002",
            "sip:[2001:db8:::192.0.2.1]",
        ] {
            assert_eq!(Uri::parse(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn hosts_and_ports() {
        let u = sip("sip:[2001:db8::10:5070]");
        assert_eq!(u.host, Host::Ipv6("2001:db8::10:5070".into()));
        assert_eq!(u.port, None);
        let u = sip("sip:[2001:db8::10]:5070");
        assert_eq!(u.port, Some(5070));
        assert_eq!(Uri::parse("sip:2001:db8::10"), Err(UriError::BadPort));
        assert_eq!(
            sip("sip:192.0.2.1").host,
            Host::Ipv4(Ipv4Addr::new(192, 0, 2, 1))
        );
        assert!(Uri::parse("sip:host:70000").is_err());
        assert!(Uri::parse("sip:@host").is_err());
        assert!(Uri::parse("<sip:host>").is_err());
        assert!(Uri::parse("sip:host; lr").is_err());
        assert!(Uri::parse("sip:host;;").is_err());
    }

    #[test]
    fn escapes() {
        let u = sip("sip:sips%3Auser%40example.com@example.net");
        assert_eq!(u.user_unescaped().unwrap(), b"sips:user@example.com");
        let a = Uri::parse("sip:value%41@h").unwrap();
        assert!(a.equivalent(&Uri::parse("sip:valueA@h").unwrap()));
        let b = Uri::parse("sip:value%2541@h").unwrap();
        assert!(!b.equivalent(&Uri::parse("sip:valueA@h").unwrap()));
        assert!(b.equivalent(&Uri::parse("sip:value%2541@h").unwrap()));
        assert_eq!(sip("sip:%00@h").user_unescaped().unwrap(), b"\0");
    }

    #[test]
    fn rfc3261_equivalence_examples() {
        let eq = |a: &str, b: &str| Uri::parse(a).unwrap().equivalent(&Uri::parse(b).unwrap());
        assert!(eq(
            "sip:%61lice@atlanta.com;transport=TCP",
            "sip:alice@AtLanTa.CoM;Transport=tcp"
        ));
        assert!(eq(
            "sip:carol@chicago.com",
            "sip:carol@chicago.com;newparam=5"
        ));
        assert!(eq(
            "sip:carol@chicago.com;security=on",
            "sip:carol@chicago.com;newparam=5"
        ));
        assert!(eq(
            "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
            "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"
        ));
        assert!(!eq(
            "SIP:ALICE@AtLanTa.CoM;Transport=udp",
            "sip:alice@AtLanTa.CoM;Transport=UDP"
        ));
        assert!(!eq("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"));
        assert!(!eq(
            "sip:bob@biloxi.com",
            "sip:bob@biloxi.com;transport=udp"
        ));
        assert!(!eq(
            "sip:carol@chicago.com",
            "sip:carol@chicago.com?Subject=next%20meeting"
        ));
        assert!(!eq(
            "sip:carol@chicago.com;security=on",
            "sip:carol@chicago.com;security=off"
        ));
        assert!(eq("tel:+1-201-555-0123", "tel:+12015550123"));
        assert!(eq("foo:Bar", "FOO:Bar"));
        assert!(!eq("foo:bar", "foo:Bar"));
    }

    #[test]
    fn equivalence_is_reflexive_with_a_repeated_parameter() {
        // Found by the URI round-trip property: `u` and `u=a` in one URI.
        let u = Uri::parse("sip:a;u;u=a").unwrap();
        assert!(u.equivalent(&u));
        assert!(u.equivalent(&Uri::parse("sip:a;u").unwrap()));
    }

    #[test]
    fn tel_and_other() {
        let Uri::Tel(t) = Uri::parse("tel:+1-201-555-0123").unwrap() else {
            panic!()
        };
        assert!(t.is_global());
        assert!(Uri::parse("tel:+").is_err());
        assert!(Uri::parse("tel:abc;x").is_ok());
        assert!(Uri::parse("tel:+12g").is_err());
        assert_eq!(Uri::parse("isbn:2983792873").unwrap().scheme(), "isbn");
        assert!(Uri::parse("1abc:x").is_err());
        assert!(Uri::parse("abc:").is_err());
    }
}
