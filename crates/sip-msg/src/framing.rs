//! Stream framing for TCP/TLS (RFC 3261 §18.3) with RFC 5626 §4.4.1 CRLF keep-alives.
//! Datagram framing is [`Message::parse`] itself.

use bytes::{Buf, Bytes, BytesMut};
use memchr::memmem;

use crate::error::{FrameError, ParseError};
use crate::header::{HeaderName, known_id};
use crate::limits::Limits;
use crate::message::Message;
use crate::parse::{line_at, parse_len};

/// What a stream yields.
#[derive(Debug, Clone)]
pub enum Frame {
    /// A complete, well-framed message.
    Message(Box<Message>),
    /// A well-framed message that does not parse. The connection stays usable; for a request
    /// the transport answers with [`error_response`](crate::error_response).
    Malformed {
        /// The message octets.
        raw: Bytes,
        /// Why it failed.
        error: ParseError,
    },
    /// `CRLFCRLF` ping (RFC 5626 §4.4.1): answer with a `CRLF` pong.
    Ping,
    /// A lone `CRLF`: a pong, or a CRLF before a start line (RFC 3261 §7.5); nothing to do.
    Pong,
}

/// Splits a byte stream into SIP messages using the mandatory Content-Length.
///
/// Push received octets with [`StreamFramer::push`], then drain
/// [`StreamFramer::next_frame`] until it returns `Ok(None)`. An `Err` means framing is lost
/// and the connection must be closed; the framer then keeps returning that error.
#[derive(Debug, Clone)]
pub struct StreamFramer {
    buf: BytesMut,
    limits: Limits,
    failed: Option<FrameError>,
}

impl StreamFramer {
    /// A framer enforcing `limits` (message size bounds the header section too).
    pub fn new(limits: Limits) -> Self {
        Self {
            buf: BytesMut::new(),
            limits,
            failed: None,
        }
    }

    /// Appends received octets.
    pub fn push(&mut self, data: &[u8]) {
        if self.failed.is_none() {
            self.buf.extend_from_slice(data);
        }
    }

    /// Octets buffered but not yet framed.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next frame, `Ok(None)` when more octets are needed.
    ///
    /// A lone `CRLF` is reported as [`Frame::Pong`] as soon as it is seen with nothing after
    /// it, so a client waiting for a pong is not delayed; a ping split as `CRLF` + `CRLF`
    /// across reads is then seen as two pongs (harmless: RFC 5626 peers send it in one write).
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        match self.frame() {
            Err(e) => {
                self.failed = Some(e.clone());
                self.buf.clear();
                Err(e)
            }
            ok => ok,
        }
    }

    fn frame(&mut self) -> Result<Option<Frame>, FrameError> {
        let b = &self.buf[..];
        if b.starts_with(b"\r\n") {
            if b.starts_with(b"\r\n\r\n") {
                self.buf.advance(4);
                return Ok(Some(Frame::Ping));
            }
            if b.len() == 3 && b[2] == b'\r' {
                return Ok(None);
            }
            self.buf.advance(2);
            return Ok(Some(Frame::Pong));
        }
        let max = self.limits.max_message_size;
        let Some(head_end) = memmem::find(b, b"\r\n\r\n") else {
            if b.len() > max {
                return Err(FrameError::HeaderSectionTooLarge);
            }
            return Ok(None);
        };
        let body_start = head_end + 4;
        let cl = stream_content_length(&b[..head_end + 2])?;
        let total = body_start.saturating_add(cl);
        if total > max {
            return Err(FrameError::MessageTooLarge {
                size: total,
                limit: max,
            });
        }
        if b.len() < total {
            return Ok(None);
        }
        let raw = self.buf.split_to(total).freeze();
        Ok(Some(match Message::parse(raw.clone(), &self.limits) {
            Ok(m) => Frame::Message(Box::new(m)),
            Err(error) => Frame::Malformed { raw, error },
        }))
    }
}

/// Content-Length of a header section (start line included), continuation lines honoured.
fn stream_content_length(head: &[u8]) -> Result<usize, FrameError> {
    let cl_id = HeaderName::ContentLength.id();
    let mut found = None;
    let (_, mut pos) = line_at(head, 0);
    while pos < head.len() {
        let (le, mut nx) = line_at(head, pos);
        let line = &head[pos..le];
        let mut value_end = le;
        while nx < head.len() && matches!(head[nx], b' ' | b'\t') {
            let (cle, cnx) = line_at(head, nx);
            value_end = cle;
            nx = cnx;
        }
        if let Some(colon) = memchr::memchr(b':', line) {
            let name = line[..colon].trim_ascii_end();
            if known_id(name) == cl_id {
                if found.is_some() {
                    return Err(FrameError::InvalidContentLength);
                }
                let v = &head[pos + colon + 1..value_end];
                found = Some(parse_len(v).ok_or(FrameError::InvalidContentLength)?);
            }
        }
        pos = nx;
    }
    found.ok_or(FrameError::MissingContentLength)
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: &[u8] = b"OPTIONS sip:a SIP/2.0\r\nCSeq: 1 OPTIONS\r\nContent-Length: 3\r\n\r\nabc";

    #[test]
    fn frames_split_and_joined() {
        let mut f = StreamFramer::new(Limits::default());
        let mut stream = b"\r\n\r\n".to_vec();
        stream.extend_from_slice(M);
        stream.extend_from_slice(b"\r\n");
        stream.extend_from_slice(M);
        let mut frames = Vec::new();
        for chunk in stream.chunks(7) {
            f.push(chunk);
            while let Some(fr) = f.next_frame().unwrap() {
                frames.push(fr);
            }
        }
        assert!(matches!(frames[0], Frame::Ping));
        assert!(matches!(&frames[1], Frame::Message(m) if m.body() == b"abc"));
        assert!(matches!(frames[2], Frame::Pong));
        assert!(matches!(&frames[3], Frame::Message(m) if &m.to_bytes()[..] == M));
        assert_eq!(frames.len(), 4);
        assert_eq!(f.buffered(), 0);
    }

    #[test]
    fn unrecoverable() {
        let mut f = StreamFramer::new(Limits::default());
        f.push(b"OPTIONS sip:a SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n");
        assert_eq!(f.next_frame().err(), Some(FrameError::MissingContentLength));
        assert_eq!(f.next_frame().err(), Some(FrameError::MissingContentLength));
        let mut f = StreamFramer::new(Limits::default());
        f.push(b"OPTIONS sip:a SIP/2.0\r\nl: -999\r\n\r\n");
        assert_eq!(f.next_frame().err(), Some(FrameError::InvalidContentLength));
        let mut f = StreamFramer::new(Limits {
            max_message_size: 64,
            ..Limits::default()
        });
        f.push(&[b'a'; 65]);
        assert_eq!(
            f.next_frame().err(),
            Some(FrameError::HeaderSectionTooLarge)
        );
    }

    #[test]
    fn malformed_but_framed() {
        let mut f = StreamFramer::new(Limits::default());
        f.push(b"OPTIONS sip:a SIP/7.0\r\nl: 0\r\n\r\n");
        assert!(matches!(
            f.next_frame().unwrap(),
            Some(Frame::Malformed {
                error: ParseError::UnsupportedVersion,
                ..
            })
        ));
        f.push(b"\r\n");
        assert!(matches!(f.next_frame().unwrap(), Some(Frame::Pong)));
    }
}
