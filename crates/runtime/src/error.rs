use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the runtime could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// A listening socket could not be opened.
    #[error("cannot bind {transport} on {addr}: {source}")]
    Bind {
        /// `udp`, `tcp`, `tls` or `ws`.
        transport: &'static str,
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// The TLS certificate chain or private key cannot be used.
    #[error("TLS: {path}: {reason}")]
    Tls {
        /// The PEM file at fault.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The configuration asks for nothing to listen on.
    #[error("no SIP transport is enabled")]
    NoTransport,
    /// A socket failed while running.
    #[error("socket error on {transport}: {source}")]
    Io {
        /// `udp` or `tcp`.
        transport: &'static str,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
}
