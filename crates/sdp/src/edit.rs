//! Edits of a [`SessionDescription`] that touch only what they change: the `o=` line
//! (RFC 3264 §8), `c=` addresses, `m=` ports and formats, and direction attributes.
//!
//! Each edit either succeeds or leaves the description unchanged. Lines Tandem adds take the
//! body's dominant line ending ([`SessionDescription::line_ending`]).

use std::net::IpAddr;
use std::ops::Range;

use crate::description::SessionDescription;
use crate::error::EditError;
use crate::line::{self, LineEnding, Origin, RawLine, is_field};
use crate::media::Direction;

impl SessionDescription {
    /// Sets `<sess-version>` of the `o=` line, leaving every other byte alone.
    pub fn set_origin_version(&mut self, version: u64) {
        let Some(idx) = self.origin_index() else {
            return;
        };
        let span = self.lines[idx]
            .value_str()
            .and_then(|v| line::parse_origin(v).ok())
            .map(|o| o.version_span);
        if let Some(span) = span {
            splice(&mut self.lines[idx], span, version.to_string().as_bytes());
        }
    }

    /// Increments `<sess-version>` as RFC 3264 §8 requires for every new offer in a session,
    /// and returns the new version.
    pub fn bump_origin_version(&mut self) -> u64 {
        let version = self.origin().session_version.wrapping_add(1);
        self.set_origin_version(version);
        version
    }

    /// Replaces the whole `o=` line, for when Tandem becomes the author of the description
    /// toward a peer (see [`OriginRewriter`](crate::OriginRewriter)). The line ending is kept.
    pub fn set_origin(&mut self, origin: &Origin<'_>) -> Result<(), EditError> {
        for f in [
            origin.username,
            origin.session_id,
            origin.net_type,
            origin.addr_type,
        ] {
            check_field(f)?;
        }
        check_field(origin.address)?;
        self.replace_origin_unchecked(origin);
        Ok(())
    }

    /// Rewrites the address of the session-level `c=` line. The address type becomes `IP4`
    /// or `IP6` when `address` is an IP literal; a multicast `/ttl` suffix is replaced too.
    pub fn set_session_connection_address(&mut self, address: &str) -> Result<(), EditError> {
        check_field(address)?;
        let end = self.session_lines().len();
        self.set_connection_in(0..end, address)
    }

    /// Rewrites the address of the media-level `c=` line(s) of media section `index`.
    pub fn set_media_connection_address(
        &mut self,
        index: usize,
        address: &str,
    ) -> Result<(), EditError> {
        check_field(address)?;
        let range = self.checked_media_range(index)?;
        self.set_connection_in(range, address)
    }

    /// Rewrites every `c=` line, session- and media-level; returns how many were changed.
    /// This is what a media relay does to put itself in the path.
    pub fn set_all_connection_addresses(&mut self, address: &str) -> Result<usize, EditError> {
        check_field(address)?;
        let idxs: Vec<usize> = (0..self.lines.len())
            .filter(|&i| self.lines[i].kind() == Some(b'c'))
            .collect();
        for &i in &idxs {
            rewrite_connection(&mut self.lines[i], address);
        }
        Ok(idxs.len())
    }

    /// Sets the port of media section `index`; port 0 rejects (RFC 3264 §6) or disables
    /// (§8.2) the stream. The `/<number of ports>` suffix is kept.
    pub fn set_media_port(&mut self, index: usize, port: u16) -> Result<(), EditError> {
        let idx = self.checked_media_range(index)?.start;
        let span = self.lines[idx]
            .value_str()
            .and_then(|v| line::parse_media(v).ok())
            .map(|m| m.port_span);
        if let Some(span) = span {
            splice(&mut self.lines[idx], span, port.to_string().as_bytes());
        }
        Ok(())
    }

    /// Sets the direction attribute of media section `index` (RFC 3264 §5.1): the first
    /// existing one is rewritten in place and any other removed; otherwise one is appended at
    /// the end of the section.
    pub fn set_media_direction(
        &mut self,
        index: usize,
        direction: Direction,
    ) -> Result<(), EditError> {
        let range = self.checked_media_range(index)?;
        self.set_direction_in(range, direction);
        Ok(())
    }

