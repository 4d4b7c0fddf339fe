//! In-band DTMF detection at 8 kHz with the Goertzel algorithm.
//!
//! Audio is cut into blocks of 20 ms (160 samples); each block is tested at the eight
//! ITU-T Q.23 frequencies. A block holds a digit when (ITU-T Q.24 style checks):
//! - the strongest row and strongest column tones each exceed the other tones of their group
//!   by [`DtmfDetectorConfig::peak_ratio`];
//! - the two tones together carry at least [`DtmfDetectorConfig::tone_fraction`] of the
//!   block's energy (rejects speech and noise);
//! - their level is above [`DtmfDetectorConfig::min_level`] (about -30 dBm0 per tone);
//! - twist is within limits: column up to 8 dB stronger ("reverse twist" in some texts),
//!   row up to 4 dB stronger.
//!
//! A digit is reported after two consecutive blocks (≥ 40 ms of tone, Q.24's minimum
//! recognition time), and the next digit only after two blocks without it (≥ 40 ms gap).

use super::{COL_HZ, ROW_HZ, keypad};

/// Thresholds of the [`DtmfDetector`].
#[derive(Debug, Clone, PartialEq)]
pub struct DtmfDetectorConfig {
    /// Least power ratio between the strongest tone of a group and the others.
    pub peak_ratio: f64,
    /// Least fraction of block energy in the two tones.
    pub tone_fraction: f64,
    /// Least mean-square amplitude of each tone (16-bit scale).
    pub min_level: f64,
    /// Largest column-over-row power ratio (8 dB).
    pub max_twist_column: f64,
    /// Largest row-over-column power ratio (4 dB).
    pub max_twist_row: f64,
    /// Consecutive detecting blocks before a digit is reported.
    pub min_on_blocks: u32,
    /// Consecutive non-detecting blocks that end a digit.
    pub min_off_blocks: u32,
}

impl Default for DtmfDetectorConfig {
    fn default() -> Self {
        Self {
            peak_ratio: 4.0,
            tone_fraction: 0.6,
            // -30 dBm0 sine ≈ amplitude 720 on the G.711 16-bit scale → mean square 2.6e5.
            min_level: 2.6e5,
            max_twist_column: 10f64.powf(0.8),
            max_twist_row: 10f64.powf(0.4),
            min_on_blocks: 2,
            min_off_blocks: 2,
        }
    }
}

/// Samples per analysis block at 8 kHz (20 ms).
pub const BLOCK: usize = 160;

/// Streaming DTMF detector for 8 kHz mono audio.
#[derive(Debug, Clone)]
pub struct DtmfDetector {
    config: DtmfDetectorConfig,
    coeffs: [f64; 8],
    block: Vec<f64>,
    candidate: Option<char>,
    on_count: u32,
    off_count: u32,
    reported: Option<char>,
    digits: Vec<char>,
}

impl Default for DtmfDetector {
    fn default() -> Self {
        Self::new(DtmfDetectorConfig::default())
    }
}

impl DtmfDetector {
    /// A detector with the given thresholds.
    pub fn new(config: DtmfDetectorConfig) -> Self {
        let mut coeffs = [0.0; 8];
        for (i, f) in ROW_HZ.iter().chain(COL_HZ.iter()).enumerate() {
            coeffs[i] = 2.0 * (2.0 * std::f64::consts::PI * f / 8000.0).cos();
        }
        Self {
            config,
            coeffs,
            block: Vec::with_capacity(BLOCK),
            candidate: None,
            on_count: 0,
            off_count: 0,
            reported: None,
            digits: Vec::new(),
        }
    }

    /// Feeds samples; detected digits are queued for [`Self::poll_digit`].
    pub fn process(&mut self, samples: &[i16]) {
        for &s in samples {
            self.block.push(f64::from(s));
            if self.block.len() == BLOCK {
                let digit = self.analyse();
                self.block.clear();
                self.step(digit);
            }
        }
    }

    /// Next detected digit.
    pub fn poll_digit(&mut self) -> Option<char> {
        (!self.digits.is_empty()).then(|| self.digits.remove(0))
    }

