//! The sans-IO SIP endpoint: transport-level checks, transaction matching and the UAS core's
//! automatic answers, around the four transaction machines.
//!
//! Inputs: [`Endpoint::handle_datagram`], [`Endpoint::handle_frame`],
//! [`Endpoint::handle_timeout`], [`Endpoint::handle_transport_error`] and the commands
//! ([`Endpoint::send_request`], [`Endpoint::send_request_to_targets`],
//! [`Endpoint::respond`], [`Endpoint::respond_reliably`], [`Endpoint::cancel`],
//! [`Endpoint::send_ack`], [`Endpoint::notify_refer`], ...). Output: drain
//! [`Endpoint::poll_output`] after every input until it returns [`Output::Timeout`].
//!
//! Child modules hook into `send_request`, response handling, new requests, `respond`, ACKs
//! and transaction ends:
//! - `dialogs`: the dialog layer (RFC 3261 §12-§15);
//! - `retry`: UAC digest authentication (§22.2) and target failover (RFC 3263 §4.3), both
//!   under the handle the TU already holds;
//! - `prack`: reliable provisional responses (RFC 3262);
//! - `session`: session timers (RFC 4028);
//! - `refer`: REFER's implicit subscription (RFC 3515) and Replaces (RFC 3891).

mod build;
mod dialogs;
mod incoming;
mod prack;
mod refer;
mod retry;
mod session;

pub use refer::{ReferTarget, refer_to};

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tandem_sip_msg::headers::{CSeq, CallId, FromHeader, ToHeader, Via};
use tandem_sip_msg::{Frame, HeaderName, Message, Method, Verdict};

use crate::auth::DigestClient;
use crate::config::EndpointConfig;
use crate::dialog::{Dialog, DialogKey};
use crate::error::{RespondError, SendError};
use crate::slab::{Slab, SlotId};
use crate::timer::{Owner, TimerName, TimerQueue};
use crate::transaction::server::RespondOutcome;
use crate::transaction::{
    Action, ClientKey, ClientKind, ClientState, ClientTx, ServerKey, ServerKind, ServerState,
    ServerTx,
};
use crate::transport::{Flow, Transmit};
use crate::uas::{UasPolicy, check_request};

pub use build::host_port;
use build::{compacted, lists_token, mentions_100rel, parsed_as, unfold};
pub(crate) use build::{derived_request, response_to};

/// Opaque handle of a client transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientTxId(SlotId);

/// Opaque handle of a server transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerTxId(SlotId);

/// What the endpoint reports to its user.
#[derive(Debug, Clone)]
pub enum Event {
    /// A new request, with its server transaction: answer it with [`Endpoint::respond`].
    /// Requests the UAS core answers itself (405, 415, 416, 420, 482, CANCEL) never appear.
    Request {
        /// Its server transaction.
        tx: ServerTxId,
        /// The request (top Via already carries `received`/`rport`, RFC 3581).
        request: Box<Message>,
        /// Where it came from.
        flow: Flow,
    },
    /// The ACK for a 2xx sent on `tx` (RFC 6026 §7.1).
    Ack {
        /// The INVITE's server transaction.
        tx: ServerTxId,
        /// The ACK.
        ack: Box<Message>,
    },
    /// An ACK matching no transaction, e.g. for a 2xx whose transaction already ended, or one
    /// the dialog layer must match by dialog (§13.2.2.4).
    StrayAck {
        /// The ACK.
        ack: Box<Message>,
        /// Where it came from.
        flow: Flow,
    },
    /// A CANCEL matched the INVITE of `tx` before its final response: the endpoint answered
    /// 200 to the CANCEL and 487 to the INVITE (§9.2).
    Cancelled {
        /// The INVITE's server transaction.
        tx: ServerTxId,
    },
    /// A response to a request sent with [`Endpoint::send_request`] (or another command
    /// returning a [`ClientTxId`]). When the endpoint retried the request under the same
    /// handle (authentication, failover, 422), provisional responses of every attempt come
    /// up, but only the final response(s) of the last attempt.
    Response {
        /// Its client transaction.
        tx: ClientTxId,
        /// The response.
        response: Box<Message>,
    },
    /// The client transaction timed out (Timer B or F), or its transport failed
    /// ([`Endpoint::handle_transport_error`]), on its last target: treat as a 408 or 503
    /// (§8.1.3.1).
    Timeout {
        /// The transaction.
        tx: ClientTxId,
    },
    /// An INVITE server transaction ended without the ACK it waited for: Timer H after a
    /// non-2xx, or Timer L after a 2xx (the dialog must then be ended with BYE, §13.3.1.4).
    AckTimeout {
        /// The transaction.
        tx: ServerTxId,
    },
    /// No PRACK acknowledged the reliable provisional response sent on `tx` within 64·T1:
    /// the endpoint answered the INVITE 500 (RFC 3262 §3).
    PrackTimeout {
        /// The INVITE's server transaction.
        tx: ServerTxId,
    },
    /// The session timer of `dialog` expired without a refresh (RFC 4028 §10): the endpoint
    /// sent BYE in it; the dialog ends with that BYE's response or timeout.
    SessionExpired {
        /// The dialog.
        dialog: crate::DialogId,
    },
    /// A message was dropped without an answer (malformed response, stray response).
    Discarded {
        /// Where it came from.
        flow: Flow,
        /// Why.
        reason: String,
    },
}

