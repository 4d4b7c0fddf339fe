//! Requests inside a call's dialogs: BYE ends the other leg; re-INVITE, UPDATE, INFO and any
//! other method are relayed to the other leg, and its final response relayed back
//! (scenario S1, mid-call).

use std::time::Instant;

use tandem_sip_core::{ClientTxId, DialogError, DialogId, Endpoint, ServerTxId};
use tandem_sip_msg::headers::CSeq;
use tandem_sip_msg::{HeaderName, Message, Method};

use crate::b2bua::{B2bua, Role};
use crate::relay::{self, BODY_HEADERS, Body};
use crate::types::{CallId, CallState, EndCause, EndedBy, Leg, Reason};

/// One in-dialog request being relayed from the near leg to the far leg.
#[derive(Debug)]
pub(crate) struct Relay {
    /// The leg that sent the request.
    near: Leg,
    /// Its server transaction on the near leg.
    pub(crate) near_tx: ServerTxId,
    method: Method,
    /// The near request carried a body (for INVITE: an offer; else a late offer, whose
    /// answer comes in the near leg's ACK).
    near_offer: bool,
    /// The far leg's 2xx to a late-offer re-INVITE, waiting for the near ACK's answer.
    far_ack_pending: Option<(DialogId, u32)>,
    /// The far leg's 2xx was ACKed (CSeq): retransmissions get the same ACK.
    far_acked: Option<(DialogId, u32)>,
}

impl B2bua {
    pub(crate) fn on_request(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        call: CallId,
        near: Leg,
        tx: ServerTxId,
        request: &Message,
    ) {
        let Some(method) = request.method() else {
            return;
        };
        if method == Method::Bye {
            self.on_bye(ep, now, call, near, tx);
            return;
        }
        if method == Method::Prack && near == Leg::A && self.state(call) == CallState::Establishing
        {
            // RFC 3262 §3: the PRACK of a reliable 18x Tandem sent (the endpoint matched its
            // RAck): hop by hop, answered here (see `early.rs`).
            self.on_a_prack(ep, now, call, tx, request);
            return;
        }
        let state = self.state(call);
        let far_dialog = self.calls.get(&call).and_then(|c| c.dialog(near.other()));
        let Some(far_dialog) = far_dialog.filter(|_| state == CallState::Established) else {
            // Not relayable: the other leg is not (or no longer) confirmed.
            let (status, reason) = if state == CallState::Establishing {
                (491, "Request Pending")
            } else {
                (481, "Call/Transaction Does Not Exist")
            };
            let _ = ep.reply(now, tx, status, reason);
            return;
        };
        if method == Method::Refer {
            // Transfers are scenario S2's business, not a relay's.
            let _ = ep.reply(now, tx, 501, "Not Implemented");
            return;
        }
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let Ok(body) = relay::relay_body(c.rewriter_to(near.other()), request) else {
            let _ = ep.reply(now, tx, 488, "Not Acceptable Here");
            return;
        };
        let near_offer = !matches!(body, Body::None);
        let sent = ep.dialog_request(far_dialog, &method).and_then(|mut m| {
            relay::copy_allowed(request, &mut m, &c.pass_through)?;
            relay::copy_allowed(request, &mut m, BODY_HEADERS)?;
            if method == Method::Info {
                let info = [HeaderName::new("Info-Package")];
                relay::copy_allowed(request, &mut m, &info)?;
            }
            relay::set_body(&mut m, body)?;
            ep.send_in_dialog(now, far_dialog, m)
        });
        match sent {
            Ok(far_tx) => {
                c.relays.insert(
                    far_tx,
                    Relay {
                        near,
                        near_tx: tx,
                        method,
                        near_offer,
                        far_ack_pending: None,
                        far_acked: None,
                    },
                );
                self.by_client.insert(far_tx, (call, Role::Relay));
                self.relays_in.insert(tx, (call, far_tx));
            }
            Err(DialogError::InviteInProgress) => {
                // §14.2: an INVITE is already in progress on the far leg.
                let _ = ep.reply(now, tx, 491, "Request Pending");
            }
            Err(_) => {
                let _ = ep.reply(now, tx, 500, "Server Internal Error");
            }
        }
    }

