//! The server's TOML configuration.
//!
//! Every table is `deny_unknown_fields`, so a misspelt key is an error that names the key and
//! its line instead of a silently ignored setting. Defaults make `tandem serve` useful with no
//! file at all: SIP on 127.0.0.1:5060 (UDP and TCP), HTTP on 127.0.0.1:8080, state under
//! `./data`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The whole configuration file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    /// SIP listeners and message limits.
    #[serde(default)]
    pub(crate) sip: SipConfig,
    /// The HTTP listener (REST API, web pages).
    #[serde(default)]
    pub(crate) http: HttpConfig,
    /// Where Tandem keeps its state.
    #[serde(default)]
    pub(crate) data: DataConfig,
    /// Conference rooms on Tandem's own mixer.
    #[serde(default)]
    pub(crate) conference: ConferenceConfig,
    /// The registrar (RFC 3261 §10) and its digest authentication.
    #[serde(default)]
    pub(crate) registrar: RegistrarSection,
    /// Accounts that may register, each `[[user]]` with `name` and `password`.
    #[serde(default, rename = "user")]
    pub(crate) users: Vec<UserConfig>,
    /// Back-to-back routes, first match wins: `[[route]]` with `match` and `destination`.
    #[serde(default, rename = "route")]
    pub(crate) routes: Vec<RouteConfig>,
}

/// `[[route]]`: an incoming INVITE whose Request-URI matches `match` becomes a back-to-back
/// call to `destination` (scenario S1).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(crate) struct RouteConfig {
    /// Regular expression on the Request-URI as written (e.g. `^sip:.*`).
    #[serde(rename = "match")]
    pub(crate) pattern: String,
    /// A SIP URI, or a list tried in order (the next on timeout, transport error or 503).
    pub(crate) destination: Destinations,
    /// Headers added to the outgoing leg.
    #[serde(default)]
    pub(crate) headers: std::collections::BTreeMap<String, String>,
    /// Headers of the incoming leg copied to the outgoing one (and in-dialog both ways).
    #[serde(default)]
    pub(crate) pass_through: Vec<String>,
    /// From of the outgoing leg (a name-addr); default: the caller's.
    #[serde(default)]
    pub(crate) from: Option<String>,
    /// P-Asserted-Identity of the outgoing leg (RFC 3325 §9.1, a name-addr); replaces any
    /// the pass-through list copies.
    #[serde(default)]
    pub(crate) asserted_identity: Option<String>,
    /// Seconds the outgoing leg may ring before it is cancelled and the caller gets 480;
    /// default: only Timer C (RFC 3261 §16.6, 3 minutes).
    #[serde(default)]
    pub(crate) ring_timeout_s: Option<u64>,
    /// Seconds after the answer at which both legs get BYE; default: no limit.
    #[serde(default)]
    pub(crate) max_duration_s: Option<u64>,
    /// Session timer of the outgoing leg (RFC 4028), at least 90 s: Tandem refreshes it and
    /// a lost leg ends the call. Default: none asked for.
    #[serde(default)]
    pub(crate) session_expires_s: Option<u64>,
    /// Digest credentials answering a 401/407 to the outgoing INVITE (RFC 3261 §22.2).
    #[serde(default)]
    pub(crate) credentials: Option<RouteCredentials>,
}

/// `[route.credentials]`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(crate) struct RouteCredentials {
    /// The user name.
    pub(crate) username: String,
    /// The password.
    pub(crate) password: String,
    /// Only answer challenges of this realm; default: any.
    #[serde(default)]
    pub(crate) realm: Option<String>,
}

/// One destination or several.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub(crate) enum Destinations {
    /// `destination = "sip:..."`.
    One(String),
    /// `destination = ["sip:...", "sip:..."]`.
    Many(Vec<String>),
}