/// One step of output.
#[derive(Debug, Clone)]
pub enum Output {
    /// Bytes to send.
    Transmit(Transmit),
    /// Something for the transaction user.
    Event(Event),
    /// Nothing more for now: call [`Endpoint::handle_timeout`] at this deadline (`None`: no
    /// timer is pending; wait for input).
    Timeout(Option<Instant>),
}

struct ClientEntry {
    tx: ClientTx,
    key: ClientKey,
    flow: Flow,
    request: Message,
    /// The dialog the request was sent in.
    dialog: Option<SlotId>,
    /// An INVITE sent outside any dialog: its responses create dialogs.
    creates_dialogs: bool,
    /// Dialogs its responses created, by remote (To) tag: one per fork (§13.2.2.4).
    forks: Vec<(Arc<str>, SlotId)>,
    /// Whether the TU hears of its responses and timeout.
    report: Report,
    /// Targets still to try after this one (RFC 3263 §4.3), in order.
    targets: VecDeque<Flow>,
    /// Challenges answered so far (RFC 3261 §22.2, §22.3), recomputed on every retry.
    auth: Vec<retry::Answered>,
    /// How many times the request was re-sent with credentials.
    auth_retries: usize,
    /// Whether it was re-sent after a 422 (RFC 4028 §7.4: once).
    session_retried: bool,
}

impl ClientEntry {
    fn new(tx: ClientTx, key: ClientKey, flow: Flow, request: Message) -> Self {
        Self {
            tx,
            key,
            flow,
            request,
            dialog: None,
            creates_dialogs: false,
            forks: Vec::new(),
            report: Report::Tu,
            targets: VecDeque::new(),
            auth: Vec::new(),
            auth_retries: 0,
            session_retried: false,
        }
    }
}

/// Who hears of a client transaction's responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Report {
    /// The transaction user: a transaction it started (or the current attempt of one).
    Tu,
    /// Nobody: an attempt replaced by an authenticated or failed-over retry (kept to absorb
    /// retransmissions of its final response and ACK them, §17.1.1.2), or a request the
    /// endpoint sent by itself (PRACK).
    Silent,
}

struct ServerEntry {
    tx: ServerTx,
    key: ServerKey,
    /// Where responses go (§18.2.2).
    flow: Flow,
    /// The request; `None` once an INVITE's 2xx is acknowledged: the transaction then only
    /// absorbs retransmissions of the INVITE and its ACK until Timer L (RFC 6026 §7.1), which
    /// its key and [`Self::ack_key`] match, and a held call does not keep the INVITE 32 s.
    request: Option<Box<Message>>,
    /// The key of this INVITE in the endpoint's `accepted_index`, once it sent a 2xx.
    ack_key: Option<AckKey>,
    /// To tag of Tandem's responses (§8.2.6.2: one per transaction, so every response of an
    /// INVITE transaction names the same dialog): the random number [`Endpoint::new_tag`]
    /// writes as 16 hex digits, written so only in the responses.
    to_tag: u64,
    merge_key: Option<MergeKey>,
    /// The dialog the request arrived in, or the one this transaction's responses created.
    dialog: Option<SlotId>,
    /// An INVITE without To tag: its 1xx-with-tag or 2xx creates a dialog (§12.1.1).
    creates_dialog: bool,
    /// Reliable provisional responses of this INVITE (RFC 3262).
    reliable: prack::Reliable,
    /// The TU was told of this request (`Event::Request`); the UAS core's own rejections
    /// are not, and their timers report nothing.
    announced: bool,
}

