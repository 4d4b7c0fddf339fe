//! `SipRuntime::run_app`: commands from the rest of the program reach the application on the
//! driver's task, and the application's own deadline wakes the driver.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tandem_runtime::sip::{SipApp, SipListenConfig, SipRuntime};
use tandem_sip_core::{Endpoint, EndpointConfig, Event, Flow, Transport};
use tandem_sip_msg::{Limits, Message};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

/// Sends an OPTIONS to the address a command names, and a second one when its timer fires.
struct Pinger {
    local: SocketAddr,
    timer: Option<(Instant, SocketAddr)>,
    fired: Option<oneshot::Sender<Duration>>,
    armed_at: Option<Instant>,
}

impl Pinger {
    fn ping(&self, ep: &mut Endpoint, now: Instant, to: SocketAddr, call_id: &str) {
        let text = format!(
            "OPTIONS sip:peer@{to} SIP/2.0\r\nFrom: <sip:tandem@localhost>;tag=t1\r\n\
             To: <sip:peer@{to}>\r\nCall-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\n\r\n"
        );
        let m = Message::parse(Bytes::from(text), &Limits::default()).unwrap();
        let flow = Flow {
            transport: Transport::Udp,
            local: self.local,
            remote: to,
        };
        ep.send_request(now, m, flow).unwrap();
    }
}

impl SipApp for Pinger {
    type Command = SocketAddr;

    fn handle_event(&mut self, _: &mut Endpoint, _: Instant, _: Event) {}

    fn handle_command(&mut self, ep: &mut Endpoint, now: Instant, to: SocketAddr) {
        self.ping(ep, now, to, "by-command");
        self.timer = Some((now + Duration::from_millis(200), to));
        self.armed_at = Some(now);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.timer.map(|(at, _)| at)
    }

    fn handle_timeout(&mut self, ep: &mut Endpoint, now: Instant) {
        if let Some((_, to)) = self.timer.take() {
            self.ping(ep, now, to, "by-timer");
            if let (Some(tx), Some(armed)) = (self.fired.take(), self.armed_at) {
                let _ = tx.send(now - armed);
            }
        }
    }
}

#[tokio::test]
async fn commands_and_application_timers_drive_the_app() {
    let config = SipListenConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        tcp: false,
        ..SipListenConfig::default()
    };
    let runtime = SipRuntime::bind(config).await.unwrap();
    let local = runtime.local_addrs()[0].1;
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (commands, rx) = mpsc::channel(4);
    let (fired_tx, fired) = oneshot::channel();
    let app = Pinger {
        local,
        timer: None,
        fired: Some(fired_tx),
        armed_at: None,
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let task =
        tokio::spawn(
            runtime.run_app(Endpoint::new(EndpointConfig::default()), app, rx, async {
                let _ = stopped.await;
            }),
        );

    commands.send(peer.local_addr().unwrap()).await.unwrap();
    let mut buf = [0u8; 2048];
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let (n, _) = tokio::time::timeout(Duration::from_secs(5), peer.recv_from(&mut buf))
            .await
            .expect("no OPTIONS within 5 s")
            .unwrap();
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        let call_id = text
            .lines()
            .find_map(|l| l.strip_prefix("Call-ID: "))
            .unwrap()
            .to_owned();
        // Retransmissions (no answer from this peer) repeat the first one.
        if !seen.contains(&call_id) {
            seen.push(call_id);
        }
    }
    assert_eq!(seen, ["by-command", "by-timer"]);
    let waited = tokio::time::timeout(Duration::from_secs(5), fired)
        .await
        .unwrap()
        .unwrap();
    assert!(
        waited >= Duration::from_millis(200),
        "fired after {waited:?}"
    );

    let _ = stop.send(());
    task.await.unwrap().unwrap();
}
