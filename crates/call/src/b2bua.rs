//! [`B2bua`]: back-to-back calls (scenario S1) on top of one [`Endpoint`].

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

use tandem_sdp::OriginRewriter;
use tandem_sip_core::auth::DigestClient;
use tandem_sip_core::{ClientTxId, DialogId, Endpoint, Event, ServerTxId};
use tandem_sip_msg::headers::{FromHeader, MaxForwards, ToHeader};
use tandem_sip_msg::{HeaderName, Message, Method};

use crate::leg::{self, Incoming, Outgoing};
use crate::record::LegNotes;
use crate::relay::{self, Body};
use crate::timers::Timer;
use crate::types::{
    B2buaConfig, CallError, CallEvent, CallId, CallSettings, CallState, EndCause, EndedBy, Leg,
    MediaFlowState, Reason,
};

/// What a client transaction of the controller is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// The initial INVITE of an outgoing leg.
    Invite(Leg),
    /// A BYE Tandem sent to end a leg: the call ends when every one is answered.
    Bye,
    /// An in-dialog request relayed from the other leg (see `indialog.rs`).
    Relay,
    /// Tandem's PRACK carrying leg A's answer to leg B (see `early.rs`).
    Prack,
}

/// Leg A's INVITE: received (a bridged call) or sent (an originated call).
#[derive(Debug)]
pub(crate) enum LegA {
    /// [`B2bua::establish`]: Tandem is leg A's UAS.
    In(Incoming),
    /// [`B2bua::originate`]: Tandem is leg A's UAC (boxed: a bridged call, the common one,
    /// then keeps a few bytes here instead of an outgoing leg's).
    Out(Box<Outgoing>),
}

/// One back-to-back call.
pub(crate) struct Call {
    pub(crate) state: CallState,
    pub(crate) cause: Option<EndCause>,
    /// Leg A's INVITE.
    pub(crate) a: LegA,
    /// Leg B's INVITE (`None` until an originated call's first leg answered).
    pub(crate) b: Option<Outgoing>,
    pub(crate) dialog_a: Option<DialogId>,
    pub(crate) dialog_b: Option<DialogId>,
    /// Tandem's `o=` toward leg A / leg B.
    pub(crate) rw_a: OriginRewriter,
    pub(crate) rw_b: OriginRewriter,
    pub(crate) pass_through: Vec<HeaderName>,
    /// BYEs sent and not yet answered.
    pub(crate) byes_out: usize,
    /// In-dialog requests relayed, by the far leg's client transaction.
    pub(crate) relays: HashMap<ClientTxId, crate::indialog::Relay>,
    /// The call ends this long after the answer ([`CallSettings::max_duration`]).
    pub(crate) max_duration: Option<Duration>,
    /// The call's armed timers (see `timers.rs`).
    pub(crate) deadlines: Vec<(Timer, Instant)>,
    /// When the call was created and answered.
    pub(crate) started: Instant,
    pub(crate) answered: Option<Instant>,
    /// What the records and snapshots say of each leg.
    pub(crate) notes_a: LegNotes,
    pub(crate) notes_b: Option<LegNotes>,
    /// The media-flow hint.
    pub(crate) media: Option<MediaFlowState>,
    /// An originated call until its second leg is up.
    pub(crate) pending: Option<Box<crate::originate::Pending>>,
    /// Early media and PRACK of a bridged call (see `early.rs`).
    pub(crate) early: crate::early::Early,
}

impl Call {
    pub(crate) fn dialog(&self, side: Leg) -> Option<DialogId> {
        match side {
            Leg::A => self.dialog_a,
            Leg::B => self.dialog_b,
        }
    }

    /// The rewriter of SDP *sent to* `side`.
    pub(crate) fn rewriter_to(&mut self, side: Leg) -> &mut OriginRewriter {
        match side {
            Leg::A => &mut self.rw_a,
            Leg::B => &mut self.rw_b,
        }
    }

