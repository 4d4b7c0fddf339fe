#![allow(clippy::unwrap_used, clippy::expect_used)]
//! System test: the real `tandem serve` binary on loopback sockets, driven over UDP and TCP.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Server {
    child: Child,
    udp: SocketAddr,
    tcp: SocketAddr,
    http: SocketAddr,
    _data: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Server {
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args([
            "serve",
            "--sip",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--data",
        ])
        .arg(data.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut udp, mut tcp, mut http) = (None, None, None);
    while udp.is_none() || tcp.is_none() || http.is_none() {
        let line = lines.next().expect("server output").unwrap();
        let addr = line.rsplit(' ').next().and_then(|a| a.parse().ok());
        if line.contains("listening on UDP") {
            udp = addr;
        } else if line.contains("listening on TCP") {
            tcp = addr;
        } else if line.contains("HTTP listening on") {
            http = addr;
        }
    }
    // Keep reading so the server never writes into a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Server {
        child,
        udp: udp.unwrap(),
        tcp: tcp.unwrap(),
        http: http.unwrap(),
        _data: data,
    }
}

fn options(via: &str, call_id: &str) -> String {
    format!(
        "OPTIONS sip:ping@127.0.0.1 SIP/2.0\r\nVia: {via};branch=z9hG4bK{call_id};rport\r\n\
         From: <sip:t@127.0.0.1>;tag=1\r\nTo: <sip:ping@127.0.0.1>\r\nCall-ID: {call_id}\r\n\
         CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )
}

fn udp_exchange(server: SocketAddr, msg: &[u8]) -> String {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.send_to(msg, server).unwrap();
    let mut buf = [0u8; 65_535];
    let (n, _) = s.recv_from(&mut buf).unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[test]
fn answers_options_over_udp_and_tcp_and_rejects_malformed() {
    let server = start();

    let r = udp_exchange(
        server.udp,
        options("SIP/2.0/UDP 127.0.0.1:9", "u1").as_bytes(),
    );
    assert!(r.starts_with("SIP/2.0 200 OK\r\n"), "{r}");
    assert!(
        r.contains("Allow: INVITE, ACK, CANCEL, BYE, OPTIONS"),
        "{r}"
    );
    assert!(r.contains(";received=127.0.0.1"), "RFC 3581 stamp: {r}");

    let bad = "OPTIONS sip:ping@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx;rport\r\n\
               From: <sip:t@127.0.0.1>;tag=1\r\nTo: <sip:ping@127.0.0.1>\r\nCall-ID: u2\r\n\
               CSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
    let r = udp_exchange(server.udp, bad.as_bytes());
    assert!(
        r.starts_with("SIP/2.0 400 Bad Request (CSeq method does not match request method)\r\n"),
        "{r}"
    );

    let unknown = options("SIP/2.0/UDP 127.0.0.1:9", "u3")
        .replacen("OPTIONS", "FROBNICATE", 1)
        .replace("1 OPTIONS", "1 FROBNICATE");
    let r = udp_exchange(server.udp, unknown.as_bytes());
    assert!(r.starts_with("SIP/2.0 501 "), "{r}");

    let mut tcp = TcpStream::connect(server.tcp).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    // RFC 5626 §4.4.1 keep-alive: a double-CRLF ping gets a CRLF pong.
    tcp.write_all(b"\r\n\r\n").unwrap();
    let mut pong = [0u8; 2];
    tcp.read_exact(&mut pong).unwrap();
    assert_eq!(&pong, b"\r\n");
    // Two requests in one write, one split across writes: Content-Length framing.
    let one = options("SIP/2.0/TCP 127.0.0.1:9", "t1");
    let two = options("SIP/2.0/TCP 127.0.0.1:9", "t2");
    let three = options("SIP/2.0/TCP 127.0.0.1:9", "t3");
    tcp.write_all(format!("{one}{two}").as_bytes()).unwrap();
    let (a, b) = three.split_at(40);
    tcp.write_all(a.as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    tcp.write_all(b.as_bytes()).unwrap();
    let mut got = String::new();
    let mut buf = [0u8; 4096];
    while got.matches("SIP/2.0 200 OK").count() < 3 {
        let n = tcp.read(&mut buf).unwrap();
        assert!(n > 0, "connection closed early: {got}");
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    for id in ["t1", "t2", "t3"] {
        assert!(got.contains(&format!("Call-ID: {id}\r\n")), "{got}");
    }
}

fn http_get(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn http_health_status_and_json_404() {
    let server = start();
    let r = http_get(server.http, "/health");
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    assert!(r.contains(r#"{"status":"ok"}"#), "{r}");
    let r = http_get(server.http, "/v1/status");
    assert!(r.contains(&server.udp.to_string()), "{r}");
    let r = http_get(server.http, "/nope");
    assert!(r.starts_with("HTTP/1.1 404"), "{r}");
    assert!(r.contains(r#""error""#), "{r}");
}

#[test]
fn a_call_to_a_conference_room_is_answered_and_recorded() {
    let server = start();
    let sip = UdpSocket::bind("127.0.0.1:0").unwrap();
    sip.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let me = sip.local_addr().unwrap();
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let media_port = rtp.local_addr().unwrap().port();
    let sdp = format!(
        "v=0\r\no=t 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {media_port} RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
    );
    let headers = |method: &str, cseq: u32, to_tag: &str| {
        format!(
            "{method} sip:conf-test@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK{method}{cseq};rport\r\n\
             From: <sip:t@127.0.0.1>;tag=abc\r\nTo: <sip:conf-test@127.0.0.1>{to_tag}\r\nCall-ID: room-call\r\n\
             CSeq: {cseq} {method}\r\nContact: <sip:t@{me}>\r\nMax-Forwards: 70\r\n"
        )
    };
    let invite = format!(
        "{}Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        headers("INVITE", 1, ""),
        sdp.len()
    );
    sip.send_to(invite.as_bytes(), server.udp).unwrap();
    let mut buf = [0u8; 65_535];
    let ok = loop {
        let (n, _) = sip.recv_from(&mut buf).unwrap();
        let r = String::from_utf8_lossy(&buf[..n]).into_owned();
        if r.starts_with("SIP/2.0 200") {
            break r;
        }
    };
    assert!(ok.contains("Content-Type: application/sdp"), "{ok}");
    let port: u16 = ok
        .lines()
        .find_map(|l| l.strip_prefix("m=audio "))
        .and_then(|l| l.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        ok.contains("RTP/AVP 0 101"),
        "PCMU and telephone-event answered: {ok}"
    );
    let to_tag = ok
        .lines()
        .find_map(|l| l.strip_prefix("To: "))
        .and_then(|l| l.split(";tag=").nth(1))
        .unwrap()
        .trim()
        .to_owned();
    let ack = format!(
        "{}Content-Length: 0\r\n\r\n",
        headers("ACK", 1, &format!(";tag={to_tag}"))
    );
    sip.send_to(ack.as_bytes(), server.udp).unwrap();

    // One second of a 1 kHz tone in PCMU, 50 packets of 20 ms.
    let media = SocketAddr::from(([127, 0, 0, 1], port));
    for i in 0..50u16 {
        let mut packet = vec![0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 42];
        packet[2..4].copy_from_slice(&i.to_be_bytes());
        packet[4..8].copy_from_slice(&(u32::from(i) * 160).to_be_bytes());
        for n in 0..160u32 {
            let t = f64::from(u32::from(i) * 160 + n) / 8000.0;
            let sample = (8000.0 * (2.0 * std::f64::consts::PI * 1000.0 * t).sin()) as i16;
            packet.push(linear_to_ulaw(sample));
        }
        rtp.send_to(&packet, media).unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    let bye = format!(
        "{}Content-Length: 0\r\n\r\n",
        headers("BYE", 2, &format!(";tag={to_tag}"))
    );
    sip.send_to(bye.as_bytes(), server.udp).unwrap();
    let bye_ok = loop {
        let (n, _) = sip.recv_from(&mut buf).unwrap();
        let r = String::from_utf8_lossy(&buf[..n]).into_owned();
        if r.contains("CSeq: 2 BYE") {
            break r;
        }
    };
    assert!(bye_ok.starts_with("SIP/2.0 200"), "{bye_ok}");
    // The media thread finalises the recording within a tick of the BYE; wait for it, bounded.
    let recording = server._data.path().join("recordings/test-0.wav");
    let mut bytes = Vec::new();
    for _ in 0..50 {
        bytes = std::fs::read(&recording).unwrap_or_default();
        if bytes.len() > 44 + 12_000 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // 44-byte header + about one second of 8 kHz 16-bit audio.
    assert!(bytes.len() > 44 + 12_000, "{} bytes", bytes.len());
    let samples: Vec<i16> = bytes[44..]
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
        .collect();
    let peak = samples.iter().map(|s| s.unsigned_abs()).max().unwrap();
    assert!(
        (7_000..=9_000).contains(&peak),
        "the tone is in the recording at its level: {peak}"
    );
}

/// G.711 μ-law encoder (ITU-T G.711), independent of the one under test.
fn linear_to_ulaw(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    let mut s = i32::from(sample);
    let sign = if s < 0 { 0x80 } else { 0 };
    if s < 0 {
        s = -s;
    }
    s = (s + BIAS).min(0x7FFF);
    let exponent = (7 - (s.leading_zeros() as i32 - 17)).clamp(0, 7);
    let mantissa = (s >> (exponent + 3)) & 0x0F;
    !(sign | (exponent << 4) as u8 | mantissa as u8)
}
