//! Locating SIP servers (RFC 3263 §4): a SIP or SIPS URI becomes an ordered list of
//! [`Target`]s (transport and socket address) for the endpoint to try in turn (§4.3).
//!
//! The procedure is ours; only the DNS queries are delegated, through the [`Dns`] trait
//! ([`HickoryDns`] in production, synthetic records in tests):
//! - transport (§4.1): the `transport` URI parameter; else UDP (TLS for `sips:`) when the
//!   host is a numeric IP or the port is explicit; else NAPTR records filtered to the
//!   transports Tandem can use, ordered by order then preference; else SRV queries for each
//!   usable transport in Tandem's order of preference; else UDP (TLS for `sips:`);
//! - address and port (§4.2): a numeric IP with the port or the transport's default; an
//!   explicit port with the host's A/AAAA records; else SRV records ordered by priority and
//!   weighted randomness (RFC 2782, from a seeded RNG, so tests are repeatable) and the
//!   A/AAAA records of each SRV target; else the host's A/AAAA with the default port;
//! - `maddr` replaces the host (§4, RFC 3261 §19.1.1).

mod hickory;

use std::future::Future;
use std::net::{IpAddr, SocketAddr};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tandem_sip_core::Transport;
use tandem_sip_msg::{Host, Scheme, SipUri};

pub use hickory::HickoryDns;

/// One place to send a request: how and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Target {
    /// The transport.
    pub transport: Transport,
    /// The address.
    pub addr: SocketAddr,
}

/// A NAPTR record (RFC 3403), as far as RFC 3263 §4.1 reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Naptr {
    /// Lower first.
    pub order: u16,
    /// Lower first among records of the same order.
    pub preference: u16,
    /// `S` for records leading to SRV (the only ones SIP uses).
    pub flags: String,
    /// `SIP+D2U`, `SIP+D2T`, `SIPS+D2T`, `SIP+D2W`, ...
    pub service: String,
    /// The SRV name to query next.
    pub replacement: String,
}

/// An SRV record (RFC 2782).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Srv {
    /// Lower first.
    pub priority: u16,
    /// Share of the traffic among records of the same priority.
    pub weight: u16,
    /// Port of the service on the target.
    pub port: u16,
    /// Host name of the target (`.`: no service).
    pub target: String,
}

/// The DNS queries RFC 3263 makes. An empty answer stands for "no such record" and for a
/// failed query alike: both send the procedure to its next step.
pub trait Dns {
    /// NAPTR records of `domain`.
    fn naptr(&self, domain: &str) -> impl Future<Output = Vec<Naptr>> + Send;
    /// SRV records of `name` (`_sip._udp.example.com`).
    fn srv(&self, name: &str) -> impl Future<Output = Vec<Srv>> + Send;
    /// A and AAAA records of `host`.
    fn ip(&self, host: &str) -> impl Future<Output = Vec<IpAddr>> + Send;
}

/// Why a URI has no target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// The `transport` parameter names a transport Tandem cannot use for this URI
    /// (`sips:` over UDP, an unknown or disabled transport).
    #[error("unusable transport `{0}`")]
    Transport(String),
    /// DNS gave no address.
    #[error("no address for {0}")]
    NoAddress(String),
    /// The DNS resolver could not be set up.
    #[error("DNS resolver: {0}")]
    Setup(String),
}

/// An RFC 3263 resolver over some [`Dns`].
#[derive(Debug)]
pub struct Resolver<D> {
    dns: D,
    transports: Vec<Transport>,
    rng: SmallRng,
}

impl<D: Dns> Resolver<D> {
    /// A resolver trying `transports` (in order of preference when DNS leaves the choice to
    /// Tandem), drawing SRV weights from an RNG seeded with `seed`.
    pub fn new(dns: D, transports: Vec<Transport>, seed: u64) -> Self {
        Self {
            dns,
            transports,
            rng: SmallRng::seed_from_u64(seed),
        }
    }

