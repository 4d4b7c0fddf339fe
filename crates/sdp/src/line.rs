//! One SDP line, kept byte-exact, and the typed views of the lines Tandem reads:
//! `o=` (RFC 8866 §5.2), `c=` (§5.7), `b=` (§5.8), `m=` (§5.14) and `a=` (§5.13, §6).
//!
//! Typed views borrow from the line; nothing is re-serialised unless an edit asks for it.

use std::ops::Range;

use crate::error::LineFault;

/// How a line ended in the received body.
///
/// RFC 8866 §5 says CRLF, but also that parsers should accept a bare LF; a B2BUA keeps what
/// came, and new lines take the body's dominant ending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LineEnding {
    /// `\r\n`.
    CrLf,
    /// A bare `\n`.
    Lf,
    /// No line break: the last line of a body without a trailing newline.
    Missing,
}

impl LineEnding {
    /// The bytes of this line ending.
    pub fn as_bytes(self) -> &'static [u8] {
        match self {
            Self::CrLf => b"\r\n",
            Self::Lf => b"\n",
            Self::Missing => b"",
        }
    }
}

/// A borrowed view of one raw line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    /// The type letter (`b'v'`, `b'o'`, ...), or `None` for a trailing empty line.
    pub kind: Option<u8>,
    /// The bytes after `<type>=`, exactly as received.
    pub value: &'a [u8],
    /// The line ending as received.
    pub ending: LineEnding,
}

/// The `o=` line (RFC 8866 §5.2): who created the description and which version it is.
///
/// Also used as input to [`SessionDescription::set_origin`](crate::SessionDescription::set_origin).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin<'a> {
    /// `<username>` (`-` when the host has no user ids).
    pub username: &'a str,
    /// `<sess-id>`, kept as text: some UAs send more digits than fit in a `u64`.
    pub session_id: &'a str,
    /// `<sess-version>`: RFC 3264 §8 increments it for each new offer.
    pub session_version: u64,
    /// `<nettype>`, `IN`.
    pub net_type: &'a str,
    /// `<addrtype>`, `IP4` or `IP6`.
    pub addr_type: &'a str,
    /// `<unicast-address>`.
    pub address: &'a str,
}

/// A `c=` line (RFC 8866 §5.7), at session or media level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connection<'a> {
    /// `<nettype>`, `IN`.
    pub net_type: &'a str,
    /// `<addrtype>`, `IP4` or `IP6`.
    pub addr_type: &'a str,
    /// The address without the `/ttl` and `/count` suffixes.
    pub address: &'a str,
    /// Multicast TTL (`IP4` only: `224.2.1.1/127`).
    pub ttl: Option<u8>,
    /// Number of multicast addresses (`224.2.1.1/127/3`, or `ff15::101/3` for `IP6`).
    pub address_count: Option<u32>,
}

impl Connection<'_> {
    /// Whether this is the legacy hold address `0.0.0.0` of RFC 2543, which RFC 3264 §8.4
    /// still asks answerers to understand.
    pub fn is_null(&self) -> bool {
        self.address == "0.0.0.0"
    }
}

/// A `b=<bwtype>:<bandwidth>` line (RFC 8866 §5.8; `TIAS` from RFC 3890).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bandwidth<'a> {
    /// `CT`, `AS`, `TIAS`, `RR`, `RS` or an extension.
    pub bw_type: &'a str,
    /// The value, in kbit/s for `AS`/`CT`, in bit/s for `TIAS`.
    pub bandwidth: u64,
}

/// An `a=` line (RFC 8866 §5.13): `a=<name>` or `a=<name>:<value>`. Any attribute is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribute<'a> {
    /// The attribute name.
    pub name: &'a str,
    /// The value after the first `:`, if any.
    pub value: Option<&'a str>,
}

/// `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]`
/// (RFC 8866 §6.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rtpmap<'a> {
    /// RTP payload type, 0 to 127.
    pub payload_type: u8,
    /// Encoding name as written (compare case-insensitively).
    pub encoding: &'a str,
    /// Clock rate in Hz.
    pub clock_rate: u32,
    /// Encoding parameters: the channel count for audio.
    pub channels: Option<u32>,
}

/// `a=fmtp:<format> <format specific parameters>` (RFC 8866 §6.15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fmtp<'a> {
    /// The format (payload type for RTP) it applies to.
    pub format: &'a str,
    /// The parameters, verbatim.
    pub params: &'a str,
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by the parser, the views and the edits.

