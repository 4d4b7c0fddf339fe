//! The lossless message: start line + header spans over the received bytes + body.
//!
//! Parsing (RFC 3261 §7) records offsets only: no header is decoded and nothing is allocated
//! while a message has at most [`INLINE_HEADERS`] header fields. Serialising an unedited
//! message returns the received octets; an edited one copies every untouched line as its
//! original byte slice (see the `set_*`, `push_header`, `replace_header` methods).

use std::marker::PhantomData;
use std::str;

use bytes::Bytes;

use crate::error::{HeaderError, ParseError, UriError};
use crate::header::{HeaderName, KNOWN, OTHER_ID};
use crate::headers::TypedHeader;
use crate::lex::{Commas, split_commas, trim_lws};
use crate::limits::Limits;
use crate::method::Method;
use crate::uri::Uri;

/// Header fields stored inline before spilling to the heap.
pub const INLINE_HEADERS: usize = 40;

/// A parsed SIP request or response.
#[derive(Debug, Clone)]
pub struct Message {
    pub(crate) base: Bytes,
    pub(crate) extra: Vec<u8>,
    pub(crate) start: StartSpan,
    pub(crate) headers: Spans,
    pub(crate) blank: Seg,
    pub(crate) body: Body,
    /// Message range in `base` (leading CRLFs and trailing datagram octets excluded).
    pub(crate) range: (u32, u32),
    pub(crate) edited: bool,
}

/// The first line of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartLine<'a> {
    /// `Method SP Request-URI SP SIP-Version` (RFC 3261 §7.1).
    Request(RequestLine<'a>),
    /// `SIP-Version SP Status-Code SP Reason-Phrase` (RFC 3261 §7.2).
    Response(StatusLine<'a>),
}

/// A Request-Line, as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLine<'a> {
    /// Method token (case-sensitive).
    pub method: &'a str,
    /// Request-URI text.
    pub uri: &'a str,
    /// `SIP/2.0` (any case).
    pub version: &'a str,
}

/// A Status-Line, as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusLine<'a> {
    /// `SIP/2.0`.
    pub version: &'a str,
    /// 100..=699.
    pub code: u16,
    /// Reason phrase octets (UTF-8 per RFC 3261 §25.1, may be empty).
    pub reason: &'a [u8],
}

/// One header field as it appears in the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderField<'a> {
    /// Name as written (`v`, `VIA`, `X-Foo`).
    pub name: &'a [u8],
    /// Value from the first non-blank octet after the colon to the end of the last
    /// continuation line (folding kept).
    pub value: &'a [u8],
    /// The whole field including its line terminator(s).
    pub line: &'a [u8],
    pub(crate) id: u8,
}

impl<'a> RequestLine<'a> {
    /// The method (case-sensitive; unknown tokens become [`Method::Other`]).
    pub fn method(&self) -> Method {
        Method::from_token(self.method).unwrap_or_else(|| Method::Other(self.method.to_owned()))
    }

    /// Parses the Request-URI.
    pub fn uri(&self) -> Result<Uri, UriError> {
        Uri::parse(self.uri)
    }
}

impl<'a> StatusLine<'a> {
    /// The reason phrase as text, if UTF-8.
    pub fn reason_str(&self) -> Option<&'a str> {
        str::from_utf8(self.reason).ok()
    }
}

impl<'a> HeaderField<'a> {
    /// The header name, normalised (compact and long forms are equal).
    pub fn header_name(&self) -> HeaderName {
        match self.id {
            OTHER_ID => HeaderName::Other(String::from_utf8_lossy(self.name).into_owned()),
            id => KNOWN[usize::from(id)].0.clone(),
        }
    }

    /// True when this field is `name` (case-insensitive, compact = long).
    pub fn is(&self, name: &HeaderName) -> bool {
        match name.id() {
            Some(id) => id == self.id,
            None => self.id == OTHER_ID && name.matches(self.name),
        }
    }

    /// The value as UTF-8 text.
    pub fn value_str(&self) -> Option<&'a str> {
        str::from_utf8(self.value).ok()
    }
}

