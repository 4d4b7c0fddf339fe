//! Via `alias` (RFC 5923 §5.1) on Tandem's own requests: by default on TLS only, where the
//! peer can check the alias against Tandem's certificate; never on UDP or WebSocket; on TCP
//! when the configuration asks. ACKs for 2xx carry it like any request.
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use tandem_sip_core::{Endpoint, EndpointConfig, Flow, Output, Transport};
use tandem_sip_msg::Method;
use tandem_testkit::sip::request;

/// The top Via of an OPTIONS the endpoint sends on a `transport` flow.
fn top_via(config: EndpointConfig, transport: Transport) -> String {
    let mut ep = Endpoint::new(config);
    let flow = Flow {
        transport,
        local: "192.0.2.10:5061".parse().unwrap(),
        remote: "198.51.100.1:5061".parse().unwrap(),
    };
    let options = request(
        &Method::Options,
        "sip:peer@198.51.100.1",
        "sip:tandem@192.0.2.10",
        "alias-1",
        1,
    )
    .unwrap();
    ep.send_request(Instant::now(), options, flow).unwrap();
    let Output::Transmit(t) = ep.poll_output() else {
        panic!("nothing sent")
    };
    let text = String::from_utf8(t.payload.to_vec()).unwrap();
    text.lines()
        .find(|l| l.starts_with("Via: "))
        .unwrap()
        .to_owned()
}

#[test]
fn tls_requests_carry_alias_by_default_and_others_do_not() {
    let via = top_via(EndpointConfig::default(), Transport::Tls);
    assert!(
        via.starts_with("Via: SIP/2.0/TLS 192.0.2.10:5061;branch=z9hG4bK"),
        "{via}"
    );
    assert!(via.ends_with(";rport;alias"), "{via}");
    for t in [
        Transport::Udp,
        Transport::Tcp,
        Transport::Ws,
        Transport::Wss,
    ] {
        let via = top_via(EndpointConfig::default(), t);
        assert!(!via.contains("alias"), "{via}");
    }
}

#[test]
fn tcp_requests_carry_alias_when_configured() {
    let config = EndpointConfig {
        via_alias: vec![Transport::Tcp, Transport::Tls],
        ..EndpointConfig::default()
    };
    assert!(top_via(config.clone(), Transport::Tcp).ends_with(";rport;alias"));
    assert!(top_via(config, Transport::Tls).ends_with(";rport;alias"));
    let none = EndpointConfig {
        via_alias: Vec::new(),
        ..EndpointConfig::default()
    };
    assert!(!top_via(none, Transport::Tls).contains("alias"));
}
