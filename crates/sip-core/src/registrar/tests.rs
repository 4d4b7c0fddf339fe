use std::time::{Duration, Instant};

use bytes::Bytes;
use tandem_sip_msg::{HeaderName, Limits, Message, Uri};

use super::*;

const ALICE: &str = "sip:alice@example.com";

fn parse(text: &str) -> Message {
    Message::parse(Bytes::from(text.to_owned()), &Limits::default()).unwrap()
}

/// A REGISTER for `to` with `headers` (CRLF-terminated lines) added.
fn register_to(ruri: &str, to: &str, call_id: &str, cseq: u32, headers: &str) -> Message {
    parse(&format!(
        "REGISTER {ruri} SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK{cseq}\r\n\
         Max-Forwards: 70\r\nFrom: <{to}>;tag=f\r\nTo: <{to}>\r\nCall-ID: {call_id}\r\n\
         CSeq: {cseq} REGISTER\r\n{headers}Content-Length: 0\r\n\r\n"
    ))
}

fn register(call_id: &str, cseq: u32, headers: &str) -> Message {
    register_to("sip:example.com", ALICE, call_id, cseq, headers)
}

fn registrar() -> Registrar {
    Registrar::new(RegistrarConfig::new(["Example.com"]))
}

fn aor(uri: &str) -> Aor {
    Aor::from_uri(&Uri::parse(uri).unwrap()).unwrap()
}

fn contacts(o: &RegisterOutcome) -> Vec<&str> {
    o.headers
        .iter()
        .filter(|(n, _)| *n == HeaderName::Contact)
        .map(|(_, v)| v.as_str())
        .collect()
}

fn uris(r: &Registrar, now: Instant) -> Vec<String> {
    r.lookup(now, &aor(ALICE))
        .iter()
        .map(|b| b.uri_text().to_owned())
        .collect()
}

fn status(o: &RegisterOutcome) -> (u16, &'static str) {
    (o.status, o.reason)
}

#[test]
fn registers_and_lists_bindings() {
    let now = Instant::now();
    let mut r = registrar();
    let o = r.handle_register(
        now,
        &register("c", 1, "Contact: <sip:alice@192.0.2.4>;expires=600\r\n"),
    );
    assert_eq!(status(&o), (200, "OK"));
    assert_eq!(contacts(&o), ["<sip:alice@192.0.2.4>;expires=600"]);
    let later = now + Duration::from_millis(100_500);
    let b = &r.lookup(later, &aor("sip:alice@EXAMPLE.COM"))[0];
    assert_eq!(b.remaining(later), 500, "rounded up");
    assert_eq!((b.call_id(), b.cseq(), b.q()), ("c", 1, 1000));
    // A query (no Contact) lists the bindings and changes nothing (§10.2.3).
    let q = r.handle_register(later, &register("other", 1, ""));
    assert_eq!(contacts(&q), ["<sip:alice@192.0.2.4>;expires=500"]);
    assert_eq!(r.aor_count(), 1);
    // apply_to pushes the headers onto a response.
    let mut resp = Message::new_response(200, "OK").unwrap();
    q.apply_to(&mut resp).unwrap();
    assert_eq!(
        resp.value(&HeaderName::Contact),
        Some(&b"<sip:alice@192.0.2.4>;expires=500"[..])
    );
}

#[test]
fn expiry_sources_and_bounds() {
    let now = Instant::now();
    let mut r = registrar();
    let o = r.handle_register(
        now,
        &register(
            "c",
            1,
            "Expires: 120\r\nContact: <sip:a@h1>, <sip:a@h2>;expires=7200\r\n\
             Contact: <sip:a@h3>;expires=300\r\n",
        ),
    );
    assert_eq!(
        contacts(&o),
        [
            "<sip:a@h1>;expires=120",  // Expires header
            "<sip:a@h2>;expires=3600", // shortened to max_expires
            "<sip:a@h3>;expires=300",  // the parameter wins over the header
        ]
    );
    let o = r.handle_register(now, &register("d", 1, "Contact: <sip:a@h4>\r\n"));
    assert!(contacts(&o).contains(&"<sip:a@h4>;expires=3600"), "default");
    // Expires: 0 on the header removes a contact without its own parameter.
    let o = r.handle_register(
        now,
        &register("e", 1, "Expires: 0\r\nContact: <sip:a@h1>\r\n"),
    );
    assert_eq!(contacts(&o).len(), 3);
    assert!(!uris(&r, now).contains(&"sip:a@h1".to_owned()));
}

