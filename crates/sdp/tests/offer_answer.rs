//! RFC 3264 offer/answer scenarios.

// Test helpers outside #[test] fns may unwrap too (clippy.toml only covers #[test] fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tandem_sdp::{
    CodecCapability, Direction, NegotiatedStream, OfferAnswer, OfferAnswerError, OfferAnswerState,
    Origin, OriginRewriter, SessionDescription, answer_formats, hold_offer, is_resume,
    negotiated_streams, rejecting_answer, resume_offer,
};

fn sdp(user: &str, version: u64, media: &str) -> SessionDescription {
    format!(
        "v=0\r\no={user} 100 {version} IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\n\
         t=0 0\r\n{media}"
    )
    .parse()
    .unwrap()
}

const AUDIO_VIDEO: &str = "m=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n\
                           m=video 4002 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n";

fn tandem_origin() -> Origin<'static> {
    Origin {
        username: "tandem",
        session_id: "777",
        session_version: 1,
        net_type: "IN",
        addr_type: "IP4",
        address: "203.0.113.1",
    }
}

#[test]
fn basic_offer_answer() {
    let mut oa = OfferAnswer::new();
    let offer = sdp("alice", 1, AUDIO_VIDEO);
    let answer = sdp(
        "bob",
        1,
        "m=audio 5000 RTP/AVP 0 101\r\nm=video 0 RTP/AVP 96\r\n",
    );
    oa.record_local_offer(offer.clone()).unwrap();
    assert_eq!(oa.state(), &OfferAnswerState::LocalOffer(offer.clone()));
    oa.record_remote_answer(answer.clone()).unwrap();
    assert_eq!(oa.state(), &OfferAnswerState::Stable);
    assert_eq!(oa.local_description(), Some(&offer));
    assert_eq!(oa.remote_description(), Some(&answer));
    let streams = negotiated_streams(&offer, &answer).unwrap();
    assert_eq!(
        streams,
        [
            NegotiatedStream::Active(Direction::SendRecv),
            NegotiatedStream::Rejected
        ]
    );
}

#[test]
fn re_offer_hold_and_resume() {
    let mut oa = OfferAnswer::new();
    let offer = sdp("alice", 1, AUDIO_VIDEO);
    oa.record_local_offer(offer.clone()).unwrap();
    oa.record_remote_answer(sdp("bob", 1, AUDIO_VIDEO)).unwrap();

    let hold = hold_offer(oa.local_description().unwrap());
    assert_eq!(hold.origin().session_version, 2, "RFC 3264 §8: version+1");
    assert!(hold.is_hold());
    assert!(
        hold.media_sections()
            .all(|m| m.own_direction() == Some(Direction::SendOnly))
    );
    oa.record_local_offer(hold.clone()).unwrap();
    // The held peer answers recvonly (RFC 3264 §6.1).
    let mut held_answer = sdp("bob", 2, AUDIO_VIDEO);
    for i in 0..2 {
        let d = Direction::SendRecv.answer_to(hold.media(i).unwrap().direction());
        held_answer.set_media_direction(i, d).unwrap();
    }
    assert_eq!(
        held_answer.media(0).unwrap().direction(),
        Direction::RecvOnly
    );
    oa.record_remote_answer(held_answer.clone()).unwrap();
    let streams = negotiated_streams(&hold, &held_answer).unwrap();
    assert!(
        streams
            .iter()
            .all(|s| *s == NegotiatedStream::Active(Direction::SendOnly))
    );

    let resume = resume_offer(oa.local_description().unwrap());
    assert_eq!(resume.origin().session_version, 3);
    assert!(is_resume(&hold, &resume));
    assert!(!is_resume(&resume, &hold));
    oa.record_local_offer(resume).unwrap();
    oa.record_remote_answer(sdp("bob", 3, AUDIO_VIDEO)).unwrap();
    assert!(!oa.local_description().unwrap().is_hold());

    // Holding a recvonly stream makes it inactive (RFC 3264 §8.4).
    let mut recvonly = sdp("alice", 1, "m=audio 4000 RTP/AVP 0\r\na=recvonly\r\n");
    recvonly = hold_offer(&recvonly);
    assert_eq!(recvonly.media(0).unwrap().direction(), Direction::Inactive);
}

