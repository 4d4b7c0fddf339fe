//! Where messages come from and go to. The endpoint never touches a socket: it names a
//! [`Flow`] and the runtime moves the bytes.

use std::fmt;
use std::net::SocketAddr;

use bytes::Bytes;

/// A SIP transport (RFC 3261 §18).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    /// Unreliable: the transaction layer retransmits (§17.1.1.2).
    Udp,
    /// Reliable stream framed by Content-Length (§18.3).
    Tcp,
}

impl Transport {
    /// Whether the transport itself retransmits (no SIP-level retransmission needed).
    pub fn is_reliable(self) -> bool {
        matches!(self, Self::Tcp)
    }

    /// The name used in a Via header's sent-protocol (`SIP/2.0/UDP`).
    pub fn via_name(self) -> &'static str {
        match self {
            Self::Udp => "UDP",
            Self::Tcp => "TCP",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.via_name())
    }
}

/// One path between Tandem and a peer: the transport, Tandem's address, the peer's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Flow {
    /// Transport of the path.
    pub transport: Transport,
    /// Tandem's socket address.
    pub local: SocketAddr,
    /// The peer's socket address.
    pub remote: SocketAddr,
}

/// Bytes for the runtime to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to send them.
    pub flow: Flow,
    /// One whole SIP message.
    pub payload: Bytes,
}
