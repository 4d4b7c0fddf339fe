//! ITU-T G.722 (11/88) wideband codec, 64 kbit/s mode: a 24-tap quadrature mirror filter
//! (QMF) splits 16 kHz audio into two 8 kHz sub-bands, coded by ADPCM with 6 bits (lower
//! band) and 2 bits (upper band) per sample pair, one octet per two input samples.
//!
//! The block names in comments (QUANTL, INVQAL, LOGSCL, SCALEL, UPPOL1/2, UPZERO, FILTEP,
//! FILTEZ, ...) are those of G.722 §3 and §4; the arithmetic is the fixed-point arithmetic of
//! the recommendation so that output is bit-exact and deterministic. Input and output are
//! 16-bit linear; the QMF accounts for the recommendation's 14-bit interface by one extra
//! shift.
//!
//! RTP: the payload is sampled at 16 kHz but the RTP clock rate is 8000 Hz, an error kept for
//! compatibility (RFC 3551 §4.5.2): 20 ms is 320 samples, 160 octets and 160 timestamp units.

use super::{CodecError, CodecKind, Decoder, Encoder, RepeatFadePlc};

/// Even-indexed QMF coefficients h0, h2, ..., h22 (G.722 Table 11); the odd ones are these
/// reversed, as the 24-tap filter is symmetric.
const QMF: [i32; 12] = [3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11];
/// QUANTL decision levels of the 6-bit lower-band quantizer (Table 14, scaled).
const Q6: [i32; 32] = [
    0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714, 786, 858, 940,
    1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919, 0, 0,
];
/// Lower-band codes for a negative difference, by quantizer interval (Table 14).
const ILN: [i32; 32] = [
    0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11,
    10, 9, 8, 7, 6, 5, 4, 0,
];
/// Lower-band codes for a positive difference, by quantizer interval (Table 14).
const ILP: [i32; 32] = [
    0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39,
    38, 37, 36, 35, 34, 33, 32, 0,
];
/// LOGSCL log scale-factor multipliers of the lower band (Table 15).
const WL: [i32; 8] = [-60, -30, 58, 172, 334, 538, 1198, 3042];
/// Mapping of the 4-bit lower-band code to the WL index (Table 15).
const RL42: [i32; 16] = [0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0];
/// SCALEL/SCALEH inverse log-base-2 table (Table 16).
const ILB: [i32; 32] = [
    2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834,
    2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
];
/// INVQAL 4-bit inverse quantizer outputs (Table 17).
const QM4: [i32; 16] = [
    0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968, 6288, 4240, 2584,
    1200, 0,
];
/// INVQBL 6-bit inverse quantizer outputs (Table 19).
const QM6: [i32; 64] = [
    -136, -136, -136, -136, -24808, -21904, -19008, -16704, -14984, -13512, -12280, -11192, -10232,
    -9360, -8576, -7856, -7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576, -3168, -2776,
    -2400, -2032, -1688, -1360, -1040, -728, 24808, 21904, 19008, 16704, 14984, 13512, 12280,
    11192, 10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456, 4944, 4464, 4008, 3576, 3168, 2776,
    2400, 2032, 1688, 1360, 1040, 728, 432, 136, -432, -136,
];
/// INVQAH 2-bit upper-band inverse quantizer outputs (Table 21).
const QM2: [i32; 4] = [-7408, -1616, 7408, 1616];
/// Upper-band codes for negative / positive differences (Table 20).
const IHN: [i32; 3] = [0, 1, 0];
const IHP: [i32; 3] = [0, 3, 2];
/// LOGSCH multipliers and code mapping of the upper band (Table 22).
const WH: [i32; 3] = [0, -214, 798];
const RH2: [i32; 4] = [2, 1, 2, 1];

/// G.722 encoder (64 kbit/s, mode 1): 16 kHz PCM in, one octet per two samples out.
#[derive(Debug, Clone)]
pub struct G722Encoder {
    qmf: Qmf,
    low: Band,
    high: Band,
}

