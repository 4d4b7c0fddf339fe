//! The dialog layer of the endpoint (RFC 3261 §12, with the INVITE usage of §13-§15): dialog
//! creation from responses, matching of in-dialog requests, target refresh, termination,
//! glare, requests and ACKs sent in a dialog.
//!
//! How the transaction user learns about dialogs: by asking, not by new [`Event`] variants
//! (existing exhaustive matches over `Event`, e.g. the operation fuzzer, keep compiling).
//! Every dialog change happens *before* the event of the message that caused it is queued, so
//! while handling `Event::Request`/`Event::Response` the TU sees the dialog as that message
//! left it:
//! - [`Endpoint::dialog_of_server_tx`]: the dialog of a received request;
//! - [`Endpoint::dialog_of_response`]: the dialog of a received response (one per fork);
//! - [`Endpoint::dialog_of_client_tx`] / [`Endpoint::dialogs_of_client_tx`];
//! - [`Endpoint::dialog_state`]: [`DialogState::Terminated`] once the dialog is gone (after a
//!   BYE and its 2xx, 481/408/timeout of an in-dialog request, a non-2xx final to the INVITE,
//!   or the end of the INVITE transaction for forks left early).
//!
//! [`Event`]: crate::Event

use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::Rng;
use tandem_sip_msg::headers::{CSeq, FromHeader, ToHeader};
use tandem_sip_msg::{HeaderName, Message, Method};

use super::{ClientEntry, ClientTxId, Endpoint, ServerEntry, ServerTxId, host_port, unfold};
use crate::dialog::{
    self, CachedAck, Dialog, DialogId, DialogKey, DialogRole, DialogState, contact_uri,
    dialog_hop_flow, is_sips, is_target_refresh, record_routes, via_differs_from_source,
    without_tag,
};
use crate::error::DialogError;
use crate::slab::SlotId;
use crate::transport::{Flow, Transmit};

use super::Output;

impl Endpoint {
    // ----- queries -----

    /// A dialog's state, or `None` once it has terminated.
    pub fn dialog(&self, dialog: DialogId) -> Option<&Dialog> {
        self.dialogs.get(dialog.0)
    }

    /// Early, Confirmed, or Terminated for a dialog the endpoint no longer holds.
    pub fn dialog_state(&self, dialog: DialogId) -> DialogState {
        self.dialogs
            .get(dialog.0)
            .map_or(DialogState::Terminated, |d| d.state)
    }

    /// Live dialogs (early and confirmed). Zero once every call has ended.
    pub fn dialog_count(&self) -> usize {
        self.dialogs.len()
    }

    /// The dialog a received request belongs to (§12.2.2), or the dialog its responses
    /// created (an initial INVITE answered 1xx-with-tag or 2xx).
    pub fn dialog_of_server_tx(&self, tx: ServerTxId) -> Option<DialogId> {
        let d = self.servers.get(tx.0)?.dialog?;
        self.dialogs.get(d).map(|_| DialogId(d))
    }

    /// The dialog a request sent with [`Self::send_in_dialog`] (or with `send_request` and
    /// the tags of a dialog) belongs to. For an initial INVITE, the dialog its responses
    /// created: a confirmed one if any, else the latest early one; see
    /// [`Self::dialogs_of_client_tx`] for every fork.
    pub fn dialog_of_client_tx(&self, tx: ClientTxId) -> Option<DialogId> {
        let e = self.clients.get(tx.0)?;
        if let Some(d) = e.dialog {
            return self.dialogs.get(d).map(|_| DialogId(d));
        }
        let live = || {
            e.forks
                .iter()
                .rev()
                .filter_map(|(_, d)| self.dialogs.get(*d).map(|x| (*d, x)))
        };
        live()
            .find(|(_, x)| x.state == DialogState::Confirmed)
            .or_else(|| live().next())
            .map(|(d, _)| DialogId(d))
    }

    /// Every live dialog created by the responses to initial INVITE `tx` (one per To tag:
    /// forking, §12.1.2, §13.2.2.4), oldest first.
    pub fn dialogs_of_client_tx(&self, tx: ClientTxId) -> Vec<DialogId> {
        self.clients.get(tx.0).map_or_else(Vec::new, |e| {
            e.forks
                .iter()
                .filter(|(_, d)| self.dialogs.get(*d).is_some())
                .map(|(_, d)| DialogId(*d))
                .collect()
        })
    }

