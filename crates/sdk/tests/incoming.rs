//! Incoming calls that never become a connected back-to-back call: declined, dropped,
//! cancelled by the caller, failed on leg B, a destination that is no SIP URI.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Callee, Caller, TEST};
use tandem_sdk::{
    B2bEndCause, BackToBackCall, CallSettings, CallState, CallTerminateOptions, EndCause,
    EstablishError,
};

#[tokio::test]
async fn declined_call_gets_the_status() {
    tokio::time::timeout(TEST, async {
        let (ep, mut calls, tandem) = common::endpoint().await;
        let mut caller = Caller::new(tandem).await;
        caller.invite().await;
        let call = calls.next().await.unwrap();
        let observer = call.call().clone();
        call.decline_with(486, "Busy Here", vec![("Retry-After".into(), "30".into())])
            .await
            .unwrap();
        let r = caller.final_response().await;
        assert_eq!(r.status(), Some(486));
        assert_eq!(r.header("Retry-After"), Some("30"));
        let record = observer.ended().await;
        assert_eq!(record.cause, EndCause::Declined { status: 486 });
        assert_eq!(record.answered, None);
        assert_eq!(observer.state(), CallState::Terminated);
        ep.shutdown().await.unwrap();
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn decline_needs_a_failure_status() {
    tokio::time::timeout(TEST, async {
        let (ep, mut calls, tandem) = common::endpoint().await;
        let caller = Caller::new(tandem).await;
        caller.invite().await;
        let call = calls.next().await.unwrap();
        assert_eq!(
            call.decline(200, "OK").await,
            Err(tandem_sdk::DeclineError::InvalidStatus(200))
        );
        ep.shutdown().await.unwrap();
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn dropped_incoming_call_is_declined_480() {
    tokio::time::timeout(TEST, async {
        let (ep, mut calls, tandem) = common::endpoint().await;
        let mut caller = Caller::new(tandem).await;
        caller.invite().await;
        let call = calls.next().await.unwrap();
        let observer = call.call().clone();
        assert_eq!(ep.active_calls().await, 1);
        drop(call);
        assert_eq!(caller.final_response().await.status(), Some(480));
        assert_eq!(observer.ended().await.cause, EndCause::Abandoned);
        assert_eq!(ep.active_calls().await, 0, "nothing left behind");
        ep.shutdown().await.unwrap();
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn caller_cancels_before_the_decision() {
    tokio::time::timeout(TEST, async {
        let (ep, mut calls, tandem) = common::endpoint().await;
        let mut caller = Caller::new(tandem).await;
        caller.invite().await;
        let call = calls.next().await.unwrap();
        let mut changes = call.state_changed();
        caller.cancel().await;
        assert_eq!(caller.final_response().await.status(), Some(487));
        let change = changes.recv().await.unwrap();
        assert_eq!(change.state, CallState::Terminated);
        assert_eq!(call.call().ended().await.cause, EndCause::CallerCancelled);
        // Too late for a decision now.
        assert!(call.decline(486, "Busy Here").await.is_err());
        ep.shutdown().await.unwrap();
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn failing_leg_b_is_an_establish_error_with_its_status() {
    tokio::time::timeout(TEST, async {
        let (ep, mut calls, tandem) = common::endpoint().await;
        let mut caller = Caller::new(tandem).await;
        let mut callee = Callee::new().await;
        caller.invite().await;
        let call = calls.next().await.unwrap();
        let b2b = BackToBackCall::new(
            CallSettings::incoming(call),
            CallSettings::outgoing(callee.uri()),
        );
        let establishing = tokio::spawn({
            let b2b = b2b.clone();
            async move { b2b.establish().await }
        });
        callee.recv_invite().await;
        callee.answer(486, "Busy Here").await;
        // Tandem ACKs the failure hop by hop (RFC 3261 §17.1.1.3).
        callee.peer.recv_request("ACK").await;
        assert_eq!(caller.final_response().await.status(), Some(486));
        let err = establishing.await.unwrap().unwrap_err();
        assert_eq!(
            err,
            EstablishError::Rejected {
                status: 486,
                relayed: 486
            }
        );
        assert_eq!(err.caller_status(), Some(486));
        assert_eq!(
            b2b.ended().await.cause,
            EndCause::BackToBack(B2bEndCause::Rejected {
                status: 486,
                relayed: 486
            })
        );
        ep.shutdown().await.unwrap();
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn leg_b_server_error_becomes_502() {
    tokio::time::timeout(TEST, async {
        let (ep, mut calls, tandem) = common::endpoint().await;
        let mut caller = Caller::new(tandem).await;
        let mut callee = Callee::new().await;
        caller.invite().await;
        let call = calls.next().await.unwrap();
        let b2b = BackToBackCall::new(
            CallSettings::incoming(call),
            CallSettings::outgoing(callee.uri()),
        );
        let establishing = tokio::spawn({
            let b2b = b2b.clone();
            async move { b2b.establish().await }
        });
        callee.recv_invite().await;
        callee.answer(500, "Server Internal Error").await;
        assert_eq!(caller.final_response().await.status(), Some(502));
        assert_eq!(
            establishing.await.unwrap(),
            Err(EstablishError::Rejected {
                status: 500,
                relayed: 502
            })
        );
        ep.shutdown().await.unwrap();
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn destination_that_is_not_sip_declines_404() {
    tokio::time::timeout(TEST, async {
        let (ep, mut calls, tandem) = common::endpoint().await;
        let mut caller = Caller::new(tandem).await;
        caller.invite().await;
        let call = calls.next().await.unwrap();
        let b2b = BackToBackCall::new(
            CallSettings::incoming(call),
            CallSettings::outgoing("tel:+15551234"),
        );
        let err = b2b.establish().await.unwrap_err();
        assert!(
            matches!(err, EstablishError::InvalidDestination { .. }),
            "{err:?}"
        );
        assert_eq!(caller.final_response().await.status(), Some(404));
        assert_eq!(b2b.establish().await, Err(EstablishError::AlreadyStarted));
        ep.shutdown().await.unwrap();
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn undecided_call_is_declined_480_after_the_decision_timeout() {
    tokio::time::timeout(TEST, async {
        let (ep, mut calls, tandem) =
            common::endpoint_with(|s| s.decision_timeout = Duration::from_millis(200)).await;
        let mut caller = Caller::new(tandem).await;
        caller.invite().await;
        let call = calls.next().await.unwrap();
        // Kept, but never decided.
        assert_eq!(caller.final_response().await.status(), Some(480));
        assert_eq!(call.call().ended().await.cause, EndCause::Abandoned);
        ep.shutdown().await.unwrap();
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn terminating_an_incoming_call_declines_it_with_a_reason() {
    tokio::time::timeout(TEST, async {
        let (ep, mut calls, tandem) = common::endpoint().await;
        let mut caller = Caller::new(tandem).await;
        caller.invite().await;
        let call = calls.next().await.unwrap();
        let observer = call.call().clone();
        let record = call
            .terminate(CallTerminateOptions::new().with_reason(480, "No agent"))
            .await
            .unwrap();
        assert_eq!(record.cause, EndCause::Declined { status: 480 });
        let r = caller.final_response().await;
        assert_eq!(r.status(), Some(480));
        assert!(r.header("Reason").unwrap().contains("No agent"));
        assert_eq!(
            observer.record().unwrap().cause,
            EndCause::Declined { status: 480 }
        );
        ep.shutdown().await.unwrap();
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn a_full_incoming_queue_answers_503_with_retry_after() {
    tokio::time::timeout(TEST, async {
        let (ep, mut calls, tandem) = common::endpoint_with(|s| s.incoming_queue = 1).await;
        let mut first = Caller::new(tandem).await;
        let mut second = Caller::new(tandem).await;
        first.invite().await;
        // The first waits in the queue (nobody takes it yet); the second finds it full.
        second.invite().await;
        let busy = second.final_response().await;
        assert_eq!(busy.status(), Some(503));
        assert!(busy.header("Retry-After").is_some());
        let call = calls.next().await.unwrap();
        assert_eq!(call.from(), format!("sip:alice@{}", first.peer.addr));
        call.decline(486, "Busy Here").await.unwrap();
        assert_eq!(first.final_response().await.status(), Some(486));
        ep.shutdown().await.unwrap();
    })
    .await
    .expect("test timed out");
}
