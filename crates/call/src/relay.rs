//! Pure helpers that move message content from one leg to the other: the header allow-list,
//! bodies (SDP with Tandem's `o=` line), and the status mapping of a failed leg B.

use bytes::Bytes;
use tandem_sdp::{Origin, OriginRewriter, SessionDescription};
use tandem_sip_msg::headers::ContentType;
use tandem_sip_msg::{EditError, HeaderName, Message};

/// Headers that identify a leg or its route: never copied to the other leg, whatever the
/// allow-list says (topology hiding), nor the ones the endpoint or the body writes itself.
const NEVER_COPIED: &[HeaderName] = &[
    HeaderName::Via,
    HeaderName::From,
    HeaderName::To,
    HeaderName::CallId,
    HeaderName::CSeq,
    HeaderName::Contact,
    HeaderName::Route,
    HeaderName::RecordRoute,
    HeaderName::MaxForwards,
    HeaderName::ContentLength,
    HeaderName::ContentType,
];

/// Headers that belong to the body or the method of an in-dialog request and travel with it
/// (RFC 6086 `Info-Package`, RFC 3261 §20.11 `Content-Disposition`).
pub(crate) const BODY_HEADERS: &[HeaderName] =
    &[HeaderName::ContentDisposition, HeaderName::ContentEncoding];

/// Copies every field of `from` named in `allow` to `to`, in order, unfolded (§7.3.1).
pub(crate) fn copy_allowed(
    from: &Message,
    to: &mut Message,
    allow: &[HeaderName],
) -> Result<(), EditError> {
    for field in from.headers() {
        let name = field.header_name();
        if NEVER_COPIED.iter().any(|n| field.is(n)) || !allow.iter().any(|n| field.is(n)) {
            continue;
        }
        to.push_header(&name, &unfold(field.value))?;
    }
    Ok(())
}

/// What a relayed body becomes on the other leg.
#[derive(Debug)]
pub(crate) enum Body {
    /// No body.
    None,
    /// Content type and bytes to send.
    Some(String, Bytes),
}

/// The body of `m` as sent on the other leg: SDP (`application/sdp`) with only its `o=` line
/// replaced by `rw` (RFC 3264 §8; `c=`/`m=` untouched: media flows peer to peer), any other
/// type as is. `Err` when the SDP does not parse.
pub(crate) fn relay_body(rw: &mut OriginRewriter, m: &Message) -> Result<Body, ()> {
    let body = m.body();
    if body.is_empty() {
        return Ok(Body::None);
    }
    let ct = m
        .value(&HeaderName::ContentType)
        .map_or_else(|| "application/sdp".to_owned(), unfold);
    if !is_sdp(m) {
        return Ok(Body::Some(ct, Bytes::copy_from_slice(body)));
    }
    let sdp = SessionDescription::parse(body).map_err(|_| ())?;
    Ok(Body::Some(ct, Bytes::from(rw.rewrite(&sdp).to_bytes())))
}

/// Puts `body` into `m`.
pub(crate) fn set_body(m: &mut Message, body: Body) -> Result<(), EditError> {
    match body {
        Body::None => Ok(()),
        Body::Some(ct, bytes) => m.set_body(Some(&ct), bytes),
    }
}

/// Whether the message's body is SDP: Content-Type `application/sdp`, or no Content-Type at
/// all (RFC 3261 §20.15 requires one with a body; SDP is the only body an INVITE usually
/// carries, and parsing it fails safely if it is not).
pub(crate) fn is_sdp(m: &Message) -> bool {
    match m.typed::<ContentType<'_>>() {
        Ok(Some(ct)) => ct.0.is("application", "sdp"),
        Ok(None) => true,
        Err(_) => false,
    }
}

/// A rewriter for one leg: `o=<username> <sess-id> 1 IN IP4|IP6 <address>`.
pub(crate) fn rewriter(username: &str, session_id: u64, address: &str) -> OriginRewriter {
    let sid = session_id.to_string();
    let addr_type = if address.contains(':') { "IP6" } else { "IP4" };
    let candidates = [
        (username, addr_type, address),
        ("-", addr_type, address),
        ("-", "IP4", "0.0.0.0"),
    ];
    let mut last = None;
    for (username, addr_type, address) in candidates {
        match OriginRewriter::new(&Origin {
            username,
            session_id: &sid,
            session_version: 1,
            net_type: "IN",
            addr_type,
            address,
        }) {
            Ok(rw) => return rw,
            Err(e) => last = Some(e),
        }
    }
    // Every field of the last candidate is a constant token that `OriginRewriter::new`
    // accepts; reaching this is a bug in the SDP crate.
    unreachable!("constant origin refused: {last:?}")
}

