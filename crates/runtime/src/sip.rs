//! SIP transports (RFC 3261 §18): UDP, TCP, TLS (§26) and WebSocket (RFC 7118), IPv4 or
//! IPv6, feeding one sans-IO endpoint.
//!
//! Datagrams go to the endpoint as they are. TCP and TLS streams are cut into messages by the
//! `sip-msg` stream framer (Content-Length framing, §18.3) in one task per connection; the
//! connection task also answers RFC 5626 §4.4.1 CRLF keep-alive pings itself, since they never
//! concern the SIP core. A WebSocket message is one whole SIP message (RFC 7118 §5.2) and
//! takes the datagram path. All channels are bounded: a connection whose messages cannot be
//! taken waits (TCP back-pressure) instead of growing a queue, except that a new INVITE meeting
//! a full queue, or an endpoint at `max_transactions`, gets a stateless 503 with Retry-After.
//!
//! Connections are reused (RFC 3261 §18.2.2, RFC 5923): anything the endpoint sends toward a
//! peer with an open connection of that transport goes over it, and with `accept_aliases` a
//! request's Via `alias` makes its sent-by address an alias of the connection it came on.
//! Tandem's own requests ask the same of the peer over TLS (the endpoint's
//! `EndpointConfig::via_alias`, RFC 5923 §5.1).
//! A request on a TCP, TLS, WS or WSS flow with no connection opens one (`sip/dial.rs`): TLS
//! (RFC 3261 §26.2.1) verifies the server's certificate against the host of the request's
//! next hop (RFC 5922 §4.1, §7.2) with the roots of [`TlsClientConfig`]; WebSocket (RFC 7118
//! §4.1) asks for the `sip` subprotocol. The new connection serves both ways: the peer's
//! responses and requests come back on it, and later messages to that address reuse it.
//! A connection that cannot be opened (refused, timed out, a certificate that does not
//! verify) fails the flow's transactions at once ([`Endpoint::handle_transport_error`]).
//! A response whose connection is gone is dropped (§18.2.2's new connection to the Via
//! address is not attempted).

mod connections;
mod dial;
mod overload;
mod stream;
mod ws;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tandem_sip_core::{Endpoint, Event, Flow, Output, Transmit, Transport};
use tandem_sip_msg::{Frame, Limits};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, info, warn};

use crate::RuntimeError;
use connections::{ConnKey, Connections};

/// Where and how the SIP transports listen.
#[derive(Debug, Clone)]
pub struct SipListenConfig {
    /// Address bound for UDP and TCP (port 0 picks a free port, the same for both only by
    /// luck). IPv6 addresses work the same way (`[::1]:5060`).
    pub addr: SocketAddr,
    /// Open a UDP socket.
    pub udp: bool,
    /// Open a TCP listener.
    pub tcp: bool,
    /// Open a TLS listener (RFC 3261 §26, `sips:`).
    pub tls: Option<TlsListenConfig>,
    /// Open a WebSocket listener (RFC 7118, `ws`) on this address.
    pub ws: Option<SocketAddr>,
    /// Message limits, applied by the stream framer before a message reaches the core.
    pub limits: Limits,
    /// Most TCP, TLS and WS connections open at once; further ones are refused.
    pub max_connections: usize,
    /// A connection idle this long is closed.
    pub tcp_idle_timeout: Duration,
    /// Longest wait for an outgoing TCP connection, a TLS or a WebSocket handshake.
    pub connect_timeout: Duration,
    /// Kernel receive buffer asked for the UDP socket: bursts above the default 208 KiB drop
    /// datagrams on Linux before Tandem ever sees them.
    pub udp_recv_buffer: usize,
    /// Honour the Via `alias` parameter (RFC 5923) on TCP, TLS and WS: requests toward the
    /// Via's sent-by go over the connection the aliasing request came on. RFC 5923 §5 ties an
    /// alias to a certificate proving the sent-by; Tandem does not ask clients for
    /// certificates, so this trusts the peer's word and is off by default.
    pub accept_aliases: bool,
    /// Live transactions (client + server) above which new INVITEs get a stateless 503.
    pub max_transactions: usize,
    /// The `Retry-After` (seconds) of that 503 (RFC 3261 §21.5.4, §20.33).
    pub retry_after: u32,
    /// Outgoing TLS and WSS connections (RFC 3261 §26.2.1, RFC 7118): their trust roots and
    /// server name. Default: Mozilla's roots, the name from each request. `None`: requests on
    /// a TLS or WSS flow without a connection fail at once.
    pub tls_client: Option<TlsClientConfig>,
}

