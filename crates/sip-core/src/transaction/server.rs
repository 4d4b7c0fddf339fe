//! Server transactions: INVITE (RFC 3261 §17.2.1, figure 7, with RFC 6026 §7.1 Accepted) and
//! non-INVITE (§17.2.2, figure 8).
//!
//! One deliberate difference of structure, not of behaviour on the wire: RFC 6026 leaves the
//! retransmission of a 2xx to the UAS core (§13.3.1.4). Tandem keeps it here, in the Accepted
//! state, on Timer G's schedule (T1 doubling to T2) until the ACK arrives or Timer L fires:
//! the transaction already has the bytes, the flow and the timer plumbing, and the dialog layer
//! stays free of retransmission state.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{Action, Deadlines};
use crate::config::Timers;
use crate::timer::TimerName;

/// INVITE or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServerKind {
    Invite,
    NonInvite,
}

/// States of both server machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServerState {
    /// Non-INVITE received, no response yet.
    Trying,
    /// A provisional response was sent (INVITE starts here: Tandem sends 100 at once).
    Proceeding,
    /// A 2xx to an INVITE was sent; waiting for its ACK (RFC 6026 §7.1).
    Accepted,
    /// A final response was sent; retransmitting it (INVITE non-2xx) or absorbing requests.
    Completed,
    /// The ACK for a non-2xx arrived (INVITE only).
    Confirmed,
    /// Gone.
    Terminated,
}

/// One server transaction.
#[derive(Debug)]
pub(crate) struct ServerTx {
    pub(crate) kind: ServerKind,
    pub(crate) state: ServerState,
    pub(crate) reliable: bool,
    /// The last response sent, resent on request retransmissions (and on Timer G); dropped
    /// once the ACK arrives (Confirmed, or Accepted with the 2xx acknowledged), when nothing
    /// resends it any more.
    pub(crate) last_response: Option<Bytes>,
    pub(crate) last_status: u16,
    /// The ACK for the 2xx arrived (Accepted state).
    acked: bool,
    interval: Duration,
    pub(crate) deadlines: Deadlines,
}

/// What happened to a response the TU asked to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RespondOutcome {
    Sent(Vec<Action>),
    /// A final response was already sent: the TU may not send another (§17.2).
    AlreadyFinal,
}

impl ServerTx {
    /// A transaction for a request just received.
    pub(crate) fn new(kind: ServerKind, reliable: bool, timers: &Timers) -> Self {
        let state = match kind {
            ServerKind::Invite => ServerState::Proceeding,
            ServerKind::NonInvite => ServerState::Trying,
        };
        Self {
            kind,
            state,
            reliable,
            last_response: None,
            last_status: 0,
            acked: false,
            interval: timers.t1,
            deadlines: Deadlines::default(),
        }
    }

    /// The TU sends a response (already serialised) with status `status`.
    pub(crate) fn respond(
        &mut self,
        status: u16,
        bytes: Bytes,
        now: Instant,
        timers: &Timers,
    ) -> RespondOutcome {
        let mut actions = Vec::new();
        let provisional = status < 200;
        match (self.kind, self.state) {
            (_, ServerState::Trying | ServerState::Proceeding) if provisional => {
                self.state = ServerState::Proceeding;
            }
            (ServerKind::Invite, ServerState::Proceeding) if status < 300 => {
                self.state = ServerState::Accepted;
                self.interval = timers.t1;
                if !self.reliable {
                    self.arm(&mut actions, TimerName::G, now + timers.t1);
                }
                self.arm(
                    &mut actions,
                    TimerName::L,
                    now + timers.transaction_timeout(),
                );
            }
            (ServerKind::Invite, ServerState::Proceeding) => {
                self.state = ServerState::Completed;
                self.interval = timers.t1;
                if !self.reliable {
                    self.arm(&mut actions, TimerName::G, now + timers.t1);
                }
                self.arm(
                    &mut actions,
                    TimerName::H,
                    now + timers.transaction_timeout(),
                );
            }
            (ServerKind::NonInvite, ServerState::Trying | ServerState::Proceeding) => {
                self.state = ServerState::Completed;
                let wait = if self.reliable {
                    Duration::ZERO
                } else {
                    timers.transaction_timeout()
                };
                self.arm(&mut actions, TimerName::J, now + wait);
            }
            _ => return RespondOutcome::AlreadyFinal,
        }
        self.last_response = Some(bytes.clone());
        self.last_status = status;
        actions.insert(0, Action::Send(bytes));
        RespondOutcome::Sent(actions)
    }

    /// A retransmission of the request arrived (§17.2.1, §17.2.2): resend the last response.
    pub(crate) fn on_retransmission(&mut self) -> Vec<Action> {
        match self.state {
            ServerState::Proceeding | ServerState::Completed | ServerState::Accepted => {
                // In Accepted the 2xx is resent by Timer G; RFC 6026 §8.7 absorbs the INVITE.
                if self.state == ServerState::Accepted {
                    return Vec::new();
                }
                self.last_response
                    .clone()
                    .map(Action::Send)
                    .into_iter()
                    .collect()
            }
            _ => Vec::new(),
        }
    }

