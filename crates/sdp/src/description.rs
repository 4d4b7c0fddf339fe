//! [`SessionDescription`]: the lossless line model, its parser (RFC 8866 §5) and the
//! session-level read accessors. Edits are in `edit.rs`, media views in `media.rs`.

use crate::error::{LineFault, SdpError};
use crate::line::{
    self, Attribute, Bandwidth, Connection, Line, LineEnding, Origin, RawLine, parse_attribute,
};
use crate::media::{Direction, Media};

/// Size limits applied by [`SessionDescription::parse_with_limits`].
///
/// Bodies come from the network; the limits keep a hostile peer from making Tandem allocate
/// without bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum body size in bytes.
    pub max_bytes: usize,
    /// Maximum number of lines.
    pub max_lines: usize,
    /// Maximum number of `m=` sections.
    pub max_media: usize,
}

impl Default for Limits {
    /// 64 KiB, 2048 lines, 64 media sections: far above any real call.
    fn default() -> Self {
        Self {
            max_bytes: 64 * 1024,
            max_lines: 2048,
            max_media: 64,
        }
    }
}

/// A session description kept line by line, byte-exact.
///
/// Every line (unknown attributes, `r=`/`z=`/`k=`, `b=`, per-media `c=`) and every line
/// ending is kept as received, so [`to_bytes`](Self::to_bytes) returns the input unchanged
/// until an edit touches a line; edits change only the bytes they are about. This is what a
/// B2BUA needs: everything but `o=`, `c=` and `m=` ports must reach the other leg untouched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    pub(crate) lines: Vec<RawLine>,
    /// Index in `lines` of each `m=` line.
    pub(crate) media_starts: Vec<usize>,
}

impl SessionDescription {
    /// Parses a body with the default [`Limits`].
    ///
    /// Validation follows RFC 8866 §5 loosely: `v=0` first, one `o=` and one `s=` in the
    /// session section, each `m=` starts a media section, and the `o=`, `c=` and `m=` lines
    /// that Tandem reads and rewrites must be well-formed. Other lines are kept unparsed.
    /// Never panics.
    pub fn parse(input: &[u8]) -> Result<Self, SdpError> {
        Self::parse_with_limits(input, &Limits::default())
    }

    /// Parses a body with explicit [`Limits`].
    pub fn parse_with_limits(input: &[u8], limits: &Limits) -> Result<Self, SdpError> {
        if input.len() > limits.max_bytes {
            return Err(SdpError::TooLarge {
                size: input.len(),
                limit: limits.max_bytes,
            });
        }
        if input.is_empty() {
            return Err(SdpError::Empty);
        }
        let lines = split_lines(input, limits.max_lines)?;
        let mut media_starts = Vec::new();
        let (mut seen_o, mut seen_s) = (false, false);
        let last_non_empty = lines.iter().rposition(|l| !l.text.is_empty()).unwrap_or(0);
        for (i, l) in lines.iter().enumerate() {
            let err = |fault| SdpError::Line { line: i + 1, fault };
            let Some(kind) = l.kind() else {
                if i < last_non_empty || i == 0 {
                    return Err(err(LineFault::EmptyLine));
                }
                continue;
            };
            if !kind.is_ascii_lowercase() || l.text.get(1) != Some(&b'=') {
                return Err(err(LineFault::Malformed));
            }
            let in_media = !media_starts.is_empty();
            match kind {
                b'v' if i == 0 && l.value() != b"0" => {
                    return Err(err(LineFault::UnsupportedVersion));
                }
                b'v' if i == 0 => {}
                _ if i == 0 => return Err(err(LineFault::VersionNotFirst)),
                b'v' => return Err(err(LineFault::Misplaced('v'))),
                b'o' | b's' if in_media => return Err(err(LineFault::Misplaced(char::from(kind)))),
                b'o' => {
                    if std::mem::replace(&mut seen_o, true) {
                        return Err(err(LineFault::Misplaced('o')));
                    }
                    line::parse_origin(utf8(l, 'o').map_err(err)?).map_err(err)?;
                }
                b's' if std::mem::replace(&mut seen_s, true) => {
                    return Err(err(LineFault::Misplaced('s')));
                }
                b'c' => {
                    line::parse_connection(utf8(l, 'c').map_err(err)?).map_err(err)?;
                }
                b'm' => {
                    line::parse_media(utf8(l, 'm').map_err(err)?).map_err(err)?;
                    if media_starts.len() == limits.max_media {
                        return Err(SdpError::TooManyMedia {
                            limit: limits.max_media,
                        });
                    }
                    media_starts.push(i);
                }
                _ => {}
            }
        }
        if !seen_o {
            return Err(SdpError::MissingLine { kind: 'o' });
        }
        if !seen_s {
            return Err(SdpError::MissingLine { kind: 's' });
        }
        Ok(Self {
            lines,
            media_starts,
        })
    }