    /// Sets the session-level direction attribute, which applies to every media section
    /// without one of its own.
    pub fn set_session_direction(&mut self, direction: Direction) {
        let end = self.session_lines().len();
        self.set_direction_in(0..end, direction);
    }

    /// Replaces the formats of media section `index` with `formats`, in that order (a filter
    /// and a reorder), and removes the `a=rtpmap`, `a=fmtp` and `a=rtcp-fb` lines of the
    /// payload types that are no longer listed. Every format must already be on the line.
    pub fn set_formats(&mut self, index: usize, formats: &[&str]) -> Result<(), EditError> {
        let range = self.checked_media_range(index)?;
        let Some(m) = self.lines[range.start]
            .value_str()
            .and_then(|v| line::parse_media(v).ok())
        else {
            return Ok(());
        };
        if formats.is_empty() {
            return Err(EditError::NoFormats);
        }
        if let Some(f) = formats.iter().find(|f| !m.formats.contains(f)) {
            return Err(EditError::UnknownFormat((*f).to_owned()));
        }
        let removed: Vec<String> = m
            .formats
            .iter()
            .filter(|f| !formats.contains(f))
            .map(|f| (*f).to_owned())
            .collect();
        let span = m.formats_span.clone();
        splice(
            &mut self.lines[range.start],
            span,
            formats.join(" ").as_bytes(),
        );
        let doomed: Vec<usize> = range
            .clone()
            .skip(1)
            .filter(|&i| {
                format_attribute_of(&self.lines[i]).is_some_and(|f| removed.iter().any(|r| r == f))
            })
            .collect();
        self.remove_lines(&doomed);
        Ok(())
    }

    /// Keeps the formats of media section `index` for which `keep` returns true, in their
    /// current order; see [`set_formats`](Self::set_formats).
    pub fn retain_formats(
        &mut self,
        index: usize,
        mut keep: impl FnMut(&str) -> bool,
    ) -> Result<(), EditError> {
        let media = self.media(index).ok_or(EditError::NoSuchMedia {
            index,
            count: self.media_count(),
        })?;
        let kept: Vec<String> = media
            .formats()
            .into_iter()
            .filter(|f| keep(f))
            .map(str::to_owned)
            .collect();
        let kept: Vec<&str> = kept.iter().map(String::as_str).collect();
        self.set_formats(index, &kept)
    }

    // -- crate-internal helpers ---------------------------------------------------------------

    /// Writes a new `o=` line from fields already known to be valid.
    pub(crate) fn replace_origin_unchecked(&mut self, o: &Origin<'_>) {
        let Some(idx) = self.origin_index() else {
            return;
        };
        let text = format!(
            "o={} {} {} {} {} {}",
            o.username, o.session_id, o.session_version, o.net_type, o.addr_type, o.address
        );
        self.lines[idx].text = text.into_bytes();
    }

    fn origin_index(&self) -> Option<usize> {
        self.session_lines()
            .iter()
            .position(|l| l.kind() == Some(b'o'))
    }

    fn checked_media_range(&self, index: usize) -> Result<Range<usize>, EditError> {
        if index >= self.media_count() {
            return Err(EditError::NoSuchMedia {
                index,
                count: self.media_count(),
            });
        }
        Ok(self.media_range(index))
    }

    fn set_connection_in(&mut self, range: Range<usize>, address: &str) -> Result<(), EditError> {
        let idxs: Vec<usize> = range
            .filter(|&i| self.lines[i].kind() == Some(b'c'))
            .collect();
        if idxs.is_empty() {
            return Err(EditError::NoConnection);
        }
        for i in idxs {
            rewrite_connection(&mut self.lines[i], address);
        }
        Ok(())
    }

