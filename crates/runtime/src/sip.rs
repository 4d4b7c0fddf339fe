//! SIP transports (RFC 3261 §18): UDP and TCP on one address, feeding one sans-IO endpoint.
//!
//! Datagrams go to the endpoint as they are. TCP streams are cut into messages by the
//! `sip-msg` stream framer (Content-Length framing, §18.3) in one task per connection; the
//! connection task also answers RFC 5626 §4.4.1 CRLF keep-alive pings itself, since they never
//! concern the SIP core. All channels are bounded: a connection whose messages cannot be taken
//! waits (TCP back-pressure) instead of growing a queue.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tandem_sip_core::{Endpoint, Event, Flow, Output, Transmit, Transport};
use tandem_sip_msg::{Frame, Limits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::RuntimeError;

/// Where and how the SIP transports listen.
#[derive(Debug, Clone)]
pub struct SipListenConfig {
    /// Address bound for UDP and TCP (port 0 picks a free port, the same for both only by luck).
    pub addr: SocketAddr,
    /// Open a UDP socket.
    pub udp: bool,
    /// Open a TCP listener.
    pub tcp: bool,
    /// Message limits, applied by the stream framer before a message reaches the core.
    pub limits: Limits,
    /// Most TCP connections open at once; further ones are refused.
    pub max_connections: usize,
    /// A TCP connection idle this long is closed.
    pub tcp_idle_timeout: Duration,
    /// Kernel receive buffer asked for the UDP socket: bursts above the default 208 KiB drop
    /// datagrams on Linux before Tandem ever sees them.
    pub udp_recv_buffer: usize,
}

impl Default for SipListenConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 5060)),
            udp: true,
            tcp: true,
            limits: Limits::default(),
            max_connections: 4_096,
            tcp_idle_timeout: Duration::from_secs(600),
            udp_recv_buffer: 4 << 20,
        }
    }
}

/// The bound sockets, ready to [`run`](Self::run).
#[derive(Debug)]
pub struct SipRuntime {
    config: SipListenConfig,
    udp: Option<UdpSocket>,
    tcp: Option<TcpListener>,
}

/// What connection tasks tell the driver.
enum Inbound {
    Frame { flow: Flow, frame: Frame },
    Closed { remote: SocketAddr },
}

/// Bound of the channel from connection tasks to the driver.
const INBOUND_QUEUE: usize = 1_024;
/// Bound of each connection's outgoing queue.
const OUTBOUND_QUEUE: usize = 256;

impl SipRuntime {
    /// Binds the configured transports.
    pub async fn bind(config: SipListenConfig) -> Result<Self, RuntimeError> {
        if !config.udp && !config.tcp {
            return Err(RuntimeError::NoTransport);
        }
        let udp = if config.udp {
            Some(bind_udp(&config)?)
        } else {
            None
        };
        let tcp = if config.tcp {
            let addr = config.addr;
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|source| RuntimeError::Bind {
                    transport: "tcp",
                    addr,
                    source,
                })?;
            Some(listener)
        } else {
            None
        };
        Ok(Self { config, udp, tcp })
    }

    /// The addresses actually bound, per transport.
    pub fn local_addrs(&self) -> Vec<(Transport, SocketAddr)> {
        let mut out = Vec::new();
        if let Some(addr) = self.udp.as_ref().and_then(|s| s.local_addr().ok()) {
            out.push((Transport::Udp, addr));
        }
        if let Some(addr) = self.tcp.as_ref().and_then(|s| s.local_addr().ok()) {
            out.push((Transport::Tcp, addr));
        }
        out
    }

    /// Runs `endpoint` on these sockets until `shutdown` completes. Every event the endpoint
    /// reports goes to `app`, which may issue commands (answer a request, send one); their
    /// output is drained before the next input.
    pub async fn run(
        self,
        mut endpoint: Endpoint,
        mut app: impl FnMut(&mut Endpoint, Instant, Event),
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), RuntimeError> {
        let (inbound_tx, mut inbound_rx) = mpsc::channel::<Inbound>(INBOUND_QUEUE);
        let mut connections: HashMap<SocketAddr, mpsc::Sender<Bytes>> = HashMap::new();
        let udp_local = self.udp.as_ref().and_then(|s| s.local_addr().ok());
        let mut buf = vec![0u8; 65_536];
        let mut deadline: Option<Instant> = None;
        tokio::pin!(shutdown);

        loop {
            let sleep_until = deadline.map_or_else(
                || tokio::time::Instant::now() + Duration::from_secs(3_600),
                tokio::time::Instant::from_std,
            );
            tokio::select! {
                () = &mut shutdown => {
                    info!("SIP runtime shutting down");
                    return Ok(());
                }
                received = recv_udp(self.udp.as_ref(), &mut buf) => {
                    match received {
                        Ok((len, remote)) => {
                            let (Some(local), Some(data)) = (udp_local, buf.get(..len)) else { continue };
                            let flow = Flow { transport: Transport::Udp, local, remote };
                            endpoint.handle_datagram(Instant::now(), flow, Bytes::copy_from_slice(data));
                        }
                        // ICMP port unreachable from an earlier send shows up here on Linux;
                        // it concerns one peer, not the socket.
                        Err(e) => debug!(error = %e, "udp receive error"),
                    }
                }
                accepted = accept_tcp(self.tcp.as_ref()) => {
                    match accepted {
                        Ok((stream, remote)) => {
                            if connections.len() >= self.config.max_connections {
                                warn!(%remote, "too many TCP connections; refusing");
                                drop(stream);
                            } else {
                                let (tx, rx) = mpsc::channel(OUTBOUND_QUEUE);
                                connections.insert(remote, tx);
                                let task = Connection {
                                    remote,
                                    limits: self.config.limits,
                                    idle_timeout: self.config.tcp_idle_timeout,
                                    inbound: inbound_tx.clone(),
                                };
                                tokio::spawn(task.run(stream, rx));
                            }
                        }
                        Err(e) => warn!(error = %e, "tcp accept error"),
                    }
                }
                Some(inbound) = inbound_rx.recv() => match inbound {
                    Inbound::Frame { flow, frame } => endpoint.handle_frame(Instant::now(), flow, frame),
                    Inbound::Closed { remote } => { connections.remove(&remote); }
                },
                () = tokio::time::sleep_until(sleep_until) => {
                    endpoint.handle_timeout(Instant::now());
                }
            }
            deadline = drain(&mut endpoint, &mut app, self.udp.as_ref(), &mut connections).await;
        }
    }
}

