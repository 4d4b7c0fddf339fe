//! Property tests: parsers never panic, round trips, jitter buffer invariants.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::collections::HashSet;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use tandem_media::dtmf::rfc4733::TelephoneEvent;
use tandem_media::jitter::{JitterBuffer, JitterConfig, Playout};
use tandem_media::rtcp::parse_compound;
use tandem_media::rtp::{RtpExtension, RtpHeader, RtpPacket};

proptest! {
    #[test]
    fn rtp_parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = RtpPacket::parse(&bytes);
    }

    #[test]
    fn rtcp_parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = parse_compound(&bytes);
    }

    #[test]
    fn rtcp_parse_never_panics_with_valid_header(
        pt in 192u8..=210, count in 0u8..32, body in proptest::collection::vec(any::<u8>(), 0..40)
    ) {
        let mut bytes = vec![0x80 | count, pt];
        let words = (body.len() / 4) as u16;
        bytes.extend_from_slice(&words.to_be_bytes());
        bytes.extend_from_slice(&body[..4 * usize::from(words)]);
        let _ = parse_compound(&bytes);
    }

    #[test]
    fn rtp_round_trip(
        marker: bool, pt in 0u8..72, seq: u16, ts: u32, ssrc: u32,
        csrcs in proptest::collection::vec(any::<u32>(), 0..16),
        ext in proptest::option::of((any::<u16>(), proptest::collection::vec(any::<u8>(), 0..4).prop_map(|v| v.repeat(4)))),
        payload in proptest::collection::vec(any::<u8>(), 0..100),
        padding in 0u8..8,
    ) {
        let header = RtpHeader {
            marker, payload_type: pt, sequence: seq, timestamp: ts, ssrc, csrcs,
            extension: ext.map(|(profile, data)| RtpExtension { profile, data }),
        };
        let mut out = Vec::new();
        header.write(&payload, padding, &mut out).unwrap();
        let p = RtpPacket::parse(&out).unwrap();
        prop_assert_eq!(&p.header, &header);
        prop_assert_eq!(p.payload, &payload[..]);
    }

    #[test]
    fn dtmf_event_round_trip(event: u8, end: bool, volume in 0u8..64, duration: u16) {
        let ev = TelephoneEvent { event, end, volume, duration };
        prop_assert_eq!(TelephoneEvent::parse(&ev.to_bytes()), Ok(ev));
    }

    #[test]
    fn jitter_buffer_invariants(
        ops in proptest::collection::vec((0u64..60, 0u64..80, any::<bool>()), 1..300)
    ) {
        // Each op: a packet with sequence `seq` arriving `delay` ms after its send time,
        // optionally followed by a tick.
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(JitterConfig::new(8000));
        let mut seen = HashSet::new();
        let mut ticks = 0u32;
        let mut outputs = 0u32;
        let mut last = None;
        for (seq, delay, tick) in ops {
            let at = t0 + Duration::from_millis(20 * seq + delay);
            jb.push(at, seq, seq * 160, &[seq as u8]);
            if tick {
                let now = t0 + Duration::from_millis(20 * u64::from(ticks));
                ticks += 1;
                let out = jb.pop(now);
                outputs += 1;
                if let Playout::Frame { sequence, timestamp, .. } = out {
                    prop_assert!(seen.insert(sequence), "frame {} returned twice", sequence);
                    prop_assert!(last.is_none_or(|l| timestamp > l));
                    last = Some(timestamp);
                }
            }
        }
        prop_assert_eq!(outputs, ticks);
    }
}