    fn set_direction_in(&mut self, range: Range<usize>, direction: Direction) {
        let existing: Vec<usize> = range
            .clone()
            .filter(|&i| {
                let l = &self.lines[i];
                l.kind() == Some(b'a')
                    && std::str::from_utf8(l.value()).is_ok_and(|v| {
                        Direction::from_name(v.trim_end_matches([' ', '\t'])).is_some()
                    })
            })
            .collect();
        let text = format!("a={}", direction.as_str()).into_bytes();
        match existing.split_first() {
            Some((&first, rest)) => {
                self.lines[first].text = text;
                self.remove_lines(rest);
            }
            None => {
                let at = range
                    .clone()
                    .rev()
                    .find(|&i| !self.lines[i].text.is_empty())
                    .map_or(range.end, |i| i + 1);
                self.insert_line(at, text);
            }
        }
    }

    /// Inserts a line before `at`, with the dominant ending; a body without a final newline
    /// keeps that shape.
    fn insert_line(&mut self, at: usize, text: Vec<u8>) {
        let mut ending = self.line_ending();
        if let Some(prev) = at.checked_sub(1).and_then(|p| self.lines.get_mut(p))
            && prev.ending == LineEnding::Missing
        {
            // A body cut after its final `\r`: adding the `\n` completes that CRLF.
            prev.ending = match prev.text.last() {
                Some(b'\r') => {
                    prev.text.pop();
                    LineEnding::CrLf
                }
                _ => ending,
            };
            ending = LineEnding::Missing;
        }
        self.lines
            .insert(at.min(self.lines.len()), RawLine { text, ending });
        self.recompute_media_starts();
    }

    /// Removes lines by index; if the last line goes, the new last line inherits its ending.
    fn remove_lines(&mut self, idxs: &[usize]) {
        if idxs.is_empty() {
            return;
        }
        let last_ending = self.lines.last().map(|l| l.ending);
        let mut i = 0;
        self.lines.retain(|_| {
            i += 1;
            !idxs.contains(&(i - 1))
        });
        if let (Some(LineEnding::Missing), Some(last)) = (last_ending, self.lines.last_mut()) {
            last.ending = LineEnding::Missing;
        }
        self.recompute_media_starts();
    }

    pub(crate) fn recompute_media_starts(&mut self) {
        self.media_starts = (0..self.lines.len())
            .filter(|&i| self.lines[i].kind() == Some(b'm'))
            .collect();
    }
}

fn check_field(value: &str) -> Result<(), EditError> {
    if is_field(value) {
        Ok(())
    } else {
        Err(EditError::InvalidField(value.to_owned()))
    }
}

/// Replaces `span` (relative to the value, after `<type>=`) of a line.
fn splice(line: &mut RawLine, span: Range<usize>, with: &[u8]) {
    let (start, end) = (span.start + 2, span.end + 2);
    if start <= end && end <= line.text.len() {
        line.text.splice(start..end, with.iter().copied());
    }
}

fn rewrite_connection(l: &mut RawLine, address: &str) {
    let Some((addr_type_span, address_span, old_type)) = l
        .value_str()
        .and_then(|v| line::parse_connection(v).ok())
        .map(|c| {
            (
                c.addr_type_span,
                c.address_span,
                c.connection.addr_type.to_owned(),
            )
        })
    else {
        return;
    };
    let host = address.split('/').next().unwrap_or(address);
    let new_type = match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(_)) => "IP4",
        Ok(IpAddr::V6(_)) => "IP6",
        Err(_) => old_type.as_str(),
    };
    // The address comes after the address type: splice it first so the spans stay valid.
    splice(l, address_span, address.as_bytes());
    if new_type != old_type {
        splice(l, addr_type_span, new_type.as_bytes());
    }
}