/// §8.2.2.2: requests without a To tag are merged when From tag, Call-ID and CSeq match a
/// transaction already in progress.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct MergeKey {
    from_tag: Arc<str>,
    call_id: Arc<str>,
    cseq: u32,
    method: Method,
}

/// What identifies the INVITE an ACK for a 2xx acknowledges.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct AckKey {
    call_id: Arc<str>,
    from_tag: Arc<str>,
    cseq: u32,
}

impl AckKey {
    fn of(m: &Message) -> Option<Self> {
        Some(Self {
            call_id: m.typed::<CallId<'_>>().ok()??.0.into(),
            from_tag: m
                .typed::<FromHeader<'_>>()
                .ok()??
                .0
                .tag()
                .unwrap_or_default()
                .into(),
            cseq: m.typed::<CSeq>().ok()??.seq,
        })
    }
}

/// The sans-IO SIP endpoint.
pub struct Endpoint {
    config: EndpointConfig,
    rng: SmallRng,
    clients: Slab<ClientEntry>,
    servers: Slab<ServerEntry>,
    client_index: HashMap<ClientKey, SlotId>,
    server_index: HashMap<ServerKey, SlotId>,
    merge_index: HashMap<MergeKey, SlotId>,
    /// INVITE transactions that sent a 2xx, by the dialog fields an ACK for it carries (its
    /// own branch differs, §17.1.1.3): Call-ID, From tag, CSeq number.
    accepted_index: HashMap<AckKey, SlotId>,
    dialogs: Slab<Dialog>,
    dialog_index: HashMap<DialogKey, SlotId>,
    timers: TimerQueue,
    outputs: VecDeque<Output>,
    /// The UAC's credentials, by realm (RFC 3261 §22.2).
    credentials: Vec<retry::StoredCredentials>,
    /// Answers challenges (cnonces from an RNG seeded from the endpoint's seed).
    digest: DigestClient,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("clients", &self.clients.len())
            .field("servers", &self.servers.len())
            .field("dialogs", &self.dialogs.len())
            .field("timers", &self.timers.len())
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// A new endpoint.
    pub fn new(config: EndpointConfig) -> Self {
        Self {
            rng: SmallRng::seed_from_u64(config.seed),
            digest: DigestClient::new(config.seed ^ 0x6469_6765_7374),
            credentials: Vec::new(),
            config,
            clients: Slab::new(),
            servers: Slab::new(),
            client_index: HashMap::new(),
            server_index: HashMap::new(),
            merge_index: HashMap::new(),
            accepted_index: HashMap::new(),
            dialogs: Slab::new(),
            dialog_index: HashMap::new(),
            timers: TimerQueue::default(),
            outputs: VecDeque::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }

    /// Live transactions: (client, server). Both are zero once every call has ended and its
    /// timers have run.
    pub fn transaction_counts(&self) -> (usize, usize) {
        (self.clients.len(), self.servers.len())
    }

    // ----- inputs -----

    /// One UDP datagram (RFC 3261 §18.3: one message per datagram).
    pub fn handle_datagram(&mut self, now: Instant, flow: Flow, bytes: Bytes) {
        let raw = bytes.clone();
        let verdict = tandem_sip_msg::check_datagram(bytes, &self.config.limits);
        self.handle_verdict(now, flow, verdict, &raw);
    }

    /// One frame from a stream transport's framer. Keep-alive frames are the transport's
    /// business (RFC 5626 §4.4.1) and are ignored here.
    pub fn handle_frame(&mut self, now: Instant, flow: Flow, frame: Frame) {
        match frame {
            Frame::Message(m) => {
                let raw = m.to_bytes();
                let verdict = tandem_sip_msg::check_message(*m);
                self.handle_verdict(now, flow, verdict, &raw);
            }
            Frame::Malformed { raw, .. } => {
                // The framer delimited it by Content-Length, so the datagram rules give the
                // same verdict with its reason phrase.
                let verdict = tandem_sip_msg::check_datagram(raw.clone(), &self.config.limits);
                self.handle_verdict(now, flow, verdict, &raw);
            }
            Frame::Ping | Frame::Pong => {}
        }
    }

    /// Time passed: fire every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((at, entry)) = self.timers.pop_due(now) {
            match entry.owner {
                Owner::Client(id) => {
                    let Some(e) = self.clients.get_mut(id) else {
                        continue;
                    };
                    if !e.tx.deadlines.wants(entry.name, at) {
                        continue;
                    }
                    let actions = e.tx.on_timer(entry.name, now, &self.config.timers);
                    self.run_client(now, id, actions, None);
                }
                Owner::Dialog(d) => {
                    let Some(dl) = self.dialogs.get_mut(d) else {
                        continue;
                    };
                    let Some(dd) = dl
                        .deadlines
                        .as_deref_mut()
                        .filter(|d| d.wants(entry.name, at))
                    else {
                        continue;
                    };
                    dd.clear(entry.name);
                    self.session_on_timer(now, d, entry.name);
                }
                Owner::Server(id) => {
                    let Some(e) = self.servers.get_mut(id) else {
                        continue;
                    };
                    if !e.tx.deadlines.wants(entry.name, at) {
                        continue;
                    }
                    if entry.name == TimerName::Rel1xx {
                        e.tx.deadlines.clear(TimerName::Rel1xx);
                        self.prack_on_timer(now, id);
                        continue;
                    }
                    let actions = e.tx.on_timer(entry.name, now, &self.config.timers);
                    self.run_server(id, actions, None);
                }
            }
        }
    }

    /// The next output. Drain until [`Output::Timeout`].
    pub fn poll_output(&mut self) -> Output {
        if let Some(o) = self.outputs.pop_front() {
            return o;
        }
        Output::Timeout(self.next_deadline())
    }

    // ----- commands -----

    /// Sends a request in a new client transaction on `flow`.
    ///
    /// The endpoint adds the top Via (`SIP/2.0/<transport> <flow.local>;branch=z9hG4bK…;rport`,
    /// RFC 3261 §8.1.1.7, RFC 3581, with `;alias` on the transports of
    /// [`EndpointConfig::via_alias`], RFC 5923), `Max-Forwards: 70` when absent (§8.1.1.6),
    /// `Content-Length` when absent, and to an INVITE without Contact `<sip:{flow.local}>`
    /// (§8.1.1.8). ACK is not sent this way: see [`Self::send_ack`].
    ///
    /// An INVITE without To tag creates dialogs from its responses (§12.1.2); a request
    /// carrying the Call-ID and tags of a dialog is counted in it (prefer
    /// [`Self::send_in_dialog`], which also manages CSeq and routing).
    pub fn send_request(
        &mut self,
        now: Instant,
        request: Message,
        flow: Flow,
    ) -> Result<ClientTxId, SendError> {
        self.start_client(now, request, flow, VecDeque::new())
    }

    /// Sends a request as [`Self::send_request`] to the first of `targets`, an ordered list of
    /// resolved destinations (RFC 3263 §4.3: the runtime resolved the URI; the endpoint
    /// walks the list). The next target is tried, in a new client transaction with a new
    /// branch and the same CSeq, when the current one times out (Timer B or F), fails at the
    /// transport ([`Self::handle_transport_error`]) or answers 503 (an INVITE that already
    /// created early dialogs is not failed over). The handle stays the same for every
    /// attempt and the TU sees only the outcome of the last one: its responses, or
    /// [`Event::Timeout`] when every target failed.
    pub fn send_request_to_targets(
        &mut self,
        now: Instant,
        request: Message,
        targets: Vec<Flow>,
    ) -> Result<ClientTxId, SendError> {
        let mut targets: VecDeque<Flow> = targets.into();
        let first = targets.pop_front().ok_or(SendError::NoTarget)?;
        self.start_client(now, request, first, targets)
    }

    fn start_client(
        &mut self,
        now: Instant,
        mut request: Message,
        flow: Flow,
        targets: VecDeque<Flow>,
    ) -> Result<ClientTxId, SendError> {
        let method = request.method().ok_or(SendError::NotARequest)?;
        if method == Method::Ack {
            return Err(SendError::AckNeedsNoTransaction);
        }
        let (flow, targets) = self.stream_for_large(&request, flow, targets);
        let (key, kind) = self.prepare_request(&mut request, flow, method)?;
        let octets = request.to_bytes();
        let (tx, actions) = ClientTx::start(
            kind,
            octets.clone(),
            flow.transport.is_reliable(),
            now,
            &self.config.timers,
        );
        let request = parsed_as(request, octets);
        let mut entry = ClientEntry::new(tx, key.clone(), flow, request);
        entry.targets = targets;
        let id = self.clients.insert(entry);
        self.client_index.insert(key, id);
        self.dialog_on_send(id);
        self.run_client(now, id, actions, None);
        Ok(ClientTxId(id))
    }

    /// RFC 3261 §18.1.1: a request that would be larger than the UDP limit once Tandem's Via
    /// is added goes over TCP (when Tandem listens on TCP), and the UDP flow becomes the
    /// first fallback target, so a refused connection retries over UDP as the RFC asks.
    fn stream_for_large(
        &self,
        request: &Message,
        flow: Flow,
        mut targets: VecDeque<Flow>,
    ) -> (Flow, VecDeque<Flow>) {
        /// Room for the Via, Max-Forwards and Content-Length the endpoint adds.
        const ADDED: usize = 160;
        let Some(local) = self.config.stream_local else {
            return (flow, targets);
        };
        if flow.transport != crate::Transport::Udp
            || request.encoded_len() + ADDED <= self.config.udp_request_limit
        {
            return (flow, targets);
        }
        targets.push_front(flow);
        (
            Flow {
                transport: crate::Transport::Tcp,
                local,
                ..flow
            },
            targets,
        )
    }

    /// The request of client transaction `tx` as last sent: after an authentication retry
    /// or a failover, the current attempt (new branch, and new CSeq for authentication).
    pub fn client_request(&self, tx: ClientTxId) -> Option<&Message> {
        self.clients.get(tx.0).map(|e| &e.request)
    }

    /// Adds the top Via with a new branch, Max-Forwards, Contact (INVITE) and Content-Length.
    fn prepare_request(
        &mut self,
        request: &mut Message,
        flow: Flow,
        method: Method,
    ) -> Result<(ClientKey, ClientKind), SendError> {
        let branch = self.new_branch();
        let via = self.top_via(flow, &branch);
        request.insert_header(0, &HeaderName::Via, &via)?;
        if request.value(&HeaderName::MaxForwards).is_none() {
            request.push_header(&HeaderName::MaxForwards, "70")?;
        }
        if method == Method::Invite && request.value(&HeaderName::Contact).is_none() {
            request.push_header(
                &HeaderName::Contact,
                &format!("<sip:{}>", host_port(flow.local)),
            )?;
        }
        if method == Method::Invite
            && self.supports_100rel()
            && !mentions_100rel(request, &HeaderName::Supported)
            && !mentions_100rel(request, &HeaderName::Require)
        {
            request.push_header(&HeaderName::Supported, "100rel")?;
        }
        if matches!(method, Method::Invite | Method::Update) {
            self.session_prepare_request(request)?;
        }
        if request.value(&HeaderName::ContentLength).is_none() {
            request.push_header(
                &HeaderName::ContentLength,
                &request.body().len().to_string(),
            )?;
        }
        let kind = if method == Method::Invite {
            ClientKind::Invite
        } else {
            ClientKind::NonInvite
        };
        let branch = branch.into();
        Ok((ClientKey { branch, method }, kind))
    }

    /// Sends CANCEL for the INVITE of `tx` (§9.1) in a client transaction of its own.
    /// Only allowed once a provisional response has arrived, as §9.1 requires.
    pub fn cancel(&mut self, now: Instant, tx: ClientTxId) -> Result<ClientTxId, SendError> {
        let entry = self.clients.get(tx.0).ok_or(SendError::NoSuchTransaction)?;
        if entry.tx.kind != ClientKind::Invite {
            return Err(SendError::NotAnInvite);
        }
        if entry.tx.state != ClientState::Proceeding {
            return Err(SendError::CancelNotAllowed);
        }
        // One CANCEL per INVITE: asking again returns the CANCEL already in flight.
        let cancel_key = ClientKey {
            branch: entry.key.branch.clone(),
            method: Method::Cancel,
        };
        if let Some(&existing) = self.client_index.get(&cancel_key) {
            return Ok(ClientTxId(existing));
        }
        let cancel = derived_request(&entry.request, Method::Cancel, None)?;
        let bytes = cancel.to_bytes();
        let cancel = parsed_as(cancel, bytes.clone());
        let flow = entry.flow;
        let (ctx, actions) = ClientTx::start(
            ClientKind::NonInvite,
            bytes,
            flow.transport.is_reliable(),
            now,
            &self.config.timers,
        );
        // The CANCEL reuses the INVITE's branch (§9.1); its key differs by method.
        let key = ClientKey {
            branch: entry.key.branch.clone(),
            method: Method::Cancel,
        };
        let id = self
            .clients
            .insert(ClientEntry::new(ctx, key.clone(), flow, cancel));
        self.client_index.insert(key, id);
        self.run_client(now, id, actions, None);
        // §9.1: the INVITE ends 64·T1 after the CANCEL even if no final response ever comes.
        if let Some(e) = self.clients.get_mut(tx.0) {
            let guard = e.tx.arm_cancel_guard(now, &self.config.timers);
            self.run_client(now, tx.0, guard, None);
        }
        Ok(ClientTxId(id))
    }

    /// Sends an ACK for a 2xx, outside any transaction (§13.2.2.4, §17.1.1.3). The ACK must be
    /// complete (the dialog layer builds it); the endpoint only adds a Via with a new branch.
    pub fn send_ack(&mut self, mut ack: Message, flow: Flow) -> Result<Bytes, SendError> {
        let branch = self.new_branch();
        let via = self.top_via(flow, &branch);
        ack.insert_header(0, &HeaderName::Via, &via)?;
        if ack.value(&HeaderName::ContentLength).is_none() {
            ack.push_header(&HeaderName::ContentLength, &ack.body().len().to_string())?;
        }
        let bytes = ack.to_bytes();
        self.outputs.push_back(Output::Transmit(Transmit {
            flow,
            payload: bytes.clone(),
        }));
        Ok(bytes)
    }

    /// A response to the request of `tx`, built per §8.2.6.2: Via, From, To (with the
    /// transaction's tag unless `status` is 100), Call-ID and CSeq copied, a `Server` header,
    /// no body. Add headers or a body, then pass it to [`Self::respond`].
    ///
    /// [`RespondError::AlreadyFinal`] once the 2xx of an INVITE was acknowledged: the
    /// transaction then no longer holds the request (RFC 6026 §7.1), and no response could be
    /// sent anyway.
    pub fn make_response(
        &self,
        tx: ServerTxId,
        status: u16,
        reason: &str,
    ) -> Result<Message, RespondError> {
        let e = self
            .servers
            .get(tx.0)
            .ok_or(RespondError::NoSuchTransaction)?;
        let hex = hex16(e.to_tag);
        let tag = (status > 100).then(|| std::str::from_utf8(&hex).unwrap_or_default());
        // The request is gone only once the 2xx was acknowledged.
        let request = e.request.as_deref().ok_or(RespondError::AlreadyFinal)?;
        Ok(response_to(
            request,
            status,
            reason,
            tag,
            &self.config.server,
        )?)
    }

    /// Sends `response` in server transaction `tx`.
    ///
    /// Dialogs (§12.1.1): a 101-199 with a To tag or a 2xx to an INVITE received outside a
    /// dialog creates one (early or confirmed); such a response, and a 2xx to an in-dialog
    /// INVITE or UPDATE, gets `Contact: <sip:{flow.local}>` when it has none, and a
    /// dialog-creating one the request's Record-Route when it has none. A non-2xx final ends
    /// the early dialog; a 2xx to BYE ends the dialog.
    pub fn respond(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        mut response: Message,
    ) -> Result<(), RespondError> {
        let status = response.status().ok_or(RespondError::NotAResponse)?;
        self.dialog_prepare_response(tx.0, &mut response, status);
        self.session_prepare_response(tx.0, &mut response, status);
        if response.value(&HeaderName::ContentLength).is_none() {
            response.push_header(
                &HeaderName::ContentLength,
                &response.body().len().to_string(),
            )?;
        }
        let e = self
            .servers
            .get_mut(tx.0)
            .ok_or(RespondError::NoSuchTransaction)?;
        match e
            .tx
            .respond(status, response.to_bytes(), now, &self.config.timers)
        {
            RespondOutcome::Sent(actions) => {
                if status >= 200 {
                    // RFC 3262 §3: a final response ends the wait for PRACKs.
                    e.reliable.pending = None;
                    e.tx.deadlines.clear(TimerName::Rel1xx);
                }
                // The merge key, when there is one, holds the same Call-ID and From tag.
                let ack_key = e.merge_key.as_ref().map(|m| AckKey {
                    call_id: m.call_id.clone(),
                    from_tag: m.from_tag.clone(),
                    cseq: m.cseq,
                });
                if e.tx.state == ServerState::Accepted
                    && let Some(k) = ack_key.or_else(|| e.request.as_deref().and_then(AckKey::of))
                {
                    self.accepted_index.insert(k.clone(), tx.0);
                    e.ack_key = Some(k);
                }
                self.dialog_on_responded(tx.0, &response, status);
                self.session_on_responded(now, tx.0, &response, status);
                self.run_server(tx.0, actions, None);
                Ok(())
            }
            RespondOutcome::AlreadyFinal => Err(RespondError::AlreadyFinal),
        }
    }

    /// Shortcut: [`Self::make_response`] then [`Self::respond`].
    pub fn reply(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        status: u16,
        reason: &str,
    ) -> Result<(), RespondError> {
        let r = self.make_response(tx, status, reason)?;
        self.respond(now, tx, r)
    }

    /// A fresh tag (§19.3: at least 32 bits of randomness), from the seeded RNG.
    pub fn new_tag(&mut self) -> String {
        format!("{:016x}", self.new_tag_number())
    }

    /// The random number of [`Self::new_tag`].
    fn new_tag_number(&mut self) -> u64 {
        self.rng.r#gen::<u64>()
    }

    /// A fresh Call-ID (§8.1.1.4), from the seeded RNG.
    pub fn new_call_id(&mut self) -> String {
        format!(
            "{:016x}{:016x}",
            self.rng.r#gen::<u64>(),
            self.rng.r#gen::<u64>()
        )
    }

    // ----- internals -----

    /// Whether the configuration lists `100rel` (RFC 3262) among the supported options.
    fn supports_100rel(&self) -> bool {
        self.config
            .supported
            .iter()
            .any(|s| s.eq_ignore_ascii_case("100rel"))
    }

    /// The Via Tandem puts on its requests (RFC 3261 §8.1.1.7): sent-by = the flow's local
    /// address, `rport` (RFC 3581 §3), and `alias` on the transports of
    /// [`EndpointConfig::via_alias`] (RFC 5923 §5.1).
    fn top_via(&self, flow: Flow, branch: &str) -> String {
        let alias = if self.config.via_alias.contains(&flow.transport) {
            ";alias"
        } else {
            ""
        };
        format!(
            "SIP/2.0/{} {};branch={branch};rport{alias}",
            flow.transport.via_name(),
            host_port(flow.local)
        )
    }

    fn new_branch(&mut self) -> String {
        format!("z9hG4bK{:016x}", self.rng.r#gen::<u64>())
    }

    fn run_client(
        &mut self,
        now: Instant,
        id: SlotId,
        actions: Vec<Action>,
        message: Option<Message>,
    ) {
        let mut message = message;
        for action in actions {
            match action {
                Action::Send(payload) => {
                    if let Some(e) = self.clients.get(id) {
                        self.outputs.push_back(Output::Transmit(Transmit {
                            flow: e.flow,
                            payload,
                        }));
                    }
                }
                Action::Arm(name, at) => self.timers.schedule(at, Owner::Client(id), name),
                Action::PassUp => {
                    let silent = self
                        .clients
                        .get(id)
                        .is_none_or(|e| e.report == Report::Silent);
                    if let Some(response) = message.take().filter(|_| !silent) {
                        let event = Event::Response {
                            tx: ClientTxId(id),
                            response: Box::new(response),
                        };
                        self.outputs.push_back(Output::Event(event));
                    }
                }
                Action::Terminate { timed_out: true } => self.client_failed(now, id),
                Action::Terminate { timed_out: false } => {
                    if let Some(e) = self.clients.remove(id) {
                        self.client_index.remove(&e.key);
                        self.dialog_on_client_end(id, &e, false);
                    }
                }
                // Timer C: the INVITE rang too long; cancel it as the TU would (§9.1).
                // The TU never asked for this CANCEL, so its responses are not reported; the
                // INVITE's 487 (or final response) is.
                Action::Cancel => {
                    if let Ok(cancel) = self.cancel(now, ClientTxId(id))
                        && let Some(e) = self.clients.get_mut(cancel.0)
                    {
                        e.report = Report::Silent;
                    }
                }
            }
        }
    }

    fn run_server(&mut self, id: SlotId, actions: Vec<Action>, message: Option<Message>) {
        let mut message = message;
        for action in actions {
            match action {
                Action::Send(payload) => {
                    if let Some(e) = self.servers.get(id) {
                        self.outputs.push_back(Output::Transmit(Transmit {
                            flow: e.flow,
                            payload,
                        }));
                    }
                }
                Action::Arm(name, at) => self.timers.schedule(at, Owner::Server(id), name),
                Action::PassUp => {
                    if let Some(e) = self.servers.get_mut(id)
                        && e.tx.state == ServerState::Accepted
                        && e.tx.acknowledged()
                    {
                        // RFC 6026 §7.1: from now on the key and the ACK key do.
                        e.request = None;
                    }
                    if let Some(ack) = message.take() {
                        let event = Event::Ack {
                            tx: ServerTxId(id),
                            ack: Box::new(ack),
                        };
                        self.outputs.push_back(Output::Event(event));
                    }
                }
                Action::Terminate { timed_out } => {
                    let announced = self.servers.get(id).is_some_and(|e| e.announced);
                    if let Some(e) = self.servers.remove(id) {
                        self.server_index.remove(&e.key);
                        if let Some(k) = &e.merge_key {
                            self.merge_index.remove(k);
                        }
                        if let Some(k) = &e.ack_key
                            && self.accepted_index.get(k) == Some(&id)
                        {
                            self.accepted_index.remove(k);
                        }
                        self.dialog_on_server_end(id, &e, timed_out);
                    }
                    // Only a transaction the TU heard of gets an AckTimeout: the UAS core's own
                    // rejections (405, 415, 420, 482, ...) were never announced.
                    if timed_out && announced {
                        self.outputs
                            .push_back(Output::Event(Event::AckTimeout { tx: ServerTxId(id) }));
                    }
                }
                Action::Cancel => {}
            }
        }
    }

    fn discard(&mut self, flow: Flow, reason: &str) {
        let event = Event::Discarded {
            flow,
            reason: reason.to_owned(),
        };
        self.outputs.push_back(Output::Event(event));
    }

    fn next_deadline(&mut self) -> Option<Instant> {
        // Drop stale entries at the top so the runtime never wakes for nothing.
        loop {
            let at = self.timers.next_deadline()?;
            let entry = self.timers.peek_entry()?;
            let live = match entry.owner {
                Owner::Client(id) => self
                    .clients
                    .get(id)
                    .is_some_and(|e| e.tx.deadlines.wants(entry.name, at)),
                Owner::Server(id) => self
                    .servers
                    .get(id)
                    .is_some_and(|e| e.tx.deadlines.wants(entry.name, at)),
                Owner::Dialog(d) => self
                    .dialogs
                    .get(d)
                    .and_then(|dl| dl.deadlines.as_deref())
                    .is_some_and(|d| d.wants(entry.name, at)),
            };
            if live {
                return Some(at);
            }
            self.timers.pop_front();
        }
    }
}

/// `v` as 16 lowercase hex digits (`format!("{v:016x}")` without an allocation).
fn hex16(v: u64) -> [u8; 16] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0; 16];
    for (i, o) in out.iter_mut().enumerate() {
        *o = DIGITS[((v >> (60 - 4 * i)) & 0xf) as usize];
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex16_is_format_016x() {
        for v in [0, 1, 0xdead_beef, u64::MAX, 0x0123_4567_89ab_cdef] {
            assert_eq!(super::hex16(v), format!("{v:016x}").as_bytes());
        }
    }
}
