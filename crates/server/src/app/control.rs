//! The HTTP API's commands (see `crate::commands`) and the call layer's timers, as the
//! `SipApp` the runtime drives: everything runs on the SIP driver's task, so the API needs
//! no lock around the calls.

use std::net::SocketAddr;
use std::time::Instant;

use tandem_call::{CallId, CallSettings, Reason};
use tandem_runtime::sip::SipApp;
use tandem_sip_core::{Endpoint, Event, Flow, Transport};
use tandem_sip_msg::Uri;
use tracing::info;

use super::App;
use super::users::Unreachable;
use crate::commands::{CallView, Command, CommandError, Originate};

impl SipApp for App {
    type Command = Command;

    fn handle_event(&mut self, ep: &mut Endpoint, now: Instant, event: Event) {
        Self::handle_event(self, ep, now, event);
    }

    /// The call layer's ring timeouts, maximum durations and other deadlines.
    fn poll_timeout(&self) -> Option<Instant> {
        self.b2bua.poll_timeout()
    }

    fn handle_timeout(&mut self, ep: &mut Endpoint, now: Instant) {
        self.b2bua.handle_timeout(ep, now);
        self.drain_calls();
    }

    fn handle_command(&mut self, ep: &mut Endpoint, now: Instant, command: Command) {
        // A reply whose asker gave up (its HTTP client went away) is dropped.
        match command {
            Command::ListCalls(reply) => {
                let _ = reply.send(self.table.list(&self.b2bua));
            }
            Command::ShowCall { id, reply } => {
                let _ = reply.send(self.table.view(&self.b2bua, id));
            }
            Command::HangUp { id, reply } => {
                let _ = reply.send(self.hang_up(ep, now, id));
            }
            Command::Originate { request, reply } => {
                let _ = reply.send(self.originate(ep, now, request));
            }
            Command::Resolved { id, targets } => self.resolved(ep, now, id, targets),
        }
        self.drain_calls();
    }
}

impl App {
    /// `DELETE /v1/calls/{id}`: BYE both legs with `Reason` (RFC 3326), or 480/CANCEL before
    /// the answer.
    fn hang_up(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        id: u64,
    ) -> Result<CallView, CommandError> {
        let call: CallId = self.table.call_of(id).ok_or(CommandError::NoSuchCall)?;
        let before = self.table.view(&self.b2bua, id);
        let reason = Reason::new(200, "Hung up by the API");
        match self.b2bua.terminate(ep, now, call, &reason) {
            Ok(()) => {}
            Err(tandem_call::CallError::NoSuchCall) => return Err(CommandError::NoSuchCall),
            Err(e) => return Err(CommandError::Failed(e.to_string())),
        }
        info!(?call, id, "hung up by the API");
        // A call that ended at once (nothing left to confirm) shows `terminated`.
        let view = self.table.view(&self.b2bua, id).or_else(|| {
            before.map(|v| CallView {
                state: crate::events::CallStateView::Terminated,
                ..v
            })
        });
        self.drain_calls();
        view.ok_or(CommandError::NoSuchCall)
    }

    /// `POST /v1/calls`: RFC 3725 Flow I through `B2bua::originate`. Both parties must be
    /// reachable (a registered user or an IP address) before anything is sent. Each party
    /// sees the other's public URI as From, never a registered contact.
    fn originate(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        request: Box<Originate>,
    ) -> Result<u64, CommandError> {
        let (first_target, first_hop) = self.reach(now, &request.first)?;
        let (second_target, second_hop) = self.reach(now, &request.second)?;
        let mut first = CallSettings::new(first_hop, first_target);
        let mut second = CallSettings::new(second_hop, second_target);
        first.from = Some(format!("<{}>", request.second));
        second.from = Some(
            request
                .caller_id
                .clone()
                .unwrap_or_else(|| format!("<{}>", request.first)),
        );
        first.extra_headers.clone_from(&request.headers);
        second.extra_headers.clone_from(&request.headers);
        let call = self
            .b2bua
            .originate(ep, now, first, second)
            .map_err(|e| CommandError::Failed(e.to_string()))?;
        let id = self.table.add(call);
        if let (Some(cdr), Some(info)) = (&mut self.cdr, self.b2bua.info(call)) {
            cdr.call_started(&info);
        }
        info!(?call, id, first = %request.first, second = %request.second, "originated");
        self.drain_calls();
        Ok(id)
    }

    /// The Request-URI and next hop for a call Tandem places to `uri`: a registered user's
    /// contact, or the URI itself when its host is an IP address.
    fn reach(&self, now: Instant, uri: &Uri) -> Result<(Uri, Flow), CommandError> {
        let unroutable = |why: &str| CommandError::Unroutable {
            uri: uri.to_string(),
            why: why.to_owned(),
        };
        let sip = uri.as_sip().ok_or_else(|| unroutable("not a SIP URI"))?;
        let transport = if sip
            .param("transport")
            .flatten()
            .is_some_and(|t| t.eq_ignore_ascii_case("tcp"))
        {
            Transport::Tcp
        } else {
            Transport::Udp
        };
        let local = self
            .locals
            .iter()
            .find(|(t, _)| *t == transport)
            .map(|(_, a)| *a)
            .ok_or_else(|| unroutable(&format!("Tandem has no {transport} listener")))?;
        // A URI naming another host goes there; one naming Tandem (or a domain) may be a
        // registered user's address of record.
        let elsewhere = sip.host.ip().is_some_and(|ip| {
            !self.locals.iter().any(|(_, a)| {
                (a.ip() == ip || a.ip().is_unspecified()) && sip.port.is_none_or(|p| p == a.port())
            })
        });
        if !elsewhere {
            match self.accounts.contact_of(now, uri, local) {
                Ok(found) => return Ok(found),
                Err(Unreachable::NotRegistered) => {
                    return Err(unroutable("the user is not registered"));
                }
                Err(Unreachable::Unknown) => {}
            }
        }
        let ip = sip
            .host
            .ip()
            .ok_or_else(|| unroutable("host names are not resolved yet; use an IP address"))?;
        let remote = SocketAddr::new(ip, sip.port.unwrap_or(5060));
        Ok((
            uri.clone(),
            Flow {
                transport,
                local,
                remote,
            },
        ))
    }
}
