//! RFC 4733 telephone-event payload (§2.3), a receiver that reports each event once (§2.5),
//! and a sender that produces an event's packet sequence (§2.5.1).

use std::time::{Duration, Instant};

use super::{digit_of, event_code};

/// Errors of the telephone-event payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DtmfError {
    /// The payload is shorter than 4 octets.
    #[error("telephone-event payload of {0} octets, need 4")]
    Truncated(usize),
    /// The character is not a DTMF digit.
    #[error("not a DTMF digit: {0:?}")]
    NotADigit(char),
}

/// One telephone-event payload (RFC 4733 §2.3, Figure 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// Event code (0–15 for DTMF, §3.2).
    pub event: u8,
    /// End bit `E`: this packet ends the event.
    pub end: bool,
    /// Volume in -dBm0, 0–63 (only meaningful for DTMF).
    pub volume: u8,
    /// Duration so far, in timestamp units, from the event's timestamp.
    pub duration: u16,
}

impl TelephoneEvent {
    /// Parses the first 4 octets of a payload (further events of a multi-event payload are
    /// ignored, as §2.5.2.2 allows).
    pub fn parse(payload: &[u8]) -> Result<Self, DtmfError> {
        let [event, flags, d0, d1, ..] = *payload else {
            return Err(DtmfError::Truncated(payload.len()));
        };
        Ok(Self {
            event,
            end: flags & 0x80 != 0,
            volume: flags & 0x3f,
            duration: u16::from_be_bytes([d0, d1]),
        })
    }

    /// The 4-octet payload (the reserved bit is sent as 0).
    pub fn to_bytes(&self) -> [u8; 4] {
        let d = self.duration.to_be_bytes();
        [
            self.event,
            u8::from(self.end) << 7 | (self.volume & 0x3f),
            d[0],
            d[1],
        ]
    }
}

/// What the [`DtmfReceiver`] reports, each exactly once per event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtmfEvent {
    /// A new event began.
    Started {
        /// The digit.
        digit: char,
    },
    /// The event ended (end packet, or a new event, or a timeout without an end packet).
    Ended {
        /// The digit.
        digit: char,
        /// Its duration in timestamp units.
        duration: u32,
    },
}

/// Receives telephone-event packets and reports each event once (RFC 4733 §2.5.2):
/// a new event is recognised by a new RTP timestamp (§2.5.2.1: all packets of one event carry
/// its start timestamp); the end packet's retransmissions (§2.5.1.4 sends it three times) and
/// updates after it are ignored.
#[derive(Debug, Clone, Default)]
pub struct DtmfReceiver {
    current: Option<Current>,
    /// Timestamp of the last event that ended, to ignore its retransmitted end packets.
    last_ended: Option<u32>,
    pending: Vec<DtmfEvent>,
}

#[derive(Debug, Clone, Copy)]
struct Current {
    timestamp: u32,
    event: u8,
    duration: u32,
    last_seen: Instant,
}

impl DtmfReceiver {
    /// Time without packets after which an event without an end packet ends (§2.5.2.3
    /// suggests ending it when updates stop).
    pub const TIMEOUT: Duration = Duration::from_millis(500);

    /// A receiver with no event in progress.
    pub fn new() -> Self {
        Self::default()
    }

    /// Handles one telephone-event packet with RTP timestamp `timestamp`.
    pub fn handle_packet(
        &mut self,
        now: Instant,
        timestamp: u32,
        payload: &[u8],
    ) -> Result<(), DtmfError> {
        let ev = TelephoneEvent::parse(payload)?;
        if self.last_ended == Some(timestamp) {
            return Ok(()); // retransmitted end packet of a finished event
        }
        match self.current {
            Some(cur) if cur.timestamp == timestamp => {
                let duration = cur.duration.max(u32::from(ev.duration));
                self.current = Some(Current {
                    duration,
                    last_seen: now,
                    ..cur
                });
            }
            Some(_) => {
                self.finish();
                self.begin(now, timestamp, &ev);
            }
            None => self.begin(now, timestamp, &ev),
        }
        if ev.end {
            self.finish();
        }
        Ok(())
    }

    fn begin(&mut self, now: Instant, timestamp: u32, ev: &TelephoneEvent) {
        self.current = Some(Current {
            timestamp,
            event: ev.event,
            duration: u32::from(ev.duration),
            last_seen: now,
        });
        if let Some(digit) = digit_of(ev.event) {
            self.pending.push(DtmfEvent::Started { digit });
        }
    }

    fn finish(&mut self) {
        if let Some(cur) = self.current.take() {
            self.last_ended = Some(cur.timestamp);
            if let Some(digit) = digit_of(cur.event) {
                self.pending.push(DtmfEvent::Ended {
                    digit,
                    duration: cur.duration,
                });
            }
        }
    }

    /// Ends an event whose packets stopped without an end packet.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(cur) = self.current
            && now.saturating_duration_since(cur.last_seen) >= Self::TIMEOUT
        {
            self.finish();
        }
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<DtmfEvent> {
        (!self.pending.is_empty()).then(|| self.pending.remove(0))
    }
}

