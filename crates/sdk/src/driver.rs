//! The SDK's [`SipApp`]: the application that [`SipRuntime::run_app`] drives on its own task.
//!
//! It owns the [`B2bua`] and the table of calls the SDK's handles point to. Handles talk to it
//! with [`Command`]s over the run_app channel (each with a oneshot reply) and hear from it over
//! per-call channels: a `watch` with the call's current [`Snapshot`] and a `broadcast` of
//! state changes.
//!
//! [`SipRuntime::run_app`]: tandem_runtime::sip::SipRuntime::run_app

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant, SystemTime};

use tandem_call::{
    B2bua, CallEvent, CallId, CallSettings as LegSettings, CallState, Credentials, LegRecord,
    MediaFlowState, Reason,
};
use tandem_runtime::resolver::{HickoryDns, ResolveError, Target};
use tandem_runtime::sip::SipApp;
use tandem_sip_core::{Endpoint, Event, Flow, ServerTxId, Transport};
use tandem_sip_msg::headers::ToHeader;
use tandem_sip_msg::{HeaderName, Message, Method, Uri};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tracing::{debug, info, warn};

use crate::accept::{AcceptError, AcceptOptions, AcceptedMedia};
use crate::call::{Call, CallInfo, CallRecord, CallStateChanged, EndCause, IncomingCall};
use crate::error::{DeclineError, EstablishError};

mod answered;

pub(crate) use answered::Media;

/// Capacity of each call's broadcast of state changes: a call has at most a handful.
const CHANGES: usize = 16;
/// How often the driver looks for calls whose handles were all dropped, in case the drop's
/// own notice found the command channel full.
const SWEEP: Duration = Duration::from_secs(5);

/// What the handles share: the way to the driver and the DNS resolver.
pub(crate) struct Link {
    pub(crate) commands: mpsc::Sender<Command>,
    /// Transports bound, in Tandem's order of preference for RFC 3263.
    pub(crate) transports: Vec<Transport>,
    /// Created on first use: IP literals never need it.
    dns: Mutex<Option<HickoryDns>>,
    seed: AtomicU64,
    next_id: AtomicU64,
}

impl Link {
    pub(crate) fn new(
        commands: mpsc::Sender<Command>,
        transports: Vec<Transport>,
        seed: u64,
    ) -> Self {
        Self {
            commands,
            transports,
            dns: Mutex::new(None),
            seed: AtomicU64::new(seed),
            next_id: AtomicU64::new(1),
        }
    }

    /// A new call id (the SDK's own numbering).
    pub(crate) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// A seed for one resolution's SRV weights.
    pub(crate) fn next_seed(&self) -> u64 {
        self.seed
            .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed)
    }

    /// The system DNS resolver, created once.
    pub(crate) fn dns(&self) -> Result<HickoryDns, ResolveError> {
        let mut guard = self
            .dns
            .lock()
            .map_err(|_| ResolveError::Setup("resolver lock poisoned".into()))?;
        if let Some(dns) = guard.as_ref() {
            return Ok(dns.clone());
        }
        let dns = HickoryDns::from_system_conf()?;
        *guard = Some(dns.clone());
        Ok(dns)
    }

    /// Sends a command and waits for its reply; `None` when the driver is gone.
    pub(crate) async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(make(tx)).await.ok()?;
        rx.await.ok()
    }
}

/// The controlling handle's token: while it lives, the call is the application's. Dropping
/// the last one abandons the call (see [`Command::Abandon`]).
pub(crate) struct Owner {
    pub(crate) id: u64,
    pub(crate) link: Arc<Link>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        // Best effort; the driver's sweep catches the call if the channel is full.
        let _ = self
            .link
            .commands
            .try_send(Command::Abandon { id: self.id });
    }
}

/// A call as its handles see it.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub(crate) state: CallState,
    pub(crate) started: SystemTime,
    pub(crate) answered: Option<SystemTime>,
    /// The media-flow hint, once an offer crossed.
    pub(crate) media: Option<MediaFlowState>,
    /// Set once, when the call is over.
    pub(crate) record: Option<CallRecord>,
    /// Where an accepted call's media flows.
    pub(crate) accepted: Option<AcceptedMedia>,
}

