//! Routes whose destinations name a host: the INVITE waits for its RFC 3263 lookup (see
//! `crate::resolve`) and is then routed like any other.

use std::time::Instant;

use tandem_runtime::resolver::Target;
use tandem_sip_core::{Endpoint, Flow, ServerTxId};
use tandem_sip_msg::Message;
use tracing::{debug, warn};

use super::App;
use crate::resolve::Targets;

/// An INVITE whose route destinations are being located.
pub(super) struct Resolving {
    tx: ServerTxId,
    request: Message,
    flow: Flow,
    route: usize,
}

impl App {
    /// RFC 3263: the route names a host. Answer 100 at once (RFC 3261 §17.2.1) and continue
    /// in [`Self::resolved`] when the lookup task answers.
    pub(super) fn lookup(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        tx: ServerTxId,
        request: &Message,
        flow: Flow,
        route: usize,
    ) -> Result<(), tandem_sip_core::RespondError> {
        let Some(lookups) = &self.lookups else {
            return ep.reply(now, tx, 503, "Service Unavailable");
        };
        ep.reply(now, tx, 100, "Trying")?;
        let id = self.next_lookup;
        self.next_lookup += 1;
        lookups.start(id, self.routes[route].uris.clone());
        let request = request.clone();
        self.resolving.insert(
            id,
            Resolving {
                tx,
                request,
                flow,
                route,
            },
        );
        Ok(())
    }

    /// The lookup `id` is done: establish with the first target and the rest as fallbacks
    /// (RFC 3263 §4.3), over the local socket of each target's transport and address family.
    pub(super) fn resolved(&mut self, ep: &mut Endpoint, now: Instant, id: u64, targets: Targets) {
        let Some(r) = self.resolving.remove(&id) else {
            return;
        };
        let hops: Vec<Flow> = match targets {
            Ok(targets) => targets.iter().filter_map(|t| self.hop_to(t)).collect(),
            Err(e) => {
                warn!(error = %e, "route destination not resolved");
                Vec::new()
            }
        };
        let result = if hops.is_empty() {
            // RFC 3263 §4.3 / RFC 3261 §16.7: no server could be located.
            ep.reply(now, r.tx, 503, "Service Unavailable")
        } else {
            self.route_to(ep, now, r.tx, &r.request, r.flow, r.route, hops)
        };
        if let Err(e) = result {
            // The caller may have cancelled meanwhile (the endpoint answered 487).
            debug!(error = %e, "INVITE gone while its route was resolved");
        }
    }

    /// The flow toward `target` from Tandem's socket of the same transport and family.
    fn hop_to(&self, target: &Target) -> Option<Flow> {
        let local = self
            .locals
            .iter()
            .find(|(t, a)| *t == target.transport && a.is_ipv4() == target.addr.is_ipv4())?;
        Some(Flow {
            transport: target.transport,
            local: local.1,
            remote: target.addr,
        })
    }
}