/// G.722 decoder (64 kbit/s, mode 1) with repeat-and-fade concealment.
#[derive(Debug, Clone)]
pub struct G722Decoder {
    qmf: Qmf,
    low: Band,
    high: Band,
    plc: RepeatFadePlc,
}

impl Default for G722Encoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Default for G722Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl G722Encoder {
    /// A fresh encoder in the reset state of G.722 §3.6.
    pub fn new() -> Self {
        Self {
            qmf: Qmf::default(),
            low: Band::new(32),
            high: Band::new(8),
        }
    }

    /// Encodes one pair of 16 kHz samples to a G.722 octet.
    fn encode_pair(&mut self, a: i16, b: i16) -> u8 {
        let (xlow, xhigh) = self.qmf.analyse(a, b);

        // Lower band: SUBTRA, QUANTL.
        let el = sat16(xlow - self.low.s);
        let wd = if el >= 0 { el } else { -(el + 1) };
        let mut i = 1;
        while i < 30 {
            if wd < (Q6[i] * self.low.det) >> 12 {
                break;
            }
            i += 1;
        }
        let ilow = if el < 0 { ILN[i] } else { ILP[i] };
        // INVQAL, LOGSCL, SCALEL, then the predictor.
        let ril = (ilow >> 2) as usize;
        let dlow = (self.low.det * QM4[ril]) >> 15;
        self.low.adapt_low_scale(RL42[ril]);
        self.low.predictor(dlow);

        // Upper band: SUBTRA, QUANTH.
        let eh = sat16(xhigh - self.high.s);
        let wd = if eh >= 0 { eh } else { -(eh + 1) };
        let mih = if wd >= (564 * self.high.det) >> 12 {
            2
        } else {
            1
        };
        let ihigh = if eh < 0 { IHN[mih] } else { IHP[mih] };
        // INVQAH, LOGSCH, SCALEH, then the predictor.
        let dhigh = (self.high.det * QM2[ihigh as usize]) >> 15;
        self.high.adapt_high_scale(RH2[ihigh as usize]);
        self.high.predictor(dhigh);

        ((ihigh << 6) | ilow) as u8
    }
}

impl Encoder for G722Encoder {
    fn kind(&self) -> CodecKind {
        CodecKind::G722
    }

    fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) -> Result<(), CodecError> {
        if !pcm.len().is_multiple_of(2) {
            return Err(CodecError::BadFrameLength(pcm.len()));
        }
        out.reserve(pcm.len() / 2);
        for pair in pcm.chunks_exact(2) {
            let code = self.encode_pair(pair[0], pair[1]);
            out.push(code);
        }
        Ok(())
    }
}

impl G722Decoder {
    /// A fresh decoder in the reset state of G.722 §3.6.
    pub fn new() -> Self {
        Self {
            qmf: Qmf::default(),
            low: Band::new(32),
            high: Band::new(8),
            plc: RepeatFadePlc::default(),
        }
    }

    /// Decodes one octet to two 16 kHz samples.
    fn decode_octet(&mut self, code: u8) -> [i16; 2] {
        let ilow = usize::from(code & 0x3f);
        let ihigh = usize::from(code >> 6);

        // Lower band: INVQBL, RECONS, LIMIT.
        let wd = (self.low.det * QM6[ilow]) >> 15;
        let rlow = (self.low.s + wd).clamp(-16384, 16383);
        // INVQAL on the 4 most significant bits drives the adaptation (§4.2).
        let ril = ilow >> 2;
        let dlow = (self.low.det * QM4[ril]) >> 15;
        self.low.adapt_low_scale(RL42[ril]);
        self.low.predictor(dlow);

        // Upper band: INVQAH, RECONS, LIMIT.
        let dhigh = (self.high.det * QM2[ihigh]) >> 15;
        let rhigh = (dhigh + self.high.s).clamp(-16384, 16383);
        self.high.adapt_high_scale(RH2[ihigh]);
        self.high.predictor(dhigh);

        self.qmf.synthesise(rlow, rhigh)
    }
}

