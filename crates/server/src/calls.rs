//! The application's view of its back-to-back calls for the API: public ids, legs, times.
//!
//! `tandem_call::CallId` is opaque, so the API numbers calls itself (never reusing a
//! number) and keeps what it shows: the parties and next hops of each leg, when the call
//! started and was answered, its last state and media-flow hint. Entries are added when a
//! call is established or originated and dropped at `CallEvent::Ended`, so the table holds
//! live calls only.

use std::collections::HashMap;
use std::time::Instant;

use tandem_call::{CallEvent, CallId, CallState};
use tandem_sip_core::Flow;

use crate::commands::{CallView, LegView};
use crate::events::{ApiEvent, CallStateView, MediaFlowView};
use crate::wall::WallClock;

/// One leg as recorded when the call started.
#[derive(Debug, Clone)]
pub(crate) struct LegInfo {
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) flow: Flow,
}

impl LegInfo {
    fn view(&self, name: &str) -> LegView {
        LegView {
            leg: name.to_owned(),
            from: self.from.clone(),
            to: self.to.clone(),
            remote: format!(
                "{}:{}",
                self.flow.transport.to_string().to_ascii_lowercase(),
                self.flow.remote
            ),
        }
    }
}

#[derive(Debug)]
struct Tracked {
    id: u64,
    state: CallState,
    media: Option<MediaFlowView>,
    started: Instant,
    answered: Option<Instant>,
    legs: [LegInfo; 2],
}

/// Live calls, by call-layer id and by public id.
#[derive(Debug)]
pub(crate) struct CallTable {
    clock: WallClock,
    next: u64,
    calls: HashMap<CallId, Tracked>,
    by_id: HashMap<u64, CallId>,
}

impl CallTable {
    pub(crate) fn new(clock: WallClock) -> Self {
        Self {
            clock,
            next: 1,
            calls: HashMap::new(),
            by_id: HashMap::new(),
        }
    }

    /// Records a new call; returns its public id.
    pub(crate) fn add(&mut self, call: CallId, now: Instant, a: LegInfo, b: LegInfo) -> u64 {
        let id = self.next;
        self.next += 1;
        self.calls.insert(
            call,
            Tracked {
                id,
                state: CallState::Establishing,
                media: None,
                started: now,
                answered: None,
                legs: [a, b],
            },
        );
        self.by_id.insert(id, call);
        id
    }

    /// The call-layer id of public id `id`.
    pub(crate) fn call_of(&self, id: u64) -> Option<CallId> {
        self.by_id.get(&id).copied()
    }

    /// Notes that `call` is being terminated (its state until the call layer says more).
    pub(crate) fn terminating(&mut self, call: CallId) {
        if let Some(t) = self.calls.get_mut(&call) {
            t.state = CallState::Terminating;
        }
    }

    /// Applies a call event; returns the API event to publish, if the call is known.
    pub(crate) fn apply(&mut self, now: Instant, event: &CallEvent) -> Option<ApiEvent> {
        match event {
            CallEvent::StateChanged { call, state } => {
                let t = self.calls.get_mut(call)?;
                t.state = *state;
                if *state == CallState::Established && t.answered.is_none() {
                    t.answered = Some(now);
                }
                Some(ApiEvent::StateChanged {
                    call: t.id,
                    state: (*state).into(),
                })
            }
            CallEvent::Ended { call, cause } => {
                let t = self.calls.remove(call)?;
                self.by_id.remove(&t.id);
                Some(ApiEvent::Ended {
                    call: t.id,
                    cause: cause.into(),
                })
            }
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// The view of public id `id`.
    pub(crate) fn view(&self, id: u64) -> Option<CallView> {
        let call = self.by_id.get(&id)?;
        self.calls.get(call).map(|t| self.render(t))
    }

    /// Every live call, oldest first.
    pub(crate) fn list(&self) -> Vec<CallView> {
        let mut views: Vec<CallView> = self.calls.values().map(|t| self.render(t)).collect();
        views.sort_by_key(|v| v.id);
        views
    }

    fn render(&self, t: &Tracked) -> CallView {
        CallView {
            id: t.id,
            state: CallStateView::from(t.state),
            media: t.media,
            started: self.clock.rfc3339(t.started),
            answered: t.answered.map(|a| self.clock.rfc3339(a)),
            legs: vec![t.legs[0].view("a"), t.legs[1].view("b")],
        }
    }
}
