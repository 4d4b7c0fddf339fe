//! The REST API under `/v1` (axum) and its OpenAPI 3.1 document (utoipa).
//!
//! Handlers never touch SIP state: each sends a [`Command`] with a oneshot reply sender to
//! the application over the bounded channel `SipRuntime::run_app` drains, and awaits the
//! answer. A full channel is answered at once with 503 (`busy`) rather than queueing HTTP
//! requests behind a saturated SIP core. Every route is registered through
//! `utoipa_axum::routes!`, so the document at `/v1/openapi.json` lists exactly the routes
//! the router serves.

mod error;
mod originate;
mod ws;

#[cfg(test)]
mod tests;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::commands::{CallView, Command, CommandError, LegView};
use crate::events::{ApiEvent, CallStateView, EndCauseView, Events, MediaFlowView};
use error::CallPath;
pub(crate) use error::{ApiError, ErrorBody};

/// Longest wait for the application's reply to a command.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// What the handlers share.
#[derive(Debug, Clone)]
pub(crate) struct Api {
    /// Commands to the SIP application.
    pub(crate) commands: mpsc::Sender<Command>,
    /// The event stream the application publishes to.
    pub(crate) events: Events,
    /// The document served at `/v1/status`.
    pub(crate) status: Arc<serde_json::Value>,
}

impl Api {
    /// Sends a command and awaits its reply.
    async fn ask<R>(
        &self,
        make: impl FnOnce(oneshot::Sender<R>) -> Command,
    ) -> Result<R, ApiError> {
        let (tx, rx) = oneshot::channel();
        self.commands.try_send(make(tx)).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "the SIP core's command queue is full; retry shortly",
            ),
            mpsc::error::TrySendError::Closed(_) => stopped(),
        })?;
        match tokio::time::timeout(REPLY_TIMEOUT, rx).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(_)) => Err(stopped()),
            Err(_) => Err(ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "timeout",
                "the SIP core did not answer in time",
            )),
        }
    }
}

fn stopped() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "the SIP core is not running",
    )
}

impl From<CommandError> for ApiError {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::NoSuchCall => Self::not_found(e.to_string()),
            CommandError::Unroutable { .. } => Self::unprocessable("unroutable", e.to_string()),
            CommandError::Failed(_) => Self::new(StatusCode::BAD_GATEWAY, "failed", e.to_string()),
        }
    }
}

/// The OpenAPI document's root.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tandem",
        description = "REST API of the Tandem SIP back-to-back user agent: live calls, \
                       hang-up, originate (RFC 3725 third-party call control) and a \
                       WebSocket event stream. Every error body is an ErrorBody."
    ),
    components(schemas(ApiEvent, CallStateView, MediaFlowView, EndCauseView, LegView))
)]
struct ApiDoc;

/// Every route with its OpenAPI description, before state and fallbacks.
fn routes() -> OpenApiRouter<Api> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health))
        .routes(routes!(status))
        .routes(routes!(list_calls, originate::originate))
        .routes(routes!(show_call, hang_up))
        .routes(routes!(ws::events))
        .routes(routes!(openapi_json))
}

/// The OpenAPI document, built once.
pub(crate) fn document() -> &'static utoipa::openapi::OpenApi {
    static DOC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOC.get_or_init(|| routes().split_for_parts().1)
}

/// The router: every route above, JSON errors for unknown paths and wrong methods.
pub(crate) fn router(api: Api) -> axum::Router {
    let (router, _) = routes().split_for_parts();
    router
        .fallback(error::no_route)
        .method_not_allowed_fallback(error::wrong_method)
        .with_state(api)
}

/// `{"status": "ok"}`.
#[derive(Debug, Serialize, ToSchema)]
struct Health {
    /// Always `ok` while the process serves HTTP.
    status: String,
}

/// Liveness check.
#[utoipa::path(get, path = "/health", tag = "server",
    responses((status = 200, description = "The server is up", body = Health)))]
async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
    })
}

/// The server's name, version and SIP listeners.
#[utoipa::path(get, path = "/v1/status", tag = "server",
    responses((status = 200, description = "`name`, `version`, `sip`: [{transport, address}]",
        body = serde_json::Value)))]
async fn status(State(api): State<Api>) -> Json<serde_json::Value> {
    Json(api.status.as_ref().clone())
}

/// The live calls.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CallList {
    /// Live back-to-back calls, oldest first.
    pub(crate) calls: Vec<CallView>,
}

/// Lists the live back-to-back calls.
#[utoipa::path(get, path = "/v1/calls", tag = "calls",
    responses(
        (status = 200, description = "Live calls, oldest first", body = CallList),
        (status = 503, description = "The SIP core is busy or stopped", body = ErrorBody),
    ))]
async fn list_calls(State(api): State<Api>) -> Result<Json<CallList>, ApiError> {
    let calls = api.ask(Command::ListCalls).await?;
    Ok(Json(CallList { calls }))
}

/// Shows one live call.
#[utoipa::path(get, path = "/v1/calls/{id}", tag = "calls",
    params(("id" = u64, Path, description = "The call's id")),
    responses(
        (status = 200, description = "The call", body = CallView),
        (status = 404, description = "No live call has this id", body = ErrorBody),
        (status = 503, description = "The SIP core is busy or stopped", body = ErrorBody),
    ))]
async fn show_call(
    State(api): State<Api>,
    CallPath(id): CallPath,
) -> Result<Json<CallView>, ApiError> {
    api.ask(|reply| Command::ShowCall { id, reply })
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no call {id}")))
}

/// Hangs a call up: BYE on both legs with `Reason: SIP;cause=200` (RFC 3326), or, before
/// the answer, 480 to the caller and CANCEL to the callee. The call ends once both legs
/// confirm (watch `/v1/events` for `ended`).
#[utoipa::path(delete, path = "/v1/calls/{id}", tag = "calls",
    params(("id" = u64, Path, description = "The call's id")),
    responses(
        (status = 202, description = "Hang-up started; the call as it is now", body = CallView),
        (status = 404, description = "No live call has this id", body = ErrorBody),
        (status = 503, description = "The SIP core is busy or stopped", body = ErrorBody),
    ))]
async fn hang_up(
    State(api): State<Api>,
    CallPath(id): CallPath,
) -> Result<impl IntoResponse, ApiError> {
    let view = api.ask(|reply| Command::HangUp { id, reply }).await??;
    Ok((StatusCode::ACCEPTED, Json(view)))
}

/// This document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "server",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = serde_json::Value)))]
async fn openapi_json() -> impl IntoResponse {
    match document().to_json() {
        Ok(text) => ([(header::CONTENT_TYPE, "application/json")], text).into_response(),
        Err(e) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
            .into_response(),
    }
}
