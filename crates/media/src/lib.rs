//! Tandem's sans-IO media: RTP/RTCP, codecs, jitter buffer with concealment, DTMF, prompt
//! player, recorder and the N-1 conference mixer.
//!
//! Nothing here does network I/O, spawns a task or reads the clock: every input carries
//! `now: Instant`, randomness comes from seeded RNGs, and the media thread of the runtime
//! crate drives the state machines. The only file I/O is in [`player`], [`recorder`] and
//! [`tools`] (WAV files).
//!
//! # A run loop
//!
//! One leg into a conference room: receive RTP, tick the room every 20 ms, send what it
//! produces. The driver owns sockets and timers; this crate owns the state.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use tandem_media::codec::CodecKind;
//! use tandem_media::mixer::{ParticipantConfig, Room, RoomConfig, RoomOutput};
//! use tandem_media::rtp::RtpHeader;
//! use tandem_media::session::{ReceiveConfig, RtpReceiver};
//!
//! let peer = "198.51.100.7:40000".parse().unwrap();
//! let start = Instant::now(); // the driver's clock; never read inside this crate
//! let mut rx = RtpReceiver::new(start, ReceiveConfig::new(8000, Some(peer))).unwrap();
//! let mut room = Room::new(RoomConfig::new(8000)).unwrap();
//! let leg = room.add(ParticipantConfig::new(CodecKind::Pcmu, 42)).unwrap();
//!
//! for tick in 0..10u32 {
//!     let now = start + Duration::from_millis(20) * tick;
//!     // 1. A datagram arrived on the leg's socket.
//!     let datagram = RtpHeader { payload_type: 0, sequence: tick as u16, timestamp: 160 * tick, ssrc: 7, ..Default::default() }
//!         .to_bytes(&[0xff; 160]).unwrap();
//!     if let Ok(got) = rx.handle_datagram(now, peer, &datagram) {
//!         room.push_rtp(leg, now, got.extended_seq, got.extended_ts, got.packet.payload).unwrap();
//!     }
//!     // 2. The 20 ms timer fired: mix, then drain outputs.
//!     room.tick(now).unwrap();
//!     while let Some(output) = room.poll_output() {
//!         match output {
//!             RoomOutput::Transmit { participant, packet } => {
//!                 // send `packet` to rx.remote() for `participant`
//!                 assert_eq!(participant, leg);
//!                 assert!(packet.len() > 12);
//!             }
//!             RoomOutput::Event(event) => { let _ = event; /* talker events to the roster */ }
//!         }
//!     }
//!     // 3. Inactivity and other timers.
//!     rx.handle_timeout(now);
//!     while let Some(event) = rx.poll_event() { let _ = event; }
//! }
//! ```
//!
//! # Modules
//! - [`rtp`], [`rtcp`]: packet formats (RFC 3550 §5, §6).
//! - [`session`]: receive and send state (RFC 3550 A.1, A.3, A.8; symmetric RTP).
//! - [`jitter`]: adaptive jitter buffer.
//! - [`codec`]: G.711, G.722, L16, Opus behind [`codec::Encoder`] / [`codec::Decoder`].
//! - [`resample`]: 8/16/48 kHz conversion in 20 ms frames.
//! - [`dtmf`]: RFC 4733 events, Goertzel detection, tone generation.
//! - [`tone`], [`player`], [`recorder`]: call-progress tones, prompts and music on hold, WAV
//!   recording.
//! - [`mixer`]: rooms and the multi-room mixer.
//! - [`tools`]: functions behind the CLI (mix files, DTMF files).

pub mod codec;
pub mod dtmf;
pub mod jitter;
pub mod mixer;
pub mod player;
pub mod recorder;
pub mod resample;
pub mod rtcp;
pub mod rtp;
pub mod session;
pub mod tone;
pub mod tools;
