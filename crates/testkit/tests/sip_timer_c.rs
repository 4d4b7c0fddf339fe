//! A ringing INVITE cannot live for ever: Timer C cancels it, and 64·T1 after a CANCEL the
//! transaction ends even if the peer never answers (RFC 3261 §9.1). Found by the
//! `sip_endpoint_ops` fuzzer (fuzz/regressions/sip_endpoint_ops-client-invite-proceeding-leak.bin).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use tandem_sip_core::Event;
use tandem_testkit::LinkConfig;

#[test]
fn timer_c_cancels_an_invite_that_rings_too_long() {
    let (mut w, uac, uas) = common::pair(21, LinkConfig::default());
    w.set_script(uas, common::ring_forever);
    common::send_invite(&mut w, uac, uas, "c21");
    w.run_for(Duration::from_secs(200));
    let (a, b) = (w.nodes[0].addr, w.nodes[1].addr);
    w.net
        .trace()
        .assert_flow(a, b, &["INVITE", "CANCEL", "ACK"]);
    let cancel_at = w
        .net
        .trace()
        .entries()
        .iter()
        .find(|e| e.label() == "CANCEL")
        .unwrap()
        .at;
    let t0 = w.net.trace().entries()[0].at;
    // Timer C (181 s) runs from the 180, which arrives 40 ms after the INVITE left.
    assert_eq!((cancel_at - t0).as_millis(), 181_040);
    assert_eq!(
        common::event_labels(&mut w, uac),
        ["response 100", "response 180", "response 487"]
    );
    common::assert_drained(&mut w, &[uac, uas]);
}

#[test]
fn an_invite_whose_cancel_is_ignored_ends_64_t1_later() {
    let (mut w, uac, uas) = common::pair(22, LinkConfig::default());
    w.set_script(uas, common::ring_forever);
    let invite = common::send_invite(&mut w, uac, uas, "c22");
    w.run_for(Duration::from_millis(100));
    // From now on nothing the UAC sends arrives: the CANCEL is never answered.
    let (a, b) = (w.nodes[0].addr, w.nodes[1].addr);
    w.net.set_link(a, b, LinkConfig::default().with_loss(1.0));
    let cancel = w.command(uac, |ep, now| ep.cancel(now, invite)).unwrap();
    // Asking again returns the CANCEL already in flight (fuzz/regressions/…-double-cancel.bin).
    assert_eq!(
        w.command(uac, |ep, now| ep.cancel(now, invite)).unwrap(),
        cancel
    );
    let t_cancel = w.clock.now();
    w.run_for(Duration::from_secs(40));
    let events = &w.node(uac).events;
    let timeouts: Vec<_> = events
        .iter()
        .filter(|(_, e)| matches!(e, Event::Timeout { .. }))
        .collect();
    assert_eq!(
        timeouts.len(),
        2,
        "the CANCEL (Timer F) and the INVITE (64·T1 guard) both time out"
    );
    assert!(
        timeouts
            .iter()
            .all(|(at, _)| (*at - t_cancel) == Duration::from_secs(32))
    );
    assert_eq!(
        w.node(uac).endpoint.transaction_counts().0,
        0,
        "nothing left on the UAC"
    );
}
