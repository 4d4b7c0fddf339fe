//! ITU-T G.711 μ-law (PCMU) and A-law (PCMA) companding, 16-bit linear in and out.
//!
//! Encoding follows the ITU-T G.191 reference implementation of G.711 exactly (verified in the
//! tests against a bit-by-bit transcription of it for all 65,536 inputs): μ-law quantizes the
//! 14 most significant bits, A-law the 13 most significant bits, negative values through their
//! one's complement. Decoding uses 256-entry tables built at compile time.

use super::{CodecError, CodecKind, Decoder, Encoder, RepeatFadePlc};

/// Encodes one 16-bit linear sample to μ-law (G.711 §3, Table 2a).
#[inline]
pub fn ulaw_encode(sample: i16) -> u8 {
    let (magnitude, sign) = if sample < 0 {
        (i32::from(!sample) >> 2, 0x00)
    } else {
        (i32::from(sample) >> 2, 0x80)
    };
    // Bias by 33 so that segment boundaries fall on powers of two; clip to 13 bits.
    let biased = (magnitude + 33).min(0x1fff) as u32;
    let segment = 32 - biased.leading_zeros() - 5; // 1..=8
    let mantissa = (biased >> segment) & 0x0f;
    // The code is the one's complement of segment and mantissa.
    ((((8 - segment) << 4) | (0x0f - mantissa)) as u8) | sign
}

/// Decodes one μ-law code to 16-bit linear (G.711 §3, Table 2a).
#[inline]
pub fn ulaw_decode(code: u8) -> i16 {
    ULAW_TABLE[usize::from(code)]
}

/// Encodes one 16-bit linear sample to A-law (G.711 §3, Table 1a), even bits inverted.
#[inline]
pub fn alaw_encode(sample: i16) -> u8 {
    let (magnitude, sign) = if sample < 0 {
        ((!sample) as u16 >> 4, 0x00)
    } else {
        (sample as u16 >> 4, 0x80)
    };
    let code = if magnitude < 32 {
        magnitude as u8
    } else {
        let bits = 16 - magnitude.leading_zeros(); // 6..=11
        let exponent = bits - 4;
        ((exponent << 4) as u16 | ((magnitude >> (bits - 5)) & 0x0f)) as u8
    };
    (code | sign) ^ 0x55
}

/// Decodes one A-law code to 16-bit linear (G.711 §3, Table 1a).
#[inline]
pub fn alaw_decode(code: u8) -> i16 {
    ALAW_TABLE[usize::from(code)]
}

static ULAW_TABLE: [i16; 256] = build_ulaw_table();
static ALAW_TABLE: [i16; 256] = build_alaw_table();

const fn build_ulaw_table() -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        let u = !(i as u8);
        // Reconstruct (mantissa + 16.5) * 2^segment * 4 - bias, with the bias 0x84 = 33 * 4.
        let t = ((((u & 0x0f) as i32) << 3) + 0x84) << ((u & 0x70) >> 4);
        table[i] = if u & 0x80 != 0 {
            (0x84 - t) as i16
        } else {
            (t - 0x84) as i16
        };
        i += 1;
    }
    table
}

const fn build_alaw_table() -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        let a = (i as u8) ^ 0x55;
        let mut t = ((a & 0x0f) as i32) << 4;
        let segment = (a & 0x70) >> 4;
        t = match segment {
            0 => t + 8,
            1 => t + 0x108,
            _ => (t + 0x108) << (segment - 1),
        };
        table[i] = if a & 0x80 != 0 { t as i16 } else { -t as i16 };
        i += 1;
    }
    table
}

/// PCMU encoder: one octet per sample (RFC 3551 §4.5.14, payload type 0).
#[derive(Debug, Default, Clone)]
pub struct PcmuEncoder;

/// PCMA encoder: one octet per sample (RFC 3551 §4.5.14, payload type 8).
#[derive(Debug, Default, Clone)]
pub struct PcmaEncoder;

impl Encoder for PcmuEncoder {
    fn kind(&self) -> CodecKind {
        CodecKind::Pcmu
    }

    fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) -> Result<(), CodecError> {
        out.extend(pcm.iter().map(|&s| ulaw_encode(s)));
        Ok(())
    }
}

impl Encoder for PcmaEncoder {
    fn kind(&self) -> CodecKind {
        CodecKind::Pcma
    }

    fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) -> Result<(), CodecError> {
        out.extend(pcm.iter().map(|&s| alaw_encode(s)));
        Ok(())
    }
}

/// G.711 decoder (either law) with repeat-and-fade concealment.
#[derive(Debug, Clone)]
pub struct G711Decoder {
    law: CodecKind,
    plc: RepeatFadePlc,
}

impl G711Decoder {
    /// A μ-law decoder.
    pub fn ulaw() -> Self {
        Self {
            law: CodecKind::Pcmu,
            plc: RepeatFadePlc::default(),
        }
    }

    /// An A-law decoder.
    pub fn alaw() -> Self {
        Self {
            law: CodecKind::Pcma,
            plc: RepeatFadePlc::default(),
        }
    }
}

impl Decoder for G711Decoder {
    fn kind(&self) -> CodecKind {
        self.law
    }

    fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<(), CodecError> {
        let start = out.len();
        let table = if self.law == CodecKind::Pcmu {
            &ULAW_TABLE
        } else {
            &ALAW_TABLE
        };
        out.extend(payload.iter().map(|&c| table[usize::from(c)]));
        self.plc.remember(&out[start..]);
        Ok(())
    }

    fn conceal(&mut self, samples: usize, out: &mut Vec<i16>) -> Result<(), CodecError> {
        self.plc.conceal(samples, out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// μ-law compression transcribed bit by bit from the ITU-T G.191 reference
    /// (`ulaw_compress`): one's complement magnitude of the 14-bit sample, bias 33, segment
    /// found by counting shifts, inverted segment and mantissa nibbles, sign bit set for x ≥ 0.
    fn ref_ulaw_compress(x: i16) -> u8 {
        let x = i32::from(x);
        let mut absno: i32 = if x < 0 {
            ((!x) >> 2) + 33
        } else {
            (x >> 2) + 33
        };
        if absno > 0x1fff {
            absno = 0x1fff;
        }
        let mut i = absno >> 6;
        let mut segno = 1;
        while i != 0 {
            segno += 1;
            i >>= 1;
        }
        let high_nibble = 0x0008 - segno;
        let mut low_nibble = (absno >> segno) & 0x000f;
        low_nibble = 0x000f - low_nibble;
        let mut out = (high_nibble << 4) | low_nibble;
        if x >= 0 {
            out |= 0x0080;
        }
        out as u8
    }

    /// μ-law expansion from G.191 (`ulaw_expand`).
    fn ref_ulaw_expand(code: u8) -> i16 {
        let logbuf = i32::from(code);
        let sign = if logbuf < 0x80 { -1 } else { 1 };
        let mut mantissa = !logbuf;
        let exponent = (mantissa >> 4) & 0x07;
        let segment = exponent + 1;
        mantissa &= 0x0f;
        let step = 4 << segment;
        (sign * ((0x80 << exponent) + step * mantissa + step / 2 - 4 * 33)) as i16
    }

    /// A-law compression from G.191 (`alaw_compress`).
    fn ref_alaw_compress(x: i16) -> u8 {
        let x = i32::from(x);
        let mut ix = if x < 0 { (!x) >> 4 } else { x >> 4 };
        if ix > 15 {
            let mut iexp = 1;
            while ix > 16 + 15 {
                ix >>= 1;
                iexp += 1;
            }
            ix -= 16;
            ix += iexp << 4;
        }
        if x >= 0 {
            ix |= 0x0080;
        }
        (ix ^ 0x0055) as u8
    }

    /// A-law expansion from G.191 (`alaw_expand`).
    fn ref_alaw_expand(code: u8) -> i16 {
        let logbuf = i32::from(code);
        let mut ix = logbuf ^ 0x0055;
        ix &= 0x007f;
        let iexp = ix >> 4;
        let mut mant = ix & 0x000f;
        if iexp > 0 {
            mant += 16;
        }
        mant = (mant << 4) + 0x0008;
        if iexp > 1 {
            mant <<= iexp - 1;
        }
        (if logbuf > 127 { mant } else { -mant }) as i16
    }

    #[test]
    fn ulaw_encode_exhaustive() {
        for x in i16::MIN..=i16::MAX {
            assert_eq!(ulaw_encode(x), ref_ulaw_compress(x), "input {x}");
        }
    }

    #[test]
    fn alaw_encode_exhaustive() {
        for x in i16::MIN..=i16::MAX {
            assert_eq!(alaw_encode(x), ref_alaw_compress(x), "input {x}");
        }
    }

    #[test]
    fn decode_all_codes() {
        for c in 0..=255u8 {
            assert_eq!(ulaw_decode(c), ref_ulaw_expand(c), "ulaw code {c:#04x}");
            assert_eq!(alaw_decode(c), ref_alaw_expand(c), "alaw code {c:#04x}");
        }
    }

    #[test]
    fn table_spot_values() {
        // Values printed in G.711 Tables 1a/2a, scaled to 16 bits.
        assert_eq!(ulaw_decode(0x00), -32124);
        assert_eq!(ulaw_decode(0x80), 32124);
        assert_eq!(ulaw_decode(0xff), 0);
        assert_eq!(ulaw_decode(0x7f), 0);
        assert_eq!(alaw_decode(0xd5), 8);
        assert_eq!(alaw_decode(0x55), -8);
        assert_eq!(alaw_decode(0xaa), 32256);
        assert_eq!(alaw_decode(0x2a), -32256);
        assert_eq!(ulaw_encode(0), 0xff);
        assert_eq!(alaw_encode(0), 0xd5);
    }

    #[test]
    fn decode_then_encode_is_identity() {
        for c in 0..=255u8 {
            let d = ulaw_decode(c);
            // Negative zero (0x7f) decodes to 0, which encodes as positive zero.
            if c != 0x7f {
                assert_eq!(ulaw_encode(d), c, "ulaw {c:#04x}");
            }
            assert_eq!(alaw_encode(alaw_decode(c)), c, "alaw {c:#04x}");
        }
    }
}