impl Decoder for G722Decoder {
    fn kind(&self) -> CodecKind {
        CodecKind::G722
    }

    fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<(), CodecError> {
        let start = out.len();
        out.reserve(payload.len() * 2);
        for &code in payload {
            let pair = self.decode_octet(code);
            out.extend_from_slice(&pair);
        }
        self.plc.remember(&out[start..]);
        Ok(())
    }

    fn conceal(&mut self, samples: usize, out: &mut Vec<i16>) -> Result<(), CodecError> {
        // Concealed audio is not fed through the ADPCM state: the next real packet decodes
        // against the state of the last real packet, like a decoder that skipped a frame.
        self.plc.conceal(samples, out);
        Ok(())
    }
}

/// The transmit and receive QMF delay line (G.722 §3.2 and §4.4): 24 samples.
#[derive(Debug, Clone, Default)]
struct Qmf {
    x: [i32; 24],
}

impl Qmf {
    fn push(&mut self, a: i32, b: i32) {
        self.x.copy_within(2.., 0);
        self.x[22] = a;
        self.x[23] = b;
    }

    /// Transmit QMF: two input samples give one lower- and one upper-band sample.
    fn analyse(&mut self, a: i16, b: i16) -> (i32, i32) {
        self.push(i32::from(a), i32::from(b));
        let (mut odd, mut even) = (0i32, 0i32);
        for i in 0..12 {
            odd += self.x[2 * i] * QMF[i];
            even += self.x[2 * i + 1] * QMF[11 - i];
        }
        // DC gain 4096 per filter, the sum of two filters, and 16-bit input: shift by 14,
        // then limit to the 15-bit range of the sub-band signals as the reference does.
        (
            ((even + odd) >> 14).clamp(-16384, 16383),
            ((even - odd) >> 14).clamp(-16384, 16383),
        )
    }

    /// Receive QMF: one lower- and one upper-band sample give two output samples.
    fn synthesise(&mut self, rlow: i32, rhigh: i32) -> [i16; 2] {
        self.push(rlow + rhigh, rlow - rhigh);
        let (mut out1, mut out2) = (0i32, 0i32);
        for i in 0..12 {
            out2 += self.x[2 * i] * QMF[i];
            out1 += self.x[2 * i + 1] * QMF[11 - i];
        }
        [sat16(out1 >> 11) as i16, sat16(out2 >> 11) as i16]
    }
}

/// The ADPCM state of one sub-band (G.722 §3.3–§3.6).
#[derive(Debug, Clone, Default)]
struct Band {
    /// Predicted signal estimate (PREDIC).
    s: i32,
    /// Pole section output (FILTEP).
    sp: i32,
    /// Zero section output (FILTEZ).
    sz: i32,
    /// Reconstructed signal, current and two delayed.
    r: [i32; 3],
    /// Pole predictor coefficients a1, a2 (index 0 unused).
    a: [i32; 3],
    /// Partial reconstructed signal, current and two delayed.
    p: [i32; 3],
    /// Quantized differences, current and six delayed.
    d: [i32; 7],
    /// Zero predictor coefficients b1..b6 (index 0 unused).
    b: [i32; 7],
    /// Log scale factor (LOGSCL / LOGSCH).
    nb: i32,
    /// Quantizer scale factor (SCALEL / SCALEH).
    det: i32,
}

impl Band {
    /// §3.6 reset: all state zero, DET 32 in the lower band and 8 in the upper band.
    fn new(det: i32) -> Self {
        Self {
            det,
            ..Self::default()
        }
    }