/// The format an `a=rtpmap`, `a=fmtp` or `a=rtcp-fb` line applies to.
fn format_attribute_of(l: &RawLine) -> Option<&str> {
    if l.kind() != Some(b'a') {
        return None;
    }
    let a = line::parse_attribute(l.value_str()?);
    if !matches!(a.name, "rtpmap" | "fmtp" | "rtcp-fb") {
        return None;
    }
    Some(line::split_format(a.value?)?.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDP: &str = "v=0\r\no=alice 2890844526 2890844526 IN IP4 192.0.2.1\r\ns= \r\n\
        c=IN IP4 192.0.2.1/127\r\nt=0 0\r\n\
        m=audio 49170 RTP/AVP 0  8 96 101\r\na=rtpmap:96 opus/48000/2\r\na=fmtp:96 x=1\r\n\
        a=rtcp-fb:96 nack\r\na=rtcp-fb:* trr-int 100\r\na=rtpmap:101 telephone-event/8000\r\n\
        a=fmtp:101 0-15\r\na=sendrecv\r\n\
        m=video 51372 RTP/AVP 31\r\nc=IN IP4 192.0.2.2\r\nb=AS:512\r\n";

    fn sdp() -> SessionDescription {
        SDP.parse().unwrap()
    }

    fn changed_lines(a: &SessionDescription, b: &SessionDescription) -> Vec<String> {
        let (a, b) = (a.to_bytes(), b.to_bytes());
        let (a, b) = (String::from_utf8(a).unwrap(), String::from_utf8(b).unwrap());
        let (al, bl): (Vec<_>, Vec<_>) = (a.split("\r\n").collect(), b.split("\r\n").collect());
        bl.iter()
            .filter(|l| !al.contains(l))
            .map(|l| (*l).to_owned())
            .collect()
    }

    #[test]
    fn origin_version_and_replacement() {
        let mut s = sdp();
        assert_eq!(s.bump_origin_version(), 2_890_844_527);
        assert_eq!(
            changed_lines(&sdp(), &s),
            ["o=alice 2890844526 2890844527 IN IP4 192.0.2.1"]
        );
        s.set_origin_version(7);
        assert_eq!(s.origin().session_version, 7);
        let o = Origin {
            username: "tandem",
            session_id: "42",
            session_version: 1,
            net_type: "IN",
            addr_type: "IP6",
            address: "2001:db8::1",
        };
        s.set_origin(&o).unwrap();
        assert_eq!(s.origin(), o);
        assert_eq!(s.lines().count(), sdp().lines().count());
        let bad = Origin {
            username: "a b",
            ..o
        };
        assert_eq!(
            s.set_origin(&bad),
            Err(EditError::InvalidField("a b".into()))
        );
        assert_eq!(SessionDescription::parse(&s.to_bytes()).unwrap(), s);
    }

    #[test]
    fn connection_addresses() {
        let mut s = sdp();
        s.set_session_connection_address("2001:db8::9").unwrap();
        assert_eq!(changed_lines(&sdp(), &s), ["c=IN IP6 2001:db8::9"]);
        s.set_media_connection_address(1, "198.51.100.7").unwrap();
        assert_eq!(
            s.media(1).unwrap().connection().unwrap().address,
            "198.51.100.7"
        );
        assert_eq!(
            s.set_media_connection_address(0, "1.2.3.4"),
            Err(EditError::NoConnection)
        );
        assert_eq!(
            s.set_media_connection_address(5, "1.2.3.4"),
            Err(EditError::NoSuchMedia { index: 5, count: 2 })
        );
        assert_eq!(s.set_all_connection_addresses("relay.example.com"), Ok(2));
        assert_eq!(
            s.connection().unwrap().addr_type,
            "IP6",
            "FQDN keeps the address type"
        );
        assert!(s.set_all_connection_addresses("a\r\nb").is_err());
    }

    #[test]
    fn media_port() {
        let mut s = sdp();
        s.set_media_port(1, 0).unwrap();
        assert_eq!(changed_lines(&sdp(), &s), ["m=video 0 RTP/AVP 31"]);
        assert!(s.media(1).unwrap().is_rejected());
        let mut p: SessionDescription = "v=0\no=- 1 1 IN IP4 h\ns=-\nm=audio 1000/2 RTP/AVP 0\n"
            .parse()
            .unwrap();
        p.set_media_port(0, 2000).unwrap();
        assert_eq!(
            p.to_bytes(),
            b"v=0\no=- 1 1 IN IP4 h\ns=-\nm=audio 2000/2 RTP/AVP 0\n"
        );
    }

    #[test]
    fn directions() {
        let mut s = sdp();
        s.set_media_direction(0, Direction::SendOnly).unwrap();
        assert_eq!(changed_lines(&sdp(), &s), ["a=sendonly"]);
        assert_eq!(s.lines().count(), sdp().lines().count());
        s.set_media_direction(1, Direction::Inactive).unwrap();
        let text = String::from_utf8(s.to_bytes()).unwrap();
        assert!(text.ends_with("b=AS:512\r\na=inactive\r\n"));
        s.set_session_direction(Direction::RecvOnly);
        assert!(
            String::from_utf8(s.to_bytes())
                .unwrap()
                .contains("t=0 0\r\na=recvonly\r\nm=audio")
        );
        assert_eq!(s.media_count(), 2);
        assert_eq!(s.media(1).unwrap().direction(), Direction::Inactive);
        assert!(s.is_hold());
        assert_eq!(SessionDescription::parse(&s.to_bytes()).unwrap(), s);
    }

    #[test]
    fn direction_insert_keeps_missing_final_newline() {
        let mut s: SessionDescription = "v=0\no=- 1 1 IN IP4 h\ns=-\nm=audio 1 RTP/AVP 0"
            .parse()
            .unwrap();
        s.set_media_direction(0, Direction::SendOnly).unwrap();
        assert_eq!(
            s.to_bytes(),
            b"v=0\no=- 1 1 IN IP4 h\ns=-\nm=audio 1 RTP/AVP 0\na=sendonly"
        );
        let mut d: SessionDescription = "v=0\no=- 1 1 IN IP4 h\ns=-\na=inactive\r\na=sendonly\n"
            .parse()
            .unwrap();
        d.set_session_direction(Direction::SendRecv);
        assert_eq!(d.to_bytes(), b"v=0\no=- 1 1 IN IP4 h\ns=-\na=sendrecv\r\n");
    }

    #[test]
    fn formats_filter_and_reorder() {
        let mut s = sdp();
        s.set_formats(0, &["101", "0"]).unwrap();
        let text = String::from_utf8(s.to_bytes()).unwrap();
        assert!(text.contains("m=audio 49170 RTP/AVP 101 0\r\n"));
        assert!(
            !text.contains("opus") && !text.contains("a=fmtp:96") && !text.contains("rtcp-fb:96")
        );
        assert!(text.contains("a=rtcp-fb:* trr-int 100\r\n"));
        assert!(text.contains("a=fmtp:101 0-15\r\n"));
        assert_eq!(s.media(1).unwrap().formats(), ["31"]);
        assert_eq!(s.set_formats(0, &[]), Err(EditError::NoFormats));
        assert_eq!(
            s.set_formats(0, &["96"]),
            Err(EditError::UnknownFormat("96".into()))
        );
        s.retain_formats(0, |f| f != "101").unwrap();
        assert_eq!(s.media(0).unwrap().formats(), ["0"]);
        assert!(s.media(0).unwrap().telephone_events().is_empty());
        assert_eq!(SessionDescription::parse(&s.to_bytes()).unwrap(), s);
    }

    #[test]
    fn insert_after_final_carriage_return_completes_crlf() {
        let mut s: SessionDescription = "v=0\no=- 1 1 IN IP4 h\ns=-\nm=audio 1 RTP/AVP 0\r"
            .parse()
            .unwrap();
        s.set_media_direction(0, Direction::SendOnly).unwrap();
        assert_eq!(
            s.to_bytes(),
            b"v=0\no=- 1 1 IN IP4 h\ns=-\nm=audio 1 RTP/AVP 0\r\na=sendonly"
        );
        assert_eq!(SessionDescription::parse(&s.to_bytes()).unwrap(), s);
    }

    #[test]
    fn removing_last_line_keeps_missing_final_newline() {
        let mut s: SessionDescription =
            "v=0\no=- 1 1 IN IP4 h\ns=-\nm=audio 1 RTP/AVP 0 8\na=rtpmap:8 PCMA/8000"
                .parse()
                .unwrap();
        s.set_formats(0, &["0"]).unwrap();
        assert_eq!(
            s.to_bytes(),
            b"v=0\no=- 1 1 IN IP4 h\ns=-\nm=audio 1 RTP/AVP 0"
        );
    }
}
