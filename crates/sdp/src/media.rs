//! Media sections (RFC 8866 §5.14): the [`Media`] view, [`MediaKind`], [`Direction`]
//! (RFC 3264 §5.1, §6.1) and [`Codec`] (payload types with their rtpmap/fmtp, RFC 3551 §6).

use crate::description::{self, SessionDescription};
use crate::line::{self, Attribute, Bandwidth, Connection, Fmtp, Line, RawLine, Rtpmap};

/// The `<media>` field of an `m=` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind {
    /// `audio`.
    Audio,
    /// `video`.
    Video,
    /// `text` (RFC 4103 real-time text).
    Text,
    /// `application` (BFCP, data channels, ...).
    Application,
    /// `message` (MSRP).
    Message,
    /// `image` (T.38 fax over `udptl`).
    Image,
    /// Anything else; read the raw name with [`Media::media_type`].
    Other,
}

impl MediaKind {
    fn from_name(name: &str) -> Self {
        match name {
            "audio" => Self::Audio,
            "video" => Self::Video,
            "text" => Self::Text,
            "application" => Self::Application,
            "message" => Self::Message,
            "image" => Self::Image,
            _ => Self::Other,
        }
    }
}

/// A stream direction attribute (RFC 8866 §6.7, RFC 3264 §5.1), from the point of view of
/// the description's author.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `a=sendrecv`, the default when no attribute is present.
    SendRecv,
    /// `a=sendonly`: a hold by the author (RFC 3264 §8.4).
    SendOnly,
    /// `a=recvonly`.
    RecvOnly,
    /// `a=inactive`.
    Inactive,
}

impl Direction {
    /// Parses an attribute name (`sendrecv`, `sendonly`, `recvonly`, `inactive`).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "sendrecv" => Some(Self::SendRecv),
            "sendonly" => Some(Self::SendOnly),
            "recvonly" => Some(Self::RecvOnly),
            "inactive" => Some(Self::Inactive),
            _ => None,
        }
    }

    /// The attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SendRecv => "sendrecv",
            Self::SendOnly => "sendonly",
            Self::RecvOnly => "recvonly",
            Self::Inactive => "inactive",
        }
    }

    /// Whether the author sends media.
    pub fn sends(self) -> bool {
        matches!(self, Self::SendRecv | Self::SendOnly)
    }

    /// Whether the author receives media.
    pub fn receives(self) -> bool {
        matches!(self, Self::SendRecv | Self::RecvOnly)
    }

    /// The direction with the given send and receive capabilities.
    pub fn from_parts(sends: bool, receives: bool) -> Self {
        match (sends, receives) {
            (true, true) => Self::SendRecv,
            (true, false) => Self::SendOnly,
            (false, true) => Self::RecvOnly,
            (false, false) => Self::Inactive,
        }
    }

    /// The same stream seen from the other end (`sendonly` ↔ `recvonly`).
    pub fn reversed(self) -> Self {
        Self::from_parts(self.receives(), self.sends())
    }

    /// The direction to put in an answer when the answerer would like `self` and the offer
    /// says `offer` (RFC 3264 §6.1): sendonly is answered recvonly or inactive, recvonly is
    /// answered sendonly or inactive, inactive is answered inactive, sendrecv allows anything.
    pub fn answer_to(self, offer: Self) -> Self {
        Self::from_parts(
            self.sends() && offer.receives(),
            self.receives() && offer.sends(),
        )
    }
}

/// One RTP payload type of an `m=` line with what is known about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Codec<'a> {
    /// The format as written on the `m=` line.
    pub format: &'a str,
    /// The payload type.
    pub payload_type: u8,
    /// Encoding name from `a=rtpmap`, or from the RFC 3551 §6 static table.
    pub encoding: &'a str,
    /// Clock rate in Hz.
    pub clock_rate: u32,
    /// Channel count (1 when not given).
    pub channels: u32,
    /// `a=fmtp` parameters, if any.
    pub fmtp: Option<&'a str>,
}

impl Codec<'_> {
    /// Whether this is RFC 4733 `telephone-event` (DTMF).
    pub fn is_telephone_event(&self) -> bool {
        self.encoding.eq_ignore_ascii_case("telephone-event")
    }
}

