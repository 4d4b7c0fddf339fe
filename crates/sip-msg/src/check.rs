//! Message-level acceptance checks (RFC 3261 §7, §8.2, §18.3, §20) and the stateless error
//! response of §8.2.6.
//!
//! Application-level answers (416 unsupported scheme, 420 bad extension, 415 unsupported
//! media type, 501 unknown method, 483 too many hops) belong to the SIP core: this layer
//! accepts those messages. Choices documented here:
//! - an escaped header in the Request-URI (RFC 4475 §3.1.2.11 escruri) is rejected with 400;
//! - `Date` is not used, so an invalid date (§3.1.2.12 baddate) is accepted;
//! - a response whose Via names a broadcast address (§3.3.10 bcast) is accepted here: where a
//!   response may be sent is a transport decision;
//! - `Expires` and contact `expires` values above 2^32-1 saturate (§3.1.2.4 allows it), while
//!   a CSeq number above 2^32-1 is malformed.

use bytes::Bytes;

use crate::error::HeaderError;
use crate::header::{HeaderName, known_id};
use crate::headers::{
    CSeq, CallId, Contact, ContentLength, ContentType, Expires, FromHeader, MaxForwards, NameAddr,
    ProxyRequire, RecordRoute, Require, Route, Supported, ToHeader, TypedHeader, Via,
};
use crate::limits::Limits;
use crate::message::Message;
use crate::parse::line_at;
use crate::uri::Uri;

/// What to do with a received message.
#[derive(Debug, Clone)]
pub enum Verdict {
    /// Well-formed at the message layer: hand it to the SIP core.
    Accept(Box<Message>),
    /// A bad request: answer with this status and reason phrase (see [`error_response`]).
    Reject {
        /// 400, 414, 505 or 513.
        status: u16,
        /// Reason phrase naming the fault, e.g. `Bad Request (missing Call-ID)`.
        reason: String,
    },
    /// A bad response (or unanswerable input): discard silently, counting `reason`.
    Drop {
        /// Why.
        reason: String,
    },
}

impl Verdict {
    /// True for [`Verdict::Accept`].
    pub fn is_accept(&self) -> bool {
        matches!(self, Self::Accept(_))
    }

