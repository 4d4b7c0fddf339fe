#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The REST API against a fake application that answers commands with canned data.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use futures_util::StreamExt;
use proptest::prelude::*;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::*;
use crate::commands::LegView;

fn sample(id: u64, state: CallStateView) -> CallView {
    CallView {
        id,
        kind: "b2b".to_owned(),
        state,
        media: Some(MediaFlowView::Connected),
        started: "2026-11-28T10:00:00.000Z".to_owned(),
        answered: Some("2026-11-28T10:00:02.000Z".to_owned()),
        legs: vec![
            LegView {
                leg: "a".into(),
                call_id: "leg-a".into(),
                started: "2026-11-28T10:00:00.000Z".to_owned(),
                answered: Some("2026-11-28T10:00:02.000Z".to_owned()),
                from: "sip:alice@192.0.2.1".into(),
                to: "sip:bob@192.0.2.9".into(),
                remote: "udp:192.0.2.1:5060".into(),
            },
            LegView {
                leg: "b".into(),
                call_id: "leg-b".into(),
                started: "2026-11-28T10:00:00.000Z".to_owned(),
                answered: Some("2026-11-28T10:00:02.000Z".to_owned()),
                from: "sip:alice@192.0.2.1".into(),
                to: "sip:bob@192.0.2.2".into(),
                remote: "udp:192.0.2.2:5060".into(),
            },
        ],
    }
}

/// A fake application: call 1 exists, originate gives call 7.
fn fake_app(mut rx: mpsc::Receiver<Command>) {
    tokio::spawn(async move {
        while let Some(c) = rx.recv().await {
            match c {
                Command::ListCalls(reply) => {
                    let _ = reply.send(vec![sample(1, CallStateView::Established)]);
                }
                Command::ShowCall { id, reply } => {
                    let _ = reply.send((id == 1).then(|| sample(1, CallStateView::Established)));
                }
                Command::HangUp { id, reply } => {
                    let _ = reply.send(if id == 1 {
                        Ok(sample(1, CallStateView::Terminating))
                    } else {
                        Err(CommandError::NoSuchCall)
                    });
                }
                Command::Originate { reply, .. } => {
                    let _ = reply.send(Ok(7));
                }
                Command::Resolved { .. } => {}
            }
        }
    });
}

fn api_with(commands: mpsc::Sender<Command>, events: Events) -> axum::Router {
    router(Api {
        commands,
        events,
        status: Arc::new(json!({"name": "tandem"})),
    })
}

fn app() -> axum::Router {
    let (tx, rx) = mpsc::channel(8);
    fake_app(rx);
    api_with(tx, Events::new(16))
}