impl Destinations {
    /// The URIs in order.
    pub(crate) fn uris(&self) -> Vec<&str> {
        match self {
            Self::One(u) => vec![u.as_str()],
            Self::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// `[registrar]`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegistrarSection {
    /// Digest realm (RFC 8760) and the domain of registered AORs (`sip:<user>@<realm>`).
    #[serde(default = "default_realm")]
    pub(crate) realm: String,
    /// Domains whose addresses of record the registrar keeps (§10.3 step 1); empty: any.
    #[serde(default)]
    pub(crate) domains: Vec<String>,
    /// Shortest registration accepted; shorter ones get 423 (§10.3 step 7).
    #[serde(default = "default_min_expires")]
    pub(crate) min_expires: u32,
    /// Longest registration; longer ones are shortened.
    #[serde(default = "default_max_expires")]
    pub(crate) max_expires: u32,
    /// Digest algorithms offered, one challenge each, in order of preference (RFC 8760 §2.4):
    /// `SHA-256`, `MD5`, `SHA-512-256` and their `-sess` forms. Some clients (SIPp 3.6.1, older
    /// phones) answer only the first challenge and only with MD5: list `MD5` first for them.
    #[serde(default = "default_algorithms")]
    pub(crate) algorithms: Vec<String>,
    /// Lifetime of a digest nonce in seconds; older ones get `stale=true`.
    #[serde(default = "default_nonce_lifetime")]
    pub(crate) nonce_lifetime_s: u64,
}

impl Default for RegistrarSection {
    fn default() -> Self {
        Self {
            realm: default_realm(),
            domains: Vec::new(),
            algorithms: default_algorithms(),
            min_expires: default_min_expires(),
            max_expires: default_max_expires(),
            nonce_lifetime_s: default_nonce_lifetime(),
        }
    }
}

/// `[[user]]`: an account of the registrar.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserConfig {
    /// User part of the AOR (`sip:<name>@<realm>`) and digest username.
    pub(crate) name: String,
    /// Digest password.
    pub(crate) password: String,
}

fn default_realm() -> String {
    "tandem".to_owned()
}
fn default_algorithms() -> Vec<String> {
    vec!["SHA-256".to_owned(), "MD5".to_owned()]
}
fn default_min_expires() -> u32 {
    60
}
fn default_max_expires() -> u32 {
    3_600
}
fn default_nonce_lifetime() -> u64 {
    300
}

/// `[conference]`: rooms reached by dialling `sip:<prefix><room>@tandem`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConferenceConfig {
    /// User-part prefix of conference URIs.
    #[serde(default = "default_conference_prefix")]
    pub(crate) prefix: String,
    /// Record every room to `<data>/recordings/<room>-<n>.wav`.
    #[serde(default = "default_true")]
    pub(crate) record: bool,
    /// Mixing rate of rooms: 8000, 16000 or 48000 Hz.
    #[serde(default = "default_room_rate")]
    pub(crate) rate: u32,
}

impl Default for ConferenceConfig {
    fn default() -> Self {
        Self {
            prefix: default_conference_prefix(),
            record: true,
            rate: default_room_rate(),
        }
    }
}

fn default_conference_prefix() -> String {
    "conf-".to_owned()
}
fn default_true() -> bool {
    true
}
fn default_room_rate() -> u32 {
    8_000
}

/// `[sip]`: where Tandem listens for SIP and how much it accepts.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct SipConfig {
    /// The address bound for both UDP and TCP (RFC 3261 §18: a UA must support both).
    #[serde(default = "default_sip_listen")]
    pub(crate) listen: SocketAddr,
    /// Transports opened on `listen`.
    #[serde(default = "default_transports")]
    pub(crate) transports: Vec<TransportName>,
    /// The `Server`/`User-Agent` header value Tandem sends.
    #[serde(default = "default_user_agent")]
    pub(crate) user_agent: String,
    /// Largest SIP message accepted, in bytes.
    #[serde(default = "default_max_message_size")]
    pub(crate) max_message_size: usize,
    /// Most header fields accepted in one message.
    #[serde(default = "default_max_headers")]
    pub(crate) max_headers: usize,
    /// Longest start line or header field accepted (with its folding), in bytes.
    #[serde(default = "default_max_line_length")]
    pub(crate) max_line_length: usize,
    /// Longest Request-URI accepted (a longer one gets 414), in bytes.
    #[serde(default = "default_max_uri_length")]
    pub(crate) max_uri_length: usize,
    /// Transaction timers (RFC 3261 §17, Table 4).
    #[serde(default)]
    pub(crate) timers: TimersConfig,
    /// TLS listener (RFC 3261 §26); none unless the table is present.
    #[serde(default)]
    pub(crate) tls: Option<TlsSection>,
    /// WebSocket listener (RFC 7118); none unless the table is present.
    #[serde(default)]
    pub(crate) ws: Option<WsSection>,
    /// Live transactions above which new INVITEs get 503 with Retry-After.
    #[serde(default = "default_max_transactions")]
    pub(crate) max_transactions: usize,
    /// Seconds in the Retry-After of that 503.
    #[serde(default = "default_retry_after")]
    pub(crate) retry_after_s: u32,
    /// Honour the Via `alias` parameter (RFC 5923) on connections: requests toward the
    /// peer's advertised address reuse its connection. Off by default, since without client
    /// certificates any peer can claim any address.
    #[serde(default)]
    pub(crate) accept_aliases: bool,
    /// Transports on which Tandem's own requests carry the Via `alias` parameter (RFC 5923
    /// §5.1), inviting the peer to reuse the connection for its requests. TLS only by
    /// default: RFC 5923 §5 ties the alias to a certificate the peer can check.
    #[serde(default = "default_via_alias")]
    pub(crate) via_alias: Vec<AliasTransport>,
    /// Reliable provisional responses (RFC 3262): `100rel` is supported, so early media
    /// crosses a call reliably (18x with SDP, PRACK on each leg) when the caller offers it.
    #[serde(default = "default_true")]
    pub(crate) prack: bool,
    /// `[sip.tls_client]`: how Tandem checks the servers it connects to over TLS and WSS.
    #[serde(default)]
    pub(crate) tls_client: TlsClientSection,
}

