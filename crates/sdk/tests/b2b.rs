//! Back-to-back calls over loopback UDP: a SIP caller (plain socket) → the SDK's endpoint →
//! a SIP callee (plain socket). Established, then ended by the caller, the callee or
//! `terminate()`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Callee, Caller, TEST};
use tandem_sdk::{
    B2bEndCause, BackToBackCall, CallSettings, CallState, CallStateChanged, CallTerminateOptions,
    EndCause, EndedBy, Leg, MediaFlowState, StateChanges,
};

/// Caller INVITE → IncomingCall → BackToBackCall → callee rings and answers → established.
async fn establish(
    caller: &mut Caller,
    callee: &mut Callee,
    calls: &mut tandem_sdk::IncomingCalls,
) -> (BackToBackCall, StateChanges) {
    caller.invite().await;
    let call = calls.next().await.unwrap();
    assert_eq!(call.from(), format!("sip:alice@{}", caller.peer.addr));
    assert_eq!(call.info().from_display_name(), Some("Alice"));
    assert_eq!(call.request_uri(), format!("sip:service@{}", caller.tandem));
    assert_eq!(call.info().header("subject"), Some("sdk test"));
    assert_eq!(call.state(), CallState::Idle);

    let b2b = BackToBackCall::new(
        CallSettings::incoming(call).with_pass_through_header_names(["Subject"]),
        CallSettings::outgoing(callee.uri())
            .with_header("X-Queue", "sales")
            .with_asserted_identity("<sip:+15551230000@tandem.example>"),
    );
    let changes = b2b.state_changed();
    let mut media = b2b.media_flow_changed();
    assert_eq!(b2b.media_flow(), None);
    let establishing = tokio::spawn({
        let b2b = b2b.clone();
        async move { b2b.establish().await }
    });

    let invite = callee.recv_invite().await;
    assert_eq!(invite.header("X-Queue"), Some("sales"));
    assert_eq!(
        invite.header("P-Asserted-Identity"),
        Some("<sip:+15551230000@tandem.example>")
    );
    assert_eq!(invite.header("Subject"), Some("sdk test"), "passed through");
    assert_ne!(
        invite.header("Call-ID"),
        Some(caller.call_id.as_str()),
        "topology hidden"
    );
    assert!(
        invite.body().contains("m=audio 40000"),
        "the offer is relayed"
    );
    callee.answer(180, "Ringing").await;
    callee.answer(200, "OK").await;

    let ok = caller.final_response().await;
    assert_eq!(ok.status(), Some(200));
    assert!(ok.body().contains("m=audio 50000"), "the answer is relayed");
    establishing.await.unwrap().unwrap();
    assert_eq!(b2b.state(), CallState::Established);
    // RFC 3264: the offer crossed to leg B, then the answer reached the caller.
    assert_eq!(media.recv().await, Some(MediaFlowState::Connecting));
    assert_eq!(media.recv().await, Some(MediaFlowState::Connected));
    assert_eq!(b2b.media_flow(), Some(MediaFlowState::Connected));
    (b2b, changes)
}

async fn all_changes(mut changes: StateChanges) -> Vec<CallState> {
    let mut states = Vec::new();
    while let Some(CallStateChanged { state, .. }) = changes.recv().await {
        states.push(state);
    }
    states
}

const LIFE: [CallState; 4] = [
    CallState::Establishing,
    CallState::Established,
    CallState::Terminating,
    CallState::Terminated,
];

