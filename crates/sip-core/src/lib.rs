//! Tandem's sans-IO SIP endpoint (RFC 3261 §8, §12-§15 dialogs, §17, RFC 6026).
//!
//! The [`Endpoint`] never reads a clock, never touches a socket and draws randomness only
//! from a seeded RNG. The runtime (or a test) feeds it bytes and time and drains its outputs:
//!
//! ```
//! use std::time::Instant;
//! use bytes::Bytes;
//! use tandem_sip_core::{Endpoint, EndpointConfig, Event, Flow, Output, Transport};
//!
//! let mut ep = Endpoint::new(EndpointConfig::default());
//! let flow = Flow {
//!     transport: Transport::Udp,
//!     local: "127.0.0.1:5060".parse().unwrap(),
//!     remote: "127.0.0.1:5070".parse().unwrap(),
//! };
//! let options = "OPTIONS sip:tandem@127.0.0.1 SIP/2.0\r\n\
//!     Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\n\
//!     From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:tandem@127.0.0.1>\r\n\
//!     Call-ID: c1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
//! let now = Instant::now();
//! ep.handle_datagram(now, flow, Bytes::from(options));
//! loop {
//!     match ep.poll_output() {
//!         Output::Event(Event::Request { tx, .. }) => ep.reply(now, tx, 200, "OK").unwrap(),
//!         Output::Transmit(t) => assert!(t.payload.starts_with(b"SIP/2.0 200 OK")),
//!         Output::Event(_) => {}
//!         Output::Timeout(_) => break,
//!     }
//! }
//! ```

pub mod auth;
mod config;
mod dialog;
mod endpoint;
mod error;
pub mod registrar;
mod slab;
mod timer;
mod transaction;
mod transport;
mod uas;

pub use config::{EndpointConfig, SessionTimerConfig, Timers};
pub use dialog::{Dialog, DialogId, DialogRole, DialogState, SessionRefresher};
pub use endpoint::{
    ClientTxId, Endpoint, Event, Output, ReferTarget, ServerTxId, host_port, refer_to,
};
pub use error::{DialogError, RespondError, SendError};
pub use timer::TimerName;
pub use transport::{Flow, Transmit, Transport};
