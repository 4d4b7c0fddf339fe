//! Early media and reliable provisional responses (RFC 3262) across a bridged call, hop by
//! hop: each leg has its own `RSeq` space and its own PRACKs (see the crate docs, "Early
//! media and PRACK").
//!
//! - Leg B: Tandem's endpoint PRACKs leg B's reliable 18x by itself (RFC 3262 §4), except
//!   one carrying an offer (leg B's INVITE had none, §5): that PRACK waits for leg A's
//!   answer ([`Endpoint::prack_with_answer`]).
//! - Leg A: when its INVITE offers `100rel` (and the endpoint supports it), an 18x with SDP
//!   goes to leg A reliably ([`Endpoint::respond_reliably`], §3), every 18x if leg A
//!   *requires* `100rel`; leg A's PRACK gets 200 from the controller and its answer (if
//!   any) goes on to leg B. One reliable provisional at a time (§3): later ones wait in a
//!   queue; a 2xx of leg B waits for leg A's PRACK of an 18x with SDP (§3: no 2xx before
//!   that PRACK).

use std::collections::VecDeque;
use std::time::Instant;

use bytes::Bytes;
use tandem_sip_core::{ClientTxId, DialogId, Endpoint, ServerTxId};
use tandem_sip_msg::{HeaderName, Message};

use crate::b2bua::{B2bua, Role};
use crate::relay::{self, Body};
use crate::types::{CallId, EndCause, EndedBy, Leg, MediaFlowState, Reason};

/// The early-media state of a bridged call (Tandem is leg A's UAS).
#[derive(Debug, Default)]
pub(crate) struct Early {
    /// Leg A's INVITE offered `100rel` (`Supported` or `Require`) and the endpoint supports
    /// it: 18x with SDP go to leg A reliably.
    pub(crate) rel: bool,
    /// Leg A's INVITE *required* `100rel`: every 18x goes to leg A reliably (§3).
    pub(crate) required: bool,
    /// A reliable 18x with SDP sent to leg A awaits its PRACK: a 2xx must wait (§3).
    pub(crate) pending_sdp: bool,
    /// Provisional responses for leg A waiting for the PRACK of the one sent before (§3:
    /// one reliable provisional at a time), with whether each goes reliably and carries SDP.
    pub(crate) queue: VecDeque<Queued>,
    /// Leg B's 2xx (dialog, CSeq, response) held until leg A's PRACK.
    pub(crate) held_2xx: Option<(DialogId, u32, Box<Message>)>,
    /// SDP reached leg A in a reliable 18x: leg A's offer/answer is done (or, for a late
    /// offer, its answer comes in the PRACK); later SDP in responses to the INVITE is not
    /// relayed (RFC 3261 §13.2.1: leg A would ignore it; an answer is never sent twice).
    pub(crate) a_sdp_done: bool,
    /// The answer last relayed to leg A in an *unreliable* 18x: repeated in leg A's 2xx
    /// when leg B's 2xx has none (leg B answered in a reliable 18x, RFC 6337 §3.1).
    pub(crate) early_answer: Option<(String, Bytes)>,
    /// Leg B's offer/answer completed in its early dialog (an answer in a reliable 18x, or
    /// leg A's answer sent in Tandem's PRACK): leg B's 2xx carries no new offer.
    pub(crate) b_done: bool,
    /// Leg B's early dialog whose reliable 18x carried an offer: its PRACK waits for leg A's.
    pub(crate) b_awaiting: Option<DialogId>,
    /// That offer went to leg A in the reliable 18x now pending: leg A's PRACK answers it.
    pub(crate) answer_due: bool,
    /// Tandem's PRACK carrying leg A's answer to leg B.
    pub(crate) b_prack: Option<ClientTxId>,
}

/// A provisional response for leg A, waiting its turn.
#[derive(Debug)]
pub(crate) struct Queued {
    response: Message,
    reliable: bool,
    sdp: bool,
}

impl Early {
    /// The early-media state for leg A's `invite`, on an endpoint that does (or not) support
    /// `100rel`.
    pub(crate) fn new(ep: &Endpoint, invite: &Message) -> Self {
        let supported = ep
            .config()
            .supported
            .iter()
            .any(|s| s.eq_ignore_ascii_case("100rel"));
        let required = relay::lists_token(invite, &HeaderName::Require, "100rel");
        let offered = required || relay::lists_token(invite, &HeaderName::Supported, "100rel");
        Self {
            rel: supported && offered,
            required: supported && required,
            ..Self::default()
        }
    }
}

/// Whether `r` is a reliable provisional response (RFC 3262 §7.1: `Require: 100rel` and
/// `RSeq`).
pub(crate) fn is_reliable(r: &Message) -> bool {
    relay::lists_token(r, &HeaderName::Require, "100rel") && r.value(&HeaderName::RSeq).is_some()
}

