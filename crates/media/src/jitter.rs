//! Adaptive jitter buffer: packets in (any order, any time), one frame out per tick.
//!
//! [`JitterBuffer::push`] stores a packet keyed by its extended RTP timestamp (from
//! [`crate::session::RtpReceiver`]); [`JitterBuffer::pop`] is called once per packetization
//! interval (every 20 ms tick for 20 ms packets) and returns exactly one [`Playout`]:
//!
//! - [`Playout::Frame`]: the packet due now;
//! - [`Playout::Lost`]: the packet due now is missing: the decoder conceals it
//!   ([`crate::codec::Decoder::conceal`]: repeat-and-fade for PCM, Opus's own PLC);
//! - [`Playout::Empty`]: nothing to play yet (before the first packet, or while buffering).
//!
//! Reordered packets are put back in order, duplicates and packets later than their playout
//! time are discarded and counted. The target delay follows the interarrival jitter
//! (RFC 3550 A.8 estimator on arrival `now` against the timestamp), kept within
//! `[min_delay, max_delay]`: the buffer grows by holding playout when it runs dry (the missing
//! frame is concealed, the playout point does not advance) and shrinks by dropping one frame
//! when it held more than the target for a whole adaptation window.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Configuration of a [`JitterBuffer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JitterConfig {
    /// RTP clock rate of the stream.
    pub clock_rate: u32,
    /// Duration of one packet (ptime) in ms; one `pop` plays one packet.
    pub frame_ms: u32,
    /// Smallest target delay.
    pub min_delay: Duration,
    /// Largest target delay; a timestamp gap larger than this is treated as a
    /// discontinuity (silence suppression, sender restart), not as loss.
    pub max_delay: Duration,
    /// Pops over which the buffer level must stay above target before it shrinks.
    pub adapt_window: u32,
}

impl JitterConfig {
    /// Defaults for 20 ms packets: 20–200 ms delay, 1 s adaptation window.
    pub fn new(clock_rate: u32) -> Self {
        Self {
            clock_rate,
            frame_ms: 20,
            min_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(200),
            adapt_window: 50,
        }
    }
}

/// What to play for one tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Playout {
    /// The packet due now.
    Frame {
        /// Extended sequence number.
        sequence: u64,
        /// Extended timestamp.
        timestamp: u64,
        /// The payload.
        payload: Vec<u8>,
    },
    /// The packet due now is missing: conceal one frame.
    Lost,
    /// Nothing to play (not started or buffering): play silence.
    Empty,
}

/// What [`JitterBuffer::push`] did with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// Stored for playout.
    Stored,
    /// Same timestamp already buffered.
    Duplicate,
    /// Its playout time has passed (or it was played already).
    Late,
}

/// Counters of a [`JitterBuffer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JitterStats {
    /// Frames played from packets.
    pub played: u64,
    /// Frames concealed because their packet was missing.
    pub concealed: u64,
    /// Ticks with nothing to play.
    pub empty: u64,
    /// Packets discarded as duplicates.
    pub duplicates: u64,
    /// Packets discarded as late.
    pub late: u64,
    /// Frames dropped to shrink the delay or to stay under `max_delay`.
    pub dropped: u64,
    /// Times playout was held to let the buffer grow.
    pub stretched: u64,
}

/// The adaptive jitter buffer (see the module docs).
#[derive(Debug, Clone)]
pub struct JitterBuffer {
    config: JitterConfig,
    frame_units: u64,
    packets: BTreeMap<u64, (u64, Vec<u8>)>,
    /// Timestamp due at the next pop, once started.
    next_ts: Option<u64>,
    first_arrival: Option<Instant>,
    /// Previous relative transit time (ms * 16) for the jitter estimate.
    last_transit: Option<i64>,
    /// Interarrival jitter estimate in µs, A.8 style.
    jitter_us: u64,
    /// Smallest buffer level (frames) seen in the current adaptation window.
    window_min_level: u64,
    window_pops: u32,
    stats: JitterStats,
}

