//! Scenario S1: the caller cancels while leg B rings (RFC 3261 §9): the endpoint answers
//! 200 to the CANCEL and 487 on leg A, Tandem cancels leg B, whose 487 ends the call. When
//! leg B has not answered anything yet, the CANCEL waits for its first provisional (§9.1).
#![allow(clippy::unwrap_used)]

mod b2b_common;

use b2b_common::{A_OFFER, Callee, setup};
use tandem_call::{CallState, EndCause};
use tandem_sip_core::ClientTxId;
use tandem_testkit::LinkConfig;

fn cancel(t: &mut b2b_common::B2bWorld, invite: ClientTxId) {
    t.w.command(t.caller, |ep, now| ep.cancel(now, invite))
        .unwrap();
}

#[test]
fn caller_cancels_while_ringing() {
    let mut t = setup(103, Callee::Rings);
    let invite = t.invite(Some(A_OFFER));
    t.run(200);
    cancel(&mut t, invite);
    t.run(300);
    let (caller, tandem, callee) = (t.caller, t.tandem, t.callee);
    assert_eq!(t.labels(caller, tandem), ["INVITE", "CANCEL", "ACK"]);
    assert_eq!(t.labels(tandem, caller), ["100", "180", "200", "487"]);
    assert_eq!(t.labels(tandem, callee), ["INVITE", "CANCEL", "ACK"]);
    assert_eq!(t.labels(callee, tandem), ["100", "180", "200", "487"]);
    assert_eq!(t.ended(), Some(EndCause::Cancelled));
    assert_eq!(
        t.states(),
        [
            CallState::Establishing,
            CallState::Terminating,
            CallState::Terminated
        ]
    );
    t.assert_drained();
}

#[test]
fn cancel_before_leg_b_answers_waits_for_its_provisional() {
    let mut t = setup(104, Callee::Silent);
    // Leg B is slow: its 100 comes 150 ms after the INVITE reached it.
    let (tandem_addr, callee_addr) = (t.addr(t.tandem), t.addr(t.callee));
    t.w.net.set_link(
        callee_addr,
        tandem_addr,
        LinkConfig::latency(std::time::Duration::from_millis(150)),
    );
    let invite = t.invite(Some(A_OFFER));
    t.run(50); // the caller has its 100; leg B's 100 is on its way
    cancel(&mut t, invite);
    t.run(40);
    let (tandem, callee) = (t.tandem, t.callee);
    assert_eq!(
        t.labels(tandem, callee),
        ["INVITE"],
        "no CANCEL before a provisional"
    );
    t.run(500);
    assert_eq!(t.labels(tandem, callee), ["INVITE", "CANCEL", "ACK"]);
    assert_eq!(t.labels(callee, tandem), ["100", "200", "487"]);
    assert_eq!(t.ended(), Some(EndCause::Cancelled));
    t.assert_drained();
}