impl Message {
    /// Parses one message from a datagram (RFC 3261 §18.3): leading CRLFs are skipped (§7.5),
    /// octets after Content-Length are ignored, a missing Content-Length makes the rest of
    /// the datagram the body, and a Content-Length beyond the datagram is an error.
    ///
    /// Allocation-free unless the message has more than [`INLINE_HEADERS`] header fields.
    pub fn parse(bytes: Bytes, limits: &Limits) -> Result<Self, ParseError> {
        crate::parse::parse_impl(bytes, limits)
    }

    /// The start line.
    pub fn start_line(&self) -> StartLine<'_> {
        let s = &self.start;
        let text = |r: (u32, u32)| str::from_utf8(self.slice(s.src, r)).unwrap_or("");
        match s.code {
            0 => StartLine::Request(RequestLine {
                method: text(s.a),
                uri: text(s.b),
                version: text(s.c),
            }),
            code => StartLine::Response(StatusLine {
                version: text(s.a),
                code,
                reason: self.slice(s.src, s.c),
            }),
        }
    }

    /// True for a request.
    pub fn is_request(&self) -> bool {
        self.start.code == 0
    }

    /// The Request-Line of a request.
    pub fn request_line(&self) -> Option<RequestLine<'_>> {
        match self.start_line() {
            StartLine::Request(r) => Some(r),
            StartLine::Response(_) => None,
        }
    }

    /// The Status-Line of a response.
    pub fn status_line(&self) -> Option<StatusLine<'_>> {
        match self.start_line() {
            StartLine::Response(s) => Some(s),
            StartLine::Request(_) => None,
        }
    }

    /// The method of a request.
    pub fn method(&self) -> Option<Method> {
        self.request_line().map(|r| r.method())
    }

    /// The status code of a response.
    pub fn status(&self) -> Option<u16> {
        (self.start.code != 0).then_some(self.start.code)
    }

    /// All header fields in order.
    pub fn headers(&self) -> impl Iterator<Item = HeaderField<'_>> {
        self.headers.as_slice().iter().map(|s| self.field(s))
    }

    /// Number of header fields (lines, not comma-separated values).
    pub fn header_count(&self) -> usize {
        self.headers.as_slice().len()
    }

    /// Raw values of every field named `name`, in order.
    pub fn values<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers().filter(move |h| h.is(name)).map(|h| h.value)
    }

    /// Raw value of the first field named `name`.
    pub fn value<'a>(&'a self, name: &'a HeaderName) -> Option<&'a [u8]> {
        self.values(name).next()
    }

    /// The single value of a header that allows one (`Err(Multiple)` when there are more),
    /// decoded on request.
    pub fn typed<'a, T: TypedHeader<'a>>(&'a self) -> Result<Option<T>, HeaderError> {
        // Same result as collecting `typed_all` (the first decode error wins over `Multiple`),
        // without the vector: keep the first value, count the rest.
        let mut first = None;
        let mut more = false;
        for v in self.typed_values::<T>() {
            let v = v?;
            if first.is_none() {
                first = Some(v);
            } else {
                more = true;
            }
        }
        if more {
            return Err(HeaderError::Multiple(T::NAME.static_name()));
        }
        Ok(first)
    }

    /// Like [`Message::typed`] but `Err(Missing)` when absent.
    pub fn typed_required<'a, T: TypedHeader<'a>>(&'a self) -> Result<T, HeaderError> {
        self.typed::<T>()?
            .ok_or_else(|| HeaderError::Missing(T::NAME.static_name()))
    }

    /// Every value, across fields and comma-separated lists (RFC 3261 §7.3.1).
    pub fn typed_all<'a, T: TypedHeader<'a>>(&'a self) -> Result<Vec<T>, HeaderError> {
        let mut out = Vec::new();
        for v in self.typed_values::<T>() {
            out.push(v?);
        }
        Ok(out)
    }

    /// The first value (e.g. the top Via), decoding nothing else.
    pub fn typed_first<'a, T: TypedHeader<'a>>(&'a self) -> Result<Option<T>, HeaderError> {
        self.typed_values::<T>().next().transpose()
    }

    /// Lazily decoded values of `T`, in order.
    pub fn typed_values<'a, T: TypedHeader<'a>>(&'a self) -> TypedValues<'a, T> {
        TypedValues {
            msg: self,
            idx: 0,
            id: T::NAME.id().unwrap_or(OTHER_ID),
            pending: None,
            _t: PhantomData,
        }
    }

    /// The body octets.
    pub fn body(&self) -> &[u8] {
        match &self.body {
            Body::Base(s, e) => self.base.get(*s as usize..*e as usize).unwrap_or(&[]),
            Body::Owned(b) => b,
        }
    }

    /// True once the message has been edited.
    pub fn is_edited(&self) -> bool {
        self.edited
    }

    /// Serialises the message. Unedited: the received octets (a cheap slice of the input).
    pub fn to_bytes(&self) -> Bytes {
        if !self.edited {
            return self
                .base
                .slice(self.range.0 as usize..self.range.1 as usize);
        }
        let mut v = Vec::with_capacity(self.encoded_len());
        self.write_to(&mut v);
        Bytes::from(v)
    }

    /// Appends the serialised message to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        if !self.edited {
            out.extend_from_slice(self.slice(Src::Base, self.range));
            return;
        }
        out.extend_from_slice(self.slice(self.start.src, self.start.line));
        for h in self.headers.as_slice() {
            out.extend_from_slice(self.slice(h.src, h.line));
        }
        if self.blank.start == self.blank.end {
            out.extend_from_slice(b"\r\n");
        } else {
            out.extend_from_slice(self.slice(self.blank.src, (self.blank.start, self.blank.end)));
        }
        out.extend_from_slice(self.body());
    }

    /// The length [`Self::to_bytes`] would produce, without building it (e.g. to decide on a
    /// transport by size, RFC 3261 §18.1.1).
    pub fn encoded_len(&self) -> usize {
        let len = |r: (u32, u32)| r.1.saturating_sub(r.0) as usize;
        if !self.edited {
            return len(self.range);
        }
        let blank = if self.blank.start == self.blank.end {
            2
        } else {
            len((self.blank.start, self.blank.end))
        };
        len(self.start.line)
            + self
                .headers
                .as_slice()
                .iter()
                .map(|h| len(h.line))
                .sum::<usize>()
            + blank
            + self.body().len()
    }

    pub(crate) fn slice(&self, src: Src, r: (u32, u32)) -> &[u8] {
        let buf: &[u8] = match src {
            Src::Base => &self.base,
            Src::Extra => &self.extra,
        };
        buf.get(r.0 as usize..r.1 as usize).unwrap_or(&[])
    }

    pub(crate) fn field(&self, s: &HeaderSpan) -> HeaderField<'_> {
        HeaderField {
            name: self.slice(s.src, (s.line.0, s.name_end)),
            value: self.slice(s.src, s.value),
            line: self.slice(s.src, s.line),
            id: s.id,
        }
    }
}