    /// Leg A's INVITE when Tandem received it.
    pub(crate) fn incoming(&mut self) -> Option<&mut Incoming> {
        match &mut self.a {
            LegA::In(i) => Some(i),
            LegA::Out(_) => None,
        }
    }

    /// The INVITE Tandem sent on `side`, if any.
    pub(crate) fn outgoing(&mut self, side: Leg) -> Option<&mut Outgoing> {
        match (side, &mut self.a) {
            (Leg::A, LegA::Out(o)) => Some(o),
            (Leg::A, LegA::In(_)) => None,
            (Leg::B, _) => self.b.as_mut(),
        }
    }

    /// Whether every INVITE Tandem sent has its final response.
    fn invites_done(&self) -> bool {
        let a = match &self.a {
            LegA::In(_) => true,
            LegA::Out(o) => o.done,
        };
        a && self.b.as_ref().is_none_or(|b| b.done)
    }
}

/// Back-to-back calls (scenario S1, UCMA's `BackToBackCall`) on top of one [`Endpoint`].
///
/// Sans-IO like the endpoint: no clock (`now` is an argument), no I/O. Feed it every
/// endpoint event with [`Self::handle_event`]; it keeps the events of its calls and hands
/// the others back. Start a call on a new INVITE with [`Self::establish`], end one with
/// [`Self::terminate`], call [`Self::handle_timeout`] when [`Self::poll_timeout`] is due,
/// and drain [`Self::poll_event`] after each input.
pub struct B2bua {
    config: B2buaConfig,
    next_id: u64,
    /// Boxed: a call is over a kilobyte, and the table's spare capacity (up to half its
    /// buckets) would hold that much per empty bucket.
    pub(crate) calls: HashMap<CallId, Box<Call>>,
    /// Leg A's INVITE of each call.
    pub(crate) by_server: HashMap<ServerTxId, CallId>,
    /// Tandem's client transactions: leg B's INVITE, BYEs, relayed requests.
    pub(crate) by_client: HashMap<ClientTxId, (CallId, Role)>,
    /// Both legs' dialogs.
    pub(crate) by_dialog: HashMap<DialogId, (CallId, Leg)>,
    /// In-dialog requests being relayed, by the near leg's server transaction.
    pub(crate) relays_in: HashMap<ServerTxId, (CallId, ClientTxId)>,
    pub(crate) events: VecDeque<CallEvent>,
    /// Every armed timer, soonest first.
    pub(crate) timers: BTreeSet<(Instant, CallId, Timer)>,
    /// Answers digest challenges of outgoing legs; seeded from the endpoint on first use.
    pub(crate) digest: Option<DigestClient>,
    /// The `now` of the latest input.
    pub(crate) now: Option<Instant>,
    /// Transactions of ended calls still watched (`linger.rs`), until a `Timer::Linger`.
    pub(crate) linger_client: HashMap<ClientTxId, (CallId, crate::linger::Lingering)>,
    pub(crate) linger_server: HashMap<ServerTxId, CallId>,
    /// The keys of those two tables, per ended call.
    pub(crate) linger_keys: HashMap<CallId, (Vec<ClientTxId>, Vec<ServerTxId>)>,
    /// How long they are watched: 64·T1 of the endpoint.
    pub(crate) linger_for: Duration,
}

impl std::fmt::Debug for B2bua {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("B2bua")
            .field("calls", &self.calls.len())
            .field("events", &self.events.len())
            .finish_non_exhaustive()
    }
}

impl Default for B2bua {
    fn default() -> Self {
        Self::new(B2buaConfig::default())
    }
}

impl B2bua {
    /// A controller with no call.
    pub fn new(config: B2buaConfig) -> Self {
        Self {
            config,
            next_id: 1,
            calls: HashMap::new(),
            by_server: HashMap::new(),
            by_client: HashMap::new(),
            by_dialog: HashMap::new(),
            relays_in: HashMap::new(),
            events: VecDeque::new(),
            timers: BTreeSet::new(),
            digest: None,
            now: None,
            linger_client: HashMap::new(),
            linger_server: HashMap::new(),
            linger_keys: HashMap::new(),
            linger_for: crate::linger::DEFAULT_LINGER,
        }
    }

