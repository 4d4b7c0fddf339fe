//! Originate when a party fails (RFC 3725 Flow I): the first party busy ends the call with
//! no second leg; the second party busy, or ringing past its ring timeout, gets the first
//! party's 2xx ACKed with an answer rejecting every stream (`m=` port 0, RFC 3264 §6)
//! followed by BYE with the reason.
#![allow(clippy::unwrap_used)]

mod b2b_common;

use std::time::Duration;

use b2b_common::{A_OFFER, B2bWorld, Callee, setup_originate, values};
use tandem_call::{CallEvent, CallState, EndCause, Reason};
use tandem_sip_msg::HeaderName;

/// Asserts that the first party's ACK rejects every stream of [`A_OFFER`] and that BYE
/// follows with `reason`.
#[track_caller]
fn assert_rejected_then_bye(t: &mut B2bWorld, reason: &str) {
    let (first, tandem) = (t.caller, t.tandem);
    assert_eq!(t.labels(tandem, first), ["INVITE", "ACK", "BYE"]);
    let ack = t.first(tandem, first, "ACK");
    let answer = String::from_utf8_lossy(ack.body()).into_owned();
    let m_lines = |sdp: &str| -> Vec<String> {
        sdp.split("\r\n")
            .filter(|l| l.starts_with("m="))
            .map(str::to_owned)
            .collect()
    };
    // Same streams, each with port 0 (RFC 3264 §6).
    assert_eq!(m_lines(&answer), ["m=audio 0 RTP/AVP 0 101"], "{answer}");
    assert_eq!(m_lines(A_OFFER), ["m=audio 40000 RTP/AVP 0 101"]);
    assert!(
        answer.contains("\r\no=tandem "),
        "Tandem's origin: {answer}"
    );
    let bye = t.first(tandem, first, "BYE");
    assert_eq!(values(&bye, &HeaderName::Reason), [reason]);
}

fn records(t: &B2bWorld) -> Vec<tandem_call::CallRecord> {
    t.events()
        .into_iter()
        .filter_map(|e| match e {
            CallEvent::Record(r) => Some(*r),
            _ => None,
        })
        .collect()
}

#[test]
fn second_party_busy() {
    let mut t = setup_originate(201, Callee::Rings, Callee::Busy);
    t.originate(|_, _| {}).unwrap();
    t.run(200);
    let (first, tandem, second) = (t.caller, t.tandem, t.callee);
    t.answer_on(first, A_OFFER);
    t.run(300);
    assert_eq!(t.labels(tandem, second), ["INVITE", "ACK"]);
    assert_eq!(t.labels(second, tandem), ["100", "486"]);
    assert_rejected_then_bye(&mut t, "SIP;cause=486;text=\"Busy Here\"");
    assert_eq!(
        t.ended(),
        Some(EndCause::Rejected {
            status: 486,
            relayed: 486
        })
    );
    assert_eq!(
        t.states(),
        [
            CallState::Establishing,
            CallState::Terminating,
            CallState::Terminated
        ]
    );
    let r = &records(&t)[0];
    assert_eq!(r.answered, None);
    assert_eq!(r.legs[0].final_status, Some(200));
    assert_eq!(r.legs[1].final_status, Some(486));
    t.assert_drained();
}

#[test]
fn first_party_busy() {
    let mut t = setup_originate(202, Callee::Busy, Callee::Rings);
    t.originate(|_, _| {}).unwrap();
    t.run(300);
    let (first, tandem, second) = (t.caller, t.tandem, t.callee);
    assert_eq!(t.labels(tandem, first), ["INVITE", "ACK"]);
    assert!(t.labels(tandem, second).is_empty(), "no second leg");
    assert_eq!(
        t.ended(),
        Some(EndCause::Rejected {
            status: 486,
            relayed: 486
        })
    );
    assert_eq!(records(&t)[0].legs.len(), 1);
    t.assert_drained();
}

#[test]
fn second_party_rings_too_long() {
    let mut t = setup_originate(203, Callee::Rings, Callee::Rings);
    t.originate(|_, second| second.ring_timeout = Some(Duration::from_secs(10)))
        .unwrap();
    t.run(200);
    let (first, tandem, second) = (t.caller, t.tandem, t.callee);
    t.answer_on(first, A_OFFER);
    t.run(9_000);
    assert_eq!(t.labels(tandem, second), ["INVITE"]);
    t.run(2_000);
    assert_eq!(t.labels(tandem, second), ["INVITE", "CANCEL", "ACK"]);
    let invite = t.times(tandem, second, "INVITE")[0];
    let cancel = t.times(tandem, second, "CANCEL")[0];
    assert_eq!(cancel - invite, Duration::from_secs(10));
    assert_rejected_then_bye(&mut t, "SIP;cause=480;text=\"Temporarily Unavailable\"");
    assert_eq!(t.ended(), Some(EndCause::RingTimeout));
    t.assert_drained();
}

#[test]
fn second_leg_ring_timeout_is_capped_for_flow_i() {
    let mut t = setup_originate(204, Callee::Rings, Callee::Rings);
    t.originate(|_, _| {}).unwrap();
    t.run(200);
    let (first, tandem, second) = (t.caller, t.tandem, t.callee);
    t.answer_on(first, A_OFFER);
    t.run(40_000);
    let invite = t.times(tandem, second, "INVITE")[0];
    let cancel = t.times(tandem, second, "CANCEL")[0];
    assert_eq!(cancel - invite, tandem_call::FLOW_I_RING_LIMIT);
    assert_eq!(t.ended(), Some(EndCause::RingTimeout));
    t.assert_drained();
}

#[test]
fn first_party_rings_too_long() {
    let mut t = setup_originate(205, Callee::Rings, Callee::Rings);
    t.originate(|first, _| first.ring_timeout = Some(Duration::from_secs(20)))
        .unwrap();
    t.run(21_000);
    let (first, tandem, second) = (t.caller, t.tandem, t.callee);
    assert_eq!(t.labels(tandem, first), ["INVITE", "CANCEL", "ACK"]);
    assert!(t.labels(tandem, second).is_empty());
    assert_eq!(t.ended(), Some(EndCause::RingTimeout));
    t.assert_drained();
}

#[test]
fn terminate_while_the_second_party_rings() {
    let mut t = setup_originate(206, Callee::Rings, Callee::Rings);
    let call = t.originate(|_, _| {}).unwrap();
    t.run(200);
    let (first, tandem, second) = (t.caller, t.tandem, t.callee);
    t.answer_on(first, A_OFFER);
    t.run(200);
    let b2b = t.b2b.clone();
    t.w.command(tandem, |ep, now| {
        b2b.borrow_mut()
            .terminate(ep, now, call, &Reason::new(200, "Hung up by the operator"))
            .unwrap();
    });
    t.run(300);
    assert_eq!(t.labels(tandem, second), ["INVITE", "CANCEL", "ACK"]);
    assert_rejected_then_bye(&mut t, "SIP;cause=480;text=\"Temporarily Unavailable\"");
    t.run(0);
    // (`run` drained the events the command left.)
    t.assert_drained();
    assert!(
        t.b2b.borrow().info(call).is_none(),
        "the call is gone once every leg confirmed"
    );
}