/// The final response sent on leg A when leg B's INVITE fails with `status` (`None`: no
/// answer at all), with the reason phrase to use when the code changes. Modelled on a
/// proxy's rules (RFC 3261 §16.7 step 6, §16.8), with Tandem as the UAS of leg A:
///
/// | leg B | leg A | why |
/// |---|---|---|
/// | no answer (Timer B, transport) | 408 Request Timeout | §16.8 (a proxy generates 408) |
/// | 3xx | 480 Temporarily Unavailable | a redirect would hand leg B's targets to the caller (topology hiding); Tandem follows it itself when it can (IP-literal `sip:` Contacts, RFC 3261 §8.1.3.4) and maps it only when it cannot |
/// | 401, 407 | 403 Forbidden | the challenge is addressed to Tandem; the caller cannot answer it |
/// | other 4xx (404, 408, 480, 486, 487, 488, ...) | the same | the caller learns what the callee said |
/// | 5xx | 502 Bad Gateway | the failure is leg B's server, not Tandem (a 503 must not be relayed as such: the caller would back off from Tandem, §21.5.4) |
/// | 6xx | the same | global failures (busy everywhere, decline) |
pub fn map_failure(status: Option<u16>) -> (u16, Option<&'static str>) {
    match status {
        None => (408, Some("Request Timeout")),
        Some(300..=399) => (480, Some("Temporarily Unavailable")),
        Some(401 | 407) => (403, Some("Forbidden")),
        Some(s @ 400..=499) => (s, None),
        Some(500..=599) => (502, Some("Bad Gateway")),
        Some(s @ 600..=699) => (s, None),
        Some(_) => (500, Some("Server Internal Error")),
    }
}

/// The status relayed to the near leg for a non-2xx final response of the far leg to an
/// in-dialog request: the same (491 stays 491 so the requester backs off, §14.1), except a
/// challenge addressed to Tandem (403) and no answer at all (408).
pub(crate) fn map_in_dialog(status: Option<u16>) -> (u16, Option<&'static str>) {
    match status {
        None => (408, Some("Request Timeout")),
        Some(401 | 407) => (403, Some("Forbidden")),
        Some(s) => (s, None),
    }
}

/// Whether a comma-separated header `name` of `m` lists `token` (case-insensitive).
pub(crate) fn lists_token(m: &Message, name: &HeaderName, token: &str) -> bool {
    m.values(name).any(|v| {
        String::from_utf8_lossy(v)
            .split(',')
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    })
}

/// The reason phrase of a response.
pub(crate) fn reason_phrase(m: &Message) -> String {
    m.status_line()
        .and_then(|s| s.reason_str())
        .unwrap_or("")
        .to_owned()
}

/// A header value on one line (§7.3.1: a fold is one space).
pub(crate) fn unfold(value: &[u8]) -> String {
    let text = String::from_utf8_lossy(value);
    let mut out = String::with_capacity(text.len());
    let mut in_break = false;
    for c in text.chars() {
        if c == '\r' || c == '\n' {
            in_break = true;
            continue;
        }
        if in_break {
            if c == ' ' || c == '\t' {
                // The fold and the whitespace after it become one space.
                if !out.ends_with(' ') {
                    out.push(' ');
                }
                continue;
            }
            in_break = false;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn failure_mapping() {
        assert_eq!(map_failure(Some(486)).0, 486);
        assert_eq!(map_failure(Some(404)).0, 404);
        assert_eq!(map_failure(None).0, 408);
        assert_eq!(map_failure(Some(503)).0, 502);
        assert_eq!(map_failure(Some(302)).0, 480);
        assert_eq!(map_failure(Some(407)).0, 403);
        assert_eq!(map_failure(Some(603)).0, 603);
        assert_eq!(map_in_dialog(Some(491)).0, 491);
    }

    #[test]
    fn unfolds() {
        assert_eq!(unfold(b"a,\r\n  b"), "a, b");
        assert_eq!(unfold(b"plain"), "plain");
    }

    #[test]
    fn rewriter_falls_back_on_bad_fields() {
        let rw = rewriter("bad name", 7, "2001:db8::1");
        assert_eq!(rw.origin().username, "-");
        assert_eq!(rw.origin().addr_type, "IP6");
    }
}