    /// The dialog a *received* response belongs to, by Call-ID, From tag (local) and To tag
    /// (remote): with forking, the dialog of that fork.
    pub fn dialog_of_response(&self, response: &Message) -> Option<DialogId> {
        let key = DialogKey::of_outgoing(response)?;
        self.dialog_index.get(&key).map(|&d| DialogId(d))
    }

    // ----- commands -----

    /// An initial CSeq number for a request outside any dialog: random below 2^31
    /// (§8.1.1.5), from the seeded RNG. The dialog's local sequence number then continues
    /// from the INVITE's CSeq (§12.1.2).
    pub fn initial_cseq(&mut self) -> u32 {
        self.rng.gen_range(1..(1u32 << 31))
    }

    /// A request of `method` in `dialog`, ready for headers and a body, then
    /// [`Self::send_in_dialog`]: Request-URI and Route per the route set (§12.2.1.1), From and
    /// To with the tags, Call-ID, and Contact for target-refresh methods. The CSeq written
    /// here is provisional: `send_in_dialog` assigns the real one.
    pub fn dialog_request(
        &self,
        dialog: DialogId,
        method: &Method,
    ) -> Result<Message, DialogError> {
        let d = self
            .dialogs
            .get(dialog.0)
            .ok_or(DialogError::NoSuchDialog)?;
        let mut m = Message::new_request(method, &d.remote_target)?;
        let seq = d.local_seq.map_or(1, |s| s.wrapping_add(1));
        dialog::apply(d, &mut m, method, seq)?;
        Ok(m)
    }

    /// Sends `request` in `dialog` in a new client transaction (§12.2.1.1).
    ///
    /// The endpoint (re)writes the dialog's fields whatever the request carried: Request-URI
    /// = remote target and Route = route set (loose routing), or Request-URI = first route
    /// and the remote target appended to Route when the first route lacks `lr` (strict
    /// routing); From/To with the tags; Call-ID; CSeq = local sequence number + 1 (a random
    /// initial value below 2^31 for a UAS that has sent nothing yet). INVITE and UPDATE get the
    /// dialog's Contact unless they carry one (which becomes the dialog's Contact). Other
    /// headers and the body are the caller's. Then as `send_request`: Via, Max-Forwards,
    /// Content-Length.
    ///
    /// Destination: the next hop (first route, else the remote target) when it is an IP
    /// literal, port 5060 (5061 for SIPS) when absent; otherwise the flow the dialog was
    /// created on (DNS belongs to the runtime). A peer behind NAT whose Contact cannot be
    /// reached ([`Dialog::contact_unreachable`](crate::Dialog::contact_unreachable)) gets its
    /// requests on the dialog's flow (RFC 5626 §5.3); the Request-URI stays its Contact.
    ///
    /// Refused: ACK ([`Self::ack_2xx`]) and CANCEL ([`Self::cancel`]); an INVITE while another
    /// INVITE of the dialog is in progress either way (§14.1); BYE from the callee on an early
    /// dialog (§15).
    pub fn send_in_dialog(
        &mut self,
        now: Instant,
        dialog: DialogId,
        mut request: Message,
    ) -> Result<ClientTxId, DialogError> {
        let method = request.method().ok_or(DialogError::NotARequest)?;
        if matches!(method, Method::Ack | Method::Cancel) {
            return Err(DialogError::WrongMethod);
        }
        let fresh = self.initial_cseq();
        let d = self
            .dialogs
            .get_mut(dialog.0)
            .ok_or(DialogError::NoSuchDialog)?;
        if method == Method::Invite && (d.invite_out.is_some() || d.invite_in.is_some()) {
            return Err(DialogError::InviteInProgress);
        }
        if method == Method::Bye && d.role == DialogRole::Uas && d.state == DialogState::Early {
            return Err(DialogError::EarlyBye);
        }
        let cseq = d.local_seq.map_or(fresh, |s| s.wrapping_add(1));
        let hop = dialog::apply(d, &mut request, &method, cseq)?;
        let flow = dialog_hop_flow(d, &hop);
        if is_target_refresh(&method)
            && let Some(c) = request.value(&HeaderName::Contact)
        {
            d.local_contact = unfold(c);
        }
        let tx = self.send_request(now, request, flow)?;
        if let Some(d) = self.dialogs.get_mut(dialog.0) {
            d.local_seq = Some(cseq);
            if method == Method::Invite {
                d.invite_out = Some(tx.0);
            }
        }
        if let Some(e) = self.clients.get_mut(tx.0) {
            e.dialog = Some(dialog.0);
        }
        Ok(tx)
    }