/// Drains the endpoint's outputs; returns its next deadline.
async fn drain(
    endpoint: &mut Endpoint,
    app: &mut impl FnMut(&mut Endpoint, Instant, Event),
    udp: Option<&UdpSocket>,
    connections: &mut HashMap<SocketAddr, mpsc::Sender<Bytes>>,
) -> Option<Instant> {
    loop {
        match endpoint.poll_output() {
            Output::Transmit(transmit) => send(transmit, udp, connections).await,
            Output::Event(event) => app(endpoint, Instant::now(), event),
            Output::Timeout(deadline) => return deadline,
        }
    }
}

async fn send(
    Transmit { flow, payload }: Transmit,
    udp: Option<&UdpSocket>,
    connections: &mut HashMap<SocketAddr, mpsc::Sender<Bytes>>,
) {
    match flow.transport {
        Transport::Udp => {
            if let Some(socket) = udp {
                if let Err(e) = socket.send_to(&payload, flow.remote).await {
                    debug!(remote = %flow.remote, error = %e, "udp send failed");
                }
            }
        }
        Transport::Tcp => match connections.get(&flow.remote) {
            Some(tx) => {
                if tx.try_send(payload).is_err() {
                    warn!(remote = %flow.remote, "TCP connection queue full or closed; message dropped");
                }
            }
            None => debug!(remote = %flow.remote, "no TCP connection for a response; dropped"),
        },
    }
}

fn bind_udp(config: &SipListenConfig) -> Result<UdpSocket, RuntimeError> {
    use socket2::{Domain, Protocol, Socket, Type};
    let addr = config.addr;
    let err = |source| RuntimeError::Bind {
        transport: "udp",
        addr,
        source,
    };
    let socket =
        Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP)).map_err(err)?;
    // Best effort: the kernel caps it at net.core.rmem_max.
    let _ = socket.set_recv_buffer_size(config.udp_recv_buffer);
    let _ = socket.set_send_buffer_size(config.udp_recv_buffer);
    socket.set_nonblocking(true).map_err(err)?;
    socket.bind(&addr.into()).map_err(err)?;
    UdpSocket::from_std(socket.into()).map_err(err)
}

async fn recv_udp(
    socket: Option<&UdpSocket>,
    buf: &mut [u8],
) -> std::io::Result<(usize, SocketAddr)> {
    match socket {
        Some(s) => s.recv_from(buf).await,
        None => std::future::pending().await,
    }
}

async fn accept_tcp(listener: Option<&TcpListener>) -> std::io::Result<(TcpStream, SocketAddr)> {
    match listener {
        Some(l) => l.accept().await,
        None => std::future::pending().await,
    }
}

/// One accepted TCP connection: frames messages in, writes queued messages out.
struct Connection {
    remote: SocketAddr,
    limits: Limits,
    idle_timeout: Duration,
    inbound: mpsc::Sender<Inbound>,
}

impl Connection {
    async fn run(self, stream: TcpStream, mut outbound: mpsc::Receiver<Bytes>) {
        let remote = self.remote;
        if let Err(e) = self.serve(stream, &mut outbound).await {
            debug!(%remote, error = %e, "tcp connection ended with an error");
        }
        let _ = self.inbound.send(Inbound::Closed { remote }).await;
    }

    async fn serve(
        &self,
        stream: TcpStream,
        outbound: &mut mpsc::Receiver<Bytes>,
    ) -> std::io::Result<()> {
        let local = stream.local_addr()?;
        let flow = Flow {
            transport: Transport::Tcp,
            local,
            remote: self.remote,
        };
        let (mut reader, mut writer) = stream.into_split();
        let mut framer = tandem_sip_msg::StreamFramer::new(self.limits);
        let mut buf = vec![0u8; 16_384];
        loop {
            tokio::select! {
                read = tokio::time::timeout(self.idle_timeout, reader.read(&mut buf)) => {
                    let Ok(read) = read else { return Ok(()) }; // idle
                    let len = read?;
                    if len == 0 {
                        return Ok(());
                    }
                    framer.push(buf.get(..len).unwrap_or_default());
                    loop {
                        match framer.next_frame() {
                            Ok(None) => break,
                            // RFC 5626 §4.4.1: answer a double-CRLF ping with a single CRLF pong.
                            Ok(Some(Frame::Ping)) => writer.write_all(b"\r\n").await?,
                            Ok(Some(Frame::Pong)) => {}
                            Ok(Some(frame)) => {
                                if self.inbound.send(Inbound::Frame { flow, frame }).await.is_err() {
                                    return Ok(());
                                }
                            }
                            Err(e) => {
                                // §18.3: framing is lost on a stream; the only recovery is to close.
                                debug!(remote = %self.remote, error = %e, "unrecoverable framing error; closing");
                                return Ok(());
                            }
                        }
                    }
                }
                out = outbound.recv() => match out {
                    Some(bytes) => writer.write_all(&bytes).await?,
                    None => return Ok(()),
                },
            }
        }
    }
}
