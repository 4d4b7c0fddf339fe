//! Calls Tandem answers itself ([`IncomingCall::accept`](crate::IncomingCall::accept)): the
//! 200 with an SDP answer (RFC 3264) or a late offer (RFC 3261 §13.2.1), the ACK, the media
//! leg in a room of the [`MediaEngine`], in-dialog requests, and the BYE either way.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tandem_call::{EndCause as CallEnd, EndedBy, Leg, LegRecord, MediaFlowState, Reason};
use tandem_runtime::media::answer::{ChosenAudio, LocalMedia, answer_sdp, choose_audio, offer_sdp};
use tandem_runtime::media::{LegSpec, MediaConfig, MediaEngine};
use tandem_sdp::SessionDescription;
use tandem_sip_core::{ClientTxId, DialogId, Endpoint, Flow, ServerTxId, Transport, host_port};
use tandem_sip_msg::headers::{CallId as CallIdHeader, FromHeader, ToHeader};
use tandem_sip_msg::{HeaderName, Message, Method};
use tracing::{debug, info, warn};

use super::{Phase, SdkApp, allow_value};
use crate::accept::{AcceptError, AcceptOptions, AcceptedMedia};
use crate::call::EndCause;
use tandem_call::CallState;

/// The SDK's media engine, started on first use (or at bind), and the index of accepted
/// calls by dialog and by BYE transaction.
pub(crate) struct Media {
    engine: Option<MediaEngine>,
    config: MediaConfig,
    address: Option<IpAddr>,
    by_dialog: HashMap<DialogId, u64>,
    /// Initial INVITEs by transaction: its `AckTimeout` comes after the transaction is gone.
    invites: HashMap<ServerTxId, u64>,
    byes: HashMap<ClientTxId, u64>,
}

impl Media {
    /// `engine`: already started (at bind), else started by the first accepted call.
    pub(crate) fn new(
        engine: Option<MediaEngine>,
        config: MediaConfig,
        address: Option<IpAddr>,
    ) -> Self {
        Self {
            engine,
            config,
            address,
            by_dialog: HashMap::new(),
            invites: HashMap::new(),
            byes: HashMap::new(),
        }
    }

    pub(super) fn call_of(&self, dialog: DialogId) -> Option<u64> {
        self.by_dialog.get(&dialog).copied()
    }

    fn engine(&mut self) -> Result<&MediaEngine, AcceptError> {
        if self.engine.is_none() {
            let engine = MediaEngine::start(self.config.clone())
                .map_err(|e| AcceptError::Media(format!("media thread: {e}")))?;
            info!("media engine started");
            self.engine = Some(engine);
        }
        self.engine
            .as_ref()
            .ok_or_else(|| AcceptError::Media("media thread".into()))
    }

    /// Puts the call's media in its room (again, after a change of address or codec).
    fn join(&mut self, a: &mut Answered) -> Result<(), String> {
        let Some(chosen) = a.chosen.clone() else {
            return Err("no negotiated stream".into());
        };
        let socket = a.socket.try_clone().map_err(|e| e.to_string())?;
        let engine = self.engine().map_err(|e| e.to_string())?;
        if a.in_room {
            let _ = engine.remove_leg(&a.key);
        }
        engine
            .add_leg(LegSpec {
                room: a.room.clone(),
                key: a.key.clone(),
                socket,
                remote: chosen.remote,
                codec: chosen.codec,
                payload_type: chosen.payload_type,
            })
            .map_err(|e| e.to_string())?;
        a.in_room = true;
        Ok(())
    }

    fn leave(&mut self, a: &mut Answered) {
        if a.in_room {
            a.in_room = false;
            if let Some(engine) = &self.engine
                && let Err(e) = engine.remove_leg(&a.key)
            {
                warn!(error = %e, "media thread refused to remove a leg");
            }
        }
    }