    /// Sends the ACK for a 2xx to the INVITE with CSeq number `invite_cseq` in `dialog`
    /// (§13.2.2.4): method ACK with that CSeq number, Request-URI and Route as any request of
    /// the dialog, optional body (content type, bytes) for a late-offer answer, sent outside
    /// any transaction.
    ///
    /// Call it on *every* 2xx passed up, including retransmissions (the INVITE client
    /// transaction stays in Accepted and passes each up, RFC 6026): it is idempotent per
    /// (dialog, CSeq) and a repeated call resends the very same bytes (same branch). The
    /// endpoint never ACKs a 2xx by itself; the body is the TU's business.
    pub fn ack_2xx(
        &mut self,
        dialog: DialogId,
        invite_cseq: u32,
        body: Option<(&str, Bytes)>,
    ) -> Result<(), DialogError> {
        let d = self
            .dialogs
            .get(dialog.0)
            .ok_or(DialogError::NoSuchDialog)?;
        if let Some(a) = d.ack.as_ref().filter(|a| a.cseq == invite_cseq) {
            let t = Transmit {
                flow: a.flow,
                payload: a.bytes.clone(),
            };
            self.outputs.push_back(Output::Transmit(t));
            return Ok(());
        }
        let mut ack = Message::new_request(&Method::Ack, &d.remote_target)?;
        ack.push_header(&HeaderName::MaxForwards, "70")?;
        if let Some((content_type, bytes)) = body {
            ack.set_body(Some(content_type), bytes)?;
        }
        let hop = dialog::apply(d, &mut ack, &Method::Ack, invite_cseq)?;
        let flow = dialog_hop_flow(d, &hop);
        let bytes = self.send_ack(ack, flow)?;
        if let Some(d) = self.dialogs.get_mut(dialog.0) {
            d.ack = Some(Box::new(CachedAck {
                cseq: invite_cseq,
                bytes,
                flow,
            }));
        }
        Ok(())
    }

    /// How long to wait before retrying a re-INVITE that got 491 (§14.1), from the seeded RNG
    /// in 10 ms units: 2.1-4 s when Tandem owns the Call-ID (it was the dialog's UAC), else
    /// 0-2 s. `None` if the dialog is gone. The TU arms its own timer and retries with
    /// [`Self::send_in_dialog`].
    pub fn glare_retry_delay(&mut self, dialog: DialogId) -> Option<Duration> {
        let role = self.dialogs.get(dialog.0)?.role;
        let units: u64 = match role {
            DialogRole::Uac => self.rng.gen_range(210..=400),
            DialogRole::Uas => self.rng.gen_range(0..=200),
        };
        Some(Duration::from_millis(units * 10))
    }

    /// Forgets `dialog` without sending anything (e.g. the TU gave up after `AckTimeout`, or a
    /// second fork's 2xx it has ACKed and BYEd). Returns whether it existed.
    pub fn terminate_dialog(&mut self, dialog: DialogId) -> bool {
        self.remove_dialog(dialog.0)
    }

    // ----- hooks called by the endpoint -----

    pub(super) fn remove_dialog(&mut self, d: SlotId) -> bool {
        let Some(dl) = self.dialogs.remove(d) else {
            return false;
        };
        let key = DialogKey {
            call_id: dl.call_id,
            local_tag: dl.local_tag,
            remote_tag: dl.remote_tag,
        };
        if self.dialog_index.get(&key) == Some(&d) {
            self.dialog_index.remove(&key);
        }
        true
    }

    /// `send_request` just created client transaction `id`: an INVITE without To tag may
    /// create dialogs; a request with a dialog's tags belongs to it.
    pub(super) fn dialog_on_send(&mut self, id: SlotId) {
        let Some(e) = self.clients.get_mut(id) else {
            return;
        };
        let Some(key) = DialogKey::of_outgoing(&e.request) else {
            e.creates_dialogs =
                matches!(e.key.method, Method::Invite | Method::Refer) && !has_to_tag(&e.request);
            return;
        };
        let Some(&d) = self.dialog_index.get(&key) else {
            return;
        };
        e.dialog = Some(d);
        let cseq = e.request.typed::<CSeq>().ok().flatten().map(|c| c.seq);
        let invite = e.key.method == Method::Invite;
        if let Some(dl) = self.dialogs.get_mut(d) {
            if let Some(c) = cseq {
                dl.local_seq = Some(dl.local_seq.map_or(c, |s| s.max(c)));
            }
            if invite {
                dl.invite_out = Some(id);
            }
        }
    }

