//! Client transactions: INVITE (RFC 3261 §17.1.1, figure 5, with RFC 6026 §7.2 Accepted) and
//! non-INVITE (§17.1.2, figure 6).

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{Action, Deadlines};
use crate::config::Timers;
use crate::timer::TimerName;

/// INVITE or not: the two client machines differ in almost every transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientKind {
    Invite,
    NonInvite,
}

/// States of both client machines (§17.1.1.2, §17.1.2.2, RFC 6026 §7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientState {
    /// INVITE sent, nothing heard (INVITE only).
    Calling,
    /// Non-INVITE sent, nothing heard.
    Trying,
    /// A provisional response arrived.
    Proceeding,
    /// A 2xx arrived; further 2xx (retransmissions, other forks) still go up (RFC 6026).
    Accepted,
    /// A final response arrived; absorbing retransmissions.
    Completed,
    /// Gone.
    Terminated,
}

/// One client transaction.
#[derive(Debug)]
pub(crate) struct ClientTx {
    pub(crate) kind: ClientKind,
    pub(crate) state: ClientState,
    pub(crate) reliable: bool,
    /// The request as sent, for retransmission; emptied once no timer resends it (an INVITE
    /// out of Calling, a non-INVITE Completed), so a call's INVITE in the Accepted state
    /// (RFC 6026 §7.2, 64·T1) does not hold it.
    pub(crate) request: Bytes,
    /// The ACK sent for a non-2xx final response, resent on its retransmissions.
    pub(crate) ack: Option<Bytes>,
    /// Current retransmission interval of Timer A or E.
    interval: Duration,
    /// A CANCEL was sent: Timer C now ends the transaction instead of cancelling it.
    cancel_guard: bool,
    pub(crate) deadlines: Deadlines,
}

impl ClientTx {
    /// A transaction whose request goes out now: the first transmission and its timers.
    pub(crate) fn start(
        kind: ClientKind,
        request: Bytes,
        reliable: bool,
        now: Instant,
        timers: &Timers,
    ) -> (Self, Vec<Action>) {
        let state = match kind {
            ClientKind::Invite => ClientState::Calling,
            ClientKind::NonInvite => ClientState::Trying,
        };
        let mut tx = Self {
            kind,
            state,
            reliable,
            request: request.clone(),
            ack: None,
            interval: timers.t1,
            cancel_guard: false,
            deadlines: Deadlines::default(),
        };
        let mut actions = vec![Action::Send(request)];
        let (retransmit, timeout) = match kind {
            ClientKind::Invite => (TimerName::A, TimerName::B),
            ClientKind::NonInvite => (TimerName::E, TimerName::F),
        };
        // §17.1.1.2 / §17.1.2.2: retransmit only on unreliable transports.
        if !reliable {
            tx.arm(&mut actions, retransmit, now + timers.t1);
        }
        tx.arm(&mut actions, timeout, now + timers.transaction_timeout());
        (tx, actions)
    }