    /// The call is gone from the driver's table: its media and indexes go too.
    pub(super) fn forget(&mut self, a: &Answered) {
        if a.in_room
            && let Some(engine) = &self.engine
        {
            let _ = engine.remove_leg(&a.key);
        }
        if let Some(d) = a.dialog {
            self.by_dialog.remove(&d);
        }
        self.invites.remove(&a.invite);
        if let Some(tx) = a.bye {
            self.byes.remove(&tx);
        }
    }
}

/// A call Tandem answered.
pub(crate) struct Answered {
    invite: ServerTxId,
    dialog: Option<DialogId>,
    flow: Flow,
    room: String,
    /// The media engine's key of the leg.
    key: String,
    /// Tandem's RTP socket (the engine holds a clone while the leg is in the room).
    socket: UdpSocket,
    local: LocalMedia,
    /// The stream negotiated; `None` while a late offer waits for the ACK's answer.
    chosen: Option<ChosenAudio>,
    in_room: bool,
    acked: bool,
    /// The INVITE (initial or re-INVITE) whose ACK carries the answer to Tandem's offer.
    awaiting_answer: Option<ServerTxId>,
    /// A hang-up asked before the ACK (RFC 3261 §15: the callee waits for it).
    pending_bye: Option<(Reason, CallEnd)>,
    bye: Option<ClientTxId>,
    end: Option<(CallEnd, EndedBy)>,
    record: LegRecord,
}

impl Answered {
    fn media_info(&self) -> AcceptedMedia {
        let local = SocketAddr::new(self.local.address, self.local.port);
        match &self.chosen {
            Some(c) => AcceptedMedia {
                local,
                remote: Some(c.remote),
                codec: c.encoding.clone(),
                payload_type: c.payload_type,
            },
            None => AcceptedMedia {
                local,
                remote: None,
                codec: String::new(),
                payload_type: 0,
            },
        }
    }
}

impl SdkApp {
    fn answered_mut(&mut self, id: u64) -> Option<&mut Answered> {
        match self.calls.get_mut(&id).map(|e| &mut e.phase) {
            Some(Phase::Answered(a)) => Some(a),
            _ => None,
        }
    }

