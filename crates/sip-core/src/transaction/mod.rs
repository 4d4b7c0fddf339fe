//! The four transaction machines of RFC 3261 §17, with the Accepted states of RFC 6026.
//!
//! Each machine is a small struct that knows its state and the deadlines it wants; the
//! [`Endpoint`](crate::Endpoint) feeds it messages and timer firings and carries out the
//! [`Action`]s it returns (send bytes, report to the transaction user, terminate). Keeping the
//! machines free of message building makes every transition a few lines that read like the
//! RFC's figures 5 to 8.

pub(crate) mod client;
mod key;
pub(crate) mod server;

use std::time::Instant;

use bytes::Bytes;

pub(crate) use client::{ClientKind, ClientState, ClientTx};
pub(crate) use key::{ClientKey, ServerKey};
pub(crate) use server::{ServerKind, ServerState, ServerTx};

use crate::timer::TimerName;

/// What a transaction asks the endpoint to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Send these bytes on the transaction's flow.
    Send(Bytes),
    /// Arm `TimerName` for `Instant` (replacing any earlier deadline of that timer).
    Arm(TimerName, Instant),
    /// Report the current message to the transaction user.
    PassUp,
    /// The transaction ends; `timed_out` when it ended by Timer B, F or H.
    Terminate { timed_out: bool },
    /// Timer C fired on a ringing INVITE: send CANCEL for it (§9.1).
    Cancel,
}

/// How many [`TimerName`]s there are.
const TIMER_NAMES: usize = TimerName::SessionExpiry as usize + 1;

/// Deadlines a transaction currently wants, one per timer name.
#[derive(Debug, Clone, Default)]
pub(crate) struct Deadlines {
    slots: [Option<Instant>; TIMER_NAMES],
}

impl Deadlines {
    fn index(name: TimerName) -> usize {
        name as usize
    }

    pub(crate) fn set(&mut self, name: TimerName, at: Instant) {
        if let Some(s) = self.slots.get_mut(Self::index(name)) {
            *s = Some(at);
        }
    }

    pub(crate) fn clear(&mut self, name: TimerName) {
        if let Some(s) = self.slots.get_mut(Self::index(name)) {
            *s = None;
        }
    }

    pub(crate) fn clear_all(&mut self) {
        self.slots = [None; TIMER_NAMES];
    }

    /// Whether `name` is armed for exactly `at` (a queue entry for another deadline is stale).
    pub(crate) fn wants(&self, name: TimerName, at: Instant) -> bool {
        self.slots.get(Self::index(name)).copied().flatten() == Some(at)
    }
}
