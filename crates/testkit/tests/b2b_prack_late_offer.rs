//! A late offer answered in the early dialogs (RFC 3262 §5, RFC 6337 §2.1): the caller's
//! INVITE has no SDP, so neither has leg B's; the callee's reliable 183 carries the offer.
//! Tandem's endpoint holds leg B's PRACK; the 183 goes to the caller reliably with the
//! offer under Tandem's `o=`; the caller's PRACK carries the answer, which reaches the
//! callee in Tandem's PRACK under Tandem's other `o=`. The 200s then carry no SDP, and the
//! ACKs neither: one offer, one answer per leg.
#![allow(clippy::unwrap_used)]

mod b2b_common;

use b2b_common::{
    A_OFFER, B_ANSWER, CALLEE, CALLER, Callee, TANDEM, assert_same_but_origin, setup_full, values,
    with_100rel,
};
use bytes::Bytes;
use tandem_call::{CallEvent, CallState, EndCause, MediaFlowState};
use tandem_sip_core::Event;
use tandem_sip_msg::headers::{CSeq, RAck, RSeq};
use tandem_sip_msg::{HeaderName, Method};

/// The callee's offer (in its 183) and the caller's answer (in its PRACK).
const B_OFFER: &str = B_ANSWER;
const A_ANSWER: &str = A_OFFER;

/// The caller: answers an offer in a reliable 183 in its PRACK, and ACKs 2xx (without
/// SDP: none may come).
fn caller_script(ep: &mut tandem_sip_core::Endpoint, now: std::time::Instant, e: &Event) {
    let Event::Response { response, .. } = e else {
        return;
    };
    let Some(d) = ep.dialog_of_response(response) else {
        return;
    };
    if response.status() == Some(183) && ep.prack_awaits_answer(d) {
        let answer = Bytes::from_static(A_ANSWER.as_bytes());
        ep.prack_with_answer(now, d, "application/sdp", answer)
            .unwrap();
    }
    if response.status() == Some(200)
        && let Some(c) = response.typed::<CSeq>().unwrap()
        && c.method == Method::Invite
    {
        assert!(response.body().is_empty(), "no new offer in the 200");
        ep.ack_2xx(d, c.seq, None).unwrap();
    }
}

#[test]
fn the_callers_prack_answers_the_callees_offer_in_a_reliable_183() {
    let mut t = setup_full(
        4201,
        Callee::Silent,
        |_| {},
        with_100rel(&[CALLER, TANDEM, CALLEE]),
    );
    let (caller, tandem, callee) = (t.caller, t.tandem, t.callee);
    t.w.set_script(caller, caller_script);
    let invite = t.invite(None);
    t.run(200);
    let b_invite = t.first(tandem, callee, "INVITE");
    assert!(b_invite.body().is_empty(), "late offer on leg B too");
    t.progress(183, Some(B_OFFER), true);
    t.run(500);

    // Leg A: the offer, reliably, under Tandem's o=.
    let a_183 = t.first(tandem, caller, "183");
    assert_eq!(values(&a_183, &HeaderName::Require), ["100rel"]);
    let o_a = assert_same_but_origin(a_183.body(), B_OFFER);
    let a_prack = t.first(caller, tandem, "PRACK");
    let r = a_prack.typed::<RAck>().unwrap().unwrap();
    assert_eq!(r.rseq, a_183.typed::<RSeq>().unwrap().unwrap().0);
    assert_eq!(a_prack.body(), A_ANSWER.as_bytes());

    // Leg B: Tandem's PRACK carries the caller's answer under Tandem's leg-B o=.
    let b_183 = t.first(callee, tandem, "183");
    let b_prack = t.first(tandem, callee, "PRACK");
    let r = b_prack.typed::<RAck>().unwrap().unwrap();
    assert_eq!(r.rseq, b_183.typed::<RSeq>().unwrap().unwrap().0);
    assert_eq!(
        values(&b_prack, &HeaderName::ContentType),
        ["application/sdp"]
    );
    let o_b = assert_same_but_origin(b_prack.body(), A_ANSWER);
    assert_ne!(o_a, o_b, "one origin per leg");
    // Exactly one PRACK per leg, sent after the caller's arrived.
    assert_eq!(t.times(tandem, callee, "PRACK").len(), 1);
    assert!(t.times(tandem, callee, "PRACK")[0] >= t.times(caller, tandem, "PRACK")[0]);
    let media: Vec<MediaFlowState> = t
        .events()
        .into_iter()
        .filter_map(|e| match e {
            CallEvent::MediaFlow { state, .. } => Some(state),
            _ => None,
        })
        .collect();
    assert_eq!(
        media,
        [MediaFlowState::Connecting, MediaFlowState::Connected]
    );

    // The callee answers without SDP; nobody sends any more SDP.
    t.answer_with(None);
    t.run(300);
    assert_eq!(
        t.states(),
        [CallState::Establishing, CallState::Established]
    );
    for m in t.messages(tandem, caller) {
        if m.status() == Some(200) || m.method() == Some(Method::Ack) {
            assert!(m.body().is_empty(), "{m:?}");
        }
    }
    assert!(t.first(tandem, callee, "ACK").body().is_empty());
    let sdp_to_b = t
        .messages(tandem, callee)
        .iter()
        .filter(|m| !m.body().is_empty())
        .count();
    assert_eq!(sdp_to_b, 1, "only the PRACK carried SDP to the callee");

    t.caller_hangs_up(invite);
    t.run(300);
    assert_eq!(t.ended(), Some(EndCause::CallerHangUp));
    t.assert_drained();
}

