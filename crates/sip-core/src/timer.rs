//! One queue for every timer of the endpoint, with lazy cancellation.
//!
//! Each transaction keeps the deadline it currently wants for each of its timers; the queue
//! holds `(deadline, owner, timer)` entries. A popped entry fires only if the owner still
//! wants that timer at that deadline, so cancelling or re-arming a timer costs nothing here.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use crate::slab::SlotId;

/// The RFC 3261 §17 (and RFC 6026) timers, by their RFC names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimerName {
    /// INVITE request retransmit (§17.1.1.2).
    A,
    /// INVITE transaction timeout (§17.1.1.2).
    B,
    /// A ringing INVITE's guard: the UAC cancels it when no final response came in time, and
    /// after a CANCEL the transaction ends 64·T1 later even if no final response ever comes
    /// (§9.1; named after the proxy's Timer C of §16.6, which it mirrors for a UAC).
    C,
    /// Wait time for response retransmits in the client INVITE Completed state.
    D,
    /// Non-INVITE request retransmit (§17.1.2.2).
    E,
    /// Non-INVITE transaction timeout.
    F,
    /// INVITE final response retransmit (§17.2.1).
    G,
    /// Wait time for ACK receipt.
    H,
    /// Wait time for ACK retransmits (Confirmed state).
    I,
    /// Wait time for non-INVITE request retransmits (§17.2.2).
    J,
    /// Wait time for non-INVITE response retransmits (§17.1.2.2).
    K,
    /// Server INVITE Accepted state: absorb request retransmissions (RFC 6026 §8.7).
    L,
    /// Client INVITE Accepted state: pass 2xx retransmissions up (RFC 6026 §8.4).
    M,
    /// Retransmission of a reliable provisional response until its PRACK (RFC 3262 §3: T1
    /// doubling; after 64·T1 the INVITE is rejected). RFC 3262 names no timer; this one
    /// belongs to the UAS core, kept with the INVITE's server transaction.
    Rel1xx,
    /// The refresher's session refresh, at half the session interval (RFC 4028 §10).
    SessionRefresh,
    /// Session expiry: the interval minus min(32 s, interval/3) after the last refresh, a
    /// BYE (RFC 4028 §10).
    SessionExpiry,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TimerEntry {
    pub(crate) owner: Owner,
    pub(crate) name: TimerName,
}

/// What a timer belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Owner {
    Client(SlotId),
    Server(SlotId),
    Dialog(SlotId),
}

#[derive(Debug, Default)]
pub(crate) struct TimerQueue {
    heap: BinaryHeap<Reverse<(Instant, TimerEntry)>>,
}

impl TimerQueue {
    pub(crate) fn schedule(&mut self, at: Instant, owner: Owner, name: TimerName) {
        self.heap.push(Reverse((at, TimerEntry { owner, name })));
    }

    /// The earliest entry, which may be stale.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _))| *at)
    }

    /// Pops an entry due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(Instant, TimerEntry)> {
        let Reverse((at, _)) = self.heap.peek()?;
        if *at > now {
            return None;
        }
        self.heap.pop().map(|Reverse(e)| e)
    }

    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}

impl TimerQueue {
    /// The earliest entry itself.
    pub(crate) fn peek_entry(&self) -> Option<TimerEntry> {
        self.heap.peek().map(|Reverse((_, e))| *e)
    }

    /// Removes the earliest entry.
    pub(crate) fn pop_front(&mut self) {
        self.heap.pop();
    }
}
