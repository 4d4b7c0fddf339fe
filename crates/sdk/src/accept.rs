//! Calls Tandem answers itself ([`IncomingCall::accept`](crate::IncomingCall::accept)):
//! [`AcceptOptions`], the [`AudioVideoCall`] handle and its [`AcceptedMedia`].

use std::net::SocketAddr;
use std::sync::Arc;

use tandem_call::{CallState, MediaFlowState};

use crate::call::{
    Call, CallInfo, CallRecord, CallTerminateOptions, EndCause, MediaFlowChanges, StateChanges,
};
use crate::driver::Owner;
use crate::error::TerminateError;

/// How to accept an incoming call (UCMA's `CallAcceptOptions`): the room its media joins and
/// extra headers on the 200.
///
/// By default the call gets a private room of its own (Tandem's media engine answers it, and
/// nobody else is in the room). Calls accepted into the same named room ([`Self::room`])
/// hear each other through Tandem's mixer (an N-1 mix: nobody hears themself).
///
/// Recording is a setting of the endpoint's media engine, not of one call:
/// [`MediaSettings::engine`](crate::MediaSettings::engine)'s `recordings` directory records
/// *every* room to `DIR/<room>-<n>.wav` (named rooms are `room_<name>`, private ones
/// `call_<n>`), because the engine opens its recorder when a room opens and has no per-room
/// switch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AcceptOptions {
    pub(crate) room: Option<String>,
    pub(crate) headers: Vec<(String, String)>,
}

impl AcceptOptions {
    /// A private room, no extra header.
    pub fn new() -> Self {
        Self::default()
    }

    /// Joins the media to the room `name` (created with its first call, closed with its
    /// last), shared with every other call accepted into `name` on this endpoint. An empty
    /// name is refused ([`AcceptError::InvalidRoom`]).
    pub fn room(mut self, name: impl Into<String>) -> Self {
        self.room = Some(name.into());
        self
    }

    /// Adds a header to the 200 (e.g. `("X-Queue", "sales")`).
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// Where an accepted call's media flows: Tandem's RTP socket, the caller's, and the codec
/// negotiated (RFC 3264). Changes when a re-INVITE moves the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedMedia {
    /// Tandem's RTP address (in the SDP Tandem sent).
    pub local: SocketAddr,
    /// Where the caller said it receives RTP; `None` until a late offer's answer arrived
    /// in the ACK.
    pub remote: Option<SocketAddr>,
    /// The codec's encoding name as negotiated (`PCMU`, `PCMA`, `G722`, `opus`); empty
    /// until a late offer's answer arrived.
    pub codec: String,
    /// Its RTP payload type.
    pub payload_type: u8,
}

/// A call Tandem answered itself (UCMA's `AudioVideoCall` after `EndAccept`), its media
/// anchored on Tandem's media engine in a room.
///
/// Cheap to clone. **Dropping the last clone terminates the call** (BYE with
/// `Reason: SIP;cause=200;text="Call completed"`); keep one while the call should last, e.g.
/// until [`Self::ended`].
///
/// What the endpoint does for the call without the application:
/// - a BYE from the caller is answered 200, the media leaves the room and the call is
///   `Terminated` ([`EndCause::Accepted`] with `CallerHangUp`);
/// - a re-INVITE or UPDATE with an offer (hold, resume, new address or codec) is answered
///   like the first one, with the `o=` version one higher (RFC 3264 §8) and the direction
///   mirrored (§6.1, §8.4: `sendonly` is answered `recvonly`). The media stays in its room;
///   a new address or codec moves it. An offer without a usable codec gets 488 and the
///   session stays as it was (RFC 3261 §14.2). A re-INVITE without an offer gets Tandem's
///   offer in the 200 and its answer is taken from the ACK;
/// - INFO and OPTIONS get 200 (DTMF over INFO is not acted upon).
///
/// Tandem keeps sending the room's mix to a caller that put it on hold (the engine has no
/// per-leg send switch); the caller discards it.
#[derive(Debug, Clone)]
pub struct AudioVideoCall {
    call: Call,
    owner: Arc<Owner>,
    room: Option<String>,
}

impl AudioVideoCall {
    pub(crate) fn new(call: Call, owner: Arc<Owner>, room: Option<String>) -> Self {
        Self { call, owner, room }
    }

