//! What the controller remembers of each call and leg for call detail records
//! ([`CallEvent::Record`]) and for [`B2bua::info`] snapshots.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

use tandem_sip_core::{Endpoint, Flow, Transport};
use tandem_sip_msg::Message;
use tandem_sip_msg::headers::{CallId as CallIdHeader, FromHeader, ToHeader, Via};

use crate::b2bua::{B2bua, LegA};
use crate::types::MediaFlowState;
use crate::types::{CallId, CallInfo, CallKind, CallRecord, EndedBy, Leg, LegInfo, LegRecord};

/// The controller's notes on one leg.
#[derive(Debug, Clone)]
pub(crate) struct LegNotes {
    pub(crate) sip_call_id: String,
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) remote: SocketAddr,
    pub(crate) transport: Transport,
    pub(crate) started: Instant,
    pub(crate) answered: Option<Instant>,
    pub(crate) ended: Option<Instant>,
    pub(crate) final_status: Option<u16>,
    pub(crate) ended_by: Option<EndedBy>,
}

impl LegNotes {
    /// Notes on an incoming INVITE (leg A of a bridged call), reported at `now`. The remote
    /// address is the top Via's `received`/`rport` (RFC 3581, added by the endpoint) until
    /// the leg's dialog gives the flow.
    pub(crate) fn incoming(invite: &Message, now: Instant) -> Self {
        let (remote, transport) = via_source(invite).unwrap_or((
            SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
            Transport::Udp,
        ));
        Self {
            sip_call_id: invite
                .typed::<CallIdHeader<'_>>()
                .ok()
                .flatten()
                .map(|c| c.0.to_owned())
                .unwrap_or_default(),
            from: invite
                .typed::<FromHeader<'_>>()
                .ok()
                .flatten()
                .map(|f| name_addr(f.0.display_name, &f.0.uri.to_string()))
                .unwrap_or_default(),
            to: invite
                .typed::<ToHeader<'_>>()
                .ok()
                .flatten()
                .map(|t| name_addr(t.0.display_name, &t.0.uri.to_string()))
                .unwrap_or_default(),
            remote,
            transport,
            started: now,
            answered: None,
            ended: None,
            final_status: None,
            ended_by: None,
        }
    }

    /// Notes on an INVITE Tandem sent at `now` with `sip_call_id`, From `from` and To `to`,
    /// toward `flow` (refined by the dialog's flow once the leg answers).
    pub(crate) fn outgoing(
        sip_call_id: String,
        from: String,
        to: String,
        flow: Flow,
        now: Instant,
    ) -> Self {
        Self {
            sip_call_id,
            from,
            to,
            remote: flow.remote,
            transport: flow.transport,
            started: now,
            answered: None,
            ended: None,
            final_status: None,
            ended_by: None,
        }
    }

    fn record(&self, leg: Leg, ended: Instant) -> LegRecord {
        LegRecord {
            leg,
            sip_call_id: self.sip_call_id.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
            remote: self.remote,
            transport: self.transport,
            started: self.started,
            answered: self.answered,
            ended: self.ended.unwrap_or(ended),
            final_status: self.final_status,
            ended_by: self.ended_by.unwrap_or(EndedBy::Local),
        }
    }

    fn info(&self, leg: Leg) -> LegInfo {
        LegInfo {
            leg,
            sip_call_id: self.sip_call_id.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
            remote: self.remote,
            transport: self.transport,
            started: self.started,
            answered: self.answered,
        }
    }
}

/// `"Display" <uri>` or `<uri>`.
fn name_addr(display: Option<&str>, uri: &str) -> String {
    match display {
        Some(d) => format!("{d} <{uri}>"),
        None => format!("<{uri}>"),
    }
}

/// Where the request came from, per its top Via: `received` (or the sent-by host) and
/// `rport` (or the sent-by port, or 5060), RFC 3261 §18.2.1, RFC 3581 §4.
fn via_source(m: &Message) -> Option<(SocketAddr, Transport)> {
    let via = m.typed_first::<Via<'_>>().ok().flatten()?;
    let host = match via.received() {
        Some(r) => r.to_owned(),
        None => via.host.to_string(),
    };
    let ip: IpAddr = host.trim_matches(|c| c == '[' || c == ']').parse().ok()?;
    let port = match via.rport() {
        Some(Some(p)) => p,
        _ => via.port.unwrap_or(5060),
    };
    let transport = Transport::from_name(via.transport).unwrap_or(Transport::Udp);
    Some((SocketAddr::new(ip, port), transport))
}

