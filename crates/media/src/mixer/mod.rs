//! The conference mixer: [`Room`]s of participants, and a [`Mixer`] that holds many rooms
//! for one media thread (the thread itself belongs to the runtime crate).
//!
//! ```
//! use std::time::{Duration, Instant};
//! use tandem_media::codec::CodecKind;
//! use tandem_media::mixer::{Mixer, ParticipantConfig, RoomConfig, RoomOutput};
//!
//! let mut mixer = Mixer::new();
//! let room = mixer.add_room(RoomConfig::new(8000)).unwrap();
//! let alice = mixer.room_mut(room).unwrap().add(ParticipantConfig::new(CodecKind::Pcmu, 1)).unwrap();
//! let start = Instant::now(); // the driver's clock
//! for tick in 0..3u32 {
//!     // ... push received RTP with room.push_rtp(alice, now, seq, ts, payload) ...
//!     mixer.tick(start + Duration::from_millis(20) * tick).unwrap();
//!     while let Some((_room, out)) = mixer.poll_output() {
//!         if let RoomOutput::Transmit { participant, packet } = out {
//!             assert_eq!(participant, alice);
//!             assert_eq!(packet.len(), 12 + 160); // send to the participant's latched address
//!         }
//!     }
//! }
//! ```

pub mod limiter;
pub mod room;
pub mod vad;

use std::time::Instant;

pub use room::{ParticipantConfig, ParticipantId, Room, RoomConfig, RoomEvent, RoomOutput};

use crate::codec::CodecError;
use crate::resample::ResampleError;
use crate::rtp::RtpError;
use crate::session::SessionError;

/// Errors of the mixer API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MixerError {
    /// The participant id is stale or unknown.
    #[error("unknown participant")]
    UnknownParticipant,
    /// The room id is stale or unknown.
    #[error("unknown room")]
    UnknownRoom,
    /// The room rate is not 8000, 16000 or 48000 Hz.
    #[error("unsupported room rate {0} Hz")]
    UnsupportedRate(u32),
    /// A call that makes no sense.
    #[error("API misuse: {0}")]
    ApiMisuse(&'static str),
    /// A codec failed.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// A resampler failed.
    #[error(transparent)]
    Resample(#[from] ResampleError),
    /// Session configuration was invalid.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// Packetization failed.
    #[error(transparent)]
    Rtp(#[from] RtpError),
}

/// Opaque handle of a room in a [`Mixer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomId {
    index: u32,
    generation: u32,
}

/// Many rooms ticked together by one thread.
#[derive(Debug, Default)]
pub struct Mixer {
    rooms: Vec<(u32, Option<Room>)>,
    cursor: usize,
}

impl Mixer {
    /// An empty mixer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Creates a room.
    pub fn add_room(&mut self, config: RoomConfig) -> Result<RoomId, MixerError> {
        let room = Room::new(config)?;
        let index = self
            .rooms
            .iter()
            .position(|(_, r)| r.is_none())
            .unwrap_or(self.rooms.len());
        if index == self.rooms.len() {
            self.rooms.push((0, None));
        }
        let slot = &mut self.rooms[index];
        slot.0 = slot.0.wrapping_add(1);
        slot.1 = Some(room);
        Ok(RoomId {
            index: index as u32,
            generation: slot.0,
        })
    }

    /// Removes a room.
    pub fn remove_room(&mut self, id: RoomId) -> Result<Room, MixerError> {
        self.rooms
            .get_mut(id.index as usize)
            .filter(|(g, _)| *g == id.generation)
            .and_then(|(_, r)| r.take())
            .ok_or(MixerError::UnknownRoom)
    }

    /// A room, to add participants, push RTP or change routing.
    pub fn room_mut(&mut self, id: RoomId) -> Result<&mut Room, MixerError> {
        self.rooms
            .get_mut(id.index as usize)
            .filter(|(g, _)| *g == id.generation)
            .and_then(|(_, r)| r.as_mut())
            .ok_or(MixerError::UnknownRoom)
    }

    /// Number of rooms.
    pub fn len(&self) -> usize {
        self.rooms.iter().filter(|(_, r)| r.is_some()).count()
    }

    /// True when there is no room.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Ticks every room once (20 ms).
    pub fn tick(&mut self, now: Instant) -> Result<(), MixerError> {
        for (_, room) in &mut self.rooms {
            if let Some(room) = room {
                room.tick(now)?;
            }
        }
        self.cursor = 0;
        Ok(())
    }

    /// Drains outputs room by room.
    pub fn poll_output(&mut self) -> Option<(RoomId, RoomOutput)> {
        while self.cursor < self.rooms.len() {
            let index = self.cursor;
            let (generation, room) = &mut self.rooms[index];
            if let Some(out) = room.as_mut().and_then(Room::poll_output) {
                return Some((
                    RoomId {
                        index: index as u32,
                        generation: *generation,
                    },
                    out,
                ));
            }
            self.cursor += 1;
        }
        None
    }
}