async fn call(
    router: &axum::Router,
    method: Method,
    uri: &str,
    body: Option<(&str, &str)>,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let mut req = Request::builder().method(method).uri(uri);
    let body = match body {
        Some((content_type, text)) => {
            if !content_type.is_empty() {
                req = req.header("content-type", content_type);
            }
            Body::from(text.to_owned())
        }
        None => Body::empty(),
    };
    let resp = router
        .clone()
        .oneshot(req.body(body).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    let value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "{status}: not JSON ({e}): {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    (status, headers, value)
}

fn assert_error(status: StatusCode, body: &Value, want: StatusCode, code: &str) {
    assert_eq!(status, want, "{body}");
    assert_eq!(body["error"], code, "{body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
}

const JSON: &str = "application/json";

#[tokio::test]
async fn lists_and_shows_calls() {
    let r = app();
    let (s, _, v) = call(&r, Method::GET, "/v1/calls", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["calls"][0]["id"], 1);
    assert_eq!(v["calls"][0]["state"], "established");
    assert_eq!(v["calls"][0]["media"], "connected");
    assert_eq!(v["calls"][0]["legs"][1]["remote"], "udp:192.0.2.2:5060");
    let (s, _, v) = call(&r, Method::GET, "/v1/calls/1", None).await;
    assert_eq!((s, &v["id"]), (StatusCode::OK, &json!(1)));
    let (s, _, v) = call(&r, Method::GET, "/v1/calls/2", None).await;
    assert_error(s, &v, StatusCode::NOT_FOUND, "not_found");
    let (s, _, v) = call(&r, Method::GET, "/v1/calls/abc", None).await;
    assert_error(s, &v, StatusCode::NOT_FOUND, "not_found");
    let (s, _, v) = call(&r, Method::GET, "/v1/calls/-1", None).await;
    assert_error(s, &v, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn hangs_up() {
    let r = app();
    let (s, _, v) = call(&r, Method::DELETE, "/v1/calls/1", None).await;
    assert_eq!(
        (s, &v["state"]),
        (StatusCode::ACCEPTED, &json!("terminating"))
    );
    let (s, _, v) = call(&r, Method::DELETE, "/v1/calls/9", None).await;
    assert_error(s, &v, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn originates() {
    let r = app();
    let body = r#"{"from": "sip:alice@127.0.0.1:5070", "to": "sip:bob@127.0.0.1:5080",
                   "headers": {"X-Campaign": "spring"}, "caller_id": "\"Sales\" <sip:sales@example.com>"}"#;
    let (s, h, v) = call(&r, Method::POST, "/v1/calls", Some((JSON, body))).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    assert_eq!(v, json!({"id": 7, "url": "/v1/calls/7"}));
    assert_eq!(h["location"], "/v1/calls/7");
}

#[tokio::test]
async fn malformed_bodies_get_json_errors() {
    let r = app();
    let cases: &[(&str, &str, StatusCode, &str)] = &[
        (JSON, "{", StatusCode::BAD_REQUEST, "malformed_json"),
        (JSON, "", StatusCode::BAD_REQUEST, "malformed_json"),
        (
            JSON,
            "[1,2]",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            JSON,
            r#"{"from": 1, "to": "sip:b@127.0.0.1"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            JSON,
            r#"{"from": "sip:a@127.0.0.1"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            JSON,
            r#"{"from": "sip:a@127.0.0.1", "to": "sip:b@127.0.0.1", "extra": 1}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            JSON,
            r#"{"from": "sip:a@127.0.0.1", "to": "sip:b@127.0.0.1", "headers": {"X": 5}}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "",
            r#"{"from": "sip:a@127.0.0.1", "to": "sip:b@127.0.0.1"}"#,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "text/plain",
            r#"{"from": "sip:a@127.0.0.1", "to": "sip:b@127.0.0.1"}"#,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            JSON,
            r#"{"from": "http://example.com", "to": "sip:b@127.0.0.1"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_uri",
        ),
        (
            JSON,
            r#"{"from": "sip:a@127.0.0.1", "to": "not a uri"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_uri",
        ),
        (
            JSON,
            r#"{"from": "sip:a@127.0.0.1", "to": "sip:b@127.0.0.1\r\nVia: x"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_uri",
        ),
        (
            JSON,
            r#"{"from": "sip:a@127.0.0.1", "to": "sip:b@127.0.0.1", "headers": {"Bad Name": "x"}}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_header",
        ),
        (
            JSON,
            r#"{"from": "sip:a@127.0.0.1", "to": "sip:b@127.0.0.1", "headers": {"X-A": "a\r\nVia: b"}}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_header",
        ),
        (
            JSON,
            r#"{"from": "sip:a@127.0.0.1", "to": "sip:b@127.0.0.1", "headers": {"Call-ID": "x"}}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_header",
        ),
        (
            JSON,
            r#"{"from": "sip:a@127.0.0.1", "to": "sip:b@127.0.0.1", "caller_id": ""}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_caller_id",
        ),
        (
            JSON,
            r#"{"from": "sip:a@127.0.0.1", "to": "sip:b@127.0.0.1", "caller_id": "<sip:x@y>;tag=1"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_caller_id",
        ),
        (
            JSON,
            r#"{"from": "sip:a@127.0.0.1", "to": "sip:b@127.0.0.1", "caller_id": "<tel:+15551234>"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_caller_id",
        ),
    ];
    for (content_type, body, want, code) in cases {
        let (s, _, v) = call(&r, Method::POST, "/v1/calls", Some((content_type, body))).await;
        assert_eq!(s, *want, "{body}: {v}");
        assert_error(s, &v, *want, code);
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_get_json_errors() {
    let r = app();
    let (s, _, v) = call(&r, Method::GET, "/v1/nope", None).await;
    assert_error(s, &v, StatusCode::NOT_FOUND, "not_found");
    let (s, _, v) = call(&r, Method::GET, "/", None).await;
    assert_error(s, &v, StatusCode::NOT_FOUND, "not_found");
    let (s, h, v) = call(&r, Method::PUT, "/v1/calls", None).await;
    assert_error(s, &v, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    // RFC 9110 §15.5.6: a 405 lists the methods the resource serves.
    let allow = h.get("allow").map(|a| a.to_str().unwrap().to_owned());
    assert!(
        allow
            .as_deref()
            .is_some_and(|a| a.contains("GET") && a.contains("POST")),
        "{allow:?}"
    );
    let (s, _, v) = call(&r, Method::POST, "/v1/calls/1", None).await;
    assert_error(s, &v, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    let (s, _, v) = call(&r, Method::GET, "/v1/events", None).await;
    assert!(s.is_client_error(), "{s}");
    assert_eq!(v["error"], "websocket_required");
}

#[tokio::test]
async fn a_full_or_closed_command_queue_is_503() {
    let (tx, rx) = mpsc::channel(1);
    // Fill the queue with a command nobody will take.
    let (reply, _) = oneshot::channel();
    tx.try_send(Command::ListCalls(reply)).unwrap();
    let r = api_with(tx, Events::new(4));
    let (s, _, v) = call(&r, Method::GET, "/v1/calls", None).await;
    assert_error(s, &v, StatusCode::SERVICE_UNAVAILABLE, "busy");
    drop(rx);
    let (s, _, v) = call(&r, Method::GET, "/v1/calls", None).await;
    assert_error(s, &v, StatusCode::SERVICE_UNAVAILABLE, "unavailable");
}

#[tokio::test]
async fn openapi_lists_every_route() {
    let r = app();
    let (s, _, doc) = call(&r, Method::GET, "/v1/openapi.json", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().unwrap();
    let want = [
        ("/health", "get"),
        ("/v1/status", "get"),
        ("/v1/calls", "get"),
        ("/v1/calls", "post"),
        ("/v1/calls/{id}", "get"),
        ("/v1/calls/{id}", "delete"),
        ("/v1/events", "get"),
        ("/v1/openapi.json", "get"),
    ];
    for (path, method) in want {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing"
        );
    }
    let mut listed = 0;
    // Every operation the document lists is served (never the router's fallbacks).
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            listed += 1;
            let m = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
            let uri = path.replace("{id}", "1");
            let body = (m == Method::POST).then_some((JSON, "{}"));
            let (s, _, v) = call(&r, m.clone(), &uri, body).await;
            assert_ne!(s, StatusCode::METHOD_NOT_ALLOWED, "{m} {uri}: {v}");
            let fallback = v["detail"]
                .as_str()
                .is_some_and(|d| d.starts_with("no resource"));
            assert!(!fallback, "{m} {uri} is not served: {v}");
        }
    }
    assert_eq!(
        listed,
        want.len(),
        "the document lists more than the expected routes"
    );
    for schema in [
        "CallView",
        "LegView",
        "ErrorBody",
        "ApiEvent",
        "OriginateBody",
        "EndCauseView",
        "RecordView",
    ] {
        assert!(
            doc["components"]["schemas"].get(schema).is_some(),
            "schema {schema} missing"
        );
    }
}

/// Bodies built from JSON fragments, field names and raw bytes.
fn body_strategy() -> impl Strategy<Value = String> {
    let scalar = prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| n.to_string()),
        ".{0,40}".prop_map(|s| serde_json::to_string(&s).unwrap()),
        Just("\"sip:a@127.0.0.1\"".to_owned()),
        Just("\"sips:b@[::1]:5061;transport=tcp\"".to_owned()),
    ];
    let value = scalar.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("from".to_owned()),
                        Just("to".to_owned()),
                        Just("headers".to_owned()),
                        Just("caller_id".to_owned()),
                        "[a-zA-Z -]{0,8}".prop_map(|s| s),
                    ],
                    inner
                ),
                0..5
            )
            .prop_map(|kv| {
                let fields: Vec<String> = kv
                    .into_iter()
                    .map(|(k, v)| format!("{}:{v}", serde_json::to_string(&k).unwrap()))
                    .collect();
                format!("{{{}}}", fields.join(","))
            }),
        ]
    });
    prop_oneof![
        value,
        ".{0,64}",
        prop::collection::vec(any::<u8>(), 0..64)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned())
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bodies_never_get_a_5xx(body in body_strategy()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let r = app();
            let (s, _, v) = call(&r, Method::POST, "/v1/calls", Some((JSON, &body))).await;
            prop_assert!(!s.is_server_error(), "{body}: {s} {v}");
            if s.is_client_error() {
                prop_assert!(v["error"].is_string() && v["detail"].is_string(), "{v}");
            } else {
                prop_assert_eq!(s, StatusCode::ACCEPTED);
            }
            Ok(())
        })?;
    }
}

