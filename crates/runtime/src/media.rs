//! The media thread: conference rooms ticked every 20 ms, with their legs' RTP sockets.
//!
//! One OS thread serves many rooms (ARCHITECTURE.md §4, S3). Each tick it drains every leg's
//! non-blocking UDP socket into the leg's [`RtpReceiver`] and the room's jitter buffers, ticks
//! every room, sends what the rooms produce, and writes each room's recording. Ticks are
//! scheduled on absolute deadlines (`start + n·20 ms`), so a late tick does not shift the
//! ones after it. Commands arrive on a bounded channel and never block the media thread.
//!
//! Media is anchored here only for rooms (conferences, recording, IVR); a back-to-back call
//! passes SDP through and this thread never sees its RTP. [`answer`] holds the RFC 3264
//! offer/answer of such anchored legs.

pub mod answer;

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tandem_media::codec::CodecKind;
use tandem_media::mixer::{ParticipantConfig, ParticipantId, Room, RoomConfig, RoomOutput};
use tandem_media::recorder::{Layout, Recorder};
use tandem_media::session::{ReceiveConfig, RtpReceiver};
use tracing::{debug, info, warn};

/// Length of one mixing frame (RFC 3551 §4.5: 20 ms is the default packetization).
pub const TICK: Duration = Duration::from_millis(20);

/// How a leg joins a room.
#[derive(Debug)]
pub struct LegSpec {
    /// Room name; a room is created with its first leg and removed with its last.
    pub room: String,
    /// The caller's key for the leg (e.g. its Call-ID), used to remove it.
    pub key: String,
    /// The leg's socket, already bound (its port went into the SDP answer).
    pub socket: UdpSocket,
    /// Where the peer said it receives RTP (SDP `c=`/`m=`); symmetric RTP may re-latch it.
    pub remote: SocketAddr,
    /// Negotiated codec.
    pub codec: CodecKind,
    /// Negotiated payload type of the codec.
    pub payload_type: u8,
}

/// Settings of the media thread.
#[derive(Debug, Clone)]
pub struct MediaConfig {
    /// Mixing rate of rooms (8000, 16000 or 48000 Hz).
    pub room_rate: u32,
    /// When set, every room is recorded to `DIR/<room>-<n>.wav` (mono, the room rate).
    pub recordings: Option<PathBuf>,
    /// Bound of the command channel.
    pub queue: usize,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            room_rate: 8_000,
            recordings: None,
            queue: 1_024,
        }
    }
}

enum Command {
    AddLeg(LegSpec),
    RemoveLeg { key: String },
    Stop,
}

/// Why a command could not be queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    /// The command queue is full: the media thread is overloaded.
    #[error("media thread overloaded")]
    Overloaded,
    /// The media thread has stopped.
    #[error("media thread stopped")]
    Stopped,
}

/// Handle of the media thread. Dropping it stops the thread and finalises recordings.
#[derive(Debug)]
pub struct MediaEngine {
    commands: SyncSender<Command>,
    thread: Option<JoinHandle<()>>,
}

impl MediaEngine {
    /// Starts the media thread.
    pub fn start(config: MediaConfig) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::sync_channel(config.queue);
        let thread = std::thread::Builder::new()
            .name("tandem-media".into())
            .spawn(move || MediaThread::new(config).run(&rx))?;
        Ok(Self {
            commands: tx,
            thread: Some(thread),
        })
    }

    /// Adds a leg to its room (creating the room).
    pub fn add_leg(&self, spec: LegSpec) -> Result<(), MediaError> {
        self.send(Command::AddLeg(spec))
    }

    /// Removes the leg `key`; the room goes (and its recording is finalised) with its last leg.
    pub fn remove_leg(&self, key: &str) -> Result<(), MediaError> {
        self.send(Command::RemoveLeg {
            key: key.to_owned(),
        })
    }

    fn send(&self, c: Command) -> Result<(), MediaError> {
        self.commands.try_send(c).map_err(|e| match e {
            TrySendError::Full(_) => MediaError::Overloaded,
            TrySendError::Disconnected(_) => MediaError::Stopped,
        })
    }
}

