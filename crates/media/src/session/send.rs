//! The send side of an RTP stream and the RTCP report builder (RFC 3550 §5.1, §6.4).

use std::time::Instant;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::{RtpReceiver, SessionError, check_timing};
use crate::rtcp::{
    ReceiverReport, ReportBlock, RtcpPacket, SDES_CNAME, SdesChunk, SdesItem, SenderReport,
};
use crate::rtp::{RtpError, RtpHeader};

/// Configuration of an [`RtpSender`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendConfig {
    /// Payload type of the media packets.
    pub payload_type: u8,
    /// RTP clock rate.
    pub clock_rate: u32,
    /// Packetization time in ms, 10–60.
    pub ptime_ms: u32,
    /// Fixed SSRC, or `None` to draw one from the RNG (RFC 3550 §8).
    pub ssrc: Option<u32>,
}

/// Whether a packet starts a talkspurt (sets the marker bit, RFC 3551 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Talkspurt {
    /// Continuing audio.
    Continue,
    /// First packet after silence: the marker bit is set.
    Start,
}

/// The send side of one RTP stream: SSRC, sequence number and timestamp generation.
///
/// Initial sequence number and timestamp are random (RFC 3550 §5.1) from a seeded RNG, so
/// traces are reproducible.
#[derive(Debug, Clone)]
pub struct RtpSender {
    config: SendConfig,
    ssrc: u32,
    sequence: u16,
    timestamp: u32,
    packets: u32,
    octets: u32,
    after_silence: bool,
}