/// A stored line: text without its ending, plus the ending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawLine {
    pub(crate) text: Vec<u8>,
    pub(crate) ending: LineEnding,
}

impl RawLine {
    pub(crate) fn kind(&self) -> Option<u8> {
        self.text.first().copied()
    }

    /// The bytes after `<type>=`.
    pub(crate) fn value(&self) -> &[u8] {
        self.text.get(2..).unwrap_or(&[])
    }

    pub(crate) fn value_str(&self) -> Option<&str> {
        std::str::from_utf8(self.value()).ok()
    }

    pub(crate) fn view(&self) -> Line<'_> {
        Line {
            kind: self.kind(),
            value: self.value(),
            ending: self.ending,
        }
    }
}

/// Whitespace-separated fields of a value with their byte ranges (space or tab runs).
pub(crate) fn fields(value: &str) -> Vec<(Range<usize>, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, b) in value.bytes().enumerate() {
        let ws = b == b' ' || b == b'\t';
        match (ws, start) {
            (true, Some(s)) => {
                out.push((s..i, &value[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s..value.len(), &value[s..]));
    }
    out
}

/// A parsed `o=` line plus the byte range of the version inside the value.
pub(crate) struct OriginLine<'a> {
    pub(crate) origin: Origin<'a>,
    pub(crate) version_span: Range<usize>,
}

pub(crate) fn parse_origin(value: &str) -> Result<OriginLine<'_>, LineFault> {
    let f = fields(value);
    // Lenient: a username with spaces (seen in the wild) is everything before the last five.
    if f.len() < 6 {
        return Err(LineFault::OriginFields);
    }
    let n = f.len();
    let user_end = f[n - 6].0.end;
    let version_span = f[n - 4].0.clone();
    let session_version = f[n - 4].1.parse().map_err(|_| LineFault::OriginVersion)?;
    Ok(OriginLine {
        origin: Origin {
            username: &value[f[0].0.start..user_end],
            session_id: f[n - 5].1,
            session_version,
            net_type: f[n - 3].1,
            addr_type: f[n - 2].1,
            address: f[n - 1].1,
        },
        version_span,
    })
}

/// A parsed `c=` line plus the byte ranges of the address type and the whole address field.
pub(crate) struct ConnectionLine<'a> {
    pub(crate) connection: Connection<'a>,
    pub(crate) addr_type_span: Range<usize>,
    pub(crate) address_span: Range<usize>,
}

pub(crate) fn parse_connection(value: &str) -> Result<ConnectionLine<'_>, LineFault> {
    let f = fields(value);
    let [
        (_, net_type),
        (addr_type_span, addr_type),
        (address_span, full),
    ] = f.as_slice()
    else {
        return Err(LineFault::ConnectionFields);
    };
    let mut parts = full.split('/');
    let address = parts.next().unwrap_or_default();
    let suffix: Vec<&str> = parts.collect();
    let num = |s: &str| s.parse::<u32>().map_err(|_| LineFault::ConnectionSuffix);
    let (ttl, address_count) = match (addr_type.eq_ignore_ascii_case("IP4"), suffix.as_slice()) {
        (_, []) => (None, None),
        (true, [ttl]) => (Some(parse_ttl(ttl)?), None),
        (true, [ttl, count]) => (Some(parse_ttl(ttl)?), Some(num(count)?)),
        (false, [count]) => (None, Some(num(count)?)),
        _ => return Err(LineFault::ConnectionSuffix),
    };
    Ok(ConnectionLine {
        connection: Connection {
            net_type,
            addr_type,
            address,
            ttl,
            address_count,
        },
        addr_type_span: addr_type_span.clone(),
        address_span: address_span.clone(),
    })
}

fn parse_ttl(s: &str) -> Result<u8, LineFault> {
    s.parse().map_err(|_| LineFault::ConnectionSuffix)
}

/// A parsed `m=` line with the byte ranges needed by edits.
#[derive(Debug, Clone)]
pub(crate) struct MediaLine<'a> {
    pub(crate) media_type: &'a str,
    pub(crate) port: u16,
    pub(crate) port_span: Range<usize>,
    pub(crate) port_count: Option<u16>,
    pub(crate) proto: &'a str,
    pub(crate) formats: Vec<&'a str>,
    /// From the first format to the end of the last one (empty at the end when none).
    pub(crate) formats_span: Range<usize>,
}