#[test]
fn interval_too_brief() {
    let now = Instant::now();
    let mut r = registrar();
    let _ = r.handle_register(now, &register("c", 1, "Contact: <sip:a@h1>\r\n"));
    let o = r.handle_register(
        now,
        &register(
            "c",
            2,
            "Contact: <sip:a@h1>;expires=0, <sip:a@h2>;expires=59\r\n",
        ),
    );
    assert_eq!(status(&o), (423, "Interval Too Brief"));
    assert_eq!(o.headers, [(HeaderName::MinExpires, "60".to_owned())]);
    assert_eq!(uris(&r, now), ["sip:a@h1"], "nothing committed");
    let o = r.handle_register(
        now,
        &register("c", 3, "Expires: 1\r\nContact: <sip:a@h2>\r\n"),
    );
    assert_eq!(o.status, 423);
    let o = r.handle_register(now, &register("c", 4, "Contact: <sip:a@h2>;expires=60\r\n"));
    assert_eq!(o.status, 200);
}

#[test]
fn removal() {
    let now = Instant::now();
    let mut r = registrar();
    let _ = r.handle_register(
        now,
        &register("c", 1, "Contact: <sip:a@h1>, <sip:a@h2>\r\n"),
    );
    let o = r.handle_register(now, &register("c", 2, "Contact: <sip:a@h1>;expires=0\r\n"));
    assert_eq!(contacts(&o), ["<sip:a@h2>;expires=3600"]);
    // Removing an unknown contact is not an error.
    let o = r.handle_register(now, &register("c", 3, "Contact: <sip:a@h9>;expires=0\r\n"));
    assert_eq!(o.status, 200);
    // `*` needs Expires: 0 and no other contact (§10.3 step 6).
    for bad in [
        "Contact: *\r\n",
        "Contact: *\r\nExpires: 10\r\n",
        "Contact: *, <sip:a@h2>\r\nExpires: 0\r\n",
        "Contact: *\r\nContact: <sip:a@h2>;expires=0\r\nExpires: 0\r\n",
    ] {
        let o = r.handle_register(now, &register("c", 4, bad));
        assert_eq!(status(&o), (400, "Invalid Contact *"), "{bad}");
    }
    let o = r.handle_register(now, &register("c", 5, "Contact: *\r\nExpires: 0\r\n"));
    assert_eq!(status(&o), (200, "OK"));
    assert!(o.headers.is_empty());
    assert_eq!(r.aor_count(), 0);
    assert_eq!(r.next_expiry(), None);
}

#[test]
fn call_id_and_cseq_rules() {
    let now = Instant::now();
    let mut r = registrar();
    let _ = r.handle_register(
        now,
        &register("c", 10, "Contact: <sip:a@h1>;expires=100\r\n"),
    );
    // Same Call-ID, CSeq not higher: the whole request fails, nothing changes.
    for cseq in [9, 10] {
        let o = r.handle_register(
            now,
            &register("c", cseq, "Contact: <sip:a@h2>, <sip:a@h1>;expires=200\r\n"),
        );
        assert_eq!(status(&o), (500, "Server Internal Error"));
        assert_eq!(uris(&r, now), ["sip:a@h1"]);
        let o = r.handle_register(now, &register("c", cseq, "Contact: *\r\nExpires: 0\r\n"));
        assert_eq!(o.status, 500);
    }
    // A higher CSeq updates.
    let o = r.handle_register(
        now,
        &register("c", 11, "Contact: <sip:a@h1>;expires=200\r\n"),
    );
    assert_eq!(contacts(&o), ["<sip:a@h1>;expires=200"]);
    // Another Call-ID replaces, whatever its CSeq (§10.3 step 7).
    let o = r.handle_register(
        now,
        &register("d", 1, "Contact: <sip:a@h1>;expires=300\r\n"),
    );
    assert_eq!(contacts(&o), ["<sip:a@h1>;expires=300"]);
    let b = &r.lookup(now, &aor(ALICE))[0];
    assert_eq!((b.call_id(), b.cseq()), ("d", 1));
    // The same contact twice in one request: the last one wins.
    let o = r.handle_register(
        now,
        &register(
            "d",
            2,
            "Contact: <sip:a@h1>;expires=400, <sip:a@h1>;expires=500\r\n",
        ),
    );
    assert_eq!(contacts(&o), ["<sip:a@h1>;expires=500"]);
}

