//! Audio codecs behind one pair of traits: [`Encoder`] and [`Decoder`].
//!
//! | codec | PCM rate | RTP clock | static PT | reference |
//! |---|---|---|---|---|
//! | PCMU | 8000 | 8000 | 0 | ITU-T G.711, RFC 3551 §4.5.14 |
//! | PCMA | 8000 | 8000 | 8 | ITU-T G.711, RFC 3551 §4.5.14 |
//! | L16 | any | = PCM rate | (dynamic) | RFC 3551 §4.5.11 |
//! | G.722 | 16000 | **8000** | 9 | ITU-T G.722, RFC 3551 §4.5.2 |
//! | Opus | 48000 | 48000 | (dynamic) | RFC 6716, RFC 7587 |
//!
//! Every decoder can conceal a lost frame ([`Decoder::conceal`]): PCM codecs repeat the last
//! frame with a fade ([`RepeatFadePlc`]), Opus runs libopus's own concealment.

pub mod g711;
pub mod g722;
pub mod l16;
pub mod opus;

/// Errors of encoding and decoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The frame length does not suit the codec (odd sample count for G.722, odd octet count
    /// for L16, an Opus frame size that is not 2.5–60 ms).
    #[error("frame length {0} is not valid for this codec")]
    BadFrameLength(usize),
    /// A payload that cannot be decoded.
    #[error("malformed payload: {0}")]
    Malformed(&'static str),
    /// libopus reported an error.
    #[error("opus: {0}")]
    Opus(String),
    /// A codec name or parameter this crate does not know.
    #[error("unsupported codec {0:?}")]
    Unsupported(String),
}

/// The codecs this crate implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodecKind {
    /// G.711 μ-law.
    Pcmu,
    /// G.711 A-law.
    Pcma,
    /// 16-bit linear PCM, mono, at the given rate.
    L16 {
        /// Sampling rate in Hz.
        rate: u32,
    },
    /// G.722 at 64 kbit/s.
    G722,
    /// Opus, mono, 48 kHz.
    Opus,
}

impl CodecKind {
    /// Rate in Hz of the PCM that the encoder takes and the decoder returns.
    pub fn sample_rate(self) -> u32 {
        match self {
            Self::Pcmu | Self::Pcma => 8000,
            Self::L16 { rate } => rate,
            Self::G722 => 16_000,
            Self::Opus => 48_000,
        }
    }

    /// RTP timestamp clock rate: equal to the sample rate except for G.722, which keeps
    /// 8000 Hz for historical reasons (RFC 3551 §4.5.2).
    pub fn rtp_clock_rate(self) -> u32 {
        match self {
            Self::G722 => 8000,
            other => other.sample_rate(),
        }
    }

    /// The static payload type of RFC 3551 Table 4, if there is one.
    pub fn static_payload_type(self) -> Option<u8> {
        match self {
            Self::Pcmu => Some(0),
            Self::Pcma => Some(8),
            Self::G722 => Some(9),
            Self::L16 { .. } | Self::Opus => None,
        }
    }

    /// The encoding name used in SDP `a=rtpmap` (RFC 4566 §6, RFC 3551 Table 4).
    pub fn encoding_name(self) -> &'static str {
        match self {
            Self::Pcmu => "PCMU",
            Self::Pcma => "PCMA",
            Self::L16 { .. } => "L16",
            Self::G722 => "G722",
            Self::Opus => "opus",
        }
    }

    /// Parses an encoding name (case-insensitive) and clock rate as in `a=rtpmap`.
    pub fn from_rtpmap(name: &str, clock_rate: u32) -> Result<Self, CodecError> {
        let kind = match name.to_ascii_lowercase().as_str() {
            "pcmu" => Self::Pcmu,
            "pcma" => Self::Pcma,
            "g722" => Self::G722,
            "opus" => Self::Opus,
            "l16" => Self::L16 { rate: clock_rate },
            _ => return Err(CodecError::Unsupported(name.to_owned())),
        };
        if kind.rtp_clock_rate() != clock_rate {
            return Err(CodecError::Unsupported(format!("{name}/{clock_rate}")));
        }
        Ok(kind)
    }

    /// PCM samples in `ms` milliseconds.
    pub fn samples_per(self, ms: u32) -> usize {
        (self.sample_rate() / 1000 * ms) as usize
    }

    /// RTP timestamp units in `ms` milliseconds.
    pub fn timestamp_units_per(self, ms: u32) -> u32 {
        self.rtp_clock_rate() / 1000 * ms
    }

    /// A fresh encoder for this codec.
    pub fn encoder(self) -> Result<Box<dyn Encoder>, CodecError> {
        Ok(match self {
            Self::Pcmu => Box::new(g711::PcmuEncoder),
            Self::Pcma => Box::new(g711::PcmaEncoder),
            Self::L16 { rate } => Box::new(l16::L16Encoder::new(rate)),
            Self::G722 => Box::new(g722::G722Encoder::new()),
            Self::Opus => Box::new(opus::OpusEncoder::new(32_000)?),
        })
    }

    /// A fresh decoder for this codec.
    pub fn decoder(self) -> Result<Box<dyn Decoder>, CodecError> {
        Ok(match self {
            Self::Pcmu => Box::new(g711::G711Decoder::ulaw()),
            Self::Pcma => Box::new(g711::G711Decoder::alaw()),
            Self::L16 { rate } => Box::new(l16::L16Decoder::new(rate)),
            Self::G722 => Box::new(g722::G722Decoder::new()),
            Self::Opus => Box::new(opus::OpusDecoder::new()?),
        })
    }
}

