//! What the server does with the requests its endpoint hands up.
//!
//! At this stage: OPTIONS (RFC 3261 §11.2); INVITE to a conference URI (`sip:<prefix><room>@…`)
//! joins Tandem's mixer room `<room>` with its media anchored on Tandem (and recorded when
//! configured); BYE ends such a call; everything else is declined as the UAS core rules say.
//! An INVITE matching a `[[route]]`, or addressed to a registered user, becomes a
//! back-to-back call (`tandem_call::B2bua`). The HTTP API reaches the application through
//! [`Command`]s (see `SipRuntime::run_app`) and watches it through [`Events`].

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::time::Instant;

use bytes::Bytes;
use tandem_call::{B2bua, B2buaConfig, CallEvent, CallSettings};
use tandem_runtime::media::answer::{LocalMedia, answer_sdp, choose_audio};
use tandem_runtime::media::{LegSpec, MediaEngine};
use tandem_sdp::SessionDescription;
use tandem_sip_core::auth::{AuthKind, AuthOutcome, DigestAuthenticator, Secret};
use tandem_sip_core::registrar::{Aor, Registrar};
use tandem_sip_core::{Endpoint, Event, Flow, ServerTxId, Transport};
use tandem_sip_msg::headers::{CallId as CallIdHeader, ToHeader};
use tandem_sip_msg::{HeaderName, Message, Method, Uri};
use tracing::{debug, info, warn};

use crate::calls::CallTable;
use crate::events::Events;
use crate::resolve::Lookups;
use crate::wall::WallClock;
use tandem_runtime::resolver::HickoryDns;

mod control;
mod lookup;
mod users;

use lookup::Resolving;
use users::Unreachable;
pub(crate) use users::UserFlows;

/// Methods the server serves; the endpoint answers others with 405 or 501 (§8.2.1).
pub(crate) const ALLOW: &[Method] = &[
    Method::Invite,
    Method::Ack,
    Method::Cancel,
    Method::Bye,
    Method::Options,
    Method::Register,
    Method::Update,
    Method::Info,
];

/// A call joined to a room.
#[derive(Debug)]
struct RoomCall {
    room: String,
    invite: ServerTxId,
}

/// A compiled `[[route]]`.
pub(crate) struct Route {
    pub(crate) pattern: regex::Regex,
    /// Request-URI of the outgoing leg and its next hop, in order of preference; empty
    /// when a destination names a host, which `uris` then hold for RFC 3263 lookups.
    pub(crate) targets: Vec<(Uri, SocketAddr, Transport)>,
    /// Every destination URI, in order.
    pub(crate) uris: Vec<Uri>,
    pub(crate) headers: Vec<(HeaderName, String)>,
    pub(crate) pass_through: Vec<HeaderName>,
    pub(crate) from: Option<String>,
    /// P-Asserted-Identity of the outgoing leg (RFC 3325).
    pub(crate) asserted_identity: Option<String>,
    /// Per-leg timers and credentials of the outgoing leg.
    pub(crate) ring_timeout: Option<std::time::Duration>,
    pub(crate) max_duration: Option<std::time::Duration>,
    pub(crate) session_expires: Option<std::time::Duration>,
    pub(crate) credentials: Option<tandem_call::Credentials>,
}

/// The server's application state.
pub(crate) struct App {
    b2bua: B2bua,
    routes: Vec<Route>,
    media: MediaEngine,
    conference_prefix: String,
    accounts: Accounts,
    calls: HashMap<String, RoomCall>,
    session_id: u64,
    /// The back-to-back calls as the API shows them.
    table: CallTable,
    /// Where call events are published for `/v1/events`.
    events: Events,
    /// Tandem's SIP sockets, the local end of calls it places itself.
    locals: Vec<(Transport, SocketAddr)>,
    /// RFC 3263 lookups of route destinations named by host name.
    lookups: Option<Lookups<HickoryDns>>,
    /// INVITEs waiting for their route's lookup, by lookup id.
    resolving: HashMap<u64, Resolving>,
    next_lookup: u64,
    /// Where call detail records go (`None`: not recorded).
    cdr: Option<crate::cdr::CdrSink>,
}