impl JitterBuffer {
    /// An empty buffer.
    pub fn new(config: JitterConfig) -> Self {
        let frame_units = u64::from(config.clock_rate / 1000 * config.frame_ms).max(1);
        Self {
            config,
            frame_units,
            packets: BTreeMap::new(),
            next_ts: None,
            first_arrival: None,
            last_transit: None,
            jitter_us: 0,
            window_min_level: u64::MAX,
            window_pops: 0,
            stats: JitterStats::default(),
        }
    }

    /// Stores a packet that arrived at `now`.
    pub fn push(
        &mut self,
        now: Instant,
        sequence: u64,
        timestamp: u64,
        payload: &[u8],
    ) -> PushOutcome {
        self.update_jitter(now, timestamp);
        if let Some(next) = self.next_ts
            && timestamp < next
        {
            self.stats.late += 1;
            return PushOutcome::Late;
        }
        if self.packets.contains_key(&timestamp) {
            self.stats.duplicates += 1;
            return PushOutcome::Duplicate;
        }
        self.first_arrival.get_or_insert(now);
        self.packets.insert(timestamp, (sequence, payload.to_vec()));
        PushOutcome::Stored
    }

    /// Plays one frame at tick `now`.
    pub fn pop(&mut self, now: Instant) -> Playout {
        let Some(next) = self.start_if_ready(now) else {
            self.stats.empty += 1;
            return Playout::Empty;
        };
        let max_units = self.ms_to_units(self.config.max_delay);
        // Stay under max_delay: drop the oldest packets when too many are buffered, and jump
        // the playout point to the oldest one kept.
        let max_frames = max_units / self.frame_units;
        let mut next = next;
        if self.packets.len() as u64 > max_frames + 1 {
            while self.packets.len() as u64 > max_frames + 1 {
                self.packets.pop_first();
                self.stats.dropped += 1;
            }
            if let Some((&first, _)) = self.packets.first_key_value() {
                next = next.max(first);
            }
        }
        self.adapt(next);
        let next = self.next_ts.unwrap_or(next);

        if let Some((sequence, payload)) = self.packets.remove(&next) {
            self.next_ts = Some(next + self.frame_units);
            self.stats.played += 1;
            return Playout::Frame {
                sequence,
                timestamp: next,
                payload,
            };
        }
        match self.packets.first_key_value() {
            Some((&earliest, _)) if earliest - next > max_units => {
                // A discontinuity (silence suppression or a jump): resynchronise on it.
                let (sequence, payload) = self.packets.remove(&earliest).unwrap_or_default();
                self.next_ts = Some(earliest + self.frame_units);
                self.stats.played += 1;
                Playout::Frame {
                    sequence,
                    timestamp: earliest,
                    payload,
                }
            }
            Some(_) if self.level(next) < self.target_frames() => {
                // Missing, but the buffer is below target: conceal and hold the playout
                // point, growing the delay so that a late packet can still play.
                self.next_ts = Some(next);
                self.stats.concealed += 1;
                self.stats.stretched += 1;
                Playout::Lost
            }
            Some(_) => {
                // Later packets are here and the buffer is at target: this one is lost.
                self.next_ts = Some(next + self.frame_units);
                self.stats.concealed += 1;
                Playout::Lost
            }
            None => {
                // Ran dry: conceal, but hold the playout point so the delay grows.
                self.next_ts = Some(next);
                self.stats.concealed += 1;
                self.stats.stretched += 1;
                Playout::Lost
            }
        }
    }

    /// Current target delay.
    pub fn target_delay(&self) -> Duration {
        let want = Duration::from_millis(u64::from(self.config.frame_ms))
            + Duration::from_micros(3 * self.jitter_us);
        want.clamp(self.config.min_delay, self.config.max_delay)
    }

    /// Interarrival jitter estimate.
    pub fn jitter(&self) -> Duration {
        Duration::from_micros(self.jitter_us)
    }