    /// Accepts pending call `id`: 200 with SDP, media into the room. Errors after a final
    /// non-2xx to the caller (except `NotPending`, `Refused`).
    pub(super) fn accept(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        id: u64,
        options: AcceptOptions,
    ) -> Result<(), AcceptError> {
        let Some(Phase::Pending {
            tx,
            invite,
            flow,
            received,
            ..
        }) = self.calls.get(&id).map(|e| &e.phase)
        else {
            return Err(AcceptError::NotPending);
        };
        let (tx, flow) = (*tx, *flow);
        let record = leg_record(invite, flow, *received);
        let body = invite.body().to_vec();
        let room = match options.room.as_deref() {
            Some("") => {
                self.refuse(ep, now, id, (500, "Server Internal Error"), "invalid room");
                return Err(AcceptError::InvalidRoom);
            }
            Some(name) => format!("room:{name}"),
            None => format!("call:{id}"),
        };
        // RFC 3264 §5/§6: the first audio stream with a codec the mixer has.
        let offer = if body.is_empty() {
            None
        } else if let Ok(sdp) = SessionDescription::parse(&body) {
            Some(sdp)
        } else {
            self.refuse(
                ep,
                now,
                id,
                (488, "Not Acceptable Here"),
                "the SDP offer does not parse",
            );
            return Err(AcceptError::BadOffer);
        };
        let chosen = match &offer {
            Some(o) => match choose_audio(o) {
                Some(c) => Some(c),
                None => {
                    self.refuse(
                        ep,
                        now,
                        id,
                        (488, "Not Acceptable Here"),
                        "no common audio codec",
                    );
                    return Err(AcceptError::NoCommonCodec);
                }
            },
            None => None,
        };
        let address = self.answered.address.unwrap_or(flow.local.ip());
        let socket = match self.answered.engine().map(|_| ()).and_then(|()| {
            UdpSocket::bind(SocketAddr::new(address, 0))
                .map_err(|e| AcceptError::Media(format!("no RTP port: {e}")))
        }) {
            Ok(s) => s,
            Err(e) => {
                warn!(error = %e, "no media for an accepted call");
                self.refuse(ep, now, id, (503, "Service Unavailable"), "no media");
                return Err(e);
            }
        };
        let port = socket.local_addr().map(|a| a.port()).unwrap_or(0);
        let local = LocalMedia::new(address, port, session_id(id));
        let sdp = match (&offer, &chosen) {
            (Some(o), Some(c)) => answer_sdp(o, c, &local),
            _ => offer_sdp(&local),
        };
        let mut ok = ep
            .make_response(tx, 200, "OK")
            .map_err(|e| AcceptError::Refused(e.to_string()))?;
        let allow = allow_value(ep);
        let built = (|| {
            ok.push_header(&HeaderName::Contact, &contact(flow))?;
            ok.push_header(&HeaderName::Allow, &allow)?;
            for (name, value) in &options.headers {
                ok.push_header(&HeaderName::new(name), value)?;
            }
            ok.set_body(Some("application/sdp"), Bytes::from(sdp))
        })();
        if let Err(e) = built {
            self.refuse(ep, now, id, (500, "Server Internal Error"), "bad header");
            return Err(AcceptError::BadHeader(e.to_string()));
        }
        let mut a = Answered {
            invite: tx,
            dialog: None,
            flow,
            room,
            key: format!("sdk-{id}"),
            socket,
            local,
            chosen,
            in_room: false,
            acked: false,
            awaiting_answer: None,
            pending_bye: None,
            bye: None,
            end: None,
            record,
        };
        if a.chosen.is_some()
            && let Err(e) = self.answered.join(&mut a)
        {
            warn!(error = %e, "media thread refused the leg");
            self.refuse(ep, now, id, (503, "Service Unavailable"), "no media");
            return Err(AcceptError::Media(e));
        }
        if let Err(e) = ep.respond(now, tx, ok) {
            self.answered.leave(&mut a);
            return Err(AcceptError::Refused(e.to_string()));
        }
        a.record.answered = Some(now);
        a.record.final_status = Some(200);
        a.dialog = ep.dialog_of_server_tx(tx);
        if let Some(d) = a.dialog {
            self.answered.by_dialog.insert(d, id);
        }
        self.answered.invites.insert(tx, id);
        let early = a.chosen.is_some();
        if !early {
            a.awaiting_answer = Some(tx);
        }
        info!(id, room = %a.room, codec = ?a.chosen.as_ref().map(|c| c.codec), "call accepted");
        let media = a.media_info();
        self.by_tx.remove(&tx);
        if let Some(e) = self.calls.get_mut(&id) {
            e.phase = Phase::Answered(Box::new(a));
            e.channels.state.send_modify(|s| s.accepted = Some(media));
            e.channels.publish(CallState::Establishing, None);
            e.channels.publish_media(if early {
                MediaFlowState::Connected
            } else {
                MediaFlowState::Connecting
            });
        }
        Ok(())
    }

    /// A final non-2xx with a `Warning` (RFC 3261 §20.43, code 399) to a pending call.
    fn refuse(&mut self, ep: &mut Endpoint, now: Instant, id: u64, status: (u16, &str), why: &str) {
        let warning = [(HeaderName::new("Warning"), format!("399 tandem \"{why}\""))];
        let _ = self.decline(
            ep,
            now,
            id,
            status,
            &warning,
            EndCause::Declined { status: status.0 },
        );
    }