    /// BYE from `near`: 200 on that leg (§15.1.2), BYE with `Reason` on the other.
    fn on_bye(&mut self, ep: &mut Endpoint, now: Instant, call: CallId, near: Leg, tx: ServerTxId) {
        let _ = ep.reply(now, tx, 200, "OK");
        self.note_end(call, near, EndedBy::Remote);
        if let Some(c) = self.calls.get_mut(&call) {
            let d = match near {
                Leg::A => c.dialog_a.take(),
                Leg::B => c.dialog_b.take(),
            };
            if let Some(d) = d {
                self.by_dialog.remove(&d);
            }
        }
        let state = self.state(call);
        let cause = match (near, state) {
            (Leg::A, CallState::Establishing) => EndCause::Cancelled,
            (Leg::A, _) => EndCause::CallerHangUp,
            (Leg::B, _) => EndCause::CalleeHangUp,
        };
        if self.begin_end(call, cause) {
            if state == CallState::Establishing {
                // §15.1.2: the caller's BYE on the early dialog; its INVITE gets 487.
                self.abort_establishing(ep, now, call, 487, "Request Terminated");
            } else {
                let text = match near {
                    Leg::A => "Caller hung up",
                    Leg::B => "Callee hung up",
                };
                self.bye(ep, now, call, near.other(), &Reason::new(200, text));
            }
        }
        self.maybe_finish(call);
    }

    pub(crate) fn on_relay_response(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        call: CallId,
        far_tx: ClientTxId,
        response: Option<&Message>,
    ) {
        let status = response.and_then(Message::status);
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let Some(r) = c.relays.get_mut(&far_tx) else {
            return;
        };
        if let (Some(s @ 101..=199), Some(resp)) = (status, response) {
            // A provisional response (e.g. 180 to a re-INVITE, RFC 3261 §13.3.1.1) goes to
            // the near leg with its allow-listed headers; 100 is hop-by-hop (§16.7 step 5).
            // Its body is not relayed: an offer or answer in a provisional response to a
            // re-INVITE needs PRACK (RFC 3262), which relays do not do.
            let near_tx = r.near_tx;
            let _ = respond(ep, now, near_tx, resp, s, None, Body::None, &c.pass_through);
            return;
        }
        if status.is_some_and(|s| s < 200) {
            return;
        }
        let (near, near_tx) = (r.near, r.near_tx);
        let is_invite = r.method == Method::Invite;
        match (status, response) {
            (Some(200..=299), Some(resp)) => {
                let cseq = resp.typed::<CSeq>().ok().flatten().map_or(0, |c| c.seq);
                let far_dialog = ep.dialog_of_response(resp);
                if is_invite && let Some(acked) = r.far_acked {
                    // A retransmitted 2xx: resend the same ACK (§13.2.2.4).
                    let _ = ep.ack_2xx(acked.0, acked.1, None);
                    return;
                }
                if is_invite && r.far_ack_pending.is_some() {
                    return;
                }
                let near_offer = r.near_offer;
                let body = relay::relay_body(c.rewriter_to(near), resp).unwrap_or(Body::None);
                if let (true, Some(d)) = (is_invite, far_dialog) {
                    let r = c.relays.get_mut(&far_tx);
                    if near_offer || matches!(body, Body::None) {
                        let _ = ep.ack_2xx(d, cseq, None);
                        if let Some(r) = r {
                            r.far_acked = Some((d, cseq));
                        }
                    } else if let Some(r) = r {
                        // Late offer: the answer comes in the near leg's ACK.
                        r.far_ack_pending = Some((d, cseq));
                    }
                }
                let _ = respond(
                    ep,
                    now,
                    near_tx,
                    resp,
                    status.unwrap_or(200),
                    None,
                    body,
                    &c.pass_through,
                );
                if !is_invite {
                    self.forget_relay(call, far_tx);
                }
            }
            _ => {
                let (code, phrase) = relay::map_in_dialog(status);
                let phrase = phrase.map_or_else(
                    || response.map(relay::reason_phrase).unwrap_or_default(),
                    str::to_owned,
                );
                match response {
                    Some(resp) => {
                        let _ = respond(
                            ep,
                            now,
                            near_tx,
                            resp,
                            code,
                            Some(&phrase),
                            Body::None,
                            &c.pass_through,
                        );
                    }
                    None => {
                        let _ = ep.reply(now, near_tx, code, &phrase);
                    }
                }
                self.forget_relay(call, far_tx);
                if matches!(code, 408 | 481) {
                    // §12.2.1.2: the far dialog is gone, and the near UA ends its own on the
                    // relayed 408/481: the leg is lost, so is the call.
                    self.lose_call(ep, call);
                }
            }
        }
    }

