//! Scenario S1 with a ring timeout on leg B (`CallSettings::ring_timeout`): the callee rings
//! and never answers; after 5 s Tandem cancels leg B (RFC 3261 §9.1), answers the caller
//! 480 Temporarily Unavailable, and the call ends with `EndCause::RingTimeout`.
#![allow(clippy::unwrap_used)]

mod b2b_common;

use std::time::Duration;

use b2b_common::{A_OFFER, Callee, setup_with};
use tandem_call::{CallState, EndCause};

#[test]
fn unanswered_leg_b_is_cancelled_after_the_ring_timeout() {
    let mut t = setup_with(131, Callee::Rings, |s| {
        s.ring_timeout = Some(Duration::from_secs(5));
    });
    t.invite(Some(A_OFFER));
    let (caller, tandem, callee) = (t.caller, t.tandem, t.callee);
    t.run(4_900);
    assert_eq!(t.labels(tandem, callee), ["INVITE"], "not yet");
    assert_eq!(
        t.b2b.borrow().state(t.b2b.borrow().call_ids()[0]),
        CallState::Establishing
    );
    t.run(600);
    assert_eq!(t.labels(tandem, callee), ["INVITE", "CANCEL", "ACK"]);
    assert_eq!(t.labels(callee, tandem), ["100", "180", "200", "487"]);
    assert_eq!(t.labels(tandem, caller), ["100", "180", "480"]);
    assert_eq!(t.labels(caller, tandem), ["INVITE", "ACK"]);
    let invite = t.times(tandem, callee, "INVITE")[0];
    let cancel = t.times(tandem, callee, "CANCEL")[0];
    assert_eq!(cancel - invite, Duration::from_secs(5));
    assert_eq!(
        t.first(tandem, caller, "480")
            .status_line()
            .unwrap()
            .reason_str(),
        Some("Temporarily Unavailable")
    );
    assert_eq!(t.ended(), Some(EndCause::RingTimeout));
    assert_eq!(
        t.states(),
        [
            CallState::Establishing,
            CallState::Terminating,
            CallState::Terminated
        ]
    );
    t.assert_drained();
    assert_eq!(t.b2b.borrow().poll_timeout(), None, "no timer left");
}

#[test]
fn answered_call_disarms_the_ring_timeout() {
    let mut t = setup_with(132, Callee::Rings, |s| {
        s.ring_timeout = Some(Duration::from_secs(5));
    });
    t.invite(Some(A_OFFER));
    t.run(1_000);
    assert!(t.b2b.borrow().poll_timeout().is_some());
    t.answer(b2b_common::B_ANSWER);
    t.run(200);
    assert_eq!(t.b2b.borrow().poll_timeout(), None);
    t.run(10_000);
    let (tandem, callee) = (t.tandem, t.callee);
    assert_eq!(t.labels(tandem, callee), ["INVITE", "ACK"]);
    assert_eq!(
        t.states(),
        [CallState::Establishing, CallState::Established]
    );
}