    /// Audio buffered ahead of the playout point.
    pub fn buffered(&self) -> Duration {
        let frames = self.level(self.next_ts.unwrap_or(0));
        Duration::from_millis(frames * u64::from(self.config.frame_ms))
    }

    /// Counters.
    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// Forgets all packets and timing (after an SSRC change).
    pub fn reset(&mut self) {
        let stats = self.stats;
        *self = Self::new(self.config.clone());
        self.stats = stats;
    }

    fn start_if_ready(&mut self, now: Instant) -> Option<u64> {
        if let Some(next) = self.next_ts {
            return Some(next);
        }
        let first = self.first_arrival?;
        if now.saturating_duration_since(first) < self.target_delay() {
            return None;
        }
        let (&earliest, _) = self.packets.first_key_value()?;
        self.next_ts = Some(earliest);
        Some(earliest)
    }

    /// Frames buffered from `next` to the newest packet.
    fn level(&self, next: u64) -> u64 {
        match self.packets.last_key_value() {
            Some((&last, _)) if last >= next => (last - next) / self.frame_units + 1,
            _ => 0,
        }
    }

    /// Target delay in whole frames.
    fn target_frames(&self) -> u64 {
        let frame = u64::from(self.config.frame_ms).max(1);
        (self.target_delay().as_millis() as u64).div_ceil(frame)
    }

    /// Shrinks the delay by one frame when the level stayed above target for a window.
    fn adapt(&mut self, next: u64) {
        self.next_ts = Some(next);
        let level = self.level(next);
        self.window_min_level = self.window_min_level.min(level);
        self.window_pops += 1;
        if self.window_pops < self.config.adapt_window {
            return;
        }
        let target_frames = self.target_frames();
        if self.window_min_level > target_frames + 1 && self.packets.contains_key(&next) {
            self.packets.remove(&next);
            self.next_ts = Some(next + self.frame_units);
            self.stats.dropped += 1;
        }
        self.window_min_level = u64::MAX;
        self.window_pops = 0;
    }

    fn update_jitter(&mut self, now: Instant, timestamp: u64) {
        let Some(first) = self.first_arrival else {
            self.last_transit = Some(-self.units_to_us(timestamp));
            return;
        };
        let arrival_us = now.saturating_duration_since(first).as_micros() as i64;
        let transit = arrival_us - self.units_to_us(timestamp);
        if let Some(prev) = self.last_transit {
            let d = (transit - prev).unsigned_abs();
            self.jitter_us = self.jitter_us + d / 16 - self.jitter_us / 16;
        }
        self.last_transit = Some(transit);
    }

    fn units_to_us(&self, units: u64) -> i64 {
        (u128::from(units) * 1_000_000 / u128::from(self.config.clock_rate.max(1))) as i64
    }

