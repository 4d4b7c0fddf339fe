//! Error types, one per operation (STYLE.md): parsing a message, decoding a header, parsing a
//! URI, framing a stream, editing a message.

use thiserror::Error;

/// Why [`Message::parse`](crate::Message::parse) refused some bytes.
///
/// Every variant maps to the response a UAS sends for a bad request, see
/// [`ParseError::status`]; a bad response is silently discarded (RFC 3261 §16.7, §18.1.2).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    /// Nothing but CRLFs (or nothing at all).
    #[error("empty message")]
    Empty,
    /// The message is larger than [`Limits::max_message_size`](crate::Limits).
    #[error("message too large ({size} > {limit} bytes)")]
    MessageTooLarge {
        /// Size seen.
        size: usize,
        /// Configured limit.
        limit: usize,
    },
    /// More header fields than [`Limits::max_headers`](crate::Limits).
    #[error("too many header fields (limit {limit})")]
    TooManyHeaders {
        /// Configured limit.
        limit: usize,
    },
    /// A header field (with its continuation lines) or the start line exceeds
    /// [`Limits::max_line_length`](crate::Limits).
    #[error("header line too long (limit {limit} bytes)")]
    LineTooLong {
        /// Configured limit.
        limit: usize,
    },
    /// The Request-URI exceeds [`Limits::max_uri_length`](crate::Limits) (414, RFC 3261 §21.4.12).
    #[error("Request-URI too long (limit {limit} bytes)")]
    UriTooLong {
        /// Configured limit.
        limit: usize,
    },
    /// The Request-Line is malformed (RFC 3261 §7.1).
    #[error("malformed Request-Line: {0}")]
    BadRequestLine(&'static str),
    /// The Status-Line is malformed or the code is outside 100..=699 (RFC 3261 §7.2).
    #[error("malformed Status-Line: {0}")]
    BadStatusLine(&'static str),
    /// A well-formed `SIP/x.y` version other than 2.0 (505, RFC 3261 §8.2.1... §21.5.6).
    #[error("SIP version not supported")]
    UnsupportedVersion,
    /// A header line without a colon or with a non-token name (RFC 3261 §7.3).
    #[error("malformed header line")]
    BadHeaderLine,
    /// A continuation line before any header field.
    #[error("continuation line before the first header")]
    BadContinuation,
    /// The start line or a header field does not end with CRLF (RFC 3261 §7: every line of
    /// the header section does). Accepting it would let an edit glue a new field onto it.
    #[error("line not terminated by CRLF")]
    UnterminatedLine,
    /// Content-Length is not a decimal number (RFC 3261 §20.14), e.g. negative.
    #[error("invalid Content-Length")]
    InvalidContentLength,
    /// Content-Length appears more than once (RFC 4475 §3.3.9).
    #[error("multiple Content-Length headers")]
    MultipleContentLength,
    /// Content-Length is larger than the octets left in the datagram (RFC 3261 §18.3).
    #[error("Content-Length exceeds message")]
    ContentLengthExceedsMessage,
}

impl ParseError {
    /// The status code a UAS answers a request with when it fails this way.
    pub fn status(&self) -> u16 {
        match self {
            Self::MessageTooLarge { .. } => 513,
            Self::UriTooLong { .. } => 414,
            Self::UnsupportedVersion => 505,
            _ => 400,
        }
    }
}

/// Why a typed header view could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HeaderError {
    /// The header is required here but absent.
    #[error("missing {0}")]
    Missing(&'static str),
    /// The header allows one value but several were present.
    #[error("multiple {0} headers")]
    Multiple(&'static str),
    /// The value is not UTF-8 (typed views decode UTF-8 text only; raw bytes stay available).
    #[error("{0} is not UTF-8")]
    NotUtf8(&'static str),
    /// The value does not match the header's grammar.
    #[error("malformed {header}: {what}")]
    Malformed {
        /// Canonical header name.
        header: &'static str,
        /// What was wrong.
        what: &'static str,
    },
}

/// Why a URI could not be parsed (RFC 3261 §19.1, RFC 3966, RFC 3986).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UriError {
    /// Empty input.
    #[error("empty URI")]
    Empty,
    /// No valid `scheme:` prefix.
    #[error("invalid or missing URI scheme")]
    BadScheme,
    /// Invalid character or escape in the user or password part.
    #[error("invalid user part")]
    BadUser,
    /// Invalid host (including an IPv6 address without brackets, RFC 5118 §4.2).
    #[error("invalid host")]
    BadHost,
    /// Port is not a number in 0..=65535.
    #[error("invalid port")]
    BadPort,
    /// Invalid URI parameter.
    #[error("invalid URI parameter")]
    BadParam,
    /// Invalid `?headers` part.
    #[error("invalid URI headers")]
    BadHeaders,
    /// Invalid telephone number (RFC 3966).
    #[error("invalid telephone number")]
    BadTel,
    /// Whitespace or another character not allowed in a URI.
    #[error("invalid character in URI")]
    BadChar,
}

/// A stream (TCP/TLS) framing failure: the connection cannot be resynchronised and must be
/// closed (RFC 3261 §18.3).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    /// The header section grew beyond the message size limit without an empty line.
    #[error("header section too large")]
    HeaderSectionTooLarge,
    /// Content-Length is mandatory on streams (RFC 3261 §18.3).
    #[error("missing Content-Length on a stream")]
    MissingContentLength,
    /// Content-Length is not a number or appears twice.
    #[error("invalid Content-Length on a stream")]
    InvalidContentLength,
    /// The announced message is larger than the limit.
    #[error("message too large ({size} > {limit} bytes)")]
    MessageTooLarge {
        /// Announced size.
        size: usize,
        /// Configured limit.
        limit: usize,
    },
}

/// A caller's misuse of the edit and builder API (never caused by network input).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EditError {
    /// Header values and reason phrases must not contain CR or LF.
    #[error("value contains CR or LF")]
    LineBreak,
    /// Header names must be tokens.
    #[error("header name is not a token")]
    BadName,
    /// Methods must be tokens.
    #[error("method is not a token")]
    BadMethod,
    /// Status codes are 100..=699.
    #[error("status code out of range")]
    BadStatus,
    /// The operation needs a request (e.g. setting the Request-URI).
    #[error("not a request")]
    NotARequest,
    /// Index or header not found.
    #[error("no such header")]
    NoSuchHeader,
    /// The header to edit is not parseable.
    #[error(transparent)]
    Header(#[from] HeaderError),
}