    /// The body, byte-identical to the input when nothing was edited.
    pub fn to_bytes(&self) -> Vec<u8> {
        let len = self.lines.iter().map(|l| l.text.len() + 2).sum();
        let mut out = Vec::with_capacity(len);
        for l in &self.lines {
            out.extend_from_slice(&l.text);
            out.extend_from_slice(l.ending.as_bytes());
        }
        out
    }

    /// Every line, in order, as received (or as edited).
    pub fn lines(&self) -> impl Iterator<Item = Line<'_>> + '_ {
        self.lines.iter().map(RawLine::view)
    }

    /// The ending used for lines Tandem adds: the most frequent one in the body (CRLF on a
    /// tie, as RFC 8866 §5 prescribes).
    pub fn line_ending(&self) -> LineEnding {
        let lf = self
            .lines
            .iter()
            .filter(|l| l.ending == LineEnding::Lf)
            .count();
        let crlf = self
            .lines
            .iter()
            .filter(|l| l.ending == LineEnding::CrLf)
            .count();
        if lf > crlf {
            LineEnding::Lf
        } else {
            LineEnding::CrLf
        }
    }

    /// The `o=` line (RFC 8866 §5.2).
    pub fn origin(&self) -> Origin<'_> {
        self.session_lines()
            .iter()
            .filter(|l| l.kind() == Some(b'o'))
            .find_map(|l| line::parse_origin(l.value_str()?).ok())
            .map_or(EMPTY_ORIGIN, |o| o.origin)
    }

    /// The `s=` session name, raw: RFC 8866 §5.3 allows any charset named by `a=charset`.
    pub fn session_name(&self) -> &[u8] {
        self.session_lines()
            .iter()
            .find(|l| l.kind() == Some(b's'))
            .map_or(&[][..], RawLine::value)
    }

    /// The session-level `c=` line, if any (RFC 8866 §5.7).
    pub fn connection(&self) -> Option<Connection<'_>> {
        first_connection(self.session_lines())
    }

    /// Session-level `b=` lines (RFC 8866 §5.8).
    pub fn bandwidths(&self) -> Vec<Bandwidth<'_>> {
        bandwidths(self.session_lines())
    }

    /// Session-level attributes, in order (RFC 8866 §5.13).
    pub fn attributes(&self) -> Vec<Attribute<'_>> {
        attributes(self.session_lines())
    }

    /// The value of the first session-level attribute `name` (`Some(None)` for a flag).
    pub fn attribute(&self, name: &str) -> Option<Option<&str>> {
        self.attributes()
            .into_iter()
            .find(|a| a.name == name)
            .map(|a| a.value)
    }

    /// The session-level direction attribute, if present (RFC 3264 §5.1: it applies to every
    /// media section that has none).
    pub fn session_direction(&self) -> Option<Direction> {
        direction_of(self.session_lines())
    }

    /// Number of media sections (`m=` lines).
    pub fn media_count(&self) -> usize {
        self.media_starts.len()
    }

    /// The media section at `index`, if it exists.
    pub fn media(&self, index: usize) -> Option<Media<'_>> {
        (index < self.media_starts.len()).then(|| Media::new(self, index))
    }

    /// All media sections, in order.
    pub fn media_sections(&self) -> impl Iterator<Item = Media<'_>> + '_ {
        (0..self.media_starts.len()).map(|i| Media::new(self, i))
    }

    /// Whether this description puts the call on hold (RFC 3264 §8.4): it has at least one
    /// active stream and every active stream is held (`sendonly`, `inactive`, or the legacy
    /// `c=0.0.0.0`).
    pub fn is_hold(&self) -> bool {
        let mut active = self
            .media_sections()
            .filter(|m| !m.is_rejected())
            .peekable();
        active.peek().is_some() && active.all(|m| m.is_held())
    }

    // -- crate-internal helpers ---------------------------------------------------------------

    pub(crate) fn session_lines(&self) -> &[RawLine] {
        let end = self
            .media_starts
            .first()
            .copied()
            .unwrap_or(self.lines.len());
        self.lines.get(..end).unwrap_or(&[])
    }

    /// Range of `lines` of media section `index` (from its `m=` line to the next one).
    pub(crate) fn media_range(&self, index: usize) -> std::ops::Range<usize> {
        let start = self
            .media_starts
            .get(index)
            .copied()
            .unwrap_or(self.lines.len());
        let end = self
            .media_starts
            .get(index + 1)
            .copied()
            .unwrap_or(self.lines.len());
        start..end
    }

    pub(crate) fn media_lines(&self, index: usize) -> &[RawLine] {
        self.lines.get(self.media_range(index)).unwrap_or(&[])
    }
}

