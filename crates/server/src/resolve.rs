//! Route destinations named by host name, located per RFC 3263 off the SIP driver's task.
//!
//! DNS is asynchronous and the application is not: the app answers the INVITE 100 Trying
//! (RFC 3261 §17.2.1: no retransmission while DNS works), hands the destination URIs to
//! [`Lookups::start`], and carries on. A task per lookup runs
//! `tandem_runtime::resolver::Resolver` (NAPTR, SRV, A/AAAA; hickory only runs the queries)
//! and sends the targets back as [`Command::Resolved`] on the application's own command
//! channel, so the result arrives on the driver's task like any other input.

use std::time::Duration;

use tandem_runtime::resolver::{Dns, Resolver, Target};
use tandem_sip_core::Transport;
use tandem_sip_msg::Uri;
use tokio::sync::mpsc;
use tracing::debug;

use crate::commands::Command;

/// Longest a lookup may take before the call is refused.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(8);

/// Starts lookups; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Lookups<D> {
    dns: D,
    transports: Vec<Transport>,
    commands: mpsc::Sender<Command>,
}

impl<D: Dns + Clone + Send + Sync + 'static> Lookups<D> {
    /// Lookups over `dns` for `transports` (in Tandem's order of preference), answered on
    /// `commands`.
    pub(crate) fn new(dns: D, transports: Vec<Transport>, commands: mpsc::Sender<Command>) -> Self {
        Self {
            dns,
            transports,
            commands,
        }
    }

    /// Resolves `uris` in order; sends `Command::Resolved { id, .. }` with every target of
    /// the first URI, then of the second, ... (RFC 3263 §4.3: tried in that order).
    pub(crate) fn start(&self, id: u64, uris: Vec<Uri>) {
        let mut resolver = Resolver::new(self.dns.clone(), self.transports.clone(), id);
        let commands = self.commands.clone();
        tokio::spawn(async move {
            let work = async {
                let mut targets = Vec::new();
                let mut last_error = None;
                for uri in &uris {
                    let Some(sip) = uri.as_sip() else { continue };
                    match resolver.resolve(sip).await {
                        Ok(t) => targets.extend(t),
                        Err(e) => {
                            debug!(%uri, error = %e, "destination not resolved");
                            last_error = Some(e.to_string());
                        }
                    }
                }
                if targets.is_empty() {
                    Err(last_error.unwrap_or_else(|| "no target".to_owned()))
                } else {
                    Ok(targets)
                }
            };
            let targets = tokio::time::timeout(LOOKUP_TIMEOUT, work)
                .await
                .unwrap_or_else(|_| Err("DNS timed out".to_owned()));
            // The application may be gone (shutdown): nothing to do then.
            let _ = commands.send(Command::Resolved { id, targets }).await;
        });
    }
}

/// A resolved target as the application uses it.
pub(crate) type Targets = Result<Vec<Target>, String>;
