//! One WebSocket connection (RFC 7118): the handshake must offer the `sip` subprotocol; each
//! WebSocket message carries exactly one SIP message (§5.2), so messages take the datagram
//! path of the endpoint (Content-Length optional, as on UDP). Outgoing WebSocket connections
//! (over TCP, or TLS for WSS) make the client handshake here.

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode, header};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message as WsMessage, Utf8Bytes};
use tracing::debug;

use super::stream::StreamTask;
use super::{Inbound, overload};

/// The subprotocol of RFC 7118 §4.1.
const SUBPROTOCOL: &str = "sip";

/// A connection task speaking WebSocket.
pub(super) struct WsTask(pub(super) StreamTask);

impl WsTask {
    /// Completes the handshake, then serves the connection until it closes.
    pub(super) async fn run(self, stream: TcpStream, mut outbound: mpsc::Receiver<Bytes>) {
        let task = &self.0;
        let handshake = tokio_tungstenite::accept_hdr_async_with_config(
            stream,
            negotiate_sip,
            Some(ws_config(task)),
        );
        match tokio::time::timeout(task.config.connect_timeout, handshake).await {
            Ok(Ok(ws)) => {
                if let Err(e) = self.serve(ws, &mut outbound).await {
                    debug!(remote = %task.flow.remote, error = %e, "WebSocket ended with an error");
                }
            }
            Ok(Err(e)) => {
                debug!(remote = %task.flow.remote, error = %e, "WebSocket handshake failed")
            }
            Err(_) => debug!(remote = %task.flow.remote, "WebSocket handshake timed out"),
        }
        task.closed().await;
    }

    /// Opens the WebSocket of an outgoing connection (RFC 7118 §4.1): the handshake to `uri`
    /// offers the `sip` subprotocol and fails unless the server selects it; then serves the
    /// connection. A failed handshake is a transport error for the flow (`ConnectFailed`).
    pub(super) async fn connect<S>(
        self,
        stream: S,
        uri: String,
        mut outbound: mpsc::Receiver<Bytes>,
    ) where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let task = &self.0;
        let remote = task.flow.remote;
        let mut request = match uri.as_str().into_client_request() {
            Ok(r) => r,
            Err(e) => {
                debug!(%remote, %uri, error = %e, "bad WebSocket URI");
                return task.failed().await;
            }
        };
        request.headers_mut().insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static(SUBPROTOCOL),
        );
        let handshake =
            tokio_tungstenite::client_async_with_config(request, stream, Some(ws_config(task)));
        match tokio::time::timeout(task.config.connect_timeout, handshake).await {
            Ok(Ok((ws, response))) => {
                let selected = response
                    .headers()
                    .get(header::SEC_WEBSOCKET_PROTOCOL)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.trim().eq_ignore_ascii_case(SUBPROTOCOL));
                if !selected {
                    debug!(%remote, "WebSocket server did not select the sip subprotocol");
                    return task.failed().await;
                }
                if let Err(e) = self.serve(ws, &mut outbound).await {
                    debug!(%remote, error = %e, "WebSocket ended with an error");
                }
                task.closed().await;
            }
            Ok(Err(e)) => {
                debug!(%remote, error = %e, "WebSocket handshake failed");
                task.failed().await;
            }
            Err(_) => {
                debug!(%remote, "WebSocket handshake timed out");
                task.failed().await;
            }
        }
    }

    async fn serve<S>(
        &self,
        mut ws: tokio_tungstenite::WebSocketStream<S>,
        outbound: &mut mpsc::Receiver<Bytes>,
    ) -> Result<(), tokio_tungstenite::tungstenite::Error>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let task = &self.0;
        loop {
            tokio::select! {
                next = tokio::time::timeout(task.config.tcp_idle_timeout, ws.next()) => {
                    let Ok(next) = next else { return Ok(()) }; // idle
                    let bytes = match next {
                        None => return Ok(()),
                        Some(Err(e)) => return Err(e),
                        Some(Ok(WsMessage::Text(text))) => Bytes::from(text),
                        Some(Ok(WsMessage::Binary(bytes))) => bytes,
                        // Pings are answered by tungstenite on the next write or flush.
                        Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Frame(_))) => continue,
                        Some(Ok(WsMessage::Close(_))) => return Ok(()),
                    };
                    let item = Inbound::Message { flow: task.flow, bytes };
                    match task.inbound.try_send(item) {
                        Ok(()) => {}
                        Err(TrySendError::Closed(_)) => return Ok(()),
                        Err(TrySendError::Full(item)) => {
                            let busy = match &item {
                                Inbound::Message { bytes, .. } => overload::busy_reply(bytes, &task.config),
                                _ => None,
                            };
                            match busy {
                                Some(busy) => ws.send(to_ws(busy)).await?,
                                None => {
                                    if task.inbound.send(item).await.is_err() {
                                        return Ok(());
                                    }
                                }
                            }
                        }
                    }
                }
                out = outbound.recv() => match out {
                    Some(bytes) => ws.send(to_ws(bytes)).await?,
                    None => return Ok(()),
                },
            }
        }
    }
}

/// Frames and messages no larger than a SIP message may be.
fn ws_config(task: &StreamTask) -> WebSocketConfig {
    let limit = task.config.limits.max_message_size;
    WebSocketConfig::default()
        .max_message_size(Some(limit))
        .max_frame_size(Some(limit))
}

/// RFC 7118 §4.1: accept only a client offering `sip`, and say so in the answer; any other
/// WebSocket client gets 400 before the upgrade.
#[allow(clippy::result_large_err)] // the signature tungstenite's handshake callback takes
fn negotiate_sip(request: &Request, mut response: Response) -> Result<Response, ErrorResponse> {
    let offered = request
        .headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == SUBPROTOCOL);
    if offered {
        response.headers_mut().insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static(SUBPROTOCOL),
        );
        Ok(response)
    } else {
        let mut refusal = ErrorResponse::new(Some("the sip subprotocol is required".to_owned()));
        *refusal.status_mut() = StatusCode::BAD_REQUEST;
        Err(refusal)
    }
}

/// A text frame when the message is UTF-8 (what browsers' SIP stacks expect), else binary
/// (RFC 7118 §5.1 allows both).
fn to_ws(bytes: Bytes) -> WsMessage {
    if std::str::from_utf8(&bytes).is_ok()
        && let Ok(text) = Utf8Bytes::try_from(bytes.clone())
    {
        return WsMessage::Text(text);
    }
    WsMessage::Binary(bytes)
}
