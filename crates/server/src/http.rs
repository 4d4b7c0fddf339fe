//! The HTTP listener: `/health`, `/v1/status` and the REST API of [`crate::api`].

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use serde_json::json;
use tokio::sync::mpsc;

use crate::api::{self, Api};
use crate::commands::Command;
use crate::events::Events;

/// What the status document reports.
#[derive(Debug, Clone)]
pub(crate) struct Status {
    /// SIP listeners, as `(transport, address)`.
    pub(crate) sip: Vec<(String, SocketAddr)>,
}

/// Builds the router: `commands` reach the SIP application, `events` feed `/v1/events`.
pub(crate) fn router(status: Status, commands: mpsc::Sender<Command>, events: Events) -> Router {
    let doc = json!({
        "name": "tandem",
        "version": env!("CARGO_PKG_VERSION"),
        "sip": status.sip.iter().map(|(t, a)| json!({"transport": t, "address": a.to_string()})).collect::<Vec<_>>(),
    });
    api::router(Api {
        commands,
        events,
        status: Arc::new(doc),
    })
}

/// Serves `router` on `listener` until the process ends.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
) -> std::io::Result<()> {
    axum::serve(listener, router).await
}
