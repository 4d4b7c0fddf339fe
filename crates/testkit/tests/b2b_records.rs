//! Call detail records (`CallEvent::Record`, right before `CallEvent::Ended`) and live
//! snapshots (`B2bua::info`) of bridged calls: times, parties, Call-IDs, remote addresses,
//! final statuses, and who ended each leg.
#![allow(clippy::unwrap_used)]

mod b2b_common;

use std::time::{Duration, Instant};

use b2b_common::{A_CALL_ID, A_OFFER, B_ANSWER, B2bWorld, Callee, setup};
use tandem_call::{
    CallEvent, CallKind, CallRecord, CallState, EndCause, EndedBy, Leg, MediaFlowState,
};
use tandem_sip_core::Transport;
use tandem_sip_msg::Method;
use tandem_sip_msg::headers::CallId;

const HOP: Duration = Duration::from_millis(20);

fn record(t: &B2bWorld) -> CallRecord {
    let events = t.events();
    let n = events.len();
    assert!(
        matches!(events[n - 1], CallEvent::Ended { .. }),
        "Ended comes last: {events:?}"
    );
    match &events[n - 2] {
        CallEvent::Record(r) => (**r).clone(),
        other => panic!("Record right before Ended, not {other:?}"),
    }
}

fn arrival(
    t: &mut B2bWorld,
    from: tandem_testkit::NodeId,
    to: tandem_testkit::NodeId,
    label: &str,
) -> Instant {
    t.times(from, to, label)[0] + HOP
}

#[test]
fn answered_call_hung_up_by_the_callee() {
    let mut t = setup(171, Callee::Rings);
    t.invite(Some(A_OFFER));
    t.run(200);
    t.answer(B_ANSWER);
    t.run(200);
    let (caller, tandem, callee) = (t.caller, t.tandem, t.callee);
    let call = t.b2b.borrow().call_ids()[0];

    // The live snapshot.
    let info = t.b2b.borrow().info(call).unwrap();
    assert_eq!(info.state, CallState::Established);
    assert_eq!(info.kind, CallKind::Bridged);
    assert_eq!(info.media, Some(MediaFlowState::Connected));
    let invite_in = arrival(&mut t, caller, tandem, "INVITE");
    let answered = arrival(&mut t, callee, tandem, "200");
    assert_eq!(info.started, invite_in);
    assert_eq!(info.answered, Some(answered));
    assert_eq!(info.legs.len(), 2);
    assert_eq!(info.legs[0].sip_call_id, A_CALL_ID);
    assert_eq!(info.legs[0].remote, "127.0.0.1:5061".parse().unwrap());
    let b_invite = t.first(tandem, callee, "INVITE");
    let b_call_id = b_invite
        .typed::<CallId<'_>>()
        .unwrap()
        .unwrap()
        .0
        .to_owned();
    assert_eq!(info.legs[1].sip_call_id, b_call_id);
    assert_ne!(b_call_id, A_CALL_ID);

    // The callee hangs up.
    let d = t.callee_dialog();
    t.send_in_dialog(callee, d, Method::Bye, None);
    t.run(200);
    assert_eq!(t.ended(), Some(EndCause::CalleeHangUp));
    assert_eq!(t.b2b.borrow().info(call), None, "gone once ended");
    let r = record(&t);
    assert_eq!(r.call, call);
    assert_eq!(r.kind, CallKind::Bridged);
    assert_eq!(r.cause, EndCause::CalleeHangUp);
    assert_eq!(r.started, invite_in);
    assert_eq!(r.answered, Some(answered));
    let bye_in = arrival(&mut t, callee, tandem, "BYE");
    let last_200 = *t.times(caller, tandem, "200").last().unwrap() + HOP;
    assert_eq!(
        r.ended, last_200,
        "the call ends when leg A's BYE is answered"
    );
    let [a, b] = &r.legs[..] else {
        panic!("two legs: {:?}", r.legs)
    };
    assert_eq!(a.leg, Leg::A);
    assert_eq!(a.sip_call_id, A_CALL_ID);
    assert_eq!(a.from, "<sip:alice@127.0.0.1>");
    assert_eq!(a.to, "<sip:sales@127.0.0.3:5060>");
    assert_eq!(a.remote, "127.0.0.1:5061".parse().unwrap());
    assert_eq!(a.transport, Transport::Udp);
    assert_eq!(a.started, invite_in);
    assert_eq!(a.answered, Some(answered));
    assert_eq!(a.final_status, Some(200));
    assert_eq!(a.ended_by, EndedBy::Local, "Tandem sent leg A's BYE");
    assert_eq!(a.ended, bye_in);
    assert_eq!(b.leg, Leg::B);
    assert_eq!(b.sip_call_id, b_call_id);
    assert_eq!(b.from, "<sip:alice@127.0.0.1>");
    assert_eq!(b.to, "<sip:bob@127.0.0.2:5062>");
    assert_eq!(b.remote, "127.0.0.2:5062".parse().unwrap());
    assert_eq!(b.final_status, Some(200));
    assert_eq!(b.ended_by, EndedBy::Remote);
    assert_eq!(b.ended, bye_in);
    t.assert_drained();
}

#[test]
fn busy_callee() {
    let mut t = setup(172, Callee::Busy);
    t.invite(Some(A_OFFER));
    t.run(300);
    let r = record(&t);
    assert_eq!(r.answered, None);
    assert_eq!(
        r.cause,
        EndCause::Rejected {
            status: 486,
            relayed: 486
        }
    );
    assert_eq!(r.legs[0].final_status, Some(486));
    assert_eq!(r.legs[0].ended_by, EndedBy::Local);
    assert_eq!(r.legs[0].answered, None);
    assert_eq!(r.legs[1].final_status, Some(486));
    assert_eq!(r.legs[1].ended_by, EndedBy::Remote);
    t.assert_drained();
}

#[test]
fn caller_cancels() {
    let mut t = setup(173, Callee::Rings);
    let invite = t.invite(Some(A_OFFER));
    t.run(200);
    t.w.command(t.caller, |ep, now| ep.cancel(now, invite))
        .unwrap();
    t.run(300);
    let r = record(&t);
    assert_eq!(r.cause, EndCause::Cancelled);
    assert_eq!(r.legs[0].final_status, Some(487));
    assert_eq!(r.legs[0].ended_by, EndedBy::Remote);
    assert_eq!(r.legs[1].final_status, Some(487));
    assert_eq!(r.legs[1].ended_by, EndedBy::Local, "Tandem cancelled leg B");
    t.assert_drained();
}