/// A stream transport that can carry the Via `alias` parameter.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum AliasTransport {
    /// TCP (RFC 5923 §5: no certificate backs the claim; opt in on trusted networks).
    Tcp,
    /// TLS (RFC 5923 §5.1).
    Tls,
}

/// `[sip.tls_client]`: trust for Tandem's outgoing TLS and WSS connections (RFC 3261
/// §26.2.1, RFC 5922 §4.1).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct TlsClientSection {
    /// Connect over TLS/WSS at all; `false` fails such requests at once.
    #[serde(default = "default_true")]
    pub(crate) enabled: bool,
    /// PEM file of further trusted CA certificates (a private PKI, a self-signed peer).
    #[serde(default)]
    pub(crate) ca_file: Option<PathBuf>,
    /// Trust the public web PKI (Mozilla's roots).
    #[serde(default = "default_true")]
    pub(crate) public_roots: bool,
    /// The name every server certificate must carry, instead of the next hop's host.
    #[serde(default)]
    pub(crate) server_name: Option<String>,
}

impl Default for TlsClientSection {
    fn default() -> Self {
        Self {
            enabled: true,
            ca_file: None,
            public_roots: true,
            server_name: None,
        }
    }
}

fn default_via_alias() -> Vec<AliasTransport> {
    vec![AliasTransport::Tls]
}

/// `[sip.tls]`: a TLS listener (`sips:`, RFC 3261 §26.2).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct TlsSection {
    /// Address of the TLS listener.
    #[serde(default = "default_tls_listen")]
    pub(crate) listen: SocketAddr,
    /// PEM file with the certificate chain, leaf first.
    pub(crate) cert: PathBuf,
    /// PEM file with the private key.
    pub(crate) key: PathBuf,
}

/// `[sip.ws]`: a WebSocket listener (RFC 7118), for browsers and WebRTC gateways.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct WsSection {
    /// Address of the WebSocket listener.
    #[serde(default = "default_ws_listen")]
    pub(crate) listen: SocketAddr,
}

/// `[sip.timers]`: RFC 3261 Table 4 base values, in milliseconds. Lower T1 only on networks
/// known to be fast (§17.1.1.1); every transaction timeout is 64·T1.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(crate) struct TimersConfig {
    /// RTT estimate T1 (default 500).
    #[serde(default = "default_t1")]
    pub(crate) t1_ms: u64,
    /// Maximum retransmit interval T2 (default 4000).
    #[serde(default = "default_t2")]
    pub(crate) t2_ms: u64,
    /// Maximum message lifetime T4 (default 5000).
    #[serde(default = "default_t4")]
    pub(crate) t4_ms: u64,
}

impl Default for TimersConfig {
    fn default() -> Self {
        Self {
            t1_ms: default_t1(),
            t2_ms: default_t2(),
            t4_ms: default_t4(),
        }
    }
}

fn default_t1() -> u64 {
    500
}
fn default_t2() -> u64 {
    4_000
}
fn default_t4() -> u64 {
    5_000
}

/// A transport name as written in the file.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum TransportName {
    /// RFC 3261 §18 over UDP.
    Udp,
    /// RFC 3261 §18 over TCP, framed by Content-Length.
    Tcp,
}

/// `[http]`: the REST API and web pages.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct HttpConfig {
    /// Address of the HTTP listener.
    #[serde(default = "default_http_listen")]
    pub(crate) listen: SocketAddr,
}

/// `[data]`: the state folder.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct DataConfig {
    /// Folder for the SQLite database, recordings and other state.
    #[serde(default = "default_data_dir")]
    pub(crate) dir: PathBuf,
    /// Write call detail records to `<dir>/tandem.db` (one row per call and per leg).
    #[serde(default = "default_true")]
    pub(crate) cdr: bool,
    /// Records that may wait for the database writer; when full, records are dropped with a
    /// warning rather than slowing the SIP loop.
    #[serde(default = "default_cdr_queue")]
    pub(crate) cdr_queue: usize,
}

impl Default for SipConfig {
    fn default() -> Self {
        Self {
            listen: default_sip_listen(),
            transports: default_transports(),
            user_agent: default_user_agent(),
            max_message_size: default_max_message_size(),
            max_headers: default_max_headers(),
            max_line_length: default_max_line_length(),
            max_uri_length: default_max_uri_length(),
            timers: TimersConfig::default(),
            tls: None,
            ws: None,
            max_transactions: default_max_transactions(),
            retry_after_s: default_retry_after(),
            accept_aliases: false,
            via_alias: default_via_alias(),
            prack: true,
            tls_client: TlsClientSection::default(),
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: default_http_listen(),
        }
    }
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            dir: default_data_dir(),
            cdr: true,
            cdr_queue: default_cdr_queue(),
        }
    }
}