/// The registrar and the accounts it authenticates.
pub(crate) struct Accounts {
    pub(crate) registrar: Registrar,
    pub(crate) digest: DigestAuthenticator,
    /// Username → password.
    pub(crate) passwords: HashMap<String, String>,
    /// Username → its AOR and the flows its REGISTERs came on, by REGISTER Call-ID.
    pub(crate) flows: HashMap<String, UserFlows>,
}

impl App {
    pub(crate) fn new(
        media: MediaEngine,
        conference_prefix: String,
        accounts: Accounts,
        routes: Vec<Route>,
    ) -> Self {
        let b2bua = B2bua::new(B2buaConfig {
            origin_username: "tandem".to_owned(),
            origin_address: None,
        });
        Self {
            b2bua,
            routes,
            media,
            conference_prefix,
            accounts,
            calls: HashMap::new(),
            session_id: 1,
            table: CallTable::new(WallClock::new()),
            events: Events::new(crate::events::EVENT_BACKLOG),
            locals: Vec::new(),
            lookups: None,
            resolving: HashMap::new(),
            next_lookup: 1,
            cdr: None,
        }
    }

    /// Publishes call events to `events`; `locals` are the SIP sockets, used as the local
    /// end of calls the API originates.
    pub(crate) fn with_api(mut self, events: Events, locals: Vec<(Transport, SocketAddr)>) -> Self {
        self.events = events;
        self.locals = locals;
        self
    }

    /// Locates route destinations named by host name through `lookups`; without it such
    /// routes answer 503.
    pub(crate) fn with_lookups(mut self, lookups: Lookups<HickoryDns>) -> Self {
        self.lookups = Some(lookups);
        self
    }

    /// Records every back-to-back call through `cdr`.
    pub(crate) fn with_cdr(mut self, cdr: crate::cdr::CdrSink) -> Self {
        self.cdr = Some(cdr);
        self
    }

    /// Handles one endpoint event: the back-to-back calls take theirs first.
    pub(crate) fn handle_event(&mut self, ep: &mut Endpoint, now: Instant, event: Event) {
        let rest = self.b2bua.handle_event(ep, now, event);
        if let Some(event) = rest {
            self.handle_own_event(ep, now, event);
        }
        self.drain_calls();
    }

    /// Hands the call layer's events to the log and the API's event stream.
    fn drain_calls(&mut self) {
        while let Some(e) = self.b2bua.poll_event() {
            match &e {
                CallEvent::Ended { call, cause } => {
                    debug!(?call, ?cause, "back-to-back call ended")
                }
                other => debug!(event = ?other, "back-to-back call"),
            }
            if let Some(cdr) = &mut self.cdr {
                cdr.observe(&e);
            }
            if let Some(event) = self.table.apply(&e) {
                self.events.publish(event);
            }
        }
    }

    fn handle_own_event(&mut self, ep: &mut Endpoint, now: Instant, event: Event) {
        match event {
            Event::Request { tx, request, flow } => {
                self.handle_request(ep, now, tx, &request, flow)
            }
            Event::AckTimeout { tx } => {
                // §13.3.1.4: our 2xx was never acknowledged; the call is over.
                let gone: Vec<String> = self
                    .calls
                    .iter()
                    .filter(|(_, c)| c.invite == tx)
                    .map(|(k, _)| k.clone())
                    .collect();
                if let Some(dialog) = ep.dialog_of_server_tx(tx) {
                    ep.terminate_dialog(dialog);
                }
                for call_id in gone {
                    warn!(%call_id, "2xx never acknowledged; leaving the room");
                    if let Some(cdr) = &mut self.cdr {
                        cdr.room_left(&call_id, crate::cdr::RoomExit::AckTimeout);
                    }
                    self.leave(&call_id);
                }
            }
            Event::Discarded { reason, .. } => debug!(%reason, "message discarded"),
            other => debug!(event = ?other, "endpoint event"),
        }
    }

