//! RFC 5118 IPv6 torture messages (wire format): verdicts, byte-exact printing and facts.

#![allow(clippy::unwrap_used, reason = "test helpers may unwrap")]

use std::net::IpAddr;

use bytes::Bytes;
use tandem_sip_msg::headers::{Contact, ToHeader, Via};
use tandem_sip_msg::{Host, Limits, Message, Verdict, check_datagram};

const TABLE: &[(&str, Option<u16>)] = &[
    ("ipv6-good", None),
    ("ipv6-bad", Some(400)),
    ("port-ambiguous", None),
    ("port-unambiguous", None),
    ("via-received-param-with-delim", None),
    ("via-received-param-no-delim", None),
    ("ipv6-in-sdp", None),
    ("mult-ip-in-header", None),
    ("mult-ip-in-sdp", None),
    ("ipv4-mapped-ipv6", None),
    // RFC 5118 §4.10: the RFC 3261 ABNF bug form is tolerated.
    ("ipv6-bug-abnf-3-colons", None),
    ("ipv6-correct-abnf-2-colons", None),
];

fn raw(name: &str) -> Bytes {
    let path = format!("{}/tests/data/rfc5118/{name}", env!("CARGO_MANIFEST_DIR"));
    Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
}

fn parse(name: &str) -> Message {
    Message::parse(raw(name), &Limits::default()).unwrap()
}

#[test]
fn verdicts_and_round_trip() {
    assert_eq!(TABLE.len(), 12);
    for &(name, reject) in TABLE {
        let v = check_datagram(raw(name), &Limits::default());
        match reject {
            None => {
                assert!(v.is_accept(), "{name}: {v:?}");
                assert_eq!(parse(name).to_bytes(), raw(name), "{name}");
            }
            Some(s) => assert_eq!(v.reject_status(), Some(s), "{name}: {v:?}"),
        }
    }
    match check_datagram(raw("ipv6-bad"), &Limits::default()) {
        Verdict::Reject { reason, .. } => assert_eq!(reason, "Bad Request (malformed Request-URI)"),
        v => panic!("{v:?}"),
    }
}

#[test]
fn ports() {
    let u = parse("port-ambiguous")
        .request_line()
        .unwrap()
        .uri()
        .unwrap();
    let s = u.as_sip().unwrap();
    assert_eq!(s.host, Host::Ipv6("2001:db8::10:5070".into()));
    assert_eq!(s.port, None);
    let u = parse("port-unambiguous")
        .request_line()
        .unwrap()
        .uri()
        .unwrap();
    let s = u.as_sip().unwrap();
    assert_eq!(s.host, Host::Ipv6("2001:db8::10".into()));
    assert_eq!(s.port, Some(5070));
}

#[test]
fn via_received() {
    let m = parse("via-received-param-no-delim");
    let v: Via = m.typed_first().unwrap().unwrap();
    assert_eq!(v.received(), Some("2001:db8::9:255"));
    assert_eq!(v.branch(), Some("z9hG4bKas3"));
    let m = parse("via-received-param-with-delim");
    let v: Via = m.typed_first().unwrap().unwrap();
    assert_eq!(v.received(), Some("[2001:db8::9:255]"));
    assert_eq!(v.branch(), Some("z9hG4bKas3-111"));
}

#[test]
fn multiple_addresses() {
    let m = parse("mult-ip-in-header");
    let v: Vec<Via> = m.typed_all().unwrap();
    assert_eq!(v.len(), 3);
    assert_eq!(
        (v[0].host.to_string(), v[0].port),
        ("[2001:db8::9:1]".to_owned(), Some(6050))
    );
    assert_eq!(v[1].host.to_string(), "192.0.2.1");
    assert!(v[2].is_transport("tcp"));
    assert_eq!(v[2].received(), Some("192.0.2.200"));

    let m = parse("ipv4-mapped-ipv6");
    let v: Vec<Via> = m.typed_all().unwrap();
    assert_eq!(
        v[0].host.ip(),
        Some("::ffff:192.0.2.10".parse::<IpAddr>().unwrap())
    );
    assert_eq!(v[0].port, Some(19823));
    let c: Vec<Contact> = m.typed_all().unwrap();
    assert_eq!(
        c[0].addr().unwrap().uri.as_sip().unwrap().host,
        Host::Ipv6("::ffff:192.0.2.2".into())
    );

    let m = parse("ipv6-bug-abnf-3-colons");
    let to: ToHeader = m.typed_required().unwrap();
    let h = &to.uri.as_sip().unwrap().host;
    assert_eq!(*h, Host::Ipv6("2001:db8:::192.0.2.1".into()));
    assert_eq!(h.ip(), None, "not an RFC 4291 address, tolerated as text");
    let m = parse("ipv6-correct-abnf-2-colons");
    let to: ToHeader = m.typed_required().unwrap();
    assert!(to.uri.as_sip().unwrap().host.ip().is_some());
    assert!(
        parse("ipv6-in-sdp")
            .body()
            .windows(7)
            .any(|w| w == b"IN IP6 ")
    );
}