fn default_sip_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 5060))
}
fn default_tls_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 5061))
}
fn default_ws_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 5066))
}
/// Transactions linger after their call moved on (RFC 6026 Timer L/M and Timer J/K: up to
/// 64·T1 = 32 s), about three per back-to-back call, so a sustained `R` calls/s keeps about
/// `100·R` transactions alive: 300,000 admits about 3,000 calls/s (more than one core
/// serves) while bounding memory to a few hundred MiB.
fn default_max_transactions() -> usize {
    300_000
}
fn default_retry_after() -> u32 {
    5
}
fn default_http_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_transports() -> Vec<TransportName> {
    vec![TransportName::Udp, TransportName::Tcp]
}
fn default_user_agent() -> String {
    concat!("Tandem/", env!("CARGO_PKG_VERSION")).to_owned()
}
fn default_data_dir() -> PathBuf {
    PathBuf::from("./data")
}
fn default_cdr_queue() -> usize {
    4_096
}
fn default_max_message_size() -> usize {
    65_535
}
fn default_max_headers() -> usize {
    256
}
fn default_max_line_length() -> usize {
    8_192
}
fn default_max_uri_length() -> usize {
    4_096
}

/// A configuration that could not be used: the file, and where in it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum ConfigError {
    /// The file could not be read.
    #[error("{path}: cannot read: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        reason: String,
    },
    /// TOML syntax, an unknown key or a value of the wrong type.
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line of the offending key or value.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong, naming the key.
        message: String,
    },
    /// A value that parses but cannot work (checked after parsing).
    #[error("{path}: key `{key}`: {message}")]
    Semantic {
        /// The file.
        path: PathBuf,
        /// Dotted key path, e.g. `sip.transports`.
        key: String,
        /// What is wrong.
        message: String,
    },
}

