//! `Message::parse` on arbitrary datagrams.
//!
//! Invariants:
//! - parse(print(m)) succeeds and prints byte-identical; start line, header fields and body
//!   of the re-parsed message are equal to the first;
//! - every typed view decodes (or fails) without panicking;
//! - an edited message (one header pushed) still parses, with one more header and the body
//!   unchanged;
//! - `check_datagram` agrees with `Message::parse` + `check_message`; an `Accept` verdict has
//!   the mandatory headers; a `Reject` of a request yields (via `error_response`) bytes that
//!   parse as a response with the rejected status.
#![no_main]

use std::hint::black_box;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use tandem_sip_msg::headers::{
    Authorization, CSeq, CallId, Contact, ContentLength, ContentType, Event, Expires, FromHeader,
    MaxForwards, RAck, RSeq, Reason, RecordRoute, ReferTo, Replaces, Require, Route,
    SessionExpires, SubscriptionState, Supported, ToHeader, Via, WwwAuthenticate,
};
use tandem_sip_msg::{
    HeaderName, Limits, Message, TypedHeader, Verdict, check_datagram, check_message,
    error_response,
};

/// Decodes every value of `T` through the three accessors; they must agree.
fn views<'a, T: TypedHeader<'a> + std::fmt::Debug>(m: &'a Message) {
    let all = m.typed_all::<T>();
    let first = m.typed_first::<T>();
    let single = m.typed::<T>();
    if let Ok(all) = &all {
        // typed_first decodes only the first value: it must agree with typed_all.
        assert_eq!(
            format!("{:?}", first.as_ref().ok().and_then(|f| f.as_ref())),
            format!("{:?}", all.first()),
            "typed_first disagrees with typed_all for {:?}",
            T::NAME
        );
        match (&single, all.len()) {
            (Ok(s), 0 | 1) => assert_eq!(format!("{:?}", s.as_ref()), format!("{:?}", all.first())),
            (Err(_), n) => assert!(n > 1, "typed failed although typed_all gave {n} values"),
            (Ok(_), n) => panic!("typed returned one value of {n}"),
        }
    }
    let _ = black_box((all, first, single));
}

fn all_views(m: &Message) {
    views::<Via<'_>>(m);
    views::<FromHeader<'_>>(m);
    views::<ToHeader<'_>>(m);
    views::<Contact<'_>>(m);
    views::<CSeq>(m);
    views::<CallId<'_>>(m);
    views::<MaxForwards>(m);
    views::<ContentLength>(m);
    views::<ContentType<'_>>(m);
    views::<Route<'_>>(m);
    views::<RecordRoute<'_>>(m);
    views::<Require<'_>>(m);
    views::<Supported<'_>>(m);
    views::<Expires>(m);
    views::<Authorization<'_>>(m);
    views::<WwwAuthenticate<'_>>(m);
    views::<SessionExpires<'_>>(m);
    views::<RAck>(m);
    views::<RSeq>(m);
    views::<Replaces<'_>>(m);
    views::<ReferTo<'_>>(m);
    views::<Event<'_>>(m);
    views::<SubscriptionState<'_>>(m);
    views::<Reason<'_>>(m);
    // Accessors on the decoded views.
    for via in m.typed_values::<Via<'_>>().flatten() {
        black_box((
            via.branch(),
            via.has_rfc3261_branch(),
            via.received(),
            via.rport(),
            via.maddr(),
            via.ttl(),
            via.host.ip(),
            via.host.to_string(),
        ));
    }
    for c in m.typed_values::<Contact<'_>>().flatten() {
        black_box((c.q(), c.expires(), c.addr().map(|a| a.tag())));
    }
    if let Ok(Some(f)) = m.typed::<FromHeader<'_>>() {
        black_box((f.tag(), f.display_name_text(), f.uri.to_string()));
    }
    if let Some(rl) = m.request_line() {
        let _ = black_box((rl.method(), rl.uri()));
    }
    if let Some(sl) = m.status_line() {
        black_box(sl.reason_str());
    }
}

/// Start line, fields and body, for structural comparison.
fn shape(m: &Message) -> (String, Vec<(Vec<u8>, Vec<u8>, Vec<u8>)>, Vec<u8>) {
    (
        format!("{:?}", m.start_line()),
        m.headers()
            .map(|h| (h.name.to_vec(), h.value.to_vec(), h.line.to_vec()))
            .collect(),
        m.body().to_vec(),
    )
}

/// TANDEM_FUZZ_STRICT: also assert the invariants that known, reported bugs break: `1` or
/// `all` for every one, or a comma-separated list of the bug names used below.
#[allow(dead_code)] // kept for the next reported bug
fn strict(bug: &str) -> bool {
    static STRICT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    STRICT
        .get_or_init(|| std::env::var("TANDEM_FUZZ_STRICT").ok())
        .as_deref()
        .is_some_and(|v| v == "1" || v == "all" || v.split(',').any(|b| b.trim() == bug))
}