    /// The ACK of an accepted call's 2xx (initial INVITE or re-INVITE).
    pub(super) fn answered_ack(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        tx: ServerTxId,
        ack: &Message,
    ) {
        let Some(id) = ep
            .dialog_of_server_tx(tx)
            .and_then(|d| self.answered.call_of(d))
        else {
            return;
        };
        let Some(Phase::Answered(a)) = self.calls.get_mut(&id).map(|e| &mut e.phase) else {
            return;
        };
        let mut fail = None;
        if a.awaiting_answer == Some(tx) {
            a.awaiting_answer = None;
            // RFC 3261 §13.2.1: the answer to Tandem's offer is in the ACK.
            match SessionDescription::parse(ack.body())
                .ok()
                .filter(|_| !ack.body().is_empty())
                .and_then(|sdp| choose_audio(&sdp))
            {
                Some(c) => {
                    let changed = a.chosen.as_ref() != Some(&c);
                    a.chosen = Some(c);
                    if changed && let Err(e) = self.answered.join(a) {
                        warn!(error = %e, "media thread refused the leg");
                        fail = Some("no media");
                    }
                }
                None if a.chosen.is_none() => fail = Some("no usable answer in the ACK"),
                None => debug!(id, "ACK without a usable answer; media unchanged"),
            }
        }
        let first = tx == a.invite && !a.acked;
        if first {
            a.acked = true;
        }
        let media = a.media_info();
        let pending = a.pending_bye.take();
        if let Some(e) = self.calls.get(&id) {
            e.channels.state.send_modify(|s| s.accepted = Some(media));
            // A late offer without a usable answer never establishes: it ends with BYE.
            if first && fail.is_none() {
                e.channels.publish(CallState::Established, None);
                e.channels.publish_media(MediaFlowState::Connected);
            }
        }
        if let Some(why) = fail {
            // RFC 3264 §5 has no "reject the answer": end the session instead.
            self.answered_bye(
                ep,
                now,
                id,
                &Reason::new(488, why),
                CallEnd::Failed(why.into()),
            );
        } else if let Some((reason, cause)) = pending {
            self.answered_bye(ep, now, id, &reason, cause);
        }
    }

    /// No ACK for the 2xx (Timer L/H, RFC 6026 §7.1): BYE (§13.3.1.4), the call is over.
    pub(super) fn answered_ack_timeout(&mut self, ep: &mut Endpoint, now: Instant, tx: ServerTxId) {
        let Some(id) = self.answered.invites.get(&tx).copied() else {
            // A re-INVITE's 2xx never acknowledged (the transaction is gone): the dialog
            // goes on, and the answer its ACK would have carried is not waited for.
            for e in self.calls.values_mut() {
                if let Phase::Answered(a) = &mut e.phase
                    && a.awaiting_answer == Some(tx)
                {
                    a.awaiting_answer = None;
                }
            }
            return;
        };
        let Some(a) = self.answered_mut(id) else {
            return;
        };
        if a.acked {
            return;
        }
        warn!(id, "2xx never acknowledged; ending the call");
        a.acked = true;
        a.pending_bye = None;
        self.answered_bye(
            ep,
            now,
            id,
            &Reason::new(408, "ACK timeout"),
            CallEnd::AckTimeout,
        );
        if let Some(a) = self.answered_mut(id) {
            a.end = Some((CallEnd::AckTimeout, EndedBy::Lost));
        }
    }

    /// Leaves the room and sends BYE with `reason`; the call ends when the BYE is answered.
    /// Before the ACK, the BYE waits for it (RFC 3261 §15).
    pub(super) fn answered_bye(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        id: u64,
        reason: &Reason,
        cause: CallEnd,
    ) {
        let Some(Phase::Answered(a)) = self.calls.get_mut(&id).map(|e| &mut e.phase) else {
            return;
        };
        if a.bye.is_some() || a.end.is_some() {
            return;
        }
        self.answered.leave(a);
        if !a.acked {
            a.pending_bye = Some((reason.clone(), cause));
            if let Some(e) = self.calls.get(&id) {
                e.channels.publish(CallState::Terminating, None);
            }
            return;
        }
        a.end = Some((cause, EndedBy::Local));
        let sent = a.dialog.ok_or(()).and_then(|d| {
            let mut bye = ep.dialog_request(d, &Method::Bye).map_err(|_| ())?;
            bye.push_header(&HeaderName::Reason, &reason.header_value())
                .map_err(|_| ())?;
            for (name, value) in &reason.headers {
                bye.push_header(name, value).map_err(|_| ())?;
            }
            ep.send_in_dialog(now, d, bye).map_err(|_| ())
        });
        match sent {
            Ok(tx) => {
                a.bye = Some(tx);
                self.answered.byes.insert(tx, id);
                if let Some(e) = self.calls.get(&id) {
                    e.channels.publish(CallState::Terminating, None);
                }
            }
            Err(()) => {
                debug!(id, "no dialog to send BYE in; the call is over");
                self.close(ep, id, None);
            }
        }
    }

