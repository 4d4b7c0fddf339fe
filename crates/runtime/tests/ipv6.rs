#![allow(clippy::unwrap_used, clippy::expect_used)]
//! IPv6 on loopback: UDP and TCP listeners on `[::1]`, `received`/`rport` stamped with an IPv6
//! source, Via of Tandem's own requests in brackets (RFC 5118 §4).

mod common;

use std::time::Duration;

use tandem_sip_core::{EndpointConfig, Transport};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UdpSocket};

async fn recv_text(socket: &UdpSocket) -> String {
    let mut buf = vec![0u8; 65_536];
    let (n, _) = tokio::time::timeout(Duration::from_secs(5), socket.recv_from(&mut buf))
        .await
        .expect("no answer within 5 s")
        .unwrap();
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

#[tokio::test]
async fn udp_on_ipv6_loopback_stamps_received_and_answers() {
    let tandem = common::start(
        common::config("[::1]:0", true, false),
        EndpointConfig::default(),
    )
    .await;
    let server = tandem.addr(Transport::Udp);
    assert!(server.is_ipv6());
    let client = UdpSocket::bind("[::1]:0").await.unwrap();
    let me = client.local_addr().unwrap();
    let request = common::options("UDP", me, "v6udp", "");
    client.send_to(request.as_bytes(), server).await.unwrap();
    let answer = recv_text(&client).await;
    assert!(answer.starts_with("SIP/2.0 200 OK\r\n"), "{answer}");
    // RFC 3581 §4 with an IPv6 source; RFC 5118 §4.5: `received` holds the bare address.
    let via = format!(
        "Via: SIP/2.0/UDP [::1]:{0};branch=z9hG4bKv6udp;rport={0};received=::1\r\n",
        me.port()
    );
    assert!(answer.contains(&via), "{answer}");
}

#[tokio::test]
async fn udp_received_is_added_when_the_ipv6_sent_by_differs() {
    let tandem = common::start(
        common::config("[::1]:0", true, false),
        EndpointConfig::default(),
    )
    .await;
    let server = tandem.addr(Transport::Udp);
    let client = UdpSocket::bind("[::1]:0").await.unwrap();
    let port = client.local_addr().unwrap().port();
    // A sent-by that is not the source, no rport: the answer goes to received:sent-by-port.
    let request = format!(
        "OPTIONS sip:tandem@localhost SIP/2.0\r\n\
         Via: SIP/2.0/UDP [2001:db8::9]:{port};branch=z9hG4bKv6diff\r\n\
         From: <sip:alice@localhost>;tag=a1\r\nTo: <sip:tandem@localhost>\r\n\
         Call-ID: v6diff@test\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    );
    client.send_to(request.as_bytes(), server).await.unwrap();
    let answer = recv_text(&client).await;
    assert!(answer.starts_with("SIP/2.0 200 OK\r\n"), "{answer}");
    assert!(
        answer.contains(&format!(
            "Via: SIP/2.0/UDP [2001:db8::9]:{port};branch=z9hG4bKv6diff;received=::1\r\n"
        )),
        "{answer}"
    );
}

#[tokio::test]
async fn tandem_requests_toward_ipv6_use_brackets() {
    let tandem = common::start(
        common::config("[::1]:0", true, false),
        EndpointConfig::default(),
    )
    .await;
    let server = tandem.addr(Transport::Udp);
    let client = UdpSocket::bind("[::1]:0").await.unwrap();
    let me = client.local_addr().unwrap();
    let back = format!("X-Call-Back: sip:alice@[::1]:{}\r\n", me.port());
    client
        .send_to(
            common::options("UDP", me, "v6back", &back).as_bytes(),
            server,
        )
        .await
        .unwrap();
    let mut got_request = None;
    for _ in 0..2 {
        let m = recv_text(&client).await;
        if m.starts_with("OPTIONS ") {
            got_request = Some(m);
        }
    }
    let request = got_request.expect("Tandem sent no OPTIONS");
    assert!(
        request.contains(&format!(
            "Via: SIP/2.0/UDP [::1]:{};branch=z9hG4bK",
            server.port()
        )),
        "{request}"
    );
}

#[tokio::test]
async fn tcp_on_ipv6_loopback_answers_on_the_connection() {
    let tandem = common::start(
        common::config("[::1]:0", false, true),
        EndpointConfig::default(),
    )
    .await;
    let server = tandem.addr(Transport::Tcp);
    let mut stream = TcpStream::connect(server).await.unwrap();
    let me = stream.local_addr().unwrap();
    stream
        .write_all(common::options("TCP", me, "v6tcp", "").as_bytes())
        .await
        .unwrap();
    let answer = common::Reader::new(stream).next().await;
    assert!(answer.starts_with("SIP/2.0 200 OK\r\n"), "{answer}");
    assert!(answer.contains("received=::1"), "{answer}");
}
