//! The UAS core's automatic answers (RFC 3261 §8.2) and the stateless 400 for malformed input:
//! none of these reach the application.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use bytes::Bytes;
use tandem_sip_msg::{HeaderName, Message, Method};
use tandem_testkit::LinkConfig;
use tandem_testkit::sip::request;

fn status_of_last_response(w: &tandem_testkit::World) -> Option<u16> {
    w.net.trace().entries().iter().rev().find_map(|e| {
        let m = Message::parse(e.payload.clone(), &Default::default()).ok()?;
        m.status().filter(|s| *s >= 200)
    })
}

#[test]
fn unknown_method_unsupported_scheme_and_extension() {
    let (mut w, uac, uas) = common::pair(11, LinkConfig::default());
    let flow = w.flow(uac, uas);
    /// Method, Request-URI, an extra header, the status the UAS core must answer (0: none).
    type Case<'a> = (Method, &'a str, Option<(&'a str, &'a str)>, u16);
    let cases: [Case<'_>; 5] = [
        (Method::Other("FROB".into()), "sip:b@127.0.0.2", None, 501),
        (Method::Subscribe, "sip:b@127.0.0.2", None, 405),
        (
            Method::Options,
            "sip:b@127.0.0.2",
            Some(("Require", "foo, 100rel")),
            420,
        ),
        (
            Method::Invite,
            "sip:b@127.0.0.2",
            Some(("Content-Type", "text/plain")),
            415,
        ),
        (Method::Options, "sip:b@127.0.0.2", None, 0),
    ];
    for (i, (method, target, extra, want)) in cases.into_iter().enumerate() {
        let mut req =
            request(&method, target, "sip:a@127.0.0.1", &format!("rules-{i}"), 1).unwrap();
        if let Some((name, value)) = extra {
            req.push_header(&HeaderName::new(name), value).unwrap();
            if name == "Content-Type" {
                req.set_body(Some(value), Bytes::from_static(b"hello"))
                    .unwrap();
            }
        }
        w.command(uac, |ep, now| ep.send_request(now, req, flow))
            .unwrap();
        w.run_for(Duration::from_millis(200));
        if want != 0 {
            assert_eq!(status_of_last_response(&w), Some(want), "case {i}");
        }
    }
    // Only the last OPTIONS reached the application (which has no script: it stays unanswered).
    let labels = common::event_labels(&mut w, uas);
    assert_eq!(labels, ["request OPTIONS"], "{labels:?}");
    let last = w
        .net
        .trace()
        .entries()
        .iter()
        .rev()
        .find(|e| e.label() == "420")
        .map(|e| String::from_utf8_lossy(&e.payload).into_owned());
    assert!(last.unwrap().contains("Unsupported: foo, 100rel"));
}

#[test]
fn malformed_request_gets_400_naming_the_fault() {
    let (mut w, _uac, uas) = common::pair(12, LinkConfig::default());
    let from = "127.0.0.9:5099".parse().unwrap();
    let bad = "INVITE sip:b@127.0.0.2 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.9:5099;branch=z9hG4bKbad\r\n\
               From: <sip:a@x>;tag=1\r\nTo: <sip:b@y>\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
    w.inject(from, uas, Bytes::from(bad));
    w.run_for(Duration::from_millis(100));
    let reply = w
        .net
        .trace()
        .entries()
        .iter()
        .find(|e| e.to == from)
        .expect("a reply to the sender");
    assert_eq!(
        reply.first_line(),
        "SIP/2.0 400 Bad Request (missing Call-ID)"
    );
    assert!(common::event_labels(&mut w, uas).is_empty());
}

#[test]
fn merged_request_gets_482() {
    // §8.2.2.2: the same request (From tag, Call-ID, CSeq) arriving with another branch.
    let (mut w, _uac, uas) = common::pair(13, LinkConfig::default());
    let from = "127.0.0.9:5099".parse().unwrap();
    let req = |branch: &str| {
        format!(
            "OPTIONS sip:b@127.0.0.2 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.9:5099;branch={branch}\r\n\
             From: <sip:a@x>;tag=1\r\nTo: <sip:b@y>\r\nCall-ID: m1\r\nCSeq: 1 OPTIONS\r\n\
             Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
    };
    w.inject(from, uas, Bytes::from(req("z9hG4bKpath1")));
    w.inject(from, uas, Bytes::from(req("z9hG4bKpath2")));
    w.run_for(Duration::from_millis(100));
    assert_eq!(common::event_labels(&mut w, uas), ["request OPTIONS"]);
    assert!(
        w.net
            .trace()
            .entries()
            .iter()
            .any(|e| e.first_line() == "SIP/2.0 482 Loop Detected")
    );
}
