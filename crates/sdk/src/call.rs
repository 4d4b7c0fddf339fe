//! Calls as the application sees them: [`IncomingCall`] (a call waiting for a decision),
//! [`Call`] (state and events of any call), and how a call ended ([`CallRecord`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use tandem_call::{CallState, LegRecord, MediaFlowState};
use tandem_sip_core::{Flow, Transport};
use tandem_sip_msg::headers::{FromHeader, ToHeader};
use tandem_sip_msg::{HeaderName, Message};
use tokio::sync::{broadcast, watch};

use crate::accept::{AcceptError, AcceptOptions, AcceptedMedia, AudioVideoCall};
use crate::driver::{Command, Owner, Receivers, Snapshot};
use crate::error::{DeclineError, TerminateError};

/// Who is calling: the parties and headers of an incoming INVITE, as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallInfo {
    request_uri: String,
    from: String,
    from_display_name: Option<String>,
    to: String,
    headers: Vec<(String, String)>,
    remote: SocketAddr,
    transport: Transport,
}

impl CallInfo {
    pub(crate) fn of_invite(invite: &Message, flow: Flow) -> Self {
        let (from, from_display_name) = match invite.typed::<FromHeader<'_>>() {
            Ok(Some(f)) => (
                f.0.uri.to_string(),
                f.0.display_name.map(|d| d.trim_matches('"').to_owned()),
            ),
            _ => (String::new(), None),
        };
        let to = match invite.typed::<ToHeader<'_>>() {
            Ok(Some(t)) => t.0.uri.to_string(),
            _ => String::new(),
        };
        Self {
            request_uri: invite
                .request_line()
                .map(|l| l.uri.to_owned())
                .unwrap_or_default(),
            from,
            from_display_name,
            to,
            headers: invite
                .headers()
                .map(|h| {
                    (
                        h.header_name().as_str().to_owned(),
                        String::from_utf8_lossy(h.value).into_owned(),
                    )
                })
                .collect(),
            remote: flow.remote,
            transport: flow.transport,
        }
    }

    /// The parties of an originated call: `to` is the first party called, `from` the second
    /// (the first party is shown the second as its caller), no headers, no remote address.
    pub(crate) fn originated(first: &str, second: &str) -> Self {
        Self {
            request_uri: first.to_owned(),
            from: second.to_owned(),
            from_display_name: None,
            to: first.to_owned(),
            headers: Vec::new(),
            remote: SocketAddr::from(([0, 0, 0, 0], 0)),
            transport: Transport::Udp,
        }
    }

    /// The Request-URI of the INVITE (what the caller dialled, e.g. `sip:sales@tandem`).
    pub fn request_uri(&self) -> &str {
        &self.request_uri
    }

    /// The caller: the From URI (`sip:alice@example.com`).
    pub fn from(&self) -> &str {
        &self.from
    }

    /// The caller's display name from the From header, without quotes, if any.
    pub fn from_display_name(&self) -> Option<&str> {
        self.from_display_name.as_deref()
    }

    /// The called party: the To URI.
    pub fn to(&self) -> &str {
        &self.to
    }

    /// The first value of header `name` (case-insensitive; compact forms match their long
    /// names, e.g. `f` and `From`).
    pub fn header(&self, name: &str) -> Option<&str> {
        let wanted = HeaderName::new(name);
        self.headers
            .iter()
            .find(|(n, _)| HeaderName::new(n) == wanted)
            .map(|(_, v)| v.as_str())
    }

    /// Every header of the INVITE in order, names normalised to their long form.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The address the INVITE came from.
    pub fn remote_addr(&self) -> SocketAddr {
        self.remote
    }

    /// The transport the INVITE came on.
    pub fn transport(&self) -> Transport {
        self.transport
    }
}

/// A state change of a call (UCMA's `CallStateChangedEventArgs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallStateChanged {
    /// The state before.
    pub previous: CallState,
    /// The state now.
    pub state: CallState,
}