#[test]
fn a_caller_requiring_100rel_answers_after_a_reliable_180() {
    let mut t = setup_full(
        4202,
        Callee::Silent,
        |_| {},
        with_100rel(&[CALLER, TANDEM, CALLEE]),
    );
    let (caller, tandem, callee) = (t.caller, t.tandem, t.callee);
    t.w.set_script(caller, caller_script);
    let invite = t.invite_with(None, &[(HeaderName::Require, "100rel")]);
    t.run(200);
    t.progress(180, None, true);
    t.run(100);
    t.progress(183, Some(B_OFFER), true);
    t.run(500);
    // Leg A: 180 then 183, both reliable; only the 183's PRACK carries the answer.
    let pracks: Vec<_> = t
        .messages(caller, tandem)
        .into_iter()
        .filter(|m| m.method() == Some(Method::Prack))
        .collect();
    assert_eq!(pracks.len(), 2);
    assert!(pracks[0].body().is_empty());
    assert_eq!(pracks[1].body(), A_ANSWER.as_bytes());
    assert!(t.first(tandem, caller, "180").body().is_empty());
    assert_same_but_origin(t.first(tandem, caller, "183").body(), B_OFFER);
    // Leg B: the 180's PRACK by the endpoint, the 183's with the caller's answer.
    let b_pracks: Vec<_> = t
        .messages(tandem, callee)
        .into_iter()
        .filter(|m| m.method() == Some(Method::Prack))
        .collect();
    assert_eq!(b_pracks.len(), 2);
    assert!(b_pracks[0].body().is_empty());
    assert_same_but_origin(b_pracks[1].body(), A_ANSWER);
    t.answer_with(None);
    t.run(300);
    assert_eq!(
        t.states(),
        [CallState::Establishing, CallState::Established]
    );
    t.caller_hangs_up(invite);
    t.run(300);
    t.assert_drained();
}

#[test]
fn a_prack_without_the_answer_fails_the_call() {
    let mut t = setup_full(
        4203,
        Callee::Silent,
        |_| {},
        with_100rel(&[CALLER, TANDEM, CALLEE]),
    );
    let (caller, tandem, callee) = (t.caller, t.tandem, t.callee);
    // A broken caller: it PRACKs the offer in the 183 without an answer (RFC 3262 §5 says
    // the PRACK must carry it).
    t.w.set_script(caller, |ep, now, e| {
        let Event::Response { response, .. } = e else {
            return;
        };
        if response.status() != Some(183) {
            return;
        }
        let d = ep.dialog_of_response(response).unwrap();
        let rseq = response.typed::<RSeq>().unwrap().unwrap().0;
        let mut prack = ep.dialog_request(d, &Method::Prack).unwrap();
        prack
            .push_header(&HeaderName::RAck, &format!("{rseq} 1 INVITE"))
            .unwrap();
        ep.send_in_dialog(now, d, prack).unwrap();
    });
    t.invite(None);
    t.run(200);
    t.progress(183, Some(B_OFFER), true);
    t.run(500);
    // The caller's PRACK gets 200 (§3) and its INVITE 488; leg B is cancelled, never
    // PRACKed with a made-up answer.
    assert_eq!(t.labels(tandem, caller), ["100", "183", "200", "488"]);
    assert!(
        t.messages(tandem, callee)
            .iter()
            .all(|m| m.method() != Some(Method::Prack))
    );
    assert_eq!(t.labels(tandem, callee), ["INVITE", "CANCEL", "ACK"]);
    assert!(matches!(t.ended(), Some(EndCause::Failed(_))));
    t.assert_drained();
}