    /// A response of client transaction `id` is about to be passed up.
    pub(super) fn dialog_on_response(&mut self, id: SlotId, response: &Message) {
        let (Some(status), Some(e)) = (response.status(), self.clients.get(id)) else {
            return;
        };
        let method = e.key.method.clone();
        if let Some(d) = e.dialog {
            // §12.2.1.2: 481 and 408 end the dialog; §15.1.1: so does the 2xx to our BYE.
            if matches!(status, 408 | 481) || (method == Method::Bye && status / 100 == 2) {
                self.remove_dialog(d);
                return;
            }
            // RFC 6665 §4.4.1: a subscription-only dialog ends with its terminating NOTIFY.
            if method == Method::Notify
                && status / 100 == 2
                && super::refer::ends_subscription(&e.request)
                && self.dialogs.get(d).is_some_and(|dl| dl.subscription_only)
            {
                self.remove_dialog(d);
                return;
            }
            let Some(dl) = self.dialogs.get_mut(d) else {
                return;
            };
            if status / 100 == 2
                && is_target_refresh(&method)
                && let Some(target) = contact_uri(response)
            {
                dl.remote_target = target;
            }
            if status >= 200 && dl.invite_out == Some(id) {
                dl.invite_out = None;
            }
            return;
        }
        if !e.creates_dialogs {
            return;
        }
        if status >= 300 {
            // §12.3 / §13.2.2.3: a non-2xx final ends every early dialog of the INVITE; a
            // refused REFER ends the subscription dialogs its early NOTIFYs created (RFC 6665
            // §4.1.2.4: no subscription was made).
            let refer = method == Method::Refer;
            let forks: Vec<SlotId> = e.forks.iter().map(|(_, d)| *d).collect();
            for d in forks {
                if refer || self.dialog_state(DialogId(d)) == DialogState::Early {
                    self.remove_dialog(d);
                }
            }
            return;
        }
        if status == 100 {
            return;
        }
        let Some(key) = DialogKey::of_outgoing(response) else {
            return; // a provisional without To tag creates nothing (§12.1)
        };
        if let Some(&d) = self.dialog_index.get(&key) {
            if status >= 200
                && let Some(dl) = self.dialogs.get_mut(d)
                && dl.state == DialogState::Early
            {
                // §13.2.2.4: the 2xx confirms the early dialog; its Record-Route and
                // Contact are authoritative.
                dl.state = DialogState::Confirmed;
                dl.invite_out = None;
                dl.route_set = record_routes(response).into_iter().rev().collect();
                if let Some(target) = contact_uri(response) {
                    dl.remote_target = target;
                }
            }
            return;
        }
        if e.forks.iter().any(|(tag, _)| *tag == key.remote_tag) {
            return; // that fork's dialog already ended: a late retransmission recreates nothing
        }
        let dl = uac_dialog(e, response, &key, status, id);
        let d = self.dialogs.insert(dl);
        self.dialog_index.insert(key.clone(), d);
        if let Some(e) = self.clients.get_mut(id) {
            e.forks.push((key.remote_tag, d));
        }
    }

    /// Client transaction `id` ended (already removed from the table).
    pub(super) fn dialog_on_client_end(&mut self, id: SlotId, e: &ClientEntry, timed_out: bool) {
        if let Some(d) = e.dialog {
            if timed_out {
                // §12.2.1.2: no response at all is as a 408.
                self.remove_dialog(d);
            } else if let Some(dl) = self.dialogs.get_mut(d)
                && dl.invite_out == Some(id)
            {
                dl.invite_out = None;
            }
        }
        // The INVITE transaction is over (Timer M after a 2xx, Timer B, D): forks that never
        // got a 2xx end with it (§13.2.2.4).
        for (_, d) in &e.forks {
            if self.dialog_state(DialogId(*d)) == DialogState::Early {
                self.remove_dialog(*d);
            }
        }
    }

