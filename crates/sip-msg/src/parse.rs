//! The allocation-free parser behind [`Message::parse`](crate::Message::parse): RFC 3261
//! §7 message syntax, §7.5 leading CRLFs, §18.3 datagram framing by Content-Length.

use std::str;

use bytes::Bytes;
use memchr::memchr;

use crate::error::ParseError;
use crate::header::{HeaderName, OTHER_ID, known_id};
use crate::lex::{is_token, trim_lws};
use crate::limits::Limits;
use crate::message::{Body, HeaderSpan, Message, Seg, Spans, Src, StartSpan};

pub(crate) fn parse_impl(base: Bytes, limits: &Limits) -> Result<Message, ParseError> {
    let data: &[u8] = &base;
    let len = data.len();
    if len > limits.max_message_size || len > u32::MAX as usize {
        return Err(ParseError::MessageTooLarge {
            size: len,
            limit: limits.max_message_size,
        });
    }
    let mut pos = 0;
    while data.get(pos..pos + 2) == Some(b"\r\n") {
        pos += 2;
    }
    if pos >= len {
        return Err(ParseError::Empty);
    }
    let msg_start = pos;
    let (le, nx) = line_at(data, pos);
    if le - pos > limits.max_line_length {
        return Err(ParseError::LineTooLong {
            limit: limits.max_line_length,
        });
    }
    if nx == le {
        return Err(ParseError::UnterminatedLine);
    }
    let start = parse_start_line(data, pos, le, nx, limits)?;
    pos = nx;
    // The message is built up front and the spans pushed into it in place: the inline span
    // array is ~1 KB, and building it in a local would copy it into the message afterwards.
    let mut msg = Message {
        base,
        extra: Vec::new(),
        start,
        headers: Spans::new(),
        blank: Seg::default(),
        body: Body::Base(0, 0),
        range: (u32_of(msg_start), 0),
        edited: false,
    };
    let data: &[u8] = &msg.base;
    let headers = &mut msg.headers;
    let mut count = 0usize;
    let blank;
    loop {
        if pos >= len {
            // No empty line (e.g. RFC 4475 baddn.dat): the datagram ends the header section.
            blank = (len, len);
            break;
        }
        let (le, nx) = line_at(data, pos);
        if le == pos {
            blank = (pos, nx);
            break;
        }
        if nx == le {
            return Err(ParseError::UnterminatedLine);
        }
        if matches!(data[pos], b' ' | b'\t') {
            let last = headers.last_mut().ok_or(ParseError::BadContinuation)?;
            last.value.1 = u32_of(le);
            last.line.1 = u32_of(nx);
            if nx - last.line.0 as usize > limits.max_line_length {
                return Err(ParseError::LineTooLong {
                    limit: limits.max_line_length,
                });
            }
        } else {
            if le - pos > limits.max_line_length {
                return Err(ParseError::LineTooLong {
                    limit: limits.max_line_length,
                });
            }
            count += 1;
            if count > limits.max_headers {
                return Err(ParseError::TooManyHeaders {
                    limit: limits.max_headers,
                });
            }
            let line = &data[pos..le];
            let colon = memchr(b':', line).ok_or(ParseError::BadHeaderLine)?;
            let mut name_end = colon;
            while name_end > 0 && matches!(line[name_end - 1], b' ' | b'\t') {
                name_end -= 1;
            }
            let name = &line[..name_end];
            // Every known name is a token, so only an unknown one needs the check.
            let id = match known_id(name) {
                Some(id) => id,
                None if !name.is_empty() && name.iter().all(|&c| is_token(c)) => OTHER_ID,
                None => return Err(ParseError::BadHeaderLine),
            };
            let mut vs = colon + 1;
            while vs < line.len() && matches!(line[vs], b' ' | b'\t') {
                vs += 1;
            }
            headers.push(HeaderSpan {
                src: Src::Base,
                id,
                line: (u32_of(pos), u32_of(nx)),
                name_end: u32_of(pos + name_end),
                value: (u32_of(pos + vs), u32_of(le)),
                _pad: 0,
            });
        }
        pos = nx;
    }
    let body_start = blank.1;
    let cl = content_length(data, headers.as_slice())?;
    let body_end = match cl {
        Some(n) => body_start
            .checked_add(n)
            .filter(|&e| e <= len)
            .ok_or(ParseError::ContentLengthExceedsMessage)?,
        None => len,
    };
    msg.blank = Seg {
        src: Src::Base,
        start: u32_of(blank.0),
        end: u32_of(blank.1),
    };
    msg.body = Body::Base(u32_of(body_start), u32_of(body_end));
    msg.range.1 = u32_of(body_end);
    Ok(msg)
}

/// Offsets fit in u32: the message size was checked against `u32::MAX` first.
fn u32_of(x: usize) -> u32 {
    u32::try_from(x).unwrap_or(u32::MAX)
}

