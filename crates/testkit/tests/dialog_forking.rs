//! Forking (RFC 3261 §12.1.2, §13.2.2.4): one INVITE, responses with different To tags. A
//! forking proxy is simulated by injecting, next to the real UAS's answers, responses built
//! from the INVITE it received with another To tag (and a Contact at a third address).
//!
//! What Tandem does: every distinct To tag in a 1xx (or 2xx) creates its own dialog. The 2xx
//! confirms its fork's dialog; early dialogs of other forks stay early until the INVITE
//! client transaction ends (Timer M, 64·T1 after the 2xx) and then terminate. A 2xx from a
//! second fork creates a second confirmed dialog: the TU decides; here it ACKs it and sends
//! BYE (the usual choice of a UA that wants one call).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use tandem_sip_core::{DialogState, Event};
use tandem_sip_msg::{HeaderName, Method};
use tandem_testkit::sip::{dialog_ua, fork_response, received, request, sent};
use tandem_testkit::{LinkConfig, World};

const FORK2: &str = "127.0.0.3:5063";

fn invite(w: &mut World, call_id: &str) -> tandem_sip_core::ClientTxId {
    let (uac, uas) = (tandem_testkit::NodeId(0), tandem_testkit::NodeId(1));
    let flow = w.flow(uac, uas);
    let mut m = request(
        &Method::Invite,
        "sip:b@127.0.0.2:5062",
        "sip:a@127.0.0.1",
        call_id,
        1,
    )
    .unwrap();
    m.replace_header(&HeaderName::Contact, "<sip:a@127.0.0.1:5061>")
        .unwrap();
    w.command(uac, |ep, now| ep.send_request(now, m, flow))
        .unwrap()
}

/// The UAS rings on INVITE (the test answers it later) and accepts anything else.
fn ring_then_ok(ep: &mut tandem_sip_core::Endpoint, now: std::time::Instant, e: &Event) {
    if let Event::Request { tx, request, .. } = e {
        if request.method() == Some(Method::Invite) {
            ep.reply(now, *tx, 180, "Ringing").unwrap();
        } else {
            ep.reply(now, *tx, 200, "OK").unwrap();
        }
    }
}

#[test]
fn two_early_dialogs_one_confirmed_the_other_ends_with_the_transaction() {
    let (mut w, uac, uas) = common::pair(41, LinkConfig::default());
    let fork2 = w.add_node(FORK2, Default::default());
    w.set_script(uac, dialog_ua);
    w.set_script(uas, ring_then_ok);
    let tx = invite(&mut w, "fork-1");
    w.run_for(Duration::from_millis(50));
    // The second fork rings too.
    let (stx, inv) = received(&w.node(uas).events, &Method::Invite).unwrap();
    let ringing = fork_response(&inv, 180, "Ringing", "fork2", &format!("<sip:{FORK2}>"));
    let fork2_addr = w.nodes[fork2.0].addr;
    w.inject(fork2_addr, uac, ringing);
    w.run_for(Duration::from_millis(50));
    let dialogs = w.node(uac).endpoint.dialogs_of_client_tx(tx);
    assert_eq!(dialogs.len(), 2, "one early dialog per To tag");
    let ep = &w.node(uac).endpoint;
    assert!(
        dialogs
            .iter()
            .all(|d| ep.dialog_state(*d) == DialogState::Early)
    );
    let (first, second) = (dialogs[0], dialogs[1]);
    assert_eq!(
        ep.dialog(second).unwrap().remote_target().to_string(),
        format!("sip:{FORK2}")
    );
    assert_eq!(
        w.node(uas).endpoint.dialog_count(),
        1,
        "the UAS's early dialog"
    );
    // The first fork answers.
    w.command(uas, |ep, now| ep.reply(now, stx, 200, "OK"))
        .unwrap();
    w.run_for(Duration::from_millis(100));
    let ep = &w.node(uac).endpoint;
    assert_eq!(ep.dialog_state(first), DialogState::Confirmed);
    assert_eq!(
        ep.dialog_state(second),
        DialogState::Early,
        "other forks stay early until the INVITE transaction ends"
    );
    assert_eq!(ep.dialog_of_client_tx(tx), Some(first), "the confirmed one");
    // Timer M (64·T1 = 32 s) ends the INVITE transaction and the early fork with it.
    w.run_for(Duration::from_secs(33));
    let ep = &w.node(uac).endpoint;
    assert_eq!(ep.dialog_state(second), DialogState::Terminated);
    assert_eq!(ep.dialog_state(first), DialogState::Confirmed);
    assert_eq!(ep.dialog_count(), 1);
    w.command(uac, |ep, now| {
        let m = ep.dialog_request(first, &Method::Bye)?;
        ep.send_in_dialog(now, first, m)
    })
    .unwrap();
    w.run_for(Duration::from_millis(100));
    let (ua, ub) = (w.nodes[0].addr, w.nodes[1].addr);
    w.net.trace().assert_flow(ua, ub, &["INVITE", "ACK", "BYE"]);
    w.net.trace().assert_flow(ub, ua, &["100", "180", "200"]);
    w.net.trace().assert_flow(fork2_addr, ua, &["180"]);
    common::assert_drained(&mut w, &[uac, uas]);
    assert_eq!(w.node(uac).endpoint.dialog_count(), 0);
    assert_eq!(w.node(uas).endpoint.dialog_count(), 0);
}

