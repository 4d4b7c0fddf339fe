//! UPDATE (RFC 3311) in an early and in a confirmed dialog, from both sides: each UPDATE is
//! an in-dialog request with its own CSeq, answered 200 with the answerer's Contact, and
//! each 2xx refreshes the remote target on both sides (RFC 3311 §5.1, RFC 3261 §12.2).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use tandem_sip_core::{DialogId, DialogState, Event};
use tandem_sip_msg::headers::CSeq;
use tandem_sip_msg::{HeaderName, Method};
use tandem_testkit::sip::{dialog_ua, invite_b, received, sent};
use tandem_testkit::{NodeId, World};

fn update(w: &mut World, node: NodeId, d: DialogId, contact: &str) {
    w.command(node, |ep, now| {
        let mut m = ep.dialog_request(d, &Method::Update)?;
        m.replace_header(&HeaderName::Contact, contact)?;
        ep.send_in_dialog(now, d, m)
    })
    .unwrap();
    w.run_for(Duration::from_millis(200));
}

fn target(w: &mut World, node: NodeId, d: DialogId) -> String {
    w.node(node)
        .endpoint
        .dialog(d)
        .unwrap()
        .remote_target()
        .to_string()
}

#[test]
fn update_in_early_and_confirmed_dialogs() {
    let (mut w, uac, uas) = common::pair_with(121, tandem_testkit::LinkConfig::default(), |c| {
        c.allow.push(Method::Update);
    });
    w.set_script(uac, dialog_ua);
    // The callee rings (180 with a To tag: an early dialog) and answers everything else.
    w.set_script(uas, |ep, now, e| {
        if let Event::Request { tx, request, .. } = e {
            let status = if request.method() == Some(Method::Invite) {
                180
            } else {
                200
            };
            ep.reply(
                now,
                *tx,
                status,
                if status == 180 { "Ringing" } else { "OK" },
            )
            .unwrap();
        }
    });
    let flow = w.flow(uac, uas);
    let invite = invite_b("update-1", 1).unwrap();
    let tx = w
        .command(uac, |ep, now| ep.send_request(now, invite, flow))
        .unwrap();
    w.run_for(Duration::from_millis(200));
    let a = w.node(uac).endpoint.dialog_of_client_tx(tx).unwrap();
    let (itx, _) = received(&w.node(uas).events, &Method::Invite).unwrap();
    let b = w.node(uas).endpoint.dialog_of_server_tx(itx).unwrap();
    assert_eq!(w.node(uac).endpoint.dialog_state(a), DialogState::Early);
    assert_eq!(w.node(uas).endpoint.dialog_state(b), DialogState::Early);

    // Early: the caller updates, then the callee.
    update(&mut w, uac, a, "<sip:a-early@127.0.0.1:5061>");
    assert_eq!(target(&mut w, uas, b), "sip:a-early@127.0.0.1:5061");
    update(&mut w, uas, b, "<sip:b-early@127.0.0.2:5062>");
    assert_eq!(target(&mut w, uac, a), "sip:b-early@127.0.0.2:5062");

    // Answer; the 2xx's Contact (the callee's automatic one) becomes the caller's target.
    w.command(uas, |ep, now| ep.reply(now, itx, 200, "OK"))
        .unwrap();
    w.run_for(Duration::from_millis(200));
    assert_eq!(w.node(uac).endpoint.dialog_state(a), DialogState::Confirmed);
    assert_eq!(w.node(uas).endpoint.dialog_state(b), DialogState::Confirmed);

    // Confirmed: both update again.
    update(&mut w, uac, a, "<sip:a-late@127.0.0.1:5061>");
    assert_eq!(target(&mut w, uas, b), "sip:a-late@127.0.0.1:5061");
    update(&mut w, uas, b, "<sip:b-late@127.0.0.2:5062>");
    assert_eq!(target(&mut w, uac, a), "sip:b-late@127.0.0.2:5062");

    // CSeq: the caller's UPDATEs continue from the INVITE (2, 3); the BYE follows (4).
    w.command(uac, |ep, now| {
        let m = ep.dialog_request(a, &Method::Bye)?;
        ep.send_in_dialog(now, a, m)
    })
    .unwrap();
    w.run_for(Duration::from_millis(200));
    let updates = sent(w.net.trace(), "UPDATE");
    let seqs: Vec<u32> = updates
        .iter()
        .map(|u| u.typed::<CSeq>().unwrap().unwrap().seq)
        .collect();
    assert_eq!(seqs[0], 2);
    assert_eq!(seqs[2], 3);
    assert_eq!(seqs[3], seqs[1] + 1, "the callee's own CSeq space");
    let bye = sent(w.net.trace(), "BYE").remove(0);
    assert_eq!(bye.typed::<CSeq>().unwrap().unwrap().seq, 4);
    assert_eq!(bye.request_line().unwrap().uri, "sip:b-late@127.0.0.2:5062");
    let (ua, ub) = (w.nodes[0].addr, w.nodes[1].addr);
    w.net.trace().assert_flow(
        ua,
        ub,
        &["INVITE", "UPDATE", "200", "ACK", "UPDATE", "200", "BYE"],
    );
    w.net.trace().assert_flow(
        ub,
        ua,
        &["100", "180", "200", "UPDATE", "200", "UPDATE", "200"],
    );
    common::assert_drained(&mut w, &[uac, uas]);
    assert_eq!(w.node(uac).endpoint.dialog_count(), 0);
    assert_eq!(w.node(uas).endpoint.dialog_count(), 0);
}
