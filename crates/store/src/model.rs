//! The store's own data types. Plain values with no dependency on the call crate: the server
//! converts its call records into these, so the schema does not move when the call
//! controller's types do.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::Timestamp;

/// What kind of call a record describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CallKind {
    /// An incoming call relayed to a destination (scenario S1).
    B2b,
    /// A call Tandem placed between two parties (click-to-call, `POST /v1/calls`).
    Originate,
    /// A call answered by Tandem's own conference mixer.
    Conference,
}

/// Where a call is in its life, as far as the records know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CdrState {
    /// Started and not (yet) answered. A call left in this state after a restart was in
    /// progress when the process died.
    Started,
    /// Answered and not (yet) ended.
    Answered,
    /// Over: `ended_at` is set.
    Ended,
}

/// Which leg of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LegName {
    /// The caller's leg (incoming), or the first party of an originated call.
    A,
    /// The callee's leg (outgoing), or the second party of an originated call.
    B,
}

/// Who ended a leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EndedBy {
    /// Tandem (a relayed hang-up, a timer, an API request).
    Local,
    /// The peer of this leg (its BYE, CANCEL or final response).
    Remote,
    /// Nobody: the leg was lost (no answer, no ACK, session timer expiry).
    Lost,
}

/// One leg as recorded. Every field but the name is optional: a start record knows only the
/// incoming leg's dialog, an end record knows the rest, and an upsert never erases a value
/// with a missing one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CdrLeg {
    /// Which leg.
    pub leg: LegName,
    /// The Call-ID of this leg's dialog (each leg has its own: topology hiding).
    pub sip_call_id: Option<String>,
    /// The From URI of this leg's INVITE.
    pub from_uri: Option<String>,
    /// The To URI of this leg's INVITE.
    pub to_uri: Option<String>,
    /// The peer's address (`ip:port`).
    pub remote_addr: Option<String>,
    /// `UDP`, `TCP`, `TLS`, `WS` or `WSS`.
    pub transport: Option<String>,
    /// When the leg's INVITE arrived or was sent.
    pub started_at: Option<Timestamp>,
    /// When the leg's 2xx was sent or received.
    pub answered_at: Option<Timestamp>,
    /// When the leg's dialog or INVITE ended.
    pub ended_at: Option<Timestamp>,
    /// The final response of the leg's INVITE (sent on A, received on B).
    pub final_status: Option<u16>,
    /// Who ended the leg.
    pub ended_by: Option<EndedBy>,
}

impl CdrLeg {
    /// A leg with only its name set.
    pub fn new(leg: LegName) -> Self {
        Self {
            leg,
            sip_call_id: None,
            from_uri: None,
            to_uri: None,
            remote_addr: None,
            transport: None,
            started_at: None,
            answered_at: None,
            ended_at: None,
            final_status: None,
            ended_by: None,
        }
    }
}

/// A call has started: written at once so a crash leaves a visible half-row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallStart {
    /// Unique on this node across restarts; the key [`CallEnd`] names again.
    pub key: String,
    /// What kind of call.
    pub kind: CallKind,
    /// When it started.
    pub started_at: Timestamp,
    /// The legs known at the start (usually the incoming one).
    pub legs: Vec<CdrLeg>,
}

/// A call has ended: the whole record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallEnd {
    /// The key given to [`CallStart`] (or a new one: an end without a start is a whole row).
    pub key: String,
    /// What kind of call.
    pub kind: CallKind,
    /// When it started (kept from the start record when there was one).
    pub started_at: Timestamp,
    /// When it was answered, if it was.
    pub answered_at: Option<Timestamp>,
    /// When it ended.
    pub ended_at: Timestamp,
    /// Why, as a short stable token (`caller_hangup`, `rejected`, `no_answer`, ...).
    pub cause: String,
    /// Free text beside the cause (e.g. the failure's message), if any.
    pub cause_detail: Option<String>,
    /// The final status of the call as the caller saw it (200 when answered).
    pub final_status: Option<u16>,
    /// Every leg.
    pub legs: Vec<CdrLeg>,
}

/// One change to the records, for [`Store::write`](crate::Store::write).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CdrWrite {
    /// [`Store::call_started`](crate::Store::call_started).
    Started(CallStart),
    /// [`Store::call_answered`](crate::Store::call_answered).
    Answered {
        /// The call's key.
        key: String,
        /// When it was answered.
        at: Timestamp,
    },
    /// [`Store::call_ended`](crate::Store::call_ended).
    Ended(CallEnd),
}

/// A call as read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CdrCall {
    /// The row id: what `tandem cdr show ID` and the REST API name.
    pub id: i64,
    /// The node-unique key.
    pub key: String,
    /// What kind of call.
    pub kind: CallKind,
    /// Started, answered or ended.
    pub state: CdrState,
    /// When it started.
    pub started_at: Timestamp,
    /// When it was answered.
    pub answered_at: Option<Timestamp>,
    /// When it ended; `None` for a call in progress or one the process died in.
    pub ended_at: Option<Timestamp>,
    /// Why it ended.
    pub cause: Option<String>,
    /// Free text beside the cause.
    pub cause_detail: Option<String>,
    /// The final status of the call as the caller saw it.
    pub final_status: Option<u16>,
    /// The legs, A before B.
    pub legs: Vec<CdrLeg>,
}

/// Which calls [`Store::calls`](crate::Store::calls) returns: newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallQuery {
    /// At most this many.
    pub limit: u32,
    /// Skip this many of the newest.
    pub offset: u32,
    /// Only calls started at or after this instant.
    pub since: Option<Timestamp>,
}

impl Default for CallQuery {
    fn default() -> Self {
        Self {
            limit: 100,
            offset: 0,
            since: None,
        }
    }
}

/// A column held text that names no value of its enum: a row written by something else.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown value `{0}`")]
pub struct UnknownValue(pub String);

macro_rules! text_enum {
    ($ty:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        impl $ty {
            /// The text stored in the database.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)*
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = UnknownValue;

            fn from_str(s: &str) -> Result<Self, UnknownValue> {
                match s {
                    $($text => Ok(Self::$variant),)*
                    other => Err(UnknownValue(other.to_owned())),
                }
            }
        }
    };
}

text_enum!(CallKind {
    B2b = "b2b",
    Originate = "originate",
    Conference = "conference"
});
text_enum!(CdrState {
    Started = "started",
    Answered = "answered",
    Ended = "ended"
});
text_enum!(LegName { A = "a", B = "b" });
text_enum!(EndedBy {
    Local = "local",
    Remote = "remote",
    Lost = "lost"
});