    /// A new request in server transaction `id` passed the §8.2 checks. Matches it to its
    /// dialog (§12.2.2) and answers it here when the dialog layer must: 481 for an unknown
    /// dialog, 500 for an out-of-order CSeq, 491 and 500 for INVITE glare (§14). Returns
    /// whether it answered.
    pub(super) fn dialog_on_request(&mut self, now: Instant, id: SlotId) -> bool {
        let Some(request) = self.servers.get(id).and_then(|e| e.request.as_deref()) else {
            return false;
        };
        if !has_to_tag(request) {
            return false;
        }
        let method = request.method();
        let cseq = request.typed::<CSeq>().ok().flatten().map(|c| c.seq);
        let found = DialogKey::of_incoming_request(request)
            .and_then(|k| self.dialog_index.get(&k).copied())
            .or_else(|| self.refer_early_notify(id));
        let (Some(d), Some(cseq)) = (found, cseq) else {
            let _ = self.reply(now, ServerTxId(id), 481, "Call/Transaction Does Not Exist");
            return true;
        };
        let Some(dl) = self.dialogs.get_mut(d) else {
            return false;
        };
        if dl.remote_seq.is_some_and(|r| cseq <= r) {
            let _ = self.reply(now, ServerTxId(id), 500, "Server Internal Error");
            return true;
        }
        dl.remote_seq = Some(cseq);
        if method == Some(Method::Refer) {
            dl.refers_in += 1;
            dl.refer_cseq = Some(cseq);
        }
        let mut answer = None;
        if method == Some(Method::Invite) {
            if dl.invite_out.is_some() {
                // §14.2: our own INVITE is pending in this dialog.
                answer = Some((491, "Request Pending", None));
            } else if dl.invite_in.is_some() || dl.unacked_2xx.is_some() {
                // §14.2: the previous INVITE is unanswered, or our 2xx is not yet ACKed.
                let retry_after: u32 = self.rng.gen_range(0..=10);
                answer = Some((500, "Server Internal Error", Some(retry_after)));
            } else {
                dl.invite_in = Some(id);
            }
        }
        if let Some(e) = self.servers.get_mut(id) {
            e.dialog = Some(d);
        }
        let Some((status, reason, retry)) = answer else {
            return false;
        };
        if let Ok(mut r) = self.make_response(ServerTxId(id), status, reason) {
            if let Some(secs) = retry {
                let _ = r.push_header(&HeaderName::RetryAfter, &secs.to_string());
            }
            let _ = self.respond(now, ServerTxId(id), r);
        }
        true
    }

    /// Before a response of server transaction `id` is sent: a response that creates a dialog
    /// (101-199 with To tag, or 2xx, to an initial INVITE) or refreshes its target (2xx to an
    /// in-dialog INVITE/UPDATE) gets Tandem's Contact, `<sip:{local address}>`, when it has
    /// none (§12.1.1, §8.1.1.8); a dialog-creating one gets the request's Record-Route copied
    /// when it has none (§12.1.1).
    pub(super) fn dialog_prepare_response(&self, id: SlotId, response: &mut Message, status: u16) {
        let Some(e) = self.servers.get(id) else {
            return;
        };
        let creating = e.creates_dialog
            && ((101..200).contains(&status) && has_to_tag(response) || status / 100 == 2);
        let refresh = e.dialog.is_some()
            && !e.creates_dialog
            && status / 100 == 2
            && e.request
                .as_deref()
                .and_then(Message::method)
                .is_some_and(|m| is_target_refresh(&m));
        if (creating || refresh) && response.value(&HeaderName::Contact).is_none() {
            let _ = response.push_header(&HeaderName::Contact, &local_contact(e));
        }
        if creating && response.value(&HeaderName::RecordRoute).is_none() {
            let values = e
                .request
                .as_deref()
                .map(|r| r.values(&HeaderName::RecordRoute));
            for rr in values.into_iter().flatten() {
                let _ = response.push_header(&HeaderName::RecordRoute, &unfold(rr));
            }
        }
    }