impl B2bua {
    /// Relays leg B's 101-199 `r` to leg A (a bridged call still establishing, leg A
    /// without a final response).
    pub(crate) fn relay_provisional(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        call: CallId,
        a_tx: ServerTxId,
        a_offer: bool,
        r: &Message,
    ) {
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let has_sdp = !r.body().is_empty();
        let b_reliable = is_reliable(r);
        let b_dialog = ep.dialog_of_response(r);
        // §5: leg B's INVITE had no offer, and this reliable 18x carries one.
        // Only the first such offer (forks): a later one goes without SDP (see crate docs).
        let b_offer = !a_offer
            && c.early.b_awaiting.is_none()
            && !c.early.a_sdp_done
            && b_dialog.is_some_and(|d| ep.prack_awaits_answer(d));
        if b_offer && !c.early.rel {
            // Leg A can only answer in its ACK, after the 2xx, and leg B sends no 2xx before
            // the PRACK with the answer (§3, §5): ask leg A for 100rel (RFC 3261 §21.4.16).
            self.reject_needs_100rel(ep, now, call, a_tx);
            return;
        }
        let reliable = c.early.rel && (c.early.required || (has_sdp && (a_offer || b_offer)));
        // SDP crosses once: the answer (early offer), B's offer in a reliable 18x (late
        // offer), or an unreliable preview; never after leg A's offer/answer is done, and
        // never an unreliable "offer" made reliable (§13.2.1: not an offer on leg B).
        let sdp = has_sdp && !c.early.a_sdp_done && (a_offer || b_offer || !reliable);
        if b_offer {
            c.early.b_awaiting = b_dialog;
        }
        if a_offer && has_sdp && b_reliable {
            // §5: leg B's answer in a reliable 18x completes its offer/answer.
            c.early.b_done = true;
        }
        let body = if sdp {
            match relay::relay_body(&mut c.rw_a, r) {
                Ok(b) => b,
                Err(()) => return,
            }
        } else {
            Body::None
        };
        if let (false, true, Body::Some(ct, bytes)) = (reliable, a_offer, &body) {
            c.early.early_answer = Some((ct.clone(), bytes.clone()));
        }
        let status = r.status().unwrap_or(180);
        let Ok(mut m) = ep.make_response(a_tx, status, &relay::reason_phrase(r)) else {
            return;
        };
        if relay::copy_allowed(r, &mut m, &c.pass_through).is_err()
            || relay::set_body(&mut m, body).is_err()
        {
            return;
        }
        if ep.prack_pending(a_tx) || !c.early.queue.is_empty() {
            c.early.queue.push_back(Queued {
                response: m,
                reliable,
                sdp,
            });
            return;
        }
        self.send_a_provisional(ep, now, call, a_tx, a_offer, m, reliable, sdp);
    }

    /// Sends a provisional response on leg A, reliably or not.
    #[allow(clippy::too_many_arguments)]
    fn send_a_provisional(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        call: CallId,
        a_tx: ServerTxId,
        a_offer: bool,
        m: Message,
        reliable: bool,
        sdp: bool,
    ) {
        let sent_reliably = reliable && ep.respond_reliably(now, a_tx, m.clone()).is_ok();
        let sent = sent_reliably || ep.respond(now, a_tx, m).is_ok();
        if let Some(c) = self.calls.get_mut(&call)
            && sent_reliably
            && sdp
        {
            c.early.pending_sdp = true;
            c.early.a_sdp_done = true;
            // Late offer: this 18x carries leg B's offer, its PRACK the answer (§5).
            c.early.answer_due = !a_offer;
        }
        if sent && sdp {
            // Early media: the answer (or, for a late offer, an offer) reached leg A.
            self.note_media(
                call,
                if a_offer {
                    MediaFlowState::Connected
                } else {
                    MediaFlowState::Connecting
                },
            );
        }
        self.note_dialog_a(ep, call);
    }

    /// Leg A's PRACK (the endpoint matched it to the reliable 18x pending, §3): 200, the
    /// answer it carries goes to leg B in Tandem's PRACK (§5), then the next provisional
    /// response or the held 2xx goes to leg A.
    pub(crate) fn on_a_prack(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        call: CallId,
        tx: ServerTxId,
        prack: &Message,
    ) {
        let _ = ep.reply(now, tx, 200, "OK");
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        c.early.pending_sdp = false;
        let answers = std::mem::take(&mut c.early.answer_due);
        if let Some(d) = c.early.b_awaiting.filter(|_| answers) {
            c.early.b_awaiting = None;
            let answer = match relay::relay_body(&mut c.rw_b, prack) {
                Ok(Body::Some(ct, bytes)) => ep.prack_with_answer(now, d, &ct, bytes).ok(),
                _ => None,
            };
            let Some(prack_tx) = answer else {
                // §5: the PRACK must carry the answer; without it leg B waits forever.
                let cause = EndCause::Failed("leg A's PRACK carried no answer".into());
                self.begin_end(call, cause);
                self.abort_establishing(ep, now, call, 488, "Not Acceptable Here");
                self.maybe_finish(call);
                return;
            };
            c.early.b_done = true;
            c.early.b_prack = Some(prack_tx);
            self.by_client.insert(prack_tx, (call, Role::Prack));
            self.note_media(call, MediaFlowState::Connected);
        }
        self.next_a_provisional(ep, now, call);
    }