fn relaxed() -> Limits {
    Limits {
        max_message_size: 1 << 30,
        max_headers: 1 << 30,
        max_line_length: 1 << 30,
        max_uri_length: 1 << 30,
    }
}

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let raw = Bytes::copy_from_slice(data);
    let parsed = Message::parse(raw.clone(), &limits);

    // The verdict is Message::parse + check_message, or the parse error mapped.
    let verdict = check_datagram(raw.clone(), &limits);
    match (&parsed, &verdict) {
        (Ok(m), v) => {
            let again = check_message(m.clone());
            assert_eq!(
                format!("{v:?}"),
                format!("{again:?}"),
                "check_datagram != check_message(parse)"
            );
        }
        (Err(e), Verdict::Reject { status, .. }) => assert_eq!(*status, e.status()),
        (Err(_), Verdict::Drop { .. }) => {}
        (Err(e), Verdict::Accept(_)) => panic!("accepted a message that does not parse: {e}"),
    }

    match &verdict {
        Verdict::Accept(m) => {
            // What Accept promises the SIP core.
            assert!(!m.typed_all::<Via<'_>>().expect("Via decodes").is_empty());
            m.typed_required::<FromHeader<'_>>().expect("From");
            m.typed_required::<ToHeader<'_>>().expect("To");
            m.typed_required::<CallId<'_>>().expect("Call-ID");
            let cseq = m.typed_required::<CSeq>().expect("CSeq");
            if let Some(rl) = m.request_line() {
                assert_eq!(cseq.method.as_str(), rl.method, "CSeq method");
                rl.uri().expect("accepted Request-URI parses");
            }
        }
        Verdict::Reject { status, reason } => {
            assert!(
                matches!(status, 400 | 414 | 505 | 513),
                "reject status {status}"
            );
            let resp = error_response(data, *status, reason, "tag");
            let mut p = 0;
            while data.get(p..p + 2) == Some(b"\r\n") {
                p += 2;
            }
            match resp {
                None => assert!(p >= data.len(), "no error response for a rejected request"),
                // KNOWN BUG `error-response` (reported, regressions/sip_msg_parse-error_response-unparseable*.sip):
                // for octets that do not parse, error_response copies Via/From/To/Call-ID/CSeq
                // lines "as written", including lines that made the parse fail (a name
                // followed by CR before the colon, `To\r: ...`, is recognised as To), so the
                // answer itself does not parse. Unless TANDEM_FUZZ_STRICT names it, only
                // answers to octets that parse (rejected by check_message) must parse; the
                // others must still have the right status line and end the header section.
                Some(bytes) if parsed.is_err() && !fixed("error-response") => {
                    let head = format!("SIP/2.0 {status} ");
                    assert!(
                        bytes.starts_with(head.as_bytes()),
                        "error_response status line"
                    );
                    assert!(bytes.ends_with(b"\r\n\r\n"), "error_response end");
                }
                Some(bytes) => {
                    let r = Message::parse(bytes.clone(), &relaxed()).unwrap_or_else(|e| {
                        panic!(
                            "error_response does not parse ({e}): {:?}",
                            String::from_utf8_lossy(&bytes)
                        )
                    });
                    assert_eq!(r.status(), Some(*status), "error_response status");
                    assert_eq!(r.to_bytes(), bytes);
                }
            }
        }
        Verdict::Drop { .. } => {}
    }

    let Ok(m) = parsed else {
        return;
    };
    all_views(&m);

    // Lossless: print, re-parse, print again.
    let printed = m.to_bytes();
    let m2 = Message::parse(printed.clone(), &limits).expect("printed message re-parses");
    assert_eq!(
        m2.to_bytes(),
        printed,
        "parse(print(m)) does not print the same"
    );
    assert_eq!(shape(&m), shape(&m2), "re-parsed message differs");
    assert_eq!(m.is_request(), m2.is_request());
    assert_eq!(m.header_count(), m2.header_count());

    // An edited message re-prints only what changed and must still parse.
    //
    // KNOWN BUG `push-unterminated` (reported, regressions/sip_msg_parse-push_header-unterminated-last-line*.sip):
    // when the header section ends at the end of the datagram without a line terminator
    // (accepted by `Message::parse` and `check_datagram`), `push_header` / `set_body` append
    // the new field right after the last octet, so it becomes part of the last header's value.
    // Skipped unless TANDEM_FUZZ_STRICT names it, so the target can find other bugs.
    // The same happens when the start line is the last line (no header field at all).
    let unterminated = match m.headers().last() {
        Some(h) => !h.line.ends_with(b"\n"),
        None => !m.to_bytes().contains(&b'\n'),
    };
    let mut edited = m.clone();
    if (!unterminated || fixed("push-unterminated"))
        && edited.push_header(&HeaderName::new("X-Fuzz"), "1").is_ok()
    {
        let out = edited.to_bytes();
        let m3 = Message::parse(out.clone(), &relaxed()).unwrap_or_else(|e| {
            panic!(
                "edited message does not parse ({e}): {:?}",
                String::from_utf8_lossy(&out)
            )
        });
        assert_eq!(m3.header_count(), m.header_count() + 1);
        assert_eq!(m3.body(), m.body(), "edit changed the body");
        assert_eq!(
            m3.value(&HeaderName::new("x-fuzz")).map(<[u8]>::to_vec),
            m.value(&HeaderName::new("x-fuzz"))
                .map(<[u8]>::to_vec)
                .or(Some(b"1".to_vec()))
        );
        assert_eq!(m3.to_bytes(), out);
    }
});

/// A reported bug that has since been fixed: its invariant is asserted always.
fn fixed(_bug: &str) -> bool {
    true
}