    /// Live calls (not yet [`CallState::Terminated`]).
    pub fn calls(&self) -> usize {
        self.calls.len()
    }

    /// The state of `call` ([`CallState::Terminated`] once it is gone).
    pub fn state(&self, call: CallId) -> CallState {
        self.calls
            .get(&call)
            .map_or(CallState::Terminated, |c| c.state)
    }

    /// The ids of the live calls, oldest first.
    pub fn call_ids(&self) -> Vec<CallId> {
        let mut ids: Vec<CallId> = self.calls.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// How many entries the controller's tables hold (calls, transactions, dialogs, timers,
    /// and those of ended calls still watched): zero once every call ended more than
    /// 64·T1 ago. For leak checks in tests.
    #[doc(hidden)]
    pub fn tracked(&self) -> usize {
        self.calls.len()
            + self.by_server.len()
            + self.by_client.len()
            + self.by_dialog.len()
            + self.relays_in.len()
            + self.timers.len()
            + self.linger_client.len()
            + self.linger_server.len()
            + self.linger_keys.len()
    }

    /// The call leg A's INVITE `tx` belongs to.
    pub fn call_of(&self, tx: ServerTxId) -> Option<CallId> {
        self.by_server.get(&tx).copied()
    }

    /// The next call event, if any.
    pub fn poll_event(&mut self) -> Option<CallEvent> {
        self.events.pop_front()
    }

    /// Turns the initial INVITE `invite` (server transaction `incoming`, just reported by
    /// [`Event::Request`]) into a back-to-back call to `outgoing`.
    ///
    /// Leg B is a new dialog (RFC 3261 §12.1.2): new Call-ID and From tag, CSeq from
    /// [`Endpoint::initial_cseq`], Tandem's Via and Contact (added by the endpoint),
    /// `Max-Forwards` one less than leg A's (RFC 7332 §3, loop detection), the settings'
    /// From or leg A's From URI, the allow-listed headers of leg A then the settings' extra
    /// headers, the settings' session timer (RFC 4028 §7.1), and leg A's body with only its
    /// `o=` line replaced (RFC 3264 §8). The settings' ring timeout starts now.
    ///
    /// On error nothing was sent and the INVITE is still the caller's to answer (483 for
    /// [`CallError::TooManyHops`], 488 for [`CallError::BadSdp`]).
    pub fn establish(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        incoming: ServerTxId,
        invite: &Message,
        outgoing: CallSettings,
    ) -> Result<CallId, CallError> {
        if self.by_server.contains_key(&incoming) {
            return Err(CallError::AlreadyInCall);
        }
        self.now = Some(now);
        let to_tag = invite
            .typed::<ToHeader<'_>>()
            .ok()
            .flatten()
            .map(|t| t.0.tag().is_some());
        if invite.method() != Some(Method::Invite) || to_tag != Some(false) {
            return Err(CallError::NotAnInitialInvite);
        }
        let hops = match invite.typed::<MaxForwards>() {
            Ok(Some(MaxForwards(n))) => n,
            _ => 70,
        };
        if hops == 0 {
            return Err(CallError::TooManyHops);
        }
        // The INVITE's server transaction must still exist.
        ep.make_response(incoming, 100, "Trying")?;
        let (rw_a, mut rw_b) = self.rewriters(ep, &outgoing);
        let body = relay::relay_body(&mut rw_b, invite).map_err(|()| CallError::BadSdp)?;
        let a_offer = !matches!(body, Body::None);
        let from = match &outgoing.from {
            Some(f) => f.clone(),
            None => caller_id(invite),
        };
        let (b_tx, b_call_id) =
            leg::send_invite(ep, now, &outgoing, &from, hops - 1, Some(invite), body)?;
        let id = self.new_call(
            now,
            LegA::In(Incoming {
                tx: incoming,
                offer: a_offer,
                final_sent: false,
            }),
            LegNotes::incoming(invite, now),
            rw_a,
            rw_b,
            &outgoing,
        );
        self.by_server.insert(incoming, id);
        if let Some(c) = self.calls.get_mut(&id) {
            c.early = crate::early::Early::new(ep, invite);
        }
        let notes = LegNotes::outgoing(
            b_call_id,
            from,
            format!("<{}>", outgoing.target),
            outgoing.destination,
            now,
        );
        self.start_leg(now, id, Leg::B, b_tx, &outgoing, notes);
        self.events.push_back(CallEvent::StateChanged {
            call: id,
            state: CallState::Establishing,
        });
        if a_offer {
            self.note_media(id, MediaFlowState::Connecting);
        }
        Ok(id)
    }

    /// Tandem's `o=` rewriters toward leg A and leg B (RFC 3264 §8: one origin per leg).
    pub(crate) fn rewriters(
        &self,
        ep: &mut Endpoint,
        settings: &CallSettings,
    ) -> (OriginRewriter, OriginRewriter) {
        let address = self
            .config
            .origin_address
            .clone()
            .unwrap_or_else(|| settings.destination.local.ip().to_string());
        let username = &self.config.origin_username;
        let rw_a = relay::rewriter(username, session_id(ep), &address);
        let rw_b = relay::rewriter(username, session_id(ep), &address);
        (rw_a, rw_b)
    }

    /// A new call in state Establishing, without leg B yet.
    pub(crate) fn new_call(
        &mut self,
        now: Instant,
        a: LegA,
        notes_a: LegNotes,
        rw_a: OriginRewriter,
        rw_b: OriginRewriter,
        settings: &CallSettings,
    ) -> CallId {
        let id = CallId(self.next_id);
        self.next_id += 1;
        self.calls.insert(
            id,
            Box::new(Call {
                state: CallState::Establishing,
                cause: None,
                a,
                b: None,
                dialog_a: None,
                dialog_b: None,
                rw_a,
                rw_b,
                pass_through: settings.pass_through.clone(),
                byes_out: 0,
                relays: HashMap::new(),
                max_duration: settings.max_duration,
                deadlines: Vec::new(),
                started: now,
                answered: None,
                notes_a,
                notes_b: None,
                media: None,
                pending: None,
                early: crate::early::Early::default(),
            }),
        );
        id
    }

    /// Registers the INVITE just sent on outgoing leg `side` and arms its ring timeout.
    pub(crate) fn start_leg(
        &mut self,
        now: Instant,
        call: CallId,
        side: Leg,
        tx: ClientTxId,
        settings: &CallSettings,
        notes: LegNotes,
    ) {
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let out = Outgoing::new(tx, settings);
        match side {
            Leg::A => {
                c.a = LegA::Out(Box::new(out));
                c.notes_a = notes;
            }
            Leg::B => {
                c.b = Some(out);
                c.notes_b = Some(notes);
            }
        }
        self.by_client.insert(tx, (call, Role::Invite(side)));
        if let Some(d) = settings.ring_timeout {
            self.arm(call, Timer::Ring(side), now + d);
        }
    }

    /// Ends `call`: before the answer, leg A gets 480 and leg B is cancelled (as soon as
    /// §9.1 allows); after it, both legs get BYE with `Reason` (RFC 3326). The call reaches
    /// [`CallState::Terminated`] when every leg has confirmed. Terminating a call already
    /// terminating does nothing.
    pub fn terminate(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        call: CallId,
        reason: &Reason,
    ) -> Result<(), CallError> {
        self.now = Some(now);
        let state = self.state(call);
        match state {
            CallState::Terminated => return Err(CallError::NoSuchCall),
            CallState::Terminating => return Ok(()),
            _ => {}
        }
        reason.check_headers()?;
        self.begin_end(call, EndCause::Terminated);
        if state == CallState::Establishing {
            self.abort_establishing(ep, now, call, 480, "Temporarily Unavailable");
        } else {
            self.bye(ep, now, call, Leg::A, reason);
            self.bye(ep, now, call, Leg::B, reason);
        }
        self.maybe_finish(call);
        Ok(())
    }

    /// Gives up on a call that is not answered yet (it is already Terminating): leg A gets
    /// `status` (a bridged call) and every INVITE in progress is cancelled (§9.1).
    pub(crate) fn abort_establishing(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        call: CallId,
        status: u16,
        reason: &str,
    ) {
        self.answer_a(ep, now, call, status, reason);
        self.drop_held_2xx(ep, now, call);
        self.cancel_leg(ep, now, call, Leg::A);
        self.cancel_leg(ep, now, call, Leg::B);
        self.reject_first(ep, now, call, &Reason::new(status, reason));
    }

    /// Feeds one endpoint event. Events of the controller's calls are consumed (`None`); any
    /// other event (a new INVITE, requests outside its calls, responses to the application's
    /// own requests) is handed back.
    pub fn handle_event(&mut self, ep: &mut Endpoint, now: Instant, event: Event) -> Option<Event> {
        self.now = Some(now);
        self.linger_for = ep.config().timers.t1 * 64;
        match &event {
            Event::Request { tx, request, .. } => {
                let Some(&(call, side)) = ep
                    .dialog_of_server_tx(*tx)
                    .and_then(|d| self.by_dialog.get(&d))
                else {
                    return Some(event);
                };
                self.on_request(ep, now, call, side, *tx, request);
            }
            Event::Ack { tx, ack } => {
                if let Some(&call) = self.by_server.get(tx) {
                    self.on_a_ack(ep, call, ack);
                } else if self.relays_in.contains_key(tx) {
                    self.on_relay_ack(ep, *tx, ack);
                } else {
                    return self.on_lingering(ep, now, event);
                }
            }
            Event::Cancelled { tx } => {
                if let Some(&call) = self.by_server.get(tx) {
                    self.on_a_cancelled(ep, now, call);
                } else if let Some(&(_, far)) = self.relays_in.get(tx) {
                    // RFC 3261 §9.2 on the near leg (the endpoint sent 487): cancel the far
                    // leg's re-INVITE too, when §9.1 allows it already.
                    let _ = ep.cancel(now, far);
                } else {
                    return self.on_lingering(ep, now, event);
                }
            }
            Event::Response { tx, response } => {
                let Some(&(call, role)) = self.by_client.get(tx) else {
                    return self.on_lingering(ep, now, event);
                };
                self.on_response(ep, now, call, role, *tx, Some(response));
            }
            Event::Timeout { tx } => {
                let Some(&(call, role)) = self.by_client.get(tx) else {
                    return self.on_lingering(ep, now, event);
                };
                self.on_response(ep, now, call, role, *tx, None);
            }
            Event::AckTimeout { tx } => {
                if let Some(&call) = self.by_server.get(tx) {
                    // RFC 3261 §13.3.1.4: no ACK for the 2xx, the dialog must end with BYE.
                    self.note_end(call, Leg::A, EndedBy::Lost);
                    if self.begin_end(call, EndCause::AckTimeout) {
                        let r = Reason::new(408, "ACK timeout");
                        self.bye(ep, now, call, Leg::A, &r);
                        self.bye(ep, now, call, Leg::B, &r);
                    }
                    self.maybe_finish(call);
                } else if let Some((call, far)) = self.relays_in.remove(tx) {
                    if let Some(c) = self.calls.get_mut(&call) {
                        c.relays.remove(&far);
                    }
                    self.by_client.remove(&far);
                } else {
                    return self.on_lingering(ep, now, event);
                }
            }
            Event::SessionExpired { dialog } => {
                let Some((call, side)) = self.by_dialog.remove(dialog) else {
                    return Some(event);
                };
                // RFC 4028 §10: the endpoint sent BYE on that leg; end the other one.
                self.note_end(call, side, EndedBy::Lost);
                if let Some(c) = self.calls.get_mut(&call) {
                    match side {
                        Leg::A => c.dialog_a = None,
                        Leg::B => c.dialog_b = None,
                    }
                }
                if self.begin_end(call, EndCause::LegLost) {
                    let r = Reason::new(408, "Session expired");
                    self.bye(ep, now, call, side.other(), &r);
                }
                self.maybe_finish(call);
            }
            Event::PrackTimeout { tx } => {
                // RFC 3262 §3: leg A never PRACKed; the endpoint answered its INVITE 500.
                let Some(&call) = self.by_server.get(tx) else {
                    return Some(event);
                };
                self.on_a_prack_timeout(ep, now, call);
            }
            Event::StrayAck { .. } | Event::Discarded { .. } => {
                return Some(event);
            }
        }
        None
    }

    // ----- helpers shared with the in-dialog relay -----

    /// CANCEL the INVITE of outgoing leg `side` now, or as soon as it has a provisional
    /// response (§9.1). Nothing for an incoming leg or an INVITE already done.
    pub(crate) fn cancel_leg(&mut self, ep: &mut Endpoint, now: Instant, call: CallId, side: Leg) {
        let Some(o) = self.calls.get_mut(&call).and_then(|c| c.outgoing(side)) else {
            return;
        };
        if o.done {
            return;
        }
        if o.provisional {
            let _ = ep.cancel(now, o.tx);
        } else {
            o.cancel_pending = true;
        }
        self.note_end(call, side, EndedBy::Local);
    }

    /// A final response on leg A's INVITE, unless one was sent (or leg A is outgoing).
    pub(crate) fn answer_a(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        call: CallId,
        status: u16,
        reason: &str,
    ) {
        let Some(a) = self.calls.get_mut(&call).and_then(|c| c.incoming()) else {
            return;
        };
        if a.final_sent {
            return;
        }
        a.final_sent = true;
        let _ = ep.reply(now, a.tx, status, reason);
        self.note_final(call, Leg::A, status, now);
        self.note_end(call, Leg::A, EndedBy::Local);
    }

    /// BYE on `side`'s dialog with `Reason` (RFC 3326), counted until answered.
    pub(crate) fn bye(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        call: CallId,
        side: Leg,
        reason: &Reason,
    ) {
        // §13.2.2.4: a 2xx still waiting for its ACK (its offer for the other leg's answer)
        // gets one, with an answer rejecting every stream (RFC 3264 §6), before the BYE.
        self.ack_rejecting(ep, call, side);
        let Some(d) = self.calls.get_mut(&call).and_then(|c| match side {
            Leg::A => c.dialog_a.take(),
            Leg::B => c.dialog_b.take(),
        }) else {
            return;
        };
        self.by_dialog.remove(&d);
        self.note_end(call, side, EndedBy::Local);
        self.bye_dialog(ep, now, call, d, reason);
    }

    pub(crate) fn bye_dialog(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        call: CallId,
        d: DialogId,
        reason: &Reason,
    ) {
        let sent = ep.dialog_request(d, &Method::Bye).and_then(|mut m| {
            m.push_header(&HeaderName::Reason, &reason.header_value())?;
            for (name, value) in &reason.headers {
                m.push_header(name, value)?;
            }
            ep.send_in_dialog(now, d, m)
        });
        match sent {
            Ok(tx) => {
                self.by_client.insert(tx, (call, Role::Bye));
                if let Some(c) = self.calls.get_mut(&call) {
                    c.byes_out += 1;
                }
            }
            Err(_) => {
                // The dialog cannot take a BYE (early on our UAS side, already gone):
                // forget it.
                ep.terminate_dialog(d);
            }
        }
    }

    /// Registers leg A's dialog once Tandem's response created it.
    pub(crate) fn note_dialog_a(&mut self, ep: &Endpoint, call: CallId) {
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let Some(a_tx) = c.incoming().map(|a| a.tx) else {
            return;
        };
        if c.dialog_a.is_none()
            && let Some(d) = ep.dialog_of_server_tx(a_tx)
        {
            c.dialog_a = Some(d);
            self.by_dialog.insert(d, (call, Leg::A));
            self.note_flow(ep, call, Leg::A);
        }
    }

    pub(crate) fn set_state(&mut self, call: CallId, state: CallState) {
        if let Some(c) = self.calls.get_mut(&call)
            && c.state != state
        {
            c.state = state;
            self.events
                .push_back(CallEvent::StateChanged { call, state });
        }
    }

    /// Moves the call to Terminating with `cause`; false if it was already ending.
    pub(crate) fn begin_end(&mut self, call: CallId, cause: EndCause) -> bool {
        let Some(c) = self.calls.get_mut(&call) else {
            return false;
        };
        if matches!(c.state, CallState::Terminating | CallState::Terminated) {
            return false;
        }
        c.cause = Some(cause);
        self.set_state(call, CallState::Terminating);
        true
    }

    /// Ends a terminating call once nothing of it is pending: every INVITE Tandem sent has
    /// its final response and every BYE is answered.
    pub(crate) fn maybe_finish(&mut self, call: CallId) {
        let done = self.calls.get(&call).is_some_and(|c| {
            c.state == CallState::Terminating && c.invites_done() && c.byes_out == 0
        });
        if !done {
            return;
        }
        let ended = self
            .now
            .or_else(|| self.calls.get(&call).map(|c| c.started));
        let record = ended.and_then(|e| self.record(call, e)).map(Box::new);
        let Some(c) = self.calls.remove(&call) else {
            return;
        };
        for (timer, at) in &c.deadlines {
            self.timers.remove(&(*at, call, *timer));
        }
        // Every table entry of the call, found from the call itself (no scan).
        match &c.a {
            LegA::In(i) => {
                self.by_server.remove(&i.tx);
            }
            LegA::Out(o) => {
                self.by_client.remove(&o.tx);
            }
        }
        if let Some(b) = &c.b {
            self.by_client.remove(&b.tx);
        }
        if let Some(tx) = c.early.b_prack {
            self.by_client.remove(&tx);
        }
        for (far, relay) in &c.relays {
            self.by_client.remove(far);
            self.relays_in.remove(&relay.near_tx);
        }
        for d in [c.dialog_a, c.dialog_b].into_iter().flatten() {
            self.by_dialog.remove(&d);
        }
        self.events.push_back(CallEvent::StateChanged {
            call,
            state: CallState::Terminated,
        });
        if let Some(r) = record {
            self.events.push_back(CallEvent::Record(r));
        }
        let cause = c.cause.clone().unwrap_or(EndCause::Terminated);
        let now = self.now.unwrap_or(c.started);
        self.linger(call, *c, now);
        self.events.push_back(CallEvent::Ended { call, cause });
    }
}

/// A `<sess-id>` for a leg, from the endpoint's seeded RNG (RFC 8866 §5.2: numeric).
pub(crate) fn session_id(ep: &mut Endpoint) -> u64 {
    u64::from_str_radix(&ep.new_tag(), 16).unwrap_or(1) >> 1
}

/// Leg A's caller id for leg B's From: display name and URI, without tag or other
/// parameters (they name leg A's dialog).
fn caller_id(invite: &Message) -> String {
    match invite.typed::<FromHeader<'_>>() {
        Ok(Some(f)) => match f.0.display_name {
            Some(dn) => format!("{dn} <{}>", f.0.uri),
            None => format!("<{}>", f.0.uri),
        },
        _ => "<sip:anonymous@anonymous.invalid>".to_owned(),
    }
}
