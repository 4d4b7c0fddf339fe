#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Outgoing TLS (RFC 3261 §26.2.1) and WebSocket (RFC 7118) connections: a request Tandem
//! sends on a TLS, WS or WSS flow with no connection opens one to a server made by the test,
//! the response comes back on it, the server's own request travels the other way on it,
//! and a certificate that does not verify (RFC 5922 §7.2) fails the transaction at once.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tandem_runtime::sip::{SipApp, SipListenConfig, SipRuntime, TlsClientConfig};
use tandem_sip_core::{Endpoint, EndpointConfig, Event, Flow, Transport};
use tandem_sip_msg::{Limits, Message};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// A certificate for `names`, as PEM (certificate, key) and a rustls acceptor serving it.
struct Cert {
    _dir: tempfile::TempDir,
    pem: std::path::PathBuf,
    acceptor: TlsAcceptor,
}

fn cert(names: &[&str]) -> Cert {
    let names: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
    let key = rcgen::generate_simple_self_signed(names).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("cert.pem");
    let key_file = dir.path().join("key.pem");
    std::fs::write(&pem, key.cert.pem()).unwrap();
    std::fs::write(&key_file, key.signing_key.serialize_pem()).unwrap();
    let server = tandem_runtime::tls::server_config(&pem, &key_file).unwrap();
    Cert {
        _dir: dir,
        pem,
        acceptor: TlsAcceptor::from(server),
    }
}

/// Tandem's application: answers 200 to every request, sends what the test commands,
/// reports every event.
struct App {
    events: mpsc::UnboundedSender<Event>,
}

impl SipApp for App {
    type Command = (Message, Flow);

    fn handle_event(&mut self, ep: &mut Endpoint, now: Instant, event: Event) {
        if let Event::Request { tx, .. } = &event {
            ep.reply(now, *tx, 200, "OK").unwrap();
        }
        let _ = self.events.send(event);
    }

    fn handle_command(&mut self, ep: &mut Endpoint, now: Instant, (m, flow): Self::Command) {
        ep.send_request(now, m, flow).unwrap();
    }
}

struct Tandem {
    local: SocketAddr,
    commands: mpsc::Sender<(Message, Flow)>,
    events: mpsc::UnboundedReceiver<Event>,
    _stop: oneshot::Sender<()>,
}

