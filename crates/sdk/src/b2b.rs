//! [`BackToBackCall`] and its per-leg [`CallSettings`].

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tandem_call::{CallInfo as CallSnapshot, CallState, Credentials, MediaFlowState};
use tandem_runtime::resolver::{Dns, Naptr, ResolveError, Resolver, Srv, Target};
use tandem_sip_msg::{HeaderName, Host, Uri};

use crate::call::{
    Call, CallInfo, CallRecord, CallTerminateOptions, EndCause, IncomingCall, MediaFlowChanges,
    StateChanges,
};
use crate::driver::{Channels, Command, Link, Originate, Outgoing, Owner};
use crate::error::{EstablishError, TerminateError};

/// Marker of the incoming leg's settings (leg A, [`CallSettings::incoming`]).
#[derive(Debug)]
pub struct IncomingLeg {
    call: IncomingCall,
}

/// Marker of the outgoing leg's settings (leg B, [`CallSettings::outgoing`]).
#[derive(Debug, Clone)]
pub struct OutgoingLeg {
    destination: String,
    fallbacks: Vec<String>,
    from: Option<String>,
    asserted_identity: Option<String>,
    headers: Vec<(HeaderName, String)>,
    ring_timeout: Option<Duration>,
    max_duration: Option<Duration>,
    credentials: Option<Credentials>,
    session_expires: Option<Duration>,
}

/// The settings of one leg of a [`BackToBackCall`] (UCMA's `BackToBackCallSettings`).
///
/// The leg is part of the type, so the two legs cannot be swapped:
/// [`CallSettings::incoming`] wraps the [`IncomingCall`] (leg A), and
/// [`CallSettings::outgoing`] names the destination of the new call (leg B) and takes the
/// outgoing leg's options (extra headers, caller id, fallback next hops). Both take a
/// pass-through allow-list; the two lists are merged.
#[derive(Debug)]
pub struct CallSettings<L = OutgoingLeg> {
    leg: L,
    pass_through: Vec<HeaderName>,
}

impl CallSettings<IncomingLeg> {
    /// The settings of the incoming leg: the call to connect (UCMA's
    /// `BackToBackCallSettings(call1)`).
    pub fn incoming(call: IncomingCall) -> Self {
        Self {
            leg: IncomingLeg { call },
            pass_through: Vec::new(),
        }
    }
}

impl CallSettings<OutgoingLeg> {
    /// The settings of the outgoing leg: a new call to `destination`, a SIP or SIPS URI
    /// (UCMA's `BackToBackCallSettings(call2, destinationUri)`).
    ///
    /// The URI is leg B's Request-URI and To. Its next hop is found by RFC 3263 (NAPTR, SRV,
    /// A/AAAA through the system resolver) when the host is a name; an IP literal needs no
    /// DNS (`sip:agent@192.0.2.20:5080`, `;transport=tcp` picks TCP).
    pub fn outgoing(destination: impl Into<String>) -> Self {
        Self {
            leg: OutgoingLeg {
                destination: destination.into(),
                fallbacks: Vec::new(),
                from: None,
                asserted_identity: None,
                headers: Vec::new(),
                ring_timeout: None,
                max_duration: None,
                credentials: None,
                session_expires: None,
            },
            pass_through: Vec::new(),
        }
    }