/// Iterator of [`Message::typed_values`]: decodes one value per step.
#[derive(Debug)]
pub struct TypedValues<'a, T> {
    msg: &'a Message,
    idx: usize,
    id: u8,
    pending: Option<Commas<'a>>,
    _t: PhantomData<fn() -> T>,
}

impl<'a, T: TypedHeader<'a>> Iterator for TypedValues<'a, T> {
    type Item = Result<T, HeaderError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(p) = &mut self.pending {
                if let Some(v) = p.next() {
                    return Some(T::decode(v));
                }
                self.pending = None;
            }
            let s = *self.msg.headers.as_slice().get(self.idx)?;
            self.idx += 1;
            if s.id != self.id {
                continue;
            }
            match str::from_utf8(self.msg.slice(s.src, s.value)) {
                Err(_) => return Some(Err(HeaderError::NotUtf8(T::NAME.static_name()))),
                Ok(v) if T::LIST => {
                    if !(T::ALLOW_EMPTY && trim_lws(v).is_empty()) {
                        self.pending = Some(split_commas(v));
                    }
                }
                Ok(v) => return Some(T::decode(trim_lws(v))),
            }
        }
    }
}

// ---- internal representation ----

/// Which buffer a span points into: the received bytes or the edit buffer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Src {
    #[default]
    Base,
    Extra,
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Seg {
    pub(crate) src: Src,
    pub(crate) start: u32,
    pub(crate) end: u32,
}

