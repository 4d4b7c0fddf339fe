//! [`B2bua::originate`]: a call between two parties Tandem calls itself (click-to-call,
//! third party call control, RFC 3725 Flow I).
//!
//! ```text
//!  first (A)            Tandem             second (B)
//!     |<-- INVITE (no SDP) -|                    |
//!     |--- 200 (offer1) --->|                    |
//!     |                     |-- INVITE (offer1) ->|   o= rewritten (RFC 3264 §8)
//!     |                     |<-- 200 (answer1) ---|
//!     |                     |-- ACK ------------->|
//!     |<-- ACK (answer1) ---|                    |
//! ```
//!
//! If the second party fails or does not answer, the first party's 2xx is ACKed with an
//! answer that rejects every stream (port 0, RFC 3264 §6) and its dialog ends with BYE. Once
//! both are up the call is an ordinary back-to-back call.

use std::time::{Duration, Instant};

use bytes::Bytes;
use tandem_sdp::{SessionDescription, rejecting_answer};
use tandem_sip_core::{DialogId, Endpoint};
use tandem_sip_msg::Message;

use crate::b2bua::{B2bua, LegA};
use crate::leg::{self, Outgoing};
use crate::record::LegNotes;
use crate::relay::{self, Body};
use crate::types::{
    CallError, CallEvent, CallId, CallSettings, CallState, EndCause, Leg, MediaFlowState, Reason,
};

/// The longest the second leg may ring in Flow I: the first party retransmits its 2xx
/// until the ACK, and gives up after 64·T1 = 32 s (RFC 3261 §13.3.1.4; RFC 3725 §5 notes
/// the flow suits parties that answer quickly). The second leg's ring timeout is capped at
/// this.
pub const FLOW_I_RING_LIMIT: Duration = Duration::from_secs(30);

/// What an originated call keeps until its second leg is up.
#[derive(Debug)]
pub(crate) struct Pending {
    /// The second leg's settings, until its INVITE is sent.
    second: Option<Box<CallSettings>>,
}

impl B2bua {
    /// Calls `first`, then `second` with the first party's offer, and joins them (RFC 3725
    /// Flow I; REST `POST /v1/calls`, click-to-call).
    ///
    /// The first INVITE carries no SDP (RFC 3261 §13.2.1: the offer comes in the 2xx). Its
    /// From is `first.from`, else `<second.target>`: the first party sees who it will talk
    /// to; the second INVITE's From is `second.from`, else `<first.target>`. Each INVITE
    /// is a new dialog with Tandem's Via and Contact, `Max-Forwards: 70`, the settings'
    /// extra headers and session timer, and digest credentials, failover targets and ring
    /// timeout as for [`Self::establish`] (the second leg's ring timeout is at most
    /// [`FLOW_I_RING_LIMIT`]). In-dialog requests later pass both settings' allow-lists;
    /// the shorter maximum duration applies.
    ///
    /// Outcomes: the first party fails ⇒ the call ends with no second leg; the second fails
    /// or times out ⇒ the first party's 2xx is ACKed with a rejecting answer (every `m=`
    /// port 0, RFC 3264 §6) and gets BYE; both answer ⇒ the second's 2xx is ACKed and its
    /// answer goes to the first party in the ACK, the call is
    /// [`CallState::Established`](crate::CallState::Established).
    pub fn originate(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        first: CallSettings,
        mut second: CallSettings,
    ) -> Result<CallId, CallError> {
        self.now = Some(now);
        let from = first
            .from
            .clone()
            .unwrap_or_else(|| format!("<{}>", second.target));
        let (tx, call_id) = leg::send_invite(ep, now, &first, &from, 70, None, Body::None)?;
        let (rw_a, rw_b) = self.rewriters(ep, &first);
        let notes = LegNotes::outgoing(
            call_id,
            from,
            format!("<{}>", first.target),
            first.destination,
            now,
        );
        second.ring_timeout = Some(
            second
                .ring_timeout
                .map_or(FLOW_I_RING_LIMIT, |d| d.min(FLOW_I_RING_LIMIT)),
        );
        let mut joint = first.clone();
        for h in &second.pass_through {
            if !joint.pass_through.contains(h) {
                joint.pass_through.push(h.clone());
            }
        }
        joint.max_duration = match (first.max_duration, second.max_duration) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let id = self.new_call(
            now,
            LegA::Out(Box::new(Outgoing::new(tx, &first))),
            notes.clone(),
            rw_a,
            rw_b,
            &joint,
        );
        if let Some(c) = self.calls.get_mut(&id) {
            c.pending = Some(Box::new(Pending {
                second: Some(Box::new(second)),
            }));
        }
        self.start_leg(now, id, Leg::A, tx, &first, notes);
        self.events.push_back(CallEvent::StateChanged {
            call: id,
            state: CallState::Establishing,
        });
        Ok(id)
    }

