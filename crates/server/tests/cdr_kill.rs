#![allow(clippy::unwrap_used, clippy::expect_used)]
//! System test: call detail records survive `kill -9`.
//!
//! The real `tandem serve` relays calls from a UAC written here on a plain UDP socket to a
//! scripted UAS (another UDP socket, on its own thread). Some calls complete (caller hangs
//! up, callee hangs up, callee busy, a conference room call), one is left talking, then the server gets SIGKILL
//! (`Child::kill`) and the database is opened as the process left it: every call that had
//! ended is there with both legs, their codes and the cause; the call in progress is a row
//! with no end.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tandem_store::{CallKind, CallQuery, CdrCall, CdrState, EndedBy, LegName, Store};

const SDP: &str = "v=0\r\no=t 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
                   m=audio 40000 RTP/AVP 0\r\n";

struct Server {
    child: Child,
    udp: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(config: &std::path::Path, data: &std::path::Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args([
            "serve",
            "--sip",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--config",
        ])
        .arg(config)
        .arg("--data")
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let udp = loop {
        let line = lines.next().expect("server output").unwrap();
        if line.contains("listening on UDP") {
            break line.rsplit(' ').next().unwrap().parse().unwrap();
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    Server { child, udp }
}

/// The value of the first header `name` (case-insensitive, no compact forms needed here).
fn header<'a>(msg: &'a str, name: &str) -> &'a str {
    msg.split("\r\n")
        .take_while(|l| !l.is_empty())
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
        .unwrap_or_else(|| panic!("no {name} in {msg}"))
}

/// Every Via of a request, in order.
fn vias(msg: &str) -> Vec<&str> {
    msg.split("\r\n")
        .take_while(|l| !l.is_empty())
        .filter_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case("via").then(|| v.trim())
        })
        .collect()
}