impl Tandem {
    async fn start(tls_client: Option<TlsClientConfig>) -> Self {
        let config = SipListenConfig {
            tls_client,
            ..common::config("127.0.0.1:0", true, false)
        };
        let runtime = SipRuntime::bind(config).await.unwrap();
        let local = runtime.local_addrs()[0].1;
        let (commands, rx) = mpsc::channel(8);
        let (events_tx, events) = mpsc::unbounded_channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let app = App { events: events_tx };
        tokio::spawn(async move {
            let endpoint = Endpoint::new(EndpointConfig::default());
            runtime
                .run_app(endpoint, app, rx, async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Self {
            local,
            commands,
            events,
            _stop: stop,
        }
    }

    /// Sends `OPTIONS <uri>` on a `transport` flow to `remote`.
    async fn options(&self, uri: &str, transport: Transport, remote: SocketAddr, call_id: &str) {
        let text = format!(
            "OPTIONS {uri} SIP/2.0\r\nFrom: <sip:tandem@localhost>;tag=t1\r\nTo: <{uri}>\r\n\
             Call-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\n\r\n"
        );
        let m = Message::parse(Bytes::from(text), &Limits::default()).unwrap();
        let flow = Flow {
            transport,
            local: self.local,
            remote,
        };
        self.commands.send((m, flow)).await.unwrap();
    }

    async fn event(&mut self) -> Event {
        tokio::time::timeout(Duration::from_secs(5), self.events.recv())
            .await
            .expect("no event within 5 s")
            .expect("runtime stopped")
    }
}

fn trusting(cert: &Cert) -> TlsClientConfig {
    TlsClientConfig {
        ca_file: Some(cert.pem.clone()),
        public_roots: false,
        server_name: None,
    }
}

/// A 200 to `request` (its Via, From, To with a tag, Call-ID and CSeq).
fn ok_to(request: &str) -> String {
    let mut out = String::from("SIP/2.0 200 OK\r\n");
    for line in request.split("\r\n") {
        let name = line.split(':').next().unwrap_or_default();
        match name {
            "Via" | "From" | "Call-ID" | "CSeq" => out.push_str(&format!("{line}\r\n")),
            "To" => out.push_str(&format!("{line};tag=srv\r\n")),
            _ => {}
        }
    }
    out.push_str("Content-Length: 0\r\n\r\n");
    out
}

/// The server's own request to Tandem.
fn server_options(transport: &str, me: SocketAddr) -> String {
    common::options(transport, me, "srv1", "")
}

fn assert_response(event: &Event, status: u16) {
    let Event::Response { response, .. } = event else {
        panic!("not a response: {event:?}")
    };
    assert_eq!(response.status(), Some(status));
}

#[tokio::test]
async fn a_request_opens_a_tls_connection_that_serves_both_ways() {
    let cert = cert(&["localhost"]);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = listener.local_addr().unwrap();
    let mut tandem = Tandem::start(Some(trusting(&cert))).await;
    tandem
        .options(
            &format!("sips:bob@localhost:{}", server.port()),
            Transport::Tls,
            server,
            "tls-c1",
        )
        .await;
    let (tcp, _) = listener.accept().await.unwrap();
    let tls = cert.acceptor.accept(tcp).await.unwrap();
    let mut reader = common::Reader::new(tls);
    let request = reader.next().await;
    assert!(
        request.starts_with("OPTIONS sips:bob@localhost:"),
        "{request}"
    );
    assert!(request.contains("Via: SIP/2.0/TLS "), "{request}");
    // RFC 5923 §5.1: the server may send its requests back over this connection.
    assert!(request.contains(";rport;alias\r\n"), "{request}");
    reader
        .stream
        .write_all(ok_to(&request).as_bytes())
        .await
        .unwrap();
    reader.stream.flush().await.unwrap();
    assert_response(&tandem.event().await, 200);
    // The server's request reaches Tandem on the same connection, and its answer comes back.
    reader
        .stream
        .write_all(server_options("TLS", server).as_bytes())
        .await
        .unwrap();
    reader.stream.flush().await.unwrap();
    let Event::Request { flow, .. } = tandem.event().await else {
        panic!("not a request")
    };
    assert_eq!((flow.transport, flow.remote), (Transport::Tls, server));
    assert!(reader.next().await.starts_with("SIP/2.0 200 OK\r\n"));
    // A second request reuses the connection: no new one is accepted.
    tandem
        .options(
            &format!("sips:bob@localhost:{}", server.port()),
            Transport::Tls,
            server,
            "tls-c2",
        )
        .await;
    let second = reader.next().await;
    assert!(second.contains("Call-ID: tls-c2\r\n"), "{second}");
    let again = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
    assert!(again.is_err(), "a second connection was opened");
}

#[tokio::test]
async fn a_certificate_that_does_not_verify_fails_the_transaction_at_once() {
    // One certificate names another host; the other is signed by nobody Tandem trusts.
    let other_name = cert(&["other.example"]);
    let untrusted = cert(&["localhost"]);
    for (served, trusted) in [(&other_name, &other_name), (&untrusted, &other_name)] {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = listener.local_addr().unwrap();
        let acceptor = served.acceptor.clone();
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let _ = acceptor.accept(tcp).await;
        });
        let mut tandem = Tandem::start(Some(trusting(trusted))).await;
        let started = Instant::now();
        tandem
            .options(
                &format!("sips:bob@localhost:{}", server.port()),
                Transport::Tls,
                server,
                "bad",
            )
            .await;
        let event = tandem.event().await;
        assert!(matches!(event, Event::Timeout { .. }), "{event:?}");
        // Timer F would take 32 s.
        assert!(started.elapsed() < Duration::from_secs(3));
    }
}

#[tokio::test]
async fn the_configured_server_name_replaces_the_request_host() {
    // The peer is reached by address; its certificate names its domain.
    let cert = cert(&["sip.example.com"]);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = listener.local_addr().unwrap();
    let mut config = trusting(&cert);
    config.server_name = Some("sip.example.com".to_owned());
    let mut tandem = Tandem::start(Some(config)).await;
    tandem
        .options(
            &format!("sips:bob@{server}"),
            Transport::Tls,
            server,
            "named",
        )
        .await;
    let (tcp, _) = listener.accept().await.unwrap();
    let tls = cert.acceptor.accept(tcp).await.unwrap();
    let mut reader = common::Reader::new(tls);
    let request = reader.next().await;
    reader
        .stream
        .write_all(ok_to(&request).as_bytes())
        .await
        .unwrap();
    reader.stream.flush().await.unwrap();
    assert_response(&tandem.event().await, 200);
}

/// RFC 7118 §4.1: the server selects `sip` when the client offers it (or not, when `select`
/// is false).
#[allow(clippy::result_large_err)]
fn sip_subprotocol(
    select: bool,
) -> impl FnOnce(
    &Request,
    Response,
) -> Result<Response, tokio_tungstenite::tungstenite::handshake::server::ErrorResponse> {
    move |request: &Request, mut response: Response| {
        let offered = request
            .headers()
            .get("Sec-WebSocket-Protocol")
            .is_some_and(|v| v == "sip");
        assert!(offered, "the sip subprotocol was not offered");
        if select {
            response
                .headers_mut()
                .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("sip"));
        }
        Ok(response)
    }
}

