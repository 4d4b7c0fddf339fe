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

/// Inline slots of [`Deadlines`]: an owner rarely wants more timers at once (Timer A and B;
/// G and L; a dialog's session refresh and expiry).
const INLINE_DEADLINES: usize = 3;

/// Deadlines a transaction (or dialog) currently wants, at most one per timer name.
///
/// A few inline slots, then a vector: 96 bytes instead of a slot for every [`TimerName`], in
/// every transaction and dialog a held call keeps.
#[derive(Debug, Clone, Default)]
pub(crate) struct Deadlines {
    slots: [Option<(Instant, TimerName)>; INLINE_DEADLINES],
    more: Vec<(Instant, TimerName)>,
}

impl Deadlines {
    pub(crate) fn set(&mut self, name: TimerName, at: Instant) {
        if let Some(s) = self.slot_mut(name) {
            s.0 = at;
        } else if let Some(free) = self.slots.iter_mut().find(|s| s.is_none()) {
            *free = Some((at, name));
        } else {
            self.more.push((at, name));
        }
    }

    fn slot_mut(&mut self, name: TimerName) -> Option<&mut (Instant, TimerName)> {
        self.slots
            .iter_mut()
            .flatten()
            .chain(self.more.iter_mut())
            .find(|(_, n)| *n == name)
    }

    pub(crate) fn clear(&mut self, name: TimerName) {
        if let Some(s) = self
            .slots
            .iter_mut()
            .find(|s| s.is_some_and(|(_, n)| n == name))
        {
            *s = None;
        }
        self.more.retain(|(_, n)| *n != name);
    }

    pub(crate) fn clear_all(&mut self) {
        self.slots = [None; INLINE_DEADLINES];
        self.more = Vec::new();
    }

    /// Whether `name` is armed for exactly `at` (a queue entry for another deadline is stale).
    pub(crate) fn wants(&self, name: TimerName, at: Instant) -> bool {
        self.slots
            .iter()
            .flatten()
            .chain(self.more.iter())
            .any(|&(t, n)| n == name && t == at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_hold_one_per_name_beyond_the_inline_slots() {
        let t0 = Instant::now();
        let at = |ms| t0 + std::time::Duration::from_millis(ms);
        let mut d = Deadlines::default();
        let names = [
            TimerName::A,
            TimerName::B,
            TimerName::C,
            TimerName::M,
            TimerName::Rel1xx,
        ];
        for (i, n) in names.iter().enumerate() {
            d.set(*n, at(i as u64));
        }
        for (i, n) in names.iter().enumerate() {
            assert!(d.wants(*n, at(i as u64)), "{n:?}");
        }
        d.set(TimerName::M, at(50));
        assert!(!d.wants(TimerName::M, at(3)));
        assert!(d.wants(TimerName::M, at(50)));
        d.clear(TimerName::B);
        d.clear(TimerName::Rel1xx);
        assert!(!d.wants(TimerName::B, at(1)));
        assert!(!d.wants(TimerName::Rel1xx, at(4)));
        d.set(TimerName::G, at(9));
        assert!(d.wants(TimerName::G, at(9)));
        assert!(d.wants(TimerName::A, at(0)));
        d.clear_all();
        assert!(names.iter().all(|n| !d.wants(*n, at(0))));
    }
}