/// Turns PCM frames into RTP payloads. Stateful codecs (G.722, Opus) must see every frame in
/// order.
pub trait Encoder: Send {
    /// The codec.
    fn kind(&self) -> CodecKind;

    /// Encodes one frame of mono PCM at [`CodecKind::sample_rate`], appending to `out`.
    fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) -> Result<(), CodecError>;

    /// Convenience: encodes one frame into a new buffer.
    fn encode_to_vec(&mut self, pcm: &[i16]) -> Result<Vec<u8>, CodecError> {
        let mut out = Vec::new();
        self.encode(pcm, &mut out)?;
        Ok(out)
    }
}

/// Turns RTP payloads into PCM, and conceals lost frames.
pub trait Decoder: Send {
    /// The codec.
    fn kind(&self) -> CodecKind;

    /// Decodes one payload, appending mono PCM at [`CodecKind::sample_rate`] to `out`.
    fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<(), CodecError>;

    /// Appends `samples` samples of concealment for a lost frame.
    fn conceal(&mut self, samples: usize, out: &mut Vec<i16>) -> Result<(), CodecError>;

    /// Convenience: decodes one payload into a new buffer.
    fn decode_to_vec(&mut self, payload: &[u8]) -> Result<Vec<i16>, CodecError> {
        let mut out = Vec::new();
        self.decode(payload, &mut out)?;
        Ok(out)
    }
}

/// Packet-loss concealment for waveform codecs: repeat the last good frame while fading it
/// out linearly over [`RepeatFadePlc::FADE_SAMPLES_8K`]-equivalent duration, then silence.
///
/// This is the simple scheme of ITU-T G.711 Appendix I's spirit (repeat the last pitch period,
/// attenuate) without the pitch search: cheap, deterministic, and good for single losses.
#[derive(Debug, Clone, Default)]
pub struct RepeatFadePlc {
    last: Vec<i16>,
    /// Position in `last` of the next concealed sample.
    pos: usize,
    /// Concealed samples produced since the last good frame.
    concealed: usize,
}

impl RepeatFadePlc {
    /// Concealment fades to silence over 60 ms at 8 kHz (scaled by the frame length).
    pub const FADE_SAMPLES_8K: usize = 480;

    /// Records a good decoded frame.
    pub fn remember(&mut self, frame: &[i16]) {
        if frame.is_empty() {
            return;
        }
        self.last.clear();
        self.last.extend_from_slice(frame);
        self.pos = 0;
        self.concealed = 0;
    }

    /// Appends `samples` concealed samples.
    pub fn conceal(&mut self, samples: usize, out: &mut Vec<i16>) {
        if self.last.is_empty() {
            out.extend(std::iter::repeat_n(0, samples));
            return;
        }
        // Fade length: three frames of whatever length the codec uses.
        let fade = 3 * self.last.len();
        for _ in 0..samples {
            let s = if self.concealed >= fade {
                0
            } else {
                let gain = (fade - self.concealed) as i64;
                (i64::from(self.last[self.pos]) * gain / fade as i64) as i16
            };
            out.push(s);
            self.pos = (self.pos + 1) % self.last.len();
            self.concealed += 1;
        }
    }
}

#[cfg(test)]
pub(crate) mod test_signals {
    //! Deterministic test signals and an SNR measure shared by the codec tests.

    /// A sine of `freq` Hz, `len` samples at `rate`, peak `amplitude`.
    pub(crate) fn sine(freq: f64, rate: u32, amplitude: f64, len: usize) -> Vec<i16> {
        (0..len)
            .map(|i| {
                let t = i as f64 / f64::from(rate);
                (amplitude * (2.0 * std::f64::consts::PI * freq * t).sin()) as i16
            })
            .collect()
    }

