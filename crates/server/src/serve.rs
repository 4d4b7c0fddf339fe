//! `tandem serve`: load the configuration, bind the listeners, run until SIGINT or SIGTERM.

use std::process::ExitCode;

use std::time::Duration;
use tandem_runtime::media::{MediaConfig, MediaEngine};
use tandem_runtime::sip::{SipListenConfig, SipRuntime, TlsListenConfig};

use tandem_sip_core::{Endpoint, EndpointConfig, Timers};
use tandem_sip_msg::Limits;
use tracing::{error, info};

use crate::app;
use crate::cdr;
use crate::cli::ServeArgs;
use crate::config::{Config, TransportName};
use crate::http;

/// Entry point of `tandem serve`.
pub(crate) fn main(args: ServeArgs) -> ExitCode {
    init_tracing();
    let config = match args.config.as_deref().map(Config::load).transpose() {
        Ok(c) => c.unwrap_or_default(),
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let config = apply_overrides(config, &args);
    // One thread runs the SIP driver, the HTTP API and the I/O driver: a datagram is read,
    // handled and answered on the thread that polled the socket. On the multi-thread runtime
    // the driver (under `block_on`) was woken by a worker for every datagram, two context
    // switches per message, a third of the CPU at 100 calls/s (bench/RESULTS.md). The SIP
    // core is one task either way; call records have a thread of their own (`cdr.rs`) and
    // the media engine its own.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e}");
            eprintln!("tandem: {e}");
            ExitCode::FAILURE
        }
    }
}

fn apply_overrides(mut config: Config, args: &ServeArgs) -> Config {
    if let Some(sip) = args.sip {
        config.sip.listen = sip;
    }
    if let Some(http) = args.http {
        config.http.listen = http;
    }
    if let Some(data) = &args.data {
        config.data.dir.clone_from(data);
    }
    config
}

