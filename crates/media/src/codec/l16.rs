//! L16: 16-bit linear PCM in network byte order (RFC 3551 §4.5.11).

use super::{CodecError, CodecKind, Decoder, Encoder, RepeatFadePlc};

/// L16 encoder: two octets per sample, big-endian.
#[derive(Debug, Clone)]
pub struct L16Encoder {
    rate: u32,
}

/// L16 decoder with repeat-and-fade concealment.
#[derive(Debug, Clone)]
pub struct L16Decoder {
    rate: u32,
    plc: RepeatFadePlc,
}

impl L16Encoder {
    /// An encoder for mono L16 at `rate` Hz.
    pub fn new(rate: u32) -> Self {
        Self { rate }
    }
}

impl L16Decoder {
    /// A decoder for mono L16 at `rate` Hz.
    pub fn new(rate: u32) -> Self {
        Self {
            rate,
            plc: RepeatFadePlc::default(),
        }
    }
}

impl Encoder for L16Encoder {
    fn kind(&self) -> CodecKind {
        CodecKind::L16 { rate: self.rate }
    }

    fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) -> Result<(), CodecError> {
        out.reserve(pcm.len() * 2);
        for s in pcm {
            out.extend_from_slice(&s.to_be_bytes());
        }
        Ok(())
    }
}

impl Decoder for L16Decoder {
    fn kind(&self) -> CodecKind {
        CodecKind::L16 { rate: self.rate }
    }

    fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<(), CodecError> {
        if !payload.len().is_multiple_of(2) {
            return Err(CodecError::BadFrameLength(payload.len()));
        }
        let start = out.len();
        out.extend(
            payload
                .chunks_exact(2)
                .map(|b| i16::from_be_bytes([b[0], b[1]])),
        );
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

    #[test]
    fn network_order() {
        let mut out = Vec::new();
        L16Encoder::new(8000)
            .encode(&[0x0102, -2], &mut out)
            .unwrap();
        assert_eq!(out, [0x01, 0x02, 0xff, 0xfe]);
        let mut pcm = Vec::new();
        L16Decoder::new(8000).decode(&out, &mut pcm).unwrap();
        assert_eq!(pcm, [0x0102, -2]);
    }

    #[test]
    fn lossless_for_all_values() {
        let all: Vec<i16> = (i16::MIN..=i16::MAX).collect();
        let mut bytes = Vec::new();
        L16Encoder::new(16_000).encode(&all, &mut bytes).unwrap();
        let mut back = Vec::new();
        L16Decoder::new(16_000).decode(&bytes, &mut back).unwrap();
        assert_eq!(back, all);
        assert_eq!(
            L16Decoder::new(8000).decode(&[1], &mut back),
            Err(CodecError::BadFrameLength(1))
        );
    }
}
