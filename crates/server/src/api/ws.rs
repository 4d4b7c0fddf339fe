//! `GET /v1/events`: the call events as a WebSocket stream (RFC 6455), one JSON text message
//! per [`ApiEvent`].
//!
//! Each client reads its own `broadcast` receiver, subscribed before the upgrade so no
//! event between the handshake and the first read is lost. A client that falls more than
//! the channel's backlog behind gets `{"type":"lagged","missed":n}` and continues with the
//! oldest event still held: the SIP core never waits for a WebSocket.

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use tokio::sync::broadcast;
use tracing::debug;

use super::Api;
use super::error::{ApiError, ErrorBody};
use crate::events::ApiEvent;

/// Opens the event stream.
#[utoipa::path(get, path = "/v1/events", tag = "events",
    description = "Upgrade to a WebSocket; the server then sends one JSON text message per \
                   event (an ApiEvent: `state_changed`, `media_flow`, `record`, `ended`, `lagged`). \
                   Messages from the client are ignored.",
    responses(
        (status = 101, description = "Switching to WebSocket; each message is an ApiEvent",
            body = ApiEvent),
        (status = 400, description = "Not a WebSocket handshake", body = ErrorBody),
        (status = 426, description = "Upgrade required", body = ErrorBody),
    ))]
pub(crate) async fn events(
    State(api): State<Api>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    match upgrade {
        Ok(upgrade) => {
            let rx = api.events.subscribe();
            upgrade.on_upgrade(move |socket| stream(socket, rx))
        }
        Err(r) => ApiError::new(r.status(), "websocket_required", r.body_text()).into_response(),
    }
}

async fn stream(mut socket: WebSocket, mut rx: broadcast::Receiver<ApiEvent>) {
    loop {
        tokio::select! {
            event = rx.recv() => {
                let event = match event {
                    Ok(e) => e,
                    Err(broadcast::error::RecvError::Lagged(missed)) => ApiEvent::Lagged { missed },
                    Err(broadcast::error::RecvError::Closed) => break,
                };
                let Ok(text) = serde_json::to_string(&event) else { continue };
                if socket.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
            }
            incoming = socket.recv() => match incoming {
                // axum answers pings itself; anything else from the client is ignored.
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
        }
    }
    debug!("event stream client gone");
}