/// Why a call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndCause {
    /// The back-to-back call ended, for the controller's reason (who hung up, leg B's
    /// failure status, ...).
    BackToBack(tandem_call::EndCause),
    /// A call Tandem answered itself ([`IncomingCall::accept`]) ended, for this reason:
    /// `CallerHangUp` (the caller's BYE), `Terminated` (the application's
    /// [`AudioVideoCall::terminate`](crate::AudioVideoCall::terminate), a dropped handle or
    /// the endpoint's shutdown), `AckTimeout` (no ACK for the 200, RFC 3261 §13.3.1.4),
    /// `LegLost` (session timer expiry, RFC 4028 §10) or `Failed` (the ACK of a late offer
    /// carried no usable answer).
    Accepted(tandem_call::EndCause),
    /// The call never became a back-to-back call: the caller got this final status, from
    /// [`IncomingCall::decline`], [`IncomingCall::terminate`] or because
    /// [`BackToBackCall::establish`](crate::BackToBackCall::establish) could not start leg B.
    Declined {
        /// The status sent to the caller.
        status: u16,
    },
    /// The caller cancelled (RFC 3261 §9.2) before the application decided.
    CallerCancelled,
    /// Every controlling handle of an undecided incoming call was dropped, or no decision
    /// came within `EndpointSettings::decision_timeout`: the caller got 480.
    Abandoned,
    /// An originated call ([`Endpoint::originate`](crate::Endpoint::originate)) could not be
    /// placed: a destination did not resolve, no transport reaches it, or the controller
    /// refused. Nothing was sent.
    NotPlaced,
    /// The endpoint shut down while the call was undecided (the caller got 503).
    Shutdown,
    /// The endpoint's driver stopped without ending the call properly (the [`Endpoint`] was
    /// dropped without [`Endpoint::shutdown`], or the runtime failed).
    ///
    /// [`Endpoint`]: crate::Endpoint
    /// [`Endpoint::shutdown`]: crate::Endpoint::shutdown
    EndpointGone,
}

/// The summary of a finished call, the seed of a CDR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    /// Why it ended.
    pub cause: EndCause,
    /// When the INVITE arrived.
    pub started: SystemTime,
    /// When the call became [`CallState::Established`], if it did.
    pub answered: Option<SystemTime>,
    /// When it ended.
    pub ended: SystemTime,
    /// The controller's record of each leg (leg A, then leg B): SIP Call-ID, From, To,
    /// remote address, times, final status, who ended it. Empty when the call never became
    /// a back-to-back call (declined, cancelled or abandoned while undecided).
    pub legs: Vec<LegRecord>,
}

/// An observer of one call: its parties, its state, its state changes and its end.
///
/// Cheap to clone; holding a `Call` never keeps the call alive (only the controlling handle,
/// [`IncomingCall`] or [`BackToBackCall`](crate::BackToBackCall), does).
#[derive(Debug)]
pub struct Call {
    id: u64,
    info: Arc<CallInfo>,
    state: watch::Receiver<Snapshot>,
    /// Never read: the template that [`Self::state_changed`] resubscribes from.
    changes: broadcast::Receiver<CallStateChanged>,
    /// Never read: the template of [`Self::media_flow_changed`].
    media: broadcast::Receiver<MediaFlowState>,
}

impl Clone for Call {
    fn clone(&self) -> Self {
        Self {
            id: self.id,
            info: Arc::clone(&self.info),
            state: self.state.clone(),
            changes: self.changes.resubscribe(),
            media: self.media.resubscribe(),
        }
    }
}

impl Call {
    /// Asks the driver to end the call with `options` and waits for its record: the one
    /// path of every handle's `terminate`.
    pub(crate) async fn terminate_with(
        &self,
        owner: &Owner,
        options: &CallTerminateOptions,
    ) -> Result<CallRecord, TerminateError> {
        let id = self.id();
        let reason = options.reason()?;
        owner
            .link
            .ask(|reply| Command::Terminate { id, reason, reply })
            .await
            .ok_or(TerminateError::EndpointClosed)?;
        let record = self.ended().await;
        if record.cause == EndCause::EndpointGone {
            return Err(TerminateError::EndpointClosed);
        }
        Ok(record)
    }