    /// A response of server transaction `id` was sent.
    pub(super) fn dialog_on_responded(&mut self, id: SlotId, response: &Message, status: u16) {
        let Some(e) = self.servers.get(id) else {
            return;
        };
        let Some(request) = e.request.as_deref() else {
            return;
        };
        let cseq = request.typed::<CSeq>().ok().flatten().map_or(0, |c| c.seq);
        let method = request.method();
        let contact = response.value(&HeaderName::Contact).map(unfold);
        if let Some(d) = e.dialog {
            let creates = e.creates_dialog;
            let target = contact_uri(request);
            let bye = method == Some(Method::Bye);
            let Some(dl) = self.dialogs.get_mut(d) else {
                return;
            };
            if status >= 200 && dl.invite_in == Some(id) {
                dl.invite_in = None;
            }
            if creates {
                // The early dialog of our 1xx: the 2xx confirms it, a non-2xx ends it (§12.3).
                if status >= 300 {
                    self.remove_dialog(d);
                } else if status >= 200 {
                    dl.state = DialogState::Confirmed;
                    dl.unacked_2xx = Some(cseq);
                    if let Some(c) = contact {
                        dl.local_contact = c;
                    }
                }
                return;
            }
            if status / 100 != 2 {
                return;
            }
            if bye {
                // §15.1.2: the BYE answered 2xx ends the dialog.
                self.remove_dialog(d);
                return;
            }
            if method == Some(Method::Notify)
                && dl.subscription_only
                && super::refer::ends_subscription(request)
            {
                // RFC 6665 §4.1.3: the subscription, and its dialog, end.
                self.remove_dialog(d);
                return;
            }
            if method.as_ref().is_some_and(is_target_refresh) {
                if let Some(t) = target {
                    dl.remote_target = t;
                }
                if let Some(c) = contact {
                    dl.local_contact = c;
                }
            }
            if method == Some(Method::Invite) {
                dl.unacked_2xx = Some(cseq);
            }
            return;
        }
        if !e.creates_dialog || status == 100 || status >= 300 {
            return;
        }
        let Some(dl) = uas_dialog(e, response, id, status, cseq, contact) else {
            return;
        };
        let key = DialogKey {
            call_id: dl.call_id.clone(),
            local_tag: dl.local_tag.clone(),
            remote_tag: dl.remote_tag.clone(),
        };
        if self.dialog_index.contains_key(&key) {
            return;
        }
        let d = self.dialogs.insert(dl);
        self.dialog_index.insert(key, d);
        if let Some(e) = self.servers.get_mut(id) {
            e.dialog = Some(d);
        }
    }

    /// The ACK for the 2xx of INVITE server transaction `id` arrived.
    pub(super) fn dialog_on_ack(&mut self, id: SlotId) {
        let Some(d) = self.servers.get(id).and_then(|e| e.dialog) else {
            return;
        };
        if let Some(dl) = self.dialogs.get_mut(d) {
            dl.unacked_2xx = None;
        }
    }

    /// Server transaction `id` ended (already removed); `timed_out`: Timer H or L without ACK.
    pub(super) fn dialog_on_server_end(&mut self, id: SlotId, e: &ServerEntry, timed_out: bool) {
        let Some(dl) = e.dialog.and_then(|d| self.dialogs.get_mut(d)) else {
            return;
        };
        if dl.invite_in == Some(id) {
            dl.invite_in = None;
        }
        if timed_out {
            // §13.3.1.4: the TU was told (AckTimeout) and should send BYE; stop treating
            // re-INVITEs as arriving before the ACK.
            dl.unacked_2xx = None;
        }
    }
}

fn has_to_tag(m: &Message) -> bool {
    m.typed::<ToHeader<'_>>()
        .ok()
        .flatten()
        .is_some_and(|t| t.0.tag().is_some())
}

/// Tandem's Contact on the flow of server transaction `e`.
fn local_contact(e: &ServerEntry) -> String {
    let line = e.request.as_deref().and_then(Message::request_line);
    let scheme = match line.and_then(|l| l.uri().ok()) {
        Some(u) if is_sips(&u) => "sips",
        _ => "sip",
    };
    format!("<{scheme}:{}>", host_port(e.flow.local))
}

