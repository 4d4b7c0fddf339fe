//! [`B2bua`]: back-to-back calls (scenario S1) on top of one [`Endpoint`].

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

use tandem_sdp::OriginRewriter;
use tandem_sip_core::auth::DigestClient;
use tandem_sip_core::{ClientTxId, DialogId, Endpoint, Event, ServerTxId};
use tandem_sip_msg::headers::{CSeq, FromHeader, MaxForwards, ToHeader};
use tandem_sip_msg::{HeaderName, Message, Method};

use crate::leg::{self, Incoming, Outgoing, TwoXx};
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
}

/// Leg A's INVITE: received (a bridged call) or sent (an originated call).
#[derive(Debug)]
pub(crate) enum LegA {
    /// [`B2bua::establish`]: Tandem is leg A's UAS.
    In(Incoming),
    /// [`B2bua::originate`]: Tandem is leg A's UAC.
    Out(Outgoing),
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
    pub(crate) calls: HashMap<CallId, Call>,
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
            Call {
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
            },
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
                c.a = LegA::Out(out);
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
            Event::StrayAck { .. } | Event::PrackTimeout { .. } | Event::Discarded { .. } => {
                return Some(event);
            }
        }
        None
    }

    // ----- outgoing INVITEs and leg A's answer -----

    fn on_response(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        call: CallId,
        role: Role,
        tx: ClientTxId,
        response: Option<&Message>,
    ) {
        match role {
            Role::Invite(side) => self.on_invite_response(ep, now, call, side, tx, response),
            Role::Bye => {
                if response.is_none_or(|r| r.status().is_some_and(|s| s >= 200)) {
                    self.by_client.remove(&tx);
                    if let Some(c) = self.calls.get_mut(&call) {
                        c.byes_out = c.byes_out.saturating_sub(1);
                    }
                    self.maybe_finish(call);
                }
            }
            Role::Relay => self.on_relay_response(ep, now, call, tx, response),
        }
    }

    /// A response (or `None`: no answer) to the INVITE of outgoing leg `side`.
    fn on_invite_response(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        call: CallId,
        side: Leg,
        tx: ClientTxId,
        response: Option<&Message>,
    ) {
        let status = response.and_then(Message::status);
        match (status, response) {
            (Some(100..=199), Some(r)) => self.on_provisional(ep, now, call, side, r),
            (Some(s @ 200..=299), Some(r)) => {
                self.disarm(call, Timer::Ring(side));
                self.note_final(call, side, s, now);
                self.on_2xx(ep, now, call, side, r);
            }
            (Some(401 | 407), Some(r)) if self.retry_auth(ep, now, call, side, tx, r) => {}
            _ => {
                self.disarm(call, Timer::Ring(side));
                if let Some(s) = status {
                    self.note_final(call, side, s, now);
                }
                let by = if status.is_some() {
                    EndedBy::Remote
                } else {
                    EndedBy::Lost
                };
                self.note_end(call, side, by);
                let Some(c) = self.calls.get_mut(&call) else {
                    return;
                };
                if let Some(o) = c.outgoing(side) {
                    o.finish();
                }
                if c.state == CallState::Establishing {
                    self.on_leg_failed(ep, now, call, side, status, response);
                }
                self.maybe_finish(call);
            }
        }
    }

    /// Re-sends the INVITE of `side` with its credentials; whether it did.
    fn retry_auth(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        call: CallId,
        side: Leg,
        tx: ClientTxId,
        r: &Message,
    ) -> bool {
        if self.state(call) != CallState::Establishing {
            return false;
        }
        let digest = self
            .digest
            .get_or_insert_with(|| DigestClient::new(session_id(ep)));
        let Some(new_tx) = self
            .calls
            .get_mut(&call)
            .and_then(|c| c.outgoing(side))
            .and_then(|o| o.retry_auth(ep, now, digest, r))
        else {
            return false;
        };
        self.by_client.remove(&tx);
        self.by_client.insert(new_tx, (call, Role::Invite(side)));
        true
    }

    /// The INVITE of `side` failed with `status` (`None`: no answer) while establishing.
    fn on_leg_failed(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        call: CallId,
        side: Leg,
        status: Option<u16>,
        response: Option<&Message>,
    ) {
        let (code, phrase) = relay::map_failure(status);
        let phrase = phrase.map_or_else(
            || response.map(relay::reason_phrase).unwrap_or_default(),
            str::to_owned,
        );
        let cause = match status {
            Some(s) => EndCause::Rejected {
                status: s,
                relayed: code,
            },
            None => EndCause::NoAnswer,
        };
        self.begin_end(call, cause);
        if side == Leg::A {
            // An originated call's first party failed: there is no second leg yet.
            return;
        }
        // A bridged call's leg A gets `code`; an originated call's first party, answered
        // already, gets a rejecting answer and BYE with it as the reason.
        self.abort_establishing(ep, now, call, code, &phrase);
    }

    fn on_provisional(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        call: CallId,
        side: Leg,
        r: &Message,
    ) {
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let Some(o) = c.outgoing(side) else {
            return;
        };
        o.provisional = true;
        if o.cancel_pending {
            // §9.1: the CANCEL waited for this provisional response (100 included).
            o.cancel_pending = false;
            let _ = ep.cancel(now, o.tx);
            return;
        }
        // 100 is hop-by-hop (§16.7 step 5): leg A had the endpoint's own.
        if r.status() == Some(100) || c.state != CallState::Establishing {
            return;
        }
        let Some(a) = c.incoming() else {
            return;
        };
        if a.final_sent {
            return;
        }
        let a_tx = a.tx;
        // 18x relayed with the early-media SDP under Tandem's origin for leg A.
        let Ok(body) = relay::relay_body(&mut c.rw_a, r) else {
            return;
        };
        let status = r.status().unwrap_or(180);
        let Ok(mut m) = ep.make_response(a_tx, status, &relay::reason_phrase(r)) else {
            return;
        };
        if relay::copy_allowed(r, &mut m, &c.pass_through).is_err()
            || relay::set_body(&mut m, body).is_err()
        {
            return;
        }
        let early_media = !r.body().is_empty();
        let a_offer = c.incoming().is_some_and(|a| a.offer);
        if ep.respond(now, a_tx, m).is_ok() && early_media {
            // Early media: the answer (or, for a late offer, an offer) reached leg A.
            self.note_media(call, media_state(a_offer));
        }
        self.note_dialog_a(ep, call);
    }

    fn on_2xx(&mut self, ep: &mut Endpoint, now: Instant, call: CallId, side: Leg, r: &Message) {
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let cseq = r.typed::<CSeq>().ok().flatten().map_or(0, |c| c.seq);
        let Some(o) = c.outgoing(side) else {
            return;
        };
        let d = match o.on_2xx(ep, ep.dialog_of_response(r), cseq, r) {
            TwoXx::First(d) => d,
            TwoXx::Absorbed => return,
            TwoXx::Fork(d) => {
                // Another fork answered too: it was ACKed, end it (§13.2.2.4).
                let reason = Reason::new(200, "Call completed elsewhere");
                self.bye_dialog(ep, now, call, d, &reason);
                return;
            }
            TwoXx::NoDialog => {
                // A 2xx that names no dialog (no To tag): nothing to ACK or relay.
                if c.state == CallState::Establishing {
                    let cause = EndCause::Failed("a 2xx without To tag".into());
                    self.begin_end(call, cause);
                    self.abort_establishing(ep, now, call, 502, "Bad Gateway");
                }
                self.maybe_finish(call);
                return;
            }
        };
        match side {
            Leg::A => c.dialog_a = Some(d),
            Leg::B => c.dialog_b = Some(d),
        }
        self.by_dialog.insert(d, (call, side));
        match (&c.a, side) {
            (LegA::In(_), _) => self.on_b_2xx(ep, now, call, d, cseq, r),
            (LegA::Out(_), Leg::A) => self.on_first_2xx(ep, now, call, cseq, r),
            (LegA::Out(_), Leg::B) => self.on_second_2xx(ep, now, call, d, cseq, r),
        }
    }

    /// ACKs the 2xx of `side`'s INVITE without body.
    pub(crate) fn ack_now(
        &mut self,
        ep: &mut Endpoint,
        call: CallId,
        side: Leg,
        d: DialogId,
        cseq: u32,
    ) {
        let _ = ep.ack_2xx(d, cseq, None);
        if let Some(o) = self.calls.get_mut(&call).and_then(|c| c.outgoing(side)) {
            o.acked = Some(cseq);
        }
    }

    /// Leg B's first 2xx of a bridged call (dialog `d`).
    fn on_b_2xx(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        call: CallId,
        d: DialogId,
        cseq: u32,
        r: &Message,
    ) {
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let a = c.incoming().map(|a| (a.tx, a.offer, a.final_sent));
        let Some((a_tx, a_offer, a_final)) = a else {
            return;
        };
        if c.state != CallState::Establishing || a_final {
            // The call ended meanwhile (CANCEL crossed the 2xx, §9.1): ACK and BYE.
            self.ack_now(ep, call, Leg::B, d, cseq);
            self.bye(
                ep,
                now,
                call,
                Leg::B,
                &Reason::new(487, "Request Terminated"),
            );
            self.maybe_finish(call);
            return;
        }
        let Ok(body) = relay::relay_body(&mut c.rw_a, r) else {
            self.ack_now(ep, call, Leg::B, d, cseq);
            self.begin_end(call, EndCause::Failed("leg B's SDP does not parse".into()));
            self.answer_a(ep, now, call, 502, "Bad Gateway");
            self.bye(
                ep,
                now,
                call,
                Leg::B,
                &Reason::new(488, "Not Acceptable Here"),
            );
            self.maybe_finish(call);
            return;
        };
        let late = !(a_offer || matches!(body, Body::None));
        let status = r.status().unwrap_or(200);
        let sent = ep
            .make_response(a_tx, status, &relay::reason_phrase(r))
            .ok()
            .and_then(|mut m| {
                relay::copy_allowed(r, &mut m, &c.pass_through).ok()?;
                relay::set_body(&mut m, body).ok()?;
                ep.respond(now, a_tx, m).ok()
            });
        if let Some(a) = c.incoming() {
            a.final_sent = true;
        }
        if late {
            // Late offer: the 2xx carries B's offer; the answer comes in A's ACK.
            if let Some(b) = c.b.as_mut() {
                b.ack_pending = Some(cseq);
                b.offer = Some(bytes::Bytes::copy_from_slice(r.body()));
            }
        } else {
            // Early offer: B's 2xx carries the answer; ACK it now.
            self.ack_now(ep, call, Leg::B, d, cseq);
        }
        if sent.is_none() {
            // Leg A is gone (its transaction ended): end leg B.
            if late {
                self.ack_now(ep, call, Leg::B, d, cseq);
            }
            self.begin_end(call, EndCause::Cancelled);
            self.bye(
                ep,
                now,
                call,
                Leg::B,
                &Reason::new(487, "Request Terminated"),
            );
            self.maybe_finish(call);
            return;
        }
        self.note_final(call, Leg::A, status, now);
        if !r.body().is_empty() {
            self.note_media(call, media_state(!late));
        }
        self.note_dialog_a(ep, call);
        self.note_flow(ep, call, Leg::B);
        self.on_answered(now, call);
    }

    /// Both legs are answered: the call is Established and its duration limit starts.
    pub(crate) fn on_answered(&mut self, now: Instant, call: CallId) {
        if let Some(c) = self.calls.get_mut(&call) {
            c.answered = Some(now);
        }
        if let Some(limit) = self.calls.get(&call).and_then(|c| c.max_duration) {
            self.arm(call, Timer::MaxDuration, now + limit);
        }
        self.set_state(call, CallState::Established);
    }

    fn on_a_ack(&mut self, ep: &mut Endpoint, call: CallId, ack: &Message) {
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let d = c.dialog_b;
        let Some(b) = c.b.as_mut() else {
            return;
        };
        let (Some(cseq), Some(d)) = (b.ack_pending.take(), d) else {
            return;
        };
        b.acked = Some(cseq);
        b.offer = None;
        // Late offer: A's ACK carries the answer; B's ACK carries it under Tandem's origin.
        let body = relay::relay_body(&mut c.rw_b, ack).unwrap_or(Body::None);
        let body = match &body {
            Body::Some(ct, bytes) => Some((ct.as_str(), bytes.clone())),
            Body::None => None,
        };
        let answered = body.is_some();
        let _ = ep.ack_2xx(d, cseq, body);
        if answered {
            self.note_media(call, MediaFlowState::Connected);
        }
    }

    fn on_a_cancelled(&mut self, ep: &mut Endpoint, now: Instant, call: CallId) {
        // §9.2: the endpoint already answered 487 on leg A.
        if let Some(a) = self.calls.get_mut(&call).and_then(Call::incoming) {
            a.final_sent = true;
        }
        self.note_end(call, Leg::A, EndedBy::Remote);
        if let Some(now) = self.now {
            self.note_final(call, Leg::A, 487, now);
        }
        if self.state(call) == CallState::Establishing {
            self.begin_end(call, EndCause::Cancelled);
            self.cancel_leg(ep, now, call, Leg::B);
        }
        self.maybe_finish(call);
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
        let Some(a) = self.calls.get_mut(&call).and_then(Call::incoming) else {
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
    fn note_dialog_a(&mut self, ep: &Endpoint, call: CallId) {
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
        self.by_server.retain(|_, id| *id != call);
        self.by_client.retain(|_, (id, _)| *id != call);
        self.by_dialog.retain(|_, (id, _)| *id != call);
        self.relays_in.retain(|_, (id, _)| *id != call);
        self.events.push_back(CallEvent::StateChanged {
            call,
            state: CallState::Terminated,
        });
        if let Some(r) = record {
            self.events.push_back(CallEvent::Record(r));
        }
        let cause = c.cause.clone().unwrap_or(EndCause::Terminated);
        let now = self.now.unwrap_or(c.started);
        self.linger(call, c, now);
        self.events.push_back(CallEvent::Ended { call, cause });
    }
}

/// The hint once SDP reached the other leg: an answer connects, an offer only connects.
fn media_state(answer: bool) -> MediaFlowState {
    if answer {
        MediaFlowState::Connected
    } else {
        MediaFlowState::Connecting
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
