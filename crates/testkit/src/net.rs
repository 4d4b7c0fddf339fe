use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::trace::{Trace, TraceEntry};

/// How one direction of a link treats datagrams.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkConfig {
    /// Fixed one-way delay.
    pub latency: Duration,
    /// Extra delay drawn uniformly from `0..=jitter` for each datagram.
    pub jitter: Duration,
    /// Probability in `0.0..=1.0` that a datagram is lost.
    pub loss: f64,
    /// Probability that a datagram is delivered twice.
    pub duplicate: f64,
    /// Probability that a datagram is held back by `reorder_delay`, so later ones overtake it.
    pub reorder: f64,
    /// Hold-back of a reordered datagram.
    pub reorder_delay: Duration,
}

impl LinkConfig {
    /// A perfect link with a fixed latency.
    pub fn latency(latency: Duration) -> Self {
        Self {
            latency,
            ..Self::default()
        }
    }

    /// The same link losing `p` of its datagrams.
    pub fn with_loss(self, p: f64) -> Self {
        Self { loss: p, ..self }
    }

    /// The same link duplicating `p` of its datagrams.
    pub fn with_duplicate(self, p: f64) -> Self {
        Self {
            duplicate: p,
            ..self
        }
    }

    /// The same link reordering `p` of its datagrams by holding them back `delay`.
    pub fn with_reorder(self, p: f64, delay: Duration) -> Self {
        Self {
            reorder: p,
            reorder_delay: delay,
            ..self
        }
    }

    /// The same link with up to `jitter` of random extra delay.
    pub fn with_jitter(self, jitter: Duration) -> Self {
        Self { jitter, ..self }
    }
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self {
            latency: Duration::from_millis(10),
            jitter: Duration::ZERO,
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_delay: Duration::from_millis(50),
        }
    }
}

/// A datagram arriving at its destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Virtual time of arrival.
    pub at: Instant,
    /// Sender.
    pub from: SocketAddr,
    /// Receiver.
    pub to: SocketAddr,
    /// The bytes.
    pub payload: Bytes,
}

/// A simulated datagram network in virtual time, with seeded impairments.
///
/// Every random draw comes from one `SmallRng` seeded at construction, and ties in delivery
/// time are broken by send order, so the same seed and the same sends give the same
/// deliveries, always.
#[derive(Debug)]
pub struct SimNet {
    rng: SmallRng,
    default_link: LinkConfig,
    links: HashMap<(SocketAddr, SocketAddr), LinkConfig>,
    in_flight: BinaryHeap<Reverse<(Instant, u64, Pending)>>,
    sequence: u64,
    trace: Trace,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Pending {
    from: SocketAddr,
    to: SocketAddr,
    payload: Bytes,
}

impl SimNet {
    /// A network whose every link behaves as `default_link`.
    pub fn new(seed: u64, default_link: LinkConfig) -> Self {
        Self {
            rng: SmallRng::seed_from_u64(seed),
            default_link,
            links: HashMap::new(),
            in_flight: BinaryHeap::new(),
            sequence: 0,
            trace: Trace::default(),
        }
    }

    /// Sets the behaviour of the direction `from → to`.
    pub fn set_link(&mut self, from: SocketAddr, to: SocketAddr, link: LinkConfig) {
        self.links.insert((from, to), link);
    }

    /// Sets the behaviour of both directions between `a` and `b`.
    pub fn set_link_both(&mut self, a: SocketAddr, b: SocketAddr, link: LinkConfig) {
        self.set_link(a, b, link);
        self.set_link(b, a, link);
    }

    /// Hands a datagram to the network at `now`.
    pub fn send(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, payload: Bytes) {
        let link = self
            .links
            .get(&(from, to))
            .copied()
            .unwrap_or(self.default_link);
        self.trace.push(TraceEntry {
            at: now,
            from,
            to,
            payload: payload.clone(),
            lost: false,
        });
        if link.loss > 0.0 && self.rng.random_bool_clamped(link.loss) {
            if let Some(last) = self.trace.entries_mut().last_mut() {
                last.lost = true;
            }
            return;
        }
        let copies = if link.duplicate > 0.0 && self.rng.random_bool_clamped(link.duplicate) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let mut delay = link.latency;
            if !link.jitter.is_zero() {
                let nanos = u64::try_from(link.jitter.as_nanos()).unwrap_or(u64::MAX);
                delay += Duration::from_nanos(self.rng.gen_range(0..=nanos));
            }
            if link.reorder > 0.0 && self.rng.random_bool_clamped(link.reorder) {
                delay += link.reorder_delay;
            }
            self.sequence += 1;
            let pending = Pending {
                from,
                to,
                payload: payload.clone(),
            };
            self.in_flight
                .push(Reverse((now + delay, self.sequence, pending)));
        }
    }