/// The driver's ends of a call's channels.
pub(crate) struct Channels {
    state: watch::Sender<Snapshot>,
    changes: broadcast::Sender<CallStateChanged>,
    media: broadcast::Sender<MediaFlowState>,
}

/// The handles' ends of a call's channels.
pub(crate) struct Receivers {
    pub(crate) state: watch::Receiver<Snapshot>,
    pub(crate) changes: broadcast::Receiver<CallStateChanged>,
    pub(crate) media: broadcast::Receiver<MediaFlowState>,
}

impl Channels {
    pub(crate) fn new() -> (Self, Receivers) {
        let (state, state_rx) = watch::channel(Snapshot {
            state: CallState::Idle,
            started: SystemTime::now(),
            answered: None,
            media: None,
            record: None,
            accepted: None,
        });
        let (changes, changes_rx) = broadcast::channel(CHANGES);
        let (media, media_rx) = broadcast::channel(CHANGES);
        let receivers = Receivers {
            state: state_rx,
            changes: changes_rx,
            media: media_rx,
        };
        (
            Self {
                state,
                changes,
                media,
            },
            receivers,
        )
    }

    /// Ends a call that never reached the driver's table.
    pub(crate) fn fail(self, cause: EndCause) {
        let record = self.record(cause, Vec::new());
        self.publish(CallState::Terminated, Some(record));
    }

    fn publish_media(&self, media: MediaFlowState) {
        self.state.send_modify(|s| s.media = Some(media));
        let _ = self.media.send(media);
    }

    /// Publishes a new state: the watch first, then the broadcast, so a late subscriber that
    /// sees a terminated snapshot knows it missed nothing it could still receive.
    fn publish(&self, state: CallState, record: Option<CallRecord>) {
        let mut previous = state;
        self.state.send_modify(|s| {
            previous = s.state;
            s.state = state;
            if state == CallState::Established && s.answered.is_none() {
                s.answered = Some(SystemTime::now());
            }
            if record.is_some() {
                s.record = record;
            }
        });
        if previous != state {
            let _ = self.changes.send(CallStateChanged { previous, state });
        }
    }

    fn record(&self, cause: EndCause, legs: Vec<LegRecord>) -> CallRecord {
        let s = self.state.borrow();
        CallRecord {
            cause,
            started: s.started,
            answered: s.answered,
            ended: SystemTime::now(),
            legs,
        }
    }
}

/// What the SDK's handles ask of the driver.
pub(crate) enum Command {
    /// Answer a pending incoming call with a final non-2xx response.
    Decline {
        id: u64,
        status: u16,
        reason: String,
        headers: Vec<(HeaderName, String)>,
        cause: EndCause,
        reply: oneshot::Sender<Result<(), DeclineError>>,
    },
    /// Answer a pending incoming call with Tandem's own media.
    Accept {
        id: u64,
        options: AcceptOptions,
        reply: oneshot::Sender<Result<(), AcceptError>>,
    },
    /// Turn a pending incoming call into a back-to-back call.
    Establish {
        id: u64,
        outgoing: Box<Outgoing>,
        reply: oneshot::Sender<Result<(), EstablishError>>,
    },
    /// Place an originated call (two outgoing legs).
    Originate {
        start: Box<Originate>,
        reply: oneshot::Sender<Result<(), EstablishError>>,
    },
    /// End a call, whatever its phase.
    Terminate {
        id: u64,
        reason: Reason,
        reply: oneshot::Sender<()>,
    },
    /// Every controlling handle of the call was dropped: decline it (480) if undecided,
    /// terminate it otherwise.
    Abandon { id: u64 },
    /// A snapshot of a back-to-back call (`None`: not one, or over).
    Info {
        id: u64,
        reply: oneshot::Sender<Option<tandem_call::CallInfo>>,
    },
    /// How many calls the driver holds (undecided, establishing, live, ending).
    Count { reply: oneshot::Sender<usize> },
    /// Refuse new calls and end the live ones; reply when none is left.
    Shutdown { reply: oneshot::Sender<()> },
}

