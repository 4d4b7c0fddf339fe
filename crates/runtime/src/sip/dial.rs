//! Outgoing connections: how to open one for a request on a flow with no connection (TCP,
//! RFC 3261 §18.1.1; TLS, §26.2.1; WebSocket and secure WebSocket, RFC 7118 §5).
//!
//! The flow names only an address, so the name a TLS server must prove (RFC 5922 §4.1: the
//! host of the URI that was resolved to that address) is read from the request itself: the
//! host of its top `Route` (the next hop of a loose-routed request, RFC 3261 §16.12), else of
//! its Request-URI. An IP literal there is checked against the certificate's IP
//! subjectAltNames. [`TlsClientConfig::server_name`](super::TlsClientConfig::server_name)
//! overrides it for every connection (an outbound proxy reached by address, a test).

use std::sync::Arc;

use bytes::Bytes;
use rustls::pki_types::ServerName;
use tandem_sip_core::{Flow, Transport};
use tandem_sip_msg::headers::Route;
use tandem_sip_msg::{Host, Limits, Message, Uri};
use tokio_rustls::TlsConnector;

/// The TLS client side of the driver: the connector and the configured name override.
#[derive(Clone)]
pub(super) struct TlsClient {
    pub(super) connector: TlsConnector,
    pub(super) server_name: Option<ServerName<'static>>,
}

impl TlsClient {
    pub(super) fn new(
        config: Arc<rustls::ClientConfig>,
        server_name: Option<&str>,
    ) -> Result<Self, String> {
        let server_name = match server_name {
            Some(n) => Some(
                ServerName::try_from(n.to_owned())
                    .map_err(|e| format!("server name `{n}`: {e}"))?,
            ),
            None => None,
        };
        Ok(Self {
            connector: TlsConnector::from(config),
            server_name,
        })
    }
}

/// How to open a connection.
pub(super) enum Dial {
    /// Plain TCP.
    Tcp,
    /// TLS over TCP, verifying `name`.
    Tls {
        connector: TlsConnector,
        name: ServerName<'static>,
    },
    /// A WebSocket handshake to `uri` (offering the `sip` subprotocol) over TCP, or over TLS
    /// verifying `tls` when secure.
    Ws {
        uri: String,
        tls: Option<(TlsConnector, ServerName<'static>)>,
    },
}

/// How to open a connection on `flow` for `payload` (a request), or why it cannot be.
pub(super) fn plan(
    flow: &Flow,
    payload: &Bytes,
    limits: &Limits,
    tls: Option<&TlsClient>,
) -> Result<Dial, &'static str> {
    let host = || target_host(payload, limits);
    let verified =
        |host: Option<String>| -> Result<(TlsConnector, ServerName<'static>), &'static str> {
            let client = tls.ok_or("no TLS client configured")?;
            let name = match &client.server_name {
                Some(n) => n.clone(),
                None => ServerName::try_from(host.ok_or("no host to verify")?)
                    .map_err(|_| "the target host is not a valid server name")?,
            };
            Ok((client.connector.clone(), name))
        };
    match flow.transport {
        Transport::Udp => Err("UDP has no connection"),
        Transport::Tcp => Ok(Dial::Tcp),
        Transport::Tls => {
            let (connector, name) = verified(host())?;
            Ok(Dial::Tls { connector, name })
        }
        Transport::Ws | Transport::Wss => {
            let host = host();
            let secure = flow.transport == Transport::Wss;
            let authority = match &host {
                Some(h) if h.contains(':') => format!("[{h}]:{}", flow.remote.port()),
                Some(h) => format!("{h}:{}", flow.remote.port()),
                None => flow.remote.to_string(),
            };
            // RFC 7118 leaves the resource name to configuration; `/` is what SIP
            // WebSocket servers accept by default.
            let scheme = if secure { "wss" } else { "ws" };
            let uri = format!("{scheme}://{authority}/");
            let tls = if secure { Some(verified(host)?) } else { None };
            Ok(Dial::Ws { uri, tls })
        }
    }
}

/// The host of the request's next hop: its top `Route`, else its Request-URI (RFC 5922
/// §4.1); an IPv6 reference without brackets.
fn target_host(payload: &Bytes, limits: &Limits) -> Option<String> {
    let message = Message::parse(payload.clone(), limits).ok()?;
    let uri = match message.typed_first::<Route<'_>>().ok().flatten() {
        Some(route) => route.0.uri,
        None => message.request_line()?.uri().ok()?,
    };
    let Uri::Sip(sip) = uri else { return None };
    Some(match sip.host {
        Host::Name(name) => name,
        Host::Ipv4(ip) => ip.to_string(),
        Host::Ipv6(text) => text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(extra: &str) -> Bytes {
        Bytes::from(format!(
            "OPTIONS sips:bob@pbx.example.com SIP/2.0\r\n{extra}Via: SIP/2.0/TLS 192.0.2.1;branch=z9hG4bK1\r\n\
             From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\
             Content-Length: 0\r\n\r\n"
        ))
    }

    #[test]
    fn the_name_is_the_route_host_else_the_request_uri_host() {
        let l = Limits::default();
        assert_eq!(
            target_host(&request(""), &l).as_deref(),
            Some("pbx.example.com")
        );
        let routed = request("Route: <sips:proxy.example.net;lr>, <sips:p2.example;lr>\r\n");
        assert_eq!(
            target_host(&routed, &l).as_deref(),
            Some("proxy.example.net")
        );
        let v6 = request("Route: <sips:[2001:db8::1]:5061;lr>\r\n");
        assert_eq!(target_host(&v6, &l).as_deref(), Some("2001:db8::1"));
    }
}
