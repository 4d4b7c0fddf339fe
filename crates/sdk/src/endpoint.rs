//! [`Endpoint`]: the SIP stack of an SDK application, running on its own tokio task.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tandem_call::{B2bua, B2buaConfig};
use tandem_runtime::media::{MediaConfig, MediaEngine};
use tandem_runtime::sip::{SipListenConfig, SipRuntime};
use tandem_sip_core::{Endpoint as SipEndpoint, EndpointConfig, Timers, Transport};
use tandem_sip_msg::Method;
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::b2b::{BackToBackCall, CallSettings, OutgoingLeg};
use crate::call::IncomingCall;
use crate::driver::{Command, Link, Media, SdkApp};
use crate::error::{BindError, ShutdownError};

/// How an [`Endpoint`] listens and behaves.
#[derive(Debug, Clone)]
pub struct EndpointSettings {
    /// Sockets: address, transports (UDP and TCP by default; TLS, WS), limits.
    pub listen: SipListenConfig,
    /// `User-Agent` of requests and `Server` of responses.
    pub user_agent: String,
    /// The back-to-back controller's settings (Tandem's SDP `o=` line).
    pub b2bua: B2buaConfig,
    /// Incoming calls queued for [`Endpoint::incoming_calls`]; beyond that, new INVITEs get
    /// `503` with `Retry-After`.
    pub incoming_queue: usize,
    /// Commands queued from the handles to the driver.
    pub command_queue: usize,
    /// An incoming call left undecided this long is declined with 480.
    pub decision_timeout: Duration,
    /// How long [`Endpoint::shutdown`] waits for live calls to end after sending their BYEs.
    pub shutdown_grace: Duration,
    /// Seed of the SIP endpoint's RNG (tags, branches, Call-IDs); `None`: from the OS.
    pub seed: Option<u64>,
    /// Support session timers (RFC 4028, option tag `timer`): needed by
    /// [`CallSettings::with_session_expires`](crate::CallSettings::with_session_expires);
    /// incoming INVITEs asking for one get it negotiated too. Off by default.
    pub session_timers: bool,
    /// The media engine of calls Tandem answers itself ([`IncomingCall::accept`]).
    pub media: MediaSettings,
    /// SIP timers (RFC 3261 §17: T1, T2, T4 and those derived from them, e.g. how long a
    /// 2xx waits for its ACK, 64·T1). The RFC's values by default.
    pub timers: Timers,
}

/// The media engine of an [`Endpoint`]: one thread mixing rooms every 20 ms, with the RTP
/// sockets of accepted calls ([`IncomingCall::accept`]).
#[derive(Debug, Clone, Default)]
pub struct MediaSettings {
    /// The engine's settings: the rooms' mixing rate (8, 16 or 48 kHz) and the recordings
    /// directory. With `recordings` set, *every* room is recorded to
    /// `DIR/<room>-<n>.wav` (the engine records per engine, not per room).
    pub engine: MediaConfig,
    /// Start the engine in [`Endpoint::bind`] (a failure fails the bind) rather than with
    /// the first accepted call. Off by default: an endpoint that only bridges calls never
    /// starts the media thread.
    pub start_at_bind: bool,
    /// The address of RTP sockets (and of the SDP `c=` line); `None`: the local address the
    /// INVITE came to.
    pub address: Option<IpAddr>,
}

impl EndpointSettings {
    /// UDP and TCP on `addr` (port 0 picks a free port for each).
    ///
    /// Bind a specific address, not `0.0.0.0`/`[::]`: the bound address is what Tandem puts
    /// in its Via and Contact headers and its SDP `o=` line.
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            listen: SipListenConfig {
                addr,
                ..SipListenConfig::default()
            },
            user_agent: concat!("Tandem-SDK/", env!("CARGO_PKG_VERSION")).to_owned(),
            b2bua: B2buaConfig::default(),
            incoming_queue: 64,
            command_queue: 256,
            decision_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(5),
            seed: None,
            session_timers: false,
            media: MediaSettings::default(),
            timers: Timers::default(),
        }
    }

    /// UDP only (no TCP listener).
    pub fn udp_only(mut self) -> Self {
        self.listen.tcp = false;
        self
    }

    /// Turns on session timers (see [`Self::session_timers`]).
    pub fn with_session_timers(mut self) -> Self {
        self.session_timers = true;
        self
    }

    /// Records every room of the media engine to `dir` (see [`MediaSettings::engine`]).
    pub fn with_recordings(mut self, dir: impl Into<PathBuf>) -> Self {
        self.media.engine.recordings = Some(dir.into());
        self
    }

    /// Sets the `User-Agent`/`Server` header value.
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }
}

/// Methods the SDK's application serves; the endpoint answers others 405/501.
const ALLOW: &[Method] = &[
    Method::Invite,
    Method::Ack,
    Method::Cancel,
    Method::Bye,
    Method::Options,
    Method::Update,
    Method::Info,
];

