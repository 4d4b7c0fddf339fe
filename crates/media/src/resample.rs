//! Frame-based sample-rate conversion between the rates legs and rooms use (8, 16, 48 kHz),
//! with `rubato`'s FFT resampler. One input frame gives exactly one output frame of the same
//! duration, so the mixer's 20 ms cadence is kept; the filter adds a fixed delay of a few ms.

use rubato::{FftFixedInOut, Resampler as _};

/// Errors of building or running a resampler.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResampleError {
    /// The rates or frame length are not supported by the resampler.
    #[error("cannot resample {from} Hz to {to} Hz: {reason}")]
    Unsupported {
        /// Input rate.
        from: u32,
        /// Output rate.
        to: u32,
        /// rubato's explanation.
        reason: String,
    },
    /// The input frame length does not match the configured frame.
    #[error("input frame of {got} samples, expected {expected}")]
    BadFrame {
        /// Samples given.
        got: usize,
        /// Samples expected.
        expected: usize,
    },
}

/// A mono resampler from `from` Hz to `to` Hz in fixed frames (pass-through when equal).
pub struct Resampler {
    from: u32,
    to: u32,
    inner: Option<FftFixedInOut<f32>>,
    input: Vec<Vec<f32>>,
    output: Vec<Vec<f32>>,
    frame_in: usize,
}

impl std::fmt::Debug for Resampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resampler")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("frame_in", &self.frame_in)
            .finish()
    }
}

impl Resampler {
    /// A resampler taking frames of `frame_ms` ms at `from` Hz.
    pub fn new(from: u32, to: u32, frame_ms: u32) -> Result<Self, ResampleError> {
        let frame_in = (from / 1000 * frame_ms) as usize;
        if from == to {
            return Ok(Self {
                from,
                to,
                inner: None,
                input: Vec::new(),
                output: Vec::new(),
                frame_in,
            });
        }
        let unsupported = |reason: String| ResampleError::Unsupported { from, to, reason };
        let inner = FftFixedInOut::<f32>::new(from as usize, to as usize, frame_in, 1)
            .map_err(|e| unsupported(e.to_string()))?;
        if inner.input_frames_next() != frame_in {
            return Err(unsupported(format!(
                "frame of {frame_in} samples is not a multiple of the FFT chunk"
            )));
        }
        let out_len = inner.output_frames_max();
        Ok(Self {
            from,
            to,
            inner: Some(inner),
            input: vec![vec![0.0; frame_in]],
            output: vec![vec![0.0; out_len]],
            frame_in,
        })
    }

    /// Input samples per frame.
    pub fn input_frame(&self) -> usize {
        self.frame_in
    }

    /// Resamples one frame, appending the output frame to `out`.
    pub fn process(&mut self, frame: &[i16], out: &mut Vec<i16>) -> Result<(), ResampleError> {
        if frame.len() != self.frame_in {
            return Err(ResampleError::BadFrame {
                got: frame.len(),
                expected: self.frame_in,
            });
        }
        let Some(inner) = self.inner.as_mut() else {
            out.extend_from_slice(frame);
            return Ok(());
        };
        for (dst, &s) in self.input[0].iter_mut().zip(frame) {
            *dst = f32::from(s) / 32768.0;
        }
        let (_, written) = inner
            .process_into_buffer(&self.input, &mut self.output, None)
            .map_err(|e| ResampleError::Unsupported {
                from: self.from,
                to: self.to,
                reason: e.to_string(),
            })?;
        out.extend(
            self.output[0][..written]
                .iter()
                .map(|&s| (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16),
        );
        Ok(())
    }
}

/// Resamples a whole signal (prompts, files): pads the tail, removes the filter delay, and
/// returns `input.len() * to / from` samples.
pub fn resample_all(input: &[i16], from: u32, to: u32) -> Result<Vec<i16>, ResampleError> {
    if from == to {
        return Ok(input.to_vec());
    }
    let unsupported = |reason: String| ResampleError::Unsupported { from, to, reason };
    let mut inner = FftFixedInOut::<f32>::new(from as usize, to as usize, 1024, 1)
        .map_err(|e| unsupported(e.to_string()))?;
    let delay = inner.output_delay();
    let want = (input.len() as u64 * u64::from(to) / u64::from(from)) as usize;
    let mut out = Vec::with_capacity(want + delay);
    let mut pos = 0;
    let mut buf_out = vec![vec![0.0f32; inner.output_frames_max()]];
    while out.len() < want + delay {
        let n = inner.input_frames_next();
        let chunk: Vec<f32> = (pos..pos + n)
            .map(|i| input.get(i).map_or(0.0, |&s| f32::from(s) / 32768.0))
            .collect();
        pos += n;
        let (_, written) = inner
            .process_into_buffer(&[chunk], &mut buf_out, None)
            .map_err(|e| unsupported(e.to_string()))?;
        out.extend(
            buf_out[0][..written]
                .iter()
                .map(|&s| (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16),
        );
    }
    out.drain(..delay);
    out.truncate(want);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::test_signals::{sine, snr_db};

    #[test]
    fn frame_sizes() {
        for (from, to) in [
            (8000, 16_000),
            (16_000, 8000),
            (8000, 48_000),
            (48_000, 8000),
            (16_000, 48_000),
            (48_000, 16_000),
        ] {
            let mut r = Resampler::new(from, to, 20).unwrap();
            let mut out = Vec::new();
            for _ in 0..5 {
                r.process(&vec![0; (from / 50) as usize], &mut out).unwrap();
            }
            assert_eq!(out.len(), 5 * (to / 50) as usize, "{from}->{to}");
        }
        let mut r = Resampler::new(8000, 16_000, 20).unwrap();
        assert!(r.process(&[0; 10], &mut Vec::new()).is_err());
    }

    #[test]
    fn up_then_down_preserves_a_tone() {
        let input = sine(440.0, 8000, 8000.0, 8000);
        let up = resample_all(&input, 8000, 48_000).unwrap();
        assert_eq!(up.len(), 48_000);
        let reference = sine(440.0, 48_000, 8000.0, 48_000);
        let snr = snr_db(&reference[4800..43_200], &up[4800..43_200]);
        assert!(snr > 60.0, "8k->48k SNR {snr:.1}");
        // Down-sampling keeps the level (its delay is a fraction of a sample, so compare RMS).
        let down = resample_all(&up, 48_000, 8000).unwrap();
        assert_eq!(down.len(), 8000);
        let rms = |x: &[i16]| {
            (x.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
        };
        let ratio = rms(&down[800..7200]) / rms(&input[800..7200]);
        assert!((0.95..1.05).contains(&ratio), "level ratio {ratio}");
    }
}
