//! `IncomingCall::accept`: Tandem answers calls itself, their media on its mixer. Plain
//! UDP callers on loopback offer SDP, ACK, send and receive RTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{Caller, Msg, TEST, WAIT, endpoint, endpoint_with};
use tandem_media::codec::g711::{ulaw_decode, ulaw_encode};
use tandem_media::rtp::{RtpHeader, RtpPacket};
use tandem_sdk::{
    AcceptError, AcceptOptions, AudioVideoCall, B2bEndCause, CallState, CallTerminateOptions,
    EndCause, IncomingCalls, MediaFlowState, Timers,
};
use tokio::net::UdpSocket;

/// An SDP offer of PCMU (and telephone-events) whose media goes to `rtp`.
fn pcmu_offer(rtp: SocketAddr, extra: &str) -> String {
    format!(
        "v=0\r\no=alice 1000 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\n{extra}",
        port = rtp.port()
    )
}

/// The `m=audio` port and `c=` address of an SDP body.
fn media_addr(sdp: &str) -> SocketAddr {
    let ip = sdp
        .lines()
        .find_map(|l| l.strip_prefix("c=IN IP4 "))
        .expect("c= line");
    let port = sdp
        .lines()
        .find_map(|l| l.strip_prefix("m=audio "))
        .and_then(|r| r.split(' ').next())
        .expect("m=audio line");
    format!("{}:{port}", ip.trim()).parse().unwrap()
}

/// The ACK of a re-INVITE's 2xx (CSeq `cseq`), on a branch of its own (RFC 3261 §17.1.1.3).
async fn ack(caller: &Caller, cseq: u32) {
    let a = caller.peer.addr;
    let m = format!(
        "ACK {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {a};branch=z9hG4bK-ack{cseq}-{id};rport\r\n\
         From: \"Alice\" <sip:alice@{a}>;tag=alice-tag\r\nTo: {to}\r\nCall-ID: {id}\r\n\
         CSeq: {cseq} ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
        uri = caller.remote_target.as_deref().unwrap(),
        to = caller.to.as_deref().unwrap(),
        id = caller.call_id,
    );
    caller.peer.send(caller.tandem, &m).await;
}

/// Accepts the next call with `options`.
async fn accept_next(calls: &mut IncomingCalls, options: AcceptOptions) -> AudioVideoCall {
    let call = calls.next().await.expect("an incoming call");
    call.accept(options).await.expect("accepted")
}

/// A caller with an RTP socket, its INVITE offering PCMU on it.
async fn dial(tandem: SocketAddr) -> (Caller, UdpSocket) {
    let caller = Caller::new(tandem).await;
    let rtp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let offer = pcmu_offer(rtp.local_addr().unwrap(), "a=sendrecv\r\n");
    caller
        .peer
        .send(tandem, &caller.invite_text_with("", Some(&offer)))
        .await;
    (caller, rtp)
}

/// 20 ms of a 1 kHz tone at 8 kHz in μ-law, starting at sample `n`.
fn tone_frame(n: usize) -> Vec<u8> {
    (0..160)
        .map(|i| {
            let t = (n + i) as f64 / 8_000.0;
            let s = (std::f64::consts::TAU * 1_000.0 * t).sin() * 8_000.0;
            ulaw_encode(s as i16)
        })
        .collect()
}

fn rms(payload: &[u8]) -> f64 {
    let sum: f64 = payload
        .iter()
        .map(|&c| f64::from(ulaw_decode(c)).powi(2))
        .sum();
    (sum / payload.len().max(1) as f64).sqrt()
}

