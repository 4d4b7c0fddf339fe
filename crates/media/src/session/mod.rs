//! Sans-IO RTP session state: the receive side ([`RtpReceiver`]) and the send side
//! ([`RtpSender`]).
//!
//! The receiver validates sequence numbers as in RFC 3550 A.1, extends sequence numbers and
//! timestamps across their 16- and 32-bit wraps, resets on an SSRC change, latches onto the
//! remote address (symmetric RTP, RFC 4961), computes loss (A.3) and interarrival jitter (A.8)
//! for receiver reports, and reports inactivity. It never reads the clock: every input carries
//! `now`.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use tandem_media::rtp::RtpHeader;
//! use tandem_media::session::{ReceiveConfig, RtpReceiver, ReceiveEvent};
//!
//! let start = Instant::now(); // in production: the driver's clock
//! let peer = "192.0.2.1:4000".parse().unwrap();
//! let mut rx = RtpReceiver::new(start, ReceiveConfig::new(8000, Some(peer))).unwrap();
//! let header = RtpHeader { payload_type: 0, sequence: 7, timestamp: 160, ssrc: 1, ..Default::default() };
//! let datagram = header.to_bytes(&[0xff; 160]).unwrap();
//! let got = rx.handle_datagram(start, peer, &datagram).unwrap();
//! assert_eq!(got.packet.payload.len(), 160);
//! assert_eq!(rx.poll_event(), Some(ReceiveEvent::Latched(peer)));
//! // No packet for the inactivity timeout: an event.
//! rx.handle_timeout(start + Duration::from_secs(31));
//! assert_eq!(rx.poll_event(), Some(ReceiveEvent::Inactive));
//! ```

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::rtcp::{ReportBlock, SenderReport};
use crate::rtp::{RtpError, RtpPacket};

mod send;

pub use send::{RtpSender, SendConfig, Talkspurt, compound_report};

/// A1: largest forward sequence jump accepted as in-order loss.
const MAX_DROPOUT: u16 = 3000;
/// A1: largest backward sequence jump accepted as reordering.
const MAX_MISORDER: u16 = 100;

/// Errors of building a session from configuration (the caller's misuse, never the network).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// The packetization time is outside 10–60 ms, or not a whole number of milliseconds of
    /// the clock.
    #[error("ptime {0} ms is outside 10..=60")]
    BadPtime(u32),
    /// The clock rate is zero or not a multiple of 1000 Hz.
    #[error("clock rate {0} Hz is not supported")]
    BadClockRate(u32),
}

/// Which remote address the receiver accepts packets from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Latching {
    /// Accept only the address signalled in SDP; no latching at all.
    SignalledOnly,
    /// Symmetric RTP (RFC 4961) with NAT traversal ("comedia"): latch onto the source address
    /// of the first valid packet, whether or not it is the signalled one. Before latching, a
    /// packet from the signalled address is preferred simply because it is usually first.
    /// After latching, packets from other addresses are discarded until [`RtpReceiver::relatch`].
    FirstPacket,
}

/// Configuration of an [`RtpReceiver`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiveConfig {
    /// RTP clock rate of the payload format (8000 for PCMU/PCMA/G.722, 48000 for Opus).
    pub clock_rate: u32,
    /// Expected packetization time in ms, 10–60 (RFC 4566 `a=ptime`).
    pub ptime_ms: u32,
    /// Remote address from SDP (`c=` and `m=` port), if known.
    pub signalled: Option<SocketAddr>,
    /// Latching policy; [`Latching::FirstPacket`] by default, as most peers sit behind NAT.
    pub latching: Latching,
    /// Silence on the wire after which [`ReceiveEvent::Inactive`] is emitted.
    pub inactivity_timeout: Duration,
    /// Sequential packets needed to accept a new source (RFC 3550 A.1 `MIN_SEQUENTIAL`). The
    /// RFC suggests 2; the default is 1 so that the first packet already plays, which is safe
    /// behind latching.
    pub min_sequential: u16,
}

impl ReceiveConfig {
    /// Defaults: 20 ms ptime, first-packet latching, 30 s inactivity timeout.
    pub fn new(clock_rate: u32, signalled: Option<SocketAddr>) -> Self {
        Self {
            clock_rate,
            ptime_ms: 20,
            signalled,
            latching: Latching::FirstPacket,
            inactivity_timeout: Duration::from_secs(30),
            min_sequential: 1,
        }
    }
}

