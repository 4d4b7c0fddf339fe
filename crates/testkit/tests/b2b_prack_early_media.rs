//! Early media with reliable provisional responses, hop by hop (RFC 3262 §3-4): the
//! callee's reliable 183 carries the answer; Tandem PRACKs it on leg B (its own RAck) and
//! relays the 183 to the caller reliably, with its own `RSeq` and Tandem's `o=`; the
//! caller's PRACK is answered by Tandem. The 200 that follows carries no SDP to the caller
//! (the offer/answer is done, RFC 6337 §3.1). An unreliable 183 with SDP from a callee
//! without 100rel is made reliable toward the caller, and its 200, arriving before the
//! caller's PRACK, waits for it (§3). Also over 10% loss.
#![allow(clippy::unwrap_used)]

mod b2b_common;

use b2b_common::{
    A_OFFER, B_ANSWER, B2bWorld, CALLEE, CALLER, Callee, TANDEM, assert_same_but_origin,
    setup_full, setup_link, values, with_100rel,
};
use tandem_call::{CallEvent, CallState, EndCause, MediaFlowState};
use tandem_sip_core::{DialogState, Event};
use tandem_sip_msg::headers::{CSeq, RAck, RSeq};
use tandem_sip_msg::{HeaderName, Message, Method};
use tandem_testkit::{LinkConfig, NodeId};

const ALL: &[&str] = &[CALLER, TANDEM, CALLEE];

fn rseq(m: &Message) -> u32 {
    m.typed::<RSeq>().unwrap().unwrap().0
}

fn rack(m: &Message) -> RAck {
    m.typed::<RAck>().unwrap().unwrap()
}

/// The responses `status` to `method` sent from `from` to `to`.
fn responses(
    t: &mut B2bWorld,
    from: NodeId,
    to: NodeId,
    status: u16,
    method: Method,
) -> Vec<Message> {
    t.messages(from, to)
        .into_iter()
        .filter(|m| {
            m.status() == Some(status)
                && m.typed::<CSeq>()
                    .unwrap()
                    .is_some_and(|c| c.method == method)
        })
        .collect()
}

fn media(t: &B2bWorld) -> Vec<MediaFlowState> {
    t.events()
        .into_iter()
        .filter_map(|e| match e {
            CallEvent::MediaFlow { state, .. } => Some(state),
            _ => None,
        })
        .collect()
}

#[test]
fn a_reliable_183_with_sdp_is_relayed_reliably_and_each_leg_pracks() {
    let mut t = setup_full(4101, Callee::Silent, |_| {}, with_100rel(ALL));
    let (caller, tandem, callee) = (t.caller, t.tandem, t.callee);
    let invite = t.invite(Some(A_OFFER));
    t.run(200);
    let b_invite = t.first(tandem, callee, "INVITE");
    assert_eq!(values(&b_invite, &HeaderName::Supported), ["100rel"]);
    t.progress(183, Some(B_ANSWER), true);
    t.run(500);

    // Leg B: the callee's 183 is PRACKed by Tandem with the callee's RSeq, without a body.
    let b_183 = t.first(callee, tandem, "183");
    assert_eq!(values(&b_183, &HeaderName::Require), ["100rel"]);
    let b_prack = t.first(tandem, callee, "PRACK");
    let b_cseq = b_invite.typed::<CSeq>().unwrap().unwrap().seq;
    let r = rack(&b_prack);
    assert_eq!(
        (r.rseq, r.cseq, r.method),
        (rseq(&b_183), b_cseq, Method::Invite)
    );
    assert!(
        b_prack.body().is_empty(),
        "the 183 carried an answer, not an offer"
    );

    // Leg A: Tandem's own reliable 183, B's answer under Tandem's o=.
    let a_183 = t.first(tandem, caller, "183");
    assert_eq!(values(&a_183, &HeaderName::Require), ["100rel"]);
    assert!(a_183.value(&HeaderName::RSeq).is_some());
    let o_a = assert_same_but_origin(a_183.body(), B_ANSWER);
    let a_prack = t.first(caller, tandem, "PRACK");
    let r = rack(&a_prack);
    assert_eq!(
        (r.rseq, r.cseq, r.method),
        (rseq(&a_183), 1, Method::Invite)
    );
    assert_eq!(
        responses(&mut t, tandem, caller, 200, Method::Prack).len(),
        1
    );
    assert_eq!(
        responses(&mut t, callee, tandem, 200, Method::Prack).len(),
        1
    );
    // Exactly one 183 each way: every PRACK arrived in time.
    assert_eq!(t.times(tandem, caller, "183").len(), 1);
    assert_eq!(t.times(callee, tandem, "183").len(), 1);
    assert_eq!(
        media(&t),
        [MediaFlowState::Connecting, MediaFlowState::Connected]
    );

    // The callee answers without SDP (its answer went in the 183): so does Tandem.
    t.answer_with(None);
    t.run(300);
    let ok = responses(&mut t, tandem, caller, 200, Method::Invite);
    assert_eq!(ok.len(), 1);
    assert!(ok[0].body().is_empty(), "the answer is never sent twice");
    assert!(t.first(tandem, callee, "ACK").body().is_empty());
    assert!(t.first(caller, tandem, "ACK").body().is_empty());
    assert_eq!(
        t.states(),
        [CallState::Establishing, CallState::Established]
    );
    let d = t.caller_dialog(invite);
    assert_eq!(
        t.w.node(caller).endpoint.dialog_state(d),
        DialogState::Confirmed
    );
    // The caller's 183 came up once, with the answer it keeps.
    let got: Vec<_> =
        t.w.node(caller)
            .events
            .iter()
            .filter_map(|e| match e {
                (_, Event::Response { response, .. }) if response.status() == Some(183) => {
                    Some(response.clone())
                }
                _ => None,
            })
            .collect();
    assert_eq!(got.len(), 1);
    assert!(String::from_utf8_lossy(got[0].body()).contains(&o_a));

    t.caller_hangs_up(invite);
    t.run(300);
    assert_eq!(t.ended(), Some(EndCause::CallerHangUp));
    t.assert_drained();
}

