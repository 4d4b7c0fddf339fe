//! Library functions behind the server's media CLI commands: mix WAV files through the real
//! RTP path, and generate or detect DTMF in WAV files.
//!
//! These are the only functions of the crate that take a starting [`Instant`] from the
//! system clock, and only as an arbitrary origin for virtual time: results do not depend on
//! it, so runs with the same inputs and seed are byte-identical.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::codec::{CodecError, CodecKind};
use crate::dtmf::generate::{DtmfToneConfig, generate_digits};
use crate::dtmf::goertzel::detect_digits;
use crate::dtmf::rfc4733::DtmfError;
use crate::mixer::room::FRAME_MS;
use crate::mixer::{MixerError, ParticipantConfig, Room, RoomConfig};
use crate::player::{PlayerError, Prompt};
use crate::recorder::{Layout, RecordError, Recorder};
use crate::rtp::RtpError;
use crate::session::{ReceiveConfig, RtpReceiver, RtpSender, SendConfig, SessionError, Talkspurt};

/// Errors of the tools.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolError {
    /// No input file was given.
    #[error("no input files")]
    NoInputs,
    /// An argument is out of range.
    #[error("invalid argument: {0}")]
    BadArgument(String),
    /// Reading a WAV failed.
    #[error(transparent)]
    Player(#[from] PlayerError),
    /// Writing a WAV failed.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// The mixer failed.
    #[error(transparent)]
    Mixer(#[from] MixerError),
    /// A codec failed.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// RTP packetization failed.
    #[error(transparent)]
    Rtp(#[from] RtpError),
    /// Session setup failed.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// A character is not a DTMF digit.
    #[error(transparent)]
    Dtmf(#[from] DtmfError),
}

/// What [`mix_files`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MixReport {
    /// Rate of the output WAV (the codec's PCM rate).
    pub output_rate: u32,
    /// Duration of the output in ms.
    pub duration_ms: u64,
    /// RTP packets sent by all inputs.
    pub packets_sent: u64,
    /// Packets the simulated network dropped.
    pub packets_dropped: u64,
    /// Frames the jitter buffers concealed (lost or late packets).
    pub frames_concealed: u64,
}

/// Mixes `inputs` as a conference heard by a silent listener, through the real media path:
/// each WAV is resampled to the codec's rate, encoded in 20 ms frames, packetized as RTP,
/// sent through a simulated network with uniform extra delay `0..=jitter_ms` and `loss_pct` %
/// loss (both from an RNG seeded with `seed`), parsed by an [`RtpReceiver`], and fed to a
/// [`Room`] (jitter buffer → decode → mix). The listener's mix is written to `output` as
/// mono 16-bit WAV at the codec's PCM rate: 8 kHz for PCMU/PCMA, 16 kHz for G.722, 48 kHz for
/// Opus, the L16 rate for L16.
pub fn mix_files(
    inputs: &[PathBuf],
    codec: CodecKind,
    jitter_ms: u32,
    loss_pct: f64,
    seed: u64,
    output: &Path,
) -> Result<MixReport, ToolError> {
    if inputs.is_empty() {
        return Err(ToolError::NoInputs);
    }
    if !(0.0..=100.0).contains(&loss_pct) {
        return Err(ToolError::BadArgument(format!(
            "loss {loss_pct}% outside 0..=100"
        )));
    }
    let rate = codec.sample_rate();
    let frame = codec.samples_per(FRAME_MS);
    let prompts = inputs
        .iter()
        .map(|p| Prompt::load(p, rate))
        .collect::<Result<Vec<_>, _>>()?;
    let mut room = Room::new(RoomConfig::new(rate))?;
    let mut rng = SmallRng::seed_from_u64(seed);
    let t0 = Instant::now();
    let tick = Duration::from_millis(u64::from(FRAME_MS));
    let pt = codec.static_payload_type().unwrap_or(96);

    // Encode and send every input; the network decides each packet's fate.
    let mut arrivals: Vec<(Instant, usize, Vec<u8>)> = Vec::new();
    let mut report = MixReport {
        output_rate: rate,
        duration_ms: 0,
        packets_sent: 0,
        packets_dropped: 0,
        frames_concealed: 0,
    };
    let mut ids = Vec::new();
    let mut frames_total = 0;
    for (i, prompt) in prompts.iter().enumerate() {
        ids.push(room.add(ParticipantConfig::new(codec, seed.wrapping_add(i as u64)))?);
        let mut encoder = codec.encoder()?;
        let send = SendConfig {
            payload_type: pt,
            clock_rate: codec.rtp_clock_rate(),
            ptime_ms: FRAME_MS,
            ssrc: None,
        };
        let mut sender = RtpSender::new(send, seed.wrapping_add(1000 + i as u64))?;
        let samples = prompt.samples();
        let frames = samples.len().div_ceil(frame);
        frames_total = frames_total.max(frames);
        let mut pcm = vec![0i16; frame];
        for f in 0..frames {
            let chunk = &samples[f * frame..((f + 1) * frame).min(samples.len())];
            pcm[..chunk.len()].copy_from_slice(chunk);
            pcm[chunk.len()..].fill(0);
            let payload = encoder.encode_to_vec(&pcm)?;
            let mut packet = Vec::new();
            sender.packetize(
                &payload,
                codec.timestamp_units_per(FRAME_MS),
                Talkspurt::Continue,
                &mut packet,
            )?;
            report.packets_sent += 1;
            let delay = Duration::from_millis(u64::from(rng.gen_range(0..=jitter_ms)));
            if rng.gen_bool(loss_pct / 100.0) {
                report.packets_dropped += 1;
                continue;
            }
            arrivals.push((t0 + tick * f as u32 + delay, i, packet));
        }
    }
    arrivals.sort_by_key(|a| (a.0, a.1));
    let listener = room.add(ParticipantConfig::new(codec, seed.wrapping_add(999)))?;

    // Receive side, one RtpReceiver per input leg.
    let peer =
        |i: usize| SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 4000 + 2 * i as u16);
    let mut receivers = (0..prompts.len())
        .map(|i| {
            RtpReceiver::new(
                t0,
                ReceiveConfig::new(codec.rtp_clock_rate(), Some(peer(i))),
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut recorder = Recorder::create(output, rate, Layout::Mono)?;
    let ticks = frames_total + (jitter_ms / FRAME_MS) as usize + 15;
    let mut next = 0;
    for t in 0..ticks {
        let now = t0 + tick * t as u32;
        while next < arrivals.len() && arrivals[next].0 <= now {
            let (at, i, ref packet) = arrivals[next];
            if let Ok(got) = receivers[i].handle_datagram(at, peer(i), packet) {
                room.push_rtp(
                    ids[i],
                    at,
                    got.extended_seq,
                    got.extended_ts,
                    got.packet.payload,
                )?;
            }
            next += 1;
        }
        room.tick(now)?;
        while room.poll_output().is_some() {}
        recorder.write_mono(room.last_heard(listener)?)?;
    }
    recorder.finalize()?;
    report.duration_ms = ticks as u64 * u64::from(FRAME_MS);
    report.frames_concealed = room.concealed_frames(&ids)?;
    Ok(report)
}

/// The DTMF digits found in a WAV file (any rate; analysed at 8 kHz), in order.
pub fn detect_dtmf_file(path: &Path) -> Result<String, ToolError> {
    let prompt = Prompt::load(path, 8000)?;
    Ok(detect_digits(prompt.samples()))
}

/// Writes `digits` as DTMF to a mono 16-bit WAV at `rate` Hz: 80 ms tones, 80 ms gaps,
/// about -10 dBm0 per tone.
pub fn generate_dtmf_file(digits: &str, path: &Path, rate: u32) -> Result<(), ToolError> {
    if rate < 8000 {
        return Err(ToolError::BadArgument(format!("rate {rate} Hz below 8000")));
    }
    let config = DtmfToneConfig {
        rate,
        ..DtmfToneConfig::default()
    };
    let pcm = generate_digits(digits, &config)?;
    let mut rec = Recorder::create(path, rate, Layout::Mono)?;
    rec.write_mono(&pcm)?;
    rec.finalize()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("tandem-media-tools-{}-{name}", std::process::id()))
    }

    #[test]
    fn dtmf_file_round_trip() {
        for rate in [8000, 16_000, 48_000] {
            let path = temp(&format!("dtmf-{rate}.wav"));
            generate_dtmf_file("0123456789*#ABCD", &path, rate).unwrap();
            assert_eq!(
                detect_dtmf_file(&path).unwrap(),
                "0123456789*#ABCD",
                "rate {rate}"
            );
            let _ = std::fs::remove_file(&path);
        }
        assert!(generate_dtmf_file("1x", &temp("bad.wav"), 8000).is_err());
    }

    #[test]
    fn mix_two_files_through_the_network() {
        let a = temp("a.wav");
        let b = temp("b.wav");
        generate_dtmf_file("1", &a, 8000).unwrap();
        generate_dtmf_file("9", &b, 16_000).unwrap();
        for codec in [CodecKind::Pcmu, CodecKind::G722] {
            let out = temp("mix.wav");
            let report = mix_files(&[a.clone(), b.clone()], codec, 40, 5.0, 7, &out).unwrap();
            assert_eq!(report.output_rate, codec.sample_rate());
            assert_eq!(report.packets_sent, 16);
            let reader = hound::WavReader::open(&out).unwrap();
            assert_eq!(reader.spec().sample_rate, codec.sample_rate());
            assert_eq!(
                u64::from(reader.duration()),
                report.duration_ms * u64::from(codec.sample_rate()) / 1000
            );
            let again = temp("mix2.wav");
            mix_files(&[a.clone(), b.clone()], codec, 40, 5.0, 7, &again).unwrap();
            assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&again).unwrap());
            let _ = std::fs::remove_file(&out);
            let _ = std::fs::remove_file(&again);
        }
        assert_eq!(
            mix_files(&[], CodecKind::Pcmu, 0, 0.0, 0, &temp("x.wav")),
            Err(ToolError::NoInputs)
        );
        let _ = std::fs::remove_file(&a);
        let _ = std::fs::remove_file(&b);
    }
}