/// An originated call, resolved, with the channels its handles already watch.
pub(crate) struct Originate {
    pub(crate) id: u64,
    pub(crate) first: Box<Outgoing>,
    pub(crate) second: Box<Outgoing>,
    pub(crate) channels: Channels,
    pub(crate) owner: Weak<Owner>,
}

/// Leg B, resolved.
pub(crate) struct Outgoing {
    pub(crate) target: Uri,
    pub(crate) targets: Vec<Target>,
    pub(crate) from: Option<String>,
    pub(crate) asserted_identity: Option<String>,
    pub(crate) headers: Vec<(HeaderName, String)>,
    pub(crate) pass_through: Vec<HeaderName>,
    pub(crate) ring_timeout: Option<Duration>,
    pub(crate) max_duration: Option<Duration>,
    pub(crate) credentials: Option<Credentials>,
    pub(crate) session_expires: Option<Duration>,
}

enum Phase {
    /// Reported to the application, not decided yet.
    Pending {
        tx: ServerTxId,
        invite: Box<Message>,
        flow: Flow,
        received: Instant,
        deadline: Instant,
    },
    /// A back-to-back call of the controller.
    B2b(CallId),
    /// A call Tandem answered itself, its media in a room of the media engine.
    Answered(Box<answered::Answered>),
}

struct Entry {
    phase: Phase,
    channels: Channels,
    owner: Weak<Owner>,
}

/// The SDK's application on the runtime's driver task.
pub(crate) struct SdkApp {
    b2bua: B2bua,
    link: Arc<Link>,
    incoming: mpsc::Sender<IncomingCall>,
    locals: Vec<(Transport, SocketAddr)>,
    decision_timeout: Duration,
    calls: HashMap<u64, Entry>,
    by_b2b: HashMap<CallId, u64>,
    by_tx: HashMap<ServerTxId, u64>,
    /// Records of the controller, waiting for their `Ended`.
    records: HashMap<CallId, Vec<LegRecord>>,
    sweep_at: Option<Instant>,
    closing: bool,
    shutdown_waiters: Vec<oneshot::Sender<()>>,
    /// Accepted calls: their media engine and their dialogs and BYEs.
    answered: Media,
}

impl SdkApp {
    pub(crate) fn new(
        b2bua: B2bua,
        link: Arc<Link>,
        incoming: mpsc::Sender<IncomingCall>,
        locals: Vec<(Transport, SocketAddr)>,
        decision_timeout: Duration,
        media: Media,
    ) -> Self {
        Self {
            b2bua,
            link,
            incoming,
            locals,
            decision_timeout,
            calls: HashMap::new(),
            by_b2b: HashMap::new(),
            by_tx: HashMap::new(),
            records: HashMap::new(),
            sweep_at: None,
            closing: false,
            shutdown_waiters: Vec::new(),
            answered: media,
        }
    }

    /// Publishes the controller's events to the handles.
    fn drain(&mut self) {
        while let Some(event) = self.b2bua.poll_event() {
            match event {
                CallEvent::StateChanged { call, state } => {
                    // Terminated is published with the record, on `Ended`.
                    if state == CallState::Terminated {
                        continue;
                    }
                    if let Some(e) = self.by_b2b.get(&call).and_then(|id| self.calls.get(id)) {
                        e.channels.publish(state, None);
                    }
                }
                CallEvent::Ended { call, cause } => {
                    info!(?call, ?cause, "back-to-back call ended");
                    let legs = self.records.remove(&call).unwrap_or_default();
                    if let Some(id) = self.by_b2b.remove(&call) {
                        self.finish_with(id, EndCause::BackToBack(cause), legs);
                    }
                }
                CallEvent::Record(record) => {
                    if self.by_b2b.contains_key(&record.call) {
                        self.records.insert(record.call, record.legs);
                    }
                }
                CallEvent::MediaFlow { call, state } => {
                    if let Some(e) = self.by_b2b.get(&call).and_then(|id| self.calls.get(id)) {
                        e.channels.publish_media(state);
                    }
                }
                #[allow(unreachable_patterns)]
                other => debug!(event = ?other, "call event"),
            }
        }
        if self.calls.is_empty() {
            self.sweep_at = None;
            for w in self.shutdown_waiters.drain(..) {
                let _ = w.send(());
            }
        }
    }