    /// A response matched this transaction.
    pub(crate) fn on_response(
        &mut self,
        status: u16,
        now: Instant,
        timers: &Timers,
    ) -> Vec<Action> {
        let mut actions = Vec::new();
        match (self.kind, self.state, status) {
            // --- INVITE, figure 5 ---
            (ClientKind::Invite, ClientState::Calling | ClientState::Proceeding, 100..=199) => {
                self.state = ClientState::Proceeding;
                self.deadlines.clear(TimerName::A);
                // Timer B guards Calling only; a ringing INVITE is bounded by Timer C, reset by
                // every provisional response until a CANCEL arms the final guard.
                self.deadlines.clear(TimerName::B);
                if !self.cancel_guard {
                    self.arm(&mut actions, TimerName::C, now + timers.timer_c);
                }
                actions.push(Action::PassUp);
            }
            (ClientKind::Invite, ClientState::Calling | ClientState::Proceeding, 200..=299) => {
                // RFC 6026 §7.2: Accepted, so 2xx retransmissions reach the TU, which ACKs.
                self.state = ClientState::Accepted;
                self.deadlines.clear_all();
                self.arm(
                    &mut actions,
                    TimerName::M,
                    now + timers.transaction_timeout(),
                );
                actions.push(Action::PassUp);
            }
            (ClientKind::Invite, ClientState::Accepted, 200..=299) => actions.push(Action::PassUp),
            (ClientKind::Invite, ClientState::Calling | ClientState::Proceeding, _) => {
                // §17.1.1.2: 300-699 → ACK, pass up, Completed with Timer D.
                self.state = ClientState::Completed;
                self.deadlines.clear_all();
                actions.push(Action::PassUp);
                let wait = if self.reliable {
                    Duration::ZERO
                } else {
                    timers.timer_d
                };
                self.arm(&mut actions, TimerName::D, now + wait);
            }
            (ClientKind::Invite, ClientState::Completed, 300..=699) => {
                if let Some(ack) = &self.ack {
                    actions.push(Action::Send(ack.clone()));
                }
            }
            // --- non-INVITE, figure 6 ---
            (ClientKind::NonInvite, ClientState::Trying | ClientState::Proceeding, 100..=199) => {
                self.state = ClientState::Proceeding;
                actions.push(Action::PassUp);
            }
            (ClientKind::NonInvite, ClientState::Trying | ClientState::Proceeding, _) => {
                self.state = ClientState::Completed;
                self.deadlines.clear_all();
                actions.push(Action::PassUp);
                let wait = if self.reliable {
                    Duration::ZERO
                } else {
                    timers.t4
                };
                self.arm(&mut actions, TimerName::K, now + wait);
            }
            // Anything else is a retransmission to absorb.
            _ => {}
        }
        if !self.retransmits() {
            self.request = Bytes::new();
        }
        actions
    }

    /// Whether a timer may still resend the request: Timer A in Calling (§17.1.1.2), Timer E
    /// in Trying and Proceeding (§17.1.2.2).
    fn retransmits(&self) -> bool {
        match self.kind {
            ClientKind::Invite => self.state == ClientState::Calling,
            ClientKind::NonInvite => {
                matches!(self.state, ClientState::Trying | ClientState::Proceeding)
            }
        }
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
        match name {
            TimerName::A if self.state == ClientState::Calling => {
                // §17.1.1.2: retransmit, doubling the interval each time.
                actions.push(Action::Send(self.request.clone()));
                self.interval = self.interval.saturating_mul(2);
                self.arm(&mut actions, TimerName::A, now + self.interval);
            }
            TimerName::E if matches!(self.state, ClientState::Trying | ClientState::Proceeding) => {
                // §17.1.2.2: double up to T2 while Trying; T2 once Proceeding.
                actions.push(Action::Send(self.request.clone()));
                self.interval = if self.state == ClientState::Trying {
                    self.interval.saturating_mul(2).min(timers.t2)
                } else {
                    timers.t2
                };
                self.arm(&mut actions, TimerName::E, now + self.interval);
            }
            TimerName::C if self.state == ClientState::Proceeding && !self.cancel_guard => {
                actions.push(Action::Cancel);
            }
            TimerName::C if self.state == ClientState::Proceeding => {
                // §9.1: no final response 64·T1 after the CANCEL: the transaction is over.
                self.state = ClientState::Terminated;
                self.deadlines.clear_all();
                actions.push(Action::Terminate { timed_out: true });
            }
            TimerName::B | TimerName::F => {
                self.state = ClientState::Terminated;
                self.deadlines.clear_all();
                actions.push(Action::Terminate { timed_out: true });
            }
            TimerName::D | TimerName::K | TimerName::M => {
                self.state = ClientState::Terminated;
                self.deadlines.clear_all();
                actions.push(Action::Terminate { timed_out: false });
            }
            _ => {}
        }
        actions
    }