/// How Tandem checks the servers it connects to over TLS (RFC 3261 §26.2.1, RFC 5922 §7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsClientConfig {
    /// PEM file of further trusted CA certificates (a private PKI, a self-signed peer).
    pub ca_file: Option<PathBuf>,
    /// Trust the public web PKI (Mozilla's roots, from the `webpki-roots` crate). Default on.
    pub public_roots: bool,
    /// The name every server's certificate must carry, instead of the host of the request's
    /// next hop (top `Route`, else Request-URI; RFC 5922 §4.1): for a peer reached by address
    /// whose certificate names its domain. A DNS name or an IP literal.
    pub server_name: Option<String>,
}

impl Default for TlsClientConfig {
    fn default() -> Self {
        Self {
            ca_file: None,
            public_roots: true,
            server_name: None,
        }
    }
}

/// A TLS listener: its address and the PEM files of its certificate chain and private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsListenConfig {
    /// Address of the TLS listener (5061 by convention, RFC 3261 §19.1.2).
    pub addr: SocketAddr,
    /// PEM file with the certificate chain, leaf first.
    pub cert_chain: PathBuf,
    /// PEM file with the private key (PKCS#8, PKCS#1 or SEC1).
    pub private_key: PathBuf,
}

impl Default for SipListenConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 5060)),
            udp: true,
            tcp: true,
            tls: None,
            ws: None,
            limits: Limits::default(),
            max_connections: 4_096,
            tcp_idle_timeout: Duration::from_secs(600),
            connect_timeout: Duration::from_secs(5),
            udp_recv_buffer: 4 << 20,
            accept_aliases: false,
            max_transactions: 50_000,
            retry_after: 5,
            tls_client: Some(TlsClientConfig::default()),
        }
    }
}

/// The bound sockets, ready to [`run`](Self::run).
pub struct SipRuntime {
    config: SipListenConfig,
    udp: Option<UdpSocket>,
    tcp: Option<TcpListener>,
    tls: Option<(TcpListener, TlsAcceptor)>,
    ws: Option<TcpListener>,
    tls_client: Option<dial::TlsClient>,
}

impl std::fmt::Debug for SipRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SipRuntime")
            .field("local_addrs", &self.local_addrs())
            .finish_non_exhaustive()
    }
}

/// What connection tasks tell the driver.
enum Inbound {
    /// A framed message from a TCP or TLS connection, with the connection's alias if its Via
    /// asked for one (RFC 5923).
    Frame {
        flow: Flow,
        frame: Frame,
        alias: Option<SocketAddr>,
    },
    /// A whole message from a WebSocket (RFC 7118 §5.2).
    Message { flow: Flow, bytes: Bytes },
    /// The connection `id` to `key` ended.
    Closed { key: ConnKey, id: u64 },
    /// An outgoing connection could not be opened: what was queued on it is lost.
    ConnectFailed { flow: Flow },
}

/// Bound of the channel from connection tasks to the driver.
const INBOUND_QUEUE: usize = 1_024;
/// Backlog of that channel from which new INVITEs are refused.
const INBOUND_HIGH_WATER: usize = INBOUND_QUEUE - INBOUND_QUEUE / 8;
/// Bound of each connection's outgoing queue.
const OUTBOUND_QUEUE: usize = 256;

impl SipRuntime {
    /// Binds the configured transports and loads the TLS certificate.
    pub async fn bind(config: SipListenConfig) -> Result<Self, RuntimeError> {
        if !config.udp && !config.tcp && config.tls.is_none() && config.ws.is_none() {
            return Err(RuntimeError::NoTransport);
        }
        let udp = if config.udp {
            Some(bind_udp(&config)?)
        } else {
            None
        };
        let tcp = if config.tcp {
            Some(bind_tcp("tcp", config.addr).await?)
        } else {
            None
        };
        let tls = match &config.tls {
            Some(t) => {
                let server = crate::tls::server_config(&t.cert_chain, &t.private_key)?;
                Some((bind_tcp("tls", t.addr).await?, TlsAcceptor::from(server)))
            }
            None => None,
        };
        let ws = match config.ws {
            Some(addr) => Some(bind_tcp("ws", addr).await?),
            None => None,
        };
        let tls_client = match &config.tls_client {
            Some(c) => {
                let client = crate::tls::client_config(c.ca_file.as_deref(), c.public_roots)?;
                let named = dial::TlsClient::new(client, c.server_name.as_deref());
                Some(named.map_err(|reason| RuntimeError::Tls {
                    path: c.ca_file.clone().unwrap_or_default(),
                    reason,
                })?)
            }
            None => None,
        };
        Ok(Self {
            config,
            udp,
            tcp,
            tls,
            ws,
            tls_client,
        })
    }