    /// The near leg's ACK of a relayed re-INVITE's 2xx: a late-offer answer goes to the far
    /// leg in its ACK.
    pub(crate) fn on_relay_ack(&mut self, ep: &mut Endpoint, near_tx: ServerTxId, ack: &Message) {
        let Some((call, far_tx)) = self.relays_in.get(&near_tx).copied() else {
            return;
        };
        if let Some(c) = self.calls.get_mut(&call)
            && let Some(r) = c.relays.get(&far_tx)
            && let Some((d, cseq)) = r.far_ack_pending
        {
            let far = r.near.other();
            let body = relay::relay_body(c.rewriter_to(far), ack).unwrap_or(Body::None);
            let body = match &body {
                Body::Some(ct, bytes) => Some((ct.as_str(), bytes.clone())),
                Body::None => None,
            };
            let _ = ep.ack_2xx(d, cseq, body);
        }
        self.forget_relay(call, far_tx);
    }

    fn forget_relay(&mut self, call: CallId, far_tx: ClientTxId) {
        if let Some(r) = self
            .calls
            .get_mut(&call)
            .and_then(|c| c.relays.remove(&far_tx))
        {
            self.relays_in.remove(&r.near_tx);
        }
        self.by_client.remove(&far_tx);
    }

    /// A leg is gone: forget both dialogs (the near UA ends its own on the relayed 408/481)
    /// and end the call.
    fn lose_call(&mut self, ep: &mut Endpoint, call: CallId) {
        self.note_end(call, Leg::A, EndedBy::Lost);
        self.note_end(call, Leg::B, EndedBy::Lost);
        if let Some(c) = self.calls.get_mut(&call) {
            for d in [c.dialog_a.take(), c.dialog_b.take()].into_iter().flatten() {
                self.by_dialog.remove(&d);
                ep.terminate_dialog(d);
            }
        }
        self.begin_end(call, EndCause::LegLost);
        self.maybe_finish(call);
    }
}

/// A response on the near leg mirroring the far leg's `from`: status, reason phrase (or
/// `phrase`), allow-listed headers, body.
#[allow(clippy::too_many_arguments)]
fn respond(
    ep: &mut Endpoint,
    now: Instant,
    tx: ServerTxId,
    from: &Message,
    status: u16,
    phrase: Option<&str>,
    body: Body,
    allow: &[HeaderName],
) -> Option<()> {
    let reason = phrase.map_or_else(|| relay::reason_phrase(from), str::to_owned);
    let mut m = ep.make_response(tx, status, &reason).ok()?;
    relay::copy_allowed(from, &mut m, allow).ok()?;
    if status == 491 || status == 500 {
        // §14.1: the retry timing is the far UA's; keep its Retry-After.
        relay::copy_allowed(from, &mut m, &[HeaderName::RetryAfter]).ok()?;
    }
    relay::set_body(&mut m, body).ok()?;
    ep.respond(now, tx, m).ok()
}