/// End of the line content (CR of CRLF or LF excluded) and start of the next line.
pub(crate) fn line_at(data: &[u8], pos: usize) -> (usize, usize) {
    match memchr(b'\n', &data[pos..]) {
        Some(i) => {
            let nl = pos + i;
            let le = if nl > pos && data[nl - 1] == b'\r' {
                nl - 1
            } else {
                nl
            };
            (le, nl + 1)
        }
        None => (data.len(), data.len()),
    }
}

/// Content-Length of the header section, allocation-free (RFC 3261 §20.14).
pub(crate) fn content_length(
    data: &[u8],
    spans: &[HeaderSpan],
) -> Result<Option<usize>, ParseError> {
    let cl_id = HeaderName::ContentLength.id();
    let mut found = None;
    for s in spans.iter().filter(|s| Some(s.id) == cl_id) {
        if found.is_some() {
            return Err(ParseError::MultipleContentLength);
        }
        let v = data
            .get(s.value.0 as usize..s.value.1 as usize)
            .unwrap_or(&[]);
        found = Some(parse_len(v).ok_or(ParseError::InvalidContentLength)?);
    }
    Ok(found)
}

/// A decimal length with surrounding LWS; `None` if malformed or absurdly large.
pub(crate) fn parse_len(v: &[u8]) -> Option<usize> {
    let v = trim_lws(str::from_utf8(v).ok()?);
    if v.is_empty() || v.len() > 10 || !v.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

fn parse_start_line(
    data: &[u8],
    pos: usize,
    le: usize,
    nx: usize,
    limits: &Limits,
) -> Result<StartSpan, ParseError> {
    let line = &data[pos..le];
    let r = |a: usize, b: usize| (u32_of(pos + a), u32_of(pos + b));
    let mut span = StartSpan {
        src: Src::Base,
        line: (u32_of(pos), u32_of(nx)),
        ..StartSpan::default()
    };
    if line.len() >= 4 && line[..4].eq_ignore_ascii_case(b"SIP/") {
        let bad = ParseError::BadStatusLine;
        let sp1 = memchr(b' ', line).ok_or(bad("missing status code"))?;
        check_version(&line[..sp1], bad("invalid version"))?;
        let rest = &line[sp1 + 1..];
        let code_end = memchr(b' ', rest).unwrap_or(rest.len());
        let code = &rest[..code_end];
        if code.len() != 3 || !code.iter().all(u8::is_ascii_digit) {
            return Err(bad("status code is not three digits"));
        }
        let code = code
            .iter()
            .fold(0u16, |acc, &c| acc * 10 + u16::from(c - b'0'));
        if !(100..=699).contains(&code) {
            return Err(bad("status code out of range"));
        }
        let reason_start = (sp1 + 1 + code_end + 1).min(line.len());
        span.a = r(0, sp1);
        span.b = r(sp1 + 1, sp1 + 1 + code_end);
        span.c = r(reason_start, line.len());
        span.code = code;
        return Ok(span);
    }
    let bad = ParseError::BadRequestLine;
    let sp1 = memchr(b' ', line).ok_or(bad("missing Request-URI"))?;
    let sp2 = memchr::memrchr(b' ', line).unwrap_or(sp1);
    if sp2 == sp1 {
        return Err(bad("missing SIP version"));
    }
    let method = &line[..sp1];
    if method.is_empty() || !method.iter().all(|&c| is_token(c)) {
        return Err(bad("method is not a token"));
    }
    let uri = &line[sp1 + 1..sp2];
    let version = &line[sp2 + 1..];
    if version.is_empty() {
        return Err(bad("trailing whitespace"));
    }
    if uri.is_empty() || !uri.iter().all(u8::is_ascii_graphic) {
        return Err(bad("whitespace or invalid octet in Request-URI"));
    }
    if uri.len() > limits.max_uri_length {
        return Err(ParseError::UriTooLong {
            limit: limits.max_uri_length,
        });
    }
    check_version(version, bad("invalid version"))?;
    span.a = r(0, sp1);
    span.b = r(sp1 + 1, sp2);
    span.c = r(sp2 + 1, line.len());
    Ok(span)
}

/// `SIP/2.0` passes; another `SIP/x.y` is 505 (RFC 3261 §21.5.6); anything else `bad`.
fn check_version(v: &[u8], bad: ParseError) -> Result<(), ParseError> {
    if v.eq_ignore_ascii_case(b"SIP/2.0") {
        return Ok(());
    }
    let Some(num) = v
        .get(..4)
        .filter(|p| p.eq_ignore_ascii_case(b"SIP/"))
        .and_then(|_| v.get(4..))
    else {
        return Err(bad);
    };
    let mut parts = num.split(|&c| c == b'.');
    let ok =
        |p: Option<&[u8]>| p.is_some_and(|p| !p.is_empty() && p.iter().all(u8::is_ascii_digit));
    if ok(parts.next()) && ok(parts.next()) && parts.next().is_none() {
        Err(ParseError::UnsupportedVersion)
    } else {
        Err(bad)
    }
}