impl Config {
    /// Reads and checks a configuration file.
    pub(crate) fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        Self::parse(&text, path)
    }

    /// Parses configuration text; `path` only names the source in errors.
    pub(crate) fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let config: Self = toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|span| line_and_column(text, span.start))
                .unwrap_or((1, 1));
            let message = e.message().trim();
            // toml names unknown keys but not the key of a value of the wrong type or
            // variant: name it from the text around the error.
            let message = match e.span().and_then(|span| key_at(text, span.start)) {
                Some(key) if !message.contains(&key) => format!("key `{key}`: {message}"),
                _ => message.to_owned(),
            };
            ConfigError::Invalid {
                path: path.to_owned(),
                line,
                column,
                message,
            }
        })?;
        config.validate(path).map_err(|e| locate(e, text))?;
        Ok(config)
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let semantic = |key: &str, message: &str| ConfigError::Semantic {
            path: path.to_owned(),
            key: key.to_owned(),
            message: message.to_owned(),
        };
        if self.sip.transports.is_empty() && self.sip.tls.is_none() && self.sip.ws.is_none() {
            return Err(semantic(
                "sip.transports",
                "at least one transport is needed",
            ));
        }
        if self.sip.max_transactions == 0 {
            return Err(semantic("sip.max_transactions", "must be at least 1"));
        }
        if self.data.cdr_queue == 0 {
            return Err(semantic("data.cdr_queue", "must be at least 1"));
        }
        if self.sip.max_message_size < 1_024 {
            return Err(semantic(
                "sip.max_message_size",
                "must be at least 1024 bytes",
            ));
        }
        if self.sip.max_headers == 0 {
            return Err(semantic("sip.max_headers", "must be at least 1"));
        }
        if self.sip.max_line_length < 64 {
            return Err(semantic("sip.max_line_length", "must be at least 64 bytes"));
        }
        if self.sip.max_uri_length < 32 {
            return Err(semantic("sip.max_uri_length", "must be at least 32 bytes"));
        }
        if self.conference.prefix.is_empty() {
            return Err(semantic(
                "conference.prefix",
                "must not be empty (every INVITE would join a room)",
            ));
        }
        if ![8_000, 16_000, 48_000].contains(&self.conference.rate) {
            return Err(semantic("conference.rate", "must be 8000, 16000 or 48000"));
        }
        if self.registrar.realm.is_empty() || self.registrar.realm.contains(['"', '\\']) {
            return Err(semantic(
                "registrar.realm",
                "must be non-empty, without quotes or backslashes",
            ));
        }
        for (i, a) in self.registrar.algorithms.iter().enumerate() {
            if tandem_sip_core::auth::Algorithm::from_token(a).is_none() {
                return Err(semantic(
                    &format!("registrar.algorithms[{i}]"),
                    &format!("unknown digest algorithm `{a}`"),
                ));
            }
        }
        if self.registrar.algorithms.is_empty() {
            return Err(semantic(
                "registrar.algorithms",
                "at least one algorithm is needed",
            ));
        }
        if self.registrar.min_expires > self.registrar.max_expires {
            return Err(semantic(
                "registrar.min_expires",
                "must not exceed registrar.max_expires",
            ));
        }
        if self.registrar.nonce_lifetime_s == 0 {
            return Err(semantic("registrar.nonce_lifetime_s", "must be at least 1"));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, u) in self.users.iter().enumerate() {
            if u.name.is_empty()
                || !u
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.!~*'+".contains(c))
            {
                return Err(semantic(
                    &format!("user[{i}].name"),
                    "must be a non-empty SIP user part (letters, digits, -_.!~*'+)",
                ));
            }
            if !seen.insert(u.name.as_str()) {
                return Err(semantic(
                    &format!("user[{i}].name"),
                    &format!("`{}` is listed twice", u.name),
                ));
            }
        }
        for (i, r) in self.routes.iter().enumerate() {
            if let Err(e) = regex::Regex::new(&r.pattern) {
                return Err(semantic(
                    &format!("route[{i}].match"),
                    &format!("not a regular expression: {e}"),
                ));
            }
            let uris = r.destination.uris();
            if uris.is_empty() {
                return Err(semantic(
                    &format!("route[{i}].destination"),
                    "at least one URI is needed",
                ));
            }
            for u in uris {
                match tandem_sip_msg::Uri::parse(u) {
                    // A host name is located per RFC 3263 for each call.
                    Ok(tandem_sip_msg::Uri::Sip(_)) => {}
                    _ => {
                        return Err(semantic(
                            &format!("route[{i}].destination"),
                            &format!("`{u}` is not a sip: or sips: URI"),
                        ));
                    }
                }
            }
            let at = |key: &str| format!("route[{i}].{key}");
            if r.ring_timeout_s == Some(0) {
                return Err(semantic(&at("ring_timeout_s"), "must be at least 1"));
            }
            if r.max_duration_s == Some(0) {
                return Err(semantic(&at("max_duration_s"), "must be at least 1"));
            }
            if r.session_expires_s.is_some_and(|s| s < 90) {
                return Err(semantic(
                    &at("session_expires_s"),
                    "must be at least 90 (RFC 4028 §4: the smallest Min-SE)",
                ));
            }
            if let Some(c) = &r.credentials {
                if c.username.is_empty()
                    || c.username.chars().any(|ch| ch.is_control() || ch == '"')
                {
                    return Err(semantic(
                        &at("credentials.username"),
                        "must be non-empty, without quotes or control characters",
                    ));
                }
                if c.realm
                    .as_ref()
                    .is_some_and(|r| r.chars().any(|ch| ch.is_control() || ch == '"'))
                {
                    return Err(semantic(
                        &at("credentials.realm"),
                        "must not contain quotes or control characters",
                    ));
                }
            }
            if let Some(from) = &r.from
                && from.chars().any(char::is_control)
            {
                return Err(semantic(&at("from"), "must be one line"));
            }
            for (name, value) in &r.headers {
                if name.is_empty()
                    || !name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b))
                {
                    return Err(semantic(
                        &format!("route[{i}].headers"),
                        &format!("`{name}` is not a header name"),
                    ));
                }
                if value.contains(['\r', '\n']) {
                    return Err(semantic(
                        &format!("route[{i}].headers.{name}"),
                        "must be one line",
                    ));
                }
            }
        }
        let t = &self.sip.timers;
        if t.t1_ms == 0 {
            return Err(semantic("sip.timers.t1_ms", "must be at least 1"));
        }
        if t.t2_ms < t.t1_ms {
            return Err(semantic("sip.timers.t2_ms", "must not be below t1_ms"));
        }
        if t.t4_ms == 0 {
            return Err(semantic("sip.timers.t4_ms", "must be at least 1"));
        }
        if self.sip.user_agent.chars().any(|c| c.is_control()) {
            return Err(semantic(
                "sip.user_agent",
                "must not contain control characters",
            ));
        }
        Ok(())
    }
}

/// Adds the line to a semantic error about a key of an array of tables (`route[1].from`,
/// `user[0].name`): the line of that key in that table, else of the table's header, so
/// `tandem check-config` names key and line for these too.
fn locate(e: ConfigError, text: &str) -> ConfigError {
    let ConfigError::Semantic { path, key, message } = e else {
        return e;
    };
    match key_line(text, &key) {
        Some(line) => ConfigError::Invalid {
            path,
            line,
            column: 1,
            message: format!("key `{key}`: {message}"),
        },
        None => ConfigError::Semantic { path, key, message },
    }
}

