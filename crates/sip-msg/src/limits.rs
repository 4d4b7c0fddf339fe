//! Resource limits checked before any allocation.

/// Limits applied while parsing and framing. Each has its own error variant
/// ([`ParseError`](crate::ParseError), [`FrameError`](crate::FrameError)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest message (start line + headers + body) accepted. Default 65 535 octets (the
    /// largest UDP payload; RFC 3261 §18.1.1).
    pub max_message_size: usize,
    /// Most header fields (lines, not comma-separated values). Default 256.
    pub max_headers: usize,
    /// Longest start line or header field including its continuation lines. Default 8 192.
    pub max_line_length: usize,
    /// Longest Request-URI. Default 4 096 (a longer one gets 414).
    pub max_uri_length: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_size: 65_535,
            max_headers: 256,
            max_line_length: 8_192,
            max_uri_length: 4_096,
        }
    }
}
