//! Reliable provisional responses (RFC 3262), enabled by listing `100rel` in
//! [`EndpointConfig::supported`](crate::EndpointConfig::supported).
//!
//! - UAS: [`Endpoint::respond_reliably`] sends a 101-199 with `Require: 100rel` and `RSeq`
//!   and retransmits it (T1 doubling) until a PRACK with the matching `RAck` arrives; after
//!   64·T1 the endpoint answers the INVITE 500 and reports [`Event::PrackTimeout`]. A
//!   matching PRACK stops the retransmissions and goes to the TU as an ordinary
//!   [`Event::Request`] (it may carry an offer or answer the TU must handle): the TU answers
//!   it, normally 200. A PRACK matching no unacknowledged reliable provisional gets 481
//!   from the endpoint (§3). PRACK is served automatically (no 405) when `100rel` is
//!   supported.
//! - UAC: INVITEs get `Supported: 100rel`. A reliable provisional in a dialog is passed up
//!   once and PRACKed automatically in its early dialog (`RAck: rseq cseq INVITE`, §4,
//!   without a body), except the one that carries an offer: the first reliable provisional
//!   with a body when the INVITE had none (§5, RFC 6337 §2.1). That one waits for the TU,
//!   which checks [`Endpoint::prack_awaits_answer`] on the provisional's dialog and sends
//!   the answer with [`Endpoint::prack_with_answer`]; a body in a later provisional, or in
//!   one answering the INVITE's offer, is no new offer and is PRACKed without a body. The
//!   automatic PRACK's own responses are not reported; a 481 or timeout of a PRACK ends the
//!   early dialog as for any in-dialog request (§12.2.1.2).
//!   Retransmissions of the provisional and out-of-order ones (RSeq not the next) are
//!   dropped without an event (§4).
//!
//! [`Event::PrackTimeout`]: crate::Event::PrackTimeout
//! [`Event::Request`]: crate::Event::Request

use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::Rng;
use tandem_sip_msg::headers::{CSeq, RAck, RSeq};
use tandem_sip_msg::{HeaderName, Message, Method};

use super::{ClientTxId, Endpoint, Output, Report, ServerTxId, mentions_100rel};
use crate::dialog::{DialogId, DialogKey};
use crate::error::{DialogError, RespondError};
use crate::slab::SlotId;
use crate::timer::{Owner, TimerName};
use crate::transaction::{ClientKind, ServerKind, ServerState};
use crate::transport::Transmit;

/// The reliable provisional responses of one INVITE server transaction.
#[derive(Debug, Default)]
pub(super) struct Reliable {
    /// RSeq of the last reliable provisional sent.
    last_rseq: Option<u32>,
    /// The one not yet acknowledged.
    /// (Boxed: every server transaction has a `Reliable`, few a pending provisional.)
    pub(super) pending: Option<Box<Pending>>,
}

#[derive(Debug)]
pub(super) struct Pending {
    rseq: u32,
    bytes: Bytes,
    interval: Duration,
    since: Instant,
}