    /// Adds a header to leg B's INVITE (after the passed-through ones), e.g.
    /// `("X-Queue", "sales")`.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.leg.headers.push((HeaderName::new(name), value.into()));
        self
    }

    /// Leg B's From (a name-addr without tag, e.g. `"Sales" <sip:sales@example.com>`),
    /// instead of the caller's display name and URI.
    pub fn with_from(mut self, name_addr: impl Into<String>) -> Self {
        self.leg.from = Some(name_addr.into());
        self
    }

    /// Leg B's `P-Asserted-Identity` (RFC 3325 §9.1), e.g.
    /// `"Support" <sip:+15551230000@example.com>`: the identity a trusted network shows the
    /// callee. It replaces any the pass-through list would copy from leg A.
    pub fn with_asserted_identity(mut self, name_addr: impl Into<String>) -> Self {
        self.leg.asserted_identity = Some(name_addr.into());
        self
    }

    /// Another next hop (a SIP URI resolved like the destination) tried when the previous
    /// ones time out, fail at the transport or answer 503 (RFC 3263 §4.3). The Request-URI
    /// stays the destination.
    pub fn with_fallback(mut self, next_hop: impl Into<String>) -> Self {
        self.leg.fallbacks.push(next_hop.into());
        self
    }

    /// Gives up on leg B when it has no final response this long after its INVITE: leg B is
    /// cancelled, the caller gets 480, and [`BackToBackCall::establish`] fails with
    /// [`EstablishError::RingTimeout`]. Without it only Timer C (181 s) and Timer B apply.
    pub fn with_ring_timeout(mut self, timeout: Duration) -> Self {
        self.leg.ring_timeout = Some(timeout);
        self
    }

    /// Ends the call this long after it was answered: BYE on both legs with
    /// `Reason: SIP;cause=200;text="Maximum call duration"` (cause `MaxDuration`).
    pub fn with_max_duration(mut self, limit: Duration) -> Self {
        self.leg.max_duration = Some(limit);
        self
    }

    /// Answers a 401/407 to leg B's INVITE with these digest credentials (RFC 3261 §22.2),
    /// at most twice. Without them a challenge fails the leg (the caller gets 403).
    pub fn with_credentials(mut self, username: &str, password: &str) -> Self {
        self.leg.credentials = Some(Credentials::new(username, password));
        self
    }

    /// [`Self::with_credentials`] used only for challenges of `realm`.
    pub fn with_credentials_for_realm(
        mut self,
        realm: &str,
        username: &str,
        password: &str,
    ) -> Self {
        self.leg.credentials = Some(Credentials::new(username, password).for_realm(realm));
        self
    }

    /// A session timer on leg B (RFC 4028): `Session-Expires: <interval>;refresher=uac`
    /// (at least 90 s), so Tandem refreshes the leg and a lost leg ends the call. Needs
    /// [`EndpointSettings::session_timers`](crate::EndpointSettings::session_timers).
    pub fn with_session_expires(mut self, interval: Duration) -> Self {
        self.leg.session_expires = Some(interval);
        self
    }

    /// The destination URI as given.
    pub fn destination(&self) -> &str {
        &self.leg.destination
    }
}

impl<L> CallSettings<L> {
    /// The pass-through allow-list (UCMA's `SetPassThroughHeaderNames`): headers of leg A's
    /// INVITE, and of later requests of either leg, copied to the other leg. Via, Contact,
    /// Call-ID, tags, Record-Route and Route never cross (topology hiding).
    pub fn with_pass_through_header_names<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.pass_through
            .extend(names.into_iter().map(|n| HeaderName::new(n.as_ref())));
        self
    }
}

/// A back-to-back call (UCMA's `BackToBackCall`): the incoming call (leg A) connected to a
/// new outgoing call (leg B), with Tandem in the middle of the signalling and the media
/// flowing peer to peer.
///
/// Cheap to clone (every clone controls the same call). **Dropping the last clone terminates
/// the call** (like dropping a quinn `Connection`): before [`Self::establish`] the caller
/// gets 480, after it both legs get BYE. Keep a clone for as long as the call should live,
/// e.g. by awaiting [`Self::ended`].
#[derive(Debug, Clone)]
pub struct BackToBackCall {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    call: Call,
    owner: Arc<Owner>,
    /// The settings until [`BackToBackCall::establish`] takes them.
    start: Mutex<Option<Start>>,
}

