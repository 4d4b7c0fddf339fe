#![allow(clippy::unwrap_used, clippy::expect_used)]
//! System tests: the real `tandem serve` binary with UDP user agents on loopback, driven
//! over SIP, the REST API and the WebSocket event stream.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tandem_sip_core::auth::DigestClient;
use tokio_tungstenite::tungstenite;

struct Server {
    child: Child,
    udp: SocketAddr,
    http: SocketAddr,
    _data: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(config: &str) -> Server {
    let data = tempfile::tempdir().unwrap();
    let file = data.path().join("tandem.toml");
    std::fs::write(&file, config).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args([
            "serve",
            "--sip",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--config",
        ])
        .arg(&file)
        .arg("--data")
        .arg(data.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut udp, mut http) = (None, None);
    while udp.is_none() || http.is_none() {
        let line = lines.next().expect("server output").unwrap();
        let addr = line.rsplit(' ').next().and_then(|a| a.parse().ok());
        if line.contains("listening on UDP") {
            udp = addr;
        } else if line.contains("HTTP listening on") {
            http = addr;
        }
    }
    std::thread::spawn(move || lines.for_each(drop));
    Server {
        child,
        udp: udp.unwrap(),
        http: http.unwrap(),
        _data: data,
    }
}

/// A scripted UDP user agent.
struct Ua {
    sock: UdpSocket,
    addr: SocketAddr,
}

impl Ua {
    fn new() -> Self {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let addr = sock.local_addr().unwrap();
        Self { sock, addr }
    }

    fn send(&self, to: SocketAddr, msg: &str) {
        self.sock.send_to(msg.as_bytes(), to).unwrap();
    }

    /// The next message whose start line begins with `start` (skipping retransmissions and
    /// anything else), within 5 s; with the address it came from.
    fn expect(&self, start: &str) -> (String, SocketAddr) {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut seen = Vec::new();
        let mut buf = [0u8; 65_535];
        while Instant::now() < deadline {
            if let Ok((n, from)) = self.sock.recv_from(&mut buf) {
                let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                if msg.starts_with(start) {
                    return (msg, from);
                }
                seen.push(msg.lines().next().unwrap_or_default().to_owned());
            }
        }
        panic!("{}: no `{start}` within 5 s; saw {seen:?}", self.addr);
    }

