#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Outgoing TCP connections and connection reuse (RFC 3261 §18.1.1, §18.2.2, RFC 5923).

mod common;

use std::time::{Duration, Instant};

use tandem_runtime::sip::SipListenConfig;
use tandem_sip_core::{EndpointConfig, Event, Transport};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream, UdpSocket};

#[tokio::test]
async fn a_request_on_a_tcp_flow_without_connection_opens_one() {
    let mut tandem = common::start(
        common::config("127.0.0.1:0", true, true),
        EndpointConfig::default(),
    )
    .await;
    let peer = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = peer.local_addr().unwrap();
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let me = client.local_addr().unwrap();
    let extra =
        format!("X-Call-Back: sip:bob@{target};transport=tcp\r\nX-Call-Back-To: TCP {target}\r\n");
    client
        .send_to(
            common::options("UDP", me, "out1", &extra).as_bytes(),
            tandem.addr(Transport::Udp),
        )
        .await
        .unwrap();
    let (stream, _) = tokio::time::timeout(Duration::from_secs(5), peer.accept())
        .await
        .unwrap()
        .unwrap();
    let mut reader = common::Reader::new(stream);
    let request = reader.next().await;
    assert!(request.starts_with("OPTIONS sip:bob@"), "{request}");
    assert!(request.contains("Via: SIP/2.0/TCP "), "{request}");
    // Answer on the same connection: the client transaction completes.
    let via = request.lines().find(|l| l.starts_with("Via:")).unwrap();
    let call_id = request.lines().find(|l| l.starts_with("Call-ID:")).unwrap();
    let answer = format!(
        "SIP/2.0 200 OK\r\n{via}\r\nFrom: <sip:tandem@localhost>;tag=t1\r\nTo: <sip:bob@x>;tag=b\r\n\
         {call_id}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    );
    reader.stream.write_all(answer.as_bytes()).await.unwrap();
    loop {
        if let Event::Response { response, .. } = tandem.event().await {
            assert_eq!(response.status(), Some(200));
            break;
        }
    }
}

#[tokio::test]
async fn a_failed_connect_fails_the_transaction_at_once() {
    let mut tandem = common::start(
        common::config("127.0.0.1:0", true, true),
        EndpointConfig::default(),
    )
    .await;
    // A port nobody listens on: the connect is refused.
    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let me = client.local_addr().unwrap();
    let extra =
        format!("X-Call-Back: sip:bob@{closed};transport=tcp\r\nX-Call-Back-To: TCP {closed}\r\n");
    let start = Instant::now();
    client
        .send_to(
            common::options("UDP", me, "out2", &extra).as_bytes(),
            tandem.addr(Transport::Udp),
        )
        .await
        .unwrap();
    loop {
        if let Event::Timeout { .. } = tandem.event().await {
            break;
        }
    }
    // Timer F would take 64·T1 = 32 s.
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn via_alias_lets_requests_reuse_the_connection() {
    let config = SipListenConfig {
        accept_aliases: true,
        ..common::config("127.0.0.1:0", false, true)
    };
    let tandem = common::start(config, EndpointConfig::default()).await;
    let stream = TcpStream::connect(tandem.addr(Transport::Tcp))
        .await
        .unwrap();
    // The peer claims a listening address nobody listens on; with `alias`, requests toward
    // it take this connection instead of a new one.
    let claimed = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let mut reader = common::Reader::new(stream);
    let first =
        common::options("TCP", claimed, "alias1", "").replace(";rport\r\n", ";rport;alias\r\n");
    reader.stream.write_all(first.as_bytes()).await.unwrap();
    assert!(reader.next().await.starts_with("SIP/2.0 200 OK"));
    let extra = format!(
        "X-Call-Back: sip:alice@{claimed};transport=tcp\r\nX-Call-Back-To: TCP {claimed}\r\n"
    );
    let second = common::options("TCP", claimed, "alias2", &extra);
    reader.stream.write_all(second.as_bytes()).await.unwrap();
    let seen = [reader.next().await, reader.next().await];
    assert!(
        seen.iter().any(|m| m.starts_with("OPTIONS sip:alice@")),
        "{seen:?}"
    );
}

#[tokio::test]
async fn responses_follow_the_connection_of_their_request() {
    let tandem = common::start(
        common::config("127.0.0.1:0", false, true),
        EndpointConfig::default(),
    )
    .await;
    let stream = TcpStream::connect(tandem.addr(Transport::Tcp))
        .await
        .unwrap();
    let mut reader = common::Reader::new(stream);
    // The Via names another address; the answer still comes back on this connection
    // (§18.2.2).
    let request = common::options("TCP", "127.0.0.1:9".parse().unwrap(), "resp1", "");
    reader.stream.write_all(request.as_bytes()).await.unwrap();
    let answer = reader.next().await;
    assert!(answer.starts_with("SIP/2.0 200 OK"), "{answer}");
    assert!(answer.contains("received=127.0.0.1"), "{answer}");
}
