//! Scenario S1 with a late offer (RFC 3261 §13.2.1, RFC 3264 §5): an INVITE without SDP is
//! relayed without SDP; leg B's offer comes in its 200 and goes to leg A in the 200; the
//! answer comes in leg A's ACK and goes to leg B in its ACK. Same for a late-offer re-INVITE.
#![allow(clippy::unwrap_used)]

mod b2b_common;

use b2b_common::{A_OFFER, B_ANSWER, Callee, assert_same_but_origin, setup};
use tandem_call::EndCause;
use tandem_sip_msg::Method;

#[test]
fn late_offer_is_relayed_as_late_offer() {
    let mut t = setup(108, Callee::Rings);
    let invite = t.invite(None);
    t.run(200);
    let (caller, tandem, callee) = (t.caller, t.tandem, t.callee);
    let (_, b_invite) = t.callee_invite();
    assert!(b_invite.body().is_empty(), "no offer on leg B either");
    // The callee offers in its 200 (B_ANSWER is its offer here).
    t.answer(B_ANSWER);
    t.run(30);
    assert_eq!(
        t.labels(tandem, callee),
        ["INVITE"],
        "leg B's ACK waits for the answer from leg A"
    );
    t.run(200);
    let ok = t.first(tandem, caller, "200");
    assert_same_but_origin(ok.body(), B_ANSWER);
    // The caller's ACK carried its answer (A_OFFER); leg B's ACK carries it too.
    let ack_a = t.first(caller, tandem, "ACK");
    assert_eq!(ack_a.body(), A_OFFER.as_bytes());
    let ack_b = t.first(tandem, callee, "ACK");
    assert_same_but_origin(ack_b.body(), A_OFFER);
    assert_eq!(t.labels(tandem, callee), ["INVITE", "ACK"]);

    // A late-offer re-INVITE from the caller.
    let d_a = t.caller_dialog(invite);
    t.send_in_dialog(caller, d_a, Method::Invite, None);
    t.run(300);
    let b_reinvites: Vec<_> = t
        .messages(tandem, callee)
        .into_iter()
        .filter(|m| m.method() == Some(Method::Invite))
        .collect();
    assert_eq!(b_reinvites.len(), 2);
    assert!(b_reinvites[1].body().is_empty());
    let acks: Vec<_> = t
        .messages(tandem, callee)
        .into_iter()
        .filter(|m| m.method() == Some(Method::Ack))
        .collect();
    assert_eq!(acks.len(), 2);
    assert_same_but_origin(acks[1].body(), A_OFFER);

    t.send_in_dialog(caller, d_a, Method::Bye, None);
    t.run(200);
    assert_eq!(t.ended(), Some(EndCause::CallerHangUp));
    t.assert_drained();
}