#[tokio::test]
async fn two_calls_accepted_into_one_room_hear_each_other_and_hang_up() {
    tokio::time::timeout(TEST, async {
        let (ep, mut calls, tandem) = endpoint().await;
        let acceptor = tokio::spawn(async move {
            let a = accept_next(&mut calls, AcceptOptions::new().room("bridge")).await;
            let b = accept_next(&mut calls, AcceptOptions::new().room("bridge")).await;
            (a, b)
        });

        let (mut alice, alice_rtp) = dial(tandem).await;
        let ok = alice.final_response().await;
        assert_eq!(ok.status(), Some(200));
        assert_eq!(ok.header("Content-Type"), Some("application/sdp"));
        assert!(ok.header("Contact").is_some(), "{}", ok.0);
        assert!(ok.header("Allow").unwrap().contains("BYE"));
        let body = ok.body();
        assert!(body.contains("a=rtpmap:0 PCMU/8000\r\n"), "{body}");
        assert!(body.contains("a=sendrecv\r\n"), "{body}");
        let alice_to_tandem = media_addr(body);
        assert_eq!(alice_to_tandem.ip().to_string(), "127.0.0.1");
        assert_ne!(alice_to_tandem.port(), 0);

        let (mut bob, bob_rtp) = dial(tandem).await;
        let ok = bob.final_response().await;
        assert_eq!(ok.status(), Some(200));
        let bob_to_tandem = media_addr(ok.body());
        assert_ne!(bob_to_tandem, alice_to_tandem, "one RTP socket per call");

        let (a, b) = acceptor.await.unwrap();
        assert_eq!(a.state(), CallState::Established);
        assert_eq!(b.state(), CallState::Established);
        assert_eq!(a.room(), Some("bridge"));
        assert_eq!(a.media_flow(), Some(MediaFlowState::Connected));
        let media = a.media().unwrap();
        assert_eq!(media.local, alice_to_tandem);
        assert_eq!(media.remote, Some(alice_rtp.local_addr().unwrap()));
        assert_eq!((media.codec.as_str(), media.payload_type), ("PCMU", 0));

        // Alice talks: 1 kHz for 600 ms, paced at 20 ms; Bob listens for her.
        let talk = async {
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            for k in 0..30u16 {
                tick.tick().await;
                let packet = RtpHeader {
                    payload_type: 0,
                    marker: k == 0,
                    sequence: k,
                    timestamp: 160 * u32::from(k),
                    ssrc: 0xa11c_e000,
                    ..Default::default()
                }
                .to_bytes(&tone_frame(160 * usize::from(k)))
                .unwrap();
                alice_rtp.send_to(&packet, alice_to_tandem).await.unwrap();
            }
        };
        let listen = async {
            let mut buf = vec![0u8; 2_048];
            let (mut packets, mut loud) = (0, 0);
            let deadline = tokio::time::Instant::now() + WAIT;
            while loud < 5 {
                let (n, from) = tokio::time::timeout_at(deadline, bob_rtp.recv_from(&mut buf))
                    .await
                    .expect("Bob never heard Alice")
                    .unwrap();
                assert_eq!(from, bob_to_tandem, "symmetric RTP: from the SDP's socket");
                let packet = RtpPacket::parse(&buf[..n]).unwrap();
                assert_eq!(packet.header.payload_type, 0, "PCMU as negotiated");
                packets += 1;
                if rms(packet.payload) > 1_000.0 {
                    loud += 1;
                }
            }
            packets
        };
        let ((), packets) = tokio::join!(talk, listen);
        assert!(packets >= 5);

        // Both hang up: 200 each, both calls over with a record of the caller's leg.
        alice.bye().await;
        assert_eq!(alice.peer.recv_final("BYE").await.status(), Some(200));
        bob.bye().await;
        assert_eq!(bob.peer.recv_final("BYE").await.status(), Some(200));
        for call in [&a, &b] {
            let record = call.ended().await;
            assert_eq!(record.cause, EndCause::Accepted(B2bEndCause::CallerHangUp));
            assert_eq!(record.legs.len(), 1);
            assert_eq!(record.legs[0].final_status, Some(200));
            assert!(record.answered.is_some());
            assert_eq!(call.state(), CallState::Terminated);
        }
        assert_eq!(ep.active_calls().await, 0);
        ep.shutdown().await.unwrap();
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn an_offer_without_a_common_codec_gets_488() {
    tokio::time::timeout(TEST, async {
        let (ep, mut calls, tandem) = endpoint().await;
        let mut caller = Caller::new(tandem).await;
        let g729 = "v=0\r\no=alice 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n\
                    t=0 0\r\nm=audio 40000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n";
        caller
            .peer
            .send(tandem, &caller.invite_text_with("", Some(g729)))
            .await;
        let call = calls.next().await.unwrap();
        let observer = call.call().clone();
        let err = call.accept(AcceptOptions::new()).await.unwrap_err();
        assert_eq!(err, AcceptError::NoCommonCodec);
        assert_eq!(err.caller_status(), Some(488));
        let r = caller.final_response().await;
        assert_eq!(r.status(), Some(488));
        assert!(r.header("Warning").unwrap().contains("codec"), "{}", r.0);
        assert_eq!(
            observer.ended().await.cause,
            EndCause::Declined { status: 488 }
        );
        ep.shutdown().await.unwrap();
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn terminate_sends_bye_with_reason_and_ends_the_call() {
    tokio::time::timeout(TEST, async {
        let (ep, mut calls, tandem) = endpoint().await;
        let acceptor =
            tokio::spawn(async move { accept_next(&mut calls, AcceptOptions::new()).await });
        let (mut caller, _rtp) = dial(tandem).await;
        assert_eq!(caller.final_response().await.status(), Some(200));
        let call = acceptor.await.unwrap();
        assert_eq!(call.room(), None, "a private room");

        let hangup = tokio::spawn({
            let call = call.clone();
            async move {
                call.terminate(
                    CallTerminateOptions::new()
                        .with_reason(480, "Agent logged out")
                        .with_header("X-Disposition", "queue-closed"),
                )
                .await
            }
        });
        let (bye, _) = caller.peer.recv_request("BYE").await;
        let reason = bye.header("Reason").unwrap();
        assert!(reason.contains("cause=480"), "{reason}");
        assert!(reason.contains("Agent logged out"), "{reason}");
        assert_eq!(bye.header("X-Disposition"), Some("queue-closed"));
        assert_eq!(bye.header("Call-ID"), Some(caller.call_id.as_str()));
        let ok = common::response(&bye, 200, "OK", None, None, None);
        caller.peer.send(tandem, &ok).await;
        let record = hangup.await.unwrap().unwrap();
        assert_eq!(record.cause, EndCause::Accepted(B2bEndCause::Terminated));
        assert_eq!(call.state(), CallState::Terminated);
        ep.shutdown().await.unwrap();
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn a_late_offer_gets_tandems_offer_in_the_200_and_the_answer_from_the_ack() {
    tokio::time::timeout(TEST, async {
        let (ep, mut calls, tandem) = endpoint().await;
        let acceptor =
            tokio::spawn(async move { accept_next(&mut calls, AcceptOptions::new()).await });
        let mut caller = Caller::new(tandem).await;
        caller
            .peer
            .send(tandem, &caller.invite_text_with("", None))
            .await;
        let rtp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let answer = format!(
            "v=0\r\no=alice 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
             m=audio {} RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n",
            rtp.local_addr().unwrap().port()
        );
        let ok = caller.final_response_with(Some(&answer)).await;
        assert_eq!(ok.status(), Some(200));
        let offer = ok.body();
        assert!(offer.contains("a=rtpmap:0 PCMU/8000\r\n"), "{offer}");
        assert!(offer.contains("a=rtpmap:8 PCMA/8000\r\n"), "{offer}");
        let to_tandem = media_addr(offer);

        let call = acceptor.await.unwrap();
        assert_eq!(call.state(), CallState::Established);
        let media = call.media().unwrap();
        assert_eq!(media.local, to_tandem);
        assert_eq!(media.remote, Some(rtp.local_addr().unwrap()));
        assert_eq!(media.codec, "PCMA");
        caller.bye().await;
        assert_eq!(caller.peer.recv_final("BYE").await.status(), Some(200));
        assert_eq!(
            call.ended().await.cause,
            EndCause::Accepted(B2bEndCause::CallerHangUp)
        );
        ep.shutdown().await.unwrap();
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn a_hold_reinvite_is_answered_with_a_new_version_and_the_direction_mirrored() {
    tokio::time::timeout(TEST, async {
        let (ep, mut calls, tandem) = endpoint().await;
        let acceptor =
            tokio::spawn(async move { accept_next(&mut calls, AcceptOptions::new()).await });
        let (mut caller, rtp) = dial(tandem).await;
        let ok = caller.final_response().await;
        let first = ok.body().to_owned();
        let call = acceptor.await.unwrap();

        // RFC 3264 §8.4: the caller holds (sendonly, o= version 2).
        let hold = pcmu_offer(rtp.local_addr().unwrap(), "a=sendonly\r\n")
            .replace("o=alice 1000 1", "o=alice 1000 2");
        caller.request("INVITE", 3, "application/sdp", &hold).await;
        let r = caller.peer.recv_final("INVITE").await;
        assert_eq!(r.status(), Some(200), "{}", r.0);
        let answer = r.body();
        assert!(answer.contains("a=recvonly\r\n"), "{answer}");
        let origin = |sdp: &str| {
            sdp.lines()
                .find(|l| l.starts_with("o="))
                .map(|l| l.split(' ').map(str::to_owned).collect::<Vec<_>>())
                .unwrap()
        };
        let (o1, o2) = (origin(&first), origin(answer));
        assert_eq!(o1[1], o2[1], "same session id");
        assert_eq!(
            o2[2].parse::<u64>().unwrap(),
            o1[2].parse::<u64>().unwrap() + 1,
            "version + 1"
        );
        assert_eq!(media_addr(answer), media_addr(&first), "same RTP socket");
        ack(&caller, 3).await;

        // An offer Tandem cannot take: 488, the call goes on.
        let g729 = hold.replace("RTP/AVP 0 101", "RTP/AVP 18");
        caller.request("INVITE", 4, "application/sdp", &g729).await;
        let r = caller.peer.recv_final("INVITE").await;
        assert_eq!(r.status(), Some(488), "{}", r.0);
        // §17.1.1.3: the ACK of a non-2xx is in the INVITE's transaction (same branch).
        caller.request("ACK", 4, "application/sdp", "").await;
        assert_eq!(call.state(), CallState::Established);

        caller.request("BYE", 5, "application/sdp", "").await;
        assert_eq!(caller.peer.recv_final("BYE").await.status(), Some(200));
        assert_eq!(
            call.ended().await.cause,
            EndCause::Accepted(B2bEndCause::CallerHangUp)
        );
        ep.shutdown().await.unwrap();
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn without_ack_the_call_ends_with_bye_and_accept_fails() {
    tokio::time::timeout(TEST, async {
        // T1 = 10 ms: the 2xx waits 64·T1 = 640 ms for its ACK.
        let (ep, mut calls, tandem) = endpoint_with(|s| {
            s.timers = Timers {
                t1: Duration::from_millis(10),
                ..Timers::default()
            };
        })
        .await;
        let acceptor = tokio::spawn(async move {
            let call = calls.next().await.unwrap();
            call.accept(AcceptOptions::new()).await
        });
        let (caller, _rtp) = dial(tandem).await;
        let ok: Msg = caller.peer.recv_final("INVITE").await;
        assert_eq!(ok.status(), Some(200));
        let (bye, _) = caller.peer.recv_request("BYE").await;
        assert!(bye.header("Reason").unwrap().contains("cause=408"));
        let answer = common::response(&bye, 200, "OK", None, None, None);
        caller.peer.send(tandem, &answer).await;
        let err = acceptor.await.unwrap().unwrap_err();
        assert_eq!(
            err,
            AcceptError::NotEstablished(EndCause::Accepted(B2bEndCause::AckTimeout))
        );
        ep.shutdown().await.unwrap();
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn recordings_are_per_engine_and_name_the_room() {
    tokio::time::timeout(TEST, async {
        let dir = std::env::temp_dir().join(format!("tandem-sdk-accept-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (ep, mut calls, tandem) = endpoint_with(|s| {
            s.media.engine.recordings = Some(dir.clone());
            s.media.start_at_bind = true;
        })
        .await;
        let acceptor = tokio::spawn(async move {
            accept_next(&mut calls, AcceptOptions::new().room("desk")).await
        });
        let (mut caller, rtp) = dial(tandem).await;
        let ok = caller.final_response().await;
        let to_tandem = media_addr(ok.body());
        let call = acceptor.await.unwrap();
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        for k in 0..10u16 {
            tick.tick().await;
            let packet = RtpHeader {
                payload_type: 0,
                sequence: k,
                timestamp: 160 * u32::from(k),
                ssrc: 7,
                ..Default::default()
            }
            .to_bytes(&tone_frame(160 * usize::from(k)))
            .unwrap();
            rtp.send_to(&packet, to_tandem).await.unwrap();
        }
        caller.bye().await;
        assert_eq!(caller.peer.recv_final("BYE").await.status(), Some(200));
        call.ended().await;

        // The room closed with its last call: the media thread finalises `room_desk-0.wav`
        // (RIFF sizes written); poll for it.
        let path = dir.join("room_desk-0.wav");
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let bytes = std::fs::read(&path).unwrap_or_default();
            let data = bytes
                .get(40..44)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
            if data.is_some_and(|d| d > 0 && d + 44 == bytes.len()) {
                assert!(bytes.len() > 44 + 5 * 320, "at least 100 ms of audio");
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no finalised recording"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        ep.shutdown().await.unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn a_late_offer_whose_ack_has_no_answer_ends_with_bye() {
    tokio::time::timeout(TEST, async {
        let (ep, mut calls, tandem) = endpoint().await;
        let acceptor = tokio::spawn(async move {
            let call = calls.next().await.unwrap();
            call.accept(AcceptOptions::new()).await
        });
        let mut caller = Caller::new(tandem).await;
        caller
            .peer
            .send(tandem, &caller.invite_text_with("", None))
            .await;
        assert_eq!(caller.final_response_with(None).await.status(), Some(200));
        let (bye, _) = caller.peer.recv_request("BYE").await;
        assert!(bye.header("Reason").unwrap().contains("cause=488"));
        let ok = common::response(&bye, 200, "OK", None, None, None);
        caller.peer.send(tandem, &ok).await;
        let err = acceptor.await.unwrap().unwrap_err();
        assert!(
            matches!(
                err,
                AcceptError::NotEstablished(EndCause::Accepted(B2bEndCause::Failed(_)))
            ),
            "{err:?}"
        );
        ep.shutdown().await.unwrap();
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn shutdown_hangs_up_accepted_calls_with_503() {
    tokio::time::timeout(TEST, async {
        let (ep, mut calls, tandem) = endpoint().await;
        let acceptor =
            tokio::spawn(async move { accept_next(&mut calls, AcceptOptions::new()).await });
        let (mut caller, _rtp) = dial(tandem).await;
        assert_eq!(caller.final_response().await.status(), Some(200));
        let call = acceptor.await.unwrap();
        let stopping = tokio::spawn(ep.shutdown());
        let (bye, _) = caller.peer.recv_request("BYE").await;
        assert!(bye.header("Reason").unwrap().contains("cause=503"));
        let ok = common::response(&bye, 200, "OK", None, None, None);
        caller.peer.send(tandem, &ok).await;
        stopping.await.unwrap().unwrap();
        assert_eq!(
            call.ended().await.cause,
            EndCause::Accepted(B2bEndCause::Terminated)
        );
    })
    .await
    .expect("test timed out");
}
