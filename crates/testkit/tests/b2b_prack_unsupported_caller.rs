//! A caller without 100rel, a callee sending reliable provisional responses (RFC 3262):
//! Tandem PRACKs leg B itself (§4) and relays each 18x to the caller unreliably. The answer
//! the caller got only in an unreliable 183 is repeated in its 200 (RFC 3261 §13.2.1) when
//! the callee's 200 has none. When the caller sent no offer, a callee's offer in a reliable
//! 183 cannot be answered before the 200 (the answer would come in the caller's ACK, and
//! the callee sends no 200 before the PRACK with the answer, §3, §5): the caller gets 421
//! with `Require: 100rel` (RFC 3261 §21.4.16) and leg B is cancelled.
#![allow(clippy::unwrap_used)]

mod b2b_common;

use b2b_common::{
    A_OFFER, B_ANSWER, CALLEE, Callee, TANDEM, assert_same_but_origin, setup_full, values,
    with_100rel,
};
use tandem_call::{CallState, EndCause};
use tandem_sip_msg::headers::{CSeq, RAck, RSeq};
use tandem_sip_msg::{HeaderName, Method};

#[test]
fn reliable_18x_reach_a_caller_without_100rel_unreliably() {
    let mut t = setup_full(4301, Callee::Silent, |_| {}, with_100rel(&[TANDEM, CALLEE]));
    let (caller, tandem, callee) = (t.caller, t.tandem, t.callee);
    let invite = t.invite(Some(A_OFFER));
    t.run(200);
    assert_eq!(
        values(&t.first(tandem, callee, "INVITE"), &HeaderName::Supported),
        ["100rel"]
    );
    t.progress(180, None, true);
    t.run(200);
    t.progress(183, Some(B_ANSWER), true);
    t.run(300);

    // Leg B: both PRACKed by Tandem, in order, each with its RSeq.
    let b_rseqs: Vec<u32> = t
        .messages(callee, tandem)
        .iter()
        .filter(|m| m.status().is_some_and(|s| s == 180 || s == 183))
        .map(|m| m.typed::<RSeq>().unwrap().unwrap().0)
        .collect();
    let racks: Vec<u32> = t
        .messages(tandem, callee)
        .iter()
        .filter(|m| m.method() == Some(Method::Prack))
        .map(|m| m.typed::<RAck>().unwrap().unwrap().rseq)
        .collect();
    assert_eq!(b_rseqs.len(), 2);
    assert_eq!(racks, b_rseqs);
    assert_eq!(b_rseqs[1], b_rseqs[0] + 1);

    // Leg A: plain 180 and 183, the latter with the answer under Tandem's o=.
    assert_eq!(t.labels(tandem, caller), ["100", "180", "183"]);
    for m in t.messages(tandem, caller) {
        assert!(values(&m, &HeaderName::Require).is_empty());
        assert!(m.value(&HeaderName::RSeq).is_none());
    }
    assert!(
        t.messages(caller, tandem)
            .iter()
            .all(|m| m.method() != Some(Method::Prack))
    );
    let a_183 = t.first(tandem, caller, "183");
    assert_same_but_origin(a_183.body(), B_ANSWER);

    // The callee's 200 has no SDP (its answer was reliable): the caller's 200 repeats the
    // one of the 183, byte for byte (same o= version: the same description).
    t.answer_with(None);
    t.run(300);
    let ok = t.first(tandem, caller, "200");
    assert_eq!(ok.typed::<CSeq>().unwrap().unwrap().method, Method::Invite);
    assert_eq!(ok.body(), a_183.body());
    assert!(t.first(tandem, callee, "ACK").body().is_empty());
    assert_eq!(
        t.states(),
        [CallState::Establishing, CallState::Established]
    );
    t.caller_hangs_up(invite);
    t.run(300);
    assert_eq!(t.ended(), Some(EndCause::CallerHangUp));
    t.assert_drained();
}

#[test]
fn an_offer_in_a_reliable_183_gets_421_for_a_late_offer_caller_without_100rel() {
    let mut t = setup_full(4302, Callee::Silent, |_| {}, with_100rel(&[TANDEM, CALLEE]));
    let (caller, tandem, callee) = (t.caller, t.tandem, t.callee);
    t.invite(None);
    t.run(200);
    t.progress(183, Some(B_ANSWER), true);
    t.run(500);
    // No PRACK with a made-up answer on leg B: it is cancelled.
    assert!(
        t.messages(tandem, callee)
            .iter()
            .all(|m| m.method() != Some(Method::Prack))
    );
    assert_eq!(t.labels(tandem, callee), ["INVITE", "CANCEL", "ACK"]);
    let r487 = t.first(callee, tandem, "487");
    assert_eq!(
        r487.typed::<CSeq>().unwrap().unwrap().method,
        Method::Invite
    );
    // The caller is asked for 100rel, and never saw the offer.
    assert_eq!(t.labels(tandem, caller), ["100", "421"]);
    let r421 = t.first(tandem, caller, "421");
    assert_eq!(values(&r421, &HeaderName::Require), ["100rel"]);
    assert!(matches!(t.ended(), Some(EndCause::Failed(_))));
    t.assert_drained();
}