enum Start {
    /// Leg A is an incoming call.
    Bridge {
        pass_through: Vec<HeaderName>,
        outgoing: Box<CallSettings<OutgoingLeg>>,
    },
    /// Both legs are outgoing (RFC 3725 Flow I).
    Originate {
        first: Box<CallSettings<OutgoingLeg>>,
        second: Box<CallSettings<OutgoingLeg>>,
        channels: Channels,
    },
}

impl std::fmt::Debug for Start {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bridge { outgoing, .. } => f
                .debug_struct("Bridge")
                .field("destination", &outgoing.leg.destination)
                .finish_non_exhaustive(),
            Self::Originate { first, second, .. } => f
                .debug_struct("Originate")
                .field("first", &first.leg.destination)
                .field("second", &second.leg.destination)
                .finish_non_exhaustive(),
        }
    }
}

impl BackToBackCall {
    /// A back-to-back call of `incoming` (leg A) and `outgoing` (leg B), in state `Idle`;
    /// nothing is sent until [`Self::establish`].
    pub fn new(incoming: CallSettings<IncomingLeg>, outgoing: CallSettings<OutgoingLeg>) -> Self {
        let (call, owner) = incoming.leg.call.into_parts();
        Self {
            inner: Arc::new(Inner {
                call,
                owner,
                start: Mutex::new(Some(Start::Bridge {
                    pass_through: incoming.pass_through,
                    outgoing: Box::new(outgoing),
                })),
            }),
        }
    }

    /// A call placed by Tandem to two parties (see [`Endpoint::originate`]).
    ///
    /// [`Endpoint::originate`]: crate::Endpoint::originate
    pub(crate) fn originate(
        link: Arc<Link>,
        first: CallSettings<OutgoingLeg>,
        second: CallSettings<OutgoingLeg>,
    ) -> Self {
        let id = link.next_id();
        let (channels, receivers) = Channels::new();
        let info = CallInfo::originated(&first.leg.destination, &second.leg.destination);
        Self {
            inner: Arc::new(Inner {
                call: Call::new(id, Arc::new(info), receivers),
                owner: Arc::new(Owner { id, link }),
                start: Mutex::new(Some(Start::Originate {
                    first: Box::new(first),
                    second: Box::new(second),
                    channels,
                })),
            }),
        }
    }

    /// Establishes the call (UCMA's `BeginEstablish`/`EndEstablish`): resolves the
    /// destination, sends leg B's INVITE, relays its provisional responses (early media
    /// included) to leg A, and resolves once leg B answered 2xx and that answer was sent to
    /// leg A (state `Established`).
    ///
    /// On failure the caller has had a final response (see
    /// [`EstablishError::caller_status`]) and the call is over, except for
    /// [`EstablishError::AlreadyStarted`]. Dropping the future before it resolves does not
    /// stop the call: use [`Self::terminate`].
    pub async fn establish(&self) -> Result<(), EstablishError> {
        let start = self
            .inner
            .start
            .lock()
            .ok()
            .and_then(|mut s| s.take())
            .ok_or(EstablishError::AlreadyStarted)?;
        let link = &self.inner.owner.link;
        let id = self.inner.call.id();
        let (pass_through, outgoing) = match start {
            Start::Bridge {
                pass_through,
                outgoing,
            } => (pass_through, *outgoing),
            Start::Originate {
                first,
                second,
                channels,
            } => return self.place(*first, *second, channels).await,
        };
        let outgoing = match resolve_leg(link, pass_through, outgoing).await {
            Ok(o) => o,
            Err(e) => {
                let status = e.caller_status().unwrap_or(500);
                let cause = EndCause::Declined { status };
                let _ = link
                    .ask(|reply| Command::Decline {
                        id,
                        status,
                        reason: reason_phrase(status).to_owned(),
                        headers: Vec::new(),
                        cause,
                        reply,
                    })
                    .await;
                return Err(e);
            }
        };
        link.ask(|reply| Command::Establish {
            id,
            outgoing: Box::new(outgoing),
            reply,
        })
        .await
        .unwrap_or(Err(EstablishError::EndpointClosed))?;
        self.answered().await
    }