/// The 1-based line of `table[i].field...` in `text`, for `[[table]]` arrays written in
/// the usual form (one header line per element).
fn key_line(text: &str, key: &str) -> Option<usize> {
    let (table, rest) = key.split_once('[')?;
    let (index, rest) = rest.split_once(']')?;
    let index: usize = index.parse().ok()?;
    let mut parts = rest.trim_start_matches('.').split(['.', '[']);
    let field = parts.next().unwrap_or_default();
    let subfield = parts.next();
    let header = format!("[[{table}]]");
    let sub = format!("[{table}.{field}]");
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with(&header))
        .nth(index)?
        .0;
    let mut found = None;
    for (n, line) in lines.iter().enumerate().skip(start + 1) {
        let t = line.trim_start();
        if t.starts_with("[[") || (t.starts_with('[') && !t.starts_with(&format!("[{table}."))) {
            break;
        }
        let key_here = t
            .split_once('=')
            .is_some_and(|(k, _)| k.trim().trim_matches('"') == field);
        if !field.is_empty() && key_here {
            found = Some(n);
            break;
        }
        if t.starts_with(&sub) {
            // `[table.field]`: the sub-key's line inside it, else the header's.
            found = Some(n);
            let inner = lines.iter().enumerate().skip(n + 1);
            for (m, l) in inner.take_while(|(_, l)| !l.trim_start().starts_with('[')) {
                let k = l.split_once('=').map(|(k, _)| k.trim().trim_matches('"'));
                if subfield.is_some() && k == subfield {
                    found = Some(m);
                    break;
                }
            }
            break;
        }
    }
    Some(found.unwrap_or(start) + 1)
}

/// 1-based line and column of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, column)
}