fn recv(sock: &UdpSocket) -> Option<String> {
    let mut buf = [0u8; 65_535];
    let (n, _) = sock.recv_from(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// The scripted UAS. By Request-URI user: `busy` answers 486; `hangup` answers 200 and sends
/// BYE after the ACK; anyone else answers 180 then 200 and waits for a BYE.
fn uas(sock: UdpSocket, stop: Arc<AtomicBool>) {
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let me = sock.local_addr().unwrap();
    let mut tag = 0u32;
    // Call-ID → the BYE to send once the 200 is acknowledged.
    let mut pending_bye: Vec<(String, String)> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let mut buf = [0u8; 65_535];
        let Ok((n, from)) = sock.recv_from(&mut buf) else {
            continue;
        };
        let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
        let Some((method, rest)) = msg.split_once(' ') else {
            continue;
        };
        if method == "SIP/2.0" {
            continue; // the 200 to our BYE
        }
        let uri = rest.split(' ').next().unwrap_or("");
        let respond = |status: &str, to_tag: Option<&str>, body: &str| {
            let to = header(&msg, "To");
            let to = match to_tag {
                Some(t) if !to.contains(";tag=") => format!("{to};tag={t}"),
                _ => to.to_owned(),
            };
            let mut r = format!("SIP/2.0 {status}\r\n");
            for v in vias(&msg) {
                r.push_str(&format!("Via: {v}\r\n"));
            }
            r.push_str(&format!(
                "From: {}\r\nTo: {to}\r\nCall-ID: {}\r\nCSeq: {}\r\nContact: <sip:uas@{me}>\r\n",
                header(&msg, "From"),
                header(&msg, "Call-ID"),
                header(&msg, "CSeq"),
            ));
            if body.is_empty() {
                r.push_str("Content-Length: 0\r\n\r\n");
            } else {
                r.push_str(&format!(
                    "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                ));
            }
            sock.send_to(r.as_bytes(), from).unwrap();
        };
        match method {
            "INVITE" if header(&msg, "To").contains(";tag=") => respond("200 OK", None, SDP),
            "INVITE" => {
                tag += 1;
                let t = format!("uas{tag}");
                if uri.starts_with("sip:busy@") {
                    respond("486 Busy Here", Some(&t), "");
                    continue;
                }
                respond("180 Ringing", Some(&t), "");
                respond("200 OK", Some(&t), SDP);
                if uri.starts_with("sip:hangup@") {
                    let contact = header(&msg, "Contact");
                    let target = contact.trim_start_matches('<');
                    let target = target.split('>').next().unwrap_or(target).to_owned();
                    let to = header(&msg, "From").to_owned();
                    let bye = format!(
                        "BYE {target} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bKbye{tag}\r\n\
                         From: {};tag={t}\r\nTo: {to}\r\nCall-ID: {}\r\nCSeq: 1 BYE\r\n\
                         Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
                        header(&msg, "To"),
                        header(&msg, "Call-ID"),
                    );
                    pending_bye.push((header(&msg, "Call-ID").to_owned(), bye));
                }
            }
            "ACK" => {
                // The callee hangs up once its 200 is acknowledged.
                let call_id = header(&msg, "Call-ID");
                if let Some(i) = pending_bye.iter().position(|(c, _)| c == call_id) {
                    let (_, bye) = pending_bye.remove(i);
                    sock.send_to(bye.as_bytes(), from).unwrap();
                }
            }
            "BYE" | "CANCEL" => respond("200 OK", None, ""),
            _ => {}
        }
    }
}

/// The UAC side of one call through Tandem.
struct Uac {
    sock: UdpSocket,
    server: SocketAddr,
    call_id: String,
    to_tag: String,
}

impl Uac {
    fn new(server: SocketAddr, call_id: &str) -> Self {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        Self {
            sock,
            server,
            call_id: call_id.to_owned(),
            to_tag: String::new(),
        }
    }

    fn request(&self, method: &str, user: &str, cseq: u32, branch: &str, body: &str) -> String {
        let me = self.sock.local_addr().unwrap();
        let to_tag = if self.to_tag.is_empty() {
            String::new()
        } else {
            format!(";tag={}", self.to_tag)
        };
        let mut m = format!(
            "{method} sip:{user}@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK{branch};rport\r\n\
             From: \"Alice\" <sip:alice@127.0.0.1>;tag=uac-{id}\r\nTo: <sip:{user}@127.0.0.1>{to_tag}\r\n\
             Call-ID: {id}\r\nCSeq: {cseq} {method}\r\nContact: <sip:alice@{me}>\r\nMax-Forwards: 70\r\n",
            id = self.call_id
        );
        if body.is_empty() {
            m.push_str("Content-Length: 0\r\n\r\n");
        } else {
            m.push_str(&format!(
                "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ));
        }
        m
    }

    fn send(&self, msg: &str) {
        self.sock.send_to(msg.as_bytes(), self.server).unwrap();
    }

    /// Sends the INVITE and returns the final status (ACKing it as RFC 3261 §17.1.1.3 and
    /// §13.2.2.4 say).
    fn invite(&mut self, user: &str) -> u16 {
        let branch = format!("inv-{}", self.call_id);
        self.send(&self.request("INVITE", user, 1, &branch, SDP));
        loop {
            let r = recv(&self.sock).expect("a response to the INVITE");
            let status: u16 = r[8..11].parse().unwrap();
            if status < 200 {
                continue;
            }
            let to = header(&r, "To");
            self.to_tag = to.split(";tag=").nth(1).unwrap_or("").to_owned();
            let ack_branch = if status < 300 {
                format!("ack-{}", self.call_id)
            } else {
                branch.clone()
            };
            self.send(&self.request("ACK", user, 1, &ack_branch, ""));
            return status;
        }
    }

    fn bye(&self, user: &str) -> u16 {
        self.send(&self.request("BYE", user, 2, &format!("bye-{}", self.call_id), ""));
        loop {
            let r = recv(&self.sock).expect("a response to the BYE");
            if header(&r, "CSeq").ends_with("BYE") {
                return r[8..11].parse().unwrap();
            }
        }
    }

    /// Answers the BYE of the callee (relayed by Tandem) with 200.
    fn answer_bye(&self) {
        loop {
            let r = recv(&self.sock).expect("the callee's BYE");
            if r.starts_with("BYE ") {
                let mut ok = "SIP/2.0 200 OK\r\n".to_owned();
                for v in vias(&r) {
                    ok.push_str(&format!("Via: {v}\r\n"));
                }
                ok.push_str(&format!(
                    "From: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {}\r\nContent-Length: 0\r\n\r\n",
                    header(&r, "From"),
                    header(&r, "To"),
                    header(&r, "Call-ID"),
                    header(&r, "CSeq")
                ));
                self.send(&ok);
                return;
            }
        }
    }
}

fn calls(data: &std::path::Path) -> Vec<CdrCall> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = Store::open(data).await.unwrap();
        let calls = store.calls(&CallQuery::default()).await.unwrap();
        store.close().await;
        calls
    })
}

#[test]
fn records_of_ended_calls_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let uas_sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let uas_addr = uas_sock.local_addr().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let uas_thread = {
        let stop = stop.clone();
        std::thread::spawn(move || uas(uas_sock, stop))
    };
    let config = dir.path().join("tandem.toml");
    std::fs::write(
        &config,
        format!(
            "[[route]]\nmatch = \"^sip:busy@\"\ndestination = \"sip:busy@{uas_addr}\"\n\n\
             [[route]]\nmatch = \"^sip:hangup@\"\ndestination = \"sip:hangup@{uas_addr}\"\n\n\
             [[route]]\nmatch = \"^sip:\"\ndestination = \"sip:callee@{uas_addr}\"\n"
        ),
    )
    .unwrap();
    let mut server = start(&config, &data);

    // Three calls the caller hangs up, one the callee hangs up, one the callee refuses.
    for i in 0..3 {
        let mut uac = Uac::new(server.udp, &format!("caller-bye-{i}"));
        assert_eq!(uac.invite("bob"), 200);
        assert_eq!(uac.bye("bob"), 200);
    }
    let mut uac = Uac::new(server.udp, "callee-bye");
    assert_eq!(uac.invite("hangup"), 200);
    uac.answer_bye();
    let mut uac = Uac::new(server.udp, "busy");
    assert_eq!(uac.invite("busy"), 486);
    // A call to a conference room on Tandem's mixer: one leg.
    let mut uac = Uac::new(server.udp, "conference");
    assert_eq!(uac.invite("conf-room"), 200);
    assert_eq!(uac.bye("conf-room"), 200);
    // And one still talking when the server dies.
    let mut talking = Uac::new(server.udp, "talking");
    assert_eq!(talking.invite("bob"), 200);

    // The records are written within moments of each call's end; wait for them (bounded),
    // reading the database beside the running server as an operator would.
    let waited = Instant::now();
    loop {
        let calls = calls(&data);
        let ended = calls.iter().filter(|c| c.ended_at.is_some()).count();
        if ended == 6 && calls.len() == 7 {
            break;
        }
        assert!(
            waited.elapsed() < Duration::from_secs(10),
            "records not written: {calls:#?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!("records visible {:?} after the last call", waited.elapsed());

    // SIGKILL: no shutdown, no checkpoint, no flush of anything.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    uas_thread.join().unwrap();

    let calls = calls(&data);
    assert_eq!(calls.len(), 7, "{calls:#?}");
    let by_leg_a = |id: &str| {
        calls
            .iter()
            .find(|c| {
                c.legs
                    .iter()
                    .any(|l| l.leg == LegName::A && l.sip_call_id.as_deref() == Some(id))
            })
            .unwrap_or_else(|| panic!("no call with leg A {id}: {calls:#?}"))
    };
    for (id, cause, status) in [
        ("caller-bye-0", "caller_hang_up", 200),
        ("caller-bye-1", "caller_hang_up", 200),
        ("caller-bye-2", "caller_hang_up", 200),
        ("callee-bye", "callee_hang_up", 200),
        ("busy", "rejected", 486),
    ] {
        let c = by_leg_a(id);
        assert_eq!(c.state, CdrState::Ended, "{c:#?}");
        assert!(c.ended_at.is_some_and(|e| e >= c.started_at), "{c:#?}");
        assert_eq!(c.cause.as_deref(), Some(cause), "{c:#?}");
        assert_eq!(c.final_status, Some(status), "{c:#?}");
        assert_eq!(c.legs.len(), 2, "{c:#?}");
        let (a, b) = (&c.legs[0], &c.legs[1]);
        assert_eq!((a.leg, b.leg), (LegName::A, LegName::B));
        assert_eq!(a.final_status, Some(status), "{c:#?}");
        assert_eq!(b.final_status, Some(status), "{c:#?}");
        assert!(
            a.from_uri
                .as_deref()
                .is_some_and(|f| f.contains("sip:alice@127.0.0.1"))
        );
        assert_eq!(b.remote_addr, Some(uas_addr.to_string()), "{c:#?}");
        let b_call_id = b.sip_call_id.as_deref().unwrap_or("");
        assert!(
            !b_call_id.is_empty() && b_call_id != id,
            "topology hiding: {c:#?}"
        );
        assert!(a.ended_at.is_some() && b.ended_at.is_some(), "{c:#?}");
        if status == 200 {
            assert!(c.answered_at.is_some(), "{c:#?}");
        }
        let hung_up = match cause {
            "caller_hang_up" => Some((EndedBy::Remote, EndedBy::Local)),
            "callee_hang_up" => Some((EndedBy::Local, EndedBy::Remote)),
            _ => None,
        };
        if let Some(by) = hung_up {
            assert_eq!((a.ended_by, b.ended_by), (Some(by.0), Some(by.1)), "{c:#?}");
        }
    }
    let mut ids: Vec<i64> = calls.iter().map(|c| c.id).collect();
    ids.sort_unstable();
    assert_eq!(ids, [1, 2, 3, 4, 5, 6, 7], "ids without gaps");
    let c = by_leg_a("conference");
    assert_eq!(
        (c.kind, c.state),
        (CallKind::Conference, CdrState::Ended),
        "{c:#?}"
    );
    assert_eq!(
        (c.cause.as_deref(), c.final_status),
        (Some("caller_hang_up"), Some(200))
    );
    assert_eq!(c.legs.len(), 1, "{c:#?}");
    assert_eq!(c.legs[0].ended_by, Some(EndedBy::Remote), "{c:#?}");
    assert!(
        c.answered_at.is_some() && c.legs[0].ended_at.is_some(),
        "{c:#?}"
    );
    let c = by_leg_a("talking");
    assert_eq!(c.ended_at, None, "{c:#?}");
    assert_eq!(c.state, CdrState::Answered, "{c:#?}");
    assert!(c.answered_at.is_some(), "{c:#?}");
    assert_eq!(c.cause, None);
    // Both legs are in the half-row, so either party's Call-ID finds it.
    assert_eq!(c.legs.len(), 2, "{c:#?}");
    assert_eq!(c.legs[1].remote_addr, Some(uas_addr.to_string()), "{c:#?}");
    assert!(
        c.legs[1]
            .sip_call_id
            .as_deref()
            .is_some_and(|id| !id.is_empty() && id != "talking")
    );
    assert!(
        c.legs
            .iter()
            .all(|l| l.ended_at.is_none() && l.final_status.is_none())
    );
    let talking_id = c.id;
    eprintln!(
        "after kill -9: {} calls, {} legs",
        calls.len(),
        calls.iter().map(|c| c.legs.len()).sum::<usize>()
    );

    // What an operator sees.
    let list = tandem(&["cdr", "list", "--data", data.to_str().unwrap()]);
    assert_eq!(list.lines().count(), 8, "a header and seven calls: {list}");
    assert!(
        list.lines().nth(1).unwrap().contains("answered"),
        "newest first: {list}"
    );
    assert!(
        list.contains("rejected") && list.contains("caller_hang_up"),
        "{list}"
    );
    let json = tandem(&[
        "cdr",
        "list",
        "--json",
        "--limit",
        "2",
        "--data",
        data.to_str().unwrap(),
    ]);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2, "{json}");
    let future = tandem(&[
        "cdr",
        "list",
        "--since",
        "2999-01-01T00:00:00Z",
        "--data",
        data.to_str().unwrap(),
    ]);
    assert_eq!(future.lines().count(), 1, "only the header: {future}");
    let show = tandem(&[
        "cdr",
        "show",
        &talking_id.to_string(),
        "--data",
        data.to_str().unwrap(),
    ]);
    assert!(
        show.contains("state     answered") && show.contains("leg a"),
        "{show}"
    );
    eprintln!("{list}\n{show}");
    // The same call found by the Call-ID of its incoming leg.
    let by_call_id = tandem(&["cdr", "show", "talking", "--data", data.to_str().unwrap()]);
    assert_eq!(by_call_id, show);
}

/// Runs `tandem ARGS` to completion; its standard output.
fn tandem(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tandem {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_database_that_cannot_be_opened_stops_the_start_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    // A folder where the database file should be: SQLite cannot open it.
    std::fs::create_dir(dir.path().join("tandem.db")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args([
            "serve",
            "--sip",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--data",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let db = dir.path().join("tandem.db");
    assert!(
        stderr.contains(&format!("cannot open the database {}", db.display())),
        "{stderr}"
    );
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("listening"),
        "no socket is bound before the records can be written"
    );
}

#[test]
fn a_stalled_database_never_stalls_calls() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let uas_sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let uas_addr = uas_sock.local_addr().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let uas_thread = {
        let stop = stop.clone();
        std::thread::spawn(move || uas(uas_sock, stop))
    };
    let config = dir.path().join("tandem.toml");
    std::fs::write(
        &config,
        format!(
            "[data]\ncdr_queue = 4\n\n[[route]]\nmatch = \"^sip:\"\n\
             destination = \"sip:callee@{uas_addr}\"\n"
        ),
    )
    .unwrap();
    let mut server = start(&config, &data);

    // Another process takes the database's write lock (as a backup or a slow disk would
    // hold the writer) for a while, shorter than the writer's busy timeout.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let db = data.join("tandem.db");
    let mut lock = rt.block_on(async {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut c)
            .await
            .unwrap();
        c
    });
    let held = Instant::now();
    // 10 calls, 30 records, a queue of 4: calls go on at full speed; records are dropped.
    for i in 0..10 {
        let mut uac = Uac::new(server.udp, &format!("stalled-{i}"));
        assert_eq!(uac.invite("bob"), 200);
        assert_eq!(uac.bye("bob"), 200);
    }
    let calls_took = held.elapsed();
    assert!(
        calls_took < Duration::from_secs(2),
        "calls waited for the database: {calls_took:?}"
    );
    std::thread::sleep(Duration::from_millis(1_500).saturating_sub(held.elapsed()));
    rt.block_on(async {
        sqlx::query("ROLLBACK").execute(&mut lock).await.unwrap();
    });
    drop(lock);

    // Once the lock is gone the writer catches up (SQLite's busy handler notices within
    // ~100 ms) and empties the queue; then a new call is recorded as usual.
    let waited = Instant::now();
    while !calls(&data).iter().any(|c| c.ended_at.is_some()) {
        assert!(
            waited.elapsed() < Duration::from_secs(10),
            "the writer is stuck"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let mut uac = Uac::new(server.udp, "after");
    assert_eq!(uac.invite("bob"), 200);
    assert_eq!(uac.bye("bob"), 200);
    let waited = Instant::now();
    let written = loop {
        let calls = calls(&data);
        let after = calls.iter().find(|c| {
            c.ended_at.is_some()
                && c.legs
                    .iter()
                    .any(|l| l.sip_call_id.as_deref() == Some("after"))
        });
        if let Some(after) = after {
            assert_eq!(after.legs.len(), 2, "{after:#?}");
            break calls.len();
        }
        assert!(
            waited.elapsed() < Duration::from_secs(10),
            "the writer did not recover: {calls:#?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    eprintln!("10 calls in {calls_took:?} with the database locked; {written} rows after");
    assert!(written < 11, "a queue of 4 cannot have kept every record");
    server.child.kill().unwrap();
    stop.store(true, Ordering::Relaxed);
    uas_thread.join().unwrap();
}

#[test]
fn a_clean_stop_drains_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let uas_sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let uas_addr = uas_sock.local_addr().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let uas_thread = {
        let stop = stop.clone();
        std::thread::spawn(move || uas(uas_sock, stop))
    };
    let config = dir.path().join("tandem.toml");
    std::fs::write(
        &config,
        format!("[[route]]\nmatch = \"^sip:\"\ndestination = \"sip:callee@{uas_addr}\"\n"),
    )
    .unwrap();
    let mut server = start(&config, &data);
    for i in 0..3 {
        let mut uac = Uac::new(server.udp, &format!("clean-{i}"));
        assert_eq!(uac.invite("bob"), 200);
        assert_eq!(uac.bye("bob"), 200);
    }
    // SIGTERM at once: whatever is still queued is written before the process exits.
    let term = Command::new("sh")
        .args(["-c", &format!("kill -TERM {}", server.child.id())])
        .status()
        .unwrap();
    assert!(term.success());
    let status = server.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    stop.store(true, Ordering::Relaxed);
    uas_thread.join().unwrap();
    let calls = calls(&data);
    assert_eq!(calls.len(), 3, "{calls:#?}");
    // The last call may still have been waiting for the callee's 200 to its BYE when the
    // signal came; the others are complete.
    let ended: Vec<_> = calls.iter().filter(|c| c.ended_at.is_some()).collect();
    assert!(ended.len() >= 2, "{calls:#?}");
    assert!(ended.iter().all(|c| c.legs.len() == 2), "{calls:#?}");
}