    /// An ACK matched this transaction. Returns what to do and whether the TU hears of it.
    pub(crate) fn on_ack(&mut self, now: Instant, timers: &Timers) -> Vec<Action> {
        let mut actions = Vec::new();
        match self.state {
            ServerState::Completed => {
                // §17.2.1: Confirmed, absorb ACK retransmissions for Timer I.
                self.state = ServerState::Confirmed;
                self.deadlines.clear_all();
                self.last_response = None;
                let wait = if self.reliable {
                    Duration::ZERO
                } else {
                    timers.t4
                };
                self.arm(&mut actions, TimerName::I, now + wait);
            }
            ServerState::Accepted => {
                // The ACK for our 2xx: stop retransmitting; keep absorbing INVITE
                // retransmissions until Timer L (RFC 6026 §7.1). The TU hears of the ACK.
                self.deadlines.clear(TimerName::G);
                // Nothing resends the 2xx now: INVITE retransmissions are absorbed (§8.7).
                self.last_response = None;
                if !self.acked {
                    self.acked = true;
                    actions.push(Action::PassUp);
                }
            }
            _ => {}
        }
        actions
    }

    /// Whether the 2xx of this INVITE transaction has been acknowledged.
    pub(crate) fn acknowledged(&self) -> bool {
        self.acked
    }

    /// A timer of this transaction fired.
    pub(crate) fn on_timer(
        &mut self,
        name: TimerName,
        now: Instant,
        timers: &Timers,
    ) -> Vec<Action> {
        let mut actions = Vec::new();
        self.deadlines.clear(name);
        match (name, self.state) {
            (TimerName::G, ServerState::Completed | ServerState::Accepted) => {
                if let Some(r) = &self.last_response {
                    actions.push(Action::Send(r.clone()));
                }
                self.interval = self.interval.saturating_mul(2).min(timers.t2);
                self.arm(&mut actions, TimerName::G, now + self.interval);
            }
            (TimerName::H, ServerState::Completed) => {
                // §17.2.1: no ACK ever came.
                self.state = ServerState::Terminated;
                self.deadlines.clear_all();
                actions.push(Action::Terminate { timed_out: true });
            }
            (TimerName::L, ServerState::Accepted) => {
                self.state = ServerState::Terminated;
                self.deadlines.clear_all();
                // Timer L with the 2xx never acknowledged: the dialog must end (§13.3.1.4).
                actions.push(Action::Terminate {
                    timed_out: !self.acknowledged(),
                });
            }
            (TimerName::I | TimerName::J, _) => {
                self.state = ServerState::Terminated;
                self.deadlines.clear_all();
                actions.push(Action::Terminate { timed_out: false });
            }
            _ => {}
        }
        actions
    }

    fn arm(&mut self, actions: &mut Vec<Action>, name: TimerName, at: Instant) {
        self.deadlines.set(name, at);
        actions.push(Action::Arm(name, at));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invite_non_2xx_retransmits_until_ack_then_confirmed() {
        let timers = Timers::default();
        let t0 = Instant::now();
        let mut tx = ServerTx::new(ServerKind::Invite, false, &timers);
        let RespondOutcome::Sent(a) = tx.respond(486, Bytes::from_static(b"486"), t0, &timers)
        else {
            panic!()
        };
        assert_eq!(a[0], Action::Send(Bytes::from_static(b"486")));
        assert_eq!(tx.state, ServerState::Completed);
        let g = tx.on_timer(TimerName::G, t0 + timers.t1, &timers);
        assert!(g.contains(&Action::Send(Bytes::from_static(b"486"))));
        assert_eq!(
            tx.respond(200, Bytes::new(), t0, &timers),
            RespondOutcome::AlreadyFinal
        );
        tx.on_ack(t0, &timers);
        assert_eq!(tx.state, ServerState::Confirmed);
        assert!(
            tx.on_timer(TimerName::G, t0 + timers.t1 * 3, &timers)
                .is_empty()
        );
    }

    #[test]
    fn invite_timer_h_reports_a_timeout() {
        let timers = Timers::default();
        let t0 = Instant::now();
        let mut tx = ServerTx::new(ServerKind::Invite, true, &timers);
        let RespondOutcome::Sent(a) = tx.respond(404, Bytes::from_static(b"404"), t0, &timers)
        else {
            panic!()
        };
        assert!(
            !a.iter().any(|x| matches!(x, Action::Arm(TimerName::G, _))),
            "no G over TCP"
        );
        let h = tx.on_timer(TimerName::H, t0 + timers.transaction_timeout(), &timers);
        assert_eq!(h, vec![Action::Terminate { timed_out: true }]);
    }

    #[test]
    fn accepted_absorbs_invite_retransmissions_and_passes_the_ack_up_once() {
        let timers = Timers::default();
        let t0 = Instant::now();
        let mut tx = ServerTx::new(ServerKind::Invite, false, &timers);
        let _ = tx.respond(200, Bytes::from_static(b"200"), t0, &timers);
        assert_eq!(tx.state, ServerState::Accepted);
        assert!(tx.on_retransmission().is_empty());
        assert_eq!(tx.on_ack(t0, &timers), vec![Action::PassUp]);
        assert!(
            tx.on_ack(t0, &timers).is_empty(),
            "ACK retransmission absorbed"
        );
        let l = tx.on_timer(TimerName::L, t0 + timers.transaction_timeout(), &timers);
        assert_eq!(l, vec![Action::Terminate { timed_out: false }]);
    }

    #[test]
    fn non_invite_resends_final_on_retransmission() {
        let timers = Timers::default();
        let t0 = Instant::now();
        let mut tx = ServerTx::new(ServerKind::NonInvite, false, &timers);
        assert!(tx.on_retransmission().is_empty(), "Trying absorbs");
        let _ = tx.respond(200, Bytes::from_static(b"200"), t0, &timers);
        assert_eq!(
            tx.on_retransmission(),
            vec![Action::Send(Bytes::from_static(b"200"))]
        );
    }
}