    /// An observer of the call (state, changes, record) that does not keep it alive.
    pub fn call(&self) -> &Call {
        &self.call
    }

    /// Who is calling.
    pub fn info(&self) -> &CallInfo {
        self.call.info()
    }

    /// The named room the call joined; `None` for its private room.
    pub fn room(&self) -> Option<&str> {
        self.room.as_deref()
    }

    /// The current state: `Established` once accepted, then `Terminating`, `Terminated`.
    pub fn state(&self) -> CallState {
        self.call.state()
    }

    /// See [`Call::state_changed`].
    pub fn state_changed(&self) -> StateChanges {
        self.call.state_changed()
    }

    /// See [`Call::media_flow`]: `Connected` once both sides have the other's SDP.
    pub fn media_flow(&self) -> Option<MediaFlowState> {
        self.call.media_flow()
    }

    /// See [`Call::media_flow_changed`].
    pub fn media_flow_changed(&self) -> MediaFlowChanges {
        self.call.media_flow_changed()
    }

    /// Where the media flows now.
    pub fn media(&self) -> Option<AcceptedMedia> {
        self.call.accepted_media()
    }

    /// Waits until the call is over and returns its record (one [`LegRecord`] for the
    /// caller's leg).
    ///
    /// [`LegRecord`]: crate::LegRecord
    pub async fn ended(&self) -> CallRecord {
        self.call.ended().await
    }

    /// Hangs up (UCMA's `BeginTerminate`): leaves the room and sends BYE with the options'
    /// `Reason` header (RFC 3326); resolves with the record once the BYE is answered (or
    /// timed out). On a call already over, returns its record.
    pub async fn terminate(
        &self,
        options: CallTerminateOptions,
    ) -> Result<CallRecord, TerminateError> {
        self.call.terminate_with(&self.owner, &options).await
    }
}

/// Why [`IncomingCall::accept`](crate::IncomingCall::accept) failed. Unless noted, the
/// caller got a final response and the call is over.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcceptError {
    /// The call is no longer waiting for a decision (the caller cancelled, or the decision
    /// timeout declined it). Nothing was sent.
    #[error("the call is no longer waiting for a decision")]
    NotPending,
    /// The INVITE's SDP does not parse: the caller got `488 Not Acceptable Here`.
    #[error("the SDP offer does not parse; the caller got 488")]
    BadOffer,
    /// No audio stream of the offer has a codec the mixer has (PCMU, PCMA, G.722, Opus):
    /// the caller got `488 Not Acceptable Here` with a `Warning` (RFC 3261 §21.4.26).
    #[error("no common audio codec; the caller got 488")]
    NoCommonCodec,
    /// [`AcceptOptions::room`] was given an empty name: the caller got `500`.
    #[error("invalid room name")]
    InvalidRoom,
    /// A header of [`AcceptOptions::with_header`] is not a valid single-line header: the
    /// caller got `500`.
    #[error("invalid header: {0}")]
    BadHeader(String),
    /// No RTP socket could be bound or the media engine could not start or refused the
    /// leg: the caller got `503`.
    #[error("no media: {0}; the caller got 503")]
    Media(String),
    /// The SIP endpoint refused to send the 200 (the transaction is gone).
    #[error("the 200 was refused: {0}")]
    Refused(String),
    /// The 200 was sent but the call ended before it was established: no ACK came
    /// (RFC 3261 §13.3.1.4, `AckTimeout`: Tandem sent BYE), the caller hung up first, or
    /// the ACK of a late offer carried no usable answer (Tandem sent BYE).
    #[error("the call ended before it was established: {0:?}")]
    NotEstablished(EndCause),
    /// The endpoint is shut down.
    #[error("the endpoint is shut down")]
    EndpointClosed,
}

impl AcceptError {
    /// The final status the caller received instead of a 200, when known.
    pub fn caller_status(&self) -> Option<u16> {
        match self {
            Self::BadOffer | Self::NoCommonCodec => Some(488),
            Self::InvalidRoom | Self::BadHeader(_) => Some(500),
            Self::Media(_) => Some(503),
            Self::NotEstablished(_) => Some(200),
            _ => None,
        }
    }
}