#[test]
fn contacts_compare_by_uri_equivalence() {
    let now = Instant::now();
    let mut r = registrar();
    let _ = r.handle_register(
        now,
        &register("c", 1, "Contact: <sip:alice@HOST.example.com:5060>\r\n"),
    );
    // §19.1.4: host case-insensitive; kept as first written until replaced.
    let o = r.handle_register(
        now,
        &register(
            "c",
            2,
            "Contact: <sip:alice@host.example.com:5060;foo=bar>;expires=100\r\n",
        ),
    );
    assert_eq!(
        contacts(&o),
        ["<sip:alice@host.example.com:5060;foo=bar>;expires=100"]
    );
    // transport= must match when present in either: a second binding.
    let o = r.handle_register(
        now,
        &register(
            "c",
            3,
            "Contact: <sip:alice@host.example.com:5060;transport=tcp>\r\n",
        ),
    );
    assert_eq!(contacts(&o).len(), 2);
    // User parts are case-sensitive.
    let o = r.handle_register(
        now,
        &register("c", 4, "Contact: <sip:ALICE@host.example.com:5060>\r\n"),
    );
    assert_eq!(contacts(&o).len(), 3);
}

#[test]
fn q_ordering() {
    let now = Instant::now();
    let mut r = registrar();
    let o = r.handle_register(
        now,
        &register(
            "c",
            1,
            "Contact: <sip:a@h1>;q=0.1, <sip:a@h2>, <sip:a@h3>;q=0.7, <sip:a@h4>;q=0.7\r\n",
        ),
    );
    assert_eq!(
        contacts(&o),
        [
            "<sip:a@h2>;expires=3600",
            "<sip:a@h3>;q=0.7;expires=3600",
            "<sip:a@h4>;q=0.7;expires=3600",
            "<sip:a@h1>;q=0.1;expires=3600",
        ]
    );
    assert_eq!(
        uris(&r, now),
        ["sip:a@h2", "sip:a@h3", "sip:a@h4", "sip:a@h1"]
    );
    assert_eq!(r.lookup(now, &aor(ALICE))[3].q(), 100);
    for bad in ["q=1.5", "q=2", "q=0.1234", "q", "q=.5", "q=1.001"] {
        let o = r.handle_register(
            now,
            &register("c", 2, &format!("Contact: <sip:a@h5>;{bad}\r\n")),
        );
        assert_eq!(status(&o), (400, "Bad q-value"), "{bad}");
    }
    assert_eq!(uris(&r, now).len(), 4);
    let o = r.handle_register(now, &register("c", 3, "Contact: <sip:a@h5>;q=1.000\r\n"));
    assert_eq!(o.status, 200);
}

#[test]
fn bounds() {
    let now = Instant::now();
    let mut r = Registrar::new(RegistrarConfig {
        max_bindings_per_aor: 2,
        max_aors: 1,
        ..RegistrarConfig::new(["example.com"])
    });
    let _ = r.handle_register(
        now,
        &register("c", 1, "Contact: <sip:a@h1>, <sip:a@h2>\r\n"),
    );
    let o = r.handle_register(now, &register("c", 2, "Contact: <sip:a@h3>\r\n"));
    assert_eq!(status(&o), (403, "Too Many Bindings"));
    // Replacing within the limit is fine.
    let o = r.handle_register(
        now,
        &register("c", 3, "Contact: <sip:a@h1>;expires=0, <sip:a@h3>\r\n"),
    );
    assert_eq!(o.status, 200);
    let bob = register_to(
        "sip:example.com",
        "sip:bob@example.com",
        "b",
        1,
        "Contact: <sip:b@h>\r\n",
    );
    assert_eq!(
        status(&r.handle_register(now, &bob)),
        (503, "Service Unavailable")
    );
    // Once alice's bindings are gone, bob fits.
    let _ = r.handle_register(now, &register("c", 4, "Contact: *\r\nExpires: 0\r\n"));
    assert_eq!(r.handle_register(now, &bob).status, 200);
}

