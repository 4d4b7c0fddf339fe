//! What the HTTP API asks of the SIP application, over the bounded command channel of
//! `SipRuntime::run_app`: every command carries a oneshot sender for its reply, so a handler
//! awaits its answer without ever sharing state with the SIP driver.

use serde::Serialize;
use tandem_sip_msg::{HeaderName, Uri};
use tokio::sync::oneshot;
use utoipa::ToSchema;

use crate::events::{CallStateView, MediaFlowView};

/// A request to the application.
#[derive(Debug)]
pub(crate) enum Command {
    /// Every live back-to-back call, oldest first.
    ListCalls(oneshot::Sender<Vec<CallView>>),
    /// One call.
    ShowCall {
        /// Its id.
        id: u64,
        /// The call, or `None` if unknown or over.
        reply: oneshot::Sender<Option<CallView>>,
    },
    /// Hang a call up (BYE with `Reason` on both legs, RFC 3326, or CANCEL/480 before the
    /// answer).
    HangUp {
        /// Its id.
        id: u64,
        /// The call as it is after the hang-up started.
        reply: oneshot::Sender<Result<CallView, CommandError>>,
    },
    /// Call two parties and connect them back to back (RFC 3725 third-party call control).
    Originate {
        /// Who and how (boxed: the other commands are a few words).
        request: Box<Originate>,
        /// The new call's id.
        reply: oneshot::Sender<Result<u64, CommandError>>,
    },
    /// A route destination lookup finished (from the lookup task, not from HTTP).
    Resolved {
        /// The lookup.
        id: u64,
        /// Its targets in order, or why there are none.
        targets: crate::resolve::Targets,
    },
}

/// A validated `POST /v1/calls`.
#[derive(Debug, Clone)]
pub(crate) struct Originate {
    /// Called first; connected once it answers.
    pub(crate) first: Uri,
    /// Called second, with the first party's session description.
    pub(crate) second: Uri,
    /// Extra headers on both INVITEs.
    pub(crate) headers: Vec<(HeaderName, String)>,
    /// From of the INVITE to the second party (a name-addr); default: the first party.
    pub(crate) caller_id: Option<String>,
}

/// Why a command failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CommandError {
    /// No live call has that id.
    #[error("no such call")]
    NoSuchCall,
    /// Tandem cannot reach this URI (unknown user, no registration, unresolvable host).
    #[error("cannot route {uri}: {why}")]
    Unroutable {
        /// The URI.
        uri: String,
        /// Why.
        why: String,
    },
    /// The call layer refused.
    #[error("{0}")]
    Failed(String),
}

/// A live back-to-back call as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub(crate) struct CallView {
    /// The call's id, as in `/v1/calls/{id}`.
    pub(crate) id: u64,
    /// `b2b` (an incoming call bridged to an outgoing one) or `originate` (both called by
    /// Tandem).
    pub(crate) kind: String,
    /// Its state.
    pub(crate) state: CallStateView,
    /// The media-flow hint, once an offer went out.
    pub(crate) media: Option<MediaFlowView>,
    /// When the call started (RFC 3339, UTC).
    pub(crate) started: String,
    /// When both legs were answered, if they were.
    pub(crate) answered: Option<String>,
    /// Leg `a` (the caller, or the first party called) then leg `b` once it exists.
    pub(crate) legs: Vec<LegView>,
}

/// One leg of a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub(crate) struct LegView {
    /// `a` or `b`.
    pub(crate) leg: String,
    /// The leg's own SIP Call-ID (each leg has its own: topology hiding).
    pub(crate) call_id: String,
    /// The leg's From, a name-addr without tag.
    pub(crate) from: String,
    /// The leg's To, a name-addr without tag.
    pub(crate) to: String,
    /// The peer: `transport:address:port`, e.g. `udp:192.0.2.4:5060` (the source of an
    /// incoming INVITE, the next hop of an outgoing one).
    pub(crate) remote: String,
    /// When the leg's INVITE was received or sent (RFC 3339, UTC).
    pub(crate) started: String,
    /// When the leg was answered.
    pub(crate) answered: Option<String>,
}