    /// The status of a [`Verdict::Reject`].
    pub fn reject_status(&self) -> Option<u16> {
        match self {
            Self::Reject { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Parses a datagram and applies the message-level checks: the UDP receive path.
pub fn check_datagram(bytes: Bytes, limits: &Limits) -> Verdict {
    let response = looks_like_response(&bytes);
    match Message::parse(bytes, limits) {
        Ok(m) => check_message(m),
        Err(e) if response => Verdict::Drop {
            reason: e.to_string(),
        },
        Err(e) => Verdict::Reject {
            status: e.status(),
            reason: reason_phrase(e.status(), &e.to_string()),
        },
    }
}

/// Applies the message-level checks to a parsed (e.g. stream-framed) message.
pub fn check_message(m: Message) -> Verdict {
    match fault(&m) {
        Ok(()) => Verdict::Accept(Box::new(m)),
        Err(detail) if m.is_request() => Verdict::Reject {
            status: 400,
            reason: reason_phrase(400, &detail),
        },
        Err(detail) => Verdict::Drop { reason: detail },
    }
}

/// Builds the stateless response of RFC 3261 §8.2.6 to a request that failed, from its raw
/// octets: Via (all), From, To (with `to_tag` added when it has none), Call-ID and CSeq are
/// copied as written, best effort when they do not parse. `None` when the octets are not a
/// request (responses are never answered). `to_tag` comes from the caller's seeded RNG.
pub fn error_response(raw: &[u8], status: u16, reason: &str, to_tag: &str) -> Option<Bytes> {
    let mut pos = 0;
    while raw.get(pos..pos + 2) == Some(b"\r\n") {
        pos += 2;
    }
    if pos >= raw.len() || looks_like_response(&raw[pos..]) {
        return None;
    }
    let reason: String = reason
        .chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect();
    let mut out = format!("SIP/2.0 {status} {reason}\r\n").into_bytes();
    let (_, mut p) = line_at(raw, pos);
    let (mut vias, mut from, mut to, mut call_id, mut cseq) = (Vec::new(), None, None, None, None);
    while p < raw.len() {
        let (le, mut nx) = line_at(raw, p);
        if le == p {
            break;
        }
        let mut end = le;
        while nx < raw.len() && matches!(raw[nx], b' ' | b'\t') {
            let (cle, cnx) = line_at(raw, nx);
            end = cle;
            nx = cnx;
        }
        let field = &raw[p..end];
        if let Some(colon) = memchr::memchr(b':', field) {
            // Only SP and HTAB may precede the colon (RFC 3261 §7.3.1): a name such as `To\r`
            // is not a To header, and copying it would make an unparseable response.
            let mut name = &field[..colon];
            while let [rest @ .., b' ' | b'\t'] = name {
                name = rest;
            }
            let id = if name.iter().all(|&c| crate::lex::is_token(c)) {
                known_id(name)
            } else {
                None
            };
            let slot = |n: HeaderName| id.is_some() && id == n.id();
            if slot(HeaderName::Via) {
                vias.push(field);
            } else if slot(HeaderName::From) {
                from.get_or_insert(field);
            } else if slot(HeaderName::To) {
                to.get_or_insert((field, colon));
            } else if slot(HeaderName::CallId) {
                call_id.get_or_insert(field);
            } else if slot(HeaderName::CSeq) {
                cseq.get_or_insert(field);
            }
        }
        p = nx;
    }
    let mut line = |f: &[u8]| {
        out.extend_from_slice(f);
        out.extend_from_slice(b"\r\n");
    };
    vias.iter().for_each(|f| line(f));
    from.into_iter().for_each(&mut line);
    if let Some((f, colon)) = to {
        let value = std::str::from_utf8(&f[colon + 1..]).unwrap_or("");
        let has_tag = match NameAddr::parse(value.trim()) {
            Ok(a) => a.tag().is_some(),
            Err(_) => value.to_ascii_lowercase().contains(";tag="),
        };
        if has_tag || status == 100 {
            line(f);
        } else {
            let mut v = f.to_vec();
            v.extend_from_slice(b";tag=");
            v.extend_from_slice(to_tag.as_bytes());
            line(&v);
        }
    }
    call_id.into_iter().for_each(&mut line);
    cseq.into_iter().for_each(&mut line);
    out.extend_from_slice(b"Content-Length: 0\r\n\r\n");
    Some(Bytes::from(out))
}

/// `Bad Request (detail)` etc.
fn reason_phrase(status: u16, detail: &str) -> String {
    match status {
        505 => "Version Not Supported".to_owned(),
        513 => "Message Too Large".to_owned(),
        414 => "Request-URI Too Long".to_owned(),
        _ => format!("Bad Request ({detail})"),
    }
}

fn looks_like_response(b: &[u8]) -> bool {
    let mut i = 0;
    while b.get(i..i + 2) == Some(b"\r\n") {
        i += 2;
    }
    b.get(i..i + 4)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"SIP/"))
}

/// The first message-level fault, as text for the reason phrase.
fn fault(m: &Message) -> Result<(), String> {
    let e = |e: HeaderError| e.to_string();
    if let Some(rl) = m.request_line() {
        match Uri::parse(rl.uri) {
            Err(_) => return Err("malformed Request-URI".into()),
            Ok(Uri::Sip(u)) if !u.headers.is_empty() => {
                return Err("headers not allowed in Request-URI".into());
            }
            Ok(_) => {}
        }
    }
    // Single-valued mandatory headers: count fields first (RFC 3261 §8.1.1, §20).
    for name in [
        HeaderName::CallId,
        HeaderName::CSeq,
        HeaderName::From,
        HeaderName::To,
    ] {
        match m.values(&name).count() {
            0 => return Err(e(HeaderError::Missing(name.static_name()))),
            1 => {}
            _ => return Err(e(HeaderError::Multiple(name.static_name()))),
        }
    }
    let vias = m.typed_all::<Via>().map_err(e)?;
    if vias.is_empty() {
        return Err(e(HeaderError::Missing("Via")));
    }
    m.typed_required::<FromHeader>().map_err(e)?;
    m.typed_required::<ToHeader>().map_err(e)?;
    m.typed_required::<CallId>().map_err(e)?;
    let cseq = m.typed_required::<CSeq>().map_err(e)?;
    if let Some(rl) = m.request_line()
        && cseq.method.as_str() != rl.method
    {
        return Err("CSeq method does not match request method".into());
    }
    m.typed::<MaxForwards>().map_err(e)?;
    m.typed::<ContentLength>().map_err(e)?;
    m.typed::<ContentType>().map_err(e)?;
    m.typed::<Expires>().map_err(e)?;
    let contacts = m.typed_all::<Contact>().map_err(e)?;
    if contacts.len() > 1 && contacts.contains(&Contact::Star) {
        return Err("malformed Contact: * must be alone".into());
    }
    all::<Route>(m)?;
    all::<RecordRoute>(m)?;
    all::<Require>(m)?;
    all::<ProxyRequire>(m)?;
    all::<Supported>(m)?;
    Ok(())
}

fn all<'a, T: TypedHeader<'a>>(m: &'a Message) -> Result<(), String> {
    m.typed_values::<T>()
        .try_for_each(|r| r.map(|_| ()))
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(s: &[u8]) -> Verdict {
        check_datagram(Bytes::copy_from_slice(s), &Limits::default())
    }

    const OK: &[u8] = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:x@y>;tag=1\r\nTo: sip:a@b\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\nl: 0\r\n\r\n";

    #[test]
    fn accepts_and_rejects() {
        assert!(verdict(OK).is_accept());
        let s = std::str::from_utf8(OK).unwrap();
        let r = |s: String| match verdict(s.as_bytes()) {
            Verdict::Reject { status, reason } => (status, reason),
            v => panic!("{v:?}"),
        };
        assert_eq!(
            r(s.replace("Call-ID: c1\r\n", "")),
            (400, "Bad Request (missing Call-ID)".into())
        );
        assert_eq!(
            r(s.replace("CSeq: 1 OPTIONS", "CSeq: 1 INVITE")),
            (
                400,
                "Bad Request (CSeq method does not match request method)".into()
            )
        );
        assert_eq!(
            r(s.replace("To: sip:a@b\r\n", "To: sip:a@b\r\nt: sip:c@d\r\n")),
            (400, "Bad Request (multiple To headers)".into())
        );
        assert_eq!(
            r(s.replace(";branch=z9hG4bK1", ";;")).1,
            "Bad Request (malformed Via: empty parameter name)"
        );
        assert_eq!(
            r(s.replace("l: 0", "l: 10")),
            (400, "Bad Request (Content-Length exceeds message)".into())
        );
        assert_eq!(
            r(s.replace("SIP/2.0\r\n", "SIP/3.0\r\n")),
            (505, "Version Not Supported".into())
        );
        assert!(matches!(
            verdict(b"SIP/2.0 800 x\r\n\r\n"),
            Verdict::Drop { .. }
        ));
    }

    #[test]
    fn builds_error_response() {
        let raw = b"OPTIONS sip:a@b SIP/7.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1\r\nVia: SIP/2.0/UDP g\r\nf: <sip:x@y>;tag=1\r\nTo: sip:a@b\r\nCall-ID: c1\r\nCSeq:\r\n 1 OPTIONS\r\nX: y\r\n\r\n";
        let r = error_response(raw, 505, "Version Not Supported", "abc").unwrap();
        assert_eq!(
            std::str::from_utf8(&r).unwrap(),
            "SIP/2.0 505 Version Not Supported\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1\r\nVia: SIP/2.0/UDP g\r\nf: <sip:x@y>;tag=1\r\nTo: sip:a@b;tag=abc\r\nCall-ID: c1\r\nCSeq:\r\n 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        );
        assert!(error_response(b"SIP/2.0 200 OK\r\n\r\n", 400, "x", "t").is_none());
        assert!(error_response(b"", 400, "x", "t").is_none());
        let resp = Message::parse(r, &Limits::default()).unwrap();
        assert_eq!(resp.status(), Some(505));
    }
}
