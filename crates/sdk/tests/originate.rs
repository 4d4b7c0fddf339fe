//! An originated call (click-to-call, RFC 3725 Flow I) between two SIP peers on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Callee, TEST};
use tandem_sdk::{
    B2bEndCause, CallSettings, CallState, CallTerminateOptions, EndCause, EstablishError,
};

#[tokio::test]
async fn originate_joins_two_parties_and_terminate_ends_both() {
    tokio::time::timeout(TEST, async {
        let (ep, _calls, _) = common::endpoint().await;
        let mut first = Callee::new().await;
        let mut second = Callee::new().await;
        let b2b = ep.originate(
            CallSettings::outgoing(first.uri()),
            CallSettings::outgoing(second.uri()).with_header("X-Click", "to-call"),
        );
        assert_eq!(b2b.state(), CallState::Idle);
        let establishing = tokio::spawn({
            let b2b = b2b.clone();
            async move { b2b.establish().await }
        });

        // The first party is called without an offer and makes one in its 2xx.
        let invite1 = first.recv_invite().await;
        assert!(
            invite1.body().is_empty(),
            "Flow I: no SDP to the first party"
        );
        assert!(invite1.header("From").unwrap().contains(&second.uri()));
        first.answer(200, "OK").await;
        // Its offer goes to the second party.
        let invite2 = second.recv_invite().await;
        assert!(invite2.body().contains("m=audio 50000"));
        assert_eq!(invite2.header("X-Click"), Some("to-call"));
        second.answer(200, "OK").await;
        // The second's answer returns to the first party in the ACK.
        let (ack1, _) = first.peer.recv_request("ACK").await;
        assert!(ack1.body().contains("m=audio"));
        establishing.await.unwrap().unwrap();
        assert_eq!(b2b.state(), CallState::Established);

        let ending = tokio::spawn({
            let b2b = b2b.clone();
            async move { b2b.terminate(CallTerminateOptions::new()).await }
        });
        let (bye1, _) = first.peer.recv_request("BYE").await;
        first.ok(&bye1).await;
        let (bye2, _) = second.peer.recv_request("BYE").await;
        second.ok(&bye2).await;
        let record = ending.await.unwrap().unwrap();
        assert_eq!(record.cause, EndCause::BackToBack(B2bEndCause::Terminated));
        assert_eq!(record.legs.len(), 2);
        ep.shutdown().await.unwrap();
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn originate_to_a_bad_destination_is_not_placed() {
    tokio::time::timeout(TEST, async {
        let (ep, _calls, _) = common::endpoint().await;
        let second = Callee::new().await;
        let b2b = ep.originate(
            CallSettings::outgoing("mailto:someone@example.com"),
            CallSettings::outgoing(second.uri()),
        );
        let err = b2b.establish().await.unwrap_err();
        assert!(
            matches!(err, EstablishError::InvalidDestination { .. }),
            "{err:?}"
        );
        assert_eq!(b2b.ended().await.cause, EndCause::NotPlaced);
        ep.shutdown().await.unwrap();
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn terminating_before_establish_sends_nothing() {
    tokio::time::timeout(TEST, async {
        let (ep, _calls, _) = common::endpoint().await;
        let first = Callee::new().await;
        let second = Callee::new().await;
        let b2b = ep.originate(
            CallSettings::outgoing(first.uri()),
            CallSettings::outgoing(second.uri()),
        );
        let record = b2b.terminate(CallTerminateOptions::new()).await.unwrap();
        assert_eq!(record.cause, EndCause::BackToBack(B2bEndCause::Terminated));
        assert_eq!(b2b.establish().await, Err(EstablishError::AlreadyStarted));
        ep.shutdown().await.unwrap();
    })
    .await
    .expect("test timed out");
}