    /// The addresses actually bound, per transport.
    pub fn local_addrs(&self) -> Vec<(Transport, SocketAddr)> {
        let mut out = Vec::new();
        if let Some(addr) = self.udp.as_ref().and_then(|s| s.local_addr().ok()) {
            out.push((Transport::Udp, addr));
        }
        let listeners = [
            (Transport::Tcp, self.tcp.as_ref()),
            (Transport::Tls, self.tls.as_ref().map(|(l, _)| l)),
            (Transport::Ws, self.ws.as_ref()),
        ];
        for (transport, listener) in listeners {
            if let Some(addr) = listener.and_then(|l| l.local_addr().ok()) {
                out.push((transport, addr));
            }
        }
        out
    }

    /// Runs `endpoint` on these sockets until `shutdown` completes. Every event the endpoint
    /// reports goes to `app`, which may issue commands (answer a request, send one); their
    /// output is drained before the next input.
    ///
    /// The short form of [`Self::run_app`] for applications with no timer and no command.
    pub async fn run(
        self,
        endpoint: Endpoint,
        app: impl FnMut(&mut Endpoint, Instant, Event),
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), RuntimeError> {
        let (_keep, commands) = mpsc::channel::<()>(1);
        self.run_app(endpoint, FnApp(app), commands, shutdown).await
    }

    /// Runs `endpoint` and `app` on these sockets until `shutdown` completes.
    ///
    /// The driver `select!`s over the sockets, the connection tasks, `commands` (whatever the
    /// rest of the program asks of the application: an HTTP handler hanging up a call, an SDK
    /// call placing one) and a sleep until the earlier of the endpoint's and the
    /// application's deadlines. After every input it drains the endpoint's output, handing
    /// each event to the application, before it waits again (ARCHITECTURE.md §3).
    pub async fn run_app<A: SipApp>(
        self,
        mut endpoint: Endpoint,
        mut app: A,
        mut commands: mpsc::Receiver<A::Command>,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), RuntimeError> {
        let (inbound_tx, mut inbound_rx) = mpsc::channel::<Inbound>(INBOUND_QUEUE);
        let mut driver = Driver {
            config: Arc::new(self.config.clone()),
            udp: self.udp.as_ref(),
            udp_local: self.udp.as_ref().and_then(|s| s.local_addr().ok()),
            inbound: inbound_tx,
            connections: Connections::default(),
            tls_client: self.tls_client.clone(),
        };
        let tls_acceptor = self.tls.as_ref().map(|(_, a)| a.clone());
        let mut buf = vec![0u8; 65_536];
        let mut deadline: Option<Instant> = None;
        let mut commands_open = true;
        tokio::pin!(shutdown);

        loop {
            let next = match (deadline, app.poll_timeout()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let sleep_until = next.map_or_else(
                || tokio::time::Instant::now() + Duration::from_secs(3_600),
                tokio::time::Instant::from_std,
            );
            let backlog = inbound_rx.len();
            tokio::select! {
                () = &mut shutdown => {
                    info!("SIP runtime shutting down");
                    return Ok(());
                }
                received = recv_udp(self.udp.as_ref(), &mut buf) => {
                    match received {
                        Ok((len, remote)) => {
                            let (Some(local), Some(data)) = (driver.udp_local, buf.get(..len)) else { continue };
                            let flow = Flow { transport: Transport::Udp, local, remote };
                            driver.deliver_message(&mut endpoint, backlog, flow, Bytes::copy_from_slice(data)).await;
                        }
                        // ICMP port unreachable from an earlier send shows up here on Linux;
                        // it concerns one peer, not the socket.
                        Err(e) => debug!(error = %e, "udp receive error"),
                    }
                }
                accepted = accept(self.tcp.as_ref()) => driver.accepted(Transport::Tcp, accepted, None),
                accepted = accept(self.tls.as_ref().map(|(l, _)| l)) => {
                    driver.accepted(Transport::Tls, accepted, tls_acceptor.clone());
                }
                accepted = accept(self.ws.as_ref()) => driver.accepted(Transport::Ws, accepted, None),
                Some(inbound) = inbound_rx.recv() => match inbound {
                    Inbound::Frame { flow, frame, alias } => {
                        if let Some(alias) = alias {
                            driver.connections.add_alias((flow.transport, alias), (flow.transport, flow.remote));
                        }
                        driver.deliver_frame(&mut endpoint, backlog, flow, frame).await;
                    }
                    Inbound::Message { flow, bytes } => {
                        driver.deliver_message(&mut endpoint, backlog, flow, bytes).await;
                    }
                    Inbound::Closed { key, id } => driver.connections.remove(key, id),
                    Inbound::ConnectFailed { flow } => transport_error(&mut endpoint, flow),
                },
                command = commands.recv(), if commands_open => match command {
                    Some(command) => app.handle_command(&mut endpoint, Instant::now(), command),
                    // Every sender is gone: the application keeps running on SIP alone.
                    None => commands_open = false,
                },
                () = tokio::time::sleep_until(sleep_until) => {
                    let now = Instant::now();
                    endpoint.handle_timeout(now);
                    if app.poll_timeout().is_some_and(|t| t <= now) {
                        app.handle_timeout(&mut endpoint, now);
                    }
                }
            }
            deadline = driver.drain(&mut endpoint, &mut app).await;
        }
    }
}

/// An application driven by [`SipRuntime::run_app`]: the sans-IO logic above the endpoint
/// (the server's routing, the SDK's call objects), fed events, commands and its own timers.
///
/// Every method runs on the driver's task with exclusive access to the endpoint; none may
/// block. Whatever they ask of the endpoint is sent before the driver waits again.
pub trait SipApp {
    /// What the rest of the program sends the application over the command channel.
    type Command: Send + 'static;