    /// A response to `request`, with a To tag and optional extra lines and SDP.
    fn reply(&self, to: SocketAddr, request: &str, status: &str, sdp: Option<&str>) {
        let mut out = format!("SIP/2.0 {status}\r\n");
        for line in request.lines() {
            let lower = line.to_ascii_lowercase();
            if lower.starts_with("via:")
                || lower.starts_with("from:")
                || lower.starts_with("call-id:")
                || lower.starts_with("cseq:")
            {
                out.push_str(line);
                out.push_str("\r\n");
            } else if lower.starts_with("to:") {
                out.push_str(line);
                if !lower.contains(";tag=") {
                    out.push_str(";tag=ua");
                }
                out.push_str("\r\n");
            }
        }
        out.push_str(&format!("Contact: <sip:ua@{}>\r\n", self.addr));
        match sdp {
            Some(body) => out.push_str(&format!(
                "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )),
            None => out.push_str("Content-Length: 0\r\n\r\n"),
        }
        self.send(to, &out);
    }

    fn invite(&self, server: SocketAddr, uri: &str, call_id: &str) -> String {
        let sdp = sdp(self.addr.port() + 1);
        let msg = format!(
            "INVITE {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {a};branch=z9hG4bK{call_id};rport\r\n\
             From: <sip:caller@{a}>;tag=c1\r\nTo: <{uri}>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\n\
             Contact: <sip:caller@{a}>\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\n\
             Content-Length: {}\r\n\r\n{sdp}",
            sdp.len(),
            a = self.addr
        );
        self.send(server, &msg);
        msg
    }

    /// The ACK for a 2xx (a new transaction, RFC 3261 §13.2.2.4).
    fn ack(&self, server: SocketAddr, ok: &str, uri: &str, call_id: &str) {
        let to = header(ok, "To").unwrap();
        let msg = format!(
            "ACK {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {a};branch=z9hG4bKack{call_id};rport\r\n\
             From: <sip:caller@{a}>;tag=c1\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: 1 ACK\r\n\
             Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
            a = self.addr
        );
        self.send(server, &msg);
    }

    /// REGISTER `user` with digest authentication; `contact` is what the Contact claims.
    fn register(&self, server: SocketAddr, user: &str, password: &str, contact: &str) {
        let register = |cseq: u32, auth: Option<String>| {
            let auth = auth
                .map(|a| format!("Authorization: {a}\r\n"))
                .unwrap_or_default();
            format!(
                "REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP {a};branch=z9hG4bKreg{user}{cseq};rport\r\n\
                 From: <sip:{user}@127.0.0.1>;tag=r{user}\r\nTo: <sip:{user}@127.0.0.1>\r\n\
                 Call-ID: reg-{user}\r\nCSeq: {cseq} REGISTER\r\nContact: <{contact}>\r\n\
                 Expires: 600\r\nMax-Forwards: 70\r\n{auth}Content-Length: 0\r\n\r\n",
                a = self.addr
            )
        };
        self.send(server, &register(1, None));
        let (challenge, _) = self.expect("SIP/2.0 401");
        let challenges: Vec<String> = challenge
            .lines()
            .filter_map(|l| l.strip_prefix("WWW-Authenticate: ").map(str::to_owned))
            .collect();
        let chosen = DigestClient::select(&challenges).unwrap();
        let auth = DigestClient::new(7)
            .authorize(chosen, "REGISTER", "sip:127.0.0.1", user, password)
            .unwrap();
        self.send(server, &register(2, Some(auth)));
        let (ok, _) = self.expect("SIP/2.0 200");
        assert!(ok.contains("Contact:"), "{ok}");
    }
}

fn sdp(port: u16) -> String {
    format!(
        "v=0\r\no=ua 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    )
}

fn header(msg: &str, name: &str) -> Option<String> {
    let prefix = format!("{}:", name.to_ascii_lowercase());
    msg.lines()
        .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
        .map(|l| l[prefix.len()..].trim().to_owned())
}

/// One HTTP/1.1 exchange; the status and the JSON body.
fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let body = body.unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out[9..12].parse().unwrap();
    let (_, json) = out.split_once("\r\n\r\n").unwrap();
    (status, serde_json::from_str(json).unwrap_or(Value::Null))
}

type Ws = tungstenite::WebSocket<TcpStream>;

fn events(addr: SocketAddr) -> Ws {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let (ws, resp) = tungstenite::client(format!("ws://{addr}/v1/events"), stream).unwrap();
    assert_eq!(resp.status(), 101);
    ws
}

/// Events until one of `kind` arrives (within the socket's read timeout); all of them.
fn events_until(ws: &mut Ws, kind: &str) -> Vec<Value> {
    let mut got = Vec::new();
    loop {
        let msg = ws
            .read()
            .unwrap_or_else(|e| panic!("no `{kind}` event: {e}; got {got:?}"));
        if let tungstenite::Message::Text(t) = msg {
            let v: Value = serde_json::from_str(&t).unwrap();
            let done = v["type"] == kind;
            got.push(v);
            if done {
                return got;
            }
        }
    }
}

#[test]
fn the_api_lists_shows_and_hangs_up_a_routed_call() {
    let callee = Ua::new();
    let config = format!(
        "[[route]]\nmatch = \"^sip:callee@\"\ndestination = \"sip:callee@{}\"\n",
        callee.addr
    );
    let server = start(&config);
    let mut ws = events(server.http);
    let caller = Ua::new();
    let uri = "sip:callee@127.0.0.1";
    caller.invite(server.udp, uri, "api-1");
    let (invite, from) = callee.expect("INVITE ");
    assert!(!invite.contains("api-1"), "topology hiding: {invite}");
    callee.reply(from, &invite, "180 Ringing", None);
    callee.reply(from, &invite, "200 OK", Some(&sdp(callee.addr.port() + 1)));
    let (ok, _) = caller.expect("SIP/2.0 200");
    caller.ack(server.udp, &ok, uri, "api-1");
    callee.expect("ACK ");

    let (status, list) = http(server.http, "GET", "/v1/calls", None);
    assert_eq!(status, 200, "{list}");
    let call = &list["calls"][0];
    let id = call["id"].as_u64().unwrap();
    assert_eq!(call["kind"], "b2b");
    assert_eq!(call["state"], "established");
    assert_eq!(call["media"], "connected");
    assert!(call["answered"].is_string(), "{call}");
    assert_eq!(call["legs"][0]["remote"], format!("udp:{}", caller.addr));
    assert_eq!(call["legs"][0]["call_id"], "api-1");
    assert!(
        call["legs"][0]["to"].as_str().unwrap().contains(uri),
        "{call}"
    );
    let callee_uri = format!("sip:callee@{}", callee.addr);
    assert!(
        call["legs"][1]["to"]
            .as_str()
            .unwrap()
            .contains(&callee_uri),
        "{call}"
    );
    assert_eq!(call["legs"][1]["remote"], format!("udp:{}", callee.addr));
    assert_ne!(call["legs"][1]["call_id"], "api-1");
    let (status, one) = http(server.http, "GET", &format!("/v1/calls/{id}"), None);
    assert_eq!((status, &one), (200, call));

    let (status, gone) = http(server.http, "DELETE", &format!("/v1/calls/{id}"), None);
    assert_eq!(status, 202, "{gone}");
    let (bye, from) = caller.expect("BYE ");
    assert!(bye.contains("Reason: SIP;cause=200"), "RFC 3326: {bye}");
    caller.reply(from, &bye, "200 OK", None);
    let (bye, from) = callee.expect("BYE ");
    callee.reply(from, &bye, "200 OK", None);
    let seen = events_until(&mut ws, "ended");
    assert!(seen.iter().all(|e| e["call"] == id), "{seen:?}");
    let kinds: Vec<String> = seen
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["type"].as_str().unwrap(),
                e["state"].as_str().unwrap_or("")
            )
        })
        .collect();
    let order = [
        "state_changed establishing",
        "media_flow connected",
        "state_changed established",
        "state_changed terminating",
        "record ",
        "ended ",
    ];
    let mut at = 0;
    for want in order {
        let found = kinds[at..].iter().position(|k| *k == want);
        at += found.unwrap_or_else(|| panic!("`{want}` missing or out of order: {kinds:?}"));
    }
    let record = seen.iter().find(|e| e["type"] == "record").unwrap();
    assert_eq!(record["legs"][1]["final_status"], 200, "{record}");
    assert_eq!(record["cause"]["kind"], "terminated");
    assert_eq!(seen.last().unwrap()["cause"]["kind"], "terminated");