    /// The targets of `uri`, in the order to try them.
    pub async fn resolve(&mut self, uri: &SipUri) -> Result<Vec<Target>, ResolveError> {
        let secure = uri.scheme == Scheme::Sips;
        let host = match uri.param("maddr") {
            Some(Some(maddr)) => Host::parse(maddr).unwrap_or_else(|_| uri.host.clone()),
            _ => uri.host.clone(),
        };
        let explicit = match uri.param("transport") {
            Some(Some(name)) => Some(self.transport_param(name, secure)?),
            _ => None,
        };
        if let Some(ip) = host.ip() {
            // §4.1, §4.2: a numeric IP needs no DNS.
            let transport = explicit.unwrap_or(default_transport(secure));
            let port = uri.port.unwrap_or(default_port(transport));
            return Ok(vec![Target {
                transport,
                addr: SocketAddr::new(ip, port),
            }]);
        }
        let Host::Name(host_name) = host else {
            // An IPv6 reference that is no RFC 4291 address (RFC 5118 §4.10).
            return Err(ResolveError::NoAddress(host.to_string()));
        };
        if let Some(port) = uri.port {
            // §4.2: an explicit port means A/AAAA only.
            let transport = explicit.unwrap_or(default_transport(secure));
            return self.addresses(&host_name, port, transport).await;
        }
        let plans: Vec<(Transport, String)> = match explicit {
            Some(t) => vec![(t, srv_name(t, &host_name))],
            None => {
                let naptr = self.dns.naptr(&host_name).await;
                let from_naptr = select_naptr(&naptr, secure, &self.transports);
                if from_naptr.is_empty() {
                    self.transports
                        .iter()
                        .filter(|t| {
                            usable(**t, secure) && !matches!(t, Transport::Ws | Transport::Wss)
                        })
                        .map(|t| (*t, srv_name(*t, &host_name)))
                        .collect()
                } else {
                    from_naptr
                }
            }
        };
        let mut targets = Vec::new();
        for (transport, name) in &plans {
            let records = self.dns.srv(name).await;
            for srv in order_srv(records, &mut self.rng) {
                for ip in self.dns.ip(&srv.target).await {
                    targets.push(Target {
                        transport: *transport,
                        addr: SocketAddr::new(ip, srv.port),
                    });
                }
            }
        }
        if targets.is_empty() {
            // §4.2: no SRV: A/AAAA of the host with the transport's default port.
            let transport = explicit.unwrap_or(default_transport(secure));
            return self
                .addresses(&host_name, default_port(transport), transport)
                .await;
        }
        Ok(targets)
    }

    fn transport_param(&self, name: &str, secure: bool) -> Result<Transport, ResolveError> {
        let bad = || ResolveError::Transport(name.to_owned());
        let named = Transport::from_name(name).ok_or_else(bad)?;
        // RFC 3261 §26.2.2: `sips:` with `transport=tcp` means TLS; RFC 7118 §5.2: with
        // `transport=ws`, secure WebSocket.
        let transport = match (secure, named) {
            (true, Transport::Tcp | Transport::Tls) => Transport::Tls,
            (true, Transport::Ws | Transport::Wss) => Transport::Wss,
            (true, _) => return Err(bad()),
            (false, t) => t,
        };
        if self.transports.contains(&transport) {
            Ok(transport)
        } else {
            Err(bad())
        }
    }

    async fn addresses(
        &self,
        host: &str,
        port: u16,
        transport: Transport,
    ) -> Result<Vec<Target>, ResolveError> {
        let targets: Vec<Target> = self
            .dns
            .ip(host)
            .await
            .into_iter()
            .map(|ip| Target {
                transport,
                addr: SocketAddr::new(ip, port),
            })
            .collect();
        if targets.is_empty() {
            Err(ResolveError::NoAddress(host.to_owned()))
        } else {
            Ok(targets)
        }
    }
}