    /// An event the endpoint reported (a new request, a response, a timeout, ...).
    fn handle_event(&mut self, ep: &mut Endpoint, now: Instant, event: Event);

    /// A command from the channel given to [`SipRuntime::run_app`].
    fn handle_command(&mut self, ep: &mut Endpoint, now: Instant, command: Self::Command) {
        let _ = (ep, now, command);
    }

    /// The application's next deadline (a ring timeout, a call's maximum duration), if any.
    /// Asked before every wait.
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    /// The deadline of [`Self::poll_timeout`] has passed.
    fn handle_timeout(&mut self, ep: &mut Endpoint, now: Instant) {
        let _ = (ep, now);
    }
}

/// A closure as a [`SipApp`] with no command and no timer.
struct FnApp<F>(F);

impl<F: FnMut(&mut Endpoint, Instant, Event)> SipApp for FnApp<F> {
    type Command = ();

    fn handle_event(&mut self, ep: &mut Endpoint, now: Instant, event: Event) {
        (self.0)(ep, now, event);
    }
}

/// The driver's state between inputs: sockets and connections.
struct Driver<'a> {
    config: Arc<SipListenConfig>,
    udp: Option<&'a UdpSocket>,
    udp_local: Option<SocketAddr>,
    inbound: mpsc::Sender<Inbound>,
    connections: Connections,
    tls_client: Option<dial::TlsClient>,
}

