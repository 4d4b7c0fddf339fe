//! re-INVITE glare (RFC 3261 §14.1, §14.2): both sides send a re-INVITE at the same virtual
//! time; each endpoint answers the other's with 491 because its own is pending; each TU asks
//! `glare_retry_delay` (2.1-4 s for the Call-ID owner, the dialog's UAC; 0-2 s for the other)
//! and retries. The callee retries first and succeeds; the caller's retry then succeeds too.
#![allow(clippy::unwrap_used)]

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tandem_sip_core::{DialogId, Event};
use tandem_sip_msg::{HeaderName, Method};
use tandem_testkit::sip::{dialog_ua, establish, invite_b};
use tandem_testkit::{LinkConfig, NodeId};

/// (node, when the 491 arrived, the delay drawn).
type Retries = Rc<RefCell<Vec<(NodeId, Instant, Duration)>>>;

fn glare_aware(
    node: NodeId,
    retries: Retries,
) -> impl FnMut(&mut tandem_sip_core::Endpoint, Instant, &Event) {
    move |ep, now, e| {
        if let Event::Response { tx, response } = e
            && response.status() == Some(491)
        {
            let d = ep.dialog_of_client_tx(*tx).unwrap();
            let delay = ep.glare_retry_delay(d).unwrap();
            retries.borrow_mut().push((node, now, delay));
            return;
        }
        dialog_ua(ep, now, e);
    }
}

fn reinvite(w: &mut tandem_testkit::World, node: NodeId, d: DialogId) {
    w.command(node, |ep, now| {
        let m = ep.dialog_request(d, &Method::Invite)?;
        ep.send_in_dialog(now, d, m)
    })
    .unwrap();
}

#[test]
fn crossing_reinvites_both_get_491_and_retry_after_the_rfc_delays() {
    let (mut w, uac, uas) = common::pair(51, LinkConfig::default());
    let retries: Retries = Rc::default();
    w.set_script(uac, glare_aware(uac, retries.clone()));
    w.set_script(uas, glare_aware(uas, retries.clone()));
    let _flow = w.flow(uac, uas);
    let invite = invite_b("glare", 1).unwrap();
    let (_, a, b) = establish(&mut w, uac, uas, invite, Duration::from_millis(200)).unwrap();

    // Both re-INVITE at the same instant.
    reinvite(&mut w, uac, a);
    reinvite(&mut w, uas, b);
    // §14.1: no second INVITE while one is pending.
    assert_eq!(
        w.command(uac, |ep, now| {
            let m = ep.dialog_request(a, &Method::Invite)?;
            ep.send_in_dialog(now, a, m)
        })
        .unwrap_err(),
        tandem_sip_core::DialogError::InviteInProgress
    );
    w.run_for(Duration::from_millis(100));
    let mut got = retries.borrow().clone();
    assert_eq!(got.len(), 2, "both sides got 491");
    got.sort_by_key(|(_, at, delay)| *at + *delay);
    for (node, _, delay) in &got {
        let ms = delay.as_millis();
        assert_eq!(ms % 10, 0, "10 ms units");
        if *node == uac {
            assert!(
                (2100..=4000).contains(&ms),
                "Call-ID owner waits 2.1-4 s: {ms}"
            );
        } else {
            assert!(ms <= 2000, "the other side waits 0-2 s: {ms}");
        }
    }
    assert_eq!(got[0].0, uas, "the callee retries first");
    for (node, at, delay) in got {
        let due = at + delay;
        let wait = due.saturating_duration_since(w.clock.now());
        w.run_for(wait);
        if w.clock.now() < due {
            w.clock.advance_to(due);
        }
        let d = if node == uac { a } else { b };
        reinvite(&mut w, node, d);
    }
    w.run_for(Duration::from_secs(1));
    assert_eq!(retries.borrow().len(), 2, "no second glare");
    // The crossing re-INVITEs were answered 491 by the endpoints (no TU saw them); each retry
    // reached the other TU and was answered 200 and ACKed.
    let (ua, ub) = (w.nodes[0].addr, w.nodes[1].addr);
    w.net.trace().assert_flow(
        ua,
        ub,
        &[
            "INVITE", "ACK", "INVITE", "491", "ACK", "100", "200", "INVITE", "ACK",
        ],
    );
    w.net.trace().assert_flow(
        ub,
        ua,
        &[
            "100", "200", "INVITE", "491", "ACK", "INVITE", "ACK", "100", "200",
        ],
    );
    assert_eq!(
        common::event_labels(&mut w, uas),
        [
            "request INVITE",
            "ack",
            "response 491",
            "response 100",
            "response 200",
            "request INVITE",
            "ack"
        ]
    );
    // Hang up and drain.
    w.command(uac, |ep, now| {
        let m = ep.dialog_request(a, &Method::Bye)?;
        ep.send_in_dialog(now, a, m)
    })
    .unwrap();
    common::assert_drained(&mut w, &[uac, uas]);
    assert_eq!(w.node(uac).endpoint.dialog_count(), 0);
    assert_eq!(w.node(uas).endpoint.dialog_count(), 0);
}

#[test]
fn reinvite_before_the_ack_of_our_2xx_gets_500_with_retry_after() {
    let (mut w, uac, uas) = common::pair(52, LinkConfig::default());
    w.set_script(uas, dialog_ua); // answers 200; the UAC's TU holds its ACK back
    let flow = w.flow(uac, uas);
    let invite = invite_b("early-reinvite", 1).unwrap();
    let tx = w
        .command(uac, |ep, now| ep.send_request(now, invite, flow))
        .unwrap();
    w.run_for(Duration::from_millis(60));
    let a = w.node(uac).endpoint.dialog_of_client_tx(tx).unwrap();
    reinvite(&mut w, uac, a);
    w.run_for(Duration::from_millis(60));
    let rejected = tandem_testkit::sip::sent(w.net.trace(), "500").remove(0);
    let retry = tandem_testkit::sip::header_values(&rejected, &HeaderName::RetryAfter);
    let secs: u32 = retry[0].parse().unwrap();
    assert!(secs <= 10, "§14.2: Retry-After 0-10 s");
    // The ACK arrives; the retry succeeds.
    w.command(uac, |ep, _| ep.ack_2xx(a, 1, None)).unwrap();
    w.run_for(Duration::from_millis(60));
    w.set_script(uac, dialog_ua);
    reinvite(&mut w, uac, a);
    w.run_for(Duration::from_millis(200));
    let (ua, ub) = (w.nodes[0].addr, w.nodes[1].addr);
    // No dedup here: INVITE, re-INVITE (before any ACK), the transaction's ACK of the 500,
    // the TU's ACK of the 2xx, the retried re-INVITE and its ACK.
    assert_eq!(
        w.net.trace().labels_between(ua, ub),
        ["INVITE", "INVITE", "ACK", "ACK", "INVITE", "ACK"],
        "{}",
        w.net.trace().ladder().join("\n")
    );
    w.net
        .trace()
        .assert_flow(ub, ua, &["100", "200", "500", "100", "200"]);
    let labels = common::event_labels(&mut w, uac);
    assert_eq!(
        labels,
        [
            "response 100",
            "response 200",
            "response 500",
            "response 100",
            "response 200"
        ]
    );
    w.command(uac, |ep, now| {
        let m = ep.dialog_request(a, &Method::Bye)?;
        ep.send_in_dialog(now, a, m)
    })
    .unwrap();
    common::assert_drained(&mut w, &[uac, uas]);
    assert_eq!(w.node(uac).endpoint.dialog_count(), 0);
    assert_eq!(w.node(uas).endpoint.dialog_count(), 0);
}
