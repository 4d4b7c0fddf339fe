//! Scenario S1: the callee hangs up; Tandem answers its BYE and ends leg A with BYE and
//! `Reason` (RFC 3326).
#![allow(clippy::unwrap_used)]

mod b2b_common;

use b2b_common::{A_OFFER, B_ANSWER, Callee, setup, values};
use tandem_call::EndCause;
use tandem_sip_core::DialogState;
use tandem_sip_msg::{HeaderName, Method};

#[test]
fn bye_from_the_callee_ends_leg_a() {
    let mut t = setup(102, Callee::Rings);
    let invite = t.invite(Some(A_OFFER));
    t.run(200);
    t.answer(B_ANSWER);
    t.run(200);
    let (caller, tandem, callee) = (t.caller, t.tandem, t.callee);
    let d_a = t.caller_dialog(invite);
    let d_b = t.callee_dialog();
    t.send_in_dialog(callee, d_b, Method::Bye, None);
    t.run(200);
    assert_eq!(t.labels(callee, tandem), ["100", "180", "200", "BYE"]);
    assert_eq!(t.labels(tandem, callee), ["INVITE", "ACK", "200"]);
    assert_eq!(t.labels(tandem, caller), ["100", "180", "200", "BYE"]);
    assert_eq!(t.labels(caller, tandem), ["INVITE", "ACK", "200"]);
    let bye = t.first(tandem, caller, "BYE");
    assert_eq!(
        values(&bye, &HeaderName::Reason),
        ["SIP;cause=200;text=\"Callee hung up\""]
    );
    // Leg A's route set (the caller's Record-Route) is used on leg A only.
    assert_eq!(values(&bye, &HeaderName::Route), [b2b_common::A_RR]);
    assert_eq!(
        bye.request_line().unwrap().uri,
        "sip:alice@127.0.0.1:5061",
        "leg A's remote target"
    );
    assert_eq!(
        t.w.node(caller).endpoint.dialog_state(d_a),
        DialogState::Terminated
    );
    assert_eq!(t.ended(), Some(EndCause::CalleeHangUp));
    t.assert_drained();
}