    /// The first party's first 2xx (dialog `d`, INVITE CSeq `cseq`): its offer goes to the
    /// second party in a new INVITE; the ACK waits for the answer.
    pub(crate) fn on_first_2xx(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        call: CallId,
        cseq: u32,
        r: &Message,
    ) {
        self.note_flow(ep, call, Leg::A);
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let offer =
            (!r.body().is_empty() && relay::is_sdp(r)).then(|| Bytes::copy_from_slice(r.body()));
        if let LegA::Out(a) = &mut c.a {
            a.ack_pending = Some(cseq);
            a.offer.clone_from(&offer);
        }
        let second = c.pending.as_mut().and_then(|p| p.second.take());
        if c.state != CallState::Establishing {
            // The call ended while the first party was ringing (a CANCEL crossed its 2xx).
            self.reject_first(ep, now, call, &Reason::new(487, "Request Terminated"));
            self.maybe_finish(call);
            return;
        }
        let body = relay::relay_body(&mut c.rw_b, r);
        let (Some(second), Some(_), Ok(body @ Body::Some(..))) = (second, offer, body) else {
            // RFC 3264 §5: a 2xx to an INVITE without offer must carry one.
            self.begin_end(
                call,
                EndCause::Failed("the first leg's 2xx has no offer".into()),
            );
            self.abort_establishing(ep, now, call, 488, "Not Acceptable Here");
            self.maybe_finish(call);
            return;
        };
        let from = second.from.clone().unwrap_or_else(|| c.notes_a.to.clone());
        match leg::send_invite(ep, now, &second, &from, 70, None, body) {
            Ok((tx, call_id)) => {
                let notes = LegNotes::outgoing(
                    call_id,
                    from,
                    format!("<{}>", second.target),
                    second.destination,
                    now,
                );
                self.start_leg(now, call, Leg::B, tx, &second, notes);
                self.note_media(call, MediaFlowState::Connecting);
            }
            Err(e) => {
                self.begin_end(call, EndCause::Failed(format!("second leg: {e}")));
                self.abort_establishing(ep, now, call, 500, "Server Internal Error");
                self.maybe_finish(call);
            }
        }
    }

    /// The second party's first 2xx (dialog `d`): ACK it, and ACK the first party with its
    /// answer (RFC 3725 Flow I).
    pub(crate) fn on_second_2xx(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        call: CallId,
        d: DialogId,
        cseq: u32,
        r: &Message,
    ) {
        self.ack_now(ep, call, Leg::B, d, cseq);
        self.note_flow(ep, call, Leg::B);
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let pending_a = match &c.a {
            LegA::Out(a) => a.ack_pending.zip(c.dialog_a),
            LegA::In(_) => None,
        };
        let Some((a_cseq, a_dialog)) = pending_a.filter(|_| c.state == CallState::Establishing)
        else {
            // The call ended meanwhile (a CANCEL crossed this 2xx, §9.1).
            self.bye(
                ep,
                now,
                call,
                Leg::B,
                &Reason::new(487, "Request Terminated"),
            );
            self.maybe_finish(call);
            return;
        };
        let Ok(Body::Some(ct, bytes)) = relay::relay_body(&mut c.rw_a, r) else {
            self.begin_end(
                call,
                EndCause::Failed("the second leg's 2xx has no answer".into()),
            );
            let reason = Reason::new(488, "Not Acceptable Here");
            self.reject_first(ep, now, call, &reason);
            self.bye(ep, now, call, Leg::B, &reason);
            self.maybe_finish(call);
            return;
        };
        let _ = ep.ack_2xx(a_dialog, a_cseq, Some((ct.as_str(), bytes)));
        if let LegA::Out(a) = &mut c.a {
            a.ack_pending = None;
            a.acked = Some(a_cseq);
            a.offer = None;
        }
        c.pending = None;
        self.note_media(call, MediaFlowState::Connected);
        self.on_answered(now, call);
    }

    /// An originated call gives up on its first party after its 2xx: ACK it with an answer
    /// rejecting every stream (RFC 3264 §6, RFC 3725 Flow I), then BYE with `reason`.
    /// Nothing when leg A is not an answered, unacknowledged outgoing leg.
    pub(crate) fn reject_first(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        call: CallId,
        reason: &Reason,
    ) {
        let pending = self
            .calls
            .get_mut(&call)
            .and_then(|c| c.outgoing(Leg::A))
            .is_some_and(|a| a.ack_pending.is_some());
        if pending {
            // `bye` ACKs with the rejecting answer first.
            self.bye(ep, now, call, Leg::A, reason);
        }
    }

    /// ACKs the 2xx of outgoing leg `side` that waits for the other leg's answer, with an
    /// answer rejecting every stream of its offer (RFC 3264 §6; no body when the offer does
    /// not parse). Nothing if no 2xx waits.
    pub(crate) fn ack_rejecting(&mut self, ep: &mut Endpoint, call: CallId, side: Leg) {
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let d = c.dialog(side);
        let Some(o) = c.outgoing(side) else {
            return;
        };
        let (Some(cseq), Some(d)) = (o.ack_pending, d) else {
            return;
        };
        o.ack_pending = None;
        o.acked = Some(cseq);
        let offer = o.offer.take();
        let rw = c.rewriter_to(side);
        let answer = offer
            .and_then(|o| SessionDescription::parse(&o).ok())
            .and_then(|offer| rejecting_answer(&offer, &rw.origin()).ok())
            .map(|a| Bytes::from(rw.rewrite(&a).to_bytes()));
        let _ = ep.ack_2xx(d, cseq, answer.map(|b| ("application/sdp", b)));
    }
}
