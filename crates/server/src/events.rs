//! What the API shows of calls: the JSON views of calls and the events of the WebSocket
//! stream, with the same vocabulary as the call layer (`tandem_call`): UCMA-shaped states
//! (`idle`, `establishing`, `established`, `terminating`, `terminated`), the media-flow hint
//! and the end cause.
//!
//! The application publishes [`ApiEvent`]s on a tokio `broadcast` channel ([`Events`]):
//! sending never blocks the SIP driver, and a client too slow to keep up loses the oldest
//! events and is told how many (`{"type":"lagged","missed":n}`) instead of slowing the
//! server down.

use serde::Serialize;
use tandem_call::{CallState, EndCause};
use tokio::sync::broadcast;
use utoipa::ToSchema;

/// A call's state, as UCMA's `CallState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum CallStateView {
    /// Created, nothing sent yet.
    Idle,
    /// The outgoing INVITE is in progress.
    Establishing,
    /// Answered on both legs.
    Established,
    /// Ending: waiting for the legs to confirm.
    Terminating,
    /// Over.
    Terminated,
}

impl From<CallState> for CallStateView {
    fn from(s: CallState) -> Self {
        match s {
            CallState::Idle => Self::Idle,
            CallState::Establishing => Self::Establishing,
            CallState::Established => Self::Established,
            CallState::Terminating => Self::Terminating,
            CallState::Terminated => Self::Terminated,
        }
    }
}

/// The media-flow hint of a call, from its offer/answer (RFC 3264): `connecting` once an
/// offer went out, `connected` once the answer came back. Tandem relays no RTP, so this
/// says what the endpoints agreed, not what flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum MediaFlowView {
    /// An offer is out, no answer yet.
    Connecting,
    /// Offer and answer exchanged.
    Connected,
}

/// Why a call ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub(crate) struct EndCauseView {
    /// `caller_hang_up`, `callee_hang_up`, `cancelled`, `rejected`, `no_answer`,
    /// `terminated` (by the API or the application), `ack_timeout`, `leg_lost`, `failed`,
    /// `ring_timeout`, `max_duration`.
    pub(crate) kind: String,
    /// For `rejected`: the status the callee answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) status: Option<u16>,
    /// For `rejected`: the status relayed to the caller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) relayed: Option<u16>,
    /// For `failed`: what went wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) detail: Option<String>,
}

impl From<&EndCause> for EndCauseView {
    /// The kind is the variant's name in snake case, so causes the call layer adds later
    /// reach clients without a server change.
    fn from(cause: &EndCause) -> Self {
        let debug = format!("{cause:?}");
        let name = debug
            .split(|c: char| !c.is_ascii_alphanumeric())
            .next()
            .unwrap_or_default();
        let mut view = Self {
            kind: snake_case(name),
            status: None,
            relayed: None,
            detail: None,
        };
        match cause {
            EndCause::Rejected { status, relayed } => {
                view.status = Some(*status);
                view.relayed = Some(*relayed);
            }
            EndCause::Failed(detail) => view.detail = Some(detail.clone()),
            _ => {}
        }
        view
    }
}

fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// One event of the stream `GET /v1/events`, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ApiEvent {
    /// A call moved to `state`.
    StateChanged {
        /// The call's id (as in `/v1/calls/{id}`).
        call: u64,
        /// Its new state.
        state: CallStateView,
    },
    /// A call's media-flow hint changed.
    MediaFlow {
        /// The call's id.
        call: u64,
        /// The new hint.
        state: MediaFlowView,
    },
    /// A call is over; its id is dead.
    Ended {
        /// The call's id.
        call: u64,
        /// Why it ended.
        cause: EndCauseView,
    },
    /// The record of an ended call (sent just before its `ended`), as written to the CDRs.
    Record(Box<RecordView>),
    /// This client fell behind and `missed` events were dropped for it.
    Lagged {
        /// How many events were lost.
        missed: u64,
    },
}

/// The record of an ended call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub(crate) struct RecordView {
    /// The call's id.
    pub(crate) call: u64,
    /// `b2b` or `originate`.
    pub(crate) kind: String,
    /// When the call started (RFC 3339, UTC).
    pub(crate) started: String,
    /// When it was answered, if it was.
    pub(crate) answered: Option<String>,
    /// When it ended.
    pub(crate) ended: String,
    /// Why it ended.
    pub(crate) cause: EndCauseView,
    /// Leg `a`, then leg `b` if it was ever created.
    pub(crate) legs: Vec<LegRecordView>,
}

/// The record of one leg.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub(crate) struct LegRecordView {
    /// `a` or `b`.
    pub(crate) leg: String,
    /// The leg's SIP Call-ID.
    pub(crate) call_id: String,
    /// The leg's From, without tag.
    pub(crate) from: String,
    /// The leg's To, without tag.
    pub(crate) to: String,
    /// `transport:address:port` of the peer.
    pub(crate) remote: String,
    /// When the leg's INVITE was received or sent.
    pub(crate) started: String,
    /// When it was answered.
    pub(crate) answered: Option<String>,
    /// When it started ending.
    pub(crate) ended: String,
    /// The final status of its INVITE, if there was one.
    pub(crate) final_status: Option<u16>,
    /// Who ended it: `remote`, `local` (Tandem) or `lost`.
    pub(crate) ended_by: String,
}

/// The sending side of the event stream, held by the application.
#[derive(Debug, Clone)]
pub(crate) struct Events(broadcast::Sender<ApiEvent>);

/// Events kept for each client before the slowest loses the oldest.
pub(crate) const EVENT_BACKLOG: usize = 1_024;

impl Events {
    /// A stream holding up to `backlog` events per client.
    pub(crate) fn new(backlog: usize) -> Self {
        Self(broadcast::channel(backlog.max(1)).0)
    }

    /// Publishes `event` to every connected client. Never blocks; with no client it is
    /// dropped.
    pub(crate) fn publish(&self, event: ApiEvent) {
        let _ = self.0.send(event);
    }

    /// A new client's receiver.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<ApiEvent> {
        self.0.subscribe()
    }

    /// Clients connected.
    #[cfg(test)]
    pub(crate) fn clients(&self) -> usize {
        self.0.receiver_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialize_with_their_type() {
        let e = ApiEvent::StateChanged {
            call: 3,
            state: CallStateView::Established,
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"type":"state_changed","call":3,"state":"established"}"#
        );
        let e = ApiEvent::Ended {
            call: 3,
            cause: (&EndCause::Rejected {
                status: 486,
                relayed: 486,
            })
                .into(),
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"type":"ended","call":3,"cause":{"kind":"rejected","status":486,"relayed":486}}"#
        );
        let cause: EndCauseView = (&EndCause::CallerHangUp).into();
        assert_eq!(cause.kind, "caller_hang_up");
        let cause: EndCauseView = (&EndCause::Failed("bad sdp".into())).into();
        assert_eq!(
            (cause.kind.as_str(), cause.detail.as_deref()),
            ("failed", Some("bad sdp"))
        );
    }
}