/// A borrowed view of one media section: the `m=` line and the lines up to the next one.
#[derive(Debug, Clone, Copy)]
pub struct Media<'a> {
    sdp: &'a SessionDescription,
    index: usize,
}

impl<'a> Media<'a> {
    pub(crate) fn new(sdp: &'a SessionDescription, index: usize) -> Self {
        Self { sdp, index }
    }

    /// Position of this section among the `m=` lines (RFC 3264 §6 pairs offer and answer
    /// sections by position).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The `<media>` field as an enum.
    pub fn kind(&self) -> MediaKind {
        MediaKind::from_name(self.media_type())
    }

    /// The `<media>` field as written.
    pub fn media_type(&self) -> &'a str {
        self.m_line().map_or("", |m| m.media_type)
    }

    /// The port; 0 means the stream is rejected or disabled (RFC 3264 §6, §8.2).
    pub fn port(&self) -> u16 {
        self.m_line().map_or(0, |m| m.port)
    }

    /// The `/<number of ports>` suffix, if present.
    pub fn port_count(&self) -> Option<u16> {
        self.m_line().and_then(|m| m.port_count)
    }

    /// The transport protocol: `RTP/AVP`, `RTP/SAVP`, `UDP/TLS/RTP/SAVPF`, `udptl`, ...
    pub fn proto(&self) -> &'a str {
        self.m_line().map_or("", |m| m.proto)
    }

    /// The formats (payload types for RTP), in the author's order of preference.
    pub fn formats(&self) -> Vec<&'a str> {
        self.m_line().map(|m| m.formats).unwrap_or_default()
    }

    /// Whether the port is 0.
    pub fn is_rejected(&self) -> bool {
        self.port() == 0
    }

    /// The raw lines of this section, starting with `m=`.
    pub fn lines(&self) -> impl Iterator<Item = Line<'a>> + 'a {
        self.raw().iter().map(RawLine::view)
    }

    /// The media-level `c=` line, if any.
    pub fn own_connection(&self) -> Option<Connection<'a>> {
        description::first_connection(self.raw())
    }

    /// The `c=` line that applies: media-level, else session-level (RFC 8866 §5.7).
    pub fn connection(&self) -> Option<Connection<'a>> {
        self.own_connection()
            .or_else(|| description::first_connection(self.sdp.session_lines()))
    }

    /// Media-level `b=` lines.
    pub fn bandwidths(&self) -> Vec<Bandwidth<'a>> {
        description::bandwidths(self.raw())
    }

    /// Media-level attributes, in order; any attribute is kept.
    pub fn attributes(&self) -> Vec<Attribute<'a>> {
        description::attributes(self.raw())
    }

    /// The value of the first media-level attribute `name` (`Some(None)` for a flag).
    pub fn attribute(&self, name: &str) -> Option<Option<&'a str>> {
        self.attributes()
            .into_iter()
            .find(|a| a.name == name)
            .map(|a| a.value)
    }

    /// Whether the media-level attribute `name` is present.
    pub fn has_attribute(&self, name: &str) -> bool {
        self.attribute(name).is_some()
    }

    /// All `a=rtpmap` lines that parse.
    pub fn rtpmaps(&self) -> Vec<Rtpmap<'a>> {
        self.attribute_values("rtpmap")
            .filter_map(line::parse_rtpmap)
            .collect()
    }

    /// The `a=rtpmap` of a payload type.
    pub fn rtpmap(&self, payload_type: u8) -> Option<Rtpmap<'a>> {
        self.rtpmaps()
            .into_iter()
            .find(|r| r.payload_type == payload_type)
    }

    /// All `a=fmtp` lines that parse.
    pub fn fmtps(&self) -> Vec<Fmtp<'a>> {
        self.attribute_values("fmtp")
            .filter_map(line::parse_fmtp)
            .collect()
    }

    /// The `a=fmtp` parameters of a format.
    pub fn fmtp(&self, format: &str) -> Option<&'a str> {
        self.fmtps()
            .into_iter()
            .find(|f| f.format == format)
            .map(|f| f.params)
    }

    /// The RTP payload types of the `m=` line in order, each with its rtpmap (or static
    /// RFC 3551 mapping) and fmtp. Dynamic types without `a=rtpmap` and non-numeric formats
    /// (`t38`, `webrtc-datachannel`) are left out.
    pub fn codecs(&self) -> Vec<Codec<'a>> {
        let (maps, fmtps) = (self.rtpmaps(), self.fmtps());
        self.formats()
            .into_iter()
            .filter_map(|format| {
                let pt: u8 = format.parse().ok().filter(|pt| *pt <= 127)?;
                let (encoding, clock_rate, channels) =
                    match maps.iter().find(|r| r.payload_type == pt) {
                        Some(r) => (r.encoding, r.clock_rate, r.channels.unwrap_or(1)),
                        None => static_payload_type(pt)?,
                    };
                let fmtp = fmtps.iter().find(|f| f.format == format).map(|f| f.params);
                Some(Codec {
                    format,
                    payload_type: pt,
                    encoding,
                    clock_rate,
                    channels,
                    fmtp,
                })
            })
            .collect()
    }

    /// The RFC 4733 `telephone-event` payload types offered (one per clock rate).
    pub fn telephone_events(&self) -> Vec<Codec<'a>> {
        self.codecs()
            .into_iter()
            .filter(Codec::is_telephone_event)
            .collect()
    }

    /// `a=ptime` in milliseconds (RFC 8866 §6.4).
    pub fn ptime(&self) -> Option<u32> {
        self.attribute("ptime")
            .flatten()
            .and_then(|v| v.trim().parse().ok())
    }

    /// Whether `a=rtcp-mux` is present (RFC 5761).
    pub fn rtcp_mux(&self) -> bool {
        self.has_attribute("rtcp-mux")
    }

    /// The media-level direction attribute, if present.
    pub fn own_direction(&self) -> Option<Direction> {
        description::direction_of(self.raw())
    }

    /// The direction that applies (RFC 3264 §5.1): media-level, else session-level, else
    /// `sendrecv`.
    pub fn direction(&self) -> Direction {
        self.own_direction()
            .or(self.sdp.session_direction())
            .unwrap_or(Direction::SendRecv)
    }

    /// Whether the author holds this stream (RFC 3264 §8.4): `sendonly` or `inactive`, or the
    /// legacy `c=0.0.0.0` of RFC 2543.
    pub fn is_held(&self) -> bool {
        matches!(self.direction(), Direction::SendOnly | Direction::Inactive)
            || self.connection().is_some_and(|c| c.is_null())
    }

    fn raw(&self) -> &'a [RawLine] {
        self.sdp.media_lines(self.index)
    }

    fn m_line(&self) -> Option<line::MediaLine<'a>> {
        line::parse_media(self.raw().first()?.value_str()?).ok()
    }

    fn attribute_values(&self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.raw()
            .iter()
            .filter(|l| l.kind() == Some(b'a'))
            .filter_map(RawLine::value_str)
            .map(line::parse_attribute)
            .filter(move |a| a.name == name)
            .filter_map(|a| a.value)
    }
}

