//! Replaces (RFC 3891 §3): C's INVITE names the dialog A–B by Call-ID, to-tag (B's local
//! tag) and from-tag (A's tag). B's endpoint finds it; B's TU answers C and hangs up on A.
//! An unknown dialog gets 481, `early-only` against a confirmed dialog 486, and an early
//! dialog B did not initiate 481.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use tandem_sip_core::{DialogId, DialogState, EndpointConfig, Event};
use tandem_sip_msg::{HeaderName, Message, Method};
use tandem_testkit::sip::{dialog_ua, received, request};
use tandem_testkit::{LinkConfig, NodeId, World};

const C: &str = "127.0.0.3:5063";

fn world(seed: u64) -> (World, NodeId, NodeId, NodeId) {
    let mut w = World::new(seed, LinkConfig::latency(Duration::from_millis(20)));
    let config = |s| {
        let mut c = EndpointConfig {
            seed: s,
            ..EndpointConfig::default()
        };
        c.supported.push("replaces".into());
        c
    };
    let a = w.add_node(common::UAC, config(seed ^ 1));
    let b = w.add_node(common::UAS, config(seed ^ 2));
    let c = w.add_node(C, config(seed ^ 3));
    w.set_script(a, dialog_ua);
    w.set_script(c, dialog_ua);
    // B: an INVITE with Replaces is accepted only if it names a dialog; the replaced one
    // then gets BYE. `ring` makes B answer plain INVITEs 180 only.
    w.set_script(b, |ep, now, e| {
        let Event::Request { tx, request, .. } = e else {
            if let Event::Response { response, .. } = e {
                tandem_testkit::sip::ack_invite_2xx(ep, response);
            }
            return;
        };
        if request.method() != Some(Method::Invite) {
            ep.reply(now, *tx, 200, "OK").unwrap();
            return;
        }
        match ep.find_replaced_dialog(request) {
            Ok(Some(old)) => {
                ep.reply(now, *tx, 200, "OK").unwrap();
                let bye = ep.dialog_request(old, &Method::Bye).unwrap();
                ep.send_in_dialog(now, old, bye).unwrap();
            }
            Ok(None) if request.value(&HeaderName::new("X-Ring")).is_some() => {
                ep.reply(now, *tx, 180, "Ringing").unwrap();
            }
            Ok(None) => ep.reply(now, *tx, 200, "OK").unwrap(),
            Err(status) => ep.reply(now, *tx, status, "Replaces Refused").unwrap(),
        }
    });
    (w, a, b, c)
}

fn invite(from: &str, call_id: &str, contact: &str) -> Message {
    let mut m = request(&Method::Invite, "sip:b@127.0.0.2:5062", from, call_id, 1).unwrap();
    m.replace_header(&HeaderName::Contact, contact).unwrap();
    m
}

/// A calls B; returns A's dialog and B's.
fn a_calls_b(w: &mut World, a: NodeId, b: NodeId, ring: bool) -> (DialogId, DialogId) {
    let flow = w.flow(a, b);
    let mut m = invite("sip:a@127.0.0.1", "repl-ab", "<sip:a@127.0.0.1:5061>");
    if ring {
        m.push_header(&HeaderName::new("X-Ring"), "1").unwrap();
    }
    let atx = w
        .command(a, |ep, now| ep.send_request(now, m, flow))
        .unwrap();
    w.run_for(Duration::from_millis(300));
    let (tx, _) = received(&w.node(b).events, &Method::Invite).unwrap();
    (
        w.node(a).endpoint.dialog_of_client_tx(atx).unwrap(),
        w.node(b).endpoint.dialog_of_server_tx(tx).unwrap(),
    )
}

/// C sends an INVITE to B with `replaces`; returns the status B answered.
fn c_replaces(w: &mut World, c: NodeId, b: NodeId, call_id: &str, replaces: &str) -> u16 {
    let flow = w.flow(c, b);
    let mut m = invite("sip:c@127.0.0.3", call_id, "<sip:c@127.0.0.3:5063>");
    m.push_header(&HeaderName::Replaces, replaces).unwrap();
    m.push_header(&HeaderName::Require, "replaces").unwrap();
    w.command(c, |ep, now| ep.send_request(now, m, flow))
        .unwrap();
    w.run_for(Duration::from_millis(300));
    w.node(c)
        .events
        .iter()
        .rev()
        .find_map(|(_, e)| match e {
            Event::Response { response, .. } => response.status().filter(|s| *s >= 200),
            _ => None,
        })
        .unwrap()
}

