//! [`Dns`] over hickory-resolver (system configuration, tokio).

use std::net::IpAddr;

use hickory_resolver::TokioResolver;
use hickory_resolver::proto::rr::{RData, RecordType};
use tracing::debug;

use super::{Dns, Naptr, ResolveError, Srv};

/// DNS through hickory-resolver, configured from `/etc/resolv.conf`.
#[derive(Clone)]
pub struct HickoryDns(TokioResolver);

impl std::fmt::Debug for HickoryDns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HickoryDns").finish_non_exhaustive()
    }
}

impl HickoryDns {
    /// A resolver with the operating system's configuration.
    pub fn from_system_conf() -> Result<Self, ResolveError> {
        let resolver = TokioResolver::builder_tokio()
            .map_err(|e| ResolveError::Setup(e.to_string()))?
            .build()
            .map_err(|e| ResolveError::Setup(e.to_string()))?;
        Ok(Self(resolver))
    }

    /// Wraps a resolver configured by the caller.
    pub fn new(resolver: TokioResolver) -> Self {
        Self(resolver)
    }

    async fn records(&self, name: &str, kind: RecordType) -> Vec<RData> {
        // Absolute names: RFC 3263 names are never subject to search domains.
        let fqdn = if name.ends_with('.') {
            name.to_owned()
        } else {
            format!("{name}.")
        };
        match self.0.lookup(fqdn.as_str(), kind).await {
            Ok(lookup) => lookup.answers().iter().map(|r| r.data.clone()).collect(),
            Err(e) => {
                debug!(%name, ?kind, error = %e, "DNS lookup gave nothing");
                Vec::new()
            }
        }
    }
}

impl Dns for HickoryDns {
    async fn naptr(&self, domain: &str) -> Vec<Naptr> {
        self.records(domain, RecordType::NAPTR)
            .await
            .into_iter()
            .filter_map(|data| match data {
                RData::NAPTR(n) => Some(Naptr {
                    order: n.order,
                    preference: n.preference,
                    flags: String::from_utf8_lossy(&n.flags).into_owned(),
                    service: String::from_utf8_lossy(&n.services).into_owned(),
                    replacement: n.replacement.to_utf8(),
                }),
                _ => None,
            })
            .collect()
    }

    async fn srv(&self, name: &str) -> Vec<Srv> {
        self.records(name, RecordType::SRV)
            .await
            .into_iter()
            .filter_map(|data| match data {
                RData::SRV(s) => Some(Srv {
                    priority: s.priority,
                    weight: s.weight,
                    port: s.port,
                    target: s.target.to_utf8(),
                }),
                _ => None,
            })
            .collect()
    }

    async fn ip(&self, host: &str) -> Vec<IpAddr> {
        match self.0.lookup_ip(host).await {
            Ok(ips) => ips.iter().collect(),
            Err(e) => {
                debug!(%host, error = %e, "address lookup gave nothing");
                Vec::new()
            }
        }
    }
}