    pub(crate) fn new(id: u64, info: Arc<CallInfo>, receivers: Receivers) -> Self {
        Self {
            id,
            info,
            state: receivers.state,
            changes: receivers.changes,
            media: receivers.media,
        }
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Who is calling.
    pub fn info(&self) -> &CallInfo {
        &self.info
    }

    /// The current state: [`CallState::Idle`] until a back-to-back call starts
    /// establishing, then `Establishing`, `Established`, `Terminating`, `Terminated`.
    pub fn state(&self) -> CallState {
        self.state.borrow().state
    }

    /// A receiver of the state changes from now on (subscribe before
    /// [`BackToBackCall::establish`](crate::BackToBackCall::establish) to see them all). The
    /// last one is the change to `Terminated`; then [`StateChanges::recv`] returns `None`.
    pub fn state_changed(&self) -> StateChanges {
        let rx = self.changes.resubscribe();
        // The driver publishes the watch before the broadcast: a call already terminated
        // has nothing more to send.
        let done = self.state.borrow().state == CallState::Terminated && rx.is_empty();
        StateChanges { rx, done }
    }

    /// The media-flow hint (UCMA's `AudioVideoFlow` state), from the offer/answer exchange
    /// relayed between the legs (RFC 3264): `None` before any offer crossed, `Connecting`
    /// while an offer waits for its answer, `Connected` once both parties know where to send
    /// media. The media itself flows peer to peer; Tandem never sees it.
    pub fn media_flow(&self) -> Option<MediaFlowState> {
        self.state.borrow().media
    }

    /// The media-flow changes from now on; [`MediaFlowChanges::recv`] returns `None` once
    /// the call is over.
    pub fn media_flow_changed(&self) -> MediaFlowChanges {
        let rx = self.media.resubscribe();
        let done = self.state.borrow().record.is_some() && rx.is_empty();
        MediaFlowChanges { rx, done }
    }

    /// Waits until the call is over and returns its record.
    pub async fn ended(&self) -> CallRecord {
        let mut rx = self.state.clone();
        let outcome = rx
            .wait_for(|s| s.record.is_some())
            .await
            .map(|s| s.record.clone().unwrap_or_else(|| gone(&s)));
        outcome.unwrap_or_else(|_| gone(&self.state.borrow()))
    }

    /// The record if the call is over.
    pub fn record(&self) -> Option<CallRecord> {
        self.state.borrow().record.clone()
    }

    /// Where the media of an accepted call flows (`None` for other calls).
    pub(crate) fn accepted_media(&self) -> Option<AcceptedMedia> {
        self.state.borrow().accepted.clone()
    }

    /// Waits until the state is `Established` (`Ok`) or the call is over (`Err` with its
    /// record), whichever comes first.
    pub(crate) async fn answered_or_ended(&self) -> Result<(), CallRecord> {
        let mut rx = self.state.clone();
        let outcome = rx
            .wait_for(|s| s.answered.is_some() || s.record.is_some())
            .await
            .map(|s| match s.answered {
                Some(_) => Ok(()),
                None => Err(s.record.clone().unwrap_or_else(|| gone(&s))),
            });
        outcome.unwrap_or_else(|_| Err(gone(&self.state.borrow())))
    }
}

fn gone(s: &Snapshot) -> CallRecord {
    CallRecord {
        cause: EndCause::EndpointGone,
        started: s.started,
        answered: s.answered,
        ended: SystemTime::now(),
        legs: Vec::new(),
    }
}

/// The state changes of one call (from [`Call::state_changed`]).
#[derive(Debug)]
pub struct StateChanges {
    rx: broadcast::Receiver<CallStateChanged>,
    done: bool,
}

impl StateChanges {
    /// The next state change; `None` after the change to `Terminated` (or when the endpoint
    /// stopped). A receiver more than 16 changes behind skips the oldest.
    pub async fn recv(&mut self) -> Option<CallStateChanged> {
        if self.done {
            return None;
        }
        loop {
            match self.rx.recv().await {
                Ok(change) => {
                    self.done = change.state == CallState::Terminated;
                    return Some(change);
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => {
                    self.done = true;
                    return None;
                }
            }
        }
    }
}

/// The media-flow changes of one call (from [`Call::media_flow_changed`]).
#[derive(Debug)]
pub struct MediaFlowChanges {
    rx: broadcast::Receiver<MediaFlowState>,
    done: bool,
}

impl MediaFlowChanges {
    /// The next media-flow state; `None` once the call is over. A receiver more than 16
    /// changes behind skips the oldest.
    pub async fn recv(&mut self) -> Option<MediaFlowState> {
        if self.done {
            return None;
        }
        loop {
            match self.rx.recv().await {
                Ok(state) => return Some(state),
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => {
                    self.done = true;
                    return None;
                }
            }
        }
    }
}

/// An incoming call waiting for the application's decision (UCMA's incoming
/// `AudioVideoCall` before `BeginAccept`).
///
/// Decide with [`Self::accept`] (Tandem answers it, media on its mixer), [`Self::decline`]
/// or [`Self::terminate`], or hand it to
/// [`CallSettings::incoming`](crate::CallSettings::incoming) for a
/// [`BackToBackCall`](crate::BackToBackCall). Meanwhile the caller has had `100 Trying`.
///
/// **Dropped without a decision**, the call is declined with `480 Temporarily Unavailable`
/// by the driver (the record's cause is [`EndCause::Abandoned`]); the same happens when no
/// decision comes within `EndpointSettings::decision_timeout`. If the caller cancels first,
/// the state becomes `Terminated` with [`EndCause::CallerCancelled`].
#[derive(Debug)]
#[must_use = "an IncomingCall dropped without a decision is declined with 480"]
pub struct IncomingCall {
    call: Call,
    owner: Arc<Owner>,
}

impl std::fmt::Debug for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Owner").field("id", &self.id).finish()
    }
}