pub(crate) fn parse_media(value: &str) -> Result<MediaLine<'_>, LineFault> {
    let f = fields(value);
    if f.len() < 3 {
        return Err(LineFault::MediaFields);
    }
    let (port_field_span, port_field) = (&f[1].0, f[1].1);
    let (port_text, count_text) = match port_field.split_once('/') {
        Some((p, c)) => (p, Some(c)),
        None => (port_field, None),
    };
    let port = port_text.parse().map_err(|_| LineFault::MediaPort)?;
    let port_count = match count_text {
        Some(c) => Some(c.parse().map_err(|_| LineFault::MediaPortCount)?),
        None => None,
    };
    // RFC 8866 §9: fmt = token. A stray CR inside one would merge into the line ending
    // after an edit and change the format list.
    let is_token_char = |c: u8| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`{|}~".contains(&c);
    // The one exception is the CR of a body cut off after its final `\r` (no LF), which
    // stays part of the last line's text (see `split_lines`).
    let last = f.len().saturating_sub(1);
    let bad = |(i, s): (usize, &&str)| {
        let s = if i == last {
            s.strip_suffix('\r').unwrap_or(s)
        } else {
            s
        };
        s.is_empty() || !s.bytes().all(is_token_char)
    };
    if f.iter().map(|(_, s)| s).enumerate().skip(3).any(bad) {
        return Err(LineFault::MediaFormat);
    }
    let formats_span = match (f.get(3), f.last()) {
        (Some(first), Some(last)) => first.0.start..last.0.end,
        _ => f[2].0.end..f[2].0.end,
    };
    Ok(MediaLine {
        media_type: f[0].1,
        port,
        port_span: port_field_span.start..port_field_span.start + port_text.len(),
        port_count,
        proto: f[2].1,
        formats: f.iter().skip(3).map(|(_, s)| *s).collect(),
        formats_span,
    })
}

pub(crate) fn parse_attribute(value: &str) -> Attribute<'_> {
    match value.split_once(':') {
        Some((name, v)) => Attribute {
            name,
            value: Some(v),
        },
        None => Attribute {
            name: value,
            value: None,
        },
    }
}

pub(crate) fn parse_bandwidth(value: &str) -> Option<Bandwidth<'_>> {
    let (bw_type, bw) = value.split_once(':')?;
    Some(Bandwidth {
        bw_type,
        bandwidth: bw.trim().parse().ok()?,
    })
}

pub(crate) fn parse_rtpmap(value: &str) -> Option<Rtpmap<'_>> {
    let (pt, rest) = split_format(value)?;
    let mut parts = rest.trim().split('/');
    let encoding = parts.next().filter(|e| !e.is_empty())?;
    let clock_rate = parts.next()?.trim().parse().ok()?;
    let channels = match parts.next() {
        Some(c) => Some(c.trim().parse().ok()?),
        None => None,
    };
    Some(Rtpmap {
        payload_type: pt.parse().ok().filter(|p| *p <= 127)?,
        encoding,
        clock_rate,
        channels,
    })
}

pub(crate) fn parse_fmtp(value: &str) -> Option<Fmtp<'_>> {
    let (format, params) = split_format(value)?;
    Some(Fmtp {
        format,
        params: params.trim_start_matches([' ', '\t']),
    })
}

/// `<format> <rest>` as used by rtpmap, fmtp and rtcp-fb.
pub(crate) fn split_format(value: &str) -> Option<(&str, &str)> {
    let value = value.trim_start_matches([' ', '\t']);
    let end = value.find([' ', '\t']).unwrap_or(value.len());
    let (format, rest) = value.split_at(end);
    (!format.is_empty()).then_some((format, rest))
}

/// A value that can replace a single SDP field: non-empty, no whitespace, no control bytes.
pub(crate) fn is_field(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic() || b >= 0x80)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_split_on_runs_of_whitespace() {
        let f = fields(" a  b\tc ");
        let names: Vec<_> = f.iter().map(|(_, s)| *s).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(f[1].0, 4..5);
    }

    #[test]
    fn origin_fields() {
        let o = parse_origin("jdoe 2890844526 2890842807 IN IP4 10.47.16.5").unwrap();
        assert_eq!(o.origin.username, "jdoe");
        assert_eq!(o.origin.session_id, "2890844526");
        assert_eq!(o.origin.session_version, 2_890_842_807);
        assert_eq!(o.origin.address, "10.47.16.5");
        assert_eq!(o.version_span, 16..26);
        let spaced = parse_origin("Cisco SIP 1 2 IN IP4 h").unwrap();
        assert_eq!(spaced.origin.username, "Cisco SIP");
        assert_eq!(
            parse_origin("a 1 x IN IP4 h").err(),
            Some(LineFault::OriginVersion)
        );
        assert_eq!(
            parse_origin("a 1 IN IP4 h").err(),
            Some(LineFault::OriginFields)
        );
    }

    #[test]
    fn connection_forms() {
        let c = parse_connection("IN IP4 224.2.36.42/127/3")
            .unwrap()
            .connection;
        assert_eq!(
            (c.address, c.ttl, c.address_count),
            ("224.2.36.42", Some(127), Some(3))
        );
        let c = parse_connection("IN IP6 ff15::101/3").unwrap().connection;
        assert_eq!(
            (c.address, c.ttl, c.address_count),
            ("ff15::101", None, Some(3))
        );
        let c = parse_connection("IN IP4 0.0.0.0").unwrap().connection;
        assert!(c.is_null());
        assert_eq!(
            parse_connection("IN IP4").err(),
            Some(LineFault::ConnectionFields)
        );
        assert_eq!(
            parse_connection("IN IP4 1.2.3.4/x").err(),
            Some(LineFault::ConnectionSuffix)
        );
        assert_eq!(
            parse_connection("IN IP4 1.2.3.4/300").err(),
            Some(LineFault::ConnectionSuffix)
        );
        assert_eq!(
            parse_connection("IN IP6 ::1/1/2").err(),
            Some(LineFault::ConnectionSuffix)
        );
    }

    #[test]
    fn media_line() {
        let m = parse_media("audio 49170/2 RTP/AVP 0 8  101").unwrap();
        assert_eq!(
            (m.media_type, m.port, m.port_count, m.proto),
            ("audio", 49170, Some(2), "RTP/AVP")
        );
        assert_eq!(m.formats, ["0", "8", "101"]);
        assert_eq!(m.port_span, 6..11);
        assert_eq!(
            &"audio 49170/2 RTP/AVP 0 8  101"[m.formats_span],
            "0 8  101"
        );
        let bare = parse_media("audio 0 RTP/AVP").unwrap();
        assert!(bare.formats.is_empty());
        assert_eq!(
            parse_media("audio x RTP/AVP 0").err(),
            Some(LineFault::MediaPort)
        );
        assert_eq!(
            parse_media("audio 70000 RTP/AVP 0").err(),
            Some(LineFault::MediaPort)
        );
        assert_eq!(
            parse_media("audio 1/x RTP/AVP 0").err(),
            Some(LineFault::MediaPortCount)
        );
        assert_eq!(parse_media("audio 1").err(), Some(LineFault::MediaFields));
    }

    #[test]
    fn attributes_rtpmap_fmtp_bandwidth() {
        assert_eq!(
            parse_attribute("sendrecv"),
            Attribute {
                name: "sendrecv",
                value: None
            }
        );
        assert_eq!(
            parse_attribute("ptime:20"),
            Attribute {
                name: "ptime",
                value: Some("20")
            }
        );
        let r = parse_rtpmap("96 opus/48000/2").unwrap();
        assert_eq!(
            (r.payload_type, r.encoding, r.clock_rate, r.channels),
            (96, "opus", 48000, Some(2))
        );
        assert_eq!(
            parse_rtpmap("101 telephone-event/8000").unwrap().channels,
            None
        );
        assert!(parse_rtpmap("200 x/8000").is_none());
        assert!(parse_rtpmap("96 opus").is_none());
        let f = parse_fmtp("101 0-16").unwrap();
        assert_eq!((f.format, f.params), ("101", "0-16"));
        assert_eq!(parse_bandwidth("TIAS:64000").unwrap().bandwidth, 64000);
        assert!(parse_bandwidth("AS").is_none());
    }

    #[test]
    fn field_values() {
        assert!(is_field("2001:db8::20"));
        assert!(!is_field("a b"));
        assert!(!is_field(""));
        assert!(!is_field("a\r\n"));
    }
}