    /// Forgets call `id` and tells its handles how it ended.
    fn finish(&mut self, id: u64, cause: EndCause) {
        self.finish_with(id, cause, Vec::new());
    }

    fn finish_with(&mut self, id: u64, cause: EndCause, legs: Vec<LegRecord>) {
        let Some(e) = self.calls.remove(&id) else {
            return;
        };
        match e.phase {
            Phase::Pending { tx, .. } => {
                self.by_tx.remove(&tx);
            }
            Phase::Answered(a) => self.answered.forget(&a),
            Phase::B2b(_) => {}
        }
        let record = e.channels.record(cause, legs);
        e.channels.publish(CallState::Terminated, Some(record));
    }

    fn new_incoming(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        tx: ServerTxId,
        invite: Box<Message>,
        flow: Flow,
    ) {
        if self.closing {
            let _ = reply_retry_after(ep, now, tx, 503, "Service Unavailable");
            return;
        }
        let id = self.link.next_id();
        let (channels, receivers) = Channels::new();
        let owner = Arc::new(Owner {
            id,
            link: Arc::clone(&self.link),
        });
        let weak = Arc::downgrade(&owner);
        let call = IncomingCall::new(
            Call::new(id, Arc::new(CallInfo::of_invite(&invite, flow)), receivers),
            owner,
        );
        match self.incoming.try_send(call) {
            Ok(()) => {
                self.by_tx.insert(tx, id);
                self.calls.insert(
                    id,
                    Entry {
                        phase: Phase::Pending {
                            tx,
                            invite,
                            flow,
                            received: now,
                            deadline: now + self.decision_timeout,
                        },
                        channels,
                        owner: weak,
                    },
                );
                self.arm_sweep(now);
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                warn!("incoming-call queue full; INVITE refused with 503");
                let _ = reply_retry_after(ep, now, tx, 503, "Service Unavailable");
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                debug!("nobody takes incoming calls; INVITE declined 480");
                let _ = ep.reply(now, tx, 480, "Temporarily Unavailable");
            }
        }
    }

    fn arm_sweep(&mut self, now: Instant) {
        if self.sweep_at.is_none() {
            self.sweep_at = Some(now + SWEEP);
        }
    }

    fn decline(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        id: u64,
        (status, reason): (u16, &str),
        headers: &[(HeaderName, String)],
        cause: EndCause,
    ) -> Result<(), DeclineError> {
        if !(300..=699).contains(&status) {
            return Err(DeclineError::InvalidStatus(status));
        }
        let Some(Phase::Pending { tx, .. }) = self.calls.get(&id).map(|e| &e.phase) else {
            return Err(DeclineError::NotPending);
        };
        let tx = *tx;
        let mut response = ep
            .make_response(tx, status, reason)
            .map_err(|e| DeclineError::Refused(e.to_string()))?;
        for (name, value) in headers {
            response
                .push_header(name, value)
                .map_err(|e| DeclineError::BadHeader(e.to_string()))?;
        }
        ep.respond(now, tx, response)
            .map_err(|e| DeclineError::Refused(e.to_string()))?;
        self.finish(id, cause);
        Ok(())
    }

