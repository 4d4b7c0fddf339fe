//! Reliable provisional responses (RFC 3262): the callee sends 180 with `Require: 100rel`
//! and `RSeq`; the caller's endpoint PRACKs it with `RAck` in the early dialog; the callee's
//! endpoint stops retransmitting the 180 and hands the matching PRACK to its TU, which
//! answers it and then the INVITE. Over 10% loss for 20 seeds the call always completes with
//! exactly one PRACK transaction per reliable provisional; and a PRACK that never comes gets
//! the INVITE rejected with 500 after 64·T1.
#![allow(clippy::unwrap_used)]

mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use tandem_sip_core::{DialogState, Event, RespondError, ServerTxId};
use tandem_sip_msg::headers::{CSeq, RAck, RSeq};
use tandem_sip_msg::{HeaderName, Method};
use tandem_testkit::sip::{ack_invite_2xx, header_values, request, sent};
use tandem_testkit::{LinkConfig, NodeId, World};

fn world(seed: u64, link: LinkConfig) -> (World, NodeId, NodeId) {
    let (mut w, uac, uas) = common::pair_with(seed, link, |c| {
        c.supported.push("100rel".into());
    });
    // Callee: 180 reliably at once; on the PRACK, 200 to it and then to the INVITE.
    let invite_tx: Rc<Cell<Option<ServerTxId>>> = Rc::default();
    w.set_script(uas, move |ep, now, e| {
        let Event::Request { tx, request, .. } = e else {
            return;
        };
        match request.method() {
            Some(Method::Invite) => {
                invite_tx.set(Some(*tx));
                let ringing = ep.make_response(*tx, 180, "Ringing").unwrap();
                ep.respond_reliably(now, *tx, ringing).unwrap();
                // One at a time (§3).
                let again = ep.make_response(*tx, 183, "Session Progress").unwrap();
                assert_eq!(
                    ep.respond_reliably(now, *tx, again),
                    Err(RespondError::PrackPending)
                );
            }
            Some(Method::Prack) => {
                assert!(!ep.prack_pending(invite_tx.get().unwrap()));
                ep.reply(now, *tx, 200, "OK").unwrap();
                ep.reply(now, invite_tx.get().unwrap(), 200, "OK").unwrap();
            }
            _ => ep.reply(now, *tx, 200, "OK").unwrap(),
        }
    });
    w.set_script(uac, |ep, _, e| {
        if let Event::Response { response, .. } = e {
            ack_invite_2xx(ep, response);
        }
    });
    (w, uac, uas)
}

fn run(seed: u64, link: LinkConfig) -> World {
    let (mut w, uac, uas) = world(seed, link);
    let flow = w.flow(uac, uas);
    let invite = request(
        &Method::Invite,
        "sip:b@127.0.0.2:5062",
        "sip:a@127.0.0.1",
        &format!("prack-{seed}"),
        1,
    )
    .unwrap();
    let tx = w
        .command(uac, |ep, now| ep.send_request(now, invite, flow))
        .unwrap();
    w.run_for(Duration::from_secs(20));
    let d = w.node(uac).endpoint.dialog_of_client_tx(tx).unwrap();
    assert_eq!(
        w.node(uac).endpoint.dialog_state(d),
        DialogState::Confirmed,
        "seed {seed}"
    );
    w.command(uac, |ep, now| {
        let m = ep.dialog_request(d, &Method::Bye)?;
        ep.send_in_dialog(now, d, m)
    })
    .unwrap();
    common::assert_drained(&mut w, &[uac, uas]);
    assert_eq!(w.node(uac).endpoint.dialog_count(), 0, "seed {seed}");
    assert_eq!(w.node(uas).endpoint.dialog_count(), 0, "seed {seed}");
    w
}