/// RFC 3551 §6 static payload types (encoding, clock rate, channels).
pub(crate) fn static_payload_type(pt: u8) -> Option<(&'static str, u32, u32)> {
    Some(match pt {
        0 => ("PCMU", 8000, 1),
        3 => ("GSM", 8000, 1),
        4 => ("G723", 8000, 1),
        5 => ("DVI4", 8000, 1),
        6 => ("DVI4", 16000, 1),
        7 => ("LPC", 8000, 1),
        8 => ("PCMA", 8000, 1),
        9 => ("G722", 8000, 1),
        10 => ("L16", 44100, 2),
        11 => ("L16", 44100, 1),
        12 => ("QCELP", 8000, 1),
        13 => ("CN", 8000, 1),
        14 => ("MPA", 90000, 1),
        15 => ("G728", 8000, 1),
        16 => ("DVI4", 11025, 1),
        17 => ("DVI4", 22050, 1),
        18 => ("G729", 8000, 1),
        25 => ("CelB", 90000, 1),
        26 => ("JPEG", 90000, 1),
        28 => ("nv", 90000, 1),
        31 => ("H261", 90000, 1),
        32 => ("MPV", 90000, 1),
        33 => ("MP2T", 90000, 1),
        34 => ("H263", 90000, 1),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDP: &str = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
        a=recvonly\r\n\
        m=audio 4000/2 RTP/AVP 0 96 101 99\r\nb=AS:64\r\na=rtpmap:96 opus/48000/2\r\n\
        a=fmtp:96 useinbandfec=1\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n\
        a=ptime:20\r\na=rtcp-mux\r\na=x-unknown:some value\r\n\
        m=video 0 RTP/AVP 31\r\nc=IN IP4 0.0.0.0\r\na=sendrecv\r\n\
        m=image 5000 udptl t38\r\na=T38FaxVersion:0\r\n";

    fn sdp() -> SessionDescription {
        SDP.parse().unwrap()
    }

    #[test]
    fn m_line_fields() {
        let sdp = sdp();
        let a = sdp.media(0).unwrap();
        assert_eq!(
            (a.index(), a.kind(), a.media_type()),
            (0, MediaKind::Audio, "audio")
        );
        assert_eq!(
            (a.port(), a.port_count(), a.proto()),
            (4000, Some(2), "RTP/AVP")
        );
        assert_eq!(a.formats(), ["0", "96", "101", "99"]);
        assert_eq!(a.lines().count(), 9);
        let v = sdp.media(1).unwrap();
        assert!(v.is_rejected());
        let i = sdp.media(2).unwrap();
        assert_eq!(
            (i.kind(), i.proto(), i.formats()),
            (MediaKind::Image, "udptl", vec!["t38"])
        );
        assert!(i.codecs().is_empty());
        assert_eq!(i.attribute("T38FaxVersion"), Some(Some("0")));
        assert!(sdp.media(3).is_none());
    }

    #[test]
    fn codecs_rtpmap_fmtp() {
        let sdp = sdp();
        let a = sdp.media(0).unwrap();
        let codecs = a.codecs();
        let names: Vec<_> = codecs
            .iter()
            .map(|c| (c.encoding, c.clock_rate, c.channels))
            .collect();
        // 99 has no rtpmap and is dynamic: left out.
        assert_eq!(
            names,
            [
                ("PCMU", 8000, 1),
                ("opus", 48000, 2),
                ("telephone-event", 8000, 1)
            ]
        );
        assert_eq!(codecs[1].fmtp, Some("useinbandfec=1"));
        assert_eq!(a.rtpmap(96).unwrap().encoding, "opus");
        assert_eq!(a.fmtp("101"), Some("0-15"));
        assert_eq!(a.telephone_events().len(), 1);
        assert_eq!(a.ptime(), Some(20));
        assert!(a.rtcp_mux());
        assert_eq!(a.attribute("x-unknown"), Some(Some("some value")));
        assert_eq!(a.bandwidths()[0].bandwidth, 64);
    }

    #[test]
    fn directions_and_hold() {
        let sdp = sdp();
        let a = sdp.media(0).unwrap();
        assert_eq!(a.own_direction(), None);
        assert_eq!(a.direction(), Direction::RecvOnly);
        assert!(!a.is_held());
        let v = sdp.media(1).unwrap();
        assert_eq!(v.direction(), Direction::SendRecv);
        assert!(v.is_held(), "c=0.0.0.0 is a legacy hold");
        assert_eq!(v.own_connection().unwrap().address, "0.0.0.0");
        assert_eq!(a.connection().unwrap().address, "192.0.2.1");
        assert!(a.own_connection().is_none());
    }

    #[test]
    fn direction_table() {
        use Direction::*;
        let all = [SendRecv, SendOnly, RecvOnly, Inactive];
        for d in all {
            assert_eq!(Direction::from_name(d.as_str()), Some(d));
            assert_eq!(d.reversed().reversed(), d);
        }
        // RFC 3264 §6.1, answerer willing to do anything.
        assert_eq!(SendRecv.answer_to(SendOnly), RecvOnly);
        assert_eq!(SendRecv.answer_to(RecvOnly), SendOnly);
        assert_eq!(SendRecv.answer_to(SendRecv), SendRecv);
        assert_eq!(SendRecv.answer_to(Inactive), Inactive);
        // Answerer that only wants to receive.
        assert_eq!(RecvOnly.answer_to(RecvOnly), Inactive);
        assert_eq!(SendOnly.answer_to(SendRecv), SendOnly);
        assert_eq!(Direction::from_name("sendRecv"), None);
    }

    #[test]
    fn static_table() {
        assert_eq!(static_payload_type(8), Some(("PCMA", 8000, 1)));
        assert_eq!(static_payload_type(96), None);
    }
}