    fn establish(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        id: u64,
        outgoing: Outgoing,
    ) -> Result<(), EstablishError> {
        let Some(entry) = self.calls.get_mut(&id) else {
            return Err(EstablishError::CallerGone);
        };
        let Phase::Pending { tx, flow, .. } = &entry.phase else {
            return Err(EstablishError::AlreadyStarted);
        };
        let (tx, flow) = (*tx, *flow);
        let Some(settings) = self.leg_settings(outgoing, Some(flow)) else {
            let _ = self.decline(
                ep,
                now,
                id,
                (480, "Temporarily Unavailable"),
                &[],
                EndCause::Declined { status: 480 },
            );
            return Err(EstablishError::NoTransport);
        };
        let Some(Phase::Pending { invite, .. }) = self.calls.get(&id).map(|e| &e.phase) else {
            return Err(EstablishError::CallerGone);
        };
        match self.b2bua.establish(ep, now, tx, invite, settings) {
            Ok(call) => {
                debug!(?call, "back-to-back call establishing");
                self.by_tx.remove(&tx);
                self.by_b2b.insert(call, id);
                if let Some(e) = self.calls.get_mut(&id) {
                    e.phase = Phase::B2b(call);
                }
                Ok(())
            }
            Err(e) => {
                let (status, reason) = match &e {
                    tandem_call::CallError::TooManyHops => (483, "Too Many Hops"),
                    tandem_call::CallError::BadSdp => (488, "Not Acceptable Here"),
                    _ => (500, "Server Internal Error"),
                };
                let _ = self.decline(
                    ep,
                    now,
                    id,
                    (status, reason),
                    &[],
                    EndCause::Declined { status },
                );
                Err(EstablishError::Refused { status, error: e })
            }
        }
    }

    /// The controller's settings of an outgoing leg: its resolved targets as flows from the
    /// socket of their transport (`near`: the incoming leg's flow, whose local address is
    /// preferred for its transport). `None`: no target is reachable from this endpoint.
    fn leg_settings(&self, outgoing: Outgoing, near: Option<Flow>) -> Option<LegSettings> {
        let flows: Vec<Flow> = outgoing
            .targets
            .iter()
            .filter_map(|t| {
                let local = match near {
                    Some(f) if f.transport == t.transport => Some(f.local),
                    _ => self
                        .locals
                        .iter()
                        .find(|(tr, _)| *tr == t.transport)
                        .map(|(_, a)| *a),
                };
                // A socket of one address family cannot reach the other.
                let local = local.filter(|l| l.is_ipv4() == t.addr.is_ipv4());
                local.map(|local| Flow {
                    transport: t.transport,
                    local,
                    remote: t.addr,
                })
            })
            .collect();
        let (first, rest) = flows.split_first()?;
        let mut settings = LegSettings::new(*first, outgoing.target);
        settings.fallbacks = rest.to_vec();
        settings.from = outgoing.from;
        settings.asserted_identity = outgoing.asserted_identity;
        settings.extra_headers = outgoing.headers;
        settings.pass_through = outgoing.pass_through;
        settings.ring_timeout = outgoing.ring_timeout;
        settings.max_duration = outgoing.max_duration;
        settings.credentials = outgoing.credentials;
        settings.session_expires = outgoing.session_expires;
        Some(settings)
    }

    /// Starts an originated call (RFC 3725 Flow I) whose handles already exist.
    fn originate(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        start: Originate,
    ) -> Result<(), EstablishError> {
        let Originate {
            id,
            first,
            second,
            channels,
            owner,
        } = start;
        if self.closing {
            channels.fail(EndCause::Shutdown);
            return Err(EstablishError::EndpointClosed);
        }
        let (Some(first), Some(second)) = (
            self.leg_settings(*first, None),
            self.leg_settings(*second, None),
        ) else {
            channels.fail(EndCause::NotPlaced);
            return Err(EstablishError::NoTransport);
        };
        let call = match self.b2bua.originate(ep, now, first, second) {
            Ok(call) => call,
            Err(error) => {
                channels.fail(EndCause::NotPlaced);
                return Err(EstablishError::NotPlaced(error));
            }
        };
        debug!(?call, "originated call establishing");
        self.by_b2b.insert(call, id);
        self.calls.insert(
            id,
            Entry {
                phase: Phase::B2b(call),
                channels,
                owner,
            },
        );
        self.arm_sweep(now);
        Ok(())
    }