    /// The response (or timeout) of an accepted call's BYE.
    pub(super) fn answered_bye_done(
        &mut self,
        ep: &mut Endpoint,
        tx: ClientTxId,
        response: Option<&Message>,
    ) {
        if response.and_then(Message::status).is_some_and(|s| s < 200) {
            return;
        }
        let Some(id) = self.answered.byes.remove(&tx) else {
            return;
        };
        self.close(ep, id, None);
    }

    /// The session timer of an accepted call expired (RFC 4028 §10): the endpoint sent BYE.
    pub(super) fn answered_expired(&mut self, ep: &mut Endpoint, dialog: DialogId) {
        if let Some(id) = self.answered.call_of(dialog) {
            self.close(ep, id, Some((CallEnd::LegLost, EndedBy::Lost)));
        }
    }

    /// Ends accepted call `id` for good: media out, dialog forgotten, record published.
    fn close(&mut self, ep: &mut Endpoint, id: u64, end: Option<(CallEnd, EndedBy)>) {
        let Some(Phase::Answered(a)) = self.calls.get_mut(&id).map(|e| &mut e.phase) else {
            return;
        };
        self.answered.leave(a);
        let (cause, by) = end
            .or_else(|| a.end.clone())
            .unwrap_or((CallEnd::Terminated, EndedBy::Local));
        let mut record = a.record.clone();
        record.ended = Instant::now();
        record.ended_by = by;
        if let Some(d) = a.dialog {
            ep.terminate_dialog(d);
        }
        info!(id, ?cause, "accepted call ended");
        self.finish_with(id, EndCause::Accepted(cause), vec![record]);
    }

    /// An in-dialog request of accepted call `id`.
    pub(super) fn answered_request(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        id: u64,
        tx: ServerTxId,
        request: &Message,
    ) {
        let result = match request.method() {
            Some(Method::Bye) => {
                let r = ep.reply(now, tx, 200, "OK");
                info!(id, "caller hung up");
                self.close(ep, id, Some((CallEnd::CallerHangUp, EndedBy::Remote)));
                r
            }
            Some(m @ (Method::Invite | Method::Update)) => {
                self.reoffer(ep, now, id, tx, request, &m)
            }
            Some(Method::Info | Method::Options) => ep.reply(now, tx, 200, "OK"),
            _ => ep.reply(now, tx, 501, "Not Implemented"),
        };
        if let Err(e) = result {
            debug!(error = %e, "could not answer an in-dialog request");
        }
    }

