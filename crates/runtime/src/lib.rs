//! Tandem's runtime: the only crate of the core that knows about tokio.
//!
//! It owns the sans-IO cores and moves bytes and time between them and the operating system:
//! sockets in, [`tandem_sip_core::Endpoint::handle_message`]; deadlines in,
//! [`tandem_sip_core::Endpoint::handle_timeout`]; and after every input it drains
//! [`tandem_sip_core::Endpoint::poll_output`] until the core asks to wait.
//!
//! ```no_run
//! # async fn run() -> Result<(), tandem_runtime::RuntimeError> {
//! use tandem_runtime::sip::{SipListenConfig, SipRuntime};
//! use tandem_sip_core::{Endpoint, EndpointConfig, Event};
//!
//! let endpoint = Endpoint::new(EndpointConfig::default());
//! let runtime = SipRuntime::bind(SipListenConfig::default()).await?;
//! println!("SIP on {:?}", runtime.local_addrs());
//! let app = |ep: &mut Endpoint, now, event| {
//!     if let Event::Request { tx, .. } = event {
//!         let _ = ep.reply(now, tx, 200, "OK");
//!     }
//! };
//! runtime.run(endpoint, app, std::future::pending()).await
//! # }
//! ```

pub mod media;
pub mod resolver;
pub mod sip;
pub mod tls;

mod error;

pub use error::RuntimeError;