    fn handle_request(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        tx: ServerTxId,
        request: &Message,
        flow: Flow,
    ) {
        let method = request.method();
        let call_id = request
            .typed::<CallIdHeader<'_>>()
            .ok()
            .flatten()
            .map(|c| c.0.to_owned())
            .unwrap_or_default();
        let in_dialog = request
            .typed::<ToHeader<'_>>()
            .ok()
            .flatten()
            .is_some_and(|to| to.0.tag().is_some());
        let result = match method {
            Some(Method::Options) => options_response(ep, tx).and_then(|r| ep.respond(now, tx, r)),
            Some(Method::Register) => self.register(ep, now, tx, request, flow),
            Some(Method::Bye) if in_dialog && self.calls.contains_key(&call_id) => {
                self.leave(&call_id);
                if let Some(cdr) = &mut self.cdr {
                    cdr.room_left(&call_id, crate::cdr::RoomExit::HangUp);
                }
                info!(%call_id, "call left its room");
                ep.reply(now, tx, 200, "OK")
            }
            // §12.2.2: a request with a To tag that matches no dialog.
            _ if in_dialog => ep.reply(now, tx, 481, "Call/Transaction Does Not Exist"),
            Some(Method::Invite) => match self.room_of(request) {
                Some(room) => self.join_room(ep, now, tx, request, flow, room, call_id),
                None => self.route(ep, now, tx, request, flow),
            },
            _ => ep.reply(now, tx, 501, "Not Implemented"),
        };
        if let Err(e) = result {
            warn!(error = %e, "could not answer a request");
        }
    }

    /// REGISTER (RFC 3261 §10.3) behind digest authentication (RFC 8760, §22). Every request
    /// without valid credentials gets the same 401 whether or not the user exists, and a wrong
    /// user, a wrong password or someone else's AOR get the same 403, so the registrar cannot
    /// be used to enumerate accounts.
    fn register(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        tx: ServerTxId,
        request: &Message,
        flow: Flow,
    ) -> Result<(), tandem_sip_core::RespondError> {
        let accounts = &mut self.accounts;
        let kind = AuthKind::Www;
        let passwords = &accounts.passwords;
        let outcome = accounts
            .digest
            .verify_request(now, request, kind, |user, _realm| {
                passwords.get(user).map(|p| Secret::Password(p.clone()))
            });
        let username = match outcome {
            AuthOutcome::Ok { username } => username,
            AuthOutcome::Challenge { stale } => {
                let mut r = ep.make_response(tx, kind.status(), kind.reason())?;
                for value in accounts.digest.challenge(now, stale) {
                    r.push_header(&kind.challenge_header(), &value)?;
                }
                return ep.respond(now, tx, r);
            }
            AuthOutcome::Forbidden => return ep.reply(now, tx, 403, "Forbidden"),
        };
        // §10.3 step 4: a user registers only its own address of record (its name as the user
        // part, in one of the registrar's domains, which the registrar checks next).
        let own = Aor::of_register(request).is_some_and(|aor| {
            let text = aor.as_str();
            let rest = text
                .strip_prefix("sips:")
                .or_else(|| text.strip_prefix("sip:"));
            rest.and_then(|r| r.split_once('@'))
                .is_some_and(|(user, _)| user == username)
        });
        if !own {
            return ep.reply(now, tx, 403, "Forbidden");
        }
        accounts.registrar.expire(now);
        let decision = accounts.registrar.handle_register(now, request);
        info!(user = %username, status = decision.status, "REGISTER");
        if decision.status == 200 {
            accounts.remember_flow(now, &username, request, flow);
        }
        let mut r = ep.make_response(tx, decision.status, decision.reason)?;
        decision.apply_to(&mut r)?;
        ep.respond(now, tx, r)
    }

    /// Scenario S1: the first `[[route]]` whose pattern matches the Request-URI turns the
    /// INVITE into a back-to-back call; with no match, a registered user's address reaches
    /// the user.
    fn route(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        tx: ServerTxId,
        request: &Message,
        flow: Flow,
    ) -> Result<(), tandem_sip_core::RespondError> {
        let uri = request.request_line().map(|l| l.uri).unwrap_or_default();
        let Some(index) = self.routes.iter().position(|r| r.pattern.is_match(uri)) else {
            return self.call_user(ep, now, tx, request, flow);
        };
        let route = &self.routes[index];
        if route.targets.is_empty() {
            return self.lookup(ep, now, tx, request, flow, index);
        }
        let hops = route
            .targets
            .iter()
            .map(|(_, addr, transport)| Flow {
                transport: *transport,
                local: flow.local,
                remote: *addr,
            })
            .collect();
        self.route_to(ep, now, tx, request, flow, index, hops)
    }

