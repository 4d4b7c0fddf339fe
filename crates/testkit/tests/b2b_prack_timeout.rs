//! The caller never PRACKs Tandem's reliable 183 (its PRACKs are lost): after 64·T1 the
//! endpoint answers the caller's INVITE 500 (RFC 3262 §3) and reports it; the call ends as
//! a lost leg: leg B is cancelled, or, when its 200 was waiting for that PRACK, ACKed and
//! ended with BYE (RFC 3261 §13.2.2.4).
#![allow(clippy::unwrap_used)]

mod b2b_common;

use std::time::Duration;

use b2b_common::{A_OFFER, B_ANSWER, CALLEE, CALLER, Callee, TANDEM, setup_full, with_100rel};
use tandem_call::{CallEvent, CallState, EndCause, EndedBy, Leg};
use tandem_testkit::LinkConfig;

fn lose_callers_messages(t: &mut b2b_common::B2bWorld) {
    let (c, tn) = (t.addr(t.caller), t.addr(t.tandem));
    let link = LinkConfig::latency(Duration::from_millis(20)).with_loss(1.0);
    t.w.net.set_link(c, tn, link);
}

fn restore(t: &mut b2b_common::B2bWorld) {
    let (c, tn) = (t.addr(t.caller), t.addr(t.tandem));
    t.w.net
        .set_link(c, tn, LinkConfig::latency(Duration::from_millis(20)));
}

fn leg_a_lost(t: &b2b_common::B2bWorld) {
    let record = t
        .events()
        .into_iter()
        .find_map(|e| match e {
            CallEvent::Record(r) => Some(r),
            _ => None,
        })
        .unwrap();
    assert_eq!(record.cause, EndCause::LegLost);
    let a = record.legs.iter().find(|l| l.leg == Leg::A).unwrap();
    assert_eq!(a.ended_by, EndedBy::Lost);
    assert_eq!(a.final_status, Some(500));
}

#[test]
fn no_prack_from_the_caller_cancels_leg_b() {
    let all = &[CALLER, TANDEM, CALLEE];
    let mut t = setup_full(4401, Callee::Silent, |_| {}, with_100rel(all));
    let (caller, tandem, callee) = (t.caller, t.tandem, t.callee);
    t.invite(Some(A_OFFER));
    t.run(100);
    lose_callers_messages(&mut t);
    t.progress(183, Some(B_ANSWER), true);
    t.run(31_000);
    assert_eq!(t.states(), [CallState::Establishing]);
    t.run(2_000);
    // Tandem retransmitted its 183 (T1 doubling) and gave up with 500 after 64·T1.
    assert!(t.times(tandem, caller, "183").len() >= 6);
    assert!(!t.times(tandem, caller, "500").is_empty());
    assert!(
        t.labels(caller, tandem)
            .iter()
            .filter(|l| *l == "PRACK")
            .count()
            >= 1
    );
    assert_eq!(
        t.labels(tandem, callee),
        ["INVITE", "PRACK", "CANCEL", "ACK"]
    );
    assert_eq!(t.ended(), Some(EndCause::LegLost));
    assert_eq!(
        t.states(),
        [
            CallState::Establishing,
            CallState::Terminating,
            CallState::Terminated
        ]
    );
    leg_a_lost(&t);
    restore(&mut t);
    t.assert_drained();
}

#[test]
fn no_prack_from_the_caller_ends_a_waiting_leg_b_with_bye() {
    // The callee does not do 100rel: its 183 and 200 come at once; the 200 waits for the
    // caller's PRACK, which never comes.
    let mut t = setup_full(4402, Callee::Silent, |_| {}, with_100rel(&[CALLER, TANDEM]));
    let (caller, tandem, callee) = (t.caller, t.tandem, t.callee);
    t.invite(Some(A_OFFER));
    t.run(100);
    lose_callers_messages(&mut t);
    t.progress(183, Some(B_ANSWER), false);
    t.answer_with(Some(B_ANSWER));
    t.run(33_000);
    assert!(
        t.times(tandem, caller, "200").is_empty(),
        "no 200 before the PRACK"
    );
    assert!(!t.times(tandem, caller, "500").is_empty());
    assert_eq!(t.labels(tandem, callee), ["INVITE", "ACK", "BYE"]);
    assert_eq!(t.ended(), Some(EndCause::LegLost));
    leg_a_lost(&t);
    restore(&mut t);
    t.assert_drained();
}
