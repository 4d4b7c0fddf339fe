//! Tandem's SDK: an async, UCMA-shaped API for SIP call flows, on tokio.
//!
//! A UCMA 4.0 developer will recognise the pieces:
//!
//! | UCMA | Tandem SDK |
//! |---|---|
//! | `CollaborationPlatform` + `ApplicationEndpoint` | [`Endpoint`] ([`Endpoint::bind`], [`Endpoint::shutdown`]) |
//! | `RegisterForIncomingCall<AudioVideoCall>` | [`Endpoint::incoming_calls`] → [`IncomingCall`] |
//! | `call.Decline()` | [`IncomingCall::decline`] |
//! | `AudioVideoCall.AcceptAsync()` (`CallAcceptOptions`) | [`IncomingCall::accept`] ([`AcceptOptions`]) → [`AudioVideoCall`] |
//! | `BackToBackCallSettings(call1)` / `(call2, destinationUri)` | [`CallSettings::incoming`] / [`CallSettings::outgoing`] |
//! | `SetPassThroughHeaderNames` | [`CallSettings::with_pass_through_header_names`] |
//! | `BackToBackCall`, `BeginEstablish`/`EndEstablish` | [`BackToBackCall::new`], [`BackToBackCall::establish`] |
//! | `BeginTerminate(CallTerminateOptions)` | [`BackToBackCall::terminate`] with [`CallTerminateOptions`] |
//! | `State`, `StateChanged` | [`BackToBackCall::state`], [`BackToBackCall::state_changed`] |
//! | click-to-call (two outgoing legs joined) | [`Endpoint::originate`] (RFC 3725 Flow I) |
//! | `AudioVideoFlow` state | [`BackToBackCall::media_flow`], [`BackToBackCall::media_flow_changed`] |
//!
//! The seed's first scenario, an incoming call connected back to back to an agent:
//!
//! ```no_run
//! use tandem_sdk::{BackToBackCall, CallSettings, Endpoint, EndpointSettings};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let endpoint = Endpoint::bind(EndpointSettings::new("127.0.0.1:5060".parse()?)).await?;
//! let mut incoming = endpoint.incoming_calls();
//! let destination_uri = "sip:agent@192.0.2.20:5060";
//! while let Some(call1) = incoming.next().await {
//!     let b2b = BackToBackCall::new(CallSettings::incoming(call1),
//!                                   CallSettings::outgoing(destination_uri));
//!     tokio::spawn(async move {
//!         match b2b.establish().await {
//!             Ok(()) => println!("connected; ended: {:?}", b2b.ended().await.cause),
//!             Err(e) => println!("not connected: {e}"),
//!         }
//!     });
//! }
//! endpoint.shutdown().await?;
//! # Ok(())
//! # }
//! ```
//!
//! # How it runs
//!
//! [`Endpoint::bind`] starts one task running
//! [`SipRuntime::run_app`](tandem_runtime::sip::SipRuntime::run_app): it owns the sockets, the
//! sans-IO SIP endpoint and the sans-IO call controller ([`tandem_call::B2bua`]). Handles
//! ([`IncomingCall`], [`BackToBackCall`], [`Call`]) never touch them: commands travel to that
//! task over its bounded command channel with a oneshot reply, and each call's state comes
//! back over its own `watch` (current state and record) and `broadcast` (state changes).
//! DNS (RFC 3263, for destinations whose host is a name) runs on the caller's task inside
//! [`BackToBackCall::establish`], never on the driver's.
//!
//! # What happens when handles are dropped
//!
//! - An [`IncomingCall`] dropped undecided is declined `480` by the driver; so is one left
//!   undecided past [`EndpointSettings::decision_timeout`].
//! - Dropping the last clone of a [`BackToBackCall`] terminates the call (480 to the caller
//!   before the answer, BYE on both legs after it).
//! - Dropping the last clone of an [`AudioVideoCall`] terminates it (BYE).
//! - A [`Call`] is only an observer: holding or dropping it changes nothing.
//! - Dropping the [`Endpoint`] stops the driver without BYEs; [`Endpoint::shutdown`] ends
//!   calls first.
//!
//! # Where media flows
//!
//! In a [`BackToBackCall`] media flows peer to peer: the SDP is relayed with only Tandem's
//! `o=` line changed, so the endpoint never sends or receives RTP.
//!
//! A call Tandem answers itself ([`IncomingCall::accept`]) has its media anchored on the
//! endpoint's media engine ([`MediaSettings`]; one thread, started with the first accepted
//! call): Tandem answers the offer (RFC 3264) with an RTP socket of its own and joins it to a
//! room of the mixer, private by default, or shared by every call accepted into the same
//! [`AcceptOptions::room`] (a conference bridge):
//!
//! ```no_run
//! use tandem_sdk::{AcceptOptions, Endpoint, EndpointSettings};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let endpoint = Endpoint::bind(EndpointSettings::new("127.0.0.1:5060".parse()?)).await?;
//! let mut incoming = endpoint.incoming_calls();
//! while let Some(call) = incoming.next().await {
//!     tokio::spawn(async move {
//!         if let Ok(call) = call.accept(AcceptOptions::new().room("bridge")).await {
//!             println!("ended: {:?}", call.ended().await.cause);
//!         }
//!     });
//! }
//! # Ok(())
//! # }
//! ```

mod accept;
mod b2b;
mod call;
mod driver;
mod endpoint;
mod error;

pub use accept::{AcceptError, AcceptOptions, AcceptedMedia, AudioVideoCall};
pub use b2b::{BackToBackCall, CallSettings, IncomingLeg, OutgoingLeg};
pub use call::{
    Call, CallInfo, CallRecord, CallStateChanged, CallTerminateOptions, EndCause, IncomingCall,
    MediaFlowChanges, StateChanges,
};
pub use endpoint::{Endpoint, EndpointSettings, IncomingCalls, MediaSettings};
pub use error::{BindError, DeclineError, EstablishError, ShutdownError, TerminateError};

/// The call controller's settings (Tandem's `o=` line), part of [`EndpointSettings`].
pub use tandem_call::B2buaConfig;
/// A live call as the controller sees it ([`BackToBackCall::snapshot`]).
pub use tandem_call::CallInfo as CallSnapshot;
/// The states of a call, as UCMA's `CallState`: `Idle`, `Establishing`, `Established`,
/// `Terminating`, `Terminated`.
pub use tandem_call::CallState;
/// Why a back-to-back call ended, as the call controller reports it (inside
/// [`EndCause::BackToBack`]).
pub use tandem_call::EndCause as B2bEndCause;
/// The media-flow hint of a call (UCMA's `MediaFlowState`): `Connecting`, `Connected`.
pub use tandem_call::MediaFlowState;
/// One leg of a [`CallRecord`], and its vocabulary.
pub use tandem_call::{EndedBy, Leg, LegRecord};
/// The media engine's settings, part of [`MediaSettings`].
pub use tandem_runtime::media::MediaConfig;
/// Listening sockets of an [`EndpointSettings`].
pub use tandem_runtime::sip::SipListenConfig;
/// SIP timers, part of [`EndpointSettings`].
pub use tandem_sip_core::Timers;
/// A SIP transport (UDP, TCP, TLS, WS).
pub use tandem_sip_core::Transport;
