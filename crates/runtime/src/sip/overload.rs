//! Overload answers: a new INVITE meeting a full queue or too many transactions gets a
//! stateless 503 with Retry-After (RFC 3261 §21.5.4, §8.2.6), while in-dialog requests and
//! responses still flow. Refusing only dialog-creating INVITEs sheds new calls first, keeps
//! calls in progress alive, and costs one parse and one small write per refusal.

use std::hash::{DefaultHasher, Hash, Hasher};

use bytes::Bytes;
use tandem_sip_msg::headers::ToHeader;
use tandem_sip_msg::{Message, Method};

use super::SipListenConfig;

/// The 503 for `raw` when it is a new INVITE; `None` for anything else.
pub(super) fn busy_reply(raw: &Bytes, config: &SipListenConfig) -> Option<Bytes> {
    if !raw.trim_ascii_start().starts_with(b"INVITE ") {
        return None;
    }
    let message = Message::parse(raw.clone(), &config.limits).ok()?;
    busy_reply_to(&message, config)
}

/// The 503 for `message` when it is a new INVITE; `None` for anything else.
pub(super) fn busy_reply_to(message: &Message, config: &SipListenConfig) -> Option<Bytes> {
    if !is_initial_invite(message) {
        return None;
    }
    let raw = message.to_bytes();
    let response =
        tandem_sip_msg::error_response(&raw, 503, "Service Unavailable", &stateless_tag(&raw))?;
    Some(with_retry_after(&response, config.retry_after))
}

/// An INVITE outside any dialog (no To tag, RFC 3261 §12.1).
fn is_initial_invite(message: &Message) -> bool {
    message.method() == Some(Method::Invite)
        && matches!(message.typed::<ToHeader<'_>>(), Ok(Some(to)) if to.0.tag().is_none())
}

/// Whether the octets are a response (status line).
pub(super) fn is_response(raw: &[u8]) -> bool {
    raw.trim_ascii_start().starts_with(b"SIP/2.0 ")
}

/// A To tag that is the same for every retransmission of the request, so a stateless answer
/// stays consistent without keeping state (§8.2.6.2 asks for a tag; §16.11 does the same for
/// stateless proxies).
fn stateless_tag(raw: &[u8]) -> String {
    let mut h = DefaultHasher::new();
    raw.hash(&mut h);
    format!("sl{:016x}", h.finish())
}

/// Inserts `Retry-After` before the final `Content-Length: 0` of a built error response.
fn with_retry_after(response: &[u8], seconds: u32) -> Bytes {
    const TAIL: &[u8] = b"Content-Length: 0\r\n\r\n";
    let head = response.strip_suffix(TAIL).unwrap_or(response);
    let mut out = Vec::with_capacity(response.len() + 24);
    out.extend_from_slice(head);
    out.extend_from_slice(format!("Retry-After: {seconds}\r\n").as_bytes());
    out.extend_from_slice(TAIL);
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite(to: &str) -> Bytes {
        Bytes::from(format!(
            "INVITE sip:bob@127.0.0.1 SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\n\
             From: <sip:alice@127.0.0.1>;tag=a\r\nTo: {to}\r\n\
             Call-ID: c1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        ))
    }

    #[test]
    fn new_invite_gets_503_with_retry_after_and_a_stable_tag() {
        let config = SipListenConfig {
            retry_after: 7,
            ..SipListenConfig::default()
        };
        let raw = invite("<sip:bob@127.0.0.1>");
        let busy = busy_reply(&raw, &config).unwrap();
        let text = std::str::from_utf8(&busy).unwrap();
        assert!(
            text.starts_with("SIP/2.0 503 Service Unavailable\r\n"),
            "{text}"
        );
        assert!(text.contains("Retry-After: 7\r\n"), "{text}");
        assert!(text.contains(";tag=sl"), "{text}");
        assert!(text.ends_with("Content-Length: 0\r\n\r\n"), "{text}");
        let parsed = Message::parse(busy.clone(), &config.limits).unwrap();
        assert_eq!(parsed.status(), Some(503));
        assert_eq!(busy_reply(&raw, &config), Some(busy));
    }

    #[test]
    fn in_dialog_requests_and_others_pass() {
        let config = SipListenConfig::default();
        assert_eq!(
            busy_reply(&invite("<sip:bob@127.0.0.1>;tag=b"), &config),
            None
        );
        let options = Bytes::from_static(b"OPTIONS sip:x SIP/2.0\r\n\r\n");
        assert_eq!(busy_reply(&options, &config), None);
        assert!(is_response(b"SIP/2.0 200 OK\r\n"));
        assert!(!is_response(b"INVITE sip:x SIP/2.0\r\n"));
    }
}
