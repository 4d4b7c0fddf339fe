//! A conference room: N participants, an N-1 mix per listener, ticked every 20 ms.

use std::collections::VecDeque;
use std::time::Instant;

use super::MixerError;
use super::limiter::limit;
use super::vad::{Talk, Vad, VadConfig};
use crate::codec::{CodecKind, Decoder, Encoder};
use crate::jitter::{JitterBuffer, JitterConfig, Playout, PushOutcome};
use crate::resample::Resampler;
use crate::session::{RtpSender, SendConfig, Talkspurt};

/// The mixer's frame: every tick mixes 20 ms.
pub const FRAME_MS: u32 = 20;

/// Configuration of a [`Room`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomConfig {
    /// Mixing rate: 8000, 16000 or 48000 Hz.
    pub rate: u32,
    /// Talker detection thresholds.
    pub vad: VadConfig,
}

impl RoomConfig {
    /// A room mixing at `rate` Hz with default talker detection.
    pub fn new(rate: u32) -> Self {
        Self {
            rate,
            vad: VadConfig::default(),
        }
    }
}

/// Configuration of one participant's leg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipantConfig {
    /// Codec negotiated on the leg.
    pub codec: CodecKind,
    /// Payload type to send.
    pub payload_type: u8,
    /// Packetization time of received packets in ms (10–60).
    pub ptime_ms: u32,
    /// Seed of the RNG for the sending SSRC/sequence/timestamp.
    pub seed: u64,
}

impl ParticipantConfig {
    /// 20 ms packets of `codec` with its static payload type (96 if it has none).
    pub fn new(codec: CodecKind, seed: u64) -> Self {
        Self {
            codec,
            payload_type: codec.static_payload_type().unwrap_or(96),
            ptime_ms: 20,
            seed,
        }
    }
}

/// Opaque handle of a participant: slot index and generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParticipantId {
    index: u32,
    generation: u32,
}

/// Events of a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomEvent {
    /// The participant started talking.
    Talking(ParticipantId),
    /// The participant stopped talking (after the hangover).
    Silent(ParticipantId),
}

/// Outputs of a room, drained by [`Room::poll_output`] after each tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomOutput {
    /// An RTP packet to send to the participant.
    Transmit {
        /// Destination participant.
        participant: ParticipantId,
        /// The serialized RTP packet.
        packet: Vec<u8>,
    },
    /// An event.
    Event(RoomEvent),
}

/// Who hears a participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// Everyone but themselves.
    All,
    /// Nobody (muted).
    Muted,
    /// Only this participant (coach / whisper).
    Whisper(ParticipantId),
}

/// Whether a participant hears the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hearing {
    Hears,
    Deaf,
}

struct Participant {
    id: ParticipantId,
    codec_frame: usize,
    ptime_samples: usize,
    jitter: JitterBuffer,
    decoder: Box<dyn Decoder>,
    encoder: Box<dyn Encoder>,
    up: Resampler,
    down: Resampler,
    sender: RtpSender,
    ts_per_frame: u32,
    fifo: Vec<i16>,
    scratch: Vec<i16>,
    frame: Vec<i16>,
    heard: Vec<i16>,
    payload: Vec<u8>,
    vad: Vad,
    route: Route,
    hearing: Hearing,
    talking: bool,
}

/// A conference room (ARCHITECTURE §4, S3).
///
/// Per tick and participant: jitter buffer → decode (or conceal) → resample to the room rate
/// → talker detection; then per listener: the sum of all active speakers but itself in i32,
/// plus whispers addressed to it → soft-clip limiter → resample to the leg's rate → encode →
/// RTP. Silent participants are not mixed. Everything is integer or deterministic
/// floating-point arithmetic over frame-aligned ticks, so the same inputs give byte-identical
/// outputs.
pub struct Room {
    config: RoomConfig,
    frame: usize,
    slots: Vec<Slot>,
    bus: Vec<i32>,
    listener_bus: Vec<i32>,
    outputs: VecDeque<RoomOutput>,
}

struct Slot {
    generation: u32,
    participant: Option<Participant>,
}

impl std::fmt::Debug for Room {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Room")
            .field("rate", &self.config.rate)
            .field("participants", &self.len())
            .finish()
    }
}

impl Room {
    /// An empty room.
    pub fn new(config: RoomConfig) -> Result<Self, MixerError> {
        if ![8000, 16_000, 48_000].contains(&config.rate) {
            return Err(MixerError::UnsupportedRate(config.rate));
        }
        let frame = (config.rate / 1000 * FRAME_MS) as usize;
        Ok(Self {
            config,
            frame,
            slots: Vec::new(),
            bus: vec![0; frame],
            listener_bus: vec![0; frame],
            outputs: VecDeque::new(),
        })
    }

    /// Samples per frame at the room rate.
    pub fn frame_len(&self) -> usize {
        self.frame
    }

