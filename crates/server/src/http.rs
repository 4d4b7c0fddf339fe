//! The HTTP listener: at this stage a health check and a status document; the REST API
//! (`/v1/calls`, ...) grows here with the call layer.

use std::net::SocketAddr;

use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

/// What the status document reports.
#[derive(Debug, Clone)]
pub(crate) struct Status {
    /// SIP listeners, as `(transport, address)`.
    pub(crate) sip: Vec<(String, SocketAddr)>,
}

/// Builds the router.
pub(crate) fn router(status: Status) -> Router {
    let doc = json!({
        "name": "tandem",
        "version": env!("CARGO_PKG_VERSION"),
        "sip": status.sip.iter().map(|(t, a)| json!({"transport": t, "address": a.to_string()})).collect::<Vec<_>>(),
    });
    Router::new()
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/v1/status", get(move || async move { Json(doc) }))
        .fallback(|| async {
            (
                axum::http::StatusCode::NOT_FOUND,
                Json(json!({"error": "no such resource"})),
            )
        })
}

/// Serves `router` on `listener` until the process ends.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
) -> std::io::Result<()> {
    axum::serve(listener, router).await
}
