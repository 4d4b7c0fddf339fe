//! RFC 3264 offer/answer for media anchored on Tandem's [`MediaEngine`](super::MediaEngine):
//! which audio stream and codec of an offer a room can mix ([`choose_audio`]), the answer
//! Tandem sends for it ([`answer_sdp`]), and the offer Tandem makes when an INVITE came
//! without one ([`offer_sdp`], RFC 3261 §13.2.1 "late offer").
//!
//! Used by the server's conference rooms and by the SDK's `IncomingCall::accept`.
//!
//! ```
//! use tandem_runtime::media::answer::{LocalMedia, answer_sdp, choose_audio};
//! use tandem_sdp::SessionDescription;
//!
//! let offer = SessionDescription::parse(
//!     b"v=0\r\no=a 1 1 IN IP4 192.0.2.5\r\ns=-\r\nc=IN IP4 192.0.2.5\r\nt=0 0\r\n\
//!       m=audio 5000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n",
//! )?;
//! let chosen = choose_audio(&offer).ok_or("no common codec")?;
//! let answer = answer_sdp(&offer, &chosen, &LocalMedia::new("127.0.0.1".parse()?, 40_000, 7));
//! assert!(answer.contains("m=audio 40000 RTP/AVP 0 101\r\n"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use tandem_media::codec::CodecKind;
use tandem_sdp::{Direction, MediaKind, SessionDescription};

/// The audio stream of an offer (or of an answer to Tandem's offer) that Tandem takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChosenAudio {
    /// Index of the stream among the description's `m=` lines.
    pub index: usize,
    /// The codec the room will decode and encode.
    pub codec: CodecKind,
    /// Its payload type in the description.
    pub payload_type: u8,
    /// Its encoding name as written (`PCMU`, `opus`, ...).
    pub encoding: String,
    /// Its RTP clock rate.
    pub clock_rate: u32,
    /// Its channel count (1 unless the rtpmap says otherwise).
    pub channels: u32,
    /// The payload type of RFC 4733 telephone-events at 8 kHz, if offered.
    pub telephone_event: Option<u8>,
    /// Where the peer receives RTP (the stream's `c=` address and `m=` port).
    pub remote: SocketAddr,
    /// The stream's direction from the description author's side (RFC 3264 §5.1).
    pub direction: Direction,
}

/// The codec of the mixer for an rtpmap encoding name and clock rate (RFC 3551 §6: G.722's
/// RTP clock is 8000 although it samples at 16 kHz), if the mixer has it.
pub fn codec_of(encoding: &str, clock_rate: u32) -> Option<CodecKind> {
    match (encoding.to_ascii_uppercase().as_str(), clock_rate) {
        ("PCMU", 8_000) => Some(CodecKind::Pcmu),
        ("PCMA", 8_000) => Some(CodecKind::Pcma),
        ("G722", 8_000) => Some(CodecKind::G722),
        ("OPUS", 48_000) => Some(CodecKind::Opus),
        _ => None,
    }
}

/// RFC 3264 §5/§6: the first audio stream (not rejected, with a connection address) that
/// has a codec the mixer supports, with that codec: the first such in the author's order of
/// preference. `None`: nothing to answer with (send 488).
pub fn choose_audio(offer: &SessionDescription) -> Option<ChosenAudio> {
    for media in offer.media_sections() {
        if media.kind() != MediaKind::Audio || media.port() == 0 {
            continue;
        }
        let Some(ip) = media
            .connection()
            .and_then(|c| c.address.parse::<IpAddr>().ok())
        else {
            continue;
        };
        let remote = SocketAddr::new(ip, media.port());
        let telephone_event = media
            .codecs()
            .iter()
            .find(|c| c.is_telephone_event() && c.clock_rate == 8_000)
            .map(|c| c.payload_type);
        for c in media.codecs() {
            let Some(codec) = codec_of(c.encoding, c.clock_rate) else {
                continue;
            };
            return Some(ChosenAudio {
                index: media.index(),
                codec,
                payload_type: c.payload_type,
                encoding: c.encoding.to_string(),
                clock_rate: c.clock_rate,
                channels: c.channels,
                telephone_event,
                remote,
                direction: media.direction(),
            });
        }
    }
    None
}

/// Tandem's end of a media stream, as written in its descriptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalMedia {
    /// Address of the RTP socket (the `o=` and `c=` address).
    pub address: IpAddr,
    /// Port of the RTP socket.
    pub port: u16,
    /// `o=` sess-id (RFC 8866 §5.2): fixed for the session.
    pub session_id: u64,
    /// `o=` sess-version: RFC 3264 §8 wants it one higher in every new description of the
    /// session, and unchanged in a repeated one.
    pub version: u64,
    /// The direction Tandem would like (RFC 3264 §6.1); an answer narrows it to what the
    /// offer allows. `sendrecv` by default.
    pub direction: Direction,
}