    /// A CANCEL for this INVITE went out: end the transaction 64·T1 from now unless a final
    /// response arrives first (§9.1).
    pub(crate) fn arm_cancel_guard(&mut self, now: Instant, timers: &Timers) -> Vec<Action> {
        let mut actions = Vec::new();
        if self.kind == ClientKind::Invite && !self.cancel_guard {
            self.cancel_guard = true;
            self.arm(
                &mut actions,
                TimerName::C,
                now + timers.transaction_timeout(),
            );
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

    fn sends(actions: &[Action]) -> usize {
        actions
            .iter()
            .filter(|a| matches!(a, Action::Send(_)))
            .count()
    }

    #[test]
    fn invite_over_udp_retransmits_with_doubling_until_timer_b() {
        let timers = Timers::default();
        let t0 = Instant::now();
        let (mut tx, actions) = ClientTx::start(
            ClientKind::Invite,
            Bytes::from_static(b"INVITE"),
            false,
            t0,
            &timers,
        );
        assert_eq!(sends(&actions), 1);
        assert!(actions.contains(&Action::Arm(TimerName::A, t0 + Duration::from_millis(500))));
        assert!(actions.contains(&Action::Arm(TimerName::B, t0 + Duration::from_secs(32))));
        let mut now = t0 + Duration::from_millis(500);
        let mut expected_gap = Duration::from_secs(1);
        for _ in 0..5 {
            let a = tx.on_timer(TimerName::A, now, &timers);
            assert_eq!(sends(&a), 1);
            assert!(a.contains(&Action::Arm(TimerName::A, now + expected_gap)));
            now += expected_gap;
            expected_gap *= 2;
        }
        let a = tx.on_timer(TimerName::B, t0 + Duration::from_secs(32), &timers);
        assert_eq!(a, vec![Action::Terminate { timed_out: true }]);
    }

    #[test]
    fn invite_over_tcp_never_retransmits() {
        let timers = Timers::default();
        let (_, actions) = ClientTx::start(
            ClientKind::Invite,
            Bytes::from_static(b"I"),
            true,
            Instant::now(),
            &timers,
        );
        assert!(
            !actions
                .iter()
                .any(|a| matches!(a, Action::Arm(TimerName::A, _)))
        );
    }

    #[test]
    fn provisional_stops_retransmission_and_2xx_is_accepted() {
        let timers = Timers::default();
        let t0 = Instant::now();
        let (mut tx, _) = ClientTx::start(
            ClientKind::Invite,
            Bytes::from_static(b"I"),
            false,
            t0,
            &timers,
        );
        assert_eq!(
            tx.on_response(180, t0, &timers),
            vec![
                Action::Arm(TimerName::C, t0 + timers.timer_c),
                Action::PassUp
            ],
            "a provisional (re)arms Timer C"
        );
        assert_eq!(tx.state, ClientState::Proceeding);
        assert!(
            tx.on_timer(TimerName::A, t0 + Duration::from_millis(500), &timers)
                .is_empty()
        );
        let a = tx.on_response(200, t0, &timers);
        assert_eq!(tx.state, ClientState::Accepted);
        assert!(a.contains(&Action::PassUp));
        // A 2xx retransmission goes up again (the TU re-sends its ACK).
        assert_eq!(tx.on_response(200, t0, &timers), vec![Action::PassUp]);
    }

    #[test]
    fn non_invite_interval_caps_at_t2() {
        let timers = Timers::default();
        let t0 = Instant::now();
        let (mut tx, _) = ClientTx::start(
            ClientKind::NonInvite,
            Bytes::from_static(b"BYE"),
            false,
            t0,
            &timers,
        );
        let mut now = t0;
        let mut gaps = Vec::new();
        for _ in 0..6 {
            let a = tx.on_timer(TimerName::E, now, &timers);
            let Some(Action::Arm(_, at)) = a.iter().find(|x| matches!(x, Action::Arm(..))) else {
                panic!()
            };
            gaps.push((*at - now).as_millis());
            now = *at;
        }
        assert_eq!(gaps, vec![1000, 2000, 4000, 4000, 4000, 4000]);
    }
}