    /// Establishes route `route`'s back-to-back call over `hops` (first, then fallbacks).
    #[allow(clippy::too_many_arguments)]
    fn route_to(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        tx: ServerTxId,
        request: &Message,
        flow: Flow,
        route: usize,
        hops: Vec<Flow>,
    ) -> Result<(), tandem_sip_core::RespondError> {
        let route = &self.routes[route];
        let (Some(first), Some(target)) = (hops.first(), route.uris.first()) else {
            return ep.reply(now, tx, 500, "Server Internal Error");
        };
        let mut settings = CallSettings::new(*first, target.clone());
        settings.fallbacks = hops[1..].to_vec();
        settings.extra_headers = route.headers.clone();
        settings.pass_through = route.pass_through.clone();
        settings.from = route.from.clone();
        settings.asserted_identity = route.asserted_identity.clone();
        settings.ring_timeout = route.ring_timeout;
        settings.max_duration = route.max_duration;
        settings.session_expires = route.session_expires;
        settings.credentials = route.credentials.clone();
        self.bridge(ep, now, tx, request, flow, settings)
    }

    /// An INVITE to a user of the registrar (RFC 3261 §10, §16.5: the location service):
    /// a back-to-back call to its first binding, through the flow its REGISTER came on.
    /// A known user without a binding gets 480; anyone else 404.
    fn call_user(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        tx: ServerTxId,
        request: &Message,
        flow: Flow,
    ) -> Result<(), tandem_sip_core::RespondError> {
        let Some(uri) = request.request_line().and_then(|l| l.uri().ok()) else {
            return ep.reply(now, tx, 404, "Not Found");
        };
        match self.accounts.contact_of(now, &uri, flow.local) {
            Ok((target, to)) => {
                info!(user = %uri, contact = %target, "call to a registered user");
                self.bridge(ep, now, tx, request, flow, CallSettings::new(to, target))
            }
            Err(Unreachable::Unknown) => ep.reply(now, tx, 404, "Not Found"),
            Err(Unreachable::NotRegistered) => ep.reply(now, tx, 480, "Temporarily Unavailable"),
        }
    }

    /// Establishes the back-to-back call of `request` and records it for the API.
    fn bridge(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        tx: ServerTxId,
        request: &Message,
        flow: Flow,
        settings: CallSettings,
    ) -> Result<(), tandem_sip_core::RespondError> {
        match self.b2bua.establish(ep, now, tx, request, settings) {
            Ok(call) => {
                let id = self.table.add(call);
                if let (Some(cdr), Some(info)) = (&mut self.cdr, self.b2bua.info(call)) {
                    cdr.call_started(&info);
                }
                debug!(?call, id, caller = %flow.remote, "back-to-back call");
                self.drain_calls();
                Ok(())
            }
            Err(e) => {
                warn!(error = %e, "back-to-back call not established");
                let (status, reason) = match e {
                    tandem_call::CallError::TooManyHops => (483, "Too Many Hops"),
                    tandem_call::CallError::BadSdp => (488, "Not Acceptable Here"),
                    _ => (500, "Server Internal Error"),
                };
                match ep.reply(now, tx, status, reason) {
                    Err(tandem_sip_core::RespondError::AlreadyFinal) | Ok(()) => Ok(()),
                    Err(other) => Err(other),
                }
            }
        }
    }

    /// The room named by a conference Request-URI (`sip:conf-sales@host` → `sales`).
    fn room_of(&self, request: &Message) -> Option<String> {
        let uri = request.request_line()?.uri().ok()?;
        let Uri::Sip(sip) = uri else { return None };
        let user = sip.user_unescaped()?;
        let user = String::from_utf8(user).ok()?;
        let room = user.strip_prefix(&self.conference_prefix)?;
        (!room.is_empty()).then(|| room.to_owned())
    }