impl LocalMedia {
    /// Version 1, `sendrecv`.
    pub fn new(address: IpAddr, port: u16, session_id: u64) -> Self {
        Self {
            address,
            port,
            session_id,
            version: 1,
            direction: Direction::SendRecv,
        }
    }

    fn session_lines(&self) -> String {
        let family = if self.address.is_ipv6() { "IP6" } else { "IP4" };
        let ip = self.address;
        format!(
            "v=0\r\no=tandem {} {} IN {family} {ip}\r\ns=tandem\r\nc=IN {family} {ip}\r\nt=0 0\r\n",
            self.session_id, self.version
        )
    }
}

/// RFC 3264 §6: an answer with as many `m=` lines as the offer, in the same order; the
/// chosen audio stream accepted with its one codec (and telephone-events when offered) on
/// `local`'s address and port, every other stream rejected with port 0. The direction is
/// `local.direction` narrowed to what the offer allows (§6.1: `sendonly` is answered
/// `recvonly`, `inactive` with `inactive`; a hold per §8.4).
pub fn answer_sdp(offer: &SessionDescription, chosen: &ChosenAudio, local: &LocalMedia) -> String {
    let mut s = local.session_lines();
    for media in offer.media_sections() {
        if media.index() != chosen.index {
            let fmt = media.formats().first().copied().unwrap_or("0");
            let _ = write!(s, "m={} 0 {} {fmt}\r\n", media.media_type(), media.proto());
            continue;
        }
        let mut pts = chosen.payload_type.to_string();
        if let Some(te) = chosen.telephone_event {
            let _ = write!(pts, " {te}");
        }
        let _ = write!(s, "m=audio {} {} {pts}\r\n", local.port, media.proto());
        let channels = if chosen.channels > 1 {
            format!("/{}", chosen.channels)
        } else {
            String::new()
        };
        let _ = write!(
            s,
            "a=rtpmap:{} {}/{}{channels}\r\n",
            chosen.payload_type, chosen.encoding, chosen.clock_rate
        );
        if let Some(te) = chosen.telephone_event {
            let _ = write!(
                s,
                "a=rtpmap:{te} telephone-event/8000\r\na=fmtp:{te} 0-16\r\n"
            );
        }
        let direction = local.direction.answer_to(chosen.direction);
        let _ = write!(s, "a=ptime:20\r\na={}\r\n", direction.as_str());
    }
    s
}

/// Payload types of [`offer_sdp`]: RFC 3551's static ones, and dynamic ones for Opus
/// (RFC 7587) and telephone-events (RFC 4733).
pub const OFFER_PAYLOAD_TYPES: [(u8, &str); 5] = [
    (0, "PCMU/8000"),
    (8, "PCMA/8000"),
    (9, "G722/8000"),
    (111, "opus/48000/2"),
    (101, "telephone-event/8000"),
];

