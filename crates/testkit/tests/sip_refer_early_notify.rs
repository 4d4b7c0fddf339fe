//! A NOTIFY overtaking the 202 of a REFER sent outside a dialog (RFC 6665 §4.1.2.4, RFC 3515
//! §2.4.4): the referrer accepts it (200, not 481), the NOTIFY creates the subscription's
//! dialog, the late 202 joins that dialog, and the terminating NOTIFY ends it. The notifier
//! is scripted as raw messages, so the order is exactly the one under test.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use tandem_sip_core::{DialogState, EndpointConfig, Event};
use tandem_sip_msg::headers::{FromHeader, Via};
use tandem_sip_msg::{HeaderName, Message, Method};
use tandem_testkit::sip::{dialog_ua, received, request, sent};
use tandem_testkit::{LinkConfig, NodeId, World};

const NOTIFIER: &str = "127.0.0.2:5062";

fn world(seed: u64) -> (World, NodeId) {
    let mut w = World::new(seed, LinkConfig::latency(Duration::from_millis(20)));
    let mut config = EndpointConfig {
        seed,
        ..EndpointConfig::default()
    };
    config.allow.extend([Method::Refer, Method::Notify]);
    let a = w.add_node(common::UAC, config);
    w.set_script(a, dialog_ua);
    (w, a)
}

fn notify(refer: &Message, cseq: u32, state: &str, frag: &str) -> String {
    let from_tag = refer
        .typed::<FromHeader<'_>>()
        .unwrap()
        .unwrap()
        .0
        .tag()
        .unwrap()
        .to_owned();
    format!(
        "NOTIFY sip:a@127.0.0.1:5061 SIP/2.0\r\n\
         Via: SIP/2.0/UDP {NOTIFIER};branch=z9hG4bKn{cseq};rport\r\n\
         From: <sip:b@127.0.0.2>;tag=bb\r\nTo: <sip:a@127.0.0.1>;tag={from_tag}\r\n\
         Call-ID: early-notify\r\nCSeq: {cseq} NOTIFY\r\nContact: <sip:b@{NOTIFIER}>\r\n\
         Event: refer\r\nSubscription-State: {state}\r\nMax-Forwards: 70\r\n\
         Content-Type: message/sipfrag;version=2.0\r\nContent-Length: {}\r\n\r\n{frag}",
        frag.len()
    )
}

/// The 202 to `refer`, with the notifier's tag.
fn accepted(refer: &Message) -> String {
    let via = String::from_utf8_lossy(refer.value(&HeaderName::Via).unwrap()).into_owned();
    let from = String::from_utf8_lossy(refer.value(&HeaderName::From).unwrap()).into_owned();
    format!(
        "SIP/2.0 202 Accepted\r\nVia: {via}\r\nFrom: {from}\r\n\
         To: <sip:b@127.0.0.2:5062>;tag=bb\r\nCall-ID: early-notify\r\nCSeq: 1 REFER\r\n\
         Contact: <sip:b@{NOTIFIER}>\r\nContent-Length: 0\r\n\r\n"
    )
}

/// The 200s node `a` sent, by the CSeq method they answer.
fn oks_to(w: &World, method: &str) -> usize {
    sent(w.net.trace(), "200")
        .iter()
        .filter(|m| String::from_utf8_lossy(m.value(&HeaderName::CSeq).unwrap()).ends_with(method))
        .count()
}