/// Why a datagram was not delivered: a counted discard, never an API error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Discard {
    /// Not a valid RTP packet.
    #[error("malformed: {0}")]
    Malformed(#[from] RtpError),
    /// From an address other than the latched (or signalled) one.
    #[error("unexpected source address")]
    WrongSource,
    /// A new source still on probation (RFC 3550 A.1).
    #[error("source on probation")]
    Probation,
    /// A sequence jump larger than `MAX_DROPOUT` not yet confirmed by a second packet (A.1).
    #[error("sequence number jump")]
    SequenceJump,
}

/// A delivered packet with its extended counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received<'a> {
    /// The packet.
    pub packet: RtpPacket<'a>,
    /// Sequence number extended with the wrap count (cycles << 16 | seq).
    pub extended_seq: u64,
    /// Timestamp extended across 32-bit wraps (relative to the first packet of this SSRC).
    pub extended_ts: u64,
}

/// Events of the receiver, drained by [`RtpReceiver::poll_event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiveEvent {
    /// The receiver latched onto this remote address; RTP must now be sent there.
    Latched(SocketAddr),
    /// The sender's SSRC changed; sequence, timestamp and statistics were reset.
    SsrcChanged {
        /// Previous SSRC.
        old: u32,
        /// New SSRC.
        new: u32,
    },
    /// No packet arrived for the configured inactivity timeout.
    Inactive,
    /// Packets arrive again after [`ReceiveEvent::Inactive`].
    Resumed,
}

/// Counters of the receive side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReceiveStats {
    /// Packets delivered.
    pub received: u64,
    /// Packets expected from the sequence range (A.3).
    pub expected: u64,
    /// Cumulative packets lost, negative when duplicates outnumber losses (A.3).
    pub lost: i64,
    /// Interarrival jitter in timestamp units (A.8).
    pub jitter: u32,
    /// Datagrams discarded (malformed, wrong source, probation, jumps).
    pub discarded: u64,
}

/// The receive side of one RTP stream.
#[derive(Debug, Clone)]
pub struct RtpReceiver {
    config: ReceiveConfig,
    latched: Option<SocketAddr>,
    source: Option<Source>,
    last_packet_at: Instant,
    inactive: bool,
    events: VecDeque<ReceiveEvent>,
    discarded: u64,
    /// Middle 32 bits of the last SR's NTP time and when it arrived.
    last_sr: Option<(u32, Instant)>,
    /// Origin of arrival times in timestamp units for the jitter computation.
    epoch: Instant,
}

/// Per-SSRC state of RFC 3550 A.1 / A.3 / A.8.
#[derive(Debug, Clone)]
struct Source {
    ssrc: u32,
    max_seq: u16,
    cycles: u64,
    base_seq: u64,
    bad_seq: Option<u16>,
    probation: u16,
    received: u64,
    expected_prior: u64,
    received_prior: u64,
    /// Jitter scaled by 16, as in A.8's integer version.
    jitter_q4: u64,
    transit: Option<i64>,
    ts_base: u32,
    last_ext_ts: i64,
}

impl Source {
    fn new(ssrc: u32, seq: u16, ts: u32, probation: u16) -> Self {
        let mut s = Self {
            ssrc,
            max_seq: seq.wrapping_sub(1),
            cycles: 0,
            base_seq: 0,
            bad_seq: None,
            probation,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            jitter_q4: 0,
            transit: None,
            ts_base: ts,
            last_ext_ts: 0,
        };
        s.base_seq = u64::from(seq);
        s
    }

    /// A.1 `init_seq`.
    fn init_seq(&mut self, seq: u16) {
        self.base_seq = u64::from(seq);
        self.max_seq = seq;
        self.bad_seq = None;
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
    }

