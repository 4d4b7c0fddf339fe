//! The media-flow hint (`CallEvent::MediaFlow`, `B2bua::media_flow`), as UCMA's: derived
//! from the offer/answer exchange (RFC 3264) Tandem relays: `Connecting` once an offer
//! crossed to the other leg, `Connected` once its answer reached the offerer.
#![allow(clippy::unwrap_used)]

mod b2b_common;

use b2b_common::{A_OFFER, B_ANSWER, B2bWorld, Callee, setup};
use bytes::Bytes;
use tandem_call::{CallEvent, CallState, MediaFlowState};

/// The call's state and media events, in order.
fn story(t: &B2bWorld) -> Vec<String> {
    t.events()
        .iter()
        .filter_map(|e| match e {
            CallEvent::StateChanged { state, .. } => Some(format!("{state:?}")),
            CallEvent::MediaFlow { state, .. } => Some(format!("media {state:?}")),
            _ => None,
        })
        .collect()
}

fn media(t: &B2bWorld) -> Option<MediaFlowState> {
    let b2b = t.b2b.borrow();
    b2b.media_flow(b2b.call_ids()[0])
}

#[test]
fn early_offer_connects_with_the_answer() {
    let mut t = setup(181, Callee::Rings);
    t.invite(Some(A_OFFER));
    t.run(200);
    assert_eq!(story(&t), ["Establishing", "media Connecting"]);
    assert_eq!(media(&t), Some(MediaFlowState::Connecting));
    t.answer(B_ANSWER);
    t.run(200);
    assert_eq!(
        story(&t),
        [
            "Establishing",
            "media Connecting",
            "media Connected",
            "Established"
        ]
    );
    assert_eq!(media(&t), Some(MediaFlowState::Connected));
}

#[test]
fn early_media_connects_before_the_answer() {
    let mut t = setup(182, Callee::Silent);
    t.invite(Some(A_OFFER));
    t.run(200);
    let (tx, _) = t.callee_invite();
    t.w.command(t.callee, |ep, now| {
        let mut r = ep.make_response(tx, 183, "Session Progress").unwrap();
        r.set_body(
            Some("application/sdp"),
            Bytes::from_static(B_ANSWER.as_bytes()),
        )
        .unwrap();
        ep.respond(now, tx, r).unwrap();
    });
    t.run(200);
    let (caller, tandem) = (t.caller, t.tandem);
    assert_eq!(t.labels(tandem, caller), ["100", "183"]);
    assert!(!t.first(tandem, caller, "183").body().is_empty());
    assert_eq!(
        story(&t),
        ["Establishing", "media Connecting", "media Connected"]
    );
    assert_eq!(t.states(), [CallState::Establishing]);
}

#[test]
fn late_offer_connects_with_the_answer_in_the_ack() {
    let mut t = setup(183, Callee::Rings);
    t.invite(None);
    t.run(200);
    assert_eq!(story(&t), ["Establishing"]);
    assert_eq!(media(&t), None, "no offer yet");
    t.answer(B_ANSWER); // the callee's offer
    t.run(25);
    // The 200 (offer) reached Tandem and went on to the caller; the ACK is on its way.
    assert_eq!(media(&t), Some(MediaFlowState::Connecting));
    t.run(200);
    assert_eq!(
        story(&t),
        [
            "Establishing",
            "media Connecting",
            "Established",
            "media Connected"
        ]
    );
}
