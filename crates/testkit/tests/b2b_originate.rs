//! Originate (`B2bua::originate`, REST `POST /v1/calls`, click-to-call), RFC 3725 Flow I:
//! Tandem INVITEs the first party without SDP; its 200 carries the offer, which goes to
//! the second party in a new INVITE (Tandem's `o=`); the second party's 200 is ACKed and
//! its answer reaches the first party in the ACK. Then it is an ordinary back-to-back
//! call: in-dialog requests are relayed, a BYE on one side ends the other.
#![allow(clippy::unwrap_used)]

mod b2b_common;

use b2b_common::{
    A_HOLD, A_OFFER, B_ANSWER, Callee, assert_same_but_origin, setup_originate, values,
};
use tandem_call::{CallEvent, CallKind, CallState, EndCause, EndedBy, MediaFlowState};
use tandem_sip_msg::headers::CallId;
use tandem_sip_msg::{HeaderName, Method};

#[test]
fn click_to_call_flow_i() {
    let mut t = setup_originate(191, Callee::Rings, Callee::Rings);
    let call = t.originate(|_, _| {}).unwrap();
    t.run(200);
    let (first, tandem, second) = (t.caller, t.tandem, t.callee);
    assert_eq!(t.labels(tandem, first), ["INVITE"]);
    assert_eq!(t.labels(first, tandem), ["100", "180"]);
    assert!(t.labels(tandem, second).is_empty(), "the second waits");
    let invite_a = t.first(tandem, first, "INVITE");
    assert!(
        invite_a.body().is_empty(),
        "Flow I: no offer to the first party"
    );
    assert_eq!(
        values(&invite_a, &HeaderName::From)[0].split(';').next(),
        Some("<sip:bob@127.0.0.2:5062>"),
        "the first party sees whom it will talk to"
    );
    assert_eq!(
        invite_a.request_line().unwrap().uri,
        "sip:alice@127.0.0.1:5061"
    );

    // The first party answers with its offer: it goes to the second party.
    t.answer_on(first, A_OFFER);
    t.run(200);
    assert_eq!(t.labels(first, tandem), ["100", "180", "200"]);
    assert_eq!(
        t.labels(tandem, first),
        ["INVITE"],
        "its ACK waits for the answer"
    );
    assert_eq!(t.labels(tandem, second), ["INVITE"]);
    let invite_b = t.first(tandem, second, "INVITE");
    let o_b = assert_same_but_origin(invite_b.body(), A_OFFER);
    assert_eq!(
        values(&invite_b, &HeaderName::From)[0].split(';').next(),
        Some("<sip:alice@127.0.0.1:5061>")
    );
    assert_eq!(values(&invite_b, &HeaderName::new("X-Queue")), ["sales"]);
    let ids: Vec<String> = [&invite_a, &invite_b]
        .iter()
        .map(|m| m.typed::<CallId<'_>>().unwrap().unwrap().0.to_owned())
        .collect();
    assert_ne!(ids[0], ids[1], "one Call-ID per leg");
    assert_eq!(
        t.b2b.borrow().media_flow(call),
        Some(MediaFlowState::Connecting)
    );

    // The second party answers: both 2xx are ACKed, the first with the answer.
    t.answer_on(second, B_ANSWER);
    t.run(200);
    assert_eq!(t.labels(tandem, second), ["INVITE", "ACK"]);
    assert_eq!(t.labels(tandem, first), ["INVITE", "ACK"]);
    let ack_a = t.first(tandem, first, "ACK");
    let o_a = assert_same_but_origin(ack_a.body(), B_ANSWER);
    assert_ne!(o_a, o_b, "one origin per leg");
    assert!(t.first(tandem, second, "ACK").body().is_empty());
    assert_eq!(
        t.states(),
        [CallState::Establishing, CallState::Established]
    );
    assert_eq!(
        t.b2b.borrow().media_flow(call),
        Some(MediaFlowState::Connected)
    );
    let info = t.b2b.borrow().info(call).unwrap();
    assert_eq!(info.kind, CallKind::Originated);
    assert_eq!(info.legs.len(), 2);
    assert_eq!(info.legs[0].sip_call_id, ids[0]);
    assert_eq!(info.legs[1].sip_call_id, ids[1]);

    // An ordinary call now: the first party holds (re-INVITE relayed), then hangs up.
    let d_first = t.uas_dialog(first);
    t.send_in_dialog(first, d_first, Method::Invite, Some(A_HOLD));
    t.run(300);
    assert_eq!(t.labels(tandem, second), ["INVITE", "ACK", "INVITE", "ACK"]);
    let hold = &t.messages(tandem, second)[2];
    assert_same_but_origin(hold.body(), A_HOLD);
    t.send_in_dialog(first, d_first, Method::Bye, None);
    t.run(200);
    assert_eq!(
        t.labels(tandem, second),
        ["INVITE", "ACK", "INVITE", "ACK", "BYE"]
    );
    assert_eq!(
        values(&t.first(tandem, second, "BYE"), &HeaderName::Reason),
        ["SIP;cause=200;text=\"Caller hung up\""]
    );
    assert_eq!(t.ended(), Some(EndCause::CallerHangUp));
    let record = t
        .events()
        .into_iter()
        .find_map(|e| match e {
            CallEvent::Record(r) => Some(r),
            _ => None,
        })
        .unwrap();
    assert_eq!(record.kind, CallKind::Originated);
    assert_eq!(record.legs[0].final_status, Some(200));
    assert_eq!(record.legs[0].ended_by, EndedBy::Remote);
    assert_eq!(record.legs[1].ended_by, EndedBy::Local);
    assert_eq!(record.legs[1].to, "<sip:bob@127.0.0.2:5062>");
    t.assert_drained();
}

#[test]
fn second_party_hangs_up() {
    let mut t = setup_originate(192, Callee::Rings, Callee::Rings);
    t.originate(|_, _| {}).unwrap();
    t.run(200);
    let (first, tandem, second) = (t.caller, t.tandem, t.callee);
    t.answer_on(first, A_OFFER);
    t.run(200);
    t.answer_on(second, B_ANSWER);
    t.run(200);
    let d = t.uas_dialog(second);
    t.send_in_dialog(second, d, Method::Bye, None);
    t.run(200);
    assert_eq!(t.labels(tandem, first), ["INVITE", "ACK", "BYE"]);
    assert_eq!(t.ended(), Some(EndCause::CalleeHangUp));
    t.assert_drained();
}

#[test]
fn shorter_maximum_duration_of_the_two_legs_applies() {
    let mut t = setup_originate(193, Callee::Rings, Callee::Rings);
    t.originate(|first, second| {
        first.max_duration = Some(std::time::Duration::from_secs(60));
        second.max_duration = Some(std::time::Duration::from_secs(30));
    })
    .unwrap();
    t.run(200);
    let (first, tandem, second) = (t.caller, t.tandem, t.callee);
    t.answer_on(first, A_OFFER);
    t.run(200);
    t.answer_on(second, B_ANSWER);
    t.run(200);
    let up = t.times(tandem, first, "ACK")[0];
    t.run(31_000);
    let bye = t.times(tandem, first, "BYE")[0];
    assert!(
        bye - up <= std::time::Duration::from_secs(30),
        "{:?}",
        bye - up
    );
    assert_eq!(t.labels(tandem, second), ["INVITE", "ACK", "BYE"]);
    assert_eq!(t.ended(), Some(EndCause::MaxDuration));
    t.assert_drained();
}
