//! In-dialog requests the dialog layer answers itself (RFC 3261 §12.2.2): 481 for a dialog
//! that does not exist, 500 for a CSeq lower than the remote sequence number; and §12.2.1.2:
//! a 481 received for an in-dialog request ends the dialog.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use tandem_sip_core::{DialogId, DialogState};
use tandem_sip_msg::{HeaderName, Method};
use tandem_testkit::sip::{dialog_ua, establish, invite_b, request};
use tandem_testkit::{LinkConfig, NodeId, World};

fn call(w: &mut World, uac: NodeId, uas: NodeId, cseq: u32) -> (DialogId, DialogId) {
    w.set_script(uas, dialog_ua);
    w.set_script(uac, dialog_ua);
    let _flow = w.flow(uac, uas);
    let invite = invite_b("d481", cseq).unwrap();
    let (_, a, b) = establish(w, uac, uas, invite, Duration::from_millis(200)).unwrap();
    (a, b)
}

#[test]
fn bye_for_an_unknown_dialog_gets_481_without_bothering_the_tu() {
    let (mut w, uac, uas) = common::pair(31, LinkConfig::default());
    w.set_script(uas, dialog_ua);
    let flow = w.flow(uac, uas);
    let mut bye = request(
        &Method::Bye,
        "sip:b@127.0.0.2:5062",
        "sip:a@127.0.0.1",
        "nobody",
        2,
    )
    .unwrap();
    bye.replace_header(&HeaderName::To, "<sip:b@127.0.0.2:5062>;tag=gone")
        .unwrap();
    w.command(uac, |ep, now| ep.send_request(now, bye, flow))
        .unwrap();
    w.run_for(Duration::from_millis(200));
    assert_eq!(common::event_labels(&mut w, uac), ["response 481"]);
    assert!(
        common::event_labels(&mut w, uas).is_empty(),
        "the TU never saw it"
    );
    let (ua, ub) = (w.nodes[0].addr, w.nodes[1].addr);
    w.net.trace().assert_flow(ua, ub, &["BYE"]);
    w.net.trace().assert_flow(ub, ua, &["481"]);
    common::assert_drained(&mut w, &[uac, uas]);
    assert_eq!(w.node(uas).endpoint.dialog_count(), 0);
}

#[test]
fn request_with_an_old_cseq_gets_500_and_the_dialog_survives() {
    let (mut w, uac, uas) = common::pair(32, LinkConfig::default());
    let (a, b) = call(&mut w, uac, uas, 5);
    let flow = w.flow(uac, uas);
    // An OPTIONS in the dialog whose CSeq (3) is below the INVITE's (5).
    w.command(uac, |ep, now| {
        let mut m = ep.dialog_request(a, &Method::Options).unwrap();
        m.replace_header(&HeaderName::CSeq, "3 OPTIONS").unwrap();
        ep.send_request(now, m, flow)
    })
    .unwrap();
    w.run_for(Duration::from_millis(200));
    assert_eq!(w.node(uas).endpoint.dialog_state(b), DialogState::Confirmed);
    assert_eq!(w.node(uac).endpoint.dialog_state(a), DialogState::Confirmed);
    assert_eq!(
        w.node(uas).endpoint.dialog(b).unwrap().remote_seq(),
        Some(5)
    );
    // In order again: CSeq 6.
    w.command(uac, |ep, now| {
        let m = ep.dialog_request(a, &Method::Bye)?;
        ep.send_in_dialog(now, a, m)
    })
    .unwrap();
    w.run_for(Duration::from_millis(200));
    assert_eq!(
        common::event_labels(&mut w, uac),
        [
            "response 100",
            "response 200",
            "response 500",
            "response 200"
        ]
    );
    assert_eq!(
        common::event_labels(&mut w, uas),
        ["request INVITE", "ack", "request BYE"],
        "the out-of-order OPTIONS never reached the TU"
    );
    let (ua, ub) = (w.nodes[0].addr, w.nodes[1].addr);
    w.net
        .trace()
        .assert_flow(ua, ub, &["INVITE", "ACK", "OPTIONS", "BYE"]);
    w.net
        .trace()
        .assert_flow(ub, ua, &["100", "200", "500", "200"]);
    common::assert_drained(&mut w, &[uac, uas]);
    assert_eq!(w.node(uac).endpoint.dialog_count(), 0);
    assert_eq!(w.node(uas).endpoint.dialog_count(), 0);
}

#[test]
fn a_481_received_ends_the_dialog() {
    let (mut w, uac, uas) = common::pair(33, LinkConfig::default());
    let (a, b) = call(&mut w, uac, uas, 1);
    // The callee forgets the call (a crash, a restart) ...
    assert!(w.command(uas, |ep, _| ep.terminate_dialog(b)));
    // ... so the caller's BYE gets 481, which ends the caller's dialog too (§12.2.1.2).
    w.command(uac, |ep, now| {
        let m = ep.dialog_request(a, &Method::Bye)?;
        ep.send_in_dialog(now, a, m)
    })
    .unwrap();
    w.run_for(Duration::from_millis(200));
    assert_eq!(
        w.node(uac).endpoint.dialog_state(a),
        DialogState::Terminated
    );
    let (ua, ub) = (w.nodes[0].addr, w.nodes[1].addr);
    w.net.trace().assert_flow(ua, ub, &["INVITE", "ACK", "BYE"]);
    w.net.trace().assert_flow(ub, ua, &["100", "200", "481"]);
    common::assert_drained(&mut w, &[uac, uas]);
    assert_eq!(w.node(uac).endpoint.dialog_count(), 0);
    assert_eq!(w.node(uas).endpoint.dialog_count(), 0);
}