#[test]
fn an_unreliable_183_with_sdp_goes_reliably_and_the_200_waits_for_the_prack() {
    // The callee does not do 100rel; the caller does.
    let mut t = setup_full(4102, Callee::Silent, |_| {}, with_100rel(&[CALLER, TANDEM]));
    let (caller, tandem, callee) = (t.caller, t.tandem, t.callee);
    let invite = t.invite(Some(A_OFFER));
    t.run(200);
    t.progress(183, Some(B_ANSWER), false);
    // The 200 (with the answer again, §13.2.1) right behind the 183: it reaches Tandem
    // before the caller's PRACK does.
    t.answer_with(Some(B_ANSWER));
    t.run(500);
    assert!(values(&t.first(callee, tandem, "183"), &HeaderName::Require).is_empty());
    assert!(
        t.messages(tandem, callee)
            .iter()
            .all(|m| m.method() != Some(Method::Prack))
    );
    let a_183 = t.first(tandem, caller, "183");
    assert_eq!(values(&a_183, &HeaderName::Require), ["100rel"]);
    assert_same_but_origin(a_183.body(), B_ANSWER);
    // §3: the 200 left for the caller only after its PRACK arrived.
    let prack_at = t.times(caller, tandem, "PRACK")[0];
    let ok: Vec<_> = responses(&mut t, tandem, caller, 200, Method::Invite);
    assert_eq!(ok.len(), 1);
    // (Both 200s, to the PRACK and to the INVITE, leave when the PRACK arrives.)
    let oks = t.times(tandem, caller, "200");
    assert_eq!(oks.len(), 2);
    for ok_at in oks {
        assert!(ok_at >= prack_at + std::time::Duration::from_millis(20));
    }
    assert!(
        ok[0].body().is_empty(),
        "the caller had the answer reliably already"
    );
    assert_eq!(
        t.states(),
        [CallState::Establishing, CallState::Established]
    );
    t.caller_hangs_up(invite);
    t.run(300);
    t.assert_drained();
}

fn lossy(seed: u64) {
    let link = LinkConfig::latency(std::time::Duration::from_millis(20)).with_loss(0.1);
    let mut t = setup_link(seed, link, Callee::Silent, |_| {}, with_100rel(ALL));
    let (caller, tandem, callee) = (t.caller, t.tandem, t.callee);
    let invite = t.invite(Some(A_OFFER));
    t.run(3000);
    t.progress(183, Some(B_ANSWER), true);
    t.run(10_000);
    t.answer_with(None);
    t.run(10_000);
    assert_eq!(
        t.states(),
        [CallState::Establishing, CallState::Established],
        "seed {seed}:\n{}",
        t.ladder()
    );
    // Every PRACK on either leg names its leg's own RSeq.
    let a_rseq = rseq(&t.first(tandem, caller, "183"));
    for p in t
        .messages(caller, tandem)
        .iter()
        .filter(|m| m.method() == Some(Method::Prack))
    {
        assert_eq!(rack(p).rseq, a_rseq, "seed {seed}");
    }
    let b_rseq = rseq(&t.first(callee, tandem, "183"));
    for p in t
        .messages(tandem, callee)
        .iter()
        .filter(|m| m.method() == Some(Method::Prack))
    {
        assert_eq!(rack(p).rseq, b_rseq, "seed {seed}");
        assert!(p.body().is_empty());
    }
    for ok in responses(&mut t, tandem, caller, 200, Method::Invite) {
        assert!(ok.body().is_empty(), "seed {seed}");
    }
    t.caller_hangs_up(invite);
    t.run(10_000);
    assert_eq!(t.ended(), Some(EndCause::CallerHangUp), "seed {seed}");
    t.assert_drained();
}

#[test]
fn early_media_with_prack_under_loss() {
    for seed in 0..5 {
        lossy(4110 + seed);
    }
}