/// The dotted key whose value sits at byte `offset` of `text`: the nearest `key =` at or
/// above the offset's line (a value may span lines), under the nearest table header above
/// it. `None` when the offset is on a header or before any key.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let line_end = text
        .get(offset..)
        .and_then(|rest| rest.find('\n'))
        .map_or(text.len(), |n| offset + n);
    let upto = text.get(..line_end)?;
    let mut key = None;
    for line in upto.lines().rev() {
        let line = line.trim();
        if line.starts_with('[') {
            let table = line.trim_start_matches('[').split(']').next()?.trim();
            return key.map(|k: String| format!("{table}.{k}"));
        }
        if key.is_none()
            && let Some((k, _)) = line.split_once('=')
            && !k.trim().is_empty()
            && !k.trim_start().starts_with('#')
            && !k.contains('"')
        {
            key = Some(k.trim().to_owned());
        }
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("t.toml"))
    }

    #[test]
    fn empty_file_gives_the_defaults() {
        let c = parse("").unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.sip.listen.to_string(), "127.0.0.1:5060");
        assert_eq!(c.http.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.data.dir, PathBuf::from("./data"));
    }

    #[test]
    fn unknown_key_is_named_with_its_line() {
        let err = parse("[sip]\nlisten = \"127.0.0.1:5070\"\nlisen = 3\n").unwrap_err();
        let ConfigError::Invalid { line, message, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(*line, 3);
        assert!(message.contains("lisen"), "{message}");
    }

    #[test]
    fn unknown_table_is_named_with_its_line() {
        let err = parse("\n\n[sipp]\nx = 1\n").unwrap_err();
        let ConfigError::Invalid { line, message, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(*line, 3);
        assert!(message.contains("sipp"), "{message}");
    }

    #[test]
    fn bad_address_is_named_with_its_line() {
        let err = parse("[http]\n\nlisten = \"localhost\"\n").unwrap_err();
        let ConfigError::Invalid { line, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(*line, 3);
    }

    #[test]
    fn bad_transport_is_rejected() {
        let err = parse("[sip]\ntransports = [\"udp\", \"sctp\"]\n").unwrap_err();
        let ConfigError::Invalid { line, message, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(*line, 2);
        assert!(message.contains("sctp"), "{message}");
    }

    #[test]
    fn semantic_errors_name_the_key() {
        let err = parse("[sip]\ntransports = []\n").unwrap_err();
        assert!(err.to_string().contains("sip.transports"), "{err}");
        let err = parse("[sip]\nmax_headers = 0\n").unwrap_err();
        assert!(err.to_string().contains("sip.max_headers"), "{err}");
    }

    #[test]
    fn timers_are_checked() {
        let c = parse("[sip.timers]\nt1_ms = 100\n").unwrap();
        assert_eq!(c.sip.timers.t1_ms, 100);
        assert_eq!(c.sip.timers.t2_ms, 4_000);
        let err = parse("[sip.timers]\nt1_ms = 5000\nt2_ms = 4000\n").unwrap_err();
        assert!(err.to_string().contains("sip.timers.t2_ms"), "{err}");
        let err = parse("[sip.timers]\nt3_ms = 1\n").unwrap_err();
        let ConfigError::Invalid { line, message, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!((*line, message.contains("t3_ms")), (2, true), "{message}");
    }

    #[test]
    fn users_and_registrar() {
        let c =
            parse("[registrar]\nrealm = \"pbx\"\n\n[[user]]\nname = \"1000\"\npassword = \"s\"\n")
                .unwrap();
        assert_eq!(c.users.len(), 1);
        assert_eq!(c.registrar.realm, "pbx");
        let err = parse(
            "[[user]]\nname = \"a\"\npassword = \"x\"\n[[user]]\nname = \"a\"\npassword = \"y\"\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("user[1].name"), "{err}");
        let err = parse("[[user]]\nname = \"a\"\npasword = \"x\"\n").unwrap_err();
        let ConfigError::Invalid { line, message, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!((*line, message.contains("pasword")), (3, true), "{message}");
    }

    #[test]
    fn tls_client_and_via_alias() {
        let c = parse("").unwrap();
        assert_eq!(c.sip.via_alias, [AliasTransport::Tls]);
        assert!(c.sip.tls_client.enabled && c.sip.tls_client.public_roots);
        let c = parse(
            "[sip]\nvia_alias = [\"tcp\", \"tls\"]\n[sip.tls_client]\npublic_roots = false\n\
             ca_file = \"ca.pem\"\nserver_name = \"sip.example.com\"\n",
        )
        .unwrap();
        assert_eq!(c.sip.via_alias, [AliasTransport::Tcp, AliasTransport::Tls]);
        assert_eq!(c.sip.tls_client.ca_file, Some(PathBuf::from("ca.pem")));
        assert!(!c.sip.tls_client.public_roots);
        let err = parse("[sip]\nvia_alias = [\"udp\"]\n").unwrap_err();
        assert!(err.to_string().contains("sip.via_alias"), "{err}");
        // A value of the wrong type is named by its dotted key too, on every line of it.
        let err = parse("[http]\n\n[sip]\nmax_transactions = \"x\"\n").unwrap_err();
        assert!(err.to_string().contains("t.toml:4:"), "{err}");
        assert!(err.to_string().contains("`sip.max_transactions`"), "{err}");
        let err = parse("[sip]\nvia_alias = [\n  \"tls\",\n  \"sctp\",\n]\n").unwrap_err();
        assert!(err.to_string().contains("`sip.via_alias`"), "{err}");
        let err = parse("[sip.tls_client]\nroots = 1\n").unwrap_err();
        assert!(err.to_string().contains("roots"), "{err}");
    }

    #[test]
    fn tls_and_ws_listeners() {
        let c = parse(
            "[sip]\ntransports = []\n[sip.tls]\nlisten = \"[::1]:5061\"\ncert = \"c.pem\"\nkey = \"k.pem\"\n\
             [sip.ws]\nlisten = \"127.0.0.1:8088\"\n",
        )
        .unwrap();
        let tls = c.sip.tls.unwrap();
        assert_eq!(tls.listen.to_string(), "[::1]:5061");
        assert_eq!(tls.key, PathBuf::from("k.pem"));
        assert_eq!(c.sip.ws.unwrap().listen.to_string(), "127.0.0.1:8088");
        assert_eq!(parse("").unwrap().sip.tls, None);
        let err = parse("[sip.tls]\ncert = \"c.pem\"\n").unwrap_err();
        assert!(err.to_string().contains("key"), "{err}");
        let err = parse("[sip.ws]\nlisten = \"127.0.0.1:1\"\nsubprotocol = \"x\"\n").unwrap_err();
        let ConfigError::Invalid { line, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(*line, 3);
        let err = parse("[sip]\nmax_transactions = 0\n").unwrap_err();
        assert!(err.to_string().contains("sip.max_transactions"), "{err}");
    }

    #[test]
    fn routes() {
        let c =
            parse("[[route]]\nmatch = \"^sip:.*\"\ndestination = \"sip:callee@127.0.0.1:5080\"\n")
                .unwrap();
        assert_eq!(
            c.routes[0].destination.uris(),
            ["sip:callee@127.0.0.1:5080"]
        );
        let c = parse("[[route]]\nmatch = \"^sip:1\"\ndestination = [\"sip:a@127.0.0.1:5080\", \"sip:b@127.0.0.2\"]\npass_through = [\"Subject\"]\n[route.headers]\nX-Queue = \"sales\"\n").unwrap();
        assert_eq!(c.routes[0].destination.uris().len(), 2);
        assert_eq!(c.routes[0].headers["X-Queue"], "sales");
        let err =
            parse("[[route]]\nmatch = \"(\"\ndestination = \"sip:a@127.0.0.1\"\n").unwrap_err();
        assert!(err.to_string().contains("route[0].match"), "{err}");
        let err = parse("[[route]]\nmatch = \".\"\ndestination = \"http://x\"\n").unwrap_err();
        assert!(err.to_string().contains("route[0].destination"), "{err}");
        let err =
            parse("[[route]]\nmatch = \".\"\ndestinaton = \"sip:a@127.0.0.1\"\n").unwrap_err();
        let ConfigError::Invalid { line, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(*line, 3);
    }

    #[test]
    fn data_section() {
        let c = parse("[data]\ndir = \"/var/lib/tandem\"\ncdr = false\ncdr_queue = 10\n").unwrap();
        assert_eq!(c.data.dir, PathBuf::from("/var/lib/tandem"));
        assert_eq!((c.data.cdr, c.data.cdr_queue), (false, 10));
        let d = parse("").unwrap().data;
        assert_eq!((d.cdr, d.cdr_queue), (true, 4_096));
        let err = parse("[data]\ncdr_queue = 0\n").unwrap_err();
        assert!(err.to_string().contains("data.cdr_queue"), "{err}");
        let err = parse("[data]\ncdrs = true\n").unwrap_err();
        let ConfigError::Invalid { line, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(*line, 2);
    }

    #[test]
    fn route_leg_settings() {
        let c = parse(
            "[[route]]\nmatch = \".\"\ndestination = \"sip:a@127.0.0.1\"\nring_timeout_s = 20\n\
             asserted_identity = \"<sip:+15551230000@example.com>\"\n\
             max_duration_s = 3600\nsession_expires_s = 1800\n\
             [route.credentials]\nusername = \"tandem\"\npassword = \"s\"\nrealm = \"carrier\"\n",
        )
        .unwrap();
        let r = &c.routes[0];
        assert_eq!(
            r.asserted_identity.as_deref(),
            Some("<sip:+15551230000@example.com>")
        );
        assert_eq!(
            (r.ring_timeout_s, r.max_duration_s, r.session_expires_s),
            (Some(20), Some(3600), Some(1800))
        );
        assert_eq!(
            r.credentials.as_ref().unwrap().realm.as_deref(),
            Some("carrier")
        );
        let two = "[[route]]\nmatch = \"a\"\ndestination = \"sip:a@127.0.0.1\"\n\n\
                   [[route]]\nmatch = \"b\"\ndestination = \"sip:b@127.0.0.1\"\n";
        let cases = [
            ("session_expires_s = 30\n", 8, "route[1].session_expires_s"),
            ("ring_timeout_s = 0\n", 8, "route[1].ring_timeout_s"),
            ("max_duration_s = 0\n", 8, "route[1].max_duration_s"),
            (
                "[route.credentials]\npassword = \"x\"\nusername = \"\"\n",
                10,
                "route[1].credentials.username",
            ),
            ("destination2 = 1\n", 8, "destination2"),
            ("ring_timeout_s = \"soon\"\n", 8, "string"),
        ];
        for (extra, line, key) in cases {
            let err = parse(&format!("{two}{extra}")).unwrap_err();
            let ConfigError::Invalid {
                line: got, message, ..
            } = &err
            else {
                panic!("{err:?}")
            };
            assert_eq!(*got, line, "{extra}: {err}");
            assert!(message.contains(key), "{extra}: {err}");
        }
        // Semantic errors of existing keys get their line too.
        let err = parse(&format!(
            "{two}[[route]]\nmatch = \"(\"\ndestination = \"sip:c@127.0.0.1\"\n"
        ))
        .unwrap_err();
        let ConfigError::Invalid { line, message, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(
            (*line, message.contains("route[2].match")),
            (9, true),
            "{err}"
        );
    }

    #[test]
    fn syntax_error_has_a_line() {
        let err = parse("[sip]\nlisten = \n").unwrap_err();
        let ConfigError::Invalid { line, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(*line, 2);
    }

    #[test]
    fn prack_defaults_on_and_a_bad_value_is_located() {
        assert!(parse("[sip]\n").unwrap().sip.prack);
        assert!(!parse("[sip]\nprack = false\n").unwrap().sip.prack);
        let err = parse("[sip]\nlisten = \"127.0.0.1:5070\"\nprack = \"yes\"\n").unwrap_err();
        let ConfigError::Invalid { line, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(*line, 3);
    }

    #[test]
    fn sample_config_parses() {
        let text = include_str!("../../../tandem.example.toml");
        parse(text).unwrap();
    }

    /// Lines a config file is made of, valid or not, for the property below.
    fn line() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop_oneof![
            Just("[sip]".to_owned()),
            Just("[[route]]".to_owned()),
            Just("[sip.tls_client]".to_owned()),
            Just("[data]".to_owned()),
            "[a-z_.]{1,16} = [0-9]{1,6}",
            "[a-z_]{1,16} = \"[ -~]{0,20}\"",
            "[a-z_]{1,12} = \\[[ -~]{0,20}",
            "[ -~]{0,30}",
            Just("match = \"(\"".to_owned()),
            Just("listen = \"127.0.0.1:99999\"".to_owned()),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 512, failure_persistence: None, ..Default::default()
        })]

        /// Any text gives a config or an error that points inside the file; never a panic.
        #[test]
        fn any_text_is_a_config_or_a_located_error(
            lines in proptest::collection::vec(line(), 0..12)
        ) {
            let text = lines.join("\n");
            if let Err(e) = parse(&text) {
                if let ConfigError::Invalid { line, column, message, .. } = &e {
                    proptest::prop_assert!(*line >= 1 && *line <= text.lines().count().max(1));
                    proptest::prop_assert!(*column >= 1);
                    proptest::prop_assert!(!message.is_empty());
                }
                proptest::prop_assert!(!e.to_string().is_empty());
            }
        }
    }
}