    fn ms_to_units(&self, d: Duration) -> u64 {
        (d.as_millis() * u128::from(self.config.clock_rate) / 1000) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    const TICK: Duration = Duration::from_millis(20);

    /// Sends `n` packets every 20 ms through a network with uniform jitter `0..jitter_ms` and
    /// `loss` probability, pops every 20 ms, and returns the playout sequence.
    fn simulate(seed: u64, n: u64, jitter_ms: u64, loss: f64) -> (Vec<Playout>, JitterBuffer) {
        let mut rng = SmallRng::seed_from_u64(seed);
        let t0 = Instant::now();
        let mut arrivals: Vec<(Instant, u64)> = Vec::new();
        for i in 0..n {
            let delay = Duration::from_millis(10 + rng.gen_range(0..=jitter_ms));
            if !rng.gen_bool(loss) {
                arrivals.push((t0 + TICK * i as u32 + delay, i));
            }
        }
        arrivals.sort();
        let mut jb = JitterBuffer::new(JitterConfig::new(8000));
        let mut out = Vec::new();
        let mut next = 0;
        for tick in 0..n + 20 {
            let now = t0 + TICK * tick as u32;
            while next < arrivals.len() && arrivals[next].0 <= now {
                let i = arrivals[next].1;
                jb.push(arrivals[next].0, i, i * 160, &[i as u8]);
                next += 1;
            }
            out.push(jb.pop(now));
        }
        (out, jb)
    }

    fn played(out: &[Playout]) -> Vec<u64> {
        out.iter()
            .filter_map(|p| match p {
                Playout::Frame { sequence, .. } => Some(*sequence),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn in_order_stream_plays_everything() {
        let (out, jb) = simulate(1, 200, 0, 0.0);
        assert_eq!(played(&out), (0..200).collect::<Vec<_>>());
        // Only the 20 ticks after the stream ended were concealed.
        assert!(jb.stats().concealed <= 20);
        assert_eq!(jb.target_delay(), Duration::from_millis(20));
    }

    #[test]
    fn reordering_and_jitter() {
        let (out, jb) = simulate(7, 1000, 80, 0.0);
        let seqs = played(&out);
        // Strictly increasing: never twice, never out of order.
        assert!(seqs.windows(2).all(|w| w[0] < w[1]));
        // The buffer adapted to the jitter and lost little to lateness.
        assert!(
            jb.target_delay() > Duration::from_millis(60),
            "{:?}",
            jb.target_delay()
        );
        assert!(jb.target_delay() <= Duration::from_millis(200));
        let s = jb.stats();
        // Holding playout when short of target lets reordered packets play: none is late.
        assert!(seqs.len() >= 990, "played {} {s:?}", seqs.len());
        assert!(s.late <= 5, "{s:?}");
        assert_eq!(out.len(), 1020);
    }

    #[test]
    fn loss_is_concealed() {
        let (out, jb) = simulate(3, 1000, 20, 0.1);
        let seqs = played(&out);
        assert!(seqs.windows(2).all(|w| w[0] < w[1]));
        let s = jb.stats();
        assert!(s.concealed >= 80, "{s:?}");
        assert!(seqs.len() >= 850, "played {}", seqs.len());
    }

    #[test]
    fn duplicates_and_late() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(JitterConfig::new(8000));
        assert_eq!(jb.pop(t0), Playout::Empty);
        assert_eq!(jb.push(t0, 0, 0, b"a"), PushOutcome::Stored);
        assert_eq!(jb.push(t0, 0, 0, b"a"), PushOutcome::Duplicate);
        assert_eq!(jb.pop(t0), Playout::Empty); // buffering for the target delay
        let t1 = t0 + TICK;
        assert_eq!(jb.push(t1, 1, 160, b"b"), PushOutcome::Stored);
        assert!(matches!(jb.pop(t1), Playout::Frame { sequence: 0, .. }));
        assert_eq!(jb.push(t1, 0, 0, b"a"), PushOutcome::Late);
        assert!(matches!(
            jb.pop(t1 + TICK),
            Playout::Frame { sequence: 1, .. }
        ));
        // Ran dry: concealment while holding.
        assert_eq!(jb.pop(t1 + TICK * 2), Playout::Lost);
        assert_eq!(jb.push(t1, 2, 320, b"c"), PushOutcome::Stored);
        assert!(matches!(
            jb.pop(t1 + TICK * 3),
            Playout::Frame { sequence: 2, .. }
        ));
        let s = jb.stats();
        assert_eq!((s.duplicates, s.late, s.stretched), (1, 1, 1));
    }

    #[test]
    fn discontinuity_resyncs() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(JitterConfig::new(8000));
        jb.push(t0, 0, 0, b"a");
        assert!(matches!(jb.pop(t0 + TICK), Playout::Frame { .. }));
        // Ten seconds of silence suppression, then a new talkspurt.
        let t1 = t0 + Duration::from_secs(10);
        jb.push(t1, 1, 80_000, b"b");
        assert!(matches!(
            jb.pop(t1),
            Playout::Frame {
                timestamp: 80_000,
                ..
            }
        ));
    }
}
