//! Opus (RFC 6716) through libopus, with the RTP conventions of RFC 7587: the RTP clock is
//! always 48 kHz (§4.1) whatever the coded bandwidth; this crate codes mono at 48 kHz.
//! Concealment uses the decoder's own PLC (a decode call without data, RFC 6716 §4.4).

use super::{CodecError, CodecKind, Decoder, Encoder};

/// Largest Opus packet this crate produces (RFC 6716 §3.4: at most 1275 octets per frame).
const MAX_PACKET: usize = 1275;

/// Opus encoder, mono, 48 kHz, VoIP application.
pub struct OpusEncoder {
    inner: opus::Encoder,
    scratch: Vec<u8>,
}

/// Opus decoder, mono, 48 kHz.
pub struct OpusDecoder {
    inner: opus::Decoder,
    scratch: Vec<i16>,
}

impl std::fmt::Debug for OpusEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusEncoder").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for OpusDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusDecoder").finish_non_exhaustive()
    }
}

impl OpusEncoder {
    /// A mono 48 kHz encoder tuned for speech, at `bitrate` bit/s.
    pub fn new(bitrate: i32) -> Result<Self, CodecError> {
        let mut inner = opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip)
            .map_err(opus_error)?;
        inner
            .set_bitrate(opus::Bitrate::Bits(bitrate))
            .map_err(opus_error)?;
        Ok(Self {
            inner,
            scratch: vec![0; MAX_PACKET],
        })
    }
}

impl OpusDecoder {
    /// A mono 48 kHz decoder.
    pub fn new() -> Result<Self, CodecError> {
        Ok(Self {
            inner: opus::Decoder::new(48_000, opus::Channels::Mono).map_err(opus_error)?,
            // 120 ms at 48 kHz, the longest Opus packet (RFC 6716 §3.2.5).
            scratch: vec![0; 5760],
        })
    }
}

impl Encoder for OpusEncoder {
    fn kind(&self) -> CodecKind {
        CodecKind::Opus
    }

    fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) -> Result<(), CodecError> {
        // Opus accepts 2.5, 5, 10, 20, 40 or 60 ms frames.
        if ![120, 240, 480, 960, 1920, 2880].contains(&pcm.len()) {
            return Err(CodecError::BadFrameLength(pcm.len()));
        }
        let n = self
            .inner
            .encode(pcm, &mut self.scratch)
            .map_err(opus_error)?;
        out.extend_from_slice(&self.scratch[..n]);
        Ok(())
    }
}

impl Decoder for OpusDecoder {
    fn kind(&self) -> CodecKind {
        CodecKind::Opus
    }

    fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<(), CodecError> {
        if payload.is_empty() {
            return Err(CodecError::Malformed("empty Opus packet"));
        }
        let n = self
            .inner
            .decode(payload, &mut self.scratch, false)
            .map_err(opus_error)?;
        out.extend_from_slice(&self.scratch[..n]);
        Ok(())
    }

    fn conceal(&mut self, samples: usize, out: &mut Vec<i16>) -> Result<(), CodecError> {
        let want = samples.min(self.scratch.len());
        let n = self
            .inner
            .decode(&[], &mut self.scratch[..want], false)
            .map_err(opus_error)?;
        out.extend_from_slice(&self.scratch[..n]);
        // libopus conceals in whole frames; pad with silence if it returned fewer samples.
        out.extend(std::iter::repeat_n(0, samples - n.min(samples)));
        Ok(())
    }
}

fn opus_error(e: opus::Error) -> CodecError {
    CodecError::Opus(e.description().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::test_signals::{sine, snr_db};

    #[test]
    fn round_trip_sine() {
        let input = sine(440.0, 48_000, 8000.0, 48_000);
        let mut enc = OpusEncoder::new(32_000).unwrap();
        let mut dec = OpusDecoder::new().unwrap();
        let mut out = Vec::new();
        let mut bytes = Vec::new();
        for frame in input.chunks(960) {
            bytes.clear();
            enc.encode(frame, &mut bytes).unwrap();
            assert!(!bytes.is_empty() && bytes.len() <= MAX_PACKET);
            dec.decode(&bytes, &mut out).unwrap();
        }
        assert_eq!(out.len(), input.len());
        // Opus is a transform codec with look-ahead: find the delay, then compare.
        let best = (0..800)
            .map(|d| snr_db(&input[4800..40_000], &out[4800 + d..40_000 + d]))
            .fold(f64::MIN, f64::max);
        assert!(best > 10.0, "SNR {best:.1} dB");
    }

    #[test]
    fn conceal_produces_requested_samples() {
        let mut dec = OpusDecoder::new().unwrap();
        let mut out = Vec::new();
        dec.conceal(960, &mut out).unwrap();
        assert_eq!(out.len(), 960);
        let mut enc = OpusEncoder::new(24_000).unwrap();
        assert_eq!(
            enc.encode(&[0; 100], &mut Vec::new()),
            Err(CodecError::BadFrameLength(100))
        );
    }
}