impl Drop for MediaEngine {
    fn drop(&mut self) {
        let _ = self.commands.try_send(Command::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Leg {
    room: String,
    participant: ParticipantId,
    socket: UdpSocket,
    remote: SocketAddr,
    receiver: RtpReceiver,
    payload_type: u8,
}

struct RoomState {
    room: Room,
    /// The legs in the room, by participant (rooms are small: a linear scan is cheapest).
    members: Vec<(ParticipantId, String)>,
    /// The silent participant whose mix is the recording.
    recorder: Option<(ParticipantId, Recorder)>,
}

struct MediaThread {
    config: MediaConfig,
    rooms: HashMap<String, RoomState>,
    legs: HashMap<String, Leg>,
    seed: u64,
    recordings: u64,
}

impl MediaThread {
    fn new(config: MediaConfig) -> Self {
        Self {
            config,
            rooms: HashMap::new(),
            legs: HashMap::new(),
            seed: 1,
            recordings: 0,
        }
    }

    fn run(mut self, commands: &Receiver<Command>) {
        let start = Instant::now();
        let mut tick: u32 = 0;
        let mut buf = vec![0u8; 2_048];
        loop {
            loop {
                match commands.try_recv() {
                    Ok(Command::AddLeg(spec)) => self.add_leg(spec, Instant::now()),
                    Ok(Command::RemoveLeg { key }) => self.remove_leg(&key),
                    Ok(Command::Stop) | Err(mpsc::TryRecvError::Disconnected) => {
                        self.stop();
                        return;
                    }
                    Err(mpsc::TryRecvError::Empty) => break,
                }
            }
            let now = Instant::now();
            self.receive(now, &mut buf);
            self.tick(now);
            tick = tick.wrapping_add(1);
            let mut next = start + TICK * tick;
            let after = Instant::now();
            if next < after {
                // Fell behind (a stall): skip the missed ticks rather than bursting.
                let behind = (after - start).as_millis() / TICK.as_millis();
                tick = u32::try_from(behind).unwrap_or(u32::MAX).wrapping_add(1);
                next = start + TICK * tick;
            }
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        }
    }

    fn add_leg(&mut self, spec: LegSpec, now: Instant) {
        if let Err(e) = spec.socket.set_nonblocking(true) {
            warn!(error = %e, "media socket cannot be made non-blocking; leg dropped");
            return;
        }
        if !self.rooms.contains_key(&spec.room) {
            match self.open_room(&spec.room) {
                Ok(state) => {
                    self.rooms.insert(spec.room.clone(), state);
                }
                Err(e) => {
                    warn!(error = %e, room = %spec.room, "cannot open room; leg dropped");
                    return;
                }
            }
        }
        let seed = self.next_seed();
        let Some(state) = self.rooms.get_mut(&spec.room) else {
            return;
        };
        let config = ParticipantConfig {
            payload_type: spec.payload_type,
            ..ParticipantConfig::new(spec.codec, seed)
        };
        let participant = match state.room.add(config) {
            Ok(p) => p,
            Err(e) => {
                warn!(error = %e, "cannot add participant");
                return;
            }
        };
        let receiver = match RtpReceiver::new(
            now,
            ReceiveConfig::new(spec.codec.rtp_clock_rate(), Some(spec.remote)),
        ) {
            Ok(r) => r,
            Err(e) => {
                warn!(error = %e, "cannot create RTP receiver");
                let _ = state.room.remove(participant);
                return;
            }
        };
        state.members.push((participant, spec.key.clone()));
        debug!(room = %spec.room, key = %spec.key, "leg joined");
        self.legs.insert(
            spec.key,
            Leg {
                room: spec.room,
                participant,
                socket: spec.socket,
                remote: spec.remote,
                receiver,
                payload_type: spec.payload_type,
            },
        );
    }

    fn open_room(&mut self, name: &str) -> Result<RoomState, tandem_media::mixer::MixerError> {
        let rate = self.config.room_rate;
        let mut room = Room::new(RoomConfig::new(rate))?;
        let mut recorder = None;
        if let Some(dir) = self.config.recordings.clone() {
            let path = dir.join(format!("{}-{}.wav", sanitize(name), self.recordings));
            self.recordings += 1;
            let listener = room.add(ParticipantConfig::new(
                CodecKind::L16 { rate },
                self.next_seed(),
            ))?;
            match Recorder::create(&path, rate, Layout::Mono) {
                Ok(r) => {
                    info!(path = %path.display(), "recording room");
                    recorder = Some((listener, r));
                }
                Err(e) => warn!(error = %e, "cannot record room"),
            }
        }
        Ok(RoomState {
            room,
            recorder,
            members: Vec::new(),
        })
    }

    fn remove_leg(&mut self, key: &str) {
        let Some(leg) = self.legs.remove(key) else {
            return;
        };
        let Some(state) = self.rooms.get_mut(&leg.room) else {
            return;
        };
        let _ = state.room.remove(leg.participant);
        state.members.retain(|(p, _)| *p != leg.participant);
        if state.members.is_empty() {
            if let Some(mut state) = self.rooms.remove(&leg.room)
                && let Some((_, recorder)) = state.recorder.take()
                && let Err(e) = recorder.finalize()
            {
                warn!(error = %e, "recording not finalised");
            }
            debug!(room = %leg.room, "room closed");
        }
    }

    fn receive(&mut self, now: Instant, buf: &mut [u8]) {
        for leg in self.legs.values_mut() {
            let Some(state) = self.rooms.get_mut(&leg.room) else {
                continue;
            };
            // Bounded: at most 50 packets per leg per tick (1 s of 20 ms audio).
            for _ in 0..50 {
                // WouldBlock ends the drain; so does an ICMP error left by an earlier send.
                let Ok((len, from)) = leg.socket.recv_from(buf) else {
                    break;
                };
                let Some(datagram) = buf.get(..len) else {
                    break;
                };
                match leg.receiver.handle_datagram(now, from, datagram) {
                    // Only the negotiated audio payload type is audio; telephone-events
                    // (RFC 4733) are not mixed.
                    Ok(got) if got.packet.header.payload_type == leg.payload_type => {
                        let _ = state.room.push_rtp(
                            leg.participant,
                            now,
                            got.extended_seq,
                            got.extended_ts,
                            got.packet.payload,
                        );
                    }
                    Ok(_) | Err(_) => {}
                }
                while let Some(event) = leg.receiver.poll_event() {
                    if let tandem_media::session::ReceiveEvent::Latched(addr) = event {
                        leg.remote = addr;
                    }
                }
            }
        }
    }

    fn tick(&mut self, now: Instant) {
        for state in self.rooms.values_mut() {
            if let Err(e) = state.room.tick(now) {
                warn!(error = %e, "room tick failed");
                continue;
            }
            while let Some(out) = state.room.poll_output() {
                let RoomOutput::Transmit {
                    participant,
                    packet,
                } = out
                else {
                    continue;
                };
                let key = state
                    .members
                    .iter()
                    .find(|(p, _)| *p == participant)
                    .map(|(_, k)| k);
                if let Some(leg) = key.and_then(|k| self.legs.get(k)) {
                    let _ = leg.socket.send_to(&packet, leg.remote);
                }
            }
            if let Some((listener, recorder)) = state.recorder.as_mut()
                && let Ok(frame) = state.room.last_heard(*listener)
                && let Err(e) = recorder.write_mono(frame)
            {
                warn!(error = %e, "recording write failed; recording stopped");
                state.recorder = None;
            }
        }
    }

    fn stop(&mut self) {
        let keys: Vec<String> = self.legs.keys().cloned().collect();
        for k in keys {
            self.remove_leg(&k);
        }
    }

    fn next_seed(&mut self) -> u64 {
        self.seed = self
            .seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        self.seed
    }
}

/// A room name safe as a file name: ASCII alphanumerics, `-` and `_`; anything else is `_`.
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_names_become_safe_file_names() {
        assert_eq!(sanitize("sales-1"), "sales-1");
        assert_eq!(sanitize("../etc/passwd"), "___etc_passwd");
    }
}