#[test]
fn legacy_hold_is_recognised() {
    let held = sdp("alice", 2, "m=audio 4000 RTP/AVP 0\r\n");
    let mut null = held.clone();
    null.set_session_connection_address("0.0.0.0").unwrap();
    assert!(null.is_hold());
    assert!(is_resume(&null, &held));
}

#[test]
fn rejected_stream_keeps_its_place() {
    let offer = sdp("alice", 1, AUDIO_VIDEO);
    let mut answer = offer.clone();
    answer.set_media_port(0, 0).unwrap();
    let mut oa = OfferAnswer::new();
    oa.record_remote_offer(offer.clone()).unwrap();
    oa.record_local_answer(answer.clone()).unwrap();
    assert_eq!(oa.local_description().unwrap().media_count(), 2);
    assert!(
        oa.local_description()
            .unwrap()
            .media(0)
            .unwrap()
            .is_rejected()
    );
    let streams = negotiated_streams(&offer, &answer).unwrap();
    assert_eq!(
        streams,
        [
            NegotiatedStream::Rejected,
            NegotiatedStream::Active(Direction::SendRecv)
        ]
    );

    // A 488 answer rejecting everything.
    let reject = rejecting_answer(&offer, &tandem_origin()).unwrap();
    assert_eq!(reject.media_count(), 2);
    assert!(reject.media_sections().all(|m| m.is_rejected()));
    assert_eq!(reject.media(1).unwrap().media_type(), "video");
}

#[test]
fn glare_and_pending_offers() {
    let mut oa = OfferAnswer::new();
    oa.record_local_offer(sdp("alice", 1, AUDIO_VIDEO)).unwrap();
    assert_eq!(
        oa.record_remote_offer(sdp("bob", 1, AUDIO_VIDEO)),
        Err(OfferAnswerError::Glare)
    );
    assert!(matches!(oa.state(), OfferAnswerState::LocalOffer(_)));
    // After the 491, the local offer is withdrawn; the remote retry is accepted.
    assert!(oa.rollback().is_some());
    oa.record_remote_offer(sdp("bob", 1, AUDIO_VIDEO)).unwrap();
    assert_eq!(
        oa.record_remote_offer(sdp("bob", 2, AUDIO_VIDEO)),
        Err(OfferAnswerError::OfferPending)
    );
    assert_eq!(
        oa.record_local_offer(sdp("alice", 2, AUDIO_VIDEO)),
        Err(OfferAnswerError::OfferPending)
    );
    assert_eq!(
        OfferAnswerError::Glare.to_string(),
        "offer received while a local offer is outstanding (glare)"
    );
}

#[test]
fn answer_without_offer() {
    let mut oa = OfferAnswer::new();
    let s = sdp("bob", 1, AUDIO_VIDEO);
    assert_eq!(
        oa.record_remote_answer(s.clone()),
        Err(OfferAnswerError::AnswerWithoutOffer)
    );
    assert_eq!(
        oa.record_local_answer(s.clone()),
        Err(OfferAnswerError::AnswerWithoutOffer)
    );
    oa.record_local_offer(s.clone()).unwrap();
    oa.record_remote_answer(s.clone()).unwrap();
    assert_eq!(
        oa.record_remote_answer(s),
        Err(OfferAnswerError::AnswerWithoutOffer)
    );
}

#[test]
fn wrong_media_count() {
    let mut oa = OfferAnswer::new();
    let offer = sdp("alice", 1, AUDIO_VIDEO);
    oa.record_local_offer(offer.clone()).unwrap();
    let short = sdp("bob", 1, "m=audio 5000 RTP/AVP 0\r\n");
    let err = oa.record_remote_answer(short).unwrap_err();
    assert_eq!(
        err,
        OfferAnswerError::MediaCountMismatch {
            offer: 2,
            answer: 1
        }
    );
    assert_eq!(err.to_string(), "answer has 1 m= lines, the offer has 2");
    assert_eq!(
        oa.state(),
        &OfferAnswerState::LocalOffer(offer),
        "state unchanged"
    );
}