    /// When the next datagram arrives, if any is in flight.
    pub fn next_delivery(&self) -> Option<Instant> {
        self.in_flight.peek().map(|Reverse((at, _, _))| *at)
    }

    /// The next datagram due at or before `now`.
    pub fn poll_delivery(&mut self, now: Instant) -> Option<Delivery> {
        let Reverse((at, _, _)) = self.in_flight.peek()?;
        if *at > now {
            return None;
        }
        let Reverse((at, _, p)) = self.in_flight.pop()?;
        Some(Delivery {
            at,
            from: p.from,
            to: p.to,
            payload: p.payload,
        })
    }

    /// Datagrams still in flight.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Everything sent so far, in send order (lost datagrams marked).
    pub fn trace(&self) -> &Trace {
        &self.trace
    }
}

trait BoolClamped {
    fn random_bool_clamped(&mut self, p: f64) -> bool;
}

impl BoolClamped for SmallRng {
    fn random_bool_clamped(&mut self, p: f64) -> bool {
        self.gen_bool(p.clamp(0.0, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs() -> (SocketAddr, SocketAddr) {
        (
            "127.0.0.1:1".parse().unwrap(),
            "127.0.0.2:2".parse().unwrap(),
        )
    }

    #[test]
    fn delivers_after_latency_in_order() {
        let (a, b) = addrs();
        let t0 = Instant::now();
        let mut net = SimNet::new(1, LinkConfig::latency(Duration::from_millis(30)));
        net.send(t0, a, b, Bytes::from_static(b"one"));
        net.send(t0, a, b, Bytes::from_static(b"two"));
        assert!(net.poll_delivery(t0).is_none());
        let due = net.next_delivery().unwrap();
        assert_eq!(due - t0, Duration::from_millis(30));
        assert_eq!(net.poll_delivery(due).unwrap().payload, "one");
        assert_eq!(net.poll_delivery(due).unwrap().payload, "two");
        assert!(net.poll_delivery(due).is_none());
    }

    #[test]
    fn loss_is_seeded_and_close_to_the_rate() {
        let (a, b) = addrs();
        let t0 = Instant::now();
        let run = |seed| {
            let mut net = SimNet::new(seed, LinkConfig::default().with_loss(0.1));
            for _ in 0..10_000 {
                net.send(t0, a, b, Bytes::from_static(b"x"));
            }
            net.in_flight()
        };
        let delivered = run(42);
        assert_eq!(delivered, run(42), "same seed, same losses");
        assert!((8_800..=9_200).contains(&delivered), "{delivered}");
    }

    #[test]
    fn reorder_lets_later_datagrams_overtake() {
        let (a, b) = addrs();
        let t0 = Instant::now();
        let mut net = SimNet::new(
            3,
            LinkConfig::default().with_reorder(0.5, Duration::from_millis(100)),
        );
        for i in 0..100u8 {
            net.send(
                t0 + Duration::from_millis(u64::from(i)),
                a,
                b,
                Bytes::from(vec![i]),
            );
        }
        let mut order = Vec::new();
        while let Some(at) = net.next_delivery() {
            order.push(net.poll_delivery(at).unwrap().payload[0]);
        }
        assert_eq!(order.len(), 100);
        assert!(
            order.windows(2).any(|w| w[0] > w[1]),
            "some reordering expected"
        );
    }

    #[test]
    fn duplicates_arrive_twice() {
        let (a, b) = addrs();
        let t0 = Instant::now();
        let mut net = SimNet::new(9, LinkConfig::default().with_duplicate(1.0));
        net.send(t0, a, b, Bytes::from_static(b"x"));
        assert_eq!(net.in_flight(), 2);
    }
}
