//! Lossless SDP (RFC 8866, formerly RFC 4566) and RFC 3264 offer/answer for Tandem.
//!
//! A B2BUA relays session descriptions between two legs and must keep them byte-exact except
//! for the few fields it owns: the `o=` line, `c=` addresses and `m=` ports. General SDP
//! libraries reorder lines or drop what they do not know; this crate keeps every line and
//! every line ending as received, offers typed read access to what Tandem needs, and edits
//! only the bytes an edit is about.
//!
//! - [`SessionDescription`]: parse ([`SessionDescription::parse`]), read (origin,
//!   connection, [`Media`] sections with codecs and directions), edit (`o=` version and
//!   origin, `c=` addresses, `m=` ports and formats, direction attributes), serialize
//!   ([`SessionDescription::to_bytes`]).
//! - [`OfferAnswer`]: the sans-IO RFC 3264 state machine of one session, plus helpers to
//!   judge and build offers and answers ([`negotiated_streams`], [`hold_offer`],
//!   [`answer_formats`], [`rejecting_answer`]).
//! - [`OriginRewriter`]: Tandem's own `o=` line on one leg of a back-to-back call.
//!
//! No I/O, no clock, no panics on any input.
//!
//! ```
//! use tandem_sdp::{Direction, OfferAnswer, SessionDescription};
//!
//! let offer = SessionDescription::parse(
//!     b"v=0\r\no=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\ns=-\r\n\
//!       c=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0 8 101\r\n\
//!       a=rtpmap:101 telephone-event/8000\r\na=x-vendor:kept as is\r\n",
//! )?;
//! assert_eq!(offer.media(0).map(|m| m.telephone_events().len()), Some(1));
//!
//! // Relay through a media proxy: only the c= line and the o= version change.
//! let mut relayed = offer.clone();
//! relayed.set_all_connection_addresses("203.0.113.7")?;
//! relayed.bump_origin_version();
//! relayed.set_media_direction(0, Direction::SendOnly)?;
//! assert!(relayed.is_hold());
//!
//! let mut session = OfferAnswer::new();
//! session.record_remote_offer(offer.clone())?;
//! session.record_local_answer(offer)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod description;
mod edit;
mod error;
mod line;
mod media;
mod offer_answer;
mod rewriter;

pub use description::{Limits, SessionDescription};
pub use error::{EditError, LineFault, SdpError};
pub use line::{Attribute, Bandwidth, Connection, Fmtp, Line, LineEnding, Origin, Rtpmap};
pub use media::{Codec, Direction, Media, MediaKind};
pub use offer_answer::{
    CodecCapability, NegotiatedStream, OfferAnswer, OfferAnswerError, OfferAnswerState,
    answer_formats, hold_offer, is_resume, negotiated_streams, rejecting_answer, resume_offer,
};
pub use rewriter::OriginRewriter;