    fn terminate(&mut self, ep: &mut Endpoint, now: Instant, id: u64, reason: &Reason) {
        let Some(e) = self.calls.get(&id) else {
            return;
        };
        match e.phase {
            Phase::Pending { .. } => {
                let headers = [(HeaderName::Reason, reason.header_value())];
                let _ = self.decline(
                    ep,
                    now,
                    id,
                    (480, "Temporarily Unavailable"),
                    &headers,
                    EndCause::Declined { status: 480 },
                );
            }
            Phase::B2b(call) => {
                if let Err(err) = self.b2bua.terminate(ep, now, call, reason) {
                    debug!(?call, error = %err, "terminate");
                }
            }
            Phase::Answered(_) => {
                self.answered_bye(ep, now, id, reason, tandem_call::EndCause::Terminated);
            }
        }
    }

    fn abandon(&mut self, ep: &mut Endpoint, now: Instant, id: u64) {
        let Some(e) = self.calls.get(&id) else {
            return;
        };
        if e.owner.strong_count() > 0 {
            return;
        }
        match e.phase {
            Phase::Pending { .. } => {
                debug!(id, "incoming call dropped undecided: 480");
                let _ = self.decline(
                    ep,
                    now,
                    id,
                    (480, "Temporarily Unavailable"),
                    &[],
                    EndCause::Abandoned,
                );
            }
            Phase::B2b(_) | Phase::Answered(_) => {
                debug!(id, "call dropped: terminated");
                self.terminate(ep, now, id, &Reason::new(200, "Call completed"));
            }
        }
    }

    fn shutdown(&mut self, ep: &mut Endpoint, now: Instant, reply: oneshot::Sender<()>) {
        self.closing = true;
        let ids: Vec<u64> = self.calls.keys().copied().collect();
        for id in ids {
            let pending = matches!(
                self.calls.get(&id).map(|e| &e.phase),
                Some(Phase::Pending { .. })
            );
            if pending {
                let _ = self.decline(
                    ep,
                    now,
                    id,
                    (503, "Service Unavailable"),
                    &[],
                    EndCause::Shutdown,
                );
            } else {
                self.terminate(ep, now, id, &Reason::new(503, "Service shutting down"));
            }
        }
        self.shutdown_waiters.push(reply);
    }
}

impl SipApp for SdkApp {
    type Command = Command;

    fn handle_event(&mut self, ep: &mut Endpoint, now: Instant, event: Event) {
        if let Some(event) = self.b2bua.handle_event(ep, now, event) {
            match event {
                Event::Request { tx, request, flow } => {
                    self.handle_request(ep, now, tx, request, flow)
                }
                Event::Cancelled { tx } => {
                    // §9.2: the endpoint answered 487; the application's handle learns it.
                    if let Some(id) = self.by_tx.get(&tx).copied() {
                        self.finish(id, EndCause::CallerCancelled);
                    }
                }
                Event::Ack { tx, ack } => self.answered_ack(ep, now, tx, &ack),
                Event::AckTimeout { tx } => self.answered_ack_timeout(ep, now, tx),
                Event::Response { tx, response } => self.answered_bye_done(ep, tx, Some(&response)),
                Event::Timeout { tx } => self.answered_bye_done(ep, tx, None),
                Event::SessionExpired { dialog } => self.answered_expired(ep, dialog),
                Event::Discarded { reason, .. } => debug!(%reason, "message discarded"),
                other => debug!(event = ?other, "endpoint event"),
            }
        }
        self.drain();
    }