async fn serve(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(&config.data.dir).map_err(|e| {
        format!(
            "cannot create data folder {}: {e}",
            config.data.dir.display()
        )
    })?;
    // Opened before any socket is bound: a data folder that cannot hold the records stops
    // the start with the file's path, instead of a server that silently records nothing.
    let (cdr_sink, cdr_writer) = if config.data.cdr {
        let store = tandem_store::Store::open(&config.data.dir).await?;
        let (sink, writer) = cdr::CdrSink::start(store, config.data.cdr_queue)?;
        (Some(sink), Some(writer))
    } else {
        (None, None)
    };
    let limits = Limits {
        max_message_size: config.sip.max_message_size,
        max_headers: config.sip.max_headers,
        max_line_length: config.sip.max_line_length,
        max_uri_length: config.sip.max_uri_length,
    };
    let listen = SipListenConfig {
        addr: config.sip.listen,
        udp: config.sip.transports.contains(&TransportName::Udp),
        tcp: config.sip.transports.contains(&TransportName::Tcp),
        tls: config.sip.tls.as_ref().map(|t| TlsListenConfig {
            addr: t.listen,
            cert_chain: t.cert.clone(),
            private_key: t.key.clone(),
        }),
        ws: config.sip.ws.as_ref().map(|w| w.listen),
        limits,
        max_transactions: config.sip.max_transactions,
        retry_after: config.sip.retry_after_s,
        accept_aliases: config.sip.accept_aliases,
        tls_client: tls_client(&config.sip.tls_client),
        ..SipListenConfig::default()
    };
    let sip = SipRuntime::bind(listen).await?;
    for (transport, addr) in sip.local_addrs() {
        say(&format!("tandem: SIP listening on {transport} {addr}"));
        info!(%transport, %addr, "SIP listening");
    }
    say(&format!(
        "tandem: data folder {}",
        config.data.dir.display()
    ));
    let http_listener = tokio::net::TcpListener::bind(config.http.listen)
        .await
        .map_err(|e| format!("cannot bind HTTP on {}: {e}", config.http.listen))?;
    let http_addr = http_listener.local_addr()?;
    say(&format!("tandem: HTTP listening on {http_addr}"));
    let status = http::Status {
        sip: sip
            .local_addrs()
            .into_iter()
            .map(|(t, a)| (t.to_string(), a))
            .collect(),
    };
    // Bounded: a SIP core that cannot keep up makes the API answer 503 instead of queueing.
    let (commands_tx, commands) = tokio::sync::mpsc::channel(COMMAND_QUEUE);
    let events = crate::events::Events::new(crate::events::EVENT_BACKLOG);
    let router = http::router(status, commands_tx.clone(), events.clone());
    tokio::spawn(async move {
        if let Err(e) = http::serve(http_listener, router).await {
            error!("HTTP server stopped: {e}");
        }
    });
    // §18.1.1: requests too large for UDP go over the TCP listener, when there is one.
    let stream_local = sip
        .local_addrs()
        .into_iter()
        .find_map(|(t, a)| (t == tandem_sip_core::Transport::Tcp).then_some(a));
    let endpoint = Endpoint::new(EndpointConfig {
        stream_local,
        limits,
        server: config.sip.user_agent.clone(),
        allow: app::ALLOW.to_vec(),
        // RFC 4028: the endpoint runs session timers only when `timer` is supported; a
        // route asking for one needs it. RFC 3262: `100rel` unless `[sip] prack = false`.
        supported: [
            config.sip.prack.then_some("100rel"),
            config
                .routes
                .iter()
                .any(|r| r.session_expires_s.is_some())
                .then_some("timer"),
        ]
        .into_iter()
        .flatten()
        .map(str::to_owned)
        .collect(),
        timers: Timers {
            t1: Duration::from_millis(config.sip.timers.t1_ms),
            t2: Duration::from_millis(config.sip.timers.t2_ms),
            t4: Duration::from_millis(config.sip.timers.t4_ms),
            // Timer D: at least 32 s, or 64·T1 when T1 is raised (§17.1.1.2).
            timer_d: Duration::from_millis((64 * config.sip.timers.t1_ms).max(32_000)),
            ..Timers::default()
        },
        via_alias: config
            .sip
            .via_alias
            .iter()
            .map(|t| match t {
                crate::config::AliasTransport::Tcp => tandem_sip_core::Transport::Tcp,
                crate::config::AliasTransport::Tls => tandem_sip_core::Transport::Tls,
            })
            .collect(),
        ..EndpointConfig::default()
    });
    let recordings = config.data.dir.join("recordings");
    if config.conference.record {
        std::fs::create_dir_all(&recordings)
            .map_err(|e| format!("cannot create {}: {e}", recordings.display()))?;
    }
    let media = MediaEngine::start(MediaConfig {
        room_rate: config.conference.rate,
        recordings: config.conference.record.then_some(recordings),
        ..MediaConfig::default()
    })?;
    let accounts = accounts(&config)?;
    let routes = routes(&config)?;
    let by_name = routes.iter().any(|r| r.targets.is_empty());
    let mut app = app::App::new(media, config.conference.prefix.clone(), accounts, routes)
        .with_api(events, sip.local_addrs());
    if by_name {
        // Only routes naming a host need DNS: a machine without resolv.conf still serves
        // IP routes.
        let dns = tandem_runtime::resolver::HickoryDns::from_system_conf()
            .map_err(|e| format!("route destinations name hosts, but {e}"))?;
        let transports = sip.local_addrs().into_iter().map(|(t, _)| t).collect();
        app = app.with_lookups(crate::resolve::Lookups::new(dns, transports, commands_tx));
    }
    let app = match cdr_sink {
        Some(sink) => app.with_cdr(sink),
        None => app,
    };
    sip.run_app(endpoint, app, commands, shutdown_signal())
        .await?;
    // The application (and its sink) is gone: let the writer empty the queue.
    if let Some(writer) = cdr_writer {
        writer.finish().await;
    }
    Ok(())
}

/// Commands the HTTP API may have waiting for the SIP application.
const COMMAND_QUEUE: usize = 256;