    /// Number of participants.
    pub fn len(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| s.participant.is_some())
            .count()
    }

    /// True when nobody is in the room.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds a participant.
    pub fn add(&mut self, config: ParticipantConfig) -> Result<ParticipantId, MixerError> {
        let codec = config.codec;
        let codec_rate = codec.sample_rate();
        let index = self
            .slots
            .iter()
            .position(|s| s.participant.is_none())
            .unwrap_or(self.slots.len());
        if index == self.slots.len() {
            self.slots.push(Slot {
                generation: 0,
                participant: None,
            });
        }
        let slot = &mut self.slots[index];
        slot.generation = slot.generation.wrapping_add(1);
        let id = ParticipantId {
            index: index as u32,
            generation: slot.generation,
        };
        let mut jitter = JitterConfig::new(codec.rtp_clock_rate());
        jitter.frame_ms = config.ptime_ms;
        let sender = RtpSender::new(
            SendConfig {
                payload_type: config.payload_type,
                clock_rate: codec.rtp_clock_rate(),
                ptime_ms: FRAME_MS,
                ssrc: None,
            },
            config.seed,
        )?;
        slot.participant = Some(Participant {
            id,
            codec_frame: codec.samples_per(FRAME_MS),
            ptime_samples: codec.samples_per(config.ptime_ms),
            jitter: JitterBuffer::new(jitter),
            decoder: codec.decoder()?,
            encoder: codec.encoder()?,
            up: Resampler::new(codec_rate, self.config.rate, FRAME_MS)?,
            down: Resampler::new(self.config.rate, codec_rate, FRAME_MS)?,
            ts_per_frame: codec.timestamp_units_per(FRAME_MS),
            sender,
            fifo: Vec::new(),
            scratch: Vec::new(),
            frame: vec![0; self.frame],
            heard: Vec::with_capacity(self.frame),
            payload: Vec::new(),
            vad: Vad::new(self.config.vad.clone()),
            route: Route::All,
            hearing: Hearing::Hears,
            talking: false,
        });
        Ok(id)
    }

    /// Removes a participant; its id becomes invalid.
    pub fn remove(&mut self, id: ParticipantId) -> Result<(), MixerError> {
        self.get_mut(id)?;
        self.slots[id.index as usize].participant = None;
        // Whispers addressed to it fall back to muted.
        for p in self.slots.iter_mut().filter_map(|s| s.participant.as_mut()) {
            if p.route == Route::Whisper(id) {
                p.route = Route::Muted;
            }
        }
        Ok(())
    }

    /// Hands a received RTP payload (from [`crate::session::RtpReceiver`]) to a participant's
    /// jitter buffer.
    pub fn push_rtp(
        &mut self,
        id: ParticipantId,
        now: Instant,
        extended_seq: u64,
        extended_ts: u64,
        payload: &[u8],
    ) -> Result<PushOutcome, MixerError> {
        let p = self.get_mut(id)?;
        Ok(p.jitter.push(now, extended_seq, extended_ts, payload))
    }

    /// Nobody hears this participant.
    pub fn mute(&mut self, id: ParticipantId) -> Result<(), MixerError> {
        self.get_mut(id)?.route = Route::Muted;
        Ok(())
    }

    /// Everyone hears this participant again (also ends a whisper).
    pub fn unmute(&mut self, id: ParticipantId) -> Result<(), MixerError> {
        self.get_mut(id)?.route = Route::All;
        Ok(())
    }

    /// This participant hears nothing (it is sent silence).
    pub fn deafen(&mut self, id: ParticipantId) -> Result<(), MixerError> {
        self.get_mut(id)?.hearing = Hearing::Deaf;
        Ok(())
    }

    /// This participant hears the room again.
    pub fn undeafen(&mut self, id: ParticipantId) -> Result<(), MixerError> {
        self.get_mut(id)?.hearing = Hearing::Hears;
        Ok(())
    }

    /// Coach / whisper: `speaker` is heard only by `listener`.
    pub fn whisper(
        &mut self,
        speaker: ParticipantId,
        listener: ParticipantId,
    ) -> Result<(), MixerError> {
        self.get_mut(listener)?;
        if speaker == listener {
            return Err(MixerError::ApiMisuse(
                "a participant cannot whisper to itself",
            ));
        }
        self.get_mut(speaker)?.route = Route::Whisper(listener);
        Ok(())
    }

    /// The room-rate PCM the participant heard in the last tick (after the limiter).
    pub fn last_heard(&self, id: ParticipantId) -> Result<&[i16], MixerError> {
        self.get(id).map(|p| p.heard.as_slice())
    }

    /// Frames concealed so far by the jitter buffers of `ids` (lost or late packets).
    pub fn concealed_frames(&self, ids: &[ParticipantId]) -> Result<u64, MixerError> {
        ids.iter()
            .map(|&id| self.get(id).map(|p| p.jitter.stats().concealed))
            .sum()
    }

    /// Mixes one 20 ms frame for every participant at tick `now`.
    pub fn tick(&mut self, now: Instant) -> Result<(), MixerError> {
        // 1. Per participant: jitter buffer, decode, resample, talker detection.
        for slot in &mut self.slots {
            let Some(p) = slot.participant.as_mut() else {
                continue;
            };
            p.fill(now)?;
            let talking = p.vad.process(&p.frame) == Talk::Talking;
            if talking != p.talking {
                p.talking = talking;
                self.outputs.push_back(RoomOutput::Event(if talking {
                    RoomEvent::Talking(p.id)
                } else {
                    RoomEvent::Silent(p.id)
                }));
            }
        }
        // 2. The bus: every active speaker heard by all.
        self.bus.fill(0);
        for p in self.slots.iter().filter_map(|s| s.participant.as_ref()) {
            if p.talking && p.route == Route::All {
                for (b, &s) in self.bus.iter_mut().zip(&p.frame) {
                    *b += i32::from(s);
                }
            }
        }
        // 3. Per listener: bus minus self plus whispers, limit, resample, encode, packetize.
        for i in 0..self.slots.len() {
            let Some(listener) = self.slots[i].participant.as_ref() else {
                continue;
            };
            let id = listener.id;
            let own = (listener.talking && listener.route == Route::All).then_some(i);
            let deaf = listener.hearing == Hearing::Deaf;
            self.listener_bus.copy_from_slice(&self.bus);
            if let Some(own) = own
                && let Some(me) = self.slots[own].participant.as_ref()
            {
                for (b, &s) in self.listener_bus.iter_mut().zip(&me.frame) {
                    *b -= i32::from(s);
                }
            }
            for p in self.slots.iter().filter_map(|s| s.participant.as_ref()) {
                if p.talking && p.route == Route::Whisper(id) {
                    for (b, &s) in self.listener_bus.iter_mut().zip(&p.frame) {
                        *b += i32::from(s);
                    }
                }
            }
            if deaf {
                self.listener_bus.fill(0);
            }
            let Some(listener) = self.slots[i].participant.as_mut() else {
                continue;
            };
            listener.heard.resize(self.frame, 0);
            limit(&self.listener_bus, &mut listener.heard);
            let packet = listener.encode()?;
            self.outputs.push_back(RoomOutput::Transmit {
                participant: id,
                packet,
            });
        }
        Ok(())
    }

    /// Next output: packets and events of the last tick, in participant order.
    pub fn poll_output(&mut self) -> Option<RoomOutput> {
        self.outputs.pop_front()
    }

    fn get(&self, id: ParticipantId) -> Result<&Participant, MixerError> {
        self.slots
            .get(id.index as usize)
            .filter(|s| s.generation == id.generation)
            .and_then(|s| s.participant.as_ref())
            .ok_or(MixerError::UnknownParticipant)
    }

    fn get_mut(&mut self, id: ParticipantId) -> Result<&mut Participant, MixerError> {
        self.slots
            .get_mut(id.index as usize)
            .filter(|s| s.generation == id.generation)
            .and_then(|s| s.participant.as_mut())
            .ok_or(MixerError::UnknownParticipant)
    }
}