impl std::str::FromStr for SessionDescription {
    type Err = SdpError;

    fn from_str(s: &str) -> Result<Self, SdpError> {
        Self::parse(s.as_bytes())
    }
}

/// Placeholder never returned for a parsed description (the parser requires a valid `o=`).
const EMPTY_ORIGIN: Origin<'static> = Origin {
    username: "-",
    session_id: "0",
    session_version: 0,
    net_type: "IN",
    addr_type: "IP4",
    address: "0.0.0.0",
};

fn utf8(l: &RawLine, kind: char) -> Result<&str, LineFault> {
    l.value_str().ok_or(LineFault::NotUtf8(kind))
}

/// Splits on `\n`, recording whether each line ended in CRLF, LF or nothing.
fn split_lines(input: &[u8], max_lines: usize) -> Result<Vec<RawLine>, SdpError> {
    let mut lines = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        if lines.len() == max_lines {
            return Err(SdpError::TooManyLines { limit: max_lines });
        }
        let (mut text, ending, next) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], LineEnding::Lf, &rest[i + 1..]),
            None => (rest, LineEnding::Missing, &[][..]),
        };
        let ending = match text.split_last() {
            Some((b'\r', head)) if ending == LineEnding::Lf => {
                text = head;
                LineEnding::CrLf
            }
            _ => ending,
        };
        lines.push(RawLine {
            text: text.to_vec(),
            ending,
        });
        rest = next;
    }
    Ok(lines)
}

pub(crate) fn first_connection(lines: &[RawLine]) -> Option<Connection<'_>> {
    lines
        .iter()
        .filter(|l| l.kind() == Some(b'c'))
        .find_map(|l| line::parse_connection(l.value_str()?).ok())
        .map(|c| c.connection)
}

pub(crate) fn bandwidths(lines: &[RawLine]) -> Vec<Bandwidth<'_>> {
    lines
        .iter()
        .filter(|l| l.kind() == Some(b'b'))
        .filter_map(|l| line::parse_bandwidth(l.value_str()?))
        .collect()
}

/// Attributes of a section; `a=` lines that are not UTF-8 are kept but not shown here.
pub(crate) fn attributes(lines: &[RawLine]) -> Vec<Attribute<'_>> {
    lines
        .iter()
        .filter(|l| l.kind() == Some(b'a'))
        .filter_map(|l| Some(parse_attribute(l.value_str()?)))
        .collect()
}

