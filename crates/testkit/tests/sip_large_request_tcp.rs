//! RFC 3261 §18.1.1: a request larger than 1300 bytes goes over TCP instead of UDP, and back
//! to UDP when the TCP connection cannot be made.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use bytes::Bytes;
use tandem_sip_core::{Flow, Transport};
use tandem_sip_msg::{HeaderName, Message, Method};
use tandem_testkit::LinkConfig;
use tandem_testkit::sip::request;

fn top_via(payload: &Bytes) -> String {
    let m = Message::parse(payload.clone(), &Default::default()).unwrap();
    String::from_utf8_lossy(m.value(&HeaderName::Via).unwrap()).into_owned()
}

#[test]
fn large_requests_switch_to_tcp_and_fall_back_to_udp() {
    let (mut w, uac, uas) = common::pair_with(31, LinkConfig::default(), |c| {
        c.stream_local = Some(common::UAC.parse().unwrap());
    });
    let flow = w.flow(uac, uas);
    let mut big = request(
        &Method::Options,
        "sip:b@127.0.0.2",
        "sip:a@127.0.0.1",
        "big",
        1,
    )
    .unwrap();
    big.set_body(Some("text/plain"), Bytes::from(vec![b'x'; 1_500]))
        .unwrap();
    let small = request(
        &Method::Options,
        "sip:b@127.0.0.2",
        "sip:a@127.0.0.1",
        "small",
        1,
    )
    .unwrap();
    w.command(uac, |ep, now| ep.send_request(now, small, flow))
        .unwrap();
    w.command(uac, |ep, now| ep.send_request(now, big, flow))
        .unwrap();
    let sent: Vec<String> = w
        .net
        .trace()
        .entries()
        .iter()
        .map(|e| top_via(&e.payload))
        .collect();
    assert!(sent[0].starts_with("SIP/2.0/UDP "), "{}", sent[0]);
    assert!(sent[1].starts_with("SIP/2.0/TCP "), "{}", sent[1]);
    // The TCP connection is refused: the same request goes again over UDP (new branch).
    let tcp = Flow {
        transport: Transport::Tcp,
        ..flow
    };
    w.command(uac, |ep, now| ep.handle_transport_error(now, tcp));
    w.run_for(Duration::from_millis(10));
    let sent: Vec<String> = w
        .net
        .trace()
        .entries()
        .iter()
        .map(|e| top_via(&e.payload))
        .collect();
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert!(sent[2].starts_with("SIP/2.0/UDP "), "{}", sent[2]);
}