async fn ws_client(
    router: axum::Router,
) -> tokio_tungstenite::WebSocketStream<tokio::net::TcpStream> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (ws, resp) = tokio_tungstenite::client_async(format!("ws://{addr}/v1/events"), stream)
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SWITCHING_PROTOCOLS);
    ws
}

async fn next_json(ws: &mut tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("an event in time")
            .expect("stream open")
            .unwrap();
        if let tokio_tungstenite::tungstenite::Message::Text(t) = msg {
            return serde_json::from_str(&t).unwrap();
        }
    }
}

#[tokio::test]
async fn event_stream_sends_call_events() {
    let (tx, rx) = mpsc::channel(8);
    fake_app(rx);
    let events = Events::new(16);
    let mut ws = ws_client(api_with(tx, events.clone())).await;
    // The receiver is subscribed during the handshake.
    assert_eq!(events.clients(), 1);
    events.publish(ApiEvent::StateChanged {
        call: 4,
        state: CallStateView::Establishing,
    });
    events.publish(ApiEvent::MediaFlow {
        call: 4,
        state: MediaFlowView::Connected,
    });
    events.publish(ApiEvent::Ended {
        call: 4,
        cause: (&tandem_call::EndCause::CalleeHangUp).into(),
    });
    assert_eq!(
        next_json(&mut ws).await,
        json!({"type": "state_changed", "call": 4, "state": "establishing"})
    );
    assert_eq!(
        next_json(&mut ws).await,
        json!({"type": "media_flow", "call": 4, "state": "connected"})
    );
    assert_eq!(
        next_json(&mut ws).await,
        json!({"type": "ended", "call": 4, "cause": {"kind": "callee_hang_up"}})
    );
    ws.close(None).await.unwrap();
}

#[tokio::test]
async fn a_lagging_client_is_told_how_many_events_it_missed() {
    let (tx, rx) = mpsc::channel(8);
    fake_app(rx);
    let events = Events::new(4);
    let mut ws = ws_client(api_with(tx, events.clone())).await;
    // Current-thread runtime: the server's task cannot read while these are sent.
    for call in 0..10 {
        events.publish(ApiEvent::StateChanged {
            call,
            state: CallStateView::Establishing,
        });
    }
    assert_eq!(
        next_json(&mut ws).await,
        json!({"type": "lagged", "missed": 6})
    );
    for call in 6..10 {
        assert_eq!(next_json(&mut ws).await["call"], call);
    }
}