#[test]
fn a_notify_before_the_202_creates_the_subscription_dialog() {
    let (mut w, a) = world(601);
    let notifier: SocketAddr = NOTIFIER.parse().unwrap();
    let flow = tandem_sip_core::Flow {
        transport: tandem_sip_core::Transport::Udp,
        local: common::UAC.parse().unwrap(),
        remote: notifier,
    };
    let mut refer = request(
        &Method::Refer,
        "sip:b@127.0.0.2:5062",
        "sip:a@127.0.0.1",
        "early-notify",
        1,
    )
    .unwrap();
    refer
        .replace_header(&HeaderName::Contact, "<sip:a@127.0.0.1:5061>")
        .unwrap();
    refer
        .push_header(&HeaderName::ReferTo, "<sip:c@127.0.0.3:5063>")
        .unwrap();
    let tx = w
        .command(a, |ep, now| ep.send_request(now, refer, flow))
        .unwrap();
    w.run_for(Duration::from_millis(50));
    let refer = sent(w.net.trace(), "REFER").remove(0);
    assert!(refer.typed_first::<Via<'_>>().unwrap().is_some());
    // The notifier's first NOTIFY overtakes its 202.
    w.inject(
        notifier,
        a,
        Bytes::from(notify(
            &refer,
            1,
            "active;expires=60",
            "SIP/2.0 100 Trying\r\n",
        )),
    );
    w.run_for(Duration::from_millis(50));
    assert_eq!(oks_to(&w, "NOTIFY"), 1, "{:#?}", w.net.trace().ladder());
    assert_eq!(w.net.trace().count("481"), 0);
    let (ntx, n) = received(&w.node(a).events, &Method::Notify).unwrap();
    assert_eq!(n.body(), b"SIP/2.0 100 Trying\r\n");
    let d = w.node(a).endpoint.dialog_of_server_tx(ntx).unwrap();
    assert_eq!(w.node(a).endpoint.dialog_of_client_tx(tx), Some(d));
    assert_eq!(w.node(a).endpoint.dialog_state(d), DialogState::Confirmed);
    let dialog = w.node(a).endpoint.dialog(d).unwrap();
    assert_eq!(dialog.remote_tag(), "bb");
    assert_eq!(
        dialog.remote_target().to_string(),
        format!("sip:b@{NOTIFIER}")
    );
    // The late 202 reaches the REFER's TU and joins the same dialog.
    w.inject(notifier, a, Bytes::from(accepted(&refer)));
    w.run_for(Duration::from_millis(50));
    let statuses: Vec<u16> = w
        .node(a)
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::Response { response, .. } => response.status(),
            _ => None,
        })
        .collect();
    assert_eq!(statuses, [202]);
    assert_eq!(w.node(a).endpoint.dialog_count(), 1);
    assert_eq!(w.node(a).endpoint.dialog_of_client_tx(tx), Some(d));
    // The terminating NOTIFY ends the subscription and its dialog.
    w.inject(
        notifier,
        a,
        Bytes::from(notify(
            &refer,
            2,
            "terminated;reason=noresource",
            "SIP/2.0 200 OK\r\n",
        )),
    );
    w.run_for(Duration::from_millis(50));
    assert_eq!(oks_to(&w, "NOTIFY"), 2);
    assert_eq!(w.node(a).endpoint.dialog_state(d), DialogState::Terminated);
    common::assert_drained(&mut w, &[a]);
    assert_eq!(w.node(a).endpoint.dialog_count(), 0);
}

#[test]
fn a_refused_refer_ends_the_dialog_its_early_notify_made() {
    let (mut w, a) = world(603);
    let notifier: SocketAddr = NOTIFIER.parse().unwrap();
    let flow = tandem_sip_core::Flow {
        transport: tandem_sip_core::Transport::Udp,
        local: common::UAC.parse().unwrap(),
        remote: notifier,
    };
    let mut refer = request(
        &Method::Refer,
        "sip:b@127.0.0.2:5062",
        "sip:a@127.0.0.1",
        "early-notify",
        1,
    )
    .unwrap();
    refer
        .push_header(&HeaderName::ReferTo, "<sip:c@127.0.0.3:5063>")
        .unwrap();
    let tx = w
        .command(a, |ep, now| ep.send_request(now, refer, flow))
        .unwrap();
    w.run_for(Duration::from_millis(50));
    let refer = sent(w.net.trace(), "REFER").remove(0);
    w.inject(
        notifier,
        a,
        Bytes::from(notify(
            &refer,
            1,
            "active;expires=60",
            "SIP/2.0 100 Trying\r\n",
        )),
    );
    w.run_for(Duration::from_millis(50));
    assert_eq!(w.node(a).endpoint.dialog_count(), 1);
    let refused = accepted(&refer).replace("202 Accepted", "403 Forbidden");
    w.inject(notifier, a, Bytes::from(refused));
    w.run_for(Duration::from_millis(50));
    assert_eq!(w.node(a).endpoint.dialog_count(), 0);
    assert_eq!(w.node(a).endpoint.dialog_of_client_tx(tx), None);
    common::assert_drained(&mut w, &[a]);
}

#[test]
fn a_notify_for_no_pending_refer_still_gets_481() {
    let (mut w, a) = world(602);
    let notifier: SocketAddr = NOTIFIER.parse().unwrap();
    let stray = "NOTIFY sip:a@127.0.0.1:5061 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 127.0.0.2:5062;branch=z9hG4bKstray;rport\r\n\
        From: <sip:b@127.0.0.2>;tag=bb\r\nTo: <sip:a@127.0.0.1>;tag=nobody\r\n\
        Call-ID: no-refer\r\nCSeq: 1 NOTIFY\r\nEvent: refer\r\n\
        Subscription-State: active\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
    w.inject(notifier, a, Bytes::from_static(stray.as_bytes()));
    w.run_for(Duration::from_millis(50));
    assert_eq!(w.net.trace().count("481"), 1);
    assert_eq!(w.node(a).endpoint.dialog_count(), 0);
}