fn header(w: &mut World, b: NodeId, d: DialogId, early_only: bool) -> String {
    let dl = w.node(b).endpoint.dialog(d).unwrap();
    format!(
        "{};to-tag={};from-tag={}{}",
        dl.call_id(),
        dl.local_tag(),
        dl.remote_tag(),
        if early_only { ";early-only" } else { "" }
    )
}

#[test]
fn an_invite_with_replaces_takes_over_a_confirmed_dialog() {
    let (mut w, a, b, c) = world(151);
    let (_, dab) = a_calls_b(&mut w, a, b, false);
    let replaces = header(&mut w, b, dab, false);
    assert_eq!(c_replaces(&mut w, c, b, "repl-cb", &replaces), 200);
    assert_eq!(
        w.node(b).endpoint.dialog_state(dab),
        DialogState::Terminated
    );
    let (ua, ub, uc) = (w.nodes[0].addr, w.nodes[1].addr, w.nodes[2].addr);
    let t = w.net.trace();
    t.assert_flow(ua, ub, &["INVITE", "ACK", "200"]);
    t.assert_flow(ub, ua, &["100", "200", "BYE"]);
    t.assert_flow(uc, ub, &["INVITE", "ACK"]);
    t.assert_flow(ub, uc, &["100", "200"]);
    // C hangs up.
    let dc = w
        .node(c)
        .events
        .iter()
        .find_map(|(_, e)| match e {
            Event::Response { tx, .. } => Some(*tx),
            _ => None,
        })
        .unwrap();
    let dc = w.node(c).endpoint.dialog_of_client_tx(dc).unwrap();
    w.command(c, |ep, now| {
        let m = ep.dialog_request(dc, &Method::Bye)?;
        ep.send_in_dialog(now, dc, m)
    })
    .unwrap();
    common::assert_drained(&mut w, &[a, b, c]);
    for n in [a, b, c] {
        assert_eq!(w.node(n).endpoint.dialog_count(), 0);
    }
}

#[test]
fn replaces_is_refused_per_rfc_3891() {
    let (mut w, a, b, c) = world(152);
    let (da, dab) = a_calls_b(&mut w, a, b, false);
    // Unknown dialog (tags swapped: to-tag must be B's local tag).
    let dl = w.node(b).endpoint.dialog(dab).unwrap().clone();
    let swapped = format!(
        "{};to-tag={};from-tag={}",
        dl.call_id(),
        dl.remote_tag(),
        dl.local_tag()
    );
    assert_eq!(c_replaces(&mut w, c, b, "repl-1", &swapped), 481);
    // early-only against a confirmed dialog.
    let early_only = header(&mut w, b, dab, true);
    assert_eq!(c_replaces(&mut w, c, b, "repl-2", &early_only), 486);
    assert_eq!(w.node(b).endpoint.dialog_state(dab), DialogState::Confirmed);
    // An early dialog B did not initiate (it is ringing A's INVITE): 481.
    let (mut w2, a2, b2, c2) = world(153);
    let (_, early) = a_calls_b(&mut w2, a2, b2, true);
    assert_eq!(w2.node(b2).endpoint.dialog_state(early), DialogState::Early);
    let replaces = header(&mut w2, b2, early, false);
    assert_eq!(c_replaces(&mut w2, c2, b2, "repl-3", &replaces), 481);
    // No Replaces at all: Ok(None).
    let plain = invite("sip:c@127.0.0.3", "repl-4", "<sip:c@127.0.0.3:5063>");
    assert_eq!(w2.node(b2).endpoint.find_replaced_dialog(&plain), Ok(None));
    // Clean up: B ends the ringing call, A's BYE ends the confirmed one.
    let (itx, _) = received(&w2.node(b2).events, &Method::Invite).unwrap();
    w2.command(b2, |ep, now| ep.reply(now, itx, 486, "Busy Here"))
        .unwrap();
    let (ub, uc) = (w.nodes[1].addr, w.nodes[2].addr);
    w.net
        .trace()
        .assert_flow(uc, ub, &["INVITE", "ACK", "INVITE", "ACK"]);
    w.net
        .trace()
        .assert_flow(ub, uc, &["100", "481", "100", "486"]);
    w.command(a, |ep, now| {
        let m = ep.dialog_request(da, &Method::Bye)?;
        ep.send_in_dialog(now, da, m)
    })
    .unwrap();
    common::assert_drained(&mut w, &[a, b, c]);
    common::assert_drained(&mut w2, &[a2, b2, c2]);
    for n in [a, b, c] {
        assert_eq!(w.node(n).endpoint.dialog_count(), 0);
    }
    for n in [a2, b2, c2] {
        assert_eq!(w2.node(n).endpoint.dialog_count(), 0);
    }
}