impl B2bua {
    /// The notes on `side` of `call`.
    pub(crate) fn notes(&mut self, call: CallId, side: Leg) -> Option<&mut LegNotes> {
        let c = self.calls.get_mut(&call)?;
        match side {
            Leg::A => Some(&mut c.notes_a),
            Leg::B => c.notes_b.as_mut(),
        }
    }

    /// `side`'s INVITE got (or was sent) the final `status`; a 2xx answers it at `now`.
    pub(crate) fn note_final(&mut self, call: CallId, side: Leg, status: u16, now: Instant) {
        if let Some(n) = self.notes(call, side)
            && n.final_status.is_none_or(|s| s / 100 != 2)
        {
            n.final_status = Some(status);
            if status / 100 == 2 {
                n.answered = Some(now);
            }
        }
    }

    /// `side` is ending, ended by `by` (the first cause noted wins).
    pub(crate) fn note_end(&mut self, call: CallId, side: Leg, by: EndedBy) {
        let now = self.now;
        if let Some(n) = self.notes(call, side)
            && n.ended_by.is_none()
        {
            n.ended_by = Some(by);
            n.ended = now;
        }
    }

    /// The leg's remote address and transport, from its dialog's flow.
    pub(crate) fn note_flow(&mut self, ep: &Endpoint, call: CallId, side: Leg) {
        let flow = self
            .calls
            .get(&call)
            .and_then(|c| c.dialog(side))
            .and_then(|d| ep.dialog(d))
            .map(tandem_sip_core::Dialog::flow);
        if let (Some(flow), Some(n)) = (flow, self.notes(call, side)) {
            n.remote = flow.remote;
            n.transport = flow.transport;
        }
    }

    /// The record of a call about to be forgotten, ended at `ended`.
    pub(crate) fn record(&self, call: CallId, ended: Instant) -> Option<CallRecord> {
        let c = self.calls.get(&call)?;
        let mut legs = vec![c.notes_a.record(Leg::A, ended)];
        if let Some(b) = &c.notes_b {
            legs.push(b.record(Leg::B, ended));
        }
        Some(CallRecord {
            call,
            kind: kind(&c.a),
            started: c.started,
            answered: c.answered,
            ended,
            cause: c.cause.clone().unwrap_or(crate::EndCause::Terminated),
            legs,
        })
    }

    /// A snapshot of `call` (for a REST API): state, media flow, legs; `None` once it ended.
    pub fn info(&self, call: CallId) -> Option<CallInfo> {
        let c = self.calls.get(&call)?;
        let mut legs = vec![c.notes_a.info(Leg::A)];
        if let Some(b) = &c.notes_b {
            legs.push(b.info(Leg::B));
        }
        Some(CallInfo {
            call,
            kind: kind(&c.a),
            state: c.state,
            media: c.media,
            started: c.started,
            answered: c.answered,
            legs,
        })
    }
}

fn kind(a: &LegA) -> CallKind {
    match a {
        LegA::In(_) => CallKind::Bridged,
        LegA::Out(_) => CallKind::Originated,
    }
}

impl B2bua {
    /// The media-flow hint of `call` (`None`: no offer crossed yet, or the call is gone).
    pub fn media_flow(&self, call: CallId) -> Option<MediaFlowState> {
        self.calls.get(&call).and_then(|c| c.media)
    }

    /// An offer (`Connecting`) or its answer (`Connected`) crossed between the legs
    /// (RFC 3264 §4-5). A connected call stays connected through later offers (hold,
    /// codec changes): media keeps flowing while they are negotiated.
    pub(crate) fn note_media(&mut self, call: CallId, state: MediaFlowState) {
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        if c.media == Some(MediaFlowState::Connected) || c.media == Some(state) {
            return;
        }
        c.media = Some(state);
        self.events
            .push_back(crate::types::CallEvent::MediaFlow { call, state });
    }
}
