//! Session timers (RFC 4028): the caller asks for 120 s, the callee grants it with
//! `refresher=uac`; the caller's endpoint refreshes with UPDATE every 60 s by itself. When
//! the caller goes silent, the callee's endpoint sends BYE at 120 − 32 s after the last
//! refresh and both dialogs end. A callee whose minimum is larger answers 422 with `Min-SE`,
//! and the caller's endpoint retries with that interval.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use tandem_sip_core::{
    ClientTxId, DialogId, DialogState, EndpointConfig, SessionRefresher, SessionTimerConfig,
};
use tandem_sip_msg::headers::{CSeq, SessionExpires};
use tandem_sip_msg::{HeaderName, Method};
use tandem_testkit::sip::{dialog_ua, establish, header_values, invite_b, sent};
use tandem_testkit::{LinkConfig, NodeId, World};

fn config(seed: u64, interval: u64, min_se: u64) -> EndpointConfig {
    let mut c = EndpointConfig {
        seed,
        supported: vec!["timer".into()],
        session_timer: SessionTimerConfig {
            interval: Duration::from_secs(interval),
            min_se: Duration::from_secs(min_se),
        },
        ..EndpointConfig::default()
    };
    c.allow.push(Method::Update);
    c
}

/// Caller (interval 120 s) and callee (`callee_min` s minimum), both well-behaved UAs.
fn world(seed: u64, callee_min: u64) -> (World, NodeId, NodeId) {
    let mut w = World::new(seed, LinkConfig::latency(Duration::from_millis(20)));
    let uac = w.add_node(common::UAC, config(seed ^ 1, 120, 90));
    let uas = w.add_node(common::UAS, config(seed ^ 2, 1800, callee_min));
    w.set_script(uac, dialog_ua);
    w.set_script(uas, dialog_ua);
    (w, uac, uas)
}

fn call(
    w: &mut World,
    uac: NodeId,
    uas: NodeId,
    call_id: &str,
) -> (ClientTxId, DialogId, DialogId) {
    let _flow = w.flow(uac, uas);
    let invite = invite_b(call_id, 1).unwrap();
    let (tx, a, b) = establish(w, uac, uas, invite, Duration::from_millis(300)).unwrap();
    (tx, a, b)
}

fn session(w: &mut World, n: NodeId, d: DialogId) -> (Option<Duration>, Option<SessionRefresher>) {
    let dl = w.node(n).endpoint.dialog(d).unwrap();
    (dl.session_interval(), dl.session_refresher())
}

#[test]
fn the_refresher_refreshes_and_its_silence_ends_the_call() {
    let (mut w, uac, uas) = world(131, 90);
    let (_, a, b) = call(&mut w, uac, uas, "st-1");
    let secs = |s| Some(Duration::from_secs(s));
    assert_eq!(
        session(&mut w, uac, a),
        (secs(120), Some(SessionRefresher::Local))
    );
    assert_eq!(
        session(&mut w, uas, b),
        (secs(120), Some(SessionRefresher::Remote))
    );
    let invite = sent(w.net.trace(), "INVITE").remove(0);
    assert_eq!(header_values(&invite, &HeaderName::SessionExpires), ["120"]);
    assert_eq!(header_values(&invite, &HeaderName::MinSe), ["90"]);
    let ok = sent(w.net.trace(), "200").remove(0);
    assert_eq!(
        header_values(&ok, &HeaderName::SessionExpires),
        ["120;refresher=uac"]
    );
    assert_eq!(header_values(&ok, &HeaderName::Require), ["timer"]);

    // Three refreshes in 200 s, every 60 s, by UPDATE (the callee allows it).
    w.run_for(Duration::from_secs(200));
    let t0 = w.net.trace().entries()[0].at;
    let times: Vec<u128> = w
        .net
        .trace()
        .entries()
        .iter()
        .filter(|e| e.label() == "UPDATE")
        .map(|e| (e.at - t0).as_millis())
        .collect();
    assert_eq!(times, [60_040, 120_080, 180_120]);
    let update = sent(w.net.trace(), "UPDATE").remove(0);
    assert_eq!(
        header_values(&update, &HeaderName::SessionExpires),
        ["120;refresher=uac"]
    );
    assert_eq!(update.typed::<CSeq>().unwrap().unwrap().seq, 2);
    assert_eq!(
        common::event_labels(&mut w, uac),
        ["response 100", "response 200"],
        "the refreshes are the endpoint's business"
    );
    assert_eq!(
        common::event_labels(&mut w, uas),
        [
            "request INVITE",
            "ack",
            "request UPDATE",
            "request UPDATE",
            "request UPDATE"
        ]
    );
    assert_eq!(w.node(uas).endpoint.dialog_state(b), DialogState::Confirmed);

    // The caller goes silent: its next refresh (240 s) never arrives. The callee gives up at
    // the last refresh + 120 − 32 s = 268.14 s.
    let (ua, ub) = (w.nodes[0].addr, w.nodes[1].addr);
    w.net.set_link(ua, ub, LinkConfig::default().with_loss(1.0));
    w.run_for(Duration::from_secs(100));
    let bye = w
        .net
        .trace()
        .entries()
        .iter()
        .find(|e| e.label() == "BYE")
        .unwrap()
        .at;
    assert_eq!((bye - t0).as_millis(), 268_140);
    assert_eq!(
        common::event_labels(&mut w, uas).last().unwrap(),
        "session expired"
    );
    assert_eq!(
        w.node(uac).endpoint.dialog_state(a),
        DialogState::Terminated
    );
    assert_eq!(
        w.node(uas).endpoint.dialog_state(b),
        DialogState::Terminated
    );
    w.net
        .trace()
        .assert_flow(ua, ub, &["INVITE", "ACK", "UPDATE", "200", "UPDATE", "200"]);
    // (Labels include lost datagrams: the fourth UPDATE's retransmissions interleave with
    // the caller's lost 200s to the callee's BYE retransmissions.)
    assert_eq!(
        sent(w.net.trace(), "UPDATE").len() - 3,
        11,
        "UPDATE 4 until Timer F"
    );
    w.net.trace().assert_flow(ub, ua, &["100", "200", "BYE"]);
    common::assert_drained(&mut w, &[uac, uas]);
    assert_eq!(w.node(uac).endpoint.dialog_count(), 0);
    assert_eq!(w.node(uas).endpoint.dialog_count(), 0);
}