impl Endpoint {
    /// Sends a reliable provisional response (RFC 3262 §3) in INVITE server transaction `tx`:
    /// `response` (a 101-199, e.g. from [`Self::make_response`]) gets `Require: 100rel` and
    /// the next `RSeq` (random initial value below 2^31), and is retransmitted until PRACKed.
    ///
    /// Refused unless `100rel` is in the configuration's `supported` list and the INVITE
    /// named it in `Supported` or `Require` ([`RespondError::No100rel`]), and while an earlier
    /// reliable provisional of the transaction is still unacknowledged
    /// ([`RespondError::PrackPending`]: one at a time, §3).
    pub fn respond_reliably(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        mut response: Message,
    ) -> Result<(), RespondError> {
        let status = response.status().ok_or(RespondError::NotAResponse)?;
        let initial: u32 = self.rng.gen_range(1..(1u32 << 31));
        let supported = self.supports_100rel();
        let e = self
            .servers
            .get(tx.0)
            .ok_or(RespondError::NoSuchTransaction)?;
        if !(101..200).contains(&status)
            || e.tx.kind != ServerKind::Invite
            || e.tx.state != ServerState::Proceeding
        {
            return Err(RespondError::NotReliable);
        }
        let offered = e.request.as_deref().is_some_and(|r| {
            mentions_100rel(r, &HeaderName::Supported) || mentions_100rel(r, &HeaderName::Require)
        });
        if !supported || !offered {
            return Err(RespondError::No100rel);
        }
        if e.reliable.pending.is_some() {
            return Err(RespondError::PrackPending);
        }
        let rseq = e.reliable.last_rseq.map_or(initial, |r| r.wrapping_add(1));
        if !mentions_100rel(&response, &HeaderName::Require) {
            response.push_header(&HeaderName::Require, "100rel")?;
        }
        response.replace_header(&HeaderName::RSeq, &rseq.to_string())?;
        self.respond(now, tx, response)?;
        let t1 = self.config.timers.t1;
        let Some(e) = self.servers.get_mut(tx.0) else {
            return Ok(());
        };
        e.reliable.last_rseq = Some(rseq);
        if let Some(bytes) = e.tx.last_response.clone() {
            // Only unreliable transports need the retransmissions, but the 64·T1 limit
            // applies to both, so the timer runs either way.
            e.reliable.pending = Some(Box::new(Pending {
                rseq,
                bytes,
                interval: t1,
                since: now,
            }));
            e.tx.deadlines.set(TimerName::Rel1xx, now + t1);
            self.timers
                .schedule(now + t1, Owner::Server(tx.0), TimerName::Rel1xx);
        }
        Ok(())
    }

    /// Whether a reliable provisional response sent on `tx` still awaits its PRACK.
    pub fn prack_pending(&self, tx: ServerTxId) -> bool {
        self.servers
            .get(tx.0)
            .is_some_and(|e| e.reliable.pending.is_some())
    }

    /// Whether the reliable provisional response last passed up in `dialog` carried an offer
    /// that awaits its answer in the PRACK ([`Self::prack_with_answer`]).
    pub fn prack_awaits_answer(&self, dialog: DialogId) -> bool {
        self.dialogs
            .get(dialog.0)
            .is_some_and(|d| d.offer_in_1xx.is_some())
    }

    /// Sends the PRACK for a reliable provisional response that carried an offer, with the
    /// TU's answer as its body (RFC 3262 §5: the offer was in the first reliable provisional
    /// because the INVITE had none, so the answer goes in the PRACK; RFC 6337 §2.1). `RAck`
    /// names that provisional. The PRACK's responses come back as
    /// [`Event::Response`](crate::Event::Response) on the returned handle.
    ///
    /// Refused with [`DialogError::NoOfferPending`] unless
    /// [`Self::prack_awaits_answer`]: every other reliable provisional is PRACKed by the
    /// endpoint itself, without a body.
    pub fn prack_with_answer(
        &mut self,
        now: Instant,
        dialog: DialogId,
        content_type: &str,
        answer: Bytes,
    ) -> Result<ClientTxId, DialogError> {
        let d = self
            .dialogs
            .get(dialog.0)
            .ok_or(DialogError::NoSuchDialog)?;
        let (rseq, cseq) = d.offer_in_1xx.ok_or(DialogError::NoOfferPending)?;
        let mut m = self.dialog_request(dialog, &Method::Prack)?;
        m.push_header(&HeaderName::RAck, &format!("{rseq} {cseq} INVITE"))?;
        m.set_body(Some(content_type), answer.clone())?;
        let tx = self.send_in_dialog(now, dialog, m)?;
        if let Some(d) = self.dialogs.get_mut(dialog.0) {
            d.offer_in_1xx = None;
            d.local_body = Some(Box::new((content_type.to_owned(), answer)));
        }
        Ok(tx)
    }

    // ----- hooks called by the endpoint -----

    /// The retransmission timer of the pending reliable provisional of `id` fired.
    pub(super) fn prack_on_timer(&mut self, now: Instant, id: SlotId) {
        let limit = self.config.timers.transaction_timeout();
        let Some(e) = self.servers.get_mut(id) else {
            return;
        };
        let reliable_transport = e.tx.reliable;
        let flow = e.flow;
        let Some(p) = e.reliable.pending.as_mut() else {
            return;
        };
        if now.duration_since(p.since) >= limit {
            // §3: 64·T1 without PRACK: reject the INVITE with a 5xx.
            e.reliable.pending = None;
            let tx = ServerTxId(id);
            let _ = self.reply(now, tx, 500, "Server Internal Error");
            self.outputs
                .push_back(Output::Event(crate::Event::PrackTimeout { tx }));
            return;
        }
        let next = p.interval.saturating_mul(2);
        let payload = p.bytes.clone();
        let since = p.since;
        p.interval = next;
        let at = (now + next).min(since + limit);
        e.tx.deadlines.set(TimerName::Rel1xx, at);
        self.timers
            .schedule(at, Owner::Server(id), TimerName::Rel1xx);
        if !reliable_transport {
            self.outputs
                .push_back(Output::Transmit(Transmit { flow, payload }));
        }
    }