#[test]
fn domains_and_aor() {
    let now = Instant::now();
    let mut r = registrar();
    let c = "Contact: <sip:a@h1>\r\n";
    let o = r.handle_register(now, &register_to("sip:other.org", ALICE, "c", 1, c));
    assert_eq!(status(&o), (404, "Not Found"));
    let o = r.handle_register(
        now,
        &register_to("sip:example.com", "sip:alice@other.org", "c", 1, c),
    );
    assert_eq!(status(&o), (404, "Not Found"));
    let o = r.handle_register(now, &register_to("tel:+15551234", ALICE, "c", 1, c));
    assert_eq!(status(&o), (416, "Unsupported URI Scheme"));
    // The host is case-insensitive, the port is ignored.
    let o = r.handle_register(
        now,
        &register_to("sip:EXAMPLE.com:5060", "sips:alice@Example.COM", "c", 1, c),
    );
    assert_eq!(o.status, 200);
    assert_eq!(r.lookup(now, &aor("sips:alice@example.com")).len(), 1);
    assert!(
        r.lookup(now, &aor(ALICE)).is_empty(),
        "sips and sip are different AORs"
    );
    // RFC 4475 §3.3.4 unksm2: To is not a SIP/SIPS URI.
    let raw = include_bytes!("../../../sip-msg/tests/data/rfc4475/unksm2.dat");
    let m = Message::parse(Bytes::from_static(raw), &Limits::default()).unwrap();
    assert_eq!(
        status(&r.handle_register(now, &m)),
        (400, "To Is Not A SIP AOR")
    );
    // With no domain configured, every domain is served.
    let mut any = Registrar::new(RegistrarConfig::default());
    let o = any.handle_register(now, &register_to("sip:x.net", "sip:u@y.net", "c", 1, c));
    assert_eq!(o.status, 200);
    // Not a REGISTER.
    let opt = parse(
        "OPTIONS sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
         From: <sip:a@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\nCall-ID: c\r\n\
         CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(r.handle_register(now, &opt).status, 400);
}

#[test]
fn aor_canonical_form() {
    assert_eq!(
        aor("sip:%61lice@Example.COM:5070;transport=tcp?Subject=x").as_str(),
        "sip:alice@example.com"
    );
    assert_eq!(aor("sip:a%20b@h").as_str(), "sip:a%20b@h");
    assert_eq!(aor("sip:a%20b@h"), aor("sip:a%20b@H"));
    assert_eq!(aor("sips:example.com").to_string(), "sips:example.com");
    assert!(Aor::from_uri(&Uri::parse("tel:+1555").unwrap()).is_none());
    let m = register("c", 1, "");
    assert_eq!(Aor::of_register(&m), Some(aor(ALICE)));
}

#[test]
fn expiry_schedule() {
    let now = Instant::now();
    let mut r = registrar();
    assert_eq!(r.next_expiry(), None);
    let _ = r.handle_register(
        now,
        &register(
            "c",
            1,
            "Contact: <sip:a@h1>;expires=60, <sip:a@h2>;expires=120\r\n",
        ),
    );
    let s = |n| now + Duration::from_secs(n);
    assert_eq!(r.next_expiry(), Some(s(60)));
    // lookup hides an expired binding before the driver purges it.
    assert_eq!(uris(&r, s(60)), ["sip:a@h2"]);
    assert_eq!(uris(&r, s(59)), ["sip:a@h1", "sip:a@h2"]);
    // A refresh moves the deadline (no stale wake-up left behind).
    let _ = r.handle_register(
        s(30),
        &register("c", 2, "Contact: <sip:a@h1>;expires=200\r\n"),
    );
    assert_eq!(r.next_expiry(), Some(s(120)));
    r.expire(s(119));
    assert_eq!(r.next_expiry(), Some(s(120)));
    r.expire(s(120));
    assert_eq!(r.next_expiry(), Some(s(230)));
    assert_eq!(uris(&r, s(120)), ["sip:a@h1"]);
    r.expire(s(230));
    assert_eq!(r.next_expiry(), None);
    assert_eq!(r.aor_count(), 0);
    // A REGISTER after expiry but before the purge starts from an empty set.
    let _ = r.handle_register(
        s(300),
        &register("c", 3, "Contact: <sip:a@h1>;expires=60\r\n"),
    );
    let o = r.handle_register(
        s(400),
        &register("c", 1, "Contact: <sip:a@h9>;expires=60\r\n"),
    );
    assert_eq!(
        contacts(&o),
        ["<sip:a@h9>;expires=60"],
        "the expired binding's CSeq is gone"
    );
    assert_eq!(r.next_expiry(), Some(s(460)));
}

#[test]
fn malformed_requests() {
    let now = Instant::now();
    let mut r = registrar();
    for (headers, reason) in [
        ("Contact: <sip:a@h1\r\n", "Bad Contact"),
        ("Expires: soon\r\nContact: <sip:a@h1>\r\n", "Bad Expires"),
    ] {
        let o = r.handle_register(now, &register("c", 1, headers));
        assert_eq!(status(&o), (400, reason), "{headers}");
    }
    // RFC 4475 §3.1.2.13 regbadct: an escaped header outside <>.
    let raw = include_bytes!("../../../sip-msg/tests/data/rfc4475/regbadct.dat");
    let m = Message::parse(Bytes::from_static(raw), &Limits::default()).unwrap();
    assert_eq!(status(&r.handle_register(now, &m)), (400, "Bad Contact"));
    assert_eq!(r.aor_count(), 0);
}

fn rfc4475(raw: &'static [u8]) -> Message {
    Message::parse(Bytes::from_static(raw), &Limits::default()).unwrap()
}

#[test]
fn rfc4475_register_messages() {
    let now = Instant::now();
    let watson = aor("sip:watson@example.com");

    // §3.3.12 cparam01: `;unknownparam` is a contact parameter, not part of the URI.
    let mut r = registrar();
    let o = r.handle_register(
        now,
        &rfc4475(include_bytes!(
            "../../../sip-msg/tests/data/rfc4475/cparam01.dat"
        )),
    );
    assert_eq!(
        contacts(&o),
        ["<sip:+19725552222@gw1.example.net>;unknownparam;expires=3600"]
    );
    let b = &r.lookup(now, &watson)[0];
    assert_eq!(b.uri_text(), "sip:+19725552222@gw1.example.net");
    assert_eq!(b.params(), [("unknownparam".to_owned(), None)]);
    assert!(b.uri().as_sip().unwrap().params.is_empty());

    // §3.3.13 cparam02: `;unknownparam` is a URI parameter and stays in the binding. The
    // URIs are equivalent (§19.1.4 ignores a parameter present in one URI only), and the
    // Call-ID differs: the binding is replaced, not added.
    let o = r.handle_register(
        now,
        &rfc4475(include_bytes!(
            "../../../sip-msg/tests/data/rfc4475/cparam02.dat"
        )),
    );
    assert_eq!(
        contacts(&o),
        ["<sip:+19725552222@gw1.example.net;unknownparam>;expires=3600"]
    );
    let b = &r.lookup(now, &watson)[0];
    assert_eq!(
        b.uri_text(),
        "sip:+19725552222@gw1.example.net;unknownparam"
    );
    assert!(b.params().is_empty());
    assert_eq!(b.uri().as_sip().unwrap().param("unknownparam"), Some(None));
    assert_eq!(
        (b.call_id(), b.cseq()),
        ("cparam02.70710@saturn.example.com", 3)
    );

    // §3.3.14 regescrt: the escaped Route header stays in the contact URI.
    let mut r = registrar();
    let o = r.handle_register(
        now,
        &rfc4475(include_bytes!(
            "../../../sip-msg/tests/data/rfc4475/regescrt.dat"
        )),
    );
    assert_eq!(status(&o), (200, "OK"));
    assert_eq!(
        contacts(&o),
        ["<sip:user@example.com?Route=%3Csip:sip.example.com%3E>;expires=3600"]
    );
    let b = &r.lookup(now, &aor("sip:user@example.com"))[0];
    assert_eq!(
        b.uri_text(),
        "sip:user@example.com?Route=%3Csip:sip.example.com%3E"
    );
    assert_eq!(
        b.uri().as_sip().unwrap().headers,
        [("Route".to_owned(), "%3Csip:sip.example.com%3E".to_owned())]
    );
}
