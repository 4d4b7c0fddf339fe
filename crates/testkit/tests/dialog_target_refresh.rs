//! Target refresh (RFC 3261 §12.2.1.2, §12.2.2, §14): a re-INVITE and its 2xx carry new
//! Contacts; once the transaction succeeds, each side's remote target is the other's new
//! Contact and the next BYE goes there.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use tandem_sip_core::{DialogId, DialogState, Event};
use tandem_sip_msg::{HeaderName, Method};
use tandem_testkit::sip::{ack_invite_2xx, dialog_ua, establish, invite_b, sent};
use tandem_testkit::{LinkConfig, NodeId, World};

fn call(w: &mut World, uac: NodeId, uas: NodeId, call_id: &str) -> (DialogId, DialogId) {
    let _flow = w.flow(uac, uas);
    let invite = invite_b(call_id, 1).unwrap();
    let (_, a, b) = establish(w, uac, uas, invite, Duration::from_millis(200)).unwrap();
    (a, b)
}

/// Sends a re-INVITE from `node` in `d` advertising `contact`.
fn reinvite(w: &mut World, node: NodeId, d: DialogId, contact: &str) {
    w.command(node, |ep, now| {
        let mut m = ep.dialog_request(d, &Method::Invite)?;
        m.replace_header(&HeaderName::Contact, contact)?;
        ep.send_in_dialog(now, d, m)
    })
    .unwrap();
}

#[test]
fn new_contacts_in_a_reinvite_and_its_2xx_move_both_remote_targets() {
    let (mut w, uac, uas) = common::pair(61, LinkConfig::default());
    w.set_script(uac, dialog_ua);
    // The callee answers re-INVITEs with a Contact of its own choosing.
    w.set_script(uas, |ep, now, e| match e {
        Event::Request { tx, request, .. } => {
            let mut ok = ep.make_response(*tx, 200, "OK").unwrap();
            if request.method() == Some(Method::Invite) && ep.dialog_of_server_tx(*tx).is_some() {
                ok.push_header(&HeaderName::Contact, "<sip:b2@127.0.0.2:5062;ob>")
                    .unwrap();
            }
            ep.respond(now, *tx, ok).unwrap();
        }
        Event::Response { response, .. } => ack_invite_2xx(ep, response),
        _ => {}
    });
    let (a, b) = call(&mut w, uac, uas, "refresh-1");
    reinvite(&mut w, uac, a, "<sip:moved@127.0.0.1:5061;ob>");
    w.run_for(Duration::from_millis(200));
    assert_eq!(
        w.node(uas)
            .endpoint
            .dialog(b)
            .unwrap()
            .remote_target()
            .to_string(),
        "sip:moved@127.0.0.1:5061;ob"
    );
    assert_eq!(
        w.node(uac)
            .endpoint
            .dialog(a)
            .unwrap()
            .remote_target()
            .to_string(),
        "sip:b2@127.0.0.2:5062;ob"
    );
    // The ACK of the re-INVITE's 2xx already goes to the new target.
    let acks = sent(w.net.trace(), "ACK");
    assert_eq!(
        acks[1].request_line().unwrap().uri,
        "sip:b2@127.0.0.2:5062;ob"
    );
    // The callee hangs up: its BYE is addressed to the caller's new Contact.
    w.command(uas, |ep, now| {
        let m = ep.dialog_request(b, &Method::Bye)?;
        ep.send_in_dialog(now, b, m)
    })
    .unwrap();
    w.run_for(Duration::from_millis(200));
    let bye = sent(w.net.trace(), "BYE").remove(0);
    assert_eq!(
        bye.request_line().unwrap().uri,
        "sip:moved@127.0.0.1:5061;ob"
    );
    let (ua, ub) = (w.nodes[0].addr, w.nodes[1].addr);
    w.net
        .trace()
        .assert_flow(ua, ub, &["INVITE", "ACK", "INVITE", "ACK", "200"]);
    w.net
        .trace()
        .assert_flow(ub, ua, &["100", "200", "100", "200", "BYE"]);
    assert_eq!(
        w.node(uac).endpoint.dialog_state(a),
        DialogState::Terminated
    );
    common::assert_drained(&mut w, &[uac, uas]);
    assert_eq!(w.node(uac).endpoint.dialog_count(), 0);
    assert_eq!(w.node(uas).endpoint.dialog_count(), 0);
}

#[test]
fn a_contact_at_another_address_sends_the_next_bye_there() {
    let (mut w, uac, uas) = common::pair(62, LinkConfig::default());
    // A third endpoint where the caller says it now is. It never saw the dialog, so it
    // answers the BYE 481, which ends the callee's dialog as well (§12.2.1.2).
    let moved = w.add_node("127.0.0.3:5063", Default::default());
    for n in [uac, uas, moved] {
        w.set_script(n, dialog_ua);
    }
    let (a, b) = call(&mut w, uac, uas, "refresh-2");
    reinvite(&mut w, uac, a, "<sip:a@127.0.0.3:5063>");
    w.run_for(Duration::from_millis(200));
    w.command(uas, |ep, now| {
        let m = ep.dialog_request(b, &Method::Bye)?;
        ep.send_in_dialog(now, b, m)
    })
    .unwrap();
    w.run_for(Duration::from_millis(200));
    let (ua, ub, um) = (w.nodes[0].addr, w.nodes[1].addr, w.nodes[2].addr);
    w.net.trace().assert_flow(ub, um, &["BYE"]);
    w.net.trace().assert_flow(um, ub, &["481"]);
    w.net
        .trace()
        .assert_flow(ub, ua, &["100", "200", "100", "200"]);
    assert_eq!(
        w.node(uas).endpoint.dialog_state(b),
        DialogState::Terminated
    );
    // The caller's side of this toy move still holds its dialog: its TU forgets it.
    assert!(w.command(uac, |ep, _| ep.terminate_dialog(a)));
    common::assert_drained(&mut w, &[uac, uas, moved]);
    for n in [uac, uas, moved] {
        assert_eq!(w.node(n).endpoint.dialog_count(), 0);
    }
}