impl Participant {
    /// Pops the jitter buffer until one 20 ms frame is decoded, then resamples it to
    /// `self.frame`.
    fn fill(&mut self, now: Instant) -> Result<(), MixerError> {
        while self.fifo.len() < self.codec_frame {
            match self.jitter.pop(now) {
                Playout::Frame { payload, .. } => {
                    let before = self.fifo.len();
                    if self.decoder.decode(&payload, &mut self.fifo).is_err() {
                        self.fifo.truncate(before);
                        self.decoder.conceal(self.ptime_samples, &mut self.fifo)?;
                    }
                }
                Playout::Lost => self.decoder.conceal(self.ptime_samples, &mut self.fifo)?,
                Playout::Empty => self.fifo.extend(std::iter::repeat_n(0, self.ptime_samples)),
            }
        }
        self.scratch.clear();
        self.up
            .process(&self.fifo[..self.codec_frame], &mut self.scratch)?;
        self.fifo.drain(..self.codec_frame);
        self.frame.clear();
        self.frame.extend_from_slice(&self.scratch);
        Ok(())
    }

    /// Resamples, encodes and packetizes what this participant heard.
    fn encode(&mut self) -> Result<Vec<u8>, MixerError> {
        self.scratch.clear();
        self.down.process(&self.heard, &mut self.scratch)?;
        self.payload.clear();
        self.encoder.encode(&self.scratch, &mut self.payload)?;
        let mut packet = Vec::with_capacity(12 + self.payload.len());
        self.sender.packetize(
            &self.payload,
            self.ts_per_frame,
            Talkspurt::Continue,
            &mut packet,
        )?;
        Ok(packet)
    }
}
