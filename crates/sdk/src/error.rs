//! One error type per operation.

use tandem_runtime::RuntimeError;
use tandem_runtime::resolver::ResolveError;

use crate::call::EndCause;

/// Why [`Endpoint::bind`](crate::Endpoint::bind) failed.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// A socket could not be opened (or no transport was enabled).
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// The settings are unusable (e.g. a zero-sized queue).
    #[error("invalid endpoint settings: {0}")]
    Settings(String),
    /// The media engine could not start ([`MediaSettings::start_at_bind`](crate::MediaSettings::start_at_bind)).
    #[error("the media engine did not start: {0}")]
    Media(String),
}

/// Why [`Endpoint::shutdown`](crate::Endpoint::shutdown) did not stop cleanly. The endpoint
/// is stopped either way.
#[derive(Debug, thiserror::Error)]
pub enum ShutdownError {
    /// The SIP runtime had failed before.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// The driver task panicked or was cancelled.
    #[error("the endpoint's driver task failed: {0}")]
    Driver(String),
}

/// Why [`IncomingCall::decline`](crate::IncomingCall::decline) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeclineError {
    /// A decline needs a final non-2xx status (300-699).
    #[error("{0} is not a status to decline with (300-699)")]
    InvalidStatus(u16),
    /// The call is no longer waiting for a decision (the caller cancelled, or the decision
    /// timeout declined it).
    #[error("the call is no longer waiting for a decision")]
    NotPending,
    /// A header name or value is not a valid single-line header.
    #[error("invalid header: {0}")]
    BadHeader(String),
    /// The SIP endpoint refused to send the response.
    #[error("the response was refused: {0}")]
    Refused(String),
    /// The endpoint is shut down.
    #[error("the endpoint is shut down")]
    EndpointClosed,
}

/// Why [`BackToBackCall::establish`](crate::BackToBackCall::establish) failed. Unless noted,
/// the caller (leg A) got a final response and the call is over.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EstablishError {
    /// `establish` was already called on this call (nothing changed).
    #[error("the call was already established or is establishing")]
    AlreadyStarted,
    /// The settings are unusable (a setting only for the other leg, an outgoing leg given
    /// as the incoming one, ...). The caller got `500`.
    #[error("invalid call settings: {0}")]
    InvalidSettings(String),
    /// The destination is not a SIP or SIPS URI. The caller got `404`.
    #[error("invalid destination `{uri}`: {reason}")]
    InvalidDestination {
        /// The URI as given.
        uri: String,
        /// Why.
        reason: String,
    },
    /// RFC 3263 resolution gave no target. The caller got `480`.
    #[error("cannot resolve the destination: {0}")]
    Resolve(#[from] ResolveError),
    /// No resolved target uses a transport the endpoint listens on. The caller got `480`.
    #[error("no resolved target uses a transport of this endpoint")]
    NoTransport,
    /// The caller cancelled, or the call was declined or terminated, before leg B started.
    #[error("the incoming call is gone")]
    CallerGone,
    /// The call controller refused to start leg B; the caller got `status` (483 when
    /// Max-Forwards ran out, 488 for an offer that does not parse, else 500).
    #[error("leg B not started ({error}); the caller got {status}")]
    Refused {
        /// The status sent to the caller.
        status: u16,
        /// The controller's reason.
        error: tandem_call::CallError,
    },
    /// The call controller refused to place an originated call; nothing was sent.
    #[error("the call was not placed: {0}")]
    NotPlaced(tandem_call::CallError),
    /// Leg B answered with a final failure `status`; the caller got `relayed`
    /// (see [`tandem_call::map_failure`]).
    #[error("the callee answered {status}; the caller got {relayed}")]
    Rejected {
        /// Leg B's status.
        status: u16,
        /// The status sent to the caller.
        relayed: u16,
    },
    /// Leg B never answered (Timer B, or every target failed at the transport); the caller
    /// got `408`.
    #[error("the callee never answered")]
    NoAnswer,
    /// Leg B did not answer within its ring timeout
    /// ([`CallSettings::with_ring_timeout`](crate::CallSettings::with_ring_timeout)): it was
    /// cancelled and the caller got `480`.
    #[error("the callee did not answer in time")]
    RingTimeout,
    /// The call ended before leg B answered, for another reason (the caller cancelled, the
    /// application terminated it, ...).
    #[error("the call ended before it was established: {0:?}")]
    Ended(EndCause),
    /// The endpoint is shut down.
    #[error("the endpoint is shut down")]
    EndpointClosed,
}

impl EstablishError {
    /// The final status the caller (leg A) received, when known.
    pub fn caller_status(&self) -> Option<u16> {
        match self {
            Self::InvalidSettings(_) => Some(500),
            Self::InvalidDestination { .. } => Some(404),
            Self::Resolve(_) | Self::NoTransport | Self::RingTimeout => Some(480),
            Self::Refused { status, .. } => Some(*status),
            Self::Rejected { relayed, .. } => Some(*relayed),
            Self::NoAnswer => Some(408),
            Self::Ended(EndCause::Declined { status }) => Some(*status),
            Self::Ended(EndCause::CallerCancelled)
            | Self::Ended(EndCause::BackToBack(tandem_call::EndCause::Cancelled)) => Some(487),
            _ => None,
        }
    }
}

/// Why [`BackToBackCall::terminate`](crate::BackToBackCall::terminate) or
/// [`IncomingCall::terminate`](crate::IncomingCall::terminate) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TerminateError {
    /// The endpoint stopped before the call was confirmed over.
    #[error("the endpoint is shut down")]
    EndpointClosed,
    /// A header of the [`CallTerminateOptions`](crate::CallTerminateOptions) cannot go on a
    /// BYE; nothing was sent and the call goes on.
    #[error("invalid termination header: {0}")]
    BadHeader(String),
}