#[test]
fn a_caller_requiring_100rel_gets_every_18x_reliably_one_at_a_time() {
    // The callee does not do 100rel: 180 and 183 (with SDP) come unreliably, back to back.
    let mut t = setup_full(4103, Callee::Silent, |_| {}, with_100rel(&[CALLER, TANDEM]));
    let (caller, tandem) = (t.caller, t.tandem);
    let invite = t.invite_with(Some(A_OFFER), &[(HeaderName::Require, "100rel")]);
    t.run(200);
    t.progress(180, None, false);
    t.progress(183, Some(B_ANSWER), false);
    t.run(500);
    // §3: the 183 waited for the PRACK of the 180; RSeq counts up by one.
    assert_eq!(
        t.labels(tandem, caller),
        ["100", "180", "200", "183", "200"]
    );
    assert_eq!(t.labels(caller, tandem), ["INVITE", "PRACK", "PRACK"]);
    let (r180, r183) = (
        t.first(tandem, caller, "180"),
        t.first(tandem, caller, "183"),
    );
    assert!(r180.body().is_empty());
    assert_eq!(values(&r180, &HeaderName::Require), ["100rel"]);
    assert_eq!(values(&r183, &HeaderName::Require), ["100rel"]);
    assert_eq!(rseq(&r183), rseq(&r180) + 1);
    assert_same_but_origin(r183.body(), B_ANSWER);
    let racks: Vec<u32> = t
        .messages(caller, tandem)
        .iter()
        .filter(|m| m.method() == Some(Method::Prack))
        .map(|m| rack(m).rseq)
        .collect();
    assert_eq!(racks, [rseq(&r180), rseq(&r183)]);
    t.answer_with(Some(B_ANSWER));
    t.run(300);
    let ok = responses(&mut t, tandem, caller, 200, Method::Invite);
    assert!(ok[0].body().is_empty());
    assert_eq!(
        t.states(),
        [CallState::Establishing, CallState::Established]
    );
    t.caller_hangs_up(invite);
    t.run(300);
    t.assert_drained();
}

#[test]
fn a_200_waits_for_an_answer_queued_behind_a_reliable_180() {
    // The callee answers reliably in its 183 and its 200 has no SDP; the caller requires
    // 100rel, so the 180 before went reliably and the 183 waits for its PRACK: the 200
    // waits too, or the caller would never get the answer.
    let mut t = setup_full(4104, Callee::Silent, |_| {}, with_100rel(ALL));
    let (caller, tandem) = (t.caller, t.tandem);
    // The caller is far (100 ms): its PRACK of the 180 comes after the 183 and the 200.
    let (c, tn) = (t.addr(caller), t.addr(tandem));
    let far = LinkConfig::latency(std::time::Duration::from_millis(100));
    t.w.net.set_link_both(c, tn, far);
    let invite = t.invite_with(Some(A_OFFER), &[(HeaderName::Require, "100rel")]);
    t.run(200);
    t.progress(180, None, true);
    t.run(45);
    t.progress(183, Some(B_ANSWER), true);
    t.run(45);
    t.answer_with(None);
    t.run(500);
    let labels: Vec<String> = t
        .labels(tandem, caller)
        .into_iter()
        .filter(|l| l != "200")
        .collect();
    assert_eq!(labels, ["100", "180", "183"]);
    let r183 = t.first(tandem, caller, "183");
    assert_same_but_origin(r183.body(), B_ANSWER);
    let ok = responses(&mut t, tandem, caller, 200, Method::Invite);
    assert_eq!(ok.len(), 1);
    assert!(ok[0].body().is_empty());
    let prack_183_at = t.times(caller, tandem, "PRACK")[1];
    let ok_at = *t.times(tandem, caller, "200").last().unwrap();
    assert!(ok_at > prack_183_at, "the 200 waited for the 183's PRACK");
    assert_eq!(
        t.states(),
        [CallState::Establishing, CallState::Established]
    );
    t.caller_hangs_up(invite);
    t.run(300);
    t.assert_drained();
}

#[test]
fn a_cancel_while_the_200_waits_for_the_prack_ends_leg_b_with_bye() {
    let mut t = setup_full(4105, Callee::Silent, |_| {}, with_100rel(&[CALLER, TANDEM]));
    let (caller, tandem, callee) = (t.caller, t.tandem, t.callee);
    let (c, tn) = (t.addr(caller), t.addr(tandem));
    let far = LinkConfig::latency(std::time::Duration::from_millis(100));
    t.w.net.set_link_both(c, tn, far);
    let invite = t.invite(Some(A_OFFER));
    t.run(300);
    // The callee (no 100rel) sends 183 with SDP and 200 at once; the 200 waits for the
    // caller's PRACK of Tandem's reliable 183, and the caller's CANCEL gets there first.
    t.progress(183, Some(B_ANSWER), false);
    t.answer_with(Some(B_ANSWER));
    t.run(20);
    t.w.command(caller, |ep, now| ep.cancel(now, invite))
        .unwrap();
    t.run(1000);
    assert_eq!(t.labels(tandem, callee), ["INVITE", "ACK", "BYE"]);
    assert!(responses(&mut t, tandem, caller, 200, Method::Invite).is_empty());
    assert_eq!(
        responses(&mut t, tandem, caller, 487, Method::Invite).len(),
        1
    );
    assert_eq!(t.ended(), Some(EndCause::Cancelled));
    t.assert_drained();
}
