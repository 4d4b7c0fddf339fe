//! The answers to the INVITEs Tandem sent (provisional, 2xx, failures, digest retries)
//! and what they mean for the other leg: leg A's response in a bridged call (RFC 3261
//! §13.3.1, §16.7), the next step of an originated one (`originate.rs`).

use std::time::Instant;

use tandem_sip_core::auth::DigestClient;
use tandem_sip_core::{ClientTxId, DialogId, Endpoint};
use tandem_sip_msg::Message;
use tandem_sip_msg::headers::CSeq;

use crate::b2bua::{B2bua, LegA, Role, session_id};
use crate::leg::TwoXx;
use crate::relay::{self, Body};
use crate::timers::Timer;
use crate::types::{CallId, CallState, EndCause, EndedBy, Leg, MediaFlowState, Reason};

impl B2bua {
    pub(crate) fn on_response(
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
            Role::Prack => self.on_prack_response(call, tx, response),
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
            _ if self.redirect(ep, now, call, side, tx, response) => {}
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

    /// Follows a 3xx to the INVITE of `side` (RFC 3261 §8.1.3.4): the INVITE goes to the
    /// next of the Contacts learnt (see `Outgoing::add_redirect_targets`); a redirected
    /// attempt that fails too moves on to the next target. Whether an INVITE was sent.
    fn redirect(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        call: CallId,
        side: Leg,
        tx: ClientTxId,
        response: Option<&Message>,
    ) -> bool {
        if self.state(call) != CallState::Establishing {
            return false;
        }
        let Some(o) = self.calls.get_mut(&call).and_then(|c| c.outgoing(side)) else {
            return false;
        };
        if let Some(r) = response.filter(|r| r.status().is_some_and(|s| (300..400).contains(&s))) {
            o.add_redirect_targets(ep, r);
        }
        if !o.has_redirect_target() {
            return false;
        }
        let Some(new_tx) = o.next_redirect(ep, now) else {
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
        if side == Leg::A
            && matches!(c.a, LegA::Out(_))
            && ep
                .dialog_of_response(r)
                .is_some_and(|d| ep.prack_awaits_answer(d))
        {
            // Flow I (RFC 3725): the first party's offer in a reliable 18x (RFC 3262 §5)
            // needs its answer in the PRACK, before the second party is even called.
            let cause = EndCause::Failed("an offer in the first party's reliable 18x".into());
            self.begin_end(call, cause);
            self.abort_establishing(ep, now, call, 488, "Not Acceptable Here");
            self.maybe_finish(call);
            return;
        }
        let Some(a) = c.incoming() else {
            return;
        };
        if a.final_sent {
            return;
        }
        let (a_tx, a_offer) = (a.tx, a.offer);
        // 18x relayed with the early-media SDP under Tandem's origin for leg A, reliably
        // when leg A takes 100rel (`early.rs`).
        self.relay_provisional(ep, now, call, a_tx, a_offer, r);
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
    pub(crate) fn on_b_2xx(
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
        if self.hold_2xx(ep, call, d, cseq, r) {
            // RFC 3262 §3: no 2xx on leg A before the PRACK of its reliable 18x with SDP.
            return;
        }
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let early_answer = if a_offer && r.body().is_empty() {
            c.early.early_answer.take()
        } else {
            None
        };
        let body = if c.early.a_sdp_done {
            // Leg A's offer/answer completed in a reliable 18x (RFC 6337 §3.1): the 2xx
            // carries no SDP (an answer is never sent twice, nor a new offer).
            Ok(Body::None)
        } else if let Some((ct, bytes)) = early_answer {
            // Leg B answered in a reliable 18x, leg A only had it unreliably: its 2xx
            // carries the same answer (RFC 3261 §13.2.1).
            Ok(Body::Some(ct, bytes))
        } else {
            relay::relay_body(&mut c.rw_a, r)
        };
        let Ok(body) = body else {
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
        // Late offer: B's 2xx carries the offer, unless B's offer/answer is done already.
        let late = !(a_offer || c.early.b_done || r.body().is_empty());
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

    pub(crate) fn on_a_ack(&mut self, ep: &mut Endpoint, call: CallId, ack: &Message) {
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

    pub(crate) fn on_a_cancelled(&mut self, ep: &mut Endpoint, now: Instant, call: CallId) {
        // §9.2: the endpoint already answered 487 on leg A.
        if let Some(a) = self.calls.get_mut(&call).and_then(|c| c.incoming()) {
            a.final_sent = true;
        }
        self.note_end(call, Leg::A, EndedBy::Remote);
        if let Some(now) = self.now {
            self.note_final(call, Leg::A, 487, now);
        }
        if self.state(call) == CallState::Establishing {
            self.begin_end(call, EndCause::Cancelled);
            self.cancel_leg(ep, now, call, Leg::B);
            self.drop_held_2xx(ep, now, call);
        }
        self.maybe_finish(call);
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