    /// `establish` of an originated call.
    async fn place(
        &self,
        first: CallSettings<OutgoingLeg>,
        second: CallSettings<OutgoingLeg>,
        channels: Channels,
    ) -> Result<(), EstablishError> {
        let link = &self.inner.owner.link;
        let resolved = match resolve_leg(link, Vec::new(), first).await {
            Ok(first) => resolve_leg(link, Vec::new(), second)
                .await
                .map(|second| (first, second)),
            Err(e) => Err(e),
        };
        let (first, second) = match resolved {
            Ok(legs) => legs,
            Err(e) => {
                channels.fail(EndCause::NotPlaced);
                return Err(e);
            }
        };
        let start = Originate {
            id: self.inner.call.id(),
            first: Box::new(first),
            second: Box::new(second),
            channels,
            owner: Arc::downgrade(&self.inner.owner),
        };
        link.ask(|reply| Command::Originate {
            start: Box::new(start),
            reply,
        })
        .await
        .unwrap_or(Err(EstablishError::EndpointClosed))?;
        self.answered().await
    }

    /// Waits for the answer, or maps the end of the call to an error.
    async fn answered(&self) -> Result<(), EstablishError> {
        self.inner
            .call
            .answered_or_ended()
            .await
            .map_err(|record| match record.cause {
                EndCause::BackToBack(tandem_call::EndCause::Rejected { status, relayed }) => {
                    EstablishError::Rejected { status, relayed }
                }
                EndCause::BackToBack(tandem_call::EndCause::NoAnswer) => EstablishError::NoAnswer,
                EndCause::BackToBack(tandem_call::EndCause::RingTimeout) => {
                    EstablishError::RingTimeout
                }
                EndCause::EndpointGone => EstablishError::EndpointClosed,
                other => EstablishError::Ended(other),
            })
    }

    /// Ends the call (UCMA's `BeginTerminate`): while establishing, the caller gets 480 and
    /// leg B is cancelled; once established, both legs get BYE with the options' `Reason`
    /// (RFC 3326); before [`Self::establish`], the caller gets 480. Resolves when the call is
    /// `Terminated`, with its record. Terminating an ended call returns its record.
    pub async fn terminate(
        &self,
        options: CallTerminateOptions,
    ) -> Result<CallRecord, TerminateError> {
        if let Some(record) = self.inner.call.record() {
            return Ok(record);
        }
        // Never establish after this.
        let start = self.inner.start.lock().ok().and_then(|mut s| s.take());
        if let Some(Start::Originate { channels, .. }) = start {
            // Nothing was sent: the call ends here.
            channels.fail(EndCause::BackToBack(tandem_call::EndCause::Terminated));
            return Ok(self.inner.call.ended().await);
        }
        self.inner
            .call
            .terminate_with(&self.inner.owner, &options)
            .await
    }

    /// The current state (UCMA's `BackToBackCall.State`).
    pub fn state(&self) -> CallState {
        self.inner.call.state()
    }

    /// The state changes from now on (UCMA's `StateChanged` event); subscribe before
    /// [`Self::establish`] to see `Establishing`.
    pub fn state_changed(&self) -> StateChanges {
        self.inner.call.state_changed()
    }

    /// Waits until the call is over; its record says why and when.
    pub async fn ended(&self) -> CallRecord {
        self.inner.call.ended().await
    }

    /// Who called (leg A's INVITE).
    pub fn incoming(&self) -> &CallInfo {
        self.inner.call.info()
    }

    /// The media-flow hint: see [`Call::media_flow`].
    pub fn media_flow(&self) -> Option<MediaFlowState> {
        self.inner.call.media_flow()
    }

