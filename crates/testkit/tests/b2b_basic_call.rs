//! Scenario S1, the basic back-to-back call: the caller's INVITE becomes leg B's INVITE
//! (new dialog, same offer but Tandem's `o=`), 180 and 200 come back, both legs are ACKed,
//! and the caller's BYE ends leg B with `Reason` (RFC 3326).
#![allow(clippy::unwrap_used)]

mod b2b_common;

use b2b_common::{A_OFFER, B_ANSWER, Callee, assert_same_but_origin, setup, values};
use tandem_call::{CallState, EndCause};
use tandem_sip_core::DialogState;
use tandem_sip_msg::headers::MaxForwards;
use tandem_sip_msg::{HeaderName, Method};

#[test]
fn basic_call_bye_from_caller() {
    let mut t = setup(101, Callee::Rings);
    let invite = t.invite(Some(A_OFFER));
    t.run(200);
    assert_eq!(t.b2b.borrow().calls(), 1);
    t.answer(B_ANSWER);
    t.run(200);
    let (caller, tandem, callee) = (t.caller, t.tandem, t.callee);
    t.assert_flow(caller, tandem, &["INVITE", "ACK"]);
    t.assert_flow(tandem, caller, &["100", "180", "200"]);
    t.assert_flow(tandem, callee, &["INVITE", "ACK"]);
    t.assert_flow(callee, tandem, &["100", "180", "200"]);
    assert_eq!(
        t.states(),
        [CallState::Establishing, CallState::Established]
    );

    // Leg B's INVITE: the same offer but for the o= line; allow-listed and extra headers.
    let b_invite = t.first(tandem, callee, "INVITE");
    let o_b = assert_same_but_origin(b_invite.body(), A_OFFER);
    assert!(o_b.ends_with(" 1 IN IP4 127.0.0.3"), "{o_b}");
    assert_eq!(values(&b_invite, &HeaderName::Subject), ["Order 42"]);
    assert_eq!(values(&b_invite, &HeaderName::new("X-Queue")), ["sales"]);
    assert!(values(&b_invite, &HeaderName::new("X-Caller-Secret")).is_empty());
    assert_eq!(
        b_invite.typed::<MaxForwards>().unwrap(),
        Some(MaxForwards(69))
    );
    assert_eq!(
        values(&b_invite, &HeaderName::Contact),
        ["<sip:127.0.0.3:5060>"]
    );
    assert_eq!(
        b_invite.request_line().unwrap().uri,
        "sip:bob@127.0.0.2:5062"
    );

    // Leg A's 180 and 200: B's answer under Tandem's o=, which differs from leg B's.
    let ok = t.first(tandem, caller, "200");
    let o_a = assert_same_but_origin(ok.body(), B_ANSWER);
    assert_ne!(o_a, o_b, "one origin per leg");
    assert!(values(&ok, &HeaderName::new("X-Callee-Secret")).is_empty());
    assert_eq!(values(&ok, &HeaderName::Contact), ["<sip:127.0.0.3:5060>"]);
    let d_a = t.caller_dialog(invite);
    let d_b = t.callee_dialog();
    assert_eq!(
        t.w.node(caller).endpoint.dialog_state(d_a),
        DialogState::Confirmed
    );

    // The caller hangs up: 200 to it, BYE with Reason to the callee.
    t.send_in_dialog(caller, d_a, Method::Bye, None);
    t.run(200);
    // (Exact labels: this network neither loses nor duplicates.)
    assert_eq!(t.labels(caller, tandem), ["INVITE", "ACK", "BYE"]);
    assert_eq!(t.labels(tandem, caller), ["100", "180", "200", "200"]);
    assert_eq!(t.labels(tandem, callee), ["INVITE", "ACK", "BYE"]);
    assert_eq!(t.labels(callee, tandem), ["100", "180", "200", "200"]);
    let bye = t.first(tandem, callee, "BYE");
    assert_eq!(
        values(&bye, &HeaderName::Reason),
        ["SIP;cause=200;text=\"Caller hung up\""]
    );
    assert_eq!(
        t.w.node(callee).endpoint.dialog_state(d_b),
        DialogState::Terminated
    );
    assert_eq!(t.ended(), Some(EndCause::CallerHangUp));
    assert_eq!(
        t.states(),
        [
            CallState::Establishing,
            CallState::Established,
            CallState::Terminating,
            CallState::Terminated
        ]
    );
    assert_eq!(t.b2b.borrow().calls(), 0);
    t.assert_drained();
}
