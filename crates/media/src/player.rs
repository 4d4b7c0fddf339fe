//! Prompt player and music on hold: WAV files (any rate, channels, sample format) decoded
//! with `hound`, mixed down to mono, resampled to the leg's rate, and played in frames.

use std::path::{Path, PathBuf};

use crate::resample::{ResampleError, resample_all};

/// Errors of loading prompts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlayerError {
    /// The WAV file could not be read.
    #[error("cannot read WAV {path}: {reason}")]
    Wav {
        /// The file.
        path: PathBuf,
        /// hound's explanation.
        reason: String,
    },
    /// Resampling failed.
    #[error(transparent)]
    Resample(#[from] ResampleError),
    /// A playlist with no entry.
    #[error("empty playlist")]
    EmptyPlaylist,
}

/// Mono PCM at a known rate, ready to play.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    rate: u32,
    samples: Vec<i16>,
}

impl Prompt {
    /// Wraps samples already at `rate`.
    pub fn from_samples(rate: u32, samples: Vec<i16>) -> Self {
        Self { rate, samples }
    }

    /// Loads a WAV file and converts it to mono at `rate` Hz.
    pub fn load(path: &Path, rate: u32) -> Result<Self, PlayerError> {
        let err = |e: hound::Error| PlayerError::Wav {
            path: path.to_owned(),
            reason: e.to_string(),
        };
        let mut reader = hound::WavReader::open(path).map_err(err)?;
        let spec = reader.spec();
        let channels = usize::from(spec.channels.max(1));
        let interleaved: Vec<i32> = match spec.sample_format {
            hound::SampleFormat::Float => reader
                .samples::<f32>()
                .map(|s| s.map(|v| (v.clamp(-1.0, 1.0) * 32767.0) as i32))
                .collect::<Result<_, _>>()
                .map_err(err)?,
            hound::SampleFormat::Int => {
                let shift = i32::from(spec.bits_per_sample) - 16;
                reader
                    .samples::<i32>()
                    .map(|s| s.map(|v| if shift >= 0 { v >> shift } else { v << -shift }))
                    .collect::<Result<_, _>>()
                    .map_err(err)?
            }
        };
        let mono: Vec<i16> = interleaved
            .chunks(channels)
            .map(|c| (c.iter().sum::<i32>() / c.len() as i32).clamp(-32768, 32767) as i16)
            .collect();
        let samples = resample_all(&mono, spec.sample_rate, rate)?;
        Ok(Self { rate, samples })
    }

    /// Sample rate.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// The samples.
    pub fn samples(&self) -> &[i16] {
        &self.samples
    }
}

/// Whether a player has more to play.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlayState {
    /// The frame holds audio (possibly padded with silence at the end).
    Playing,
    /// The prompt ended; the frame is silence.
    Finished,
}

/// Plays a prompt frame by frame.
#[derive(Debug, Clone)]
pub struct PromptPlayer {
    prompt: Prompt,
    pos: usize,
}

impl PromptPlayer {
    /// A player at the start of `prompt`.
    pub fn new(prompt: Prompt) -> Self {
        Self { prompt, pos: 0 }
    }

    /// Fills `frame` with the next samples (silence after the end).
    pub fn next_frame(&mut self, frame: &mut [i16]) -> PlayState {
        let rest = &self.prompt.samples[self.pos.min(self.prompt.samples.len())..];
        if rest.is_empty() {
            frame.fill(0);
            return PlayState::Finished;
        }
        let n = rest.len().min(frame.len());
        frame[..n].copy_from_slice(&rest[..n]);
        frame[n..].fill(0);
        self.pos += n;
        PlayState::Playing
    }
}

/// Music on hold: a playlist played in a loop, gaplessly.
#[derive(Debug, Clone)]
pub struct MusicOnHold {
    playlist: Vec<Prompt>,
    track: usize,
    pos: usize,
}

impl MusicOnHold {
    /// A looping player over `playlist` (all at the leg's rate).
    pub fn new(playlist: Vec<Prompt>) -> Result<Self, PlayerError> {
        if playlist.iter().all(|p| p.samples.is_empty()) {
            return Err(PlayerError::EmptyPlaylist);
        }
        Ok(Self {
            playlist,
            track: 0,
            pos: 0,
        })
    }

    /// Loads WAV files into a playlist at `rate`.
    pub fn load(paths: &[PathBuf], rate: u32) -> Result<Self, PlayerError> {
        let list = paths
            .iter()
            .map(|p| Prompt::load(p, rate))
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(list)
    }

    /// Fills `frame`, moving to the next track (and back to the first) as tracks end.
    pub fn next_frame(&mut self, frame: &mut [i16]) {
        let mut filled = 0;
        while filled < frame.len() {
            let track = &self.playlist[self.track].samples;
            let rest = &track[self.pos.min(track.len())..];
            let n = rest.len().min(frame.len() - filled);
            frame[filled..filled + n].copy_from_slice(&rest[..n]);
            filled += n;
            self.pos += n;
            if self.pos >= track.len() {
                self.track = (self.track + 1) % self.playlist.len();
                self.pos = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_stereo_44k_as_mono_8k() {
        let path =
            std::env::temp_dir().join(format!("tandem-media-{}-prompt.wav", std::process::id()));
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 44_100,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        for i in 0..44_100 {
            let s =
                (8000.0 * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / 44_100.0).sin()) as i16;
            w.write_sample(s).unwrap();
            w.write_sample(s).unwrap();
        }
        w.finalize().unwrap();
        let p = Prompt::load(&path, 8000).unwrap();
        assert_eq!(p.samples().len(), 8000);
        let peak = p.samples()[1000..7000]
            .iter()
            .map(|s| s.unsigned_abs())
            .max()
            .unwrap();
        assert!((7500..=8500).contains(&peak), "peak {peak}");
        let mut player = PromptPlayer::new(p);
        let mut frame = [0i16; 160];
        let mut frames = 0;
        while player.next_frame(&mut frame) == PlayState::Playing {
            frames += 1;
        }
        assert_eq!(frames, 50);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn moh_loops() {
        let mut moh = MusicOnHold::new(vec![
            Prompt::from_samples(8000, vec![1; 100]),
            Prompt::from_samples(8000, vec![2; 50]),
        ])
        .unwrap();
        let mut frame = [0i16; 160];
        moh.next_frame(&mut frame);
        assert_eq!(&frame[..100], &[1; 100]);
        assert_eq!(&frame[100..150], &[2; 50]);
        assert_eq!(&frame[150..], &[1; 10]);
        assert!(MusicOnHold::new(vec![]).is_err());
    }
}
