//! The API's numbering of back-to-back calls, and their JSON views.
//!
//! `tandem_call::CallId` is opaque, so the API numbers calls itself (never reusing a
//! number). What it shows comes from the call layer: `B2bua::info` for live calls,
//! `CallEvent::Record` for the record of an ended one. Entries are added when a call is
//! established or originated and dropped at `CallEvent::Ended`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use tandem_call::{
    B2bua, CallEvent, CallId, CallInfo, CallRecord, EndedBy, Leg, LegInfo, LegRecord,
    MediaFlowState,
};
use tandem_sip_core::Transport;

use crate::commands::{CallView, LegView};
use crate::events::{ApiEvent, CallStateView, LegRecordView, MediaFlowView, RecordView};
use crate::wall::WallClock;

/// Live calls, by call-layer id and by public id.
#[derive(Debug)]
pub(crate) struct CallTable {
    clock: WallClock,
    next: u64,
    ids: HashMap<CallId, u64>,
    calls: HashMap<u64, CallId>,
}

impl CallTable {
    pub(crate) fn new(clock: WallClock) -> Self {
        Self {
            clock,
            next: 1,
            ids: HashMap::new(),
            calls: HashMap::new(),
        }
    }

    /// Numbers a new call; returns its public id.
    pub(crate) fn add(&mut self, call: CallId) -> u64 {
        let id = self.next;
        self.next += 1;
        self.ids.insert(call, id);
        self.calls.insert(id, call);
        id
    }

    /// The call-layer id of public id `id`.
    pub(crate) fn call_of(&self, id: u64) -> Option<CallId> {
        self.calls.get(&id).copied()
    }

    /// Turns a call event into the API event to publish, if the call is known; forgets the
    /// call at `Ended`.
    pub(crate) fn apply(&mut self, event: &CallEvent) -> Option<ApiEvent> {
        match event {
            CallEvent::StateChanged { call, state } => Some(ApiEvent::StateChanged {
                call: *self.ids.get(call)?,
                state: (*state).into(),
            }),
            CallEvent::MediaFlow { call, state } => Some(ApiEvent::MediaFlow {
                call: *self.ids.get(call)?,
                state: media(*state),
            }),
            CallEvent::Record(record) => {
                let id = *self.ids.get(&record.call)?;
                Some(ApiEvent::Record(Box::new(self.record(id, record))))
            }
            CallEvent::Ended { call, cause } => {
                let id = self.ids.remove(call)?;
                self.calls.remove(&id);
                Some(ApiEvent::Ended {
                    call: id,
                    cause: cause.into(),
                })
            }
        }
    }

    /// The view of public id `id`.
    pub(crate) fn view(&self, b2bua: &B2bua, id: u64) -> Option<CallView> {
        let info = b2bua.info(*self.calls.get(&id)?)?;
        Some(self.render(id, &info))
    }

    /// Every live call, oldest first.
    pub(crate) fn list(&self, b2bua: &B2bua) -> Vec<CallView> {
        let mut views: Vec<CallView> = self
            .calls
            .iter()
            .filter_map(|(id, call)| Some(self.render(*id, &b2bua.info(*call)?)))
            .collect();
        views.sort_by_key(|v| v.id);
        views
    }

    fn time(&self, at: Instant) -> String {
        self.clock.rfc3339(at)
    }

    fn render(&self, id: u64, info: &CallInfo) -> CallView {
        CallView {
            id,
            kind: info.kind.as_str().to_owned(),
            state: CallStateView::from(info.state),
            media: info.media.map(media),
            started: self.time(info.started),
            answered: info.answered.map(|a| self.time(a)),
            legs: info.legs.iter().map(|l| self.leg(l)).collect(),
        }
    }

    fn leg(&self, l: &LegInfo) -> LegView {
        LegView {
            leg: leg_name(l.leg),
            call_id: l.sip_call_id.clone(),
            from: l.from.clone(),
            to: l.to.clone(),
            remote: remote(l.transport, l.remote),
            started: self.time(l.started),
            answered: l.answered.map(|a| self.time(a)),
        }
    }

    fn record(&self, id: u64, r: &CallRecord) -> RecordView {
        RecordView {
            call: id,
            kind: r.kind.as_str().to_owned(),
            started: self.time(r.started),
            answered: r.answered.map(|a| self.time(a)),
            ended: self.time(r.ended),
            cause: (&r.cause).into(),
            legs: r.legs.iter().map(|l| self.leg_record(l)).collect(),
        }
    }

    fn leg_record(&self, l: &LegRecord) -> LegRecordView {
        LegRecordView {
            leg: leg_name(l.leg),
            call_id: l.sip_call_id.clone(),
            from: l.from.clone(),
            to: l.to.clone(),
            remote: remote(l.transport, l.remote),
            started: self.time(l.started),
            answered: l.answered.map(|a| self.time(a)),
            ended: self.time(l.ended),
            final_status: l.final_status,
            ended_by: match l.ended_by {
                EndedBy::Remote => "remote",
                EndedBy::Local => "local",
                EndedBy::Lost => "lost",
            }
            .to_owned(),
        }
    }
}

fn media(state: MediaFlowState) -> MediaFlowView {
    match state {
        MediaFlowState::Connecting => MediaFlowView::Connecting,
        MediaFlowState::Connected => MediaFlowView::Connected,
    }
}

fn leg_name(leg: Leg) -> String {
    match leg {
        Leg::A => "a",
        Leg::B => "b",
    }
    .to_owned()
}

/// `udp:192.0.2.4:5060`.
fn remote(transport: Transport, addr: SocketAddr) -> String {
    format!("{}:{addr}", transport.to_string().to_ascii_lowercase())
}
