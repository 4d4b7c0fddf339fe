//! Per-leg settings of the outgoing leg: ring timeout, maximum duration, a destination
//! given by host name (RFC 3263 through the system resolver; `localhost` is in the hosts
//! file, so nothing leaves the machine).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Callee, Caller, TEST};
use tandem_sdk::{B2bEndCause, BackToBackCall, CallSettings, CallState, EndCause, EstablishError};

#[tokio::test]
async fn ring_timeout_cancels_leg_b_and_fails_establish() {
    tokio::time::timeout(TEST, async {
        let (ep, mut calls, tandem) = common::endpoint().await;
        let mut caller = Caller::new(tandem).await;
        let mut callee = Callee::new().await;
        caller.invite().await;
        let call = calls.next().await.unwrap();
        let b2b = BackToBackCall::new(
            CallSettings::incoming(call),
            CallSettings::outgoing(callee.uri()).with_ring_timeout(Duration::from_millis(200)),
        );
        let establishing = tokio::spawn({
            let b2b = b2b.clone();
            async move { b2b.establish().await }
        });
        callee.recv_invite().await;
        callee.answer(180, "Ringing").await;
        // No answer: Tandem cancels leg B (RFC 3261 §9.1).
        let (cancel, _) = callee.peer.recv_request("CANCEL").await;
        callee.ok(&cancel).await;
        callee.answer(487, "Request Terminated").await;
        assert_eq!(caller.final_response().await.status(), Some(480));
        assert_eq!(
            establishing.await.unwrap(),
            Err(EstablishError::RingTimeout)
        );
        assert_eq!(
            b2b.ended().await.cause,
            EndCause::BackToBack(B2bEndCause::RingTimeout)
        );
        ep.shutdown().await.unwrap();
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn max_duration_ends_both_legs() {
    tokio::time::timeout(TEST, async {
        let (ep, mut calls, tandem) = common::endpoint().await;
        let mut caller = Caller::new(tandem).await;
        let mut callee = Callee::new().await;
        caller.invite().await;
        let call = calls.next().await.unwrap();
        let b2b = BackToBackCall::new(
            CallSettings::incoming(call),
            CallSettings::outgoing(callee.uri()).with_max_duration(Duration::from_millis(300)),
        );
        let establishing = tokio::spawn({
            let b2b = b2b.clone();
            async move { b2b.establish().await }
        });
        callee.recv_invite().await;
        callee.answer(200, "OK").await;
        assert_eq!(caller.final_response().await.status(), Some(200));
        establishing.await.unwrap().unwrap();

        let (bye_a, from) = caller.peer.recv_request("BYE").await;
        assert!(
            bye_a
                .header("Reason")
                .unwrap()
                .contains("Maximum call duration")
        );
        caller
            .peer
            .send(from, &common::response(&bye_a, 200, "OK", None, None, None))
            .await;
        let (bye_b, _) = callee.peer.recv_request("BYE").await;
        callee.ok(&bye_b).await;
        let record = b2b.ended().await;
        assert_eq!(record.cause, EndCause::BackToBack(B2bEndCause::MaxDuration));
        assert!(record.answered.is_some());
        ep.shutdown().await.unwrap();
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn host_name_destination_is_resolved() {
    tokio::time::timeout(TEST, async {
        let (ep, mut calls, tandem) = common::endpoint().await;
        let mut caller = Caller::new(tandem).await;
        let mut callee = Callee::new().await;
        caller.invite().await;
        let call = calls.next().await.unwrap();
        let uri = format!("sip:bob@localhost:{}", callee.peer.addr.port());
        let b2b = BackToBackCall::new(CallSettings::incoming(call), CallSettings::outgoing(uri));
        let establishing = tokio::spawn({
            let b2b = b2b.clone();
            async move { b2b.establish().await }
        });
        let invite = callee.recv_invite().await;
        assert!(invite.start_line().starts_with("INVITE sip:bob@localhost:"));
        callee.answer(200, "OK").await;
        assert_eq!(caller.final_response().await.status(), Some(200));
        establishing.await.unwrap().unwrap();
        assert_eq!(b2b.state(), CallState::Established);
        caller.bye().await;
        let (bye, _) = callee.peer.recv_request("BYE").await;
        callee.ok(&bye).await;
        assert_eq!(
            b2b.ended().await.cause,
            EndCause::BackToBack(B2bEndCause::CallerHangUp)
        );
        ep.shutdown().await.unwrap();
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn shutdown_ends_live_calls() {
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
        callee.answer(200, "OK").await;
        assert_eq!(caller.final_response().await.status(), Some(200));
        establishing.await.unwrap().unwrap();

        let stopping = tokio::spawn(ep.shutdown());
        let (bye_a, from) = caller.peer.recv_request("BYE").await;
        assert!(bye_a.header("Reason").unwrap().contains("cause=503"));
        caller
            .peer
            .send(from, &common::response(&bye_a, 200, "OK", None, None, None))
            .await;
        let (bye_b, _) = callee.peer.recv_request("BYE").await;
        callee.ok(&bye_b).await;
        stopping.await.unwrap().unwrap();
        assert_eq!(
            b2b.ended().await.cause,
            EndCause::BackToBack(B2bEndCause::Terminated)
        );
        assert!(calls.next().await.is_none(), "no more incoming calls");
    })
    .await
    .expect("test timed out");
}