    let (status, body) = http(server.http, "GET", &format!("/v1/calls/{id}"), None);
    assert_eq!((status, &body["error"]), (404, &Value::from("not_found")));
    let (status, body) = http(server.http, "DELETE", &format!("/v1/calls/{id}"), None);
    assert_eq!((status, &body["error"]), (404, &Value::from("not_found")));
    let (status, body) = http(server.http, "GET", "/v1/calls", None);
    assert_eq!(
        (status, body["calls"].as_array().map(Vec::len)),
        (200, Some(0))
    );
}

#[test]
fn registered_users_call_each_other_by_default() {
    let server = start(
        "[registrar]\nalgorithms = [\"MD5\"]\n\
         [[user]]\nname = \"alice\"\npassword = \"a-secret\"\n\
         [[user]]\nname = \"bob\"\npassword = \"b-secret\"\n\
         [[user]]\nname = \"dave\"\npassword = \"d-secret\"\n",
    );
    let alice = Ua::new();
    let bob = Ua::new();
    // Alice's Contact names a port nobody listens on, as a phone behind NAT names its
    // private address: the INVITE must come back the way her REGISTER came.
    alice.register(server.udp, "alice", "a-secret", "sip:alice@127.0.0.1:9");
    bob.register(
        server.udp,
        "bob",
        "b-secret",
        &format!("sip:bob@{}", bob.addr),
    );

    let uri = "sip:alice@127.0.0.1";
    bob.invite(server.udp, uri, "reg-1");
    let (invite, from) = alice.expect("INVITE ");
    assert!(
        invite.starts_with("INVITE sip:alice@127.0.0.1:9 SIP/2.0"),
        "{invite}"
    );
    assert_eq!(from, server.udp);
    alice.reply(from, &invite, "200 OK", Some(&sdp(alice.addr.port() + 1)));
    let (ok, _) = bob.expect("SIP/2.0 200");
    bob.ack(server.udp, &ok, uri, "reg-1");
    alice.expect("ACK ");
    let (status, list) = http(server.http, "GET", "/v1/calls", None);
    assert_eq!(
        (status, list["calls"][0]["state"].as_str()),
        (200, Some("established"))
    );

    // Dave is an account with no registration: 480; Carol is nobody: 404.
    bob.invite(server.udp, "sip:dave@127.0.0.1", "reg-2");
    bob.expect("SIP/2.0 480");
    bob.invite(server.udp, "sip:carol@127.0.0.1", "reg-3");
    bob.expect("SIP/2.0 404");
}