    /// LOGSCL and SCALEL for the lower band (§3.5).
    fn adapt_low_scale(&mut self, wl_index: i32) {
        let nb = ((self.nb * 127) >> 7) + WL[wl_index as usize];
        self.nb = nb.clamp(0, 18432);
        self.det = scale(self.nb, 8);
    }

    /// LOGSCH and SCALEH for the upper band (§3.5).
    fn adapt_high_scale(&mut self, wh_index: i32) {
        let nb = ((self.nb * 127) >> 7) + WH[wh_index as usize];
        self.nb = nb.clamp(0, 22528);
        self.det = scale(self.nb, 10);
    }

    /// Block 4 (§3.6): reconstruction, pole and zero predictor adaptation and prediction.
    fn predictor(&mut self, d: i32) {
        // RECONS and PARREC.
        self.d[0] = d;
        self.r[0] = sat16(self.s + d);
        self.p[0] = sat16(self.sz + d);

        // UPPOL2: a2 adaptation.
        let sg0 = self.p[0] >> 15;
        let sg1 = self.p[1] >> 15;
        let sg2 = self.p[2] >> 15;
        let wd1 = sat16(self.a[1] << 2);
        let wd2 = if sg0 == sg1 { -wd1 } else { wd1 }.min(32767);
        let mut ap2 = (wd2 >> 7) + if sg0 == sg2 { 128 } else { -128 };
        ap2 += (self.a[2] * 32512) >> 15;
        let ap2 = ap2.clamp(-12288, 12288);

        // UPPOL1: a1 adaptation, limited by a2.
        let wd1 = if sg0 == sg1 { 192 } else { -192 };
        let wd2 = (self.a[1] * 32640) >> 15;
        let limit = sat16(15360 - ap2);
        let ap1 = sat16(wd1 + wd2).clamp(-limit, limit);

        // UPZERO: b1..b6 adaptation.
        let step = if d == 0 { 0 } else { 128 };
        let sgd = d >> 15;
        let mut bp = [0i32; 7];
        for ((b, &d_i), &b_i) in bp.iter_mut().zip(&self.d).zip(&self.b).skip(1) {
            let wd2 = if d_i >> 15 == sgd { step } else { -step };
            let wd3 = (b_i * 32640) >> 15;
            *b = sat16(wd2 + wd3);
        }

        // DELAYA: shift the delay lines and commit the new coefficients.
        for i in (1..7).rev() {
            self.d[i] = self.d[i - 1];
            self.b[i] = bp[i];
        }
        for i in (1..3).rev() {
            self.r[i] = self.r[i - 1];
            self.p[i] = self.p[i - 1];
        }
        self.a[1] = ap1;
        self.a[2] = ap2;

        // FILTEP: pole section.
        let wd1 = (self.a[1] * sat16(self.r[1] + self.r[1])) >> 15;
        let wd2 = (self.a[2] * sat16(self.r[2] + self.r[2])) >> 15;
        self.sp = sat16(wd1 + wd2);

        // FILTEZ: zero section.
        let mut sz = 0;
        for i in (1..7).rev() {
            sz += (self.b[i] * sat16(self.d[i] + self.d[i])) >> 15;
        }
        self.sz = sat16(sz);

        // PREDIC.
        self.s = sat16(self.sp + self.sz);
    }
}

/// SCALEL / SCALEH: DET from the log scale factor NB via the inverse log table (§3.5).
fn scale(nb: i32, bias: i32) -> i32 {
    let index = ((nb >> 6) & 31) as usize;
    let shift = bias - (nb >> 11);
    let wd = if shift < 0 {
        ILB[index] << -shift
    } else {
        ILB[index] >> shift
    };
    wd << 2
}