/// Serves one WebSocket connection: answers the first request 200, then sends its own
/// request and returns what came back.
async fn ws_peer<S>(stream: S, transport: &'static str, me: SocketAddr) -> (String, String)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut ws = tokio_tungstenite::accept_hdr_async(stream, sip_subprotocol(true))
        .await
        .unwrap();
    let next = |m: Option<Result<WsMessage, _>>| match m {
        Some(Ok(WsMessage::Text(t))) => t.to_string(),
        other => panic!("{other:?}"),
    };
    let request = next(ws.next().await);
    ws.send(WsMessage::text(ok_to(&request))).await.unwrap();
    ws.send(WsMessage::text(server_options(transport, me)))
        .await
        .unwrap();
    let answer = next(ws.next().await);
    (request, answer)
}

#[tokio::test]
async fn a_request_opens_a_websocket_connection() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = listener.local_addr().unwrap();
    let peer = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        ws_peer(tcp, "WS", server).await
    });
    let mut tandem = Tandem::start(Some(TlsClientConfig::default())).await;
    tandem
        .options(
            &format!("sip:bob@{server};transport=ws"),
            Transport::Ws,
            server,
            "ws-c1",
        )
        .await;
    assert_response(&tandem.event().await, 200);
    let Event::Request { flow, .. } = tandem.event().await else {
        panic!("not a request")
    };
    assert_eq!((flow.transport, flow.remote), (Transport::Ws, server));
    let (request, answer) = peer.await.unwrap();
    assert!(request.contains("Via: SIP/2.0/WS "), "{request}");
    assert!(!request.contains("alias"), "{request}");
    assert!(answer.starts_with("SIP/2.0 200 OK\r\n"), "{answer}");
}

#[tokio::test]
async fn a_request_opens_a_secure_websocket_connection() {
    let cert = cert(&["localhost"]);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = listener.local_addr().unwrap();
    let acceptor = cert.acceptor.clone();
    let peer = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let tls = acceptor.accept(tcp).await.unwrap();
        ws_peer(tls, "WSS", server).await
    });
    let mut tandem = Tandem::start(Some(trusting(&cert))).await;
    let uri = format!("sips:bob@localhost:{};transport=ws", server.port());
    tandem.options(&uri, Transport::Wss, server, "wss-c1").await;
    assert_response(&tandem.event().await, 200);
    let Event::Request { flow, .. } = tandem.event().await else {
        panic!("not a request")
    };
    assert_eq!((flow.transport, flow.remote), (Transport::Wss, server));
    let (request, answer) = peer.await.unwrap();
    assert!(request.contains("Via: SIP/2.0/WSS "), "{request}");
    assert!(answer.starts_with("SIP/2.0 200 OK\r\n"), "{answer}");
}

#[tokio::test]
async fn a_websocket_server_without_the_sip_subprotocol_fails_the_transaction() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let ws = tokio_tungstenite::accept_hdr_async(tcp, sip_subprotocol(false)).await;
        // Keep it open: Tandem must give up by itself.
        tokio::time::sleep(Duration::from_secs(5)).await;
        drop(ws);
    });
    let mut tandem = Tandem::start(Some(TlsClientConfig::default())).await;
    let started = Instant::now();
    tandem
        .options(
            &format!("sip:bob@{server};transport=ws"),
            Transport::Ws,
            server,
            "ws-no",
        )
        .await;
    let event = tandem.event().await;
    assert!(matches!(event, Event::Timeout { .. }), "{event:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn without_a_tls_client_a_tls_flow_fails_at_once() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = listener.local_addr().unwrap();
    let mut tandem = Tandem::start(None).await;
    tandem
        .options("sips:bob@localhost", Transport::Tls, server, "no-client")
        .await;
    let event = tandem.event().await;
    assert!(matches!(event, Event::Timeout { .. }), "{event:?}");
}