    #[allow(clippy::too_many_arguments)]
    fn join_room(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        tx: ServerTxId,
        request: &Message,
        flow: Flow,
        room: String,
        call_id: String,
    ) -> Result<(), tandem_sip_core::RespondError> {
        // RFC 3264 §5/§6: answer the offer's first audio stream with a codec the mixer has
        // (`tandem_runtime::media::answer`).
        let offer = match SessionDescription::parse(request.body()) {
            Ok(sdp) if !request.body().is_empty() => sdp,
            _ => {
                return reject(
                    ep,
                    now,
                    tx,
                    488,
                    "Not Acceptable Here",
                    "an SDP offer is required",
                );
            }
        };
        let Some(chosen) = choose_audio(&offer) else {
            return reject(
                ep,
                now,
                tx,
                488,
                "Not Acceptable Here",
                "no common audio codec",
            );
        };
        let local_ip = flow.local.ip();
        let socket = match UdpSocket::bind(SocketAddr::new(local_ip, 0)) {
            Ok(s) => s,
            Err(e) => {
                warn!(error = %e, "no media port");
                return ep.reply(now, tx, 503, "Service Unavailable");
            }
        };
        let port = socket.local_addr().map(|a| a.port()).unwrap_or(0);
        self.session_id += 1;
        let local = LocalMedia::new(local_ip, port, self.session_id);
        let answer = answer_sdp(&offer, &chosen, &local);
        let spec = LegSpec {
            room: room.clone(),
            key: call_id.clone(),
            socket,
            remote: chosen.remote,
            codec: chosen.codec,
            payload_type: chosen.payload_type,
        };
        if let Err(e) = self.media.add_leg(spec) {
            warn!(error = %e, "media thread refused the leg");
            return ep.reply(now, tx, 503, "Service Unavailable");
        }
        let mut ok = ep.make_response(tx, 200, "OK")?;
        let user = format!("{}{room}", self.conference_prefix);
        let contact = format!("<sip:{user}@{}>", tandem_sip_core::host_port(flow.local));
        ok.push_header(&HeaderName::Contact, &contact)?;
        ok.push_header(
            &HeaderName::Allow,
            &ALLOW
                .iter()
                .map(Method::as_str)
                .collect::<Vec<_>>()
                .join(", "),
        )?;
        ok.set_body(Some("application/sdp"), Bytes::from(answer))?;
        ep.respond(now, tx, ok)?;
        info!(%call_id, %room, codec = ?chosen.codec, "call joined room");
        if let Some(cdr) = &mut self.cdr {
            cdr.room_joined(&call_id, request, flow);
        }
        self.calls.insert(call_id, RoomCall { room, invite: tx });
        Ok(())
    }

    fn leave(&mut self, call_id: &str) {
        if let Some(call) = self.calls.remove(call_id) {
            debug!(room = %call.room, "leaving room");
            if let Err(e) = self.media.remove_leg(call_id) {
                warn!(error = %e, "media thread refused to remove a leg");
            }
        }
    }
}

fn reject(
    ep: &mut Endpoint,
    now: Instant,
    tx: ServerTxId,
    status: u16,
    reason: &str,
    warning: &str,
) -> Result<(), tandem_sip_core::RespondError> {
    let mut r = ep.make_response(tx, status, reason)?;
    // RFC 3261 §20.43: 399 = miscellaneous warning, with the agent's name.
    r.push_header(
        &HeaderName::new("Warning"),
        &format!("399 tandem \"{warning}\""),
    )?;
    ep.respond(now, tx, r)
}

/// §11.2: 200 with Allow, Accept and Supported.
fn options_response(
    ep: &Endpoint,
    tx: ServerTxId,
) -> Result<Message, tandem_sip_core::RespondError> {
    let mut r = ep.make_response(tx, 200, "OK")?;
    let allow = ALLOW
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    r.push_header(&HeaderName::Allow, &allow)?;
    r.push_header(&HeaderName::Accept, &ep.config().accept.join(", "))?;
    r.push_header(&HeaderName::Supported, &ep.config().supported.join(", "))?;
    Ok(r)
}
