//! Tandem's lossless SIP message layer (RFC 3261 §7, §18, §19, §20, §25).
//!
//! - [`Message::parse`] records offsets only (no allocation for up to
//!   [`INLINE_HEADERS`](message::INLINE_HEADERS) header fields); an unedited message
//!   serialises to the received octets, an edited one re-prints only the changed lines.
//! - Typed header views ([`headers`]) are decoded lazily, on request.
//! - URIs ([`Uri`]): sip/sips, tel, and any other absolute URI kept as text.
//! - [`check_datagram`] / [`check_message`] give the [`Verdict`] a UAS applies at the message
//!   layer (400 with a reason naming the fault, 505, silent drop for bad responses), and
//!   [`error_response`] builds the §8.2.6 answer.
//! - [`StreamFramer`] frames TCP/TLS streams by Content-Length (§18.3) and reports RFC 5626
//!   keep-alives.
//!
//! The crate is sans-IO: no runtime, no clock, no randomness (callers pass To tags).
//!
//! ```
//! use bytes::Bytes;
//! use tandem_sip_msg::{HeaderName, Limits, Message, Uri, headers::{CSeq, Via}};
//!
//! let raw = Bytes::from_static(
//!     b"OPTIONS sip:bob@example.com SIP/2.0\r\n\
//!       v: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds\r\n\
//!       X-Unknown:  kept   as is\r\n\
//!       CSeq: 0042 OPTIONS\r\n\
//!       Content-Length: 0\r\n\r\n",
//! );
//! let mut msg = Message::parse(raw.clone(), &Limits::default())?;
//! assert_eq!(msg.to_bytes(), raw); // lossless
//!
//! let cseq: CSeq = msg.typed_required()?; // decoded on request
//! assert_eq!(cseq.seq, 42);
//! let via: Via = msg.typed_first()?.expect("a Via");
//! assert_eq!(via.branch(), Some("z9hG4bK776asdhds"));
//!
//! msg.set_top_via_param("received", Some("192.0.2.7"))?;
//! msg.set_request_uri(&Uri::parse("sip:bob@192.0.2.9:5070")?)?;
//! msg.push_header(&HeaderName::MaxForwards, "70")?;
//! let out = msg.to_bytes();
//! assert!(out.starts_with(b"OPTIONS sip:bob@192.0.2.9:5070 SIP/2.0\r\n"));
//! assert!(out.windows(26).any(|w| w == b"X-Unknown:  kept   as is\r\n"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

mod check;
mod edit;
pub mod error;
mod framing;
pub mod header;
pub mod headers;
mod lex;
pub mod limits;
pub mod message;
pub mod method;
mod parse;
pub mod uri;

pub use check::{Verdict, check_datagram, check_message, error_response};
pub use error::{EditError, FrameError, HeaderError, ParseError, UriError};
pub use framing::{Frame, StreamFramer};
pub use header::HeaderName;
pub use headers::TypedHeader;
pub use lex::Param;
pub use limits::Limits;
pub use message::{HeaderField, Message, RequestLine, StartLine, StatusLine, TypedValues};
pub use method::Method;
pub use uri::{Host, Scheme, SipUri, TelUri, Uri};
