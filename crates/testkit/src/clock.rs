use std::time::{Duration, Instant};

/// A clock that moves only when told to.
///
/// It starts at one real `Instant` read once (an `Instant` cannot be built otherwise), and from
/// then on only [`advance`](Self::advance) and [`advance_to`](Self::advance_to) move it: an hour
/// of Timer B costs nothing.
#[derive(Debug, Clone, Copy)]
pub struct VirtualClock {
    start: Instant,
    now: Instant,
}

impl VirtualClock {
    /// A clock at time zero.
    pub fn new() -> Self {
        let start = Instant::now();
        Self { start, now: start }
    }

    /// The current virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Virtual time elapsed since the clock was made.
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&mut self, d: Duration) {
        self.now += d;
    }

    /// Moves the clock to `t`; a `t` in the past leaves it where it is (time never goes back).
    pub fn advance_to(&mut self, t: Instant) {
        if t > self.now {
            self.now = t;
        }
    }
}

impl Default for VirtualClock {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_goes_back() {
        let mut c = VirtualClock::new();
        let t0 = c.now();
        c.advance(Duration::from_secs(32));
        assert_eq!(c.elapsed(), Duration::from_secs(32));
        c.advance_to(t0);
        assert_eq!(c.elapsed(), Duration::from_secs(32));
    }
}
