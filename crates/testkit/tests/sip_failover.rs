//! Target failover (RFC 3263 §4.3): a request sent to an ordered list of resolved targets
//! moves to the next one, in a new transaction with a new branch, when the current target
//! times out (Timer B), answers 503, or its transport fails. The TU holds one handle and
//! hears only the outcome of the attempt that answered.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use tandem_sip_core::{ClientTxId, Event, Flow};
use tandem_sip_msg::headers::{CSeq, Via};
use tandem_sip_msg::{Message, Method};
use tandem_testkit::sip::{ack_invite_2xx, dialog_ua, request, sent};
use tandem_testkit::{LinkConfig, NodeId, World};

const FIRST: &str = "127.0.0.3:5063";

/// The pair plus a first target at [`FIRST`].
fn world(seed: u64) -> (World, NodeId, NodeId, NodeId) {
    let (mut w, uac, uas) = common::pair(seed, LinkConfig::default());
    let first = w.add_node(FIRST, Default::default());
    w.set_script(uac, |ep, _, e| {
        if let Event::Response { response, .. } = e {
            ack_invite_2xx(ep, response);
        }
    });
    w.set_script(uas, dialog_ua);
    (w, uac, uas, first)
}

fn invite(call_id: &str) -> Message {
    request(
        &Method::Invite,
        "sip:b@example.test",
        "sip:a@127.0.0.1",
        call_id,
        1,
    )
    .unwrap()
}

fn call(w: &mut World, uac: NodeId, targets: Vec<Flow>, call_id: &str) -> ClientTxId {
    w.command(uac, |ep, now| {
        ep.send_request_to_targets(now, invite(call_id), targets)
    })
    .unwrap()
}

fn hang_up(w: &mut World, uac: NodeId, tx: ClientTxId) {
    let d = w.node(uac).endpoint.dialog_of_client_tx(tx).unwrap();
    w.command(uac, |ep, now| {
        let m = ep.dialog_request(d, &Method::Bye)?;
        ep.send_in_dialog(now, d, m)
    })
    .unwrap();
    w.run_for(Duration::from_millis(300));
}

fn branch(m: &Message) -> String {
    m.typed_first::<Via<'_>>()
        .unwrap()
        .unwrap()
        .branch()
        .unwrap()
        .to_owned()
}

#[test]
fn a_silent_first_target_times_out_and_the_second_answers() {
    let (mut w, uac, uas, first) = world(101);
    let (ua, ub, uf) = (w.nodes[0].addr, w.nodes[1].addr, w.nodes[2].addr);
    w.net.set_link(ua, uf, LinkConfig::default().with_loss(1.0));
    let targets = vec![w.flow(uac, first), w.flow(uac, uas)];
    let tx = call(&mut w, uac, targets, "failover-1");
    w.run_for(Duration::from_secs(33));
    // Timer B at 64·T1 = 32 s ended the first attempt; the second went out at once.
    let invites = sent(w.net.trace(), "INVITE");
    assert_eq!(
        invites.len(),
        8,
        "7 transmissions to the first, 1 to the second"
    );
    assert_ne!(branch(&invites[0]), branch(&invites[7]), "new branch");
    assert_eq!(
        invites[0].typed::<CSeq>().unwrap(),
        invites[7].typed::<CSeq>().unwrap(),
        "same CSeq"
    );
    let t0 = w.net.trace().entries()[0].at;
    let second = w
        .net
        .trace()
        .entries()
        .iter()
        .find(|e| e.to == ub)
        .unwrap()
        .at;
    assert_eq!((second - t0).as_millis(), 32_000);
    assert_eq!(
        common::event_labels(&mut w, uac),
        ["response 100", "response 200"],
        "no timeout reached the TU"
    );
    hang_up(&mut w, uac, tx);
    w.net.trace().assert_flow(ua, uf, &["INVITE"]);
    w.net.trace().assert_flow(ua, ub, &["INVITE", "ACK", "BYE"]);
    w.net.trace().assert_flow(ub, ua, &["100", "200"]);
    common::assert_drained(&mut w, &[uac, uas, first]);
    for n in [uac, uas, first] {
        assert_eq!(w.node(n).endpoint.dialog_count(), 0);
    }
}

#[test]
fn a_503_from_the_first_target_moves_to_the_second() {
    let (mut w, uac, uas, first) = world(102);
    w.set_script(first, |ep, now, e| {
        if let Event::Request { tx, .. } = e {
            ep.reply(now, *tx, 503, "Service Unavailable").unwrap();
        }
    });
    let targets = vec![w.flow(uac, first), w.flow(uac, uas)];
    let tx = call(&mut w, uac, targets, "failover-2");
    w.run_for(Duration::from_millis(300));
    assert_eq!(
        common::event_labels(&mut w, uac),
        ["response 100", "response 100", "response 200"],
        "the 503 stayed inside the endpoint"
    );
    hang_up(&mut w, uac, tx);
    let (ua, ub, uf) = (w.nodes[0].addr, w.nodes[1].addr, w.nodes[2].addr);
    // The 503 is ACKed by the first attempt's transaction (§17.1.1.3).
    w.net.trace().assert_flow(ua, uf, &["INVITE", "ACK"]);
    w.net.trace().assert_flow(uf, ua, &["100", "503"]);
    w.net.trace().assert_flow(ua, ub, &["INVITE", "ACK", "BYE"]);
    w.net.trace().assert_flow(ub, ua, &["100", "200"]);
    common::assert_drained(&mut w, &[uac, uas, first]);
    for n in [uac, uas, first] {
        assert_eq!(w.node(n).endpoint.dialog_count(), 0);
    }
}

#[test]
fn a_transport_error_moves_on_and_the_last_failure_is_a_timeout() {
    let (mut w, uac, uas, first) = world(103);
    let (ua, uf) = (w.nodes[0].addr, w.nodes[2].addr);
    w.net.set_link(ua, uf, LinkConfig::default().with_loss(1.0));
    let to_first = w.flow(uac, first);
    let targets = vec![to_first, w.flow(uac, uas)];
    let tx = call(&mut w, uac, targets, "failover-3");
    // The runtime reports the first target unreachable (ICMP) 10 ms later.
    w.run_for(Duration::from_millis(10));
    w.command(uac, |ep, now| ep.handle_transport_error(now, to_first));
    w.run_for(Duration::from_millis(300));
    assert_eq!(
        common::event_labels(&mut w, uac),
        ["response 100", "response 200"]
    );
    hang_up(&mut w, uac, tx);
    // An OPTIONS with one unreachable target: the TU hears Timeout at once.
    let options = request(
        &Method::Options,
        "sip:b@example.test",
        "sip:a@127.0.0.1",
        "failover-3b",
        1,
    )
    .unwrap();
    let otx = w
        .command(uac, |ep, now| {
            ep.send_request_to_targets(now, options, vec![to_first])
        })
        .unwrap();
    w.command(uac, |ep, now| ep.handle_transport_error(now, to_first));
    let last = &w.node(uac).events.last().unwrap().1;
    assert!(matches!(last, Event::Timeout { tx } if *tx == otx));
    let ub = w.nodes[1].addr;
    w.net.trace().assert_flow(ua, uf, &["INVITE", "OPTIONS"]);
    w.net.trace().assert_flow(ua, ub, &["INVITE", "ACK", "BYE"]);
    w.net.trace().assert_flow(ub, ua, &["100", "200"]);
    common::assert_drained(&mut w, &[uac, uas, first]);
    for n in [uac, uas, first] {
        assert_eq!(w.node(n).endpoint.dialog_count(), 0);
    }
}
