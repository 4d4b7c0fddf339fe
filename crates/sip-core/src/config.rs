//! Endpoint configuration: every timer by its RFC name, never a constant.

use std::time::Duration;

use tandem_sip_msg::{Limits, Method};

/// RFC 3261 §17 base timers (Table 4) and the values derived from them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    /// RTT estimate; default 500 ms (§17.1.1.1).
    pub t1: Duration,
    /// Longest retransmit interval for non-INVITE requests and INVITE responses; 4 s.
    pub t2: Duration,
    /// Longest time a message stays in the network; 5 s.
    pub t4: Duration,
    /// Client INVITE Completed wait on unreliable transports (Timer D, > 32 s).
    pub timer_d: Duration,
    /// How long an INVITE may ring (provisional responses only) before the UAC cancels it
    /// (Timer C; §16.6 asks more than 3 minutes of a proxy). Applications usually give up
    /// earlier with their own ring timeout; this guard keeps a forgotten INVITE from living
    /// for ever.
    pub timer_c: Duration,
}

impl Timers {
    /// 64·T1: Timers B, F, H, J, L, M (§17, RFC 6026).
    pub fn transaction_timeout(&self) -> Duration {
        self.t1.saturating_mul(64)
    }
}

impl Default for Timers {
    fn default() -> Self {
        Self {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            timer_d: Duration::from_secs(32),
            timer_c: Duration::from_secs(181),
        }
    }
}

/// How an [`Endpoint`](crate::Endpoint) behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointConfig {
    /// Transaction timers.
    pub timers: Timers,
    /// Message limits (also applied by stream framers in the runtime).
    pub limits: Limits,
    /// Value of the `Server` header in responses and `User-Agent` in requests.
    pub server: String,
    /// Option tags Tandem supports (RFC 3261 §20.37); a `Require` naming any other gets 420.
    pub supported: Vec<String>,
    /// Methods the transaction user serves (§8.2.1): another known method gets 405 with
    /// `Allow`, an unknown one 501.
    pub allow: Vec<Method>,
    /// Body types the UAS core accepts in INVITE, UPDATE and PRACK (§8.2.3); others get 415.
    pub accept: Vec<String>,
    /// Session timers (RFC 4028), used when `supported` lists `timer`.
    pub session_timer: SessionTimerConfig,
    /// Tandem's TCP address, for requests too large for UDP: one that would exceed
    /// `udp_request_limit` goes over TCP to the same peer instead, with UDP as the fallback
    /// when the connection fails (RFC 3261 §18.1.1). `None`: always as asked.
    pub stream_local: Option<std::net::SocketAddr>,
    /// Largest request sent over UDP, in bytes (§18.1.1: 1300 when the path MTU is unknown).
    pub udp_request_limit: usize,
    /// Transports whose requests carry the Via `alias` parameter (RFC 5923 §5.1), inviting
    /// the peer to send its own requests for Tandem's sent-by over the connection the request
    /// opened instead of opening one back. Default: TLS only, since RFC 5923 §1 and §5 tie
    /// reuse to TLS, where the peer can check the alias against Tandem's certificate; add
    /// TCP for peers that reuse unauthenticated connections (they must trust the Via). WS and
    /// WSS never need it (RFC 7118 §5: the WebSocket client's connection is the only way to
    /// it), nor does UDP.
    pub via_alias: Vec<crate::Transport>,
    /// Seed of the endpoint's RNG (branches, tags): the same seed gives the same traces.
    pub seed: u64,
}

/// RFC 4028 session timer parameters (see the `session` module of the endpoint).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimerConfig {
    /// Session interval Tandem asks for in its INVITEs and UPDATEs (`Session-Expires`), and
    /// grants to a request that names none; default 1800 s (RFC 4028 §4 recommends it).
    pub interval: Duration,
    /// Smallest session interval Tandem accepts (`Min-SE`): a request asking for less gets
    /// 422; default and floor 90 s (RFC 4028 §5).
    pub min_se: Duration,
}

impl Default for SessionTimerConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(1800),
            min_se: Duration::from_secs(90),
        }
    }
}

impl Default for EndpointConfig {
    fn default() -> Self {
        Self {
            timers: Timers::default(),
            limits: Limits::default(),
            server: concat!("Tandem/", env!("CARGO_PKG_VERSION")).to_owned(),
            supported: Vec::new(),
            allow: vec![
                Method::Invite,
                Method::Ack,
                Method::Cancel,
                Method::Bye,
                Method::Options,
            ],
            accept: vec!["application/sdp".to_owned()],
            session_timer: SessionTimerConfig::default(),
            stream_local: None,
            udp_request_limit: 1_300,
            via_alias: vec![crate::Transport::Tls],
            seed: 0,
        }
    }
}