    fn step(&mut self, digit: Option<char>) {
        if digit.is_some() && digit == self.candidate {
            self.on_count += 1;
        } else {
            self.candidate = digit;
            self.on_count = u32::from(digit.is_some());
        }
        if digit.is_some() && digit == self.reported {
            self.off_count = 0;
            return;
        }
        self.off_count += 1;
        if self.off_count >= self.config.min_off_blocks {
            self.reported = None;
        }
        if let Some(d) = digit
            && self.reported.is_none()
            && self.on_count >= self.config.min_on_blocks
        {
            self.reported = Some(d);
            self.off_count = 0;
            self.digits.push(d);
        }
    }

    /// Goertzel power at the eight frequencies, then the Q.24 checks.
    fn analyse(&self) -> Option<char> {
        let n = self.block.len() as f64;
        let mut power = [0.0; 8];
        for (p, &coeff) in power.iter_mut().zip(&self.coeffs) {
            let (mut s1, mut s2) = (0.0, 0.0);
            for &x in &self.block {
                let s0 = x + coeff * s1 - s2;
                s2 = s1;
                s1 = s0;
            }
            // |X(k)|² scaled to the mean square of the tone: 2|X|²/N².
            *p = 2.0 * (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (n * n);
        }
        let energy: f64 = self.block.iter().map(|x| x * x).sum::<f64>() / n;
        let (row, row_p) = strongest(&power[..4]);
        let (col, col_p) = strongest(&power[4..]);
        let c = &self.config;
        let peaks_ok = power[..4]
            .iter()
            .enumerate()
            .all(|(i, &p)| i == row || p * c.peak_ratio < row_p)
            && power[4..]
                .iter()
                .enumerate()
                .all(|(i, &p)| i == col || p * c.peak_ratio < col_p);
        let ok = peaks_ok
            && row_p >= c.min_level
            && col_p >= c.min_level
            && row_p + col_p >= c.tone_fraction * energy
            && col_p <= row_p * c.max_twist_column
            && row_p <= col_p * c.max_twist_row;
        ok.then(|| keypad(row, col))
    }
}

fn strongest(p: &[f64]) -> (usize, f64) {
    p.iter()
        .copied()
        .enumerate()
        .fold((0, f64::MIN), |best, x| if x.1 > best.1 { x } else { best })
}

/// Detects all digits in a whole 8 kHz signal.
pub fn detect_digits(samples: &[i16]) -> String {
    let mut d = DtmfDetector::default();
    d.process(samples);
    // Flush a final partial block with silence.
    d.process(&[0; BLOCK]);
    std::iter::from_fn(|| d.poll_digit()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtmf::generate::{DtmfToneConfig, generate_digits};

    #[test]
    fn all_digits_round_trip() {
        let pcm = generate_digits("0123456789*#ABCD", &DtmfToneConfig::default()).unwrap();
        assert_eq!(detect_digits(&pcm), "0123456789*#ABCD");
    }

    #[test]
    fn repeated_digit_needs_gap() {
        let pcm = generate_digits("1111", &DtmfToneConfig::default()).unwrap();
        assert_eq!(detect_digits(&pcm), "1111");
    }

    #[test]
    fn rejects_short_tones_single_tones_and_noise() {
        let short = DtmfToneConfig {
            tone_ms: 20,
            ..DtmfToneConfig::default()
        };
        let pcm = generate_digits("5", &short).unwrap();
        assert_eq!(detect_digits(&pcm), "");
        // A single 1000 Hz tone.
        let tone: Vec<i16> = (0..8000)
            .map(|i| {
                (8000.0 * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / 8000.0).sin()) as i16
            })
            .collect();
        assert_eq!(detect_digits(&tone), "");
        let mut x = 1u32;
        let noise: Vec<i16> = (0..8000)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                (x >> 16) as i16 / 2
            })
            .collect();
        assert_eq!(detect_digits(&noise), "");
    }

    #[test]
    fn twist_limits() {
        // Column 12 dB above row: rejected.
        let pcm: Vec<i16> = (0..1600)
            .map(|i| {
                let t = i as f64 / 8000.0;
                let w = 2.0 * std::f64::consts::PI;
                (1500.0 * (w * 697.0 * t).sin() + 6000.0 * (w * 1209.0 * t).sin()) as i16
            })
            .collect();
        assert_eq!(detect_digits(&pcm), "");
    }
}
