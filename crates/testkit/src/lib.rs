//! Test kit for Tandem's sans-IO cores: virtual time, a seeded simulated network and traces.
//!
//! The cores never read a clock and never touch a socket, so a whole call (customer, Tandem,
//! agents) can run in one thread: [`VirtualClock`] jumps straight to the next deadline,
//! [`SimNet`] delivers datagrams after a latency, with loss, duplication and reordering drawn
//! from a seeded RNG (so a failing run replays exactly), and every delivery is recorded in a
//! [`Trace`] that tests assert on and that [`pcap`] can write for Wireshark or sngrep.
//!
//! ```
//! use std::time::Duration;
//! use tandem_testkit::{LinkConfig, SimNet, VirtualClock};
//!
//! let mut clock = VirtualClock::new();
//! let mut net = SimNet::new(7, LinkConfig::latency(Duration::from_millis(20)));
//! let a = "127.0.0.1:5060".parse().unwrap();
//! let b = "127.0.0.2:5060".parse().unwrap();
//! net.send(clock.now(), a, b, bytes::Bytes::from_static(b"OPTIONS ..."));
//! let due = net.next_delivery().unwrap();
//! clock.advance_to(due);
//! let d = net.poll_delivery(clock.now()).unwrap();
//! assert_eq!(d.to, b);
//! ```

mod clock;
mod net;
pub mod pcap;
pub mod sip;
mod trace;
mod world;

pub use clock::VirtualClock;
pub use net::{Delivery, LinkConfig, SimNet};
pub use trace::{Trace, TraceEntry};
pub use world::{Node, NodeId, Script, World};
