//! Calls to registered users (RFC 3261 §10: the registrar as location service): which
//! contact to call, and over which flow.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use tandem_sip_core::registrar::Aor;
use tandem_sip_core::{Flow, Transport};
use tandem_sip_msg::headers::CallId as CallIdHeader;
use tandem_sip_msg::{Message, Uri};

use super::Accounts;

/// Where a registered user's REGISTERs came from. Requests to a client behind NAT must go
/// back the way its REGISTER came (RFC 5626 §5.3, RFC 3581), not to the private address in
/// its Contact.
#[derive(Debug, Clone)]
pub(crate) struct UserFlows {
    aor: Aor,
    /// REGISTER Call-ID (which the registrar keeps per binding) → the flow it came on.
    by_call_id: HashMap<String, Flow>,
}

/// Why an INVITE cannot reach a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unreachable {
    /// Not one of the `[[user]]` accounts (404).
    Unknown,
    /// An account with no live binding (480, RFC 3261 §21.4.18).
    NotRegistered,
}

impl Accounts {
    /// Notes the flow a successful REGISTER of `username` came on, and forgets flows of
    /// bindings that are gone, so the map never outgrows the registrar.
    pub(super) fn remember_flow(
        &mut self,
        now: Instant,
        username: &str,
        request: &Message,
        flow: Flow,
    ) {
        let Some(aor) = Aor::of_register(request) else {
            return;
        };
        let call_id = request
            .typed::<CallIdHeader<'_>>()
            .ok()
            .flatten()
            .map(|c| c.0.to_owned())
            .unwrap_or_default();
        let bindings = self.registrar.lookup(now, &aor);
        let entry = self
            .flows
            .entry(username.to_owned())
            .or_insert_with(|| UserFlows {
                aor: aor.clone(),
                by_call_id: HashMap::new(),
            });
        entry.aor = aor;
        entry.by_call_id.insert(call_id, flow);
        entry
            .by_call_id
            .retain(|id, _| bindings.iter().any(|b| b.call_id() == id));
        if entry.by_call_id.is_empty() {
            self.flows.remove(username);
        }
    }

    /// The contact URI of the user `uri` names (its user part, whatever the host: phones
    /// often register to a domain and are called at Tandem's address) and the flow to reach
    /// it: the flow of the REGISTER that made the binding, else the contact's own address
    /// from `local`.
    pub(super) fn contact_of(
        &self,
        now: Instant,
        uri: &Uri,
        local: SocketAddr,
    ) -> Result<(Uri, Flow), Unreachable> {
        let user = uri
            .as_sip()
            .and_then(|s| s.user_unescaped())
            .and_then(|u| String::from_utf8(u).ok())
            .ok_or(Unreachable::Unknown)?;
        if !self.passwords.contains_key(&user) {
            return Err(Unreachable::Unknown);
        }
        let flows = self.flows.get(&user).ok_or(Unreachable::NotRegistered)?;
        for binding in self.registrar.lookup(now, &flows.aor) {
            if let Some(flow) = flows.by_call_id.get(binding.call_id()) {
                return Ok((binding.uri().clone(), *flow));
            }
            let Some(sip) = binding.uri().as_sip() else {
                continue;
            };
            let Some(ip) = sip.host.ip() else { continue };
            let remote = SocketAddr::new(ip, sip.port.unwrap_or(5060));
            let flow = Flow {
                transport: Transport::Udp,
                local,
                remote,
            };
            return Ok((binding.uri().clone(), flow));
        }
        Err(Unreachable::NotRegistered)
    }
}
