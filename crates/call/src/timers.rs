//! The controller's own timers, sans-IO: ring timeouts of outgoing legs and the maximum
//! call duration. The application asks [`B2bua::poll_timeout`] when to wake up and calls
//! [`B2bua::handle_timeout`] then (as it does for the endpoint's `Output::Timeout`).

use std::time::Instant;

use tandem_sip_core::Endpoint;

use crate::b2bua::B2bua;
use crate::types::{CallId, CallState, EndCause, Leg, Reason};

/// A timer of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Timer {
    /// The INVITE of this outgoing leg has had no final response for its ring timeout.
    Ring(Leg),
    /// The call reached its maximum duration.
    MaxDuration,
    /// An ended call's transactions are over: stop watching them (`linger.rs`).
    Linger,
}

impl B2bua {
    /// When [`Self::handle_timeout`] must next be called (`None`: no timer is armed).
    ///
    /// Ask again after every input: a new call, an answer or an end changes it.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.first().map(|(at, _, _)| *at)
    }

    /// Runs every timer due at `now`: a ring timeout cancels its leg (RFC 3261 §9.1) and
    /// ends the call with [`EndCause::RingTimeout`] (a bridged call's leg A gets
    /// 480 Temporarily Unavailable); the maximum duration ends the call with BYE on both
    /// legs and `Reason: SIP;cause=200;text="Maximum call duration"` (RFC 3326),
    /// [`EndCause::MaxDuration`]. Then drain [`Self::poll_event`] and the endpoint.
    pub fn handle_timeout(&mut self, ep: &mut Endpoint, now: Instant) {
        self.now = Some(now);
        while let Some(&(at, call, timer)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.remove(&(at, call, timer));
            if let Some(c) = self.calls.get_mut(&call) {
                c.deadlines.retain(|(t, _)| *t != timer);
            }
            self.fire(ep, now, call, timer);
        }
    }

    /// Arms `timer` of `call` at `at`, replacing an earlier deadline of the same timer.
    pub(crate) fn arm(&mut self, call: CallId, timer: Timer, at: Instant) {
        self.disarm(call, timer);
        if let Some(c) = self.calls.get_mut(&call) {
            c.deadlines.push((timer, at));
            self.timers.insert((at, call, timer));
        }
    }

    /// Disarms `timer` of `call`, if armed.
    pub(crate) fn disarm(&mut self, call: CallId, timer: Timer) {
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        if let Some(i) = c.deadlines.iter().position(|(t, _)| *t == timer) {
            let (_, at) = c.deadlines.swap_remove(i);
            self.timers.remove(&(at, call, timer));
        }
    }

    fn fire(&mut self, ep: &mut Endpoint, now: Instant, call: CallId, timer: Timer) {
        match timer {
            Timer::Ring(side) => {
                let pending = self
                    .calls
                    .get_mut(&call)
                    .and_then(|c| c.outgoing(side))
                    .is_some_and(|o| !o.done);
                if pending && self.begin_end(call, EndCause::RingTimeout) {
                    self.abort_establishing(ep, now, call, 480, "Temporarily Unavailable");
                }
            }
            Timer::Linger => {
                self.forget(call);
                return;
            }
            Timer::MaxDuration => {
                if self.state(call) == CallState::Established
                    && self.begin_end(call, EndCause::MaxDuration)
                {
                    let r = Reason::new(200, "Maximum call duration");
                    self.bye(ep, now, call, Leg::A, &r);
                    self.bye(ep, now, call, Leg::B, &r);
                }
            }
        }
        self.maybe_finish(call);
    }
}
