//! Crash-safe WAV recording with `hound`: mixed mono, or stereo with one party per channel.
//!
//! The WAV header is rewritten ([`hound::WavWriter::flush`]) every half second of audio, so a
//! crash loses at most that much: the file on disk is always a valid WAV of what was flushed.
//! This is one of the crate's two I/O edges (with [`crate::player`]); it reads no clock.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

/// Errors of recording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The WAV file could not be created or written.
    #[error("WAV write failed: {0}")]
    Wav(String),
    /// Stereo channels of different lengths.
    #[error("channel lengths differ: {0} and {1}")]
    ChannelMismatch(usize, usize),
    /// A mono write on a stereo recorder or the reverse.
    #[error("write does not match the recorder's channel layout")]
    LayoutMismatch,
}

/// Channel layout of a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// The mix, one channel.
    Mono,
    /// Two parties, one per channel (e.g. customer left, agent right).
    Stereo,
}

/// A WAV recorder with periodic header checkpoints.
pub struct Recorder {
    writer: hound::WavWriter<BufWriter<File>>,
    layout: Layout,
    since_checkpoint: u32,
    checkpoint_frames: u32,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("layout", &self.layout)
            .finish()
    }
}

fn wav_err(e: hound::Error) -> RecordError {
    RecordError::Wav(e.to_string())
}

impl Recorder {
    /// Creates (truncates) `path` for 16-bit PCM at `rate` Hz.
    pub fn create(path: &Path, rate: u32, layout: Layout) -> Result<Self, RecordError> {
        let spec = hound::WavSpec {
            channels: if layout == Layout::Mono { 1 } else { 2 },
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        Ok(Self {
            writer: hound::WavWriter::create(path, spec).map_err(wav_err)?,
            layout,
            since_checkpoint: 0,
            checkpoint_frames: (rate / 2).max(1),
        })
    }

    /// Appends mono samples.
    pub fn write_mono(&mut self, samples: &[i16]) -> Result<(), RecordError> {
        if self.layout != Layout::Mono {
            return Err(RecordError::LayoutMismatch);
        }
        for &s in samples {
            self.writer.write_sample(s).map_err(wav_err)?;
        }
        self.advance(samples.len())
    }

    /// Appends one frame per party, interleaved left/right.
    pub fn write_stereo(&mut self, left: &[i16], right: &[i16]) -> Result<(), RecordError> {
        if self.layout != Layout::Stereo {
            return Err(RecordError::LayoutMismatch);
        }
        if left.len() != right.len() {
            return Err(RecordError::ChannelMismatch(left.len(), right.len()));
        }
        for (&l, &r) in left.iter().zip(right) {
            self.writer.write_sample(l).map_err(wav_err)?;
            self.writer.write_sample(r).map_err(wav_err)?;
        }
        self.advance(left.len())
    }

    fn advance(&mut self, frames: usize) -> Result<(), RecordError> {
        self.since_checkpoint += frames as u32;
        if self.since_checkpoint >= self.checkpoint_frames {
            self.checkpoint()?;
        }
        Ok(())
    }

    /// Flushes buffered audio and rewrites the header now.
    pub fn checkpoint(&mut self) -> Result<(), RecordError> {
        self.since_checkpoint = 0;
        self.writer.flush().map_err(wav_err)
    }

    /// Finishes the file.
    pub fn finalize(self) -> Result<(), RecordError> {
        self.writer.finalize().map_err(wav_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("tandem-media-{}-{name}", std::process::id()))
    }

    #[test]
    fn crash_loses_at_most_a_second() {
        let path = temp("crash.wav");
        let mut rec = Recorder::create(&path, 8000, Layout::Mono).unwrap();
        for i in 0..150 {
            rec.write_mono(&[i as i16; 160]).unwrap(); // 3 s in 20 ms frames
        }
        // Simulate a crash: the writer is never finalized nor dropped.
        std::mem::forget(rec);
        let reader = hound::WavReader::open(&path).unwrap();
        let n = reader.duration();
        assert!(n >= 2 * 8000, "only {n} samples survived");
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn stereo_round_trip() {
        let path = temp("stereo.wav");
        let mut rec = Recorder::create(&path, 16_000, Layout::Stereo).unwrap();
        rec.write_stereo(&[1, 2, 3], &[-1, -2, -3]).unwrap();
        assert_eq!(rec.write_mono(&[1]), Err(RecordError::LayoutMismatch));
        assert!(rec.write_stereo(&[1], &[]).is_err());
        rec.finalize().unwrap();
        let mut reader = hound::WavReader::open(&path).unwrap();
        assert_eq!(reader.spec().channels, 2);
        let s: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
        assert_eq!(s, [1, -1, 2, -2, 3, -3]);
        let _ = std::fs::remove_file(&path);
    }
}