#[test]
fn reliable_180_is_pracked_then_answered() {
    let mut w = run(111, LinkConfig::default());
    let (ua, ub) = (w.nodes[0].addr, w.nodes[1].addr);
    w.net
        .trace()
        .assert_flow(ua, ub, &["INVITE", "PRACK", "ACK", "BYE"]);
    w.net.trace().assert_flow(ub, ua, &["100", "180", "200"]);
    let oks = sent(w.net.trace(), "200");
    let methods: Vec<_> = oks
        .iter()
        .map(|m| m.typed::<CSeq>().unwrap().unwrap().method)
        .collect();
    assert_eq!(methods, [Method::Prack, Method::Invite, Method::Bye]);
    let invite = sent(w.net.trace(), "INVITE").remove(0);
    assert_eq!(header_values(&invite, &HeaderName::Supported), ["100rel"]);
    let ringing = sent(w.net.trace(), "180").remove(0);
    assert_eq!(header_values(&ringing, &HeaderName::Require), ["100rel"]);
    let rseq = ringing.typed::<RSeq>().unwrap().unwrap().0;
    let prack = sent(w.net.trace(), "PRACK").remove(0);
    assert_eq!(
        prack.typed::<RAck>().unwrap().unwrap(),
        RAck {
            rseq,
            cseq: 1,
            method: Method::Invite
        }
    );
    assert_eq!(prack.typed::<CSeq>().unwrap().unwrap().seq, 2);
    // The caller's TU saw the 180 once and none of the PRACK's responses.
    assert_eq!(
        common::event_labels(&mut w, NodeId(0)),
        [
            "response 100",
            "response 180",
            "response 200",
            "response 200"
        ]
    );
    assert_eq!(
        common::event_labels(&mut w, NodeId(1)),
        ["request INVITE", "request PRACK", "ack", "request BYE"]
    );
}

#[test]
fn ten_percent_loss_over_twenty_seeds() {
    for seed in 0..20 {
        let link = LinkConfig::default().with_loss(0.10);
        let mut w = run(1000 + seed, link);
        // One PRACK transaction (retransmissions share its CSeq and branch).
        let pracks = sent(w.net.trace(), "PRACK");
        assert!(!pracks.is_empty(), "seed {seed}");
        assert!(
            pracks.iter().all(|p| p.to_bytes() == pracks[0].to_bytes()),
            "seed {seed}: only retransmissions of one PRACK"
        );
        let labels = common::event_labels(&mut w, NodeId(1));
        assert_eq!(
            labels.iter().filter(|l| *l == "request PRACK").count(),
            1,
            "seed {seed}: {labels:?}"
        );
        let uac_labels = common::event_labels(&mut w, NodeId(0));
        assert_eq!(
            uac_labels.iter().filter(|l| *l == "response 180").count(),
            1,
            "seed {seed}: the 180 is passed up once: {uac_labels:?}"
        );
        let (ua, ub) = (w.nodes[0].addr, w.nodes[1].addr);
        let mut firsts = w.net.trace().labels_between(ua, ub);
        let mut seen = Vec::new();
        firsts.retain(|l| {
            let new = !seen.contains(l);
            seen.push(l.clone());
            new
        });
        assert_eq!(firsts, ["INVITE", "PRACK", "ACK", "BYE"], "seed {seed}");
    }
}

#[test]
fn no_prack_within_64_t1_rejects_the_invite() {
    let (mut w, uac, uas) = world(112, LinkConfig::default());
    let (ua, ub) = (w.nodes[0].addr, w.nodes[1].addr);
    // The caller's requests stop reaching the callee once the INVITE is through.
    let flow = w.flow(uac, uas);
    let invite = request(
        &Method::Invite,
        "sip:b@127.0.0.2:5062",
        "sip:a@127.0.0.1",
        "prack-timeout",
        1,
    )
    .unwrap();
    w.command(uac, |ep, now| ep.send_request(now, invite, flow))
        .unwrap();
    w.run_for(Duration::from_millis(30));
    w.net.set_link(ua, ub, LinkConfig::default().with_loss(1.0));
    w.run_for(Duration::from_secs(40));
    let t0 = w.net.trace().entries()[0].at;
    let times: Vec<u128> = w
        .net
        .trace()
        .entries()
        .iter()
        .filter(|e| e.label() == "180")
        .map(|e| (e.at - t0).as_millis())
        .collect();
    // Sent at 20 ms, then T1 doubling; 500 at 64·T1.
    assert_eq!(
        times,
        [20, 520, 1520, 3520, 7520, 15520, 31520],
        "retransmission schedule"
    );
    assert_eq!(
        common::event_labels(&mut w, uas),
        ["request INVITE", "prack timeout"]
    );
    w.net.trace().assert_flow(ub, ua, &["100", "180", "500"]);
    let five = w
        .net
        .trace()
        .entries()
        .iter()
        .find(|e| e.label() == "500")
        .unwrap()
        .at;
    assert_eq!((five - t0).as_millis(), 32_020);
    common::assert_drained(&mut w, &[uac, uas]);
    // The ACK of the 500 was lost with everything else: Timer H ends the transaction.
    assert_eq!(
        common::event_labels(&mut w, uas),
        ["request INVITE", "prack timeout", "ack timeout"]
    );
    assert_eq!(w.node(uac).endpoint.dialog_count(), 0);
    assert_eq!(w.node(uas).endpoint.dialog_count(), 0);
}