/// §4.1: UDP for `sip:`, TLS (over TCP) for `sips:`.
fn default_transport(secure: bool) -> Transport {
    if secure {
        Transport::Tls
    } else {
        Transport::Udp
    }
}

/// RFC 3261 §19.1.2: 5061 for TLS (and WSS), 5060 otherwise (RFC 7118 defines none for WS).
fn default_port(transport: Transport) -> u16 {
    if transport.is_secure() { 5061 } else { 5060 }
}

/// Whether `transport` may carry a `sips:` request (TLS or WSS only) or a `sip:` one (any).
fn usable(transport: Transport, secure: bool) -> bool {
    !secure || transport.is_secure()
}

/// §4.1: `_sips._tcp`, `_sip._tcp`, `_sip._udp` (RFC 7118 §5.3 adds no SRV for WS).
fn srv_name(transport: Transport, domain: &str) -> String {
    let prefix = match transport {
        Transport::Tls => "_sips._tcp",
        Transport::Tcp => "_sip._tcp",
        Transport::Udp => "_sip._udp",
        Transport::Ws => "_sip._ws",
        Transport::Wss => "_sips._ws",
    };
    format!("{prefix}.{domain}")
}

/// RFC 3263 §4.1: the NAPTR records Tandem can follow (flag `S`, a SIP service of a usable
/// transport), ordered by order then preference, each with the SRV name to query.
pub fn select_naptr(
    records: &[Naptr],
    secure: bool,
    transports: &[Transport],
) -> Vec<(Transport, String)> {
    let mut usable_records: Vec<(&Naptr, Transport)> = records
        .iter()
        .filter(|r| r.flags.eq_ignore_ascii_case("s"))
        .filter_map(|r| {
            let transport = match r.service.to_ascii_uppercase().as_str() {
                "SIP+D2U" => Transport::Udp,
                "SIP+D2T" => Transport::Tcp,
                "SIPS+D2T" => Transport::Tls,
                "SIP+D2W" => Transport::Ws,
                "SIPS+D2W" => Transport::Wss,
                _ => return None,
            };
            (usable(transport, secure) && transports.contains(&transport)).then_some((r, transport))
        })
        .collect();
    usable_records.sort_by_key(|(r, _)| (r.order, r.preference));
    usable_records
        .into_iter()
        .map(|(r, t)| (t, r.replacement.trim_end_matches('.').to_owned()))
        .collect()
}

/// RFC 2782: SRV records by ascending priority; within a priority, a weighted random order
/// (each next record drawn with probability proportional to its weight, weight-0 records
/// first in the running sum so they are rarely picked first). A lone `.` target means the
/// service is not offered: no records.
pub fn order_srv(mut records: Vec<Srv>, rng: &mut impl Rng) -> Vec<Srv> {
    if records.len() == 1
        && records
            .first()
            .is_some_and(|r| r.target == "." || r.target.is_empty())
    {
        return Vec::new();
    }
    records.retain(|r| r.target != "." && !r.target.is_empty());
    records.sort_by_key(|r| (r.priority, r.weight != 0));
    let mut out = Vec::with_capacity(records.len());
    let mut rest = records.as_slice();
    while let Some(first) = rest.first() {
        let end = rest
            .iter()
            .position(|r| r.priority != first.priority)
            .unwrap_or(rest.len());
        let (group, tail) = rest.split_at(end);
        let mut group: Vec<Srv> = group.to_vec();
        while !group.is_empty() {
            let total: u32 = group.iter().map(|r| u32::from(r.weight)).sum();
            let pick = rng.gen_range(0..=total);
            let mut running = 0;
            let index = group
                .iter()
                .position(|r| {
                    running += u32::from(r.weight);
                    running >= pick
                })
                .unwrap_or(0);
            out.push(group.remove(index));
        }
        rest = tail;
    }
    out
}

#[cfg(test)]
mod tests;