impl IncomingCall {
    pub(crate) fn new(call: Call, owner: Arc<Owner>) -> Self {
        Self { call, owner }
    }

    pub(crate) fn into_parts(self) -> (Call, Arc<Owner>) {
        (self.call, self.owner)
    }

    /// Who is calling.
    pub fn info(&self) -> &CallInfo {
        self.call.info()
    }

    /// The caller's From URI (shortcut for `info().from()`).
    pub fn from(&self) -> &str {
        self.call.info().from()
    }

    /// The To URI (shortcut for `info().to()`).
    pub fn to(&self) -> &str {
        self.call.info().to()
    }

    /// The Request-URI (shortcut for `info().request_uri()`).
    pub fn request_uri(&self) -> &str {
        self.call.info().request_uri()
    }

    /// An observer of this call that outlives the decision (state, changes, record).
    pub fn call(&self) -> &Call {
        &self.call
    }

    /// The current state (`Idle` while undecided; `Terminated` once the caller cancelled).
    pub fn state(&self) -> CallState {
        self.call.state()
    }

    /// See [`Call::state_changed`].
    pub fn state_changed(&self) -> StateChanges {
        self.call.state_changed()
    }

    /// Declines the call with a final `status` (300-699) and reason phrase, e.g.
    /// `decline(486, "Busy Here")` or `decline(603, "Decline")`.
    pub async fn decline(self, status: u16, reason: &str) -> Result<(), DeclineError> {
        self.decline_with(status, reason, Vec::new()).await
    }

    /// [`Self::decline`] with extra headers on the response (e.g. `Retry-After`, `Warning`).
    pub async fn decline_with(
        self,
        status: u16,
        reason: &str,
        headers: Vec<(String, String)>,
    ) -> Result<(), DeclineError> {
        let headers = headers
            .into_iter()
            .map(|(n, v)| (HeaderName::new(&n), v))
            .collect();
        let id = self.call.id();
        let reason = reason.to_owned();
        self.owner
            .link
            .ask(|reply| Command::Decline {
                id,
                status,
                reason,
                headers,
                cause: EndCause::Declined { status },
                reply,
            })
            .await
            .unwrap_or(Err(DeclineError::EndpointClosed))
    }