    /// A PRACK arrived in server transaction `id`, already matched to its dialog. Returns
    /// whether the endpoint answered it (481: it acknowledges nothing pending).
    pub(super) fn prack_on_request(&mut self, now: Instant, id: SlotId) -> bool {
        let Some(e) = self.servers.get(id) else {
            return false;
        };
        let rack = e
            .request
            .as_deref()
            .and_then(|r| r.typed::<RAck>().ok().flatten());
        let invite = e
            .dialog
            .and_then(|d| self.dialogs.get(d))
            .and_then(|dl| dl.invite_in);
        let matched = match (rack, invite) {
            (Some(rack), Some(inv)) => self.servers.get_mut(inv).is_some_and(|ie| {
                let cseq = ie
                    .request
                    .as_deref()
                    .and_then(|r| r.typed::<CSeq>().ok().flatten())
                    .map(|c| c.seq);
                let ok = ie
                    .reliable
                    .pending
                    .as_ref()
                    .is_some_and(|p| p.rseq == rack.rseq)
                    && cseq == Some(rack.cseq)
                    && rack.method == Method::Invite;
                if ok {
                    ie.reliable.pending = None;
                    ie.tx.deadlines.clear(TimerName::Rel1xx);
                }
                ok
            }),
            _ => false,
        };
        if !matched {
            let _ = self.reply(now, ServerTxId(id), 481, "Call/Transaction Does Not Exist");
        }
        !matched
    }

    /// A provisional response of client transaction `id` is about to be passed up (its
    /// dialog already created). PRACKs it if reliable; returns whether to pass it up.
    pub(super) fn prack_on_provisional(
        &mut self,
        now: Instant,
        id: SlotId,
        response: &Message,
    ) -> bool {
        let Some(status) = response.status() else {
            return true;
        };
        if !(101..200).contains(&status) || !mentions_100rel(response, &HeaderName::Require) {
            return true;
        }
        let Some(e) = self.clients.get(id) else {
            return true;
        };
        let offered = mentions_100rel(&e.request, &HeaderName::Supported)
            || mentions_100rel(&e.request, &HeaderName::Require);
        if e.tx.kind != ClientKind::Invite || !offered {
            return true;
        }
        let invite_offered = !e.request.body().is_empty();
        let Some(rseq) = response.typed::<RSeq>().ok().flatten().map(|r| r.0) else {
            return true; // §4: no RSeq, not a reliable provisional
        };
        let Some(cseq) = response.typed::<CSeq>().ok().flatten().map(|c| c.seq) else {
            return true;
        };
        let Some(d) =
            DialogKey::of_outgoing(response).and_then(|k| self.dialog_index.get(&k).copied())
        else {
            return true;
        };
        let Some(dl) = self.dialogs.get_mut(d) else {
            return true;
        };
        match dl.remote_rseq {
            // §4: a retransmission, or out of order: discard.
            Some(last) if rseq != last.wrapping_add(1) => return false,
            _ => dl.remote_rseq = Some(rseq),
        }
        if !response.body().is_empty() && !dl.early_sdp {
            dl.early_sdp = true;
            if !invite_offered {
                // §5: the offer is in this provisional; the PRACK must carry the answer,
                // which only the TU can make (`prack_with_answer`).
                dl.offer_in_1xx = Some((rseq, cseq));
                return true;
            }
        }
        let prack = self
            .dialog_request(DialogId(d), &Method::Prack)
            .and_then(|mut m| {
                m.push_header(&HeaderName::RAck, &format!("{rseq} {cseq} INVITE"))?;
                self.send_in_dialog(now, DialogId(d), m)
            });
        if let Ok(tx) = prack
            && let Some(pe) = self.clients.get_mut(tx.0)
        {
            pe.report = Report::Silent;
        }
        true
    }
}
