//! `POST /v1/calls`: call two parties and connect them back to back, the primitive of
//! click-to-call (RFC 3725 third-party call control: the first party is called without an
//! offer, its 2xx's offer goes to the second party, whose answer returns in the ACK).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use tandem_sip_msg::{HeaderName, Uri};
use utoipa::ToSchema;

use super::Api;
use super::error::{ApiError, ApiJson, ErrorBody};
use crate::commands::{Command, Originate};

/// Body of `POST /v1/calls`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OriginateBody {
    /// The first party, called first (`sip:` or `sips:` URI, e.g. the agent).
    #[schema(example = "sip:alice@192.0.2.10")]
    pub(crate) from: String,
    /// The second party, called once the first answers (e.g. the customer).
    #[schema(example = "sip:bob@192.0.2.20:5070")]
    pub(crate) to: String,
    /// Extra headers on both INVITEs, name to value (one line each).
    #[serde(default)]
    pub(crate) headers: BTreeMap<String, String>,
    /// The From shown to the second party: a URI or a name-addr
    /// (`"Sales" <sip:sales@example.com>`). Default: the first party's URI.
    #[serde(default)]
    pub(crate) caller_id: Option<String>,
}

/// Answer of `POST /v1/calls`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Originated {
    /// The new call's id.
    pub(crate) id: u64,
    /// Where to watch it: `/v1/calls/{id}`.
    pub(crate) url: String,
}

/// Originates a back-to-back call between two URIs.
#[utoipa::path(post, path = "/v1/calls", tag = "calls",
    request_body = OriginateBody,
    responses(
        (status = 202, description = "The first party is being called", body = Originated,
            headers(("Location" = String, description = "The call's URL"))),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "A field is missing, of the wrong type, unknown, or \
            not a usable SIP URI or header; or Tandem cannot route a party", body = ErrorBody),
        (status = 502, description = "The call layer refused to place the call", body = ErrorBody),
        (status = 503, description = "The SIP core is busy or stopped", body = ErrorBody),
    ))]
pub(crate) async fn originate(
    State(api): State<Api>,
    ApiJson(body): ApiJson<OriginateBody>,
) -> Result<impl IntoResponse, ApiError> {
    let request = Box::new(validate(body)?);
    let id = api
        .ask(|reply| Command::Originate { request, reply })
        .await??;
    let url = format!("/v1/calls/{id}");
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, url.clone())],
        Json(Originated { id, url }),
    ))
}

/// Checks the body the way the call layer would, so a bad value is a 422 that names the
/// field rather than a failed call.
pub(crate) fn validate(body: OriginateBody) -> Result<Originate, ApiError> {
    let first = sip_uri("from", &body.from)?;
    let second = sip_uri("to", &body.to)?;
    let mut headers = Vec::with_capacity(body.headers.len());
    for (name, value) in body.headers {
        if !is_token(&name) {
            return Err(ApiError::unprocessable(
                "invalid_header",
                format!("headers: `{name}` is not a header name (RFC 3261 §25.1 token)"),
            ));
        }
        if value.chars().any(char::is_control) {
            return Err(ApiError::unprocessable(
                "invalid_header",
                format!("headers.{name}: must be one line without control characters"),
            ));
        }
        let header = HeaderName::new(&name);
        if is_reserved(&header) {
            return Err(ApiError::unprocessable(
                "invalid_header",
                format!("headers.{name}: set by Tandem, not by the request"),
            ));
        }
        headers.push((header, value));
    }
    let caller_id = match body.caller_id {
        None => None,
        Some(c) => Some(caller_id(&c)?),
    };
    Ok(Originate {
        first,
        second,
        headers,
        caller_id,
    })
}

fn sip_uri(field: &str, text: &str) -> Result<Uri, ApiError> {
    let invalid =
        |why: &str| ApiError::unprocessable("invalid_uri", format!("{field}: `{text}` {why}"));
    if text.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(invalid("contains spaces or control characters"));
    }
    match Uri::parse(text) {
        Ok(uri) if uri.as_sip().is_some() => Ok(uri),
        Ok(_) => Err(invalid("is not a sip: or sips: URI")),
        Err(e) => Err(invalid(&format!("is not a URI ({e})"))),
    }
}

/// A URI or name-addr for the From header; a bare URI is bracketed (RFC 3261 §20.10: a URI
/// with `;` or `?` must be).
fn caller_id(text: &str) -> Result<String, ApiError> {
    let bad = |why: &str| ApiError::unprocessable("invalid_caller_id", format!("caller_id: {why}"));
    if text.trim().is_empty() || text.chars().any(char::is_control) {
        return Err(bad("must be a non-empty single line"));
    }
    let parsed = tandem_sip_msg::headers::NameAddr::parse(text)
        .map_err(|e| bad(&format!("not a URI or name-addr ({e})")))?;
    if parsed.uri.as_sip().is_none() {
        return Err(bad("not a sip: or sips: URI"));
    }
    if !parsed.params.is_empty() {
        return Err(bad("header parameters (e.g. tag) are set by Tandem"));
    }
    Ok(if parsed.bracketed {
        text.trim().to_owned()
    } else {
        format!("<{}>", parsed.uri_text)
    })
}

/// RFC 3261 §25.1 `token`.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b))
}

/// Headers that identify a dialog or a transaction, or that Tandem computes itself.
fn is_reserved(name: &HeaderName) -> bool {
    [
        HeaderName::Via,
        HeaderName::From,
        HeaderName::To,
        HeaderName::CallId,
        HeaderName::CSeq,
        HeaderName::Contact,
        HeaderName::MaxForwards,
        HeaderName::ContentLength,
        HeaderName::ContentType,
        HeaderName::new("Route"),
        HeaderName::new("Record-Route"),
    ]
    .contains(name)
}