#[test]
fn post_originates_a_call_between_two_uris() {
    let server = start("[[user]]\nname = \"carol\"\npassword = \"c\"\n");
    let agent = Ua::new();
    let customer = Ua::new();
    let mut ws = events(server.http);
    let body = format!(
        r#"{{"from": "sip:agent@{}", "to": "sip:customer@{}", "headers": {{"X-Campaign": "spring"}},
            "caller_id": "\"Sales\" <sip:sales@example.com>"}}"#,
        agent.addr, customer.addr
    );
    let (status, created) = http(server.http, "POST", "/v1/calls", Some(&body));
    assert_eq!(status, 202, "{created}");
    let id = created["id"].as_u64().unwrap();
    assert_eq!(created["url"], format!("/v1/calls/{id}"));

    // RFC 3725 Flow I: the first party is called without an offer...
    let (invite, from) = agent.expect("INVITE ");
    assert!(
        !invite.contains("m=audio"),
        "no offer to the first party: {invite}"
    );
    assert!(invite.contains("X-Campaign: spring"), "{invite}");
    let shown = header(&invite, "From").unwrap();
    assert!(
        shown.contains(&format!("sip:customer@{}", customer.addr)),
        "{shown}"
    );
    agent.reply(from, &invite, "200 OK", Some(&sdp(agent.addr.port() + 1)));
    // ...and its offer goes to the second party, with the caller id asked for.
    let (invite, from) = customer.expect("INVITE ");
    assert!(
        invite.contains(&format!("m=audio {} ", agent.addr.port() + 1)),
        "{invite}"
    );
    let shown = header(&invite, "From").unwrap();
    assert!(
        shown.starts_with("\"Sales\" <sip:sales@example.com>"),
        "{shown}"
    );
    assert!(invite.contains("X-Campaign: spring"), "{invite}");
    customer.reply(
        from,
        &invite,
        "200 OK",
        Some(&sdp(customer.addr.port() + 1)),
    );
    customer.expect("ACK ");
    let (ack, _) = agent.expect("ACK ");
    assert!(
        ack.contains(&format!("m=audio {} ", customer.addr.port() + 1)),
        "the answer: {ack}"
    );

    let (status, call) = http(server.http, "GET", &format!("/v1/calls/{id}"), None);
    assert_eq!(status, 200, "{call}");
    assert_eq!(
        (call["kind"].as_str(), call["state"].as_str()),
        (Some("originate"), Some("established"))
    );
    assert_eq!(call["legs"][1]["remote"], format!("udp:{}", customer.addr));

    let (status, _) = http(server.http, "DELETE", &format!("/v1/calls/{id}"), None);
    assert_eq!(status, 202);
    for ua in [&agent, &customer] {
        let (bye, from) = ua.expect("BYE ");
        ua.reply(from, &bye, "200 OK", None);
    }
    let seen = events_until(&mut ws, "ended");
    assert!(
        seen.iter()
            .any(|e| e["type"] == "record" && e["kind"] == "originate"),
        "{seen:?}"
    );

    // Parties Tandem cannot reach are refused before anything is sent.
    let cases = [
        r#"{"from": "sip:agent@pbx.example.com", "to": "sip:b@127.0.0.1:9"}"#,
        r#"{"from": "sip:carol@127.0.0.1", "to": "sip:b@127.0.0.1:9"}"#,
    ];
    for body in cases {
        let (status, err) = http(server.http, "POST", "/v1/calls", Some(body));
        assert_eq!(
            (status, err["error"].as_str()),
            (422, Some("unroutable")),
            "{body}: {err}"
        );
    }
    let (status, err) = http(server.http, "POST", "/v1/calls", Some(r#"{"from": 5}"#));
    assert_eq!(
        (status, err["error"].as_str()),
        (422, Some("invalid_body")),
        "{err}"
    );
}

/// `localhost` and `*.invalid` are answered by the resolver itself (RFC 6761 §6.3, §6.4):
/// no DNS query leaves the machine.
#[test]
fn route_destinations_named_by_host_are_resolved() {
    let callee = Ua::new();
    let config = format!(
        "[[route]]\nmatch = \"^sip:callee@\"\ndestination = \"sip:callee@localhost:{}\"\n\
         [[route]]\nmatch = \"^sip:nowhere@\"\ndestination = \"sip:nowhere@nowhere.invalid\"\n",
        callee.addr.port()
    );
    let server = start(&config);
    let caller = Ua::new();
    let uri = "sip:callee@127.0.0.1";
    caller.invite(server.udp, uri, "dns-1");
    caller.expect("SIP/2.0 100");
    // RFC 3263 §4.2: an explicit port means A/AAAA of `localhost`.
    let (invite, from) = callee.expect("INVITE ");
    assert!(
        invite.starts_with("INVITE sip:callee@localhost:"),
        "{invite}"
    );
    callee.reply(from, &invite, "200 OK", Some(&sdp(callee.addr.port() + 1)));
    let (ok, _) = caller.expect("SIP/2.0 200");
    caller.ack(server.udp, &ok, uri, "dns-1");
    callee.expect("ACK ");

    let started = Instant::now();
    caller.invite(server.udp, "sip:nowhere@127.0.0.1", "dns-2");
    let (refused, _) = caller.expect("SIP/2.0 503");
    assert!(refused.contains("dns-2"), "{refused}");
    eprintln!(
        "unresolvable destination refused in {:?}",
        started.elapsed()
    );
}

#[test]
fn route_leg_settings_reach_the_outgoing_leg() {
    let callee = Ua::new();
    let config = format!(
        "[[route]]\nmatch = \"^sip:callee@\"\ndestination = \"sip:callee@{}\"\n\
         ring_timeout_s = 1\nsession_expires_s = 120\n\
         [route.credentials]\nusername = \"tandem\"\npassword = \"secret\"\n",
        callee.addr
    );
    let server = start(&config);
    let caller = Ua::new();
    caller.invite(server.udp, "sip:callee@127.0.0.1", "leg-1");
    let (invite, from) = callee.expect("INVITE ");
    // RFC 4028: Tandem asks for the session timer and refreshes it itself.
    let expires = header(&invite, "Session-Expires").unwrap_or_default();
    assert!(expires.starts_with("120"), "{invite}");
    // RFC 3261 §22.2: a challenge is answered with the route's credentials.
    let challenge = "Digest realm=\"carrier\", nonce=\"n0nce\", qop=\"auth\", algorithm=MD5";
    let mut unauthorized = String::new();
    for line in invite.lines() {
        let lower = line.to_ascii_lowercase();
        if ["via:", "from:", "call-id:", "cseq:"]
            .iter()
            .any(|h| lower.starts_with(h))
        {
            unauthorized.push_str(&format!("{line}\r\n"));
        } else if lower.starts_with("to:") {
            unauthorized.push_str(&format!("{line};tag=auth\r\n"));
        }
    }
    let unauthorized = format!(
        "SIP/2.0 401 Unauthorized\r\n{unauthorized}WWW-Authenticate: {challenge}\r\nContent-Length: 0\r\n\r\n"
    );
    callee.send(from, &unauthorized);
    let (again, from) = callee.expect("INVITE ");
    let auth = header(&again, "Authorization").unwrap_or_default();
    assert!(
        auth.contains("username=\"tandem\"") && auth.contains("realm=\"carrier\""),
        "{again}"
    );
    callee.reply(from, &again, "180 Ringing", None);
    caller.expect("SIP/2.0 180");
    // The ring timeout cancels leg B (RFC 3261 §9.1) and the caller gets 480.
    let started = Instant::now();
    let (cancel, from) = callee.expect("CANCEL ");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    callee.reply(from, &cancel, "200 OK", None);
    callee.reply(from, &again, "487 Request Terminated", None);
    caller.expect("SIP/2.0 480");
}