/// Tandem's offer of one audio stream with every codec the mixer has (RFC 3264 §5), for a
/// 2xx to an INVITE that carried none (RFC 3261 §13.2.1: the answer comes in the ACK). Read
/// the answer with [`choose_audio`].
pub fn offer_sdp(local: &LocalMedia) -> String {
    let mut s = local.session_lines();
    let pts: Vec<String> = OFFER_PAYLOAD_TYPES
        .iter()
        .map(|(pt, _)| pt.to_string())
        .collect();
    let _ = write!(s, "m=audio {} RTP/AVP {}\r\n", local.port, pts.join(" "));
    for (pt, map) in OFFER_PAYLOAD_TYPES {
        let _ = write!(s, "a=rtpmap:{pt} {map}\r\n");
    }
    let _ = write!(
        s,
        "a=fmtp:101 0-16\r\na=ptime:20\r\na={}\r\n",
        local.direction.as_str()
    );
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const OFFER: &str = "v=0\r\no=a 1 1 IN IP4 192.0.2.5\r\ns=-\r\nc=IN IP4 192.0.2.5\r\nt=0 0\r\n\
        m=video 5002 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n\
        m=audio 5000 RTP/AVP 18 8 0 101\r\na=rtpmap:18 G729/8000\r\na=rtpmap:101 telephone-event/8000\r\n";

    fn local() -> LocalMedia {
        LocalMedia::new("127.0.0.1".parse().unwrap(), 40_000, 7)
    }

    #[test]
    fn answers_the_first_supported_codec_and_rejects_other_streams() {
        let offer = SessionDescription::parse(OFFER.as_bytes()).unwrap();
        let chosen = choose_audio(&offer).unwrap();
        assert_eq!(
            chosen.codec,
            CodecKind::Pcma,
            "G.729 is not mixed; PCMA is next"
        );
        assert_eq!(chosen.payload_type, 8);
        assert_eq!(chosen.telephone_event, Some(101));
        assert_eq!(chosen.remote, "192.0.2.5:5000".parse().unwrap());
        assert_eq!(chosen.direction, Direction::SendRecv);
        let answer = answer_sdp(&offer, &chosen, &local());
        let parsed = SessionDescription::parse(answer.as_bytes()).unwrap();
        assert_eq!(
            parsed.media_count(),
            2,
            "RFC 3264 §6: one m= line per offered stream"
        );
        assert_eq!(parsed.media(0).unwrap().port(), 0, "video rejected");
        let audio = parsed.media(1).unwrap();
        assert_eq!(audio.port(), 40_000);
        assert_eq!(audio.formats(), ["8", "101"]);
        assert_eq!(audio.direction(), Direction::SendRecv);
        assert!(answer.contains("a=rtpmap:8 PCMA/8000\r\n"));
        assert!(answer.contains("o=tandem 7 1 IN IP4 127.0.0.1\r\n"));
        assert!(answer.contains("c=IN IP4 127.0.0.1\r\n"));
    }

    #[test]
    fn no_common_codec_means_no_answer() {
        let offer = SessionDescription::parse(
            b"v=0\r\no=a 1 1 IN IP4 192.0.2.5\r\ns=-\r\nc=IN IP4 192.0.2.5\r\nt=0 0\r\nm=audio 5000 RTP/AVP 18\r\n",
        )
        .unwrap();
        assert!(choose_audio(&offer).is_none());
    }

    #[test]
    fn rejected_streams_and_streams_without_address_are_skipped() {
        let offer = SessionDescription::parse(
            b"v=0\r\no=a 1 1 IN IP4 192.0.2.5\r\ns=-\r\nt=0 0\r\n\
              m=audio 0 RTP/AVP 0\r\nc=IN IP4 192.0.2.5\r\n\
              m=audio 5004 RTP/AVP 0\r\n\
              m=audio 5006 RTP/AVP 0\r\nc=IN IP4 192.0.2.6\r\n",
        )
        .unwrap();
        let chosen = choose_audio(&offer).unwrap();
        assert_eq!(chosen.index, 2);
        assert_eq!(chosen.remote, "192.0.2.6:5006".parse().unwrap());
    }

    #[test]
    fn a_hold_is_answered_with_the_mirrored_direction_and_a_new_version() {
        // RFC 3264 §8.4: sendonly is answered recvonly; inactive with inactive.
        for (offered, answered) in [
            ("sendonly", "recvonly"),
            ("inactive", "inactive"),
            ("recvonly", "sendonly"),
            ("sendrecv", "sendrecv"),
        ] {
            let text = format!(
                "v=0\r\no=a 1 2 IN IP4 192.0.2.5\r\ns=-\r\nc=IN IP4 192.0.2.5\r\nt=0 0\r\n\
                 m=audio 5000 RTP/AVP 0\r\na={offered}\r\n"
            );
            let offer = SessionDescription::parse(text.as_bytes()).unwrap();
            let chosen = choose_audio(&offer).unwrap();
            let mut local = local();
            local.version = 2;
            let answer = answer_sdp(&offer, &chosen, &local);
            assert!(
                answer.contains(&format!("a={answered}\r\n")),
                "{offered}: {answer}"
            );
            assert!(answer.contains("o=tandem 7 2 IN IP4"));
        }
    }

    #[test]
    fn ipv6_addresses_are_written_as_ip6() {
        let offer = SessionDescription::parse(
            b"v=0\r\no=a 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n",
        )
        .unwrap();
        let chosen = choose_audio(&offer).unwrap();
        assert_eq!(chosen.remote, "[::1]:5000".parse().unwrap());
        let answer = answer_sdp(
            &offer,
            &chosen,
            &LocalMedia::new("::1".parse().unwrap(), 4000, 1),
        );
        assert!(answer.contains("c=IN IP6 ::1\r\n"), "{answer}");
    }

    #[test]
    fn the_late_offer_lists_every_mixer_codec_and_its_answer_is_read_back() {
        let offer = offer_sdp(&local());
        let parsed = SessionDescription::parse(offer.as_bytes()).unwrap();
        let audio = parsed.media(0).unwrap();
        assert_eq!(audio.port(), 40_000);
        assert_eq!(audio.formats(), ["0", "8", "9", "111", "101"]);
        for c in audio.codecs() {
            assert!(
                c.is_telephone_event() || codec_of(c.encoding, c.clock_rate).is_some(),
                "{c:?}"
            );
        }
        let answer = SessionDescription::parse(
            b"v=0\r\no=b 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\n\
              m=audio 6000 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\n",
        )
        .unwrap();
        let chosen = choose_audio(&answer).unwrap();
        assert_eq!((chosen.codec, chosen.payload_type), (CodecKind::Pcma, 8));
        assert_eq!(chosen.remote, "192.0.2.9:6000".parse().unwrap());
    }
}