    /// A re-INVITE or UPDATE (RFC 3311) of an accepted call: answered like the first offer
    /// with the `o=` version one higher (RFC 3264 §8); no usable codec → 488, nothing
    /// changes (RFC 3261 §14.2). A re-INVITE without an offer gets Tandem's offer and its
    /// answer comes in the ACK; an UPDATE without one just gets 200.
    fn reoffer(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        id: u64,
        tx: ServerTxId,
        request: &Message,
        method: &Method,
    ) -> Result<(), tandem_sip_core::RespondError> {
        let Some(Phase::Answered(a)) = self.calls.get_mut(&id).map(|e| &mut e.phase) else {
            return ep.reply(now, tx, 481, "Call/Transaction Does Not Exist");
        };
        let body = request.body();
        if body.is_empty() && *method == Method::Update {
            return ep.reply(now, tx, 200, "OK");
        }
        let sdp = if body.is_empty() {
            a.local.version += 1;
            a.awaiting_answer = Some(tx);
            offer_sdp(&a.local)
        } else {
            let Some((offer, chosen)) = SessionDescription::parse(body)
                .ok()
                .and_then(|o| choose_audio(&o).map(|c| (o, c)))
            else {
                let mut r = ep.make_response(tx, 488, "Not Acceptable Here")?;
                r.push_header(
                    &HeaderName::new("Warning"),
                    "399 tandem \"no common audio codec\"",
                )?;
                return ep.respond(now, tx, r);
            };
            a.local.version += 1;
            let answer = answer_sdp(&offer, &chosen, &a.local);
            let moved = a.chosen.as_ref().is_none_or(|old| {
                (old.remote, old.codec, old.payload_type)
                    != (chosen.remote, chosen.codec, chosen.payload_type)
            });
            a.chosen = Some(chosen);
            if moved && let Err(e) = self.answered.join(a) {
                warn!(error = %e, "media thread refused the moved leg");
            }
            answer
        };
        let media = a.media_info();
        let flow = a.flow;
        let mut ok = ep.make_response(tx, 200, "OK")?;
        ok.push_header(&HeaderName::Contact, &contact(flow))?;
        ok.set_body(Some("application/sdp"), Bytes::from(sdp))?;
        ep.respond(now, tx, ok)?;
        if let Some(e) = self.calls.get(&id) {
            e.channels.state.send_modify(|s| s.accepted = Some(media));
        }
        Ok(())
    }
}

/// Tandem's Contact in the 2xx (RFC 3261 §12.1.1): the address the INVITE came to, with the
/// transport when it is not UDP.
fn contact(flow: Flow) -> String {
    let hp = host_port(flow.local);
    match flow.transport {
        Transport::Udp => format!("<sip:{hp}>"),
        Transport::Tcp => format!("<sip:{hp};transport=tcp>"),
        Transport::Tls => format!("<sips:{hp}>"),
        Transport::Ws => format!("<sip:{hp};transport=ws>"),
        Transport::Wss => format!("<sips:{hp};transport=ws>"),
    }
}

/// An `o=` sess-id (RFC 8866 §5.2: unique; an NTP-like timestamp is suggested) from the
/// clock and the call's number.
fn session_id(id: u64) -> u64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    secs.wrapping_mul(1_000).wrapping_add(id % 1_000)
}

/// The record of the caller's leg, from its INVITE.
fn leg_record(invite: &Message, flow: Flow, received: Instant) -> LegRecord {
    let name_addr = |v: Option<String>| v.map(|v| without_tag(&v)).unwrap_or_default();
    LegRecord {
        leg: Leg::A,
        sip_call_id: invite
            .typed::<CallIdHeader<'_>>()
            .ok()
            .flatten()
            .map(|c| c.0.to_owned())
            .unwrap_or_default(),
        from: name_addr(
            invite
                .typed::<FromHeader<'_>>()
                .ok()
                .flatten()
                .map(|_| header_text(invite, &HeaderName::From)),
        ),
        to: name_addr(
            invite
                .typed::<ToHeader<'_>>()
                .ok()
                .flatten()
                .map(|_| header_text(invite, &HeaderName::To)),
        ),
        remote: flow.remote,
        transport: flow.transport,
        started: received,
        answered: None,
        ended: received,
        final_status: None,
        ended_by: EndedBy::Local,
    }
}

fn header_text(m: &Message, name: &HeaderName) -> String {
    m.value(name)
        .map(|v| String::from_utf8_lossy(v).trim().to_owned())
        .unwrap_or_default()
}

/// A From/To value without its `tag` parameter (the record's name-addr).
fn without_tag(value: &str) -> String {
    value
        .split(';')
        .filter(|p| !p.trim_start().to_ascii_lowercase().starts_with("tag="))
        .collect::<Vec<_>>()
        .join(";")
}
