//! One TCP or TLS connection: frames messages in (RFC 3261 §18.3), writes queued messages out;
//! outgoing connections are opened here too, WebSocket ones handed to `ws` once connected.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use rustls::pki_types::ServerName;
use tandem_sip_core::{Flow, Transport};
use tandem_sip_msg::headers::Via;
use tandem_sip_msg::{Frame, Message};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio_rustls::client::TlsStream;
use tokio_rustls::{TlsAcceptor, TlsConnector};
use tracing::debug;

use super::dial::Dial;
use super::ws::WsTask;
use super::{Inbound, SipListenConfig, overload};

/// What every connection task knows: its flow as the endpoint names it, its id in the
/// connection table, the configuration and the way to the driver.
pub(super) struct StreamTask {
    pub(super) flow: Flow,
    pub(super) id: u64,
    pub(super) config: Arc<SipListenConfig>,
    pub(super) inbound: mpsc::Sender<Inbound>,
}

impl StreamTask {
    /// Serves an accepted TLS connection once its handshake completes.
    pub(super) async fn accept_tls(
        self,
        stream: TcpStream,
        acceptor: TlsAcceptor,
        outbound: mpsc::Receiver<Bytes>,
    ) {
        let handshake =
            tokio::time::timeout(self.config.connect_timeout, acceptor.accept(stream)).await;
        match handshake {
            Ok(Ok(tls)) => self.run(tls, outbound).await,
            Ok(Err(e)) => {
                debug!(remote = %self.flow.remote, error = %e, "TLS handshake failed");
                self.closed().await;
            }
            Err(_) => {
                debug!(remote = %self.flow.remote, "TLS handshake timed out");
                self.closed().await;
            }
        }
    }

    /// Opens an outgoing connection to the flow's peer as `dial` says (TCP, then TLS and/or
    /// the WebSocket handshake, each step within `connect_timeout`), then serves it. On
    /// failure (refused, timed out, a certificate that does not verify, a WebSocket server
    /// refusing the `sip` subprotocol) the driver hears `ConnectFailed` at once, so the
    /// transactions on the flow fail without waiting for Timer B or F (RFC 3261 §8.1.3.1),
    /// and the queued messages are lost.
    pub(super) async fn connect(self, outbound: mpsc::Receiver<Bytes>, dial: Dial) {
        let remote = self.flow.remote;
        let limit = self.config.connect_timeout;
        let stream = match tokio::time::timeout(limit, TcpStream::connect(remote)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => {
                debug!(%remote, error = %e, "TCP connect failed");
                return self.failed().await;
            }
            Err(_) => {
                debug!(%remote, "TCP connect timed out");
                return self.failed().await;
            }
        };
        let _ = stream.set_nodelay(true);
        match dial {
            Dial::Tcp => self.run(stream, outbound).await,
            Dial::Tls { connector, name } => {
                if let Some(tls) = self.tls_handshake(stream, connector, name).await {
                    self.run(tls, outbound).await;
                }
            }
            Dial::Ws { uri, tls: None } => WsTask(self).connect(stream, uri, outbound).await,
            Dial::Ws {
                uri,
                tls: Some((connector, name)),
            } => {
                if let Some(tls) = self.tls_handshake(stream, connector, name).await {
                    WsTask(self).connect(tls, uri, outbound).await;
                }
            }
        }
    }

    /// The client side of a TLS handshake (RFC 3261 §26.2.1), the server's certificate
    /// checked against `name` (RFC 5922 §7.2). `None` (after `ConnectFailed`) on failure.
    async fn tls_handshake(
        &self,
        stream: TcpStream,
        connector: TlsConnector,
        name: ServerName<'static>,
    ) -> Option<TlsStream<TcpStream>> {
        let remote = self.flow.remote;
        let handshake = connector.connect(name.clone(), stream);
        match tokio::time::timeout(self.config.connect_timeout, handshake).await {
            Ok(Ok(tls)) => Some(tls),
            Ok(Err(e)) => {
                debug!(%remote, name = ?name, error = %e, "TLS handshake failed");
                self.failed().await;
                None
            }
            Err(_) => {
                debug!(%remote, "TLS handshake timed out");
                self.failed().await;
                None
            }
        }
    }

