#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Overload: at `max_transactions`, new INVITEs get a stateless 503 with Retry-After
//! (RFC 3261 §21.5.4) while in-dialog requests, other requests and responses still flow.

mod common;

use std::time::Duration;

use tandem_runtime::sip::SipListenConfig;
use tandem_sip_core::{EndpointConfig, Transport};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UdpSocket};

fn invite(me: std::net::SocketAddr, transport: &str, branch: &str, to_tag: &str) -> String {
    format!(
        "INVITE sip:bob@localhost SIP/2.0\r\n\
         Via: SIP/2.0/{transport} {me};branch=z9hG4bK{branch};rport\r\n\
         From: <sip:alice@localhost>;tag=a{branch}\r\nTo: <sip:bob@localhost>{to_tag}\r\n\
         Call-ID: {branch}@test\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n\
         Contact: <sip:alice@{me}>\r\nContent-Length: 0\r\n\r\n"
    )
}

fn overloaded() -> SipListenConfig {
    SipListenConfig {
        max_transactions: 0,
        retry_after: 9,
        ..common::config("127.0.0.1:0", true, true)
    }
}

async fn exchange(client: &UdpSocket, to: std::net::SocketAddr, text: &str) -> String {
    client.send_to(text.as_bytes(), to).await.unwrap();
    let mut buf = vec![0u8; 65_536];
    let (n, _) = tokio::time::timeout(Duration::from_secs(5), client.recv_from(&mut buf))
        .await
        .expect("no answer")
        .unwrap();
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

#[tokio::test]
async fn new_invites_get_503_but_other_requests_flow_over_udp() {
    let tandem = common::start(overloaded(), EndpointConfig::default()).await;
    let server = tandem.addr(Transport::Udp);
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let me = client.local_addr().unwrap();

    let busy = exchange(&client, server, &invite(me, "UDP", "ov1", "")).await;
    assert!(
        busy.starts_with("SIP/2.0 503 Service Unavailable\r\n"),
        "{busy}"
    );
    assert!(busy.contains("Retry-After: 9\r\n"), "{busy}");
    assert!(busy.contains("Call-ID: ov1@test\r\n"), "{busy}");
    // Stateless: a retransmission gets the same answer, same To tag.
    let again = exchange(&client, server, &invite(me, "UDP", "ov1", "")).await;
    assert_eq!(busy, again);

    // An in-dialog INVITE (To tag) reaches the endpoint, which knows no such dialog: 481.
    let in_dialog = exchange(&client, server, &invite(me, "UDP", "ov2", ";tag=b1")).await;
    assert!(in_dialog.starts_with("SIP/2.0 481 "), "{in_dialog}");
    // Other requests are still served.
    let options = exchange(&client, server, &common::options("UDP", me, "ov3", "")).await;
    assert!(options.starts_with("SIP/2.0 200 OK"), "{options}");
}

#[tokio::test]
async fn new_invites_get_503_over_tcp() {
    let tandem = common::start(overloaded(), EndpointConfig::default()).await;
    let stream = TcpStream::connect(tandem.addr(Transport::Tcp))
        .await
        .unwrap();
    let me = stream.local_addr().unwrap();
    let mut reader = common::Reader::new(stream);
    reader
        .stream
        .write_all(invite(me, "TCP", "ov4", "").as_bytes())
        .await
        .unwrap();
    let busy = reader.next().await;
    assert!(
        busy.starts_with("SIP/2.0 503 Service Unavailable\r\n"),
        "{busy}"
    );
    assert!(busy.contains("Retry-After: 9\r\n"), "{busy}");
}

#[tokio::test]
async fn below_the_limit_invites_reach_the_application() {
    let config = SipListenConfig {
        max_transactions: 10,
        ..overloaded()
    };
    let tandem = common::start(config, EndpointConfig::default()).await;
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let me = client.local_addr().unwrap();
    let answer = exchange(
        &client,
        tandem.addr(Transport::Udp),
        &invite(me, "UDP", "ov5", ""),
    )
    .await;
    assert!(!answer.starts_with("SIP/2.0 503"), "{answer}");
}