/// `[[route]]` tables compiled (the config check already validated them).
fn routes(config: &Config) -> Result<Vec<app::Route>, Box<dyn std::error::Error>> {
    use tandem_sip_msg::{HeaderName, Uri};
    let mut out = Vec::new();
    for (i, r) in config.routes.iter().enumerate() {
        let pattern =
            regex::Regex::new(&r.pattern).map_err(|e| format!("route[{i}].match: {e}"))?;
        let mut targets = Vec::new();
        let mut uris = Vec::new();
        let mut by_name = false;
        for u in r.destination.uris() {
            let uri = Uri::parse(u).map_err(|e| format!("route[{i}].destination `{u}`: {e}"))?;
            let Some(sip) = uri.as_sip() else {
                return Err(format!("route[{i}].destination `{u}`: not a SIP URI").into());
            };
            uris.push(uri.clone());
            let Some(ip) = sip.host.ip() else {
                // RFC 3263: located for each call by the lookup task.
                by_name = true;
                continue;
            };
            let tcp = sip
                .param("transport")
                .flatten()
                .is_some_and(|t| t.eq_ignore_ascii_case("tcp"));
            let transport = if tcp {
                tandem_sip_core::Transport::Tcp
            } else {
                tandem_sip_core::Transport::Udp
            };
            let addr = std::net::SocketAddr::new(ip, sip.port.unwrap_or(5060));
            targets.push((uri.clone(), addr, transport));
        }
        if by_name {
            targets.clear();
        }
        out.push(app::Route {
            pattern,
            targets,
            uris,
            headers: r
                .headers
                .iter()
                .map(|(n, v)| (HeaderName::new(n), v.clone()))
                .collect(),
            pass_through: r.pass_through.iter().map(|n| HeaderName::new(n)).collect(),
            from: r.from.clone(),
            asserted_identity: r.asserted_identity.clone(),
            ring_timeout: r.ring_timeout_s.map(Duration::from_secs),
            max_duration: r.max_duration_s.map(Duration::from_secs),
            session_expires: r.session_expires_s.map(Duration::from_secs),
            credentials: r.credentials.as_ref().map(|c| {
                let creds = tandem_call::Credentials::new(&c.username, &c.password);
                match &c.realm {
                    Some(realm) => creds.for_realm(realm),
                    None => creds,
                }
            }),
        });
    }
    Ok(out)
}

/// The registrar and digest authenticator from `[registrar]` and `[[user]]`.
fn accounts(config: &Config) -> Result<app::Accounts, Box<dyn std::error::Error>> {
    use tandem_sip_core::auth::{DigestAuthenticator, DigestConfig};
    use tandem_sip_core::registrar::{Registrar, RegistrarConfig};
    let r = &config.registrar;
    let entropy = entropy();
    let digest = DigestAuthenticator::new(
        DigestConfig {
            nonce_lifetime: Duration::from_secs(r.nonce_lifetime_s),
            algorithms: r
                .algorithms
                .iter()
                .filter_map(|a| tandem_sip_core::auth::Algorithm::from_token(a))
                .collect(),
            seed: u64::from_le_bytes(entropy[..8].try_into().unwrap_or_default()),
            ..DigestConfig::new(r.realm.clone(), entropy[8..].to_vec())
        },
        std::time::Instant::now(),
    )?;
    let registrar = Registrar::new(RegistrarConfig {
        min_expires: r.min_expires,
        max_expires: r.max_expires,
        ..RegistrarConfig::new(r.domains.clone())
    });
    let passwords = config
        .users
        .iter()
        .map(|u| (u.name.clone(), u.password.clone()))
        .collect();
    Ok(app::Accounts {
        registrar,
        digest,
        passwords,
        flows: std::collections::HashMap::new(),
    })
}

/// 40 bytes from the operating system for nonce keys and seeds: a restart must not let old
/// nonces verify. Falls back to the clock and process id where /dev/urandom is missing.
fn entropy() -> [u8; 40] {
    use std::io::Read;
    let mut out = [0u8; 40];
    let ok = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut out))
        .is_ok();
    if !ok {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        out[..16].copy_from_slice(&nanos.to_le_bytes());
        out[16..20].copy_from_slice(&std::process::id().to_le_bytes());
    }
    out
}

/// One line on standard output for operators and scripts. Never fails: a closed pipe (the
/// reader went away) must not take the server down.
fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TANDEM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The runtime's TLS client settings from `[sip.tls_client]` (`None` when disabled).
fn tls_client(
    section: &crate::config::TlsClientSection,
) -> Option<tandem_runtime::sip::TlsClientConfig> {
    section
        .enabled
        .then(|| tandem_runtime::sip::TlsClientConfig {
            ca_file: section.ca_file.clone(),
            public_roots: section.public_roots,
            server_name: section.server_name.clone(),
        })
}