    /// A.1 `update_seq`: Ok(()) if the packet is valid.
    fn update_seq(&mut self, seq: u16, min_sequential: u16) -> Result<(), Discard> {
        let udelta = seq.wrapping_sub(self.max_seq);
        if self.probation > 0 {
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init_seq(seq);
                    self.received += 1;
                    return Ok(());
                }
            } else {
                self.probation = min_sequential.saturating_sub(1);
                self.max_seq = seq;
            }
            return Err(Discard::Probation);
        }
        if udelta < MAX_DROPOUT {
            if seq < self.max_seq {
                self.cycles += 1 << 16;
            }
            self.max_seq = seq;
        } else if udelta <= u16::MAX - MAX_MISORDER {
            // A very large jump: the sender restarted, or garbage. Accept after two in a row.
            if Some(seq) == self.bad_seq {
                self.init_seq(seq);
            } else {
                self.bad_seq = Some(seq.wrapping_add(1));
                return Err(Discard::SequenceJump);
            }
        }
        // else: duplicate or reordered packet, delivered as is.
        self.received += 1;
        Ok(())
    }

    fn extended_max(&self) -> u64 {
        self.cycles + u64::from(self.max_seq)
    }

    fn extend_seq(&self, seq: u16) -> u64 {
        let delta = i64::from(seq.wrapping_sub(self.max_seq) as i16);
        (self.extended_max() as i64 + delta).max(0) as u64
    }

    fn extend_ts(&mut self, ts: u32) -> u64 {
        let rel = ts.wrapping_sub(self.ts_base);
        let last = self.last_ext_ts;
        let delta = i64::from(rel.wrapping_sub(last as u32) as i32);
        let ext = last + delta;
        if delta > 0 {
            self.last_ext_ts = ext;
        }
        ext.max(0) as u64
    }

    fn expected(&self) -> u64 {
        (self.extended_max() + 1).saturating_sub(self.base_seq)
    }
}

impl RtpReceiver {
    /// A receiver started at `now` (the inactivity clock starts here).
    pub fn new(now: Instant, config: ReceiveConfig) -> Result<Self, SessionError> {
        check_timing(config.clock_rate, config.ptime_ms)?;
        Ok(Self {
            latched: None,
            source: None,
            last_packet_at: now,
            inactive: false,
            events: VecDeque::new(),
            discarded: 0,
            last_sr: None,
            epoch: now,
            config,
        })
    }

