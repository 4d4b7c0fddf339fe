//! A dialog from INVITE/200/ACK, ended by BYE from either side (RFC 3261 §12, §15). The
//! INVITE carries two Record-Route entries that name the two peers themselves, so each side's
//! route set (as received by the UAS, reversed by the UAC, §12.1) sends its BYE to the other:
//! the Route headers and Request-URIs of both BYEs are checked.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use tandem_sip_core::{DialogId, DialogRole, DialogState};
use tandem_sip_msg::headers::CSeq;
use tandem_sip_msg::{HeaderName, Method};
use tandem_testkit::sip::{dialog_ua, establish, header_values, invite_b, sent};
use tandem_testkit::{LinkConfig, NodeId, World};

const RR_UAC_SIDE: &str = "<sip:p1@127.0.0.1:5061;lr>";
const RR_UAS_SIDE: &str = "<sip:p2@127.0.0.2:5062;lr>";

/// INVITE/200/ACK with the Record-Routes; returns both dialogs (UAC's, UAS's).
fn call(w: &mut World, uac: NodeId, uas: NodeId, call_id: &str) -> (DialogId, DialogId) {
    w.set_script(uas, dialog_ua);
    w.set_script(uac, dialog_ua);
    let _flow = w.flow(uac, uas);
    let mut invite = invite_b(call_id, 1).unwrap();
    // As a proxy next to the UAS would have put them: top = nearest the UAS... here, the peers.
    invite
        .push_header(&HeaderName::RecordRoute, RR_UAC_SIDE)
        .unwrap();
    invite
        .push_header(&HeaderName::RecordRoute, RR_UAS_SIDE)
        .unwrap();
    let (_, a, b) = establish(w, uac, uas, invite, Duration::from_millis(200)).unwrap();
    (a, b)
}

#[test]
fn bye_from_the_caller() {
    let (mut w, uac, uas) = common::pair(21, LinkConfig::default());
    let (a, b) = call(&mut w, uac, uas, "bye-1");
    {
        let ep = &w.node(uac).endpoint;
        let d = ep.dialog(a).unwrap();
        assert_eq!(
            (d.role(), d.state(), d.local_seq()),
            (DialogRole::Uac, DialogState::Confirmed, Some(1))
        );
        assert_eq!(d.remote_target().to_string(), "sip:127.0.0.2:5062");
        assert_eq!(
            d.route_set(),
            [RR_UAS_SIDE, RR_UAC_SIDE],
            "reversed (§12.1.2)"
        );
    }
    {
        let ep = &w.node(uas).endpoint;
        let d = ep.dialog(b).unwrap();
        assert_eq!(
            (d.role(), d.state()),
            (DialogRole::Uas, DialogState::Confirmed)
        );
        assert_eq!(d.remote_target().to_string(), "sip:a@127.0.0.1:5061");
        assert_eq!(
            d.route_set(),
            [RR_UAC_SIDE, RR_UAS_SIDE],
            "as received (§12.1.1)"
        );
        assert_eq!(d.remote_seq(), Some(1));
    }
    // The 200 carried the automatic Contact and the copied Record-Route.
    let ok = sent(w.net.trace(), "200").remove(0);
    assert_eq!(
        header_values(&ok, &HeaderName::Contact),
        ["<sip:127.0.0.2:5062>"]
    );
    assert_eq!(
        header_values(&ok, &HeaderName::RecordRoute),
        [RR_UAC_SIDE, RR_UAS_SIDE]
    );
    let bye = w
        .command(uac, |ep, now| {
            let m = ep.dialog_request(a, &Method::Bye)?;
            ep.send_in_dialog(now, a, m)
        })
        .unwrap();
    w.run_for(Duration::from_millis(200));
    assert_eq!(
        w.node(uac).endpoint.dialog_state(a),
        DialogState::Terminated
    );
    assert_eq!(
        w.node(uas).endpoint.dialog_state(b),
        DialogState::Terminated
    );
    assert!(
        w.node(uac).endpoint.dialog_of_client_tx(bye).is_none(),
        "the BYE's dialog is gone"
    );
    let bye_msg = sent(w.net.trace(), "BYE").remove(0);
    assert_eq!(
        bye_msg.request_line().unwrap().uri,
        "sip:127.0.0.2:5062",
        "Request-URI = remote target"
    );
    assert_eq!(
        header_values(&bye_msg, &HeaderName::Route),
        [RR_UAS_SIDE, RR_UAC_SIDE]
    );
    assert_eq!(
        bye_msg.typed::<CSeq>().unwrap().unwrap().seq,
        2,
        "local CSeq + 1"
    );
    let ack = sent(w.net.trace(), "ACK").remove(0);
    assert_eq!(
        header_values(&ack, &HeaderName::Route),
        [RR_UAS_SIDE, RR_UAC_SIDE]
    );
    assert_eq!(ack.typed::<CSeq>().unwrap().unwrap().seq, 1);
    let (ua, ub) = (w.nodes[0].addr, w.nodes[1].addr);
    w.net.trace().assert_flow(ua, ub, &["INVITE", "ACK", "BYE"]);
    w.net.trace().assert_flow(ub, ua, &["100", "200"]);
    assert_eq!(
        common::event_labels(&mut w, uas),
        ["request INVITE", "ack", "request BYE"]
    );
    common::assert_drained(&mut w, &[uac, uas]);
    assert_eq!(w.node(uac).endpoint.dialog_count(), 0);
    assert_eq!(w.node(uas).endpoint.dialog_count(), 0);
}

#[test]
fn bye_from_the_callee() {
    let (mut w, uac, uas) = common::pair(22, LinkConfig::default());
    let (a, b) = call(&mut w, uac, uas, "bye-2");
    w.command(uas, |ep, now| {
        let m = ep.dialog_request(b, &Method::Bye)?;
        ep.send_in_dialog(now, b, m)
    })
    .unwrap();
    w.run_for(Duration::from_millis(200));
    assert_eq!(
        w.node(uac).endpoint.dialog_state(a),
        DialogState::Terminated
    );
    assert_eq!(
        w.node(uas).endpoint.dialog_state(b),
        DialogState::Terminated
    );
    let bye = sent(w.net.trace(), "BYE").remove(0);
    assert_eq!(bye.request_line().unwrap().uri, "sip:a@127.0.0.1:5061");
    assert_eq!(
        header_values(&bye, &HeaderName::Route),
        [RR_UAC_SIDE, RR_UAS_SIDE]
    );
    // The callee had sent nothing: its first CSeq is random below 2^31 (§8.1.1.5, §12.2.1.1).
    let seq = bye.typed::<CSeq>().unwrap().unwrap().seq;
    assert!(seq < 1 << 31);
    let (ua, ub) = (w.nodes[0].addr, w.nodes[1].addr);
    w.net.trace().assert_flow(ua, ub, &["INVITE", "ACK", "200"]);
    w.net.trace().assert_flow(ub, ua, &["100", "200", "BYE"]);
    assert_eq!(
        common::event_labels(&mut w, uac),
        ["response 100", "response 200", "request BYE"]
    );
    common::assert_drained(&mut w, &[uac, uas]);
    assert_eq!(w.node(uac).endpoint.dialog_count(), 0);
    assert_eq!(w.node(uas).endpoint.dialog_count(), 0);
}