#[test]
fn a_2xx_from_a_second_fork_makes_a_second_dialog_the_tu_acks_and_byes() {
    let (mut w, uac, uas) = common::pair(42, LinkConfig::default());
    let fork2 = w.add_node(FORK2, Default::default());
    w.set_script(uac, dialog_ua);
    w.set_script(uas, ring_then_ok);
    let tx = invite(&mut w, "fork-2");
    w.run_for(Duration::from_millis(50));
    let (stx, inv) = received(&w.node(uas).events, &Method::Invite).unwrap();
    w.command(uas, |ep, now| ep.reply(now, stx, 200, "OK"))
        .unwrap();
    let fork2_addr = w.nodes[fork2.0].addr;
    w.inject(
        fork2_addr,
        uac,
        fork_response(&inv, 200, "OK", "fork2", &format!("<sip:{FORK2}>")),
    );
    w.run_for(Duration::from_millis(100));
    let dialogs = w.node(uac).endpoint.dialogs_of_client_tx(tx);
    assert_eq!(dialogs.len(), 2);
    let ep = &w.node(uac).endpoint;
    assert!(
        dialogs
            .iter()
            .all(|d| ep.dialog_state(*d) == DialogState::Confirmed)
    );
    // dialog_ua ACKed both 2xx, each to its own remote target.
    let acks = sent(w.net.trace(), "ACK");
    let uris: Vec<_> = acks
        .iter()
        .map(|a| a.request_line().unwrap().uri.to_owned())
        .collect();
    assert_eq!(uris, ["sip:127.0.0.2:5062", &format!("sip:{FORK2}")]);
    // The TU keeps the first and hangs up the second fork (the fork's UA, here a bare
    // endpoint that never saw the INVITE, answers the BYE with 481: the dialog ends either way).
    let extra = dialogs[1];
    w.command(uac, |ep, now| {
        let m = ep.dialog_request(extra, &Method::Bye)?;
        ep.send_in_dialog(now, extra, m)
    })
    .unwrap();
    w.run_for(Duration::from_millis(100));
    assert_eq!(
        w.node(uac).endpoint.dialog_state(extra),
        DialogState::Terminated
    );
    assert_eq!(w.node(uac).endpoint.dialog_count(), 1);
    let keep = dialogs[0];
    w.command(uac, |ep, now| {
        let m = ep.dialog_request(keep, &Method::Bye)?;
        ep.send_in_dialog(now, keep, m)
    })
    .unwrap();
    w.run_for(Duration::from_millis(100));
    let ua = w.nodes[0].addr;
    w.net.trace().assert_flow(ua, fork2_addr, &["ACK", "BYE"]);
    w.net.trace().assert_flow(fork2_addr, ua, &["200", "481"]);
    common::assert_drained(&mut w, &[uac, uas, fork2]);
    for n in [uac, uas, fork2] {
        assert_eq!(w.node(n).endpoint.dialog_count(), 0);
    }
}