    /// Sends what waited for leg A's PRACK: queued provisional responses, up to the next
    /// reliable one, then leg B's held 2xx.
    fn next_a_provisional(&mut self, ep: &mut Endpoint, now: Instant, call: CallId) {
        loop {
            let Some(c) = self.calls.get_mut(&call) else {
                return;
            };
            let Some((a_tx, a_offer, done)) = c.incoming().map(|a| (a.tx, a.offer, a.final_sent))
            else {
                return;
            };
            if done || ep.prack_pending(a_tx) {
                return;
            }
            if let Some(q) = c.early.queue.pop_front() {
                self.send_a_provisional(
                    ep, now, call, a_tx, a_offer, q.response, q.reliable, q.sdp,
                );
                continue;
            }
            if let Some((d, cseq, r)) = c.early.held_2xx.take() {
                self.on_b_2xx(ep, now, call, d, cseq, &r);
            }
            return;
        }
    }

    /// Leg B's 2xx must wait for leg A's PRACK (§3: no 2xx while a reliable 18x with SDP is
    /// unacknowledged; nor before one still queued, whose SDP leg A needs): whether it was
    /// held.
    pub(crate) fn hold_2xx(
        &mut self,
        ep: &Endpoint,
        call: CallId,
        d: DialogId,
        cseq: u32,
        r: &Message,
    ) -> bool {
        let Some(c) = self.calls.get_mut(&call) else {
            return false;
        };
        let Some(a_tx) = c.incoming().map(|a| a.tx) else {
            return false;
        };
        // An 18x with SDP sent, or queued behind the pending one, goes first.
        let sdp_first = c.early.pending_sdp || c.early.queue.iter().any(|q| q.sdp);
        if !(sdp_first && ep.prack_pending(a_tx)) {
            // Provisional responses still queued are moot once the 2xx goes.
            c.early.queue.clear();
            return false;
        }
        c.early.held_2xx = Some((d, cseq, Box::new(r.clone())));
        true
    }

    /// The call ends before leg A's PRACK came: a held 2xx of leg B is ACKed and ended with
    /// BYE (§13.2.2.4).
    pub(crate) fn drop_held_2xx(&mut self, ep: &mut Endpoint, now: Instant, call: CallId) {
        let held = self
            .calls
            .get_mut(&call)
            .and_then(|c| c.early.held_2xx.take());
        if let Some((d, cseq, _)) = held {
            self.ack_now(ep, call, Leg::B, d, cseq);
            self.bye(
                ep,
                now,
                call,
                Leg::B,
                &Reason::new(487, "Request Terminated"),
            );
        }
    }

    /// No PRACK from leg A within 64·T1 (§3): the endpoint answered its INVITE 500; leg B
    /// is cancelled (or, answered already, ended) and the call ends as a lost leg.
    pub(crate) fn on_a_prack_timeout(&mut self, ep: &mut Endpoint, now: Instant, call: CallId) {
        if let Some(a) = self.calls.get_mut(&call).and_then(|c| c.incoming()) {
            a.final_sent = true;
        }
        self.note_final(call, Leg::A, 500, now);
        self.note_end(call, Leg::A, EndedBy::Lost);
        if self.begin_end(call, EndCause::LegLost) {
            self.cancel_leg(ep, now, call, Leg::B);
            self.drop_held_2xx(ep, now, call);
        }
        self.maybe_finish(call);
    }

    /// Leg B's reliable 18x carries an offer that leg A, without `100rel`, cannot answer
    /// before the 2xx: leg A gets 421 with `Require: 100rel`, leg B is cancelled.
    fn reject_needs_100rel(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        call: CallId,
        a_tx: ServerTxId,
    ) {
        let cause = EndCause::Failed("leg B's early offer needs 100rel on leg A".into());
        self.begin_end(call, cause);
        let sent = ep
            .make_response(a_tx, 421, "Extension Required")
            .ok()
            .and_then(|mut m| {
                m.push_header(&HeaderName::Require, "100rel").ok()?;
                ep.respond(now, a_tx, m).ok()
            });
        if let Some(a) = self.calls.get_mut(&call).and_then(|c| c.incoming()) {
            a.final_sent = true;
        }
        if sent.is_some() {
            self.note_final(call, Leg::A, 421, now);
        }
        self.note_end(call, Leg::A, EndedBy::Local);
        self.cancel_leg(ep, now, call, Leg::B);
        self.maybe_finish(call);
    }

    /// A response to Tandem's PRACK on leg B: forgotten once final.
    pub(crate) fn on_prack_response(&mut self, call: CallId, tx: ClientTxId, r: Option<&Message>) {
        if r.is_none_or(|r| r.status().is_some_and(|s| s >= 200)) {
            self.by_client.remove(&tx);
            if let Some(c) = self.calls.get_mut(&call) {
                c.early.b_prack = None;
            }
        }
    }
}