#[tokio::test]
async fn caller_hangs_up() {
    tokio::time::timeout(TEST, async {
        let (ep, mut calls, tandem) = common::endpoint().await;
        let mut caller = Caller::new(tandem).await;
        let mut callee = Callee::new().await;
        let (b2b, changes) = establish(&mut caller, &mut callee, &mut calls).await;
        let snapshot = b2b.snapshot().await.unwrap();
        assert_eq!(snapshot.state, CallState::Established);
        assert_eq!(snapshot.legs.len(), 2);
        assert_eq!(snapshot.legs[0].sip_call_id, caller.call_id);

        caller.bye().await;
        let (bye, _) = callee.peer.recv_request("BYE").await;
        assert!(
            bye.header("Reason")
                .is_some_and(|r| r.contains("cause=200"))
        );
        callee.ok(&bye).await;
        let ok = caller.peer.recv_final("BYE").await;
        assert_eq!(ok.status(), Some(200));

        let record = b2b.ended().await;
        assert_eq!(
            record.cause,
            EndCause::BackToBack(B2bEndCause::CallerHangUp)
        );
        assert!(record.answered.is_some());
        let [a, b] = &record.legs[..] else {
            panic!("two legs: {:?}", record.legs)
        };
        assert_eq!((a.leg, b.leg), (Leg::A, Leg::B));
        assert_eq!(a.sip_call_id, caller.call_id);
        assert_ne!(b.sip_call_id, caller.call_id);
        assert_eq!(b.final_status, Some(200));
        assert_eq!(a.ended_by, EndedBy::Remote);
        assert_eq!(b.remote, callee.peer.addr);
        assert!(b2b.snapshot().await.is_none(), "over");
        assert_eq!(all_changes(changes).await, LIFE);
        ep.shutdown().await.unwrap();
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn callee_hangs_up() {
    tokio::time::timeout(TEST, async {
        let (ep, mut calls, tandem) = common::endpoint().await;
        let mut caller = Caller::new(tandem).await;
        let mut callee = Callee::new().await;
        let (b2b, changes) = establish(&mut caller, &mut callee, &mut calls).await;

        callee.bye().await;
        let (bye, from) = caller.peer.recv_request("BYE").await;
        let ok = common::response(&bye, 200, "OK", None, None, None);
        caller.peer.send(from, &ok).await;
        assert_eq!(callee.peer.recv_final("BYE").await.status(), Some(200));

        let record = b2b.ended().await;
        assert_eq!(
            record.cause,
            EndCause::BackToBack(B2bEndCause::CalleeHangUp)
        );
        assert_eq!(all_changes(changes).await, LIFE);
        ep.shutdown().await.unwrap();
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn terminate_ends_both_legs() {
    tokio::time::timeout(TEST, async {
        let (ep, mut calls, tandem) = common::endpoint().await;
        let mut caller = Caller::new(tandem).await;
        let mut callee = Callee::new().await;
        let (b2b, changes) = establish(&mut caller, &mut callee, &mut calls).await;

        // A header the dialog owns is refused before anything is sent.
        let refused = b2b
            .terminate(CallTerminateOptions::new().with_header("Call-ID", "forged"))
            .await;
        assert!(
            matches!(refused, Err(tandem_sdk::TerminateError::BadHeader(_))),
            "{refused:?}"
        );
        assert_eq!(b2b.state(), CallState::Established);

        let terminating = tokio::spawn({
            let b2b = b2b.clone();
            async move {
                b2b.terminate(
                    CallTerminateOptions::new()
                        .with_reason(480, "Agent logged out")
                        .with_header("X-Disposition", "shift-over"),
                )
                .await
            }
        });
        let (bye_a, from) = caller.peer.recv_request("BYE").await;
        assert_eq!(bye_a.header("X-Disposition"), Some("shift-over"));
        assert!(
            bye_a
                .header("Reason")
                .is_some_and(|r| r.contains("cause=480"))
        );
        caller
            .peer
            .send(from, &common::response(&bye_a, 200, "OK", None, None, None))
            .await;
        let (bye_b, _) = callee.peer.recv_request("BYE").await;
        assert_eq!(bye_b.header("X-Disposition"), Some("shift-over"));
        assert!(
            bye_b
                .header("Reason")
                .is_some_and(|r| r.contains("Agent logged out"))
        );
        callee.ok(&bye_b).await;

        let record = terminating.await.unwrap().unwrap();
        assert_eq!(record.cause, EndCause::BackToBack(B2bEndCause::Terminated));
        assert_eq!(b2b.state(), CallState::Terminated);
        assert_eq!(all_changes(changes).await, LIFE);
        // Terminating again is harmless and returns the same record.
        assert_eq!(
            b2b.terminate(CallTerminateOptions::new()).await.unwrap(),
            record
        );
        ep.shutdown().await.unwrap();
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn dropping_the_last_handle_terminates_the_call() {
    tokio::time::timeout(TEST, async {
        let (ep, mut calls, tandem) = common::endpoint().await;
        let mut caller = Caller::new(tandem).await;
        let mut callee = Callee::new().await;
        let (b2b, _changes) = establish(&mut caller, &mut callee, &mut calls).await;
        let observer = b2b.call().clone();
        drop(b2b);

        let (bye_a, from) = caller.peer.recv_request("BYE").await;
        caller
            .peer
            .send(from, &common::response(&bye_a, 200, "OK", None, None, None))
            .await;
        let (bye_b, _) = callee.peer.recv_request("BYE").await;
        callee.ok(&bye_b).await;
        let record = observer.ended().await;
        assert_eq!(record.cause, EndCause::BackToBack(B2bEndCause::Terminated));
        assert_eq!(ep.active_calls().await, 0, "nothing left behind");
        ep.shutdown().await.unwrap();
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn info_is_relayed_mid_call() {
    tokio::time::timeout(TEST, async {
        let (ep, mut calls, tandem) = common::endpoint().await;
        let mut caller = Caller::new(tandem).await;
        let mut callee = Callee::new().await;
        let (b2b, _changes) = establish(&mut caller, &mut callee, &mut calls).await;

        // DTMF as SIP INFO (application/dtmf-relay): relayed without application code.
        let dtmf = "Signal=5\r\nDuration=160\r\n";
        caller
            .request("INFO", 2, "application/dtmf-relay", dtmf)
            .await;
        let (info, _) = callee.peer.recv_request("INFO").await;
        assert_eq!(info.body(), dtmf);
        callee.ok(&info).await;
        assert_eq!(caller.peer.recv_final("INFO").await.status(), Some(200));

        callee.bye().await;
        let (bye, from) = caller.peer.recv_request("BYE").await;
        caller
            .peer
            .send(from, &common::response(&bye, 200, "OK", None, None, None))
            .await;
        b2b.ended().await;
        ep.shutdown().await.unwrap();
    })
    .await
    .expect("test timed out");
}