    /// Answers the call with Tandem's own media (UCMA's `AudioVideoCall.AcceptAsync()`):
    /// the endpoint answers the INVITE's SDP offer (RFC 3264: its first audio stream with a
    /// codec the mixer has, other streams rejected with port 0) with `200 OK` naming an RTP
    /// socket of its media engine, joins that socket to a room (private unless
    /// [`AcceptOptions::room`] names one), and resolves once the caller's ACK arrives, with
    /// the call `Established`.
    ///
    /// An INVITE without SDP (RFC 3261 §13.2.1, "late offer") gets Tandem's offer in the 200
    /// and the answer is taken from the ACK; an ACK without a usable answer ends the call
    /// with BYE (`Reason: SIP;cause=488`).
    ///
    /// Fails with the caller answered `488` when the offer has no codec the mixer has,
    /// `503` when no media is available; fails after the 200 when no ACK comes (Timer L,
    /// RFC 6026: Tandem then sends BYE) — see [`AcceptError`].
    ///
    /// The media engine starts with the first accepted call, or in
    /// [`Endpoint::bind`](crate::Endpoint::bind) when
    /// [`MediaSettings::start_at_bind`](crate::MediaSettings::start_at_bind) is set.
    pub async fn accept(self, options: AcceptOptions) -> Result<AudioVideoCall, AcceptError> {
        let id = self.call.id();
        let room = options.room.clone();
        let (call, owner) = self.into_parts();
        owner
            .link
            .ask(|reply| Command::Accept { id, options, reply })
            .await
            .unwrap_or(Err(AcceptError::EndpointClosed))?;
        match call.answered_or_ended().await {
            Ok(()) => Ok(AudioVideoCall::new(call, owner, room)),
            Err(record) if record.cause == EndCause::EndpointGone => {
                Err(AcceptError::EndpointClosed)
            }
            Err(record) => Err(AcceptError::NotEstablished(record.cause)),
        }
    }

    /// Ends the undecided call: the caller gets `480 Temporarily Unavailable` with the
    /// options' `Reason` header (RFC 3326). Resolves once the caller has been answered, with
    /// the call's record (if the caller had cancelled meanwhile, that record).
    pub async fn terminate(
        self,
        options: CallTerminateOptions,
    ) -> Result<CallRecord, TerminateError> {
        self.call.terminate_with(&self.owner, &options).await
    }
}

/// How to end a call (UCMA's `CallTerminateOptions`): the `Reason` header (RFC 3326) sent
/// on the BYEs, by default `SIP;cause=200;text="Call completed"`, and headers of the
/// application's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallTerminateOptions {
    cause: u16,
    text: String,
    headers: Vec<(String, String)>,
}

impl Default for CallTerminateOptions {
    fn default() -> Self {
        Self {
            cause: 200,
            text: "Call completed".to_owned(),
            headers: Vec::new(),
        }
    }
}

impl CallTerminateOptions {
    /// The default options (`cause=200`, "Call completed").
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the `Reason` header's SIP cause code and text, e.g. `(480, "Agent logged out")`.
    pub fn with_reason(mut self, cause: u16, text: &str) -> Self {
        self.cause = cause;
        text.clone_into(&mut self.text);
        self
    }

    /// Adds a header to the BYEs (UCMA's `CallTerminateOptions.Headers`), e.g.
    /// `("X-Disposition", "resolved")`. Headers the dialog owns (Via, From, To, Call-ID,
    /// CSeq, Contact, Route, Record-Route, Max-Forwards, Content-Length, Reason) and values
    /// spanning lines make `terminate` fail with [`TerminateError::BadHeader`] before
    /// anything is sent.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub(crate) fn reason(&self) -> Result<tandem_call::Reason, TerminateError> {
        let mut reason = tandem_call::Reason::new(self.cause, &self.text);
        for (name, value) in &self.headers {
            reason = reason.with_header(HeaderName::new(name), value.clone());
        }
        reason
            .check_headers()
            .map_err(|e| TerminateError::BadHeader(e.to_string()))?;
        Ok(reason)
    }
}