    fn handle_command(&mut self, ep: &mut Endpoint, now: Instant, command: Command) {
        match command {
            Command::Decline {
                id,
                status,
                reason,
                headers,
                cause,
                reply,
            } => {
                let r = self.decline(ep, now, id, (status, &reason), &headers, cause);
                let _ = reply.send(r);
            }
            Command::Accept { id, options, reply } => {
                let r = self.accept(ep, now, id, options);
                let _ = reply.send(r);
            }
            Command::Establish {
                id,
                outgoing,
                reply,
            } => {
                let r = self.establish(ep, now, id, *outgoing);
                let _ = reply.send(r);
            }
            Command::Originate { start, reply } => {
                let r = self.originate(ep, now, *start);
                let _ = reply.send(r);
            }
            Command::Terminate { id, reason, reply } => {
                self.terminate(ep, now, id, &reason);
                let _ = reply.send(());
            }
            Command::Abandon { id } => self.abandon(ep, now, id),
            Command::Info { id, reply } => {
                let info = match self.calls.get(&id).map(|e| &e.phase) {
                    Some(Phase::B2b(call)) => self.b2bua.info(*call),
                    _ => None,
                };
                let _ = reply.send(info);
            }
            Command::Count { reply } => {
                let _ = reply.send(self.calls.len());
            }
            Command::Shutdown { reply } => self.shutdown(ep, now, reply),
        }
        self.drain();
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let decisions = self.calls.values().filter_map(|e| match e.phase {
            Phase::Pending { deadline, .. } => Some(deadline),
            Phase::B2b(_) | Phase::Answered(_) => None,
        });
        decisions
            .chain(self.sweep_at)
            .chain(self.b2bua.poll_timeout())
            .min()
    }

    fn handle_timeout(&mut self, ep: &mut Endpoint, now: Instant) {
        // Ring timeouts and maximum durations of the controller's calls.
        if self.b2bua.poll_timeout().is_some_and(|t| t <= now) {
            self.b2bua.handle_timeout(ep, now);
        }
        let expired: Vec<u64> = self
            .calls
            .iter()
            .filter(|(_, e)| matches!(e.phase, Phase::Pending { deadline, .. } if deadline <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            info!(id, "no decision on an incoming call in time: 480");
            let _ = self.decline(
                ep,
                now,
                id,
                (480, "Temporarily Unavailable"),
                &[],
                EndCause::Abandoned,
            );
        }
        if self.sweep_at.is_some_and(|t| t <= now) {
            self.sweep_at = None;
            let orphans: Vec<u64> = self
                .calls
                .iter()
                .filter(|(_, e)| e.owner.strong_count() == 0)
                .map(|(id, _)| *id)
                .collect();
            for id in orphans {
                self.abandon(ep, now, id);
            }
            if !self.calls.is_empty() {
                self.arm_sweep(now);
            }
        }
        self.drain();
    }
}

impl SdkApp {
    fn handle_request(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        tx: ServerTxId,
        request: Box<Message>,
        flow: Flow,
    ) {
        let in_dialog = request
            .typed::<ToHeader<'_>>()
            .ok()
            .flatten()
            .is_some_and(|to| to.0.tag().is_some());
        if let Some(id) = ep
            .dialog_of_server_tx(tx)
            .and_then(|d| self.answered.call_of(d))
        {
            self.answered_request(ep, now, id, tx, &request);
            return;
        }
        let result = match request.method() {
            // §12.2.2: a request naming a dialog Tandem does not have.
            _ if in_dialog => ep.reply(now, tx, 481, "Call/Transaction Does Not Exist"),
            Some(Method::Invite) => {
                self.new_incoming(ep, now, tx, request, flow);
                Ok(())
            }
            Some(Method::Options) => ep.make_response(tx, 200, "OK").and_then(|mut r| {
                r.push_header(&HeaderName::Allow, &allow_value(ep))?;
                ep.respond(now, tx, r)
            }),
            Some(Method::Bye) => ep.reply(now, tx, 481, "Call/Transaction Does Not Exist"),
            _ => ep.reply(now, tx, 501, "Not Implemented"),
        };
        if let Err(e) = result {
            debug!(error = %e, "could not answer a request");
        }
    }
}

fn allow_value(ep: &Endpoint) -> String {
    ep.config()
        .allow
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A 503 with `Retry-After` (RFC 3261 §21.5.4).
fn reply_retry_after(
    ep: &mut Endpoint,
    now: Instant,
    tx: ServerTxId,
    status: u16,
    reason: &str,
) -> Result<(), tandem_sip_core::RespondError> {
    let mut r = ep.make_response(tx, status, reason)?;
    r.push_header(&HeaderName::new("Retry-After"), "5")?;
    ep.respond(now, tx, r)
}
