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
    /// TCP under TLS (§26.2, `sips:`), framed like TCP.
    Tls,
    /// WebSocket (RFC 7118): one SIP message per WebSocket message, reliable.
    Ws,
    /// Secure WebSocket (RFC 7118 §5.2, Via `WSS`): WebSocket over TLS, as `sips:` URIs
    /// with `transport=ws` ask for.
    Wss,
}

impl Transport {
    /// Whether the transport itself retransmits (no SIP-level retransmission needed).
    pub fn is_reliable(self) -> bool {
        !matches!(self, Self::Udp)
    }

    /// The transport named in a Via sent-protocol or a `transport=` URI parameter
    /// (case-insensitive, RFC 3261 §20.42, RFC 7118 §5.2).
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Udp, Self::Tcp, Self::Tls, Self::Ws, Self::Wss]
            .into_iter()
            .find(|t| t.via_name().eq_ignore_ascii_case(name))
    }

    /// The name used in a Via header's sent-protocol (`SIP/2.0/UDP`).
    pub fn via_name(self) -> &'static str {
        match self {
            Self::Udp => "UDP",
            Self::Tcp => "TCP",
            Self::Tls => "TLS",
            Self::Ws => "WS",
            Self::Wss => "WSS",
        }
    }

    /// Whether the transport runs over TLS (RFC 3261 §26.2; RFC 7118 §5.2 for WSS): its
    /// peer's certificate is checked against the target's name (RFC 5922).
    pub fn is_secure(self) -> bool {
        matches!(self, Self::Tls | Self::Wss)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in [
            Transport::Udp,
            Transport::Tcp,
            Transport::Tls,
            Transport::Ws,
            Transport::Wss,
        ] {
            assert_eq!(Transport::from_name(t.via_name()), Some(t));
            assert_eq!(Transport::from_name(&t.via_name().to_lowercase()), Some(t));
            assert_eq!(t.is_reliable(), t != Transport::Udp);
        }
        assert_eq!(Transport::from_name("SCTP"), None);
    }
}