impl RtpSender {
    /// A sender whose SSRC (unless configured), first sequence number and first timestamp are
    /// drawn from an RNG seeded with `seed`.
    pub fn new(config: SendConfig, seed: u64) -> Result<Self, SessionError> {
        check_timing(config.clock_rate, config.ptime_ms)?;
        let mut rng = SmallRng::seed_from_u64(seed);
        let ssrc = config.ssrc.unwrap_or_else(|| rng.r#gen());
        Ok(Self {
            ssrc,
            sequence: rng.r#gen(),
            timestamp: rng.r#gen(),
            packets: 0,
            octets: 0,
            after_silence: true,
            config,
        })
    }

    /// SSRC of this stream.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Timestamp the next media packet will carry.
    pub fn next_timestamp(&self) -> u32 {
        self.timestamp
    }

    /// Sequence number the next packet will carry.
    pub fn next_sequence(&self) -> u16 {
        self.sequence
    }

    /// Timestamp units per packet at the configured ptime.
    pub fn units_per_packet(&self) -> u32 {
        self.config.clock_rate / 1000 * self.config.ptime_ms
    }

    /// Appends one media packet carrying `payload` that covers `duration` timestamp units.
    /// The marker is set on the first packet and on the first after [`Self::skip`]
    /// (start of a talkspurt), or when `talkspurt` says so.
    pub fn packetize(
        &mut self,
        payload: &[u8],
        duration: u32,
        talkspurt: Talkspurt,
        out: &mut Vec<u8>,
    ) -> Result<(), RtpError> {
        let marker = talkspurt == Talkspurt::Start || self.after_silence;
        let timestamp = self.timestamp;
        self.write(self.config.payload_type, marker, timestamp, payload, out)?;
        self.after_silence = false;
        self.timestamp = self.timestamp.wrapping_add(duration);
        Ok(())
    }

    /// Advances the timestamp over `duration` units of silence sent as nothing (silence
    /// suppression); the next packet starts a talkspurt.
    pub fn skip(&mut self, duration: u32) {
        self.timestamp = self.timestamp.wrapping_add(duration);
        self.after_silence = true;
    }

    /// Appends a packet with an explicit payload type, marker and timestamp (used for RFC 4733
    /// events, whose packets share the event's start timestamp). Only the sequence number
    /// advances.
    pub fn packetize_raw(
        &mut self,
        payload_type: u8,
        marker: bool,
        timestamp: u32,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), RtpError> {
        self.write(payload_type, marker, timestamp, payload, out)
    }

    fn write(
        &mut self,
        payload_type: u8,
        marker: bool,
        timestamp: u32,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), RtpError> {
        let header = RtpHeader {
            marker,
            payload_type,
            sequence: self.sequence,
            timestamp,
            ssrc: self.ssrc,
            csrcs: Vec::new(),
            extension: None,
        };
        header.write(payload, 0, out)?;
        self.sequence = self.sequence.wrapping_add(1);
        self.packets = self.packets.wrapping_add(1);
        self.octets = self.octets.wrapping_add(payload.len() as u32);
        Ok(())
    }

    /// A sender report at wall-clock `ntp_timestamp` (64-bit NTP format, supplied by the
    /// caller since this crate reads no clock), for the media timestamp `rtp_timestamp`
    /// (RFC 3550 §6.4.1).
    pub fn sender_report(
        &self,
        ntp_timestamp: u64,
        rtp_timestamp: u32,
        reports: Vec<ReportBlock>,
    ) -> SenderReport {
        SenderReport {
            ssrc: self.ssrc,
            ntp_timestamp,
            rtp_timestamp,
            packet_count: self.packets,
            octet_count: self.octets,
            reports,
        }
    }
}

/// Builds the compound RTCP packet of RFC 3550 §6.1 for one stream: an SR when `sender`
/// is given (media was sent), otherwise an RR, with a report block on the received stream if
/// any, then an SDES with the CNAME (§6.5.1). `ntp_timestamp` is the caller's wall clock and
/// `rtp_timestamp` the media time that corresponds to it.
pub fn compound_report(
    now: Instant,
    ntp_timestamp: u64,
    rtp_timestamp: u32,
    own_ssrc: u32,
    sender: Option<&RtpSender>,
    receiver: &mut RtpReceiver,
    cname: &str,
) -> Vec<RtcpPacket> {
    let reports: Vec<ReportBlock> = receiver.report_block(now).into_iter().collect();
    let first = match sender {
        Some(tx) => {
            RtcpPacket::SenderReport(tx.sender_report(ntp_timestamp, rtp_timestamp, reports))
        }
        None => RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: own_ssrc,
            reports,
        }),
    };
    let ssrc = sender.map_or(own_ssrc, RtpSender::ssrc);
    // A CNAME longer than 255 octets is cut: SDES items carry one length octet.
    let mut value = cname.as_bytes().to_vec();
    value.truncate(255);
    vec![
        first,
        RtcpPacket::SourceDescription(vec![SdesChunk {
            ssrc,
            items: vec![SdesItem {
                kind: SDES_CNAME,
                value,
            }],
        }]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::RtpPacket;
    use crate::session::ReceiveConfig;
    use std::net::SocketAddr;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn packet(ssrc: u32, seq: u16, ts: u32) -> Vec<u8> {
        RtpHeader {
            payload_type: 0,
            sequence: seq,
            timestamp: ts,
            ssrc,
            ..RtpHeader::default()
        }
        .to_bytes(&[0xff; 160])
        .unwrap()
    }

    #[test]
    fn sender_sequence_and_marker() {
        let config = SendConfig {
            payload_type: 0,
            clock_rate: 8000,
            ptime_ms: 20,
            ssrc: None,
        };
        let mut a = RtpSender::new(config.clone(), 42).unwrap();
        let b = RtpSender::new(config, 42).unwrap();
        assert_eq!(
            (a.ssrc(), a.next_sequence(), a.next_timestamp()),
            (b.ssrc(), b.next_sequence(), b.next_timestamp())
        );
        let (seq0, ts0) = (a.next_sequence(), a.next_timestamp());
        let mut parsed = Vec::new();
        for i in 0..6 {
            if i == 3 {
                a.skip(320);
            }
            let mut out = Vec::new();
            a.packetize(
                &[0; 160],
                a.units_per_packet(),
                Talkspurt::Continue,
                &mut out,
            )
            .unwrap();
            parsed.push(RtpPacket::parse(&out).unwrap().header);
        }
        let markers: Vec<bool> = parsed.iter().map(|h| h.marker).collect();
        assert_eq!(markers, [true, false, false, true, false, false]);
        assert_eq!(parsed[5].sequence, seq0.wrapping_add(5));
        assert_eq!(parsed[5].timestamp, ts0.wrapping_add(160 * 5 + 320));
        let sr = a.sender_report(1 << 32, parsed[5].timestamp, vec![]);
        assert_eq!((sr.packet_count, sr.octet_count), (6, 960));
    }

    #[test]
    fn compound_report_rr_then_sr() {
        let t0 = Instant::now();
        let peer = addr("192.0.2.1:4000");
        let mut rx = RtpReceiver::new(t0, ReceiveConfig::new(8000, Some(peer))).unwrap();
        rx.handle_datagram(t0, peer, &packet(77, 1, 0)).unwrap();
        let rr = compound_report(t0, 0, 0, 5, None, &mut rx, "tandem@host");
        assert!(crate::rtcp::is_valid_compound(&rr));
        let RtcpPacket::ReceiverReport(r) = &rr[0] else {
            panic!("expected RR");
        };
        assert_eq!((r.ssrc, r.reports[0].ssrc), (5, 77));
        let tx = RtpSender::new(
            SendConfig {
                payload_type: 0,
                clock_rate: 8000,
                ptime_ms: 20,
                ssrc: Some(9),
            },
            1,
        )
        .unwrap();
        let sr = compound_report(t0, 1 << 32, 160, 9, Some(&tx), &mut rx, "x");
        let mut bytes = Vec::new();
        crate::rtcp::write_compound(&sr, &mut bytes).unwrap();
        assert_eq!(crate::rtcp::parse_compound(&bytes).unwrap(), sr);
        assert!(matches!(&sr[0], RtcpPacket::SenderReport(s) if s.ssrc == 9));
    }
}