impl Driver<'_> {
    /// Drains the endpoint's outputs; returns its next deadline.
    async fn drain(&mut self, endpoint: &mut Endpoint, app: &mut impl SipApp) -> Option<Instant> {
        loop {
            match endpoint.poll_output() {
                Output::Transmit(transmit) => self.send(endpoint, transmit).await,
                Output::Event(event) => app.handle_event(endpoint, Instant::now(), event),
                Output::Timeout(deadline) => return deadline,
            }
        }
    }

    /// Whether new INVITEs are refused: the endpoint holds `max_transactions`, or connection
    /// tasks are queueing faster than the endpoint takes their messages.
    fn overloaded(&self, endpoint: &Endpoint, backlog: usize) -> bool {
        let (clients, servers) = endpoint.transaction_counts();
        clients + servers >= self.config.max_transactions || backlog >= INBOUND_HIGH_WATER
    }

    /// A whole message (UDP datagram or WebSocket message).
    async fn deliver_message(
        &mut self,
        endpoint: &mut Endpoint,
        backlog: usize,
        flow: Flow,
        bytes: Bytes,
    ) {
        if self.overloaded(endpoint, backlog)
            && let Some(busy) = overload::busy_reply(&bytes, &self.config)
        {
            debug!(remote = %flow.remote, "overloaded: new INVITE refused with 503");
            self.send(
                endpoint,
                Transmit {
                    flow,
                    payload: busy,
                },
            )
            .await;
            return;
        }
        endpoint.handle_datagram(Instant::now(), flow, bytes);
    }

    /// A message framed on a TCP or TLS stream.
    async fn deliver_frame(
        &mut self,
        endpoint: &mut Endpoint,
        backlog: usize,
        flow: Flow,
        frame: Frame,
    ) {
        if self.overloaded(endpoint, backlog)
            && let Frame::Message(m) = &frame
            && let Some(busy) = overload::busy_reply_to(m, &self.config)
        {
            debug!(remote = %flow.remote, "overloaded: new INVITE refused with 503");
            self.send(
                endpoint,
                Transmit {
                    flow,
                    payload: busy,
                },
            )
            .await;
            return;
        }
        endpoint.handle_frame(Instant::now(), flow, frame);
    }

    /// A connection accepted on a stream listener: register it and start its task.
    fn accepted(
        &mut self,
        transport: Transport,
        accepted: std::io::Result<(TcpStream, SocketAddr)>,
        tls: Option<TlsAcceptor>,
    ) {
        let (stream, remote) = match accepted {
            Ok(a) => a,
            Err(e) => {
                warn!(%transport, error = %e, "accept error");
                return;
            }
        };
        if self.connections.len() >= self.config.max_connections {
            warn!(%transport, "too many connections; refusing one");
            return;
        }
        let local = match stream.local_addr() {
            Ok(a) => a,
            Err(e) => {
                debug!(error = %e, "accepted connection without a local address");
                return;
            }
        };
        let _ = stream.set_nodelay(true);
        let flow = Flow {
            transport,
            local,
            remote,
        };
        let (id, outbound) = self.connections.insert((transport, remote));
        let task = self.task(flow, id);
        match (transport, tls) {
            (Transport::Tls, Some(acceptor)) => {
                tokio::spawn(task.accept_tls(stream, acceptor, outbound));
            }
            (Transport::Ws, _) => {
                tokio::spawn(ws::WsTask(task).run(stream, outbound));
            }
            _ => {
                tokio::spawn(task.run(stream, outbound));
            }
        }
    }

    fn task(&self, flow: Flow, id: u64) -> stream::StreamTask {
        stream::StreamTask {
            flow,
            id,
            config: Arc::clone(&self.config),
            inbound: self.inbound.clone(),
        }
    }

    async fn send(&mut self, endpoint: &mut Endpoint, transmit: Transmit) {
        let Transmit { flow, payload } = transmit;
        if flow.transport == Transport::Udp {
            if let Some(socket) = self.udp
                && let Err(e) = socket.send_to(&payload, flow.remote).await
            {
                debug!(remote = %flow.remote, error = %e, "udp send failed");
            }
            return;
        }
        if let Some(tx) = self.connections.sender((flow.transport, flow.remote)) {
            match tx.try_send(payload) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    warn!(remote = %flow.remote, "connection queue full; message dropped");
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    debug!(remote = %flow.remote, "connection closing; message dropped");
                    transport_error(endpoint, flow);
                }
            }
            return;
        }
        if overload::is_response(&payload) {
            // §18.2.2 asks for a new connection to the Via's received/sent-by; the endpoint
            // names the old connection's address instead, which nobody listens on.
            debug!(remote = %flow.remote, "connection of a response is gone; dropped");
            return;
        }
        if self.connections.len() >= self.config.max_connections {
            debug!(remote = %flow.remote, transport = %flow.transport, "too many connections to open one");
            transport_error(endpoint, flow);
            return;
        }
        let dial = match dial::plan(
            &flow,
            &payload,
            &self.config.limits,
            self.tls_client.as_ref(),
        ) {
            Ok(d) => d,
            Err(why) => {
                debug!(remote = %flow.remote, transport = %flow.transport, why, "cannot open a connection");
                transport_error(endpoint, flow);
                return;
            }
        };
        let (id, outbound) = self.connections.insert((flow.transport, flow.remote));
        if let Some(tx) = self.connections.sender((flow.transport, flow.remote)) {
            let _ = tx.try_send(payload);
        }
        tokio::spawn(self.task(flow, id).connect(outbound, dial));
    }
}

/// A flow failed: its connection could not be opened or is gone. The endpoint fails the
/// client transactions on it at once (RFC 3261 §17.1.4, §8.1.3.1) instead of waiting for
/// Timer B or F, and moves to the next resolved target (RFC 3263 §4.3).
fn transport_error(endpoint: &mut Endpoint, flow: Flow) {
    debug!(remote = %flow.remote, transport = %flow.transport, "transport error");
    endpoint.handle_transport_error(Instant::now(), flow);
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

async fn bind_tcp(transport: &'static str, addr: SocketAddr) -> Result<TcpListener, RuntimeError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| RuntimeError::Bind {
            transport,
            addr,
            source,
        })
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

async fn accept(listener: Option<&TcpListener>) -> std::io::Result<(TcpStream, SocketAddr)> {
    match listener {
        Some(l) => l.accept().await,
        None => std::future::pending().await,
    }
}