    /// Handles one datagram from `from` received at `now`.
    ///
    /// Returns the packet with its extended sequence number and timestamp, or why it was
    /// discarded. Events (latching, SSRC change, resume) are queued for [`Self::poll_event`].
    pub fn handle_datagram<'a>(
        &mut self,
        now: Instant,
        from: SocketAddr,
        datagram: &'a [u8],
    ) -> Result<Received<'a>, Discard> {
        let result = self.receive(now, from, datagram);
        if result.is_err() {
            self.discarded += 1;
        }
        result
    }

    fn receive<'a>(
        &mut self,
        now: Instant,
        from: SocketAddr,
        datagram: &'a [u8],
    ) -> Result<Received<'a>, Discard> {
        let packet = RtpPacket::parse(datagram)?;
        match (self.latched, self.config.latching) {
            (Some(addr), _) if addr != from => return Err(Discard::WrongSource),
            (None, Latching::SignalledOnly) if self.config.signalled != Some(from) => {
                return Err(Discard::WrongSource);
            }
            _ => {}
        }
        let header = &packet.header;
        match &mut self.source {
            Some(src) if src.ssrc == header.ssrc => {}
            Some(src) => {
                // RFC 3550 §8.2: a new SSRC from the same transport address is a new source
                // (the peer restarted or switched streams): start afresh.
                let old = src.ssrc;
                self.source = Some(Source::new(
                    header.ssrc,
                    header.sequence,
                    header.timestamp,
                    self.config.min_sequential,
                ));
                self.events.push_back(ReceiveEvent::SsrcChanged {
                    old,
                    new: header.ssrc,
                });
            }
            None => {
                self.source = Some(Source::new(
                    header.ssrc,
                    header.sequence,
                    header.timestamp,
                    self.config.min_sequential,
                ));
            }
        }
        let arrival = self.arrival_units(now);
        let min_seq = self.config.min_sequential;
        let Some(src) = self.source.as_mut() else {
            return Err(Discard::Probation);
        };
        src.update_seq(header.sequence, min_seq)?;
        if self.latched.is_none() {
            self.latched = Some(from);
            self.events.push_back(ReceiveEvent::Latched(from));
        }
        let extended_seq = src.extend_seq(header.sequence);
        let extended_ts = src.extend_ts(header.timestamp);
        // A.8: interarrival jitter from the difference of relative transit times (on the
        // extended timestamp, so that the 32-bit wrap does not count as jitter).
        let transit = arrival - extended_ts as i64;
        if let Some(prev) = src.transit {
            let d = (transit - prev).unsigned_abs();
            // J += (|D| - J) / 16, kept scaled by 16.
            src.jitter_q4 = src.jitter_q4 + d - ((src.jitter_q4 + 8) >> 4);
        }
        src.transit = Some(transit);
        self.last_packet_at = now;
        if self.inactive {
            self.inactive = false;
            self.events.push_back(ReceiveEvent::Resumed);
        }
        Ok(Received {
            packet,
            extended_seq,
            extended_ts,
        })
    }

    /// Arrival time in RTP timestamp units since the receiver's epoch (A.8 "arrival").
    fn arrival_units(&self, now: Instant) -> i64 {
        let ns = now.saturating_duration_since(self.epoch).as_nanos();
        (ns * u128::from(self.config.clock_rate) / 1_000_000_000) as i64
    }

    /// Checks the inactivity timer.
    pub fn handle_timeout(&mut self, now: Instant) {
        if !self.inactive && now >= self.last_packet_at + self.config.inactivity_timeout {
            self.inactive = true;
            self.events.push_back(ReceiveEvent::Inactive);
        }
    }

    /// When [`Self::handle_timeout`] should next be called, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        (!self.inactive).then(|| self.last_packet_at + self.config.inactivity_timeout)
    }

    /// Next queued event.
    pub fn poll_event(&mut self) -> Option<ReceiveEvent> {
        self.events.pop_front()
    }

    /// The latched remote address: where symmetric RTP sends.
    pub fn remote(&self) -> Option<SocketAddr> {
        self.latched.or(self.config.signalled)
    }

    /// The current sender's SSRC.
    pub fn remote_ssrc(&self) -> Option<u32> {
        self.source.as_ref().map(|s| s.ssrc)
    }

    /// Forgets the latched address (after a re-INVITE changed the remote address); the next
    /// valid packet latches again.
    pub fn relatch(&mut self, signalled: Option<SocketAddr>) {
        self.config.signalled = signalled;
        self.latched = None;
    }

    /// Packetization time in ms from the configuration.
    pub fn ptime_ms(&self) -> u32 {
        self.config.ptime_ms
    }

    /// Records a sender report from the remote for LSR/DLSR (RFC 3550 §6.4.1).
    pub fn handle_sender_report(&mut self, now: Instant, sr: &SenderReport) {
        self.last_sr = Some(((sr.ntp_timestamp >> 16) as u32, now));
    }

    /// Cumulative statistics.
    pub fn stats(&self) -> ReceiveStats {
        let Some(src) = &self.source else {
            return ReceiveStats {
                discarded: self.discarded,
                ..ReceiveStats::default()
            };
        };
        let expected = src.expected();
        ReceiveStats {
            received: src.received,
            expected,
            lost: expected as i64 - src.received as i64,
            jitter: (src.jitter_q4 >> 4) as u32,
            discarded: self.discarded,
        }
    }

    /// A reception report block for an RR or SR (RFC 3550 §6.4.1, A.3), starting a new
    /// interval for the fraction lost. `None` before the first packet.
    pub fn report_block(&mut self, now: Instant) -> Option<ReportBlock> {
        let last_sr = self.last_sr;
        let src = self.source.as_mut()?;
        let expected = src.expected();
        let lost = (expected as i64 - src.received as i64).clamp(-(1 << 23), (1 << 23) - 1);
        let expected_interval = expected - src.expected_prior;
        let received_interval = src.received - src.received_prior;
        src.expected_prior = expected;
        src.received_prior = src.received;
        let lost_interval = expected_interval as i64 - received_interval as i64;
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / expected_interval as i64).min(255) as u8
        };
        let (last_sr, delay_since_last_sr) = match last_sr {
            Some((lsr, at)) => {
                let d = now.saturating_duration_since(at);
                (lsr, (d.as_nanos() * 65_536 / 1_000_000_000) as u32)
            }
            None => (0, 0),
        };
        Some(ReportBlock {
            ssrc: src.ssrc,
            fraction_lost,
            cumulative_lost: lost as i32,
            extended_highest_seq: src.extended_max() as u32,
            jitter: (src.jitter_q4 >> 4) as u32,
            last_sr,
            delay_since_last_sr,
        })
    }
}
pub(crate) fn check_timing(clock_rate: u32, ptime_ms: u32) -> Result<(), SessionError> {
    if clock_rate == 0 || !clock_rate.is_multiple_of(1000) {
        return Err(SessionError::BadClockRate(clock_rate));
    }
    if !(10..=60).contains(&ptime_ms) {
        return Err(SessionError::BadPtime(ptime_ms));
    }
    Ok(())
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::RtpHeader;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn ext(r: Result<Received<'_>, Discard>) -> (u64, u64) {
        let r = r.unwrap();
        (r.extended_seq, r.extended_ts)
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
    fn sequence_and_timestamp_wrap() {
        let t0 = Instant::now();
        let peer = addr("192.0.2.1:4000");
        let mut rx = RtpReceiver::new(t0, ReceiveConfig::new(8000, Some(peer))).unwrap();
        let mut seq = 65_530u16;
        let mut ts = u32::MAX - 480;
        let mut last = None;
        for i in 0..20u32 {
            let now = t0 + Duration::from_millis(20 * u64::from(i));
            let got = ext(rx.handle_datagram(now, peer, &packet(5, seq, ts)));
            if let Some((s, t)) = last {
                assert_eq!(got.0, s + 1);
                assert_eq!(got.1, t + 160);
            }
            last = Some(got);
            seq = seq.wrapping_add(1);
            ts = ts.wrapping_add(160);
        }
        assert_eq!(last.unwrap().0, 65_536 + 13);
        let stats = rx.stats();
        assert_eq!((stats.received, stats.expected, stats.lost), (20, 20, 0));
        assert_eq!(stats.jitter, 0);
        // A reordered packet from before the wrap gets its old extended number.
        let got = ext(rx.handle_datagram(t0, peer, &packet(5, 65_535, ts.wrapping_sub(160 * 14))));
        assert_eq!(got.0, 65_535);
    }

    #[test]
    fn loss_and_report_block() {
        let t0 = Instant::now();
        let peer = addr("192.0.2.1:4000");
        let mut rx = RtpReceiver::new(t0, ReceiveConfig::new(8000, Some(peer))).unwrap();
        for i in 0..100u16 {
            if i % 10 == 3 {
                continue; // 10% loss
            }
            let now = t0 + Duration::from_millis(20 * u64::from(i));
            rx.handle_datagram(now, peer, &packet(9, 1000 + i, 160 * u32::from(i)))
                .unwrap();
        }
        let block = rx.report_block(t0 + Duration::from_secs(2)).unwrap();
        assert_eq!(block.ssrc, 9);
        assert_eq!(block.cumulative_lost, 10);
        assert_eq!(block.fraction_lost, (10 * 256 / 100) as u8);
        assert_eq!(block.extended_highest_seq, 1099);
        // Next interval with no loss.
        for i in 100..110u16 {
            let now = t0 + Duration::from_millis(20 * u64::from(i));
            rx.handle_datagram(now, peer, &packet(9, 1000 + i, 160 * u32::from(i)))
                .unwrap();
        }
        let block = rx.report_block(t0 + Duration::from_secs(3)).unwrap();
        assert_eq!(block.fraction_lost, 0);
        assert_eq!(block.cumulative_lost, 10);
    }

    #[test]
    fn jitter_follows_a8() {
        let t0 = Instant::now();
        let peer = addr("192.0.2.1:4000");
        let mut rx = RtpReceiver::new(t0, ReceiveConfig::new(8000, Some(peer))).unwrap();
        // Packets alternate 0 and 10 ms late: |D| = 80 units each time after the first.
        for i in 0..400u32 {
            let late = if i % 2 == 0 { 0 } else { 10 };
            let now = t0 + Duration::from_millis(u64::from(20 * i + late));
            rx.handle_datagram(now, peer, &packet(1, i as u16, 160 * i))
                .unwrap();
        }
        let j = rx.stats().jitter;
        assert!((75..=80).contains(&j), "jitter {j}");
    }

    #[test]
    fn latching_first_packet_and_wrong_source() {
        let t0 = Instant::now();
        let signalled = addr("10.0.0.5:4000");
        let nat = addr("203.0.113.7:31000");
        let mut rx = RtpReceiver::new(t0, ReceiveConfig::new(8000, Some(signalled))).unwrap();
        rx.handle_datagram(t0, nat, &packet(1, 1, 0)).unwrap();
        assert_eq!(rx.poll_event(), Some(ReceiveEvent::Latched(nat)));
        assert_eq!(rx.remote(), Some(nat));
        assert_eq!(
            rx.handle_datagram(t0, signalled, &packet(1, 2, 160)),
            Err(Discard::WrongSource)
        );
        assert_eq!(rx.stats().discarded, 1);
        rx.relatch(Some(signalled));
        rx.handle_datagram(t0, signalled, &packet(1, 2, 160))
            .unwrap();
        assert_eq!(rx.poll_event(), Some(ReceiveEvent::Latched(signalled)));
    }

    #[test]
    fn signalled_only_latching() {
        let t0 = Instant::now();
        let signalled = addr("10.0.0.5:4000");
        let mut config = ReceiveConfig::new(8000, Some(signalled));
        config.latching = Latching::SignalledOnly;
        let mut rx = RtpReceiver::new(t0, config).unwrap();
        assert_eq!(
            rx.handle_datagram(t0, addr("10.0.0.6:4000"), &packet(1, 1, 0)),
            Err(Discard::WrongSource)
        );
        rx.handle_datagram(t0, signalled, &packet(1, 1, 0)).unwrap();
        assert_eq!(rx.poll_event(), Some(ReceiveEvent::Latched(signalled)));
        assert!(matches!(
            rx.handle_datagram(t0, signalled, &[1, 2, 3]),
            Err(Discard::Malformed(_))
        ));
    }

    #[test]
    fn ssrc_change_resets() {
        let t0 = Instant::now();
        let peer = addr("192.0.2.1:4000");
        let mut rx = RtpReceiver::new(t0, ReceiveConfig::new(8000, Some(peer))).unwrap();
        for i in 0..5 {
            rx.handle_datagram(t0, peer, &packet(1, 100 + i, 0))
                .unwrap();
        }
        let got = ext(rx.handle_datagram(t0, peer, &packet(2, 40_000, 7)));
        assert_eq!(got, (40_000, 0));
        let _ = rx.poll_event();
        assert_eq!(
            rx.poll_event(),
            Some(ReceiveEvent::SsrcChanged { old: 1, new: 2 })
        );
        assert_eq!(rx.stats().received, 1);
        assert_eq!(rx.remote_ssrc(), Some(2));
    }

    #[test]
    fn large_jump_needs_confirmation() {
        let t0 = Instant::now();
        let peer = addr("192.0.2.1:4000");
        let mut rx = RtpReceiver::new(t0, ReceiveConfig::new(8000, Some(peer))).unwrap();
        rx.handle_datagram(t0, peer, &packet(1, 10, 0)).unwrap();
        assert_eq!(
            rx.handle_datagram(t0, peer, &packet(1, 20_000, 0)),
            Err(Discard::SequenceJump)
        );
        let got = ext(rx.handle_datagram(t0, peer, &packet(1, 20_001, 0)));
        assert_eq!(got.0, 20_001);
    }

    #[test]
    fn probation_with_min_sequential_two() {
        let t0 = Instant::now();
        let peer = addr("192.0.2.1:4000");
        let mut config = ReceiveConfig::new(8000, Some(peer));
        config.min_sequential = 2;
        let mut rx = RtpReceiver::new(t0, config).unwrap();
        assert_eq!(
            rx.handle_datagram(t0, peer, &packet(1, 10, 0)),
            Err(Discard::Probation)
        );
        rx.handle_datagram(t0, peer, &packet(1, 11, 160)).unwrap();
    }

    #[test]
    fn inactivity() {
        let t0 = Instant::now();
        let peer = addr("192.0.2.1:4000");
        let mut config = ReceiveConfig::new(8000, Some(peer));
        config.inactivity_timeout = Duration::from_secs(5);
        let mut rx = RtpReceiver::new(t0, config).unwrap();
        assert_eq!(rx.poll_timeout(), Some(t0 + Duration::from_secs(5)));
        rx.handle_timeout(t0 + Duration::from_secs(4));
        assert_eq!(rx.poll_event(), None);
        rx.handle_timeout(t0 + Duration::from_secs(5));
        assert_eq!(rx.poll_event(), Some(ReceiveEvent::Inactive));
        assert_eq!(rx.poll_timeout(), None);
        let t1 = t0 + Duration::from_secs(6);
        rx.handle_datagram(t1, peer, &packet(1, 1, 0)).unwrap();
        assert_eq!(rx.poll_event(), Some(ReceiveEvent::Latched(peer)));
        assert_eq!(rx.poll_event(), Some(ReceiveEvent::Resumed));
        assert_eq!(rx.poll_timeout(), Some(t1 + Duration::from_secs(5)));
    }

    #[test]
    fn ptime_limits() {
        let t0 = Instant::now();
        for (ptime, ok) in [(9, false), (10, true), (20, true), (60, true), (61, false)] {
            let mut c = ReceiveConfig::new(8000, None);
            c.ptime_ms = ptime;
            assert_eq!(RtpReceiver::new(t0, c).is_ok(), ok, "ptime {ptime}");
        }
        assert_eq!(
            RtpReceiver::new(t0, ReceiveConfig::new(0, None)).err(),
            Some(SessionError::BadClockRate(0))
        );
    }
}