    /// A speech-like signal: a 120–220 Hz gliding pitch pulse train through two formant
    /// resonators, amplitude-modulated at a syllable rate of 4 Hz, plus a little noise.
    pub(crate) fn speech_like(rate: u32, len: usize, seed: u64) -> Vec<i16> {
        let fs = f64::from(rate);
        let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let mut noise = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 33) as f64 / f64::from(1u32 << 31)) - 0.5
        };
        let resonator = |f: f64, bw: f64| {
            let r = (-std::f64::consts::PI * bw / fs).exp();
            (
                2.0 * r * (2.0 * std::f64::consts::PI * f / fs).cos(),
                -r * r,
            )
        };
        let (a1, a2) = resonator(700.0, 130.0);
        let (b1, b2) = resonator(1200.0, 150.0);
        let (mut y1, mut y2, mut z1, mut z2) = (0.0, 0.0, 0.0, 0.0);
        let mut phase = 0.0;
        (0..len)
            .map(|i| {
                let t = i as f64 / fs;
                let pitch = 170.0 + 50.0 * (2.0 * std::f64::consts::PI * 0.7 * t).sin();
                phase += pitch / fs;
                let excitation = if phase >= 1.0 {
                    phase -= 1.0;
                    1.0
                } else {
                    0.0
                } + 0.05 * noise();
                let y = excitation + a1 * y1 + a2 * y2;
                y2 = y1;
                y1 = y;
                let z = y + b1 * z1 + b2 * z2;
                z2 = z1;
                z1 = z;
                let envelope = 0.55 + 0.45 * (2.0 * std::f64::consts::PI * 4.0 * t).sin();
                (z * 120.0 * envelope).clamp(-30_000.0, 30_000.0) as i16
            })
            .collect()
    }

    /// Signal-to-noise ratio of `output` against `input`, in dB.
    pub(crate) fn snr_db(input: &[i16], output: &[i16]) -> f64 {
        let (mut sig, mut err) = (0.0f64, 0.0f64);
        for (&a, &b) in input.iter().zip(output) {
            sig += f64::from(a).powi(2);
            err += (f64::from(a) - f64::from(b)).powi(2);
        }
        10.0 * (sig / err.max(1e-9)).log10()
    }
}

#[cfg(test)]
mod tests {
    use super::test_signals::{sine, snr_db, speech_like};
    use super::*;

    fn round_trip(kind: CodecKind, input: &[i16]) -> Vec<i16> {
        let mut enc = kind.encoder().unwrap();
        let mut dec = kind.decoder().unwrap();
        let mut out = Vec::new();
        for frame in input.chunks(kind.samples_per(20)) {
            let bytes = enc.encode_to_vec(frame).unwrap();
            dec.decode(&bytes, &mut out).unwrap();
        }
        out
    }

    #[test]
    fn g711_snr() {
        // G.711 gives about 38 dB SNR for mid-level signals (G.711 §5 / G.712 limits ≥ 35 dB).
        for kind in [CodecKind::Pcmu, CodecKind::Pcma] {
            let s = sine(1004.0, 8000, 10_000.0, 8000);
            let snr = snr_db(&s, &round_trip(kind, &s));
            assert!(snr > 35.0, "{kind:?} sine SNR {snr:.1}");
            let s = speech_like(8000, 8000, 1);
            let snr = snr_db(&s, &round_trip(kind, &s));
            eprintln!("{kind:?} speech-like SNR {snr:.1} dB");
            assert!(snr > 25.0, "{kind:?} speech SNR {snr:.1}");
        }
    }

    #[test]
    fn l16_is_lossless() {
        let s = speech_like(16_000, 3200, 2);
        assert_eq!(round_trip(CodecKind::L16 { rate: 16_000 }, &s), s);
    }

    #[test]
    fn rates_and_payload_types() {
        assert_eq!(CodecKind::G722.sample_rate(), 16_000);
        assert_eq!(CodecKind::G722.rtp_clock_rate(), 8000);
        assert_eq!(CodecKind::G722.timestamp_units_per(20), 160);
        assert_eq!(CodecKind::G722.samples_per(20), 320);
        assert_eq!(CodecKind::Opus.rtp_clock_rate(), 48_000);
        assert_eq!(CodecKind::from_rtpmap("PCMU", 8000), Ok(CodecKind::Pcmu));
        assert_eq!(CodecKind::from_rtpmap("G722", 8000), Ok(CodecKind::G722));
        assert!(CodecKind::from_rtpmap("G722", 16000).is_err());
        assert!(CodecKind::from_rtpmap("GSM", 8000).is_err());
        assert_eq!(CodecKind::Pcma.static_payload_type(), Some(8));
    }

    #[test]
    fn repeat_fade_plc() {
        let mut plc = RepeatFadePlc::default();
        let mut out = Vec::new();
        plc.conceal(4, &mut out);
        assert_eq!(out, [0; 4]);
        plc.remember(&[1000; 160]);
        out.clear();
        plc.conceal(160 * 4, &mut out);
        assert_eq!(out[0], 1000);
        assert!(out[159] < 1000 && out[159] > 600);
        assert!(out[160 * 3..].iter().all(|&s| s == 0));
        assert!(out.windows(2).all(|w| w[1] <= w[0]));
    }
}