pub(crate) fn direction_of(lines: &[RawLine]) -> Option<Direction> {
    attributes(lines).iter().find_map(|a| {
        if a.value.is_some() {
            return None;
        }
        Direction::from_name(a.name.trim_end_matches([' ', '\t']))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASIC: &str = "v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
                         m=audio 4000 RTP/AVP 0\r\na=sendonly\r\n";

    fn err_of(s: &str) -> SdpError {
        SessionDescription::parse(s.as_bytes()).unwrap_err()
    }

    #[test]
    fn parses_and_round_trips() {
        let sdp = SessionDescription::parse(BASIC.as_bytes()).unwrap();
        assert_eq!(sdp.to_bytes(), BASIC.as_bytes());
        assert_eq!(sdp.media_count(), 1);
        assert_eq!(sdp.origin().session_version, 2);
        assert_eq!(sdp.session_name(), b"-");
        assert_eq!(sdp.connection().unwrap().address, "192.0.2.1");
        assert_eq!(sdp.session_direction(), None);
        assert!(sdp.is_hold());
        assert_eq!(sdp.lines().count(), 7);
        assert_eq!(sdp.line_ending(), LineEnding::CrLf);
    }

    #[test]
    fn keeps_missing_final_newline_and_trailing_empty_lines() {
        for body in [
            "v=0\no=- 1 1 IN IP4 h\ns=x",
            "v=0\r\no=- 1 1 IN IP4 h\r\ns=x\r\n\r\n",
        ] {
            let sdp = SessionDescription::parse(body.as_bytes()).unwrap();
            assert_eq!(sdp.to_bytes(), body.as_bytes());
        }
    }

    #[test]
    fn errors_name_line_and_fault() {
        let e = err_of("v=0\r\no=- 1 1 IN IP4 h\r\nm=audio x RTP/AVP 0\r\ns=-\r\n");
        assert_eq!(e.to_string(), "line 3: m= line has a non-numeric port");
        assert_eq!(err_of(""), SdpError::Empty);
        assert_eq!(
            err_of("o=- 1 1 IN IP4 h\r\n"),
            SdpError::Line {
                line: 1,
                fault: LineFault::VersionNotFirst
            }
        );
        assert_eq!(
            err_of("v=1\r\n"),
            SdpError::Line {
                line: 1,
                fault: LineFault::UnsupportedVersion
            }
        );
        assert_eq!(
            err_of("v=0\r\ns=-\r\n"),
            SdpError::MissingLine { kind: 'o' }
        );
        assert_eq!(
            err_of("v=0\r\no=- 1 1 IN IP4 h\r\n"),
            SdpError::MissingLine { kind: 's' }
        );
        assert_eq!(
            err_of("v=0\r\no=- 1 1 IN IP4 h\r\n\r\ns=-\r\n"),
            SdpError::Line {
                line: 3,
                fault: LineFault::EmptyLine
            }
        );
        assert_eq!(
            err_of("v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nX=1\r\n"),
            SdpError::Line {
                line: 4,
                fault: LineFault::Malformed
            }
        );
        assert_eq!(
            err_of("v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nm=audio 1 RTP/AVP 0\r\no=- 1 1 IN IP4 h\r\n"),
            SdpError::Line {
                line: 5,
                fault: LineFault::Misplaced('o')
            }
        );
        assert_eq!(
            err_of("v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4\r\n"),
            SdpError::Line {
                line: 4,
                fault: LineFault::ConnectionFields
            }
        );
        assert_eq!(
            SessionDescription::parse(b"v=0\r\no=- 1 1 IN IP4 \xff\r\ns=-\r\n").unwrap_err(),
            SdpError::Line {
                line: 2,
                fault: LineFault::NotUtf8('o')
            }
        );
    }

    #[test]
    fn limits() {
        let l = Limits {
            max_bytes: 10,
            ..Limits::default()
        };
        assert!(matches!(
            SessionDescription::parse_with_limits(BASIC.as_bytes(), &l),
            Err(SdpError::TooLarge { .. })
        ));
        let l = Limits {
            max_lines: 3,
            ..Limits::default()
        };
        assert_eq!(
            SessionDescription::parse_with_limits(BASIC.as_bytes(), &l),
            Err(SdpError::TooManyLines { limit: 3 })
        );
        let l = Limits {
            max_media: 0,
            ..Limits::default()
        };
        assert_eq!(
            SessionDescription::parse_with_limits(BASIC.as_bytes(), &l),
            Err(SdpError::TooManyMedia { limit: 0 })
        );
    }

    #[test]
    fn non_utf8_session_name_is_kept() {
        let body = b"v=0\r\no=- 1 1 IN IP4 h\r\ns=caf\xe9\r\na=x:\xff\r\n";
        let sdp = SessionDescription::parse(body).unwrap();
        assert_eq!(sdp.session_name(), b"caf\xe9");
        assert!(sdp.attributes().is_empty());
        assert_eq!(sdp.to_bytes(), body);
    }
}