#[test]
fn a_422_raises_the_interval_to_the_callees_minimum() {
    let (mut w, uac, uas) = world(132, 300);
    let (tx, a, b) = call(&mut w, uac, uas, "st-2");
    let invites = sent(w.net.trace(), "INVITE");
    assert_eq!(invites.len(), 2);
    let second = &invites[1];
    assert_eq!(second.typed::<CSeq>().unwrap().unwrap().seq, 2);
    assert_eq!(
        second.typed::<SessionExpires<'_>>().unwrap().unwrap().delta,
        300
    );
    assert_eq!(header_values(second, &HeaderName::MinSe), ["300"]);
    let too_small = sent(w.net.trace(), "422").remove(0);
    assert_eq!(header_values(&too_small, &HeaderName::MinSe), ["300"]);
    assert_eq!(
        w.node(uac)
            .endpoint
            .client_request(tx)
            .unwrap()
            .typed::<CSeq>()
            .unwrap()
            .unwrap()
            .seq,
        2
    );
    let secs = |s| Some(Duration::from_secs(s));
    assert_eq!(
        session(&mut w, uac, a),
        (secs(300), Some(SessionRefresher::Local))
    );
    assert_eq!(
        session(&mut w, uas, b),
        (secs(300), Some(SessionRefresher::Remote))
    );
    // The 422 came before any 100 Trying (the endpoint answered at once).
    assert_eq!(
        common::event_labels(&mut w, uac),
        ["response 100", "response 200"]
    );
    w.command(uac, |ep, now| {
        let m = ep.dialog_request(a, &Method::Bye)?;
        ep.send_in_dialog(now, a, m)
    })
    .unwrap();
    w.run_for(Duration::from_millis(300));
    let (ua, ub) = (w.nodes[0].addr, w.nodes[1].addr);
    w.net
        .trace()
        .assert_flow(ua, ub, &["INVITE", "ACK", "INVITE", "ACK", "BYE"]);
    w.net.trace().assert_flow(ub, ua, &["422", "100", "200"]);
    common::assert_drained(&mut w, &[uac, uas]);
    assert_eq!(w.node(uac).endpoint.dialog_count(), 0);
    assert_eq!(w.node(uas).endpoint.dialog_count(), 0);
}

#[test]
fn without_update_the_refresh_is_a_reinvite_with_the_last_offer() {
    let mut w = World::new(133, LinkConfig::latency(Duration::from_millis(20)));
    let uac = w.add_node(common::UAC, config(133 ^ 1, 120, 90));
    let mut callee = config(133 ^ 2, 1800, 90);
    callee.allow.retain(|m| *m != Method::Update);
    let uas = w.add_node(common::UAS, callee);
    w.set_script(uac, dialog_ua);
    w.set_script(uas, dialog_ua);
    let flow = w.flow(uac, uas);
    let sdp = "v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
               m=audio 4000 RTP/AVP 0\r\n";
    let mut invite = invite_b("st-3", 1).unwrap();
    invite
        .set_body(
            Some("application/sdp"),
            bytes::Bytes::from_static(sdp.as_bytes()),
        )
        .unwrap();
    let tx = w
        .command(uac, |ep, now| ep.send_request(now, invite, flow))
        .unwrap();
    w.run_for(Duration::from_millis(300));
    let a = w.node(uac).endpoint.dialog_of_client_tx(tx).unwrap();
    w.run_for(Duration::from_secs(70));
    let invites = sent(w.net.trace(), "INVITE");
    assert_eq!(invites.len(), 2);
    assert_eq!(invites[1].body(), sdp.as_bytes(), "the same offer again");
    assert_eq!(
        header_values(&invites[1], &HeaderName::SessionExpires),
        ["120;refresher=uac"]
    );
    // The endpoint ACKed the refresh's 2xx itself; the TU saw nothing of it.
    assert_eq!(sent(w.net.trace(), "ACK").len(), 2);
    assert_eq!(
        common::event_labels(&mut w, uac),
        ["response 100", "response 200"]
    );
    w.command(uac, |ep, now| {
        let m = ep.dialog_request(a, &Method::Bye)?;
        ep.send_in_dialog(now, a, m)
    })
    .unwrap();
    w.run_for(Duration::from_millis(300));
    let (ua, ub) = (w.nodes[0].addr, w.nodes[1].addr);
    w.net
        .trace()
        .assert_flow(ua, ub, &["INVITE", "ACK", "INVITE", "ACK", "BYE"]);
    w.net
        .trace()
        .assert_flow(ub, ua, &["100", "200", "100", "200"]);
    common::assert_drained(&mut w, &[uac, uas]);
    assert_eq!(w.node(uac).endpoint.dialog_count(), 0);
    assert_eq!(w.node(uas).endpoint.dialog_count(), 0);
}