    /// Serves an established stream until it closes, idles out or loses framing.
    pub(super) async fn run<S>(self, stream: S, mut outbound: mpsc::Receiver<Bytes>)
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        if let Err(e) = self.serve(stream, &mut outbound).await {
            debug!(remote = %self.flow.remote, error = %e, "connection ended with an error");
        }
        self.closed().await;
    }

    pub(super) async fn closed(&self) {
        let key = (self.flow.transport, self.flow.remote);
        let _ = self
            .inbound
            .send(Inbound::Closed { key, id: self.id })
            .await;
    }

    pub(super) async fn failed(&self) {
        let flow = self.flow;
        let _ = self.inbound.send(Inbound::ConnectFailed { flow }).await;
        self.closed().await;
    }

    async fn serve<S>(&self, stream: S, outbound: &mut mpsc::Receiver<Bytes>) -> std::io::Result<()>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let (mut reader, mut writer) = tokio::io::split(stream);
        let mut framer = tandem_sip_msg::StreamFramer::new(self.config.limits);
        let mut buf = vec![0u8; 16_384];
        loop {
            tokio::select! {
                read = tokio::time::timeout(self.config.tcp_idle_timeout, reader.read(&mut buf)) => {
                    let Ok(read) = read else { return Ok(()) }; // idle
                    let len = read?;
                    if len == 0 {
                        return Ok(());
                    }
                    framer.push(buf.get(..len).unwrap_or_default());
                    loop {
                        match framer.next_frame() {
                            Ok(None) => break,
                            // RFC 5626 §4.4.1: answer a double-CRLF ping with a single CRLF pong.
                            Ok(Some(Frame::Ping)) => write(&mut writer, b"\r\n").await?,
                            Ok(Some(Frame::Pong)) => {}
                            Ok(Some(frame)) => {
                                if let Some(reply) = self.forward(frame).await {
                                    match reply {
                                        Some(busy) => write(&mut writer, &busy).await?,
                                        None => return Ok(()),
                                    }
                                }
                            }
                            Err(e) => {
                                // §18.3: framing is lost on a stream; the only recovery is to close.
                                debug!(remote = %self.flow.remote, error = %e, "unrecoverable framing error; closing");
                                return Ok(());
                            }
                        }
                    }
                }
                out = outbound.recv() => match out {
                    Some(bytes) => write(&mut writer, &bytes).await?,
                    None => return Ok(()),
                },
            }
        }
    }

    /// Hands a frame to the driver. A new INVITE meeting a full queue is answered here with a
    /// 503 (`Some(Some(reply))`); anything else waits for room (back-pressure). `Some(None)`:
    /// the driver is gone.
    async fn forward(&self, frame: Frame) -> Option<Option<Bytes>> {
        let alias = match &frame {
            Frame::Message(m) if self.config.accept_aliases => alias_of(m, self.flow.transport),
            _ => None,
        };
        let item = Inbound::Frame {
            flow: self.flow,
            frame,
            alias,
        };
        match self.inbound.try_send(item) {
            Ok(()) => None,
            Err(TrySendError::Closed(_)) => Some(None),
            Err(TrySendError::Full(item)) => {
                if let Inbound::Frame {
                    frame: Frame::Message(m),
                    ..
                } = &item
                    && let Some(busy) = overload::busy_reply_to(m, &self.config)
                {
                    return Some(Some(busy));
                }
                match self.inbound.send(item).await {
                    Ok(()) => None,
                    Err(_) => Some(None),
                }
            }
        }
    }
}

/// Writes and flushes: TLS keeps written data in its session until flushed.
async fn write<W: AsyncWrite + Unpin>(writer: &mut W, bytes: &[u8]) -> std::io::Result<()> {
    writer.write_all(bytes).await?;
    writer.flush().await
}

/// RFC 5923 §6: a request whose top Via carries `alias` names its sent-by (an IP literal
/// here; a host name would need DNS to compare) as another address of this connection.
fn alias_of(message: &Message, transport: Transport) -> Option<SocketAddr> {
    if !message.is_request() {
        return None;
    }
    let via = message.typed_first::<Via<'_>>().ok()??;
    via.param("alias")?;
    if !via.is_transport(transport.via_name()) {
        return None;
    }
    let default_port = if transport == Transport::Tls {
        5061
    } else {
        5060
    };
    Some(SocketAddr::new(
        via.host.ip()?,
        via.port.unwrap_or(default_port),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(via: &str) -> Message {
        let text = format!(
            "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: {via}\r\nFrom: <sip:a@h>;tag=1\r\n\
             To: <sip:x@h>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        );
        Message::parse(Bytes::from(text), &tandem_sip_msg::Limits::default()).unwrap()
    }

    #[test]
    fn alias_names_the_sent_by() {
        let m = request("SIP/2.0/TCP 192.0.2.1:5080;branch=z9hG4bK1;alias");
        assert_eq!(
            alias_of(&m, Transport::Tcp),
            Some("192.0.2.1:5080".parse().unwrap())
        );
        let m = request("SIP/2.0/TLS [2001:db8::1];branch=z9hG4bK1;alias");
        assert_eq!(
            alias_of(&m, Transport::Tls),
            Some("[2001:db8::1]:5061".parse().unwrap())
        );
    }

    #[test]
    fn no_alias_without_the_param_a_literal_or_the_same_transport() {
        let m = request("SIP/2.0/TCP 192.0.2.1:5080;branch=z9hG4bK1");
        assert_eq!(alias_of(&m, Transport::Tcp), None);
        let m = request("SIP/2.0/TCP pbx.example.com;branch=z9hG4bK1;alias");
        assert_eq!(alias_of(&m, Transport::Tcp), None);
        let m = request("SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1;alias");
        assert_eq!(alias_of(&m, Transport::Tcp), None);
    }
}