#[test]
fn direction_table_rfc3264_6_1() {
    use Direction::*;
    let cases = [
        // (offer, answer, negotiated from the offerer's side)
        (SendRecv, SendRecv, SendRecv),
        (SendRecv, SendOnly, RecvOnly),
        (SendRecv, RecvOnly, SendOnly),
        (SendRecv, Inactive, Inactive),
        (SendOnly, RecvOnly, SendOnly),
        (SendOnly, Inactive, Inactive),
        (RecvOnly, SendOnly, RecvOnly),
        (RecvOnly, Inactive, Inactive),
        (Inactive, Inactive, Inactive),
        // An answer outside the table cannot widen the offer.
        (SendOnly, SendRecv, SendOnly),
    ];
    for (o, a, expected) in cases {
        let mut offer = sdp("alice", 1, "m=audio 4000 RTP/AVP 0\r\n");
        offer.set_media_direction(0, o).unwrap();
        let mut answer = sdp("bob", 1, "m=audio 5000 RTP/AVP 0\r\n");
        answer.set_session_direction(a);
        let got = negotiated_streams(&offer, &answer).unwrap();
        assert_eq!(got, [NegotiatedStream::Active(expected)], "{o:?} / {a:?}");
    }
    for o in [SendRecv, SendOnly, RecvOnly, Inactive] {
        let answer = SendRecv.answer_to(o);
        assert_eq!(
            answer,
            o.reversed(),
            "a fully capable answerer mirrors the offer"
        );
    }
}

#[test]
fn codec_intersection_keeps_offerer_order() {
    let offer = sdp(
        "alice",
        1,
        "m=audio 4000 RTP/AVP 96 8 0 101 102\r\na=rtpmap:96 opus/48000/2\r\n\
         a=rtpmap:101 telephone-event/48000\r\na=rtpmap:102 telephone-event/8000\r\n\
         a=fmtp:102 0-16\r\n",
    );
    let supported = [
        CodecCapability {
            encoding: "pcmu",
            clock_rate: 8000,
            channels: 1,
        },
        CodecCapability {
            encoding: "PCMA",
            clock_rate: 8000,
            channels: 1,
        },
        CodecCapability {
            encoding: "telephone-event",
            clock_rate: 8000,
            channels: 1,
        },
    ];
    let media = offer.media(0).unwrap();
    let kept: Vec<&str> = answer_formats(&media, &supported)
        .iter()
        .map(|c| c.format)
        .collect();
    assert_eq!(
        kept,
        ["8", "0", "102"],
        "offer order, DTMF at the kept codecs' rate"
    );

    let mut answer = offer.clone();
    answer.set_formats(0, &kept).unwrap();
    let text = String::from_utf8(answer.to_bytes()).unwrap();
    assert!(text.contains("m=audio 4000 RTP/AVP 8 0 102\r\n"));
    assert!(!text.contains("opus") && !text.contains("telephone-event/48000"));
    assert!(text.contains("a=fmtp:102 0-16\r\n"));

    let opus_only = [
        CodecCapability {
            encoding: "opus",
            clock_rate: 48000,
            channels: 2,
        },
        CodecCapability {
            encoding: "telephone-event",
            clock_rate: 8000,
            channels: 1,
        },
    ];
    let kept: Vec<u8> = answer_formats(&media, &opus_only)
        .iter()
        .map(|c| c.payload_type)
        .collect();
    assert_eq!(kept, [96, 101]);
    assert!(answer_formats(&media, &[]).is_empty());
}

#[test]
fn b2bua_relay_with_origin_rewriter() {
    // Leg A offers; Tandem relays the body to leg B as its own origin.
    let mut leg_b = OriginRewriter::new(&tandem_origin()).unwrap();
    let offer_a = sdp("alice", 10, AUDIO_VIDEO);
    let to_b = leg_b.rewrite(&offer_a);
    assert_eq!(to_b.origin(), tandem_origin());
    let diff: Vec<_> = offer_a
        .lines()
        .zip(to_b.lines())
        .filter(|(x, y)| x != y)
        .collect();
    assert_eq!(diff.len(), 1, "only o= differs");

    // A re-INVITE from A with the same body (A bumped its version anyway): unchanged version.
    assert_eq!(
        leg_b
            .rewrite(&sdp("alice", 11, AUDIO_VIDEO))
            .origin()
            .session_version,
        1
    );
    // A puts B on hold: new content, version+1.
    let held = hold_offer(&offer_a);
    let to_b = leg_b.rewrite(&held);
    assert_eq!(to_b.origin().session_version, 2);
    assert!(to_b.is_hold());

    // The state machine on leg B sees a proper sequence.
    let mut oa_b = OfferAnswer::new();
    oa_b.record_local_offer(to_b.clone()).unwrap();
    oa_b.record_remote_answer(sdp("bob", 5, AUDIO_VIDEO))
        .unwrap();
}
