//! Errors, one enum per operation family: parsing ([`SdpError`]) and editing ([`EditError`]).
//!
//! Offer/answer errors live beside the state machine in
//! [`OfferAnswerError`](crate::OfferAnswerError).

use thiserror::Error;

/// Why a received SDP body could not be parsed.
///
/// Bad network input is never a panic: the SIP layer maps any `SdpError` to a
/// `488 Not Acceptable Here` (or `400` for a body that is not SDP at all) and may
/// put the [`Display`](std::fmt::Display) text in a `Warning` header.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SdpError {
    /// The body is empty (no `v=` line at all).
    #[error("empty session description")]
    Empty,
    /// The body is larger than [`Limits::max_bytes`](crate::Limits::max_bytes).
    #[error("session description is {size} bytes, the limit is {limit}")]
    TooLarge {
        /// Size of the body.
        size: usize,
        /// Configured limit.
        limit: usize,
    },
    /// The body has more lines than [`Limits::max_lines`](crate::Limits::max_lines).
    #[error("session description has more than {limit} lines")]
    TooManyLines {
        /// Configured limit.
        limit: usize,
    },
    /// The body has more `m=` sections than [`Limits::max_media`](crate::Limits::max_media).
    #[error("session description has more than {limit} media sections")]
    TooManyMedia {
        /// Configured limit.
        limit: usize,
    },
    /// A line required by RFC 8866 §5 (`o=` or `s=`) is missing from the session section.
    #[error("missing required {kind}= line")]
    MissingLine {
        /// The line type letter.
        kind: char,
    },
    /// One line is malformed.
    #[error("line {line}: {fault}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        fault: LineFault,
    },
}

/// What is wrong with one line (see [`SdpError::Line`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LineFault {
    /// Not `<letter>=<value>` (RFC 8866 §5: the type is one lower-case letter).
    #[error("expected <type>=<value> with a lower-case letter as type")]
    Malformed,
    /// RFC 8866 §5: the description starts with `v=`.
    #[error("the first line must be v=")]
    VersionNotFirst,
    /// RFC 8866 §5.1: only version 0 exists.
    #[error("v= line must be v=0")]
    UnsupportedVersion,
    /// An empty line before the last non-empty line.
    #[error("empty line inside the description")]
    EmptyLine,
    /// A session-only line (`v=`, `o=`, `s=`) repeated or inside a media section.
    #[error("{0}= line is repeated or misplaced")]
    Misplaced(char),
    /// An `o=`, `c=` or `m=` line is not valid UTF-8.
    #[error("{0}= line is not valid UTF-8")]
    NotUtf8(char),
    /// RFC 8866 §5.2: `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <address>`.
    #[error("o= line must have 6 fields")]
    OriginFields,
    /// RFC 8866 §5.2: the session version is a number.
    #[error("o= line has a non-numeric sess-version")]
    OriginVersion,
    /// RFC 8866 §5.7: `c=<nettype> <addrtype> <connection-address>`.
    #[error("c= line must have 3 fields")]
    ConnectionFields,
    /// RFC 8866 §5.7: `/<ttl>` and `/<number of addresses>` are numbers.
    #[error("c= line has an invalid TTL or address count")]
    ConnectionSuffix,
    /// RFC 8866 §5.14: `m=<media> <port>[/<number of ports>] <proto> <fmt> ...`.
    #[error("m= line must have a media type, a port and a proto")]
    MediaFields,
    /// RFC 8866 §5.14: the port is a number from 0 to 65535.
    #[error("m= line has a non-numeric port")]
    MediaPort,
    /// RFC 8866 §5.14: the number of ports is a positive number.
    #[error("m= line has a non-numeric port count")]
    MediaPortCount,
    /// A format of an `m=` line is not a token (RFC 8866 §9: `fmt = token`), e.g. holds a CR.
    #[error("m= line has a format that is not a token")]
    MediaFormat,
}

/// Why an edit of a [`SessionDescription`](crate::SessionDescription) was refused.
///
/// These are API misuse by the caller; the description is left unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EditError {
    /// The media index is out of range.
    #[error("no media section {index} (there are {count})")]
    NoSuchMedia {
        /// Requested index.
        index: usize,
        /// Number of media sections.
        count: usize,
    },
    /// There is no `c=` line at the requested level to rewrite.
    #[error("no c= line at this level")]
    NoConnection,
    /// A field value is empty or contains whitespace or a line break.
    #[error("invalid SDP field value {0:?}")]
    InvalidField(String),
    /// A format to keep is not on the `m=` line.
    #[error("format {0:?} is not on the m= line")]
    UnknownFormat(String),
    /// RFC 8866 §5.14: an `m=` line needs at least one format.
    #[error("an m= line needs at least one format")]
    NoFormats,
}