/// §12.1.2: the UAC's dialog from a response to its INVITE.
fn uac_dialog(
    e: &ClientEntry,
    response: &Message,
    key: &DialogKey,
    status: u16,
    id: SlotId,
) -> Dialog {
    let request = &e.request;
    let ruri = request.request_line().and_then(|l| l.uri().ok());
    let local_uri = request
        .typed::<FromHeader<'_>>()
        .ok()
        .flatten()
        .map(|f| without_tag(&f.0))
        .unwrap_or_default();
    let remote_uri = response
        .typed::<ToHeader<'_>>()
        .ok()
        .flatten()
        .map(|t| without_tag(&t.0))
        .unwrap_or_default();
    let remote_target = contact_uri(response)
        .or_else(|| ruri.clone())
        .unwrap_or_else(|| flow_uri(e.flow));
    Dialog {
        call_id: key.call_id.clone(),
        local_tag: key.local_tag.clone(),
        remote_tag: key.remote_tag.clone(),
        role: DialogRole::Uac,
        state: if status >= 200 {
            DialogState::Confirmed
        } else {
            DialogState::Early
        },
        local_uri,
        remote_uri,
        local_seq: request.typed::<CSeq>().ok().flatten().map(|c| c.seq),
        remote_seq: None,
        remote_target,
        route_set: record_routes(response).into_iter().rev().collect(),
        secure: ruri.as_ref().is_some_and(is_sips),
        flow: e.flow,
        local_contact: request
            .value(&HeaderName::Contact)
            .map_or_else(|| format!("<sip:{}>", host_port(e.flow.local)), unfold),
        // An early dialog's INVITE is still in progress (§14.1).
        invite_out: (status < 200 && e.key.method == Method::Invite).then_some(id),
        invite_in: None,
        unacked_2xx: None,
        ack: None,
        remote_rseq: None,
        session: None,
        peer_allows_update: false,
        local_body: None,
        deadlines: None,
        subscription_only: e.key.method == Method::Refer,
        refers_in: 0,
        refer_cseq: None,
        behind_nat: false,
        offer_in_1xx: None,
        early_sdp: false,
    }
}

/// §12.1.1: the UAS's dialog from its response to an INVITE.
fn uas_dialog(
    e: &ServerEntry,
    response: &Message,
    id: SlotId,
    status: u16,
    cseq: u32,
    contact: Option<String>,
) -> Option<Dialog> {
    let request = e.request.as_deref()?;
    let local_tag = response.typed::<ToHeader<'_>>().ok()??.0.tag()?.into();
    let from = request.typed::<FromHeader<'_>>().ok()??;
    let to = request.typed::<ToHeader<'_>>().ok()??;
    let call_id = request
        .typed::<tandem_sip_msg::headers::CallId<'_>>()
        .ok()??
        .0
        .into();
    let ruri = request.request_line().and_then(|l| l.uri().ok());
    let early = status < 200;
    let refer = request.method() == Some(Method::Refer);
    Some(Dialog {
        call_id,
        local_tag,
        // RFC 2543 peers may send no From tag: the remote tag is then empty (§12.1.1).
        remote_tag: from.0.tag().unwrap_or_default().into(),
        role: DialogRole::Uas,
        state: if early {
            DialogState::Early
        } else {
            DialogState::Confirmed
        },
        local_uri: without_tag(&to.0),
        remote_uri: without_tag(&from.0),
        local_seq: None,
        remote_seq: Some(cseq),
        remote_target: contact_uri(request).unwrap_or_else(|| from.0.uri.clone()),
        route_set: record_routes(request),
        secure: ruri.as_ref().is_some_and(is_sips),
        flow: e.flow,
        local_contact: contact.unwrap_or_else(|| local_contact(e)),
        invite_out: None,
        invite_in: (early && !refer).then_some(id),
        unacked_2xx: (!early && !refer).then_some(cseq),
        ack: None,
        remote_rseq: None,
        session: None,
        peer_allows_update: false,
        local_body: None,
        deadlines: None,
        subscription_only: refer,
        refers_in: u32::from(refer),
        refer_cseq: refer.then_some(cseq),
        behind_nat: via_differs_from_source(request, e.flow),
        offer_in_1xx: None,
        early_sdp: false,
    })
}

/// A last-resort remote target: the peer's address.
fn flow_uri(flow: Flow) -> tandem_sip_msg::Uri {
    let host = match flow.remote.ip() {
        std::net::IpAddr::V4(a) => tandem_sip_msg::Host::Ipv4(a),
        std::net::IpAddr::V6(a) => tandem_sip_msg::Host::Ipv6(a.to_string()),
    };
    let mut uri = tandem_sip_msg::SipUri::new(host);
    uri.port = Some(flow.remote.port());
    tandem_sip_msg::Uri::Sip(uri)
}
