//! Helpers of the runtime's loopback tests: a runtime answering 200 to every request, and raw
//! SIP text.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use tandem_runtime::sip::{SipListenConfig, SipRuntime};
use tandem_sip_core::{Endpoint, EndpointConfig, Event, Transport};
use tandem_sip_msg::{Limits, Message};
use tokio::sync::{mpsc, oneshot};

/// A running runtime; dropping it stops the runtime.
pub struct Running {
    pub addrs: Vec<(Transport, SocketAddr)>,
    /// Every event the app saw.
    pub events: mpsc::UnboundedReceiver<Event>,
    stop: Option<oneshot::Sender<()>>,
}

impl Running {
    pub fn addr(&self, transport: Transport) -> SocketAddr {
        self.addrs
            .iter()
            .find(|(t, _)| *t == transport)
            .map(|(_, a)| *a)
            .expect("transport not bound")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Starts a runtime whose app answers 200 to every request; a request carrying
/// `X-Call-Back: <uri>` also makes Tandem send an OPTIONS back on the same flow, or to
/// `X-Call-Back-To: <TRANSPORT> <addr>` when given.
pub async fn start(config: SipListenConfig, endpoint: EndpointConfig) -> Running {
    let runtime = SipRuntime::bind(config).await.unwrap();
    let addrs = runtime.local_addrs();
    let (stop, stopped) = oneshot::channel::<()>();
    let (seen, events) = mpsc::unbounded_channel();
    let app = move |ep: &mut Endpoint, now, event: Event| {
        if let Event::Request { tx, request, flow } = &event {
            let header = |name: &str| {
                request
                    .value(&tandem_sip_msg::HeaderName::new(name))
                    .map(|v| String::from_utf8_lossy(v).into_owned())
            };
            let call_back = header("X-Call-Back");
            let flow = match header("X-Call-Back-To") {
                Some(to) => {
                    let (transport, addr) = to.split_once(' ').unwrap();
                    tandem_sip_core::Flow {
                        transport: Transport::from_name(transport).unwrap(),
                        remote: addr.parse().unwrap(),
                        ..*flow
                    }
                }
                None => *flow,
            };
            let _ = ep.reply(now, *tx, 200, "OK");
            if let Some(uri) = call_back {
                let text = format!(
                    "OPTIONS {uri} SIP/2.0\r\nFrom: <sip:tandem@localhost>;tag=t1\r\n\
                     To: <{uri}>\r\nCall-ID: back-1\r\nCSeq: 1 OPTIONS\r\n\r\n"
                );
                let m = Message::parse(Bytes::from(text), &Limits::default()).unwrap();
                ep.send_request(now, m, flow).unwrap();
            }
        }
        let _ = seen.send(event);
    };
    let endpoint = Endpoint::new(endpoint);
    tokio::spawn(async move {
        runtime
            .run(endpoint, app, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    Running {
        addrs,
        events,
        stop: Some(stop),
    }
}

impl Running {
    /// The next event the app saw (5 s at most).
    pub async fn event(&mut self) -> Event {
        tokio::time::timeout(Duration::from_secs(5), self.events.recv())
            .await
            .expect("no event within 5 s")
            .expect("runtime stopped")
    }
}

/// An OPTIONS from `from` (Via transport `transport`), with `extra` header lines.
pub fn options(transport: &str, from: SocketAddr, branch: &str, extra: &str) -> String {
    let host = tandem_sip_core::host_port(from);
    format!(
        "OPTIONS sip:tandem@localhost SIP/2.0\r\n\
         Via: SIP/2.0/{transport} {host};branch=z9hG4bK{branch};rport\r\n\
         From: <sip:alice@localhost>;tag=a{branch}\r\nTo: <sip:tandem@localhost>\r\n\
         Call-ID: {branch}@test\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n{extra}\
         Content-Length: 0\r\n\r\n"
    )
}

/// Reads Content-Length-framed messages from a stream.
pub struct Reader<S> {
    pub stream: S,
    framer: tandem_sip_msg::StreamFramer,
}

impl<S: tokio::io::AsyncRead + Unpin> Reader<S> {
    pub fn new(stream: S) -> Self {
        Self {
            stream,
            framer: tandem_sip_msg::StreamFramer::new(Limits::default()),
        }
    }

    /// The next message as text (5 s at most).
    pub async fn next(&mut self) -> String {
        use tokio::io::AsyncReadExt;
        let mut buf = [0u8; 4096];
        loop {
            if let Some(frame) = self.framer.next_frame().unwrap() {
                if let tandem_sip_msg::Frame::Message(m) = frame {
                    return String::from_utf8(m.to_bytes().to_vec()).unwrap();
                }
                continue;
            }
            let n = tokio::time::timeout(Duration::from_secs(5), self.stream.read(&mut buf))
                .await
                .expect("no message within 5 s")
                .unwrap();
            assert!(n > 0, "connection closed");
            self.framer.push(&buf[..n]);
        }
    }
}

/// Loopback listeners on port 0 for the given transports.
pub fn config(addr: &str, udp: bool, tcp: bool) -> SipListenConfig {
    SipListenConfig {
        addr: addr.parse().unwrap(),
        udp,
        tcp,
        ..SipListenConfig::default()
    }
}