/// Start line offsets: request = (method, uri, version), response = (version, -, reason).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct StartSpan {
    pub(crate) src: Src,
    /// Whole line including its terminator.
    pub(crate) line: (u32, u32),
    pub(crate) a: (u32, u32),
    pub(crate) b: (u32, u32),
    pub(crate) c: (u32, u32),
    /// 0 for a request, else the status code.
    pub(crate) code: u16,
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct HeaderSpan {
    pub(crate) src: Src,
    pub(crate) id: u8,
    /// Whole field including terminators of all its lines.
    pub(crate) line: (u32, u32),
    pub(crate) name_end: u32,
    pub(crate) value: (u32, u32),
    /// Fills what would be padding, so an all-default span is all zero octets and
    /// [`Spans::new`] compiles to a `memset` in place instead of a copy of a stack temporary.
    pub(crate) _pad: u16,
}

#[derive(Debug, Clone)]
pub(crate) enum Body {
    Base(u32, u32),
    Owned(Bytes),
}

/// Header spans: inline up to [`INLINE_HEADERS`], then on the heap.
#[derive(Debug, Clone)]
#[allow(
    clippy::large_enum_variant,
    reason = "the inline variant is the point: parsing must not allocate"
)]
pub(crate) enum Spans {
    Inline {
        len: usize,
        arr: [HeaderSpan; INLINE_HEADERS],
    },
    Heap(Vec<HeaderSpan>),
}

impl Spans {
    #[inline]
    pub(crate) fn new() -> Self {
        Self::Inline {
            len: 0,
            arr: [HeaderSpan::default(); INLINE_HEADERS],
        }
    }

    #[inline]
    pub(crate) fn as_slice(&self) -> &[HeaderSpan] {
        match self {
            Self::Inline { len, arr } => &arr[..*len],
            Self::Heap(v) => v,
        }
    }