/// A SIP endpoint for an application (UCMA's `CollaborationPlatform` and
/// `ApplicationEndpoint` in one): the sockets, the SIP stack and the call controller,
/// driven by one tokio task.
///
/// Dropping the `Endpoint` stops that task at once, without BYEs; call
/// [`Self::shutdown`] to end calls first.
#[derive(Debug)]
pub struct Endpoint {
    link: Arc<Link>,
    incoming: IncomingCalls,
    local_addrs: Vec<(Transport, SocketAddr)>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), tandem_runtime::RuntimeError>>>,
    grace: Duration,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("transports", &self.transports)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// Binds the sockets and starts the driver task (on the current tokio runtime).
    pub async fn bind(settings: EndpointSettings) -> Result<Self, BindError> {
        if settings.incoming_queue == 0 || settings.command_queue == 0 {
            return Err(BindError::Settings(
                "queues must hold at least one item".into(),
            ));
        }
        let runtime = SipRuntime::bind(settings.listen.clone()).await?;
        let local_addrs = runtime.local_addrs();
        let seed = settings.seed.unwrap_or_else(os_seed);
        let stream_local = local_addrs
            .iter()
            .find_map(|(t, a)| (*t == Transport::Tcp).then_some(*a));
        let mut config = EndpointConfig {
            server: settings.user_agent.clone(),
            allow: ALLOW.to_vec(),
            stream_local,
            seed,
            timers: settings.timers,
            ..EndpointConfig::default()
        };
        if settings.session_timers {
            config.supported.push("timer".to_owned());
        }
        config.accept.extend([
            "application/dtmf-relay".to_owned(),
            "application/dtmf".to_owned(),
        ]);
        let endpoint = SipEndpoint::new(config);
        let (commands_tx, commands_rx) = mpsc::channel(settings.command_queue);
        let (incoming_tx, incoming_rx) = mpsc::channel(settings.incoming_queue);
        // RFC 3263 preference among what is bound: UDP, then TCP, then TLS.
        let transports: Vec<Transport> = [Transport::Udp, Transport::Tcp, Transport::Tls]
            .into_iter()
            .filter(|t| local_addrs.iter().any(|(b, _)| b == t))
            .collect();
        let link = Arc::new(Link::new(commands_tx, transports, seed.rotate_left(17)));
        let engine = if settings.media.start_at_bind {
            Some(
                MediaEngine::start(settings.media.engine.clone())
                    .map_err(|e| BindError::Media(e.to_string()))?,
            )
        } else {
            None
        };
        let media = Media::new(
            engine,
            settings.media.engine.clone(),
            settings.media.address,
        );
        let app = SdkApp::new(
            B2bua::new(settings.b2bua.clone()),
            Arc::clone(&link),
            incoming_tx,
            local_addrs.clone(),
            settings.decision_timeout,
            media,
        );
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            runtime
                .run_app(endpoint, app, commands_rx, async move {
                    // A send or a dropped sender both stop the driver.
                    let _ = stop_rx.await;
                })
                .await
        });
        Ok(Self {
            link,
            incoming: IncomingCalls {
                rx: Arc::new(Mutex::new(incoming_rx)),
            },
            local_addrs,
            stop: Some(stop_tx),
            task: Some(task),
            grace: settings.shutdown_grace,
        })
    }

    /// The incoming calls (UCMA's `RegisterForIncomingCall`): every new INVITE, in order.
    /// Each call to this method returns a receiver of the same queue.
    pub fn incoming_calls(&self) -> IncomingCalls {
        self.incoming.clone()
    }

    /// A call placed by Tandem to two parties and joined back to back (click-to-call,
    /// RFC 3725 Flow I): `first` is called without SDP, its offer (in its 2xx) goes to
    /// `second`, and `second`'s answer returns to `first` in the ACK. If `second` fails,
    /// `first` gets a rejecting answer and BYE. Nothing is sent until
    /// [`BackToBackCall::establish`], which resolves when both answered. The caller id shown
    /// to each party is the other's URI unless the settings' `with_from` says otherwise.
    ///
    /// Outgoing legs leave from the bound address of their transport: bind a specific
    /// address, not `0.0.0.0`, to originate.
    pub fn originate(
        &self,
        first: CallSettings<OutgoingLeg>,
        second: CallSettings<OutgoingLeg>,
    ) -> BackToBackCall {
        BackToBackCall::originate(Arc::clone(&self.link), first, second)
    }

    /// How many calls the endpoint holds now: undecided incoming calls and back-to-back calls
    /// until they are `Terminated` (0 once the endpoint has stopped).
    pub async fn active_calls(&self) -> usize {
        self.link
            .ask(|reply| Command::Count { reply })
            .await
            .unwrap_or(0)
    }

    /// The addresses bound, per transport.
    pub fn local_addrs(&self) -> &[(Transport, SocketAddr)] {
        &self.local_addrs
    }

    /// The address bound for `transport`, if any.
    pub fn local_addr(&self, transport: Transport) -> Option<SocketAddr> {
        self.local_addrs
            .iter()
            .find_map(|(t, a)| (*t == transport).then_some(*a))
    }

    /// Stops the endpoint gracefully (UCMA's `BeginShutdown`): new INVITEs get 503, undecided
    /// incoming calls get 503, live calls are terminated (BYE with
    /// `Reason: SIP;cause=503`), then the driver stops once they are all over or after
    /// `EndpointSettings::shutdown_grace`.
    pub async fn shutdown(mut self) -> Result<(), ShutdownError> {
        let link = Arc::clone(&self.link);
        let _ =
            tokio::time::timeout(self.grace, link.ask(|reply| Command::Shutdown { reply })).await;
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => match task.await {
                Ok(result) => result.map_err(ShutdownError::from),
                Err(e) => Err(ShutdownError::Driver(e.to_string())),
            },
            None => Ok(()),
        }
    }
}

/// The queue of incoming calls of an [`Endpoint`] (see [`Endpoint::incoming_calls`]).
/// Clones share the queue: each call goes to one receiver.
#[derive(Debug, Clone)]
pub struct IncomingCalls {
    rx: Arc<Mutex<mpsc::Receiver<IncomingCall>>>,
}

impl IncomingCalls {
    /// The next incoming call; `None` once the endpoint has stopped.
    pub async fn next(&mut self) -> Option<IncomingCall> {
        self.rx.lock().await.recv().await
    }
}

/// A seed from the OS's randomness via std's hasher keys (no extra dependency).
fn os_seed() -> u64 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut h = RandomState::new().build_hasher();
    h.write_u64(u64::from(std::process::id()));
    h.finish()
}
