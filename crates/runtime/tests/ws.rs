#![allow(clippy::unwrap_used, clippy::expect_used)]
//! WebSocket (RFC 7118): the `sip` subprotocol is required and echoed, one SIP message per
//! WebSocket message in both directions, Content-Length optional.

mod common;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tandem_runtime::sip::SipListenConfig;
use tandem_sip_core::{EndpointConfig, Transport};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

async fn tandem() -> common::Running {
    let config = SipListenConfig {
        ws: Some("127.0.0.1:0".parse().unwrap()),
        ..common::config("127.0.0.1:0", false, false)
    };
    common::start(config, EndpointConfig::default()).await
}

#[tokio::test]
async fn options_over_websocket_with_the_sip_subprotocol() {
    let mut tandem = tandem().await;
    let server = tandem.addr(Transport::Ws);
    let tcp = TcpStream::connect(server).await.unwrap();
    let me = tcp.local_addr().unwrap();
    let mut request = format!("ws://{server}/").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("sip"));
    let (mut ws, response) = tokio_tungstenite::client_async(request, tcp).await.unwrap();
    assert_eq!(
        response.headers().get("Sec-WebSocket-Protocol").unwrap(),
        "sip"
    );
    // RFC 7118 §5.2: no Content-Length needed, the WebSocket message delimits it.
    let options = common::options(
        "WS",
        me,
        "ws1",
        "X-Call-Back: sip:alice@invalid.invalid;transport=ws\r\n",
    )
    .replace("Content-Length: 0\r\n", "");
    ws.send(Message::text(options)).await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..2 {
        let next = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("no message within 5 s")
            .unwrap()
            .unwrap();
        let Message::Text(text) = next else {
            panic!("{next:?}")
        };
        seen.push(text.to_string());
    }
    let answer = seen
        .iter()
        .find(|m| m.starts_with("SIP/2.0 "))
        .expect("no answer");
    assert!(answer.starts_with("SIP/2.0 200 OK\r\n"), "{answer}");
    assert!(answer.contains("Via: SIP/2.0/WS "), "{answer}");
    let request = seen
        .iter()
        .find(|m| m.starts_with("OPTIONS "))
        .expect("no request back");
    assert!(request.contains("Via: SIP/2.0/WS "), "{request}");
    let tandem_sip_core::Event::Request { flow, .. } = tandem.event().await else {
        panic!("not a request")
    };
    assert_eq!((flow.transport, flow.remote), (Transport::Ws, me));
}

#[tokio::test]
async fn websocket_without_the_sip_subprotocol_is_refused() {
    let tandem = tandem().await;
    let server = tandem.addr(Transport::Ws);
    let tcp = TcpStream::connect(server).await.unwrap();
    let request = format!("ws://{server}/").into_client_request().unwrap();
    let err = tokio_tungstenite::client_async(request, tcp)
        .await
        .unwrap_err();
    let WsError::Http(response) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(response.status(), 400);
}