fn sat16(v: i32) -> i32 {
    v.clamp(-32768, 32767)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::test_signals::{sine, snr_db, speech_like};

    fn round_trip(input: &[i16]) -> Vec<i16> {
        let mut enc = G722Encoder::new();
        let mut dec = G722Decoder::new();
        let mut bytes = Vec::new();
        let mut out = Vec::new();
        for frame in input.chunks(320) {
            bytes.clear();
            enc.encode(frame, &mut bytes).unwrap();
            assert_eq!(bytes.len(), frame.len() / 2);
            dec.decode(&bytes, &mut out).unwrap();
        }
        out
    }

    /// Best SNR over small alignment shifts: the QMF pair delays the signal by 22 samples.
    fn aligned_snr(input: &[i16], output: &[i16]) -> (usize, f64) {
        (0..40)
            .map(|delay| {
                let n = input.len() - 400;
                (
                    delay,
                    snr_db(
                        &input[200..200 + n - 40],
                        &output[200 + delay..200 + n - 40 + delay],
                    ),
                )
            })
            .fold((0, f64::MIN), |best, x| if x.1 > best.1 { x } else { best })
    }

    #[test]
    fn reset_state() {
        assert_eq!(Band::new(32).det, scale(0, 8));
        assert_eq!(Band::new(8).det, scale(0, 10));
        assert_eq!(scale(0, 10), 8);
        assert_eq!(scale(0, 8), 32);
    }

    #[test]
    fn sine_round_trip_snr() {
        for freq in [300.0, 1000.0, 3000.0] {
            let input = sine(freq, 16_000, 8000.0, 16_000);
            let output = round_trip(&input);
            let (_, snr) = aligned_snr(&input, &output);
            eprintln!("G.722 {freq} Hz SNR {snr:.1} dB");
            assert!(snr > 38.0, "{freq} Hz: SNR {snr:.1} dB");
        }
    }

    #[test]
    fn speech_like_round_trip_snr() {
        let input = speech_like(16_000, 32_000, 7);
        let output = round_trip(&input);
        let (_, snr) = aligned_snr(&input, &output);
        eprintln!("G.722 speech-like SNR {snr:.1} dB");
        assert!(snr > 35.0, "SNR {snr:.1} dB");
    }

    #[test]
    fn deterministic_and_bounded() {
        let input = speech_like(16_000, 16_000, 3);
        let a = round_trip(&input);
        let b = round_trip(&input);
        assert_eq!(a, b);
        // Full-scale square wave: saturation, no wrap-around.
        let square: Vec<i16> = (0..3200)
            .map(|i| {
                if (i / 20) % 2 == 0 {
                    i16::MAX
                } else {
                    i16::MIN
                }
            })
            .collect();
        let out = round_trip(&square);
        assert_eq!(out.len(), square.len());
    }

    #[test]
    fn odd_length_rejected() {
        let mut enc = G722Encoder::new();
        assert_eq!(
            enc.encode(&[0; 3], &mut Vec::new()),
            Err(CodecError::BadFrameLength(3))
        );
    }

    #[test]
    fn qmf_delay_is_constant() {
        let input = speech_like(16_000, 8000, 5);
        let output = round_trip(&input);
        let (delay, _) = aligned_snr(&input, &output);
        // Two 24-tap filters in cascade: a fixed group delay of 23 samples at most.
        assert!(delay <= 23, "delay {delay}");
    }

    #[test]
    fn encoder_output_is_stable() {
        // Regression guard for the fixed-point arithmetic: FNV-1a of the code stream for a
        // fixed integer input (no floating point involved).
        let input: Vec<i16> = (0..16_000u32)
            .map(|i| {
                (((i * 7919) % 4001) as i16 - 2000) * 8
                    + if (i / 40) % 2 == 0 { 6000 } else { -6000 }
            })
            .collect();
        let mut enc = G722Encoder::new();
        let mut codes = Vec::new();
        enc.encode(&input, &mut codes).unwrap();
        let hash = codes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        assert_eq!(hash, G722_GOLDEN, "G.722 code stream changed: {hash:#018x}");
    }

    const G722_GOLDEN: u64 = 0x54ce_7cc4_b443_bc1b;
}