/// One packet of an event to send: marker, timestamp and payload (RFC 4733 §2.5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPacket {
    /// Marker bit: set on the first packet of the event (§2.5.1.1).
    pub marker: bool,
    /// RTP timestamp: the event's start for every packet (§2.5.1.2).
    pub timestamp: u32,
    /// The payload.
    pub event: TelephoneEvent,
}

/// The packet sequence for one digit (RFC 4733 §2.5.1): a first packet with the marker set,
/// an update every `interval` timestamp units while the tone lasts, and the end packet sent
/// three times (§2.5.1.4), all with the start `timestamp`.
pub fn event_packets(
    digit: char,
    timestamp: u32,
    duration: u16,
    interval: u16,
    volume: u8,
) -> Result<Vec<EventPacket>, DtmfError> {
    let event = event_code(digit).ok_or(DtmfError::NotADigit(digit))?;
    let interval = interval.max(1);
    let mut packets = Vec::new();
    let mut elapsed = 0u16;
    let mut first = true;
    while elapsed < duration {
        elapsed = elapsed.saturating_add(interval).min(duration);
        if elapsed == duration {
            break;
        }
        packets.push(EventPacket {
            marker: first,
            timestamp,
            event: TelephoneEvent {
                event,
                end: false,
                volume,
                duration: elapsed,
            },
        });
        first = false;
    }
    for _ in 0..3 {
        packets.push(EventPacket {
            marker: first,
            timestamp,
            event: TelephoneEvent {
                event,
                end: true,
                volume,
                duration,
            },
        });
        first = false;
    }
    Ok(packets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trip() {
        let ev = TelephoneEvent {
            event: 11,
            end: true,
            volume: 10,
            duration: 800,
        };
        let b = ev.to_bytes();
        assert_eq!(b, [11, 0x8a, 0x03, 0x20]);
        assert_eq!(TelephoneEvent::parse(&b), Ok(ev));
        assert_eq!(TelephoneEvent::parse(&b[..3]), Err(DtmfError::Truncated(3)));
    }

    #[test]
    fn sender_sequence() {
        let p = event_packets('5', 1000, 800, 160, 10).unwrap();
        assert_eq!(p.len(), 4 + 3);
        assert!(p[0].marker && p[1..].iter().all(|x| !x.marker));
        assert!(p.iter().all(|x| x.timestamp == 1000));
        let durations: Vec<u16> = p.iter().map(|x| x.event.duration).collect();
        assert_eq!(durations, [160, 320, 480, 640, 800, 800, 800]);
        assert!(p[4..].iter().all(|x| x.event.end));
        assert_eq!(
            event_packets('x', 0, 1, 1, 1),
            Err(DtmfError::NotADigit('x'))
        );
    }

    #[test]
    fn receiver_reports_once() {
        let t0 = Instant::now();
        let mut rx = DtmfReceiver::new();
        let mut events = Vec::new();
        for (ts, digit) in [(1000, '1'), (5000, '#'), (9000, '1')] {
            for p in event_packets(digit, ts, 640, 160, 10).unwrap() {
                rx.handle_packet(t0, p.timestamp, &p.event.to_bytes())
                    .unwrap();
                // A duplicate delivery of every packet changes nothing.
                rx.handle_packet(t0, p.timestamp, &p.event.to_bytes())
                    .unwrap();
            }
        }
        while let Some(e) = rx.poll_event() {
            events.push(e);
        }
        assert_eq!(
            events,
            [
                DtmfEvent::Started { digit: '1' },
                DtmfEvent::Ended {
                    digit: '1',
                    duration: 640
                },
                DtmfEvent::Started { digit: '#' },
                DtmfEvent::Ended {
                    digit: '#',
                    duration: 640
                },
                DtmfEvent::Started { digit: '1' },
                DtmfEvent::Ended {
                    digit: '1',
                    duration: 640
                },
            ]
        );
    }

    #[test]
    fn lost_end_packets() {
        let t0 = Instant::now();
        let mut rx = DtmfReceiver::new();
        let p = event_packets('9', 0, 800, 160, 10).unwrap();
        // Only the first two updates arrive; then a new event starts.
        for x in &p[..2] {
            rx.handle_packet(t0, x.timestamp, &x.event.to_bytes())
                .unwrap();
        }
        let q = event_packets('4', 4000, 320, 160, 10).unwrap();
        rx.handle_packet(t0, q[0].timestamp, &q[0].event.to_bytes())
            .unwrap();
        assert_eq!(rx.poll_event(), Some(DtmfEvent::Started { digit: '9' }));
        assert_eq!(
            rx.poll_event(),
            Some(DtmfEvent::Ended {
                digit: '9',
                duration: 320
            })
        );
        assert_eq!(rx.poll_event(), Some(DtmfEvent::Started { digit: '4' }));
        // No more packets: the timeout ends it.
        rx.handle_timeout(t0 + DtmfReceiver::TIMEOUT);
        assert_eq!(
            rx.poll_event(),
            Some(DtmfEvent::Ended {
                digit: '4',
                duration: 160
            })
        );
        assert_eq!(rx.poll_event(), None);
    }
}