    /// The media-flow changes from now on: see [`Call::media_flow_changed`].
    pub fn media_flow_changed(&self) -> MediaFlowChanges {
        self.inner.call.media_flow_changed()
    }

    /// A snapshot of the live call from the controller: state, media flow, times and each
    /// leg's SIP Call-ID, From, To and remote address. `None` before [`Self::establish`] and
    /// after the end (see [`Self::ended`] for the record).
    pub async fn snapshot(&self) -> Option<CallSnapshot> {
        let id = self.inner.call.id();
        self.inner
            .owner
            .link
            .ask(|reply| Command::Info { id, reply })
            .await
            .flatten()
    }

    /// An observer of the call that does not keep it alive.
    pub fn call(&self) -> &Call {
        &self.inner.call
    }
}

/// Leg B's settings, resolved (DNS runs here, on the caller's task, never on the driver's).
async fn resolve_leg(
    link: &Link,
    pass_through: Vec<HeaderName>,
    outgoing: CallSettings<OutgoingLeg>,
) -> Result<Outgoing, EstablishError> {
    let CallSettings {
        leg,
        pass_through: leg_pass_through,
    } = outgoing;
    let target = parse_sip(&leg.destination)?;
    let mut targets = resolve(link, &target).await?;
    for hop in &leg.fallbacks {
        let uri = parse_sip(hop)?;
        match resolve(link, &uri).await {
            Ok(more) => targets.extend(more),
            // A fallback that does not resolve is skipped; the destination still works.
            Err(e) => tracing::debug!(next_hop = %hop, error = %e, "fallback not resolved"),
        }
    }
    let mut all_pass = pass_through;
    all_pass.extend(leg_pass_through);
    Ok(Outgoing {
        target,
        targets,
        from: leg.from,
        asserted_identity: leg.asserted_identity,
        headers: leg.headers,
        pass_through: all_pass,
        ring_timeout: leg.ring_timeout,
        max_duration: leg.max_duration,
        credentials: leg.credentials,
        session_expires: leg.session_expires,
    })
}

fn parse_sip(uri: &str) -> Result<Uri, EstablishError> {
    let invalid = |reason: String| EstablishError::InvalidDestination {
        uri: uri.to_owned(),
        reason,
    };
    let parsed = Uri::parse(uri.trim()).map_err(|e| invalid(e.to_string()))?;
    if parsed.as_sip().is_none() {
        return Err(invalid("not a SIP or SIPS URI".to_owned()));
    }
    Ok(parsed)
}

/// RFC 3263 targets of `uri`: through the system DNS when its host (or `maddr`) is a name.
async fn resolve(link: &Link, uri: &Uri) -> Result<Vec<Target>, ResolveError> {
    let Some(sip) = uri.as_sip() else {
        return Err(ResolveError::NoAddress(uri.to_string()));
    };
    let host = match sip.param("maddr") {
        Some(Some(maddr)) => Host::parse(maddr).unwrap_or_else(|_| sip.host.clone()),
        _ => sip.host.clone(),
    };
    let transports = link.transports.clone();
    let seed = link.next_seed();
    if host.ip().is_some() {
        Resolver::new(NoDns, transports, seed).resolve(sip).await
    } else {
        Resolver::new(link.dns()?, transports, seed)
            .resolve(sip)
            .await
    }
}

/// A [`Dns`] with no records: for IP literals, which RFC 3263 resolves without queries.
struct NoDns;

impl Dns for NoDns {
    async fn naptr(&self, _domain: &str) -> Vec<Naptr> {
        Vec::new()
    }

    async fn srv(&self, _name: &str) -> Vec<Srv> {
        Vec::new()
    }

    async fn ip(&self, _host: &str) -> Vec<std::net::IpAddr> {
        Vec::new()
    }
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        404 => "Not Found",
        480 => "Temporarily Unavailable",
        _ => "Server Internal Error",
    }
}