    #[inline]
    pub(crate) fn last_mut(&mut self) -> Option<&mut HeaderSpan> {
        match self {
            Self::Inline { len, arr } => len.checked_sub(1).map(|i| &mut arr[i]),
            Self::Heap(v) => v.last_mut(),
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, s: HeaderSpan) {
        match self {
            Self::Inline { len, arr } if *len < INLINE_HEADERS => {
                arr[*len] = s;
                *len += 1;
            }
            _ => self.vec_mut().push(s),
        }
    }

    /// Moves the spans to the heap (edits) and returns the vector.
    pub(crate) fn vec_mut(&mut self) -> &mut Vec<HeaderSpan> {
        if let Self::Inline { len, arr } = self {
            let v = arr[..*len].to_vec();
            *self = Self::Heap(v);
        }
        match self {
            Self::Heap(v) => v,
            Self::Inline { .. } => unreachable!("converted above"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &[u8]) -> Result<Message, ParseError> {
        Message::parse(Bytes::copy_from_slice(s), &Limits::default())
    }

    const INV: &[u8] = b"INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nv: SIP/2.0/TCP x\r\nX-Fold: a\r\n b\r\nl: 4\r\n\r\nbodyjunk";

    #[test]
    fn parses_and_prints_exactly() {
        let m = parse(INV).unwrap();
        assert!(m.is_request());
        assert_eq!(m.request_line().unwrap().uri, "sip:bob@example.com");
        assert_eq!(m.header_count(), 4);
        assert_eq!(m.values(&HeaderName::Via).count(), 2);
        assert_eq!(m.value(&"x-fold".into()), Some(&b"a\r\n b"[..]));
        assert_eq!(m.body(), b"body");
        assert_eq!(&m.to_bytes()[..], &INV[..INV.len() - 4]);
    }

    #[test]
    fn start_lines() {
        assert_eq!(
            parse(b"SIP/2.0 100 \r\nl:0\r\n\r\n")
                .unwrap()
                .status_line()
                .unwrap()
                .reason,
            b""
        );
        assert_eq!(parse(b"SIP/2.0 180\r\n\r\n").unwrap().status(), Some(180));
        assert!(matches!(
            parse(b"SIP/2.0 4294967301 x\r\n\r\n"),
            Err(ParseError::BadStatusLine(_))
        ));
        assert!(matches!(
            parse(b"SIP/2.0 099 x\r\n\r\n"),
            Err(ParseError::BadStatusLine(_))
        ));
        assert_eq!(
            parse(b"OPTIONS sip:a SIP/7.0\r\n\r\n").err(),
            Some(ParseError::UnsupportedVersion)
        );
        assert!(matches!(
            parse(b"OPTIONS sip:a SIP/2.0  \r\n\r\n"),
            Err(ParseError::BadRequestLine(_))
        ));
        assert!(matches!(
            parse(b"OPTIONS  sip:a  SIP/2.0\r\n\r\n"),
            Err(ParseError::BadRequestLine(_))
        ));
        assert!(matches!(
            parse(b"OPTIONS sip:a; lr SIP/2.0\r\n\r\n"),
            Err(ParseError::BadRequestLine(_))
        ));
        assert!(matches!(
            parse(b"OPTIONS sip:a HTTP/1.1\r\n\r\n"),
            Err(ParseError::BadRequestLine(_))
        ));
        assert_eq!(parse(b"\r\n\r\n").err(), Some(ParseError::Empty));
    }

    #[test]
    fn content_length_rules() {
        let e = |s: &[u8]| parse(s).err();
        assert_eq!(
            e(b"OPTIONS sip:a SIP/2.0\r\nl: 9\r\n\r\nab"),
            Some(ParseError::ContentLengthExceedsMessage)
        );
        assert_eq!(
            e(b"OPTIONS sip:a SIP/2.0\r\nl: -9\r\n\r\nab"),
            Some(ParseError::InvalidContentLength)
        );
        assert_eq!(
            e(b"OPTIONS sip:a SIP/2.0\r\nl: 1\r\nContent-Length: 1\r\n\r\nab"),
            Some(ParseError::MultipleContentLength)
        );
        assert_eq!(
            parse(b"OPTIONS sip:a SIP/2.0\r\n\r\nab").unwrap().body(),
            b"ab"
        );
    }

    #[test]
    fn limits() {
        let l = Limits {
            max_headers: 2,
            max_line_length: 30,
            max_uri_length: 5,
            max_message_size: 100,
        };
        let p = |s: &[u8]| Message::parse(Bytes::copy_from_slice(s), &l).err();
        assert_eq!(
            p(b"A sip:a SIP/2.0\r\na: 1\r\nb: 2\r\nc: 3\r\n\r\n"),
            Some(ParseError::TooManyHeaders { limit: 2 })
        );
        assert_eq!(
            p(b"A sip:a SIP/2.0\r\na: 1\r\n 2222222222222222222222222222\r\n\r\n"),
            Some(ParseError::LineTooLong { limit: 30 })
        );
        assert_eq!(
            p(b"A sip:abcdef SIP/2.0\r\n\r\n"),
            Some(ParseError::UriTooLong { limit: 5 })
        );
        assert!(matches!(
            p(&[b'x'; 101]),
            Some(ParseError::MessageTooLarge { .. })
        ));
    }

    #[test]
    fn many_headers_spill() {
        let mut s = b"OPTIONS sip:a SIP/2.0\r\n".to_vec();
        for i in 0..100 {
            s.extend_from_slice(format!("X-H{i}: {i}\r\n").as_bytes());
        }
        s.extend_from_slice(b"\r\n");
        let m = parse(&s).unwrap();
        assert_eq!(m.header_count(), 100);
        assert_eq!(&m.to_bytes()[..], &s[..]);
    }

    #[test]
    fn bad_header_lines() {
        assert_eq!(
            parse(b"A sip:a SIP/2.0\r\nnocolon\r\n\r\n").err(),
            Some(ParseError::BadHeaderLine)
        );
        assert_eq!(
            parse(b"A sip:a SIP/2.0\r\n cont\r\n\r\n").err(),
            Some(ParseError::BadContinuation)
        );
        assert_eq!(
            parse(b"A sip:a SIP/2.0\r\nBad Name: x\r\n\r\n").err(),
            Some(ParseError::BadHeaderLine)
        );
    }
}
