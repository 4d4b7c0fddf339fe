//! The INVITE of each leg: the incoming one (Tandem is its UAS) and the outgoing ones
//! (Tandem is their UAC): building and sending them, and the digest retry (RFC 3261 §22.2).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use tandem_sip_core::auth::{AuthKind, DigestClient};
use tandem_sip_core::{ClientTxId, DialogId, Endpoint, Flow, ServerTxId};
use tandem_sip_msg::headers::{CSeq, Challenge, Contact, ToHeader};
use tandem_sip_msg::{HeaderName, Message, Method, Uri};

use crate::relay::{self, Body};
use crate::types::{CallError, CallSettings, Credentials};

/// How many times one INVITE is re-sent with credentials before a challenge counts as a
/// failure (a first answer, and one more for a `stale=true` nonce).
const MAX_AUTH_RETRIES: u8 = 2;

/// How many redirected INVITEs one leg sends at most (RFC 3261 §8.1.3.4 leaves loop
/// avoidance to the UAC: a target is also never tried twice).
pub(crate) const MAX_REDIRECTS: u8 = 5;

/// The INVITE Tandem received on leg A of [`crate::B2bua::establish`].
#[derive(Debug)]
pub(crate) struct Incoming {
    pub(crate) tx: ServerTxId,
    /// The INVITE carried an offer (else: late offer, §13.2.1, RFC 3264 §5).
    pub(crate) offer: bool,
    /// A final response was sent (or the endpoint sent 487).
    pub(crate) final_sent: bool,
}

/// An INVITE Tandem sent (leg B, or either leg of an originated call).
#[derive(Debug)]
pub(crate) struct Outgoing {
    /// Its client transaction (replaced by a digest retry).
    pub(crate) tx: ClientTxId,
    /// A provisional response arrived: CANCEL is allowed (§9.1).
    pub(crate) provisional: bool,
    /// CANCEL as soon as the first provisional response arrives.
    pub(crate) cancel_pending: bool,
    /// The INVITE has its final response (or timed out).
    pub(crate) done: bool,
    /// The 2xx was ACKed (CSeq): retransmissions get the same ACK (§13.2.2.4).
    pub(crate) acked: Option<u32>,
    /// The 2xx (CSeq) waits for its ACK: its answer comes from the other leg.
    pub(crate) ack_pending: Option<u32>,
    /// The offer that 2xx carried, for a rejecting answer if the other leg never answers
    /// (RFC 3264 §6).
    pub(crate) offer: Option<Bytes>,
    /// The dialog of the first 2xx: the leg's dialog.
    pub(crate) dialog: Option<DialogId>,
    /// Dialogs of other forks' 2xx, ACKed and ended with BYE (§13.2.2.4).
    pub(crate) forks: Vec<DialogId>,
    /// Where the INVITE went first (for an ACK once the dialog is gone).
    pub(crate) flow: Flow,
    /// What a digest retry needs; dropped once the INVITE is done.
    pub(crate) auth: Option<Box<AuthRetry>>,
    /// Targets learnt from 3xx responses (none until the first one).
    pub(crate) redirects: Option<Box<Redirects>>,
}

/// The targets of 3xx responses to a leg's INVITE (RFC 3261 §8.1.3.4).
#[derive(Debug, Default)]
pub(crate) struct Redirects {
    /// Still to try, in q order.
    targets: VecDeque<(Uri, Flow)>,
    /// Every target sent to (Request-URI and address), the first INVITE's included.
    tried: Vec<(String, SocketAddr)>,
    /// Redirected INVITEs sent.
    sent: u8,
}

/// What a digest retry of an INVITE needs.
#[derive(Debug)]
pub(crate) struct AuthRetry {
    credentials: Credentials,
    targets: Vec<Flow>,
    retries: u8,
}

impl Outgoing {
    /// A leg whose INVITE was just sent in `tx` with `settings`.
    pub(crate) fn new(tx: ClientTxId, settings: &CallSettings) -> Self {
        Self {
            tx,
            provisional: false,
            cancel_pending: false,
            done: false,
            acked: None,
            ack_pending: None,
            offer: None,
            dialog: None,
            forks: Vec::new(),
            flow: settings.destination,
            auth: settings.credentials.clone().map(|credentials| {
                Box::new(AuthRetry {
                    credentials,
                    targets: targets(settings),
                    retries: 0,
                })
            }),
            redirects: None,
        }
    }

    /// The INVITE is over: forget what only a retry needed.
    pub(crate) fn finish(&mut self) {
        self.done = true;
        self.auth = None;
        self.redirects = None;
    }

    /// Adds the targets of 3xx `r` (RFC 3261 §8.1.3.4): its Contacts that are `sip:` URIs
    /// with an IP address (Tandem does no DNS here) on the leg's transport, highest `q`
    /// first, without `maddr`, and not tried yet. Others are skipped.
    pub(crate) fn add_redirect_targets(&mut self, ep: &Endpoint, r: &Message) {
        let current = ep
            .client_request(self.tx)
            .and_then(|m| m.request_line().map(|l| l.uri.to_owned()));
        let flow = self.flow;
        let red = self.redirects.get_or_insert_with(Box::default);
        if red.tried.is_empty()
            && let Some(uri) = current
        {
            red.tried.push((uri, flow.remote));
        }
        let mut found: Vec<(u16, Uri, Flow)> = Vec::new();
        for contact in r.typed_all::<Contact<'_>>().unwrap_or_default() {
            let Some(addr) = contact.addr() else {
                continue;
            };
            let Some(target) = redirect_flow(&addr.uri, flow) else {
                continue;
            };
            let q = contact.q().map_or(1000, parse_q);
            let key = (addr.uri.to_string(), target.remote);
            let known = red.tried.contains(&key)
                || red
                    .targets
                    .iter()
                    .any(|(u, f)| u.to_string() == key.0 && f.remote == key.1);
            if !known {
                found.push((q, addr.uri.clone(), target));
            }
        }
        // Stable: equal q keep the 3xx's order.
        found.sort_by_key(|t| std::cmp::Reverse(t.0));
        red.targets
            .extend(found.into_iter().map(|(_, uri, flow)| (uri, flow)));
    }

    /// Whether a redirect target is left to try.
    pub(crate) fn has_redirect_target(&self) -> bool {
        self.redirects
            .as_ref()
            .is_some_and(|r| !r.targets.is_empty() && r.sent < MAX_REDIRECTS)
    }

    /// Sends the INVITE again to the next redirect target: the request as last sent
    /// without its Via and credentials, Request-URI the target, CSeq + 1 (same offer,
    /// Call-ID and tags). Returns the new transaction; `None` when no target is left or
    /// none can be sent to.
    pub(crate) fn next_redirect(&mut self, ep: &mut Endpoint, now: Instant) -> Option<ClientTxId> {
        let mut request = ep.client_request(self.tx)?.clone();
        let via = request.headers().position(|h| h.is(&HeaderName::Via))?;
        request.remove_header_at(via).ok()?;
        let seq = request.typed::<CSeq>().ok().flatten()?.seq.wrapping_add(1);
        request
            .replace_header(&HeaderName::CSeq, &format!("{seq} INVITE"))
            .ok()?;
        request.remove_headers(&HeaderName::Authorization);
        request.remove_headers(&HeaderName::ProxyAuthorization);
        let red = self.redirects.as_mut()?;
        while red.sent < MAX_REDIRECTS {
            let (uri, flow) = red.targets.pop_front()?;
            red.tried.push((uri.to_string(), flow.remote));
            if request.set_request_uri(&uri).is_err() {
                continue;
            }
            red.sent += 1;
            let Ok(tx) = ep.send_request(now, request.clone(), flow) else {
                continue;
            };
            self.tx = tx;
            self.flow = flow;
            self.provisional = false;
            if let Some(auth) = self.auth.as_mut() {
                // A challenge now comes from the new target.
                auth.targets = vec![flow];
                auth.retries = 0;
            }
            return Some(tx);
        }
        None
    }

    /// Re-sends the INVITE answering the challenge of `response` (a 401 or 407) with the
    /// leg's credentials (RFC 3261 §22.2): the request as last sent without its Via, with
    /// CSeq + 1 (§8.1.3.5) and an `Authorization` or `Proxy-Authorization` (replacing an
    /// earlier one). Returns the new transaction, or `None` when the challenge is final (no
    /// credentials, no matching realm, retries exhausted, nothing sendable).
    pub(crate) fn retry_auth(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        digest: &mut DigestClient,
        response: &Message,
    ) -> Option<ClientTxId> {
        let kind = match response.status()? {
            401 => AuthKind::Www,
            407 => AuthKind::Proxy,
            _ => return None,
        };
        let auth = self
            .auth
            .as_mut()
            .filter(|a| a.retries < MAX_AUTH_RETRIES)?;
        let challenges: Vec<String> = response
            .values(&kind.challenge_header())
            .map(relay::unfold)
            .filter(|c| realm_matches(c, auth.credentials.realm.as_deref()))
            .collect();
        let challenge = DigestClient::select(&challenges)?;
        let mut request = ep.client_request(self.tx)?.clone();
        let via = request.headers().position(|h| h.is(&HeaderName::Via))?;
        request.remove_header_at(via).ok()?;
        let seq = request.typed::<CSeq>().ok().flatten()?.seq.wrapping_add(1);
        request
            .replace_header(&HeaderName::CSeq, &format!("{seq} INVITE"))
            .ok()?;
        let uri = request.request_line()?.uri.to_owned();
        let value = digest
            .authorize(
                challenge,
                Method::Invite.as_str(),
                &uri,
                &auth.credentials.username,
                &auth.credentials.password,
            )
            .ok()?;
        request.remove_headers(&kind.credentials_header());
        request
            .push_header(&kind.credentials_header(), &value)
            .ok()?;
        let tx = send(ep, now, request, &auth.targets).ok()?;
        auth.retries += 1;
        self.tx = tx;
        self.provisional = false;
        Some(tx)
    }
}

/// What a 2xx to an outgoing INVITE is, once [`Outgoing::on_2xx`] has seen it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TwoXx {
    /// The leg's first 2xx, in dialog `0`: the caller handles it.
    First(DialogId),
    /// A retransmission, ACKed again if it was ACKed (§13.2.2.4); nothing else to do.
    Absorbed,
    /// Another fork's 2xx, ACKed: end dialog `0` with BYE (§13.2.2.4).
    Fork(DialogId),
    /// A 2xx naming no dialog (no To tag).
    NoDialog,
}

impl Outgoing {
    /// Sorts a 2xx (dialog `d` per the endpoint, INVITE CSeq `cseq`) and ACKs the ones only
    /// an ACK answers: a retransmission of an ACKed 2xx gets the same ACK again (the
    /// endpoint resends it; once the dialog is gone, a new one is built, §13.2.2.4), a fork's
    /// 2xx gets its ACK before the caller ends it.
    pub(crate) fn on_2xx(
        &mut self,
        ep: &mut Endpoint,
        d: Option<DialogId>,
        cseq: u32,
        r: &Message,
    ) -> TwoXx {
        self.finish();
        match (self.dialog, d) {
            (None, Some(d)) if !self.forks.contains(&d) => {
                self.dialog = Some(d);
                TwoXx::First(d)
            }
            (_, Some(d)) if self.dialog == Some(d) || self.forks.contains(&d) => {
                if self.acked.is_some() || self.forks.contains(&d) {
                    let _ = ep.ack_2xx(d, cseq, None);
                }
                TwoXx::Absorbed
            }
            (_, Some(d)) => {
                let _ = ep.ack_2xx(d, cseq, None);
                self.forks.push(d);
                TwoXx::Fork(d)
            }
            (None, None) if self.forks.is_empty() => TwoXx::NoDialog,
            (_, None) => {
                // The dialog ended already (BYE answered): the ACK was lost, send it again.
                if let Some(ack) = ack_for(r) {
                    let _ = ep.send_ack(ack, self.flow);
                }
                TwoXx::Absorbed
            }
        }
    }
}

/// An ACK for the 2xx `r` built from the response alone (§13.2.2.4), for a dialog the
/// endpoint has forgotten: Request-URI the Contact, Route the Record-Route reversed,
/// From, To, Call-ID and the CSeq number copied.
fn ack_for(r: &Message) -> Option<Message> {
    let target = match r.typed_first::<Contact<'_>>().ok().flatten() {
        Some(c) => c.addr()?.uri.clone(),
        None => r.typed::<ToHeader<'_>>().ok()??.0.uri,
    };
    let mut ack = Message::new_request(&Method::Ack, &target).ok()?;
    let routes: Vec<String> = r
        .values(&HeaderName::RecordRoute)
        .map(relay::unfold)
        .collect();
    for route in routes.iter().rev() {
        ack.push_header(&HeaderName::Route, route).ok()?;
    }
    for name in [HeaderName::From, HeaderName::To, HeaderName::CallId] {
        let value = relay::unfold(r.value(&name)?);
        ack.push_header(&name, &value).ok()?;
    }
    let seq = r.typed::<CSeq>().ok()??.seq;
    ack.push_header(&HeaderName::CSeq, &format!("{seq} ACK"))
        .ok()?;
    ack.push_header(&HeaderName::MaxForwards, "70").ok()?;
    Some(ack)
}

/// A Contact's `q` (RFC 3261 §20.10: 0 to 1, three decimals) in thousandths.
fn parse_q(q: &str) -> u16 {
    let (int, frac) = q.split_once('.').unwrap_or((q, ""));
    let frac: String = frac.chars().chain("000".chars()).take(3).collect();
    match (int.trim(), frac.parse::<u16>()) {
        ("1", _) => 1000,
        ("0", Ok(f)) => f.min(999),
        _ => 0,
    }
}

/// Where a redirect target `uri` is sent from the leg's flow `via`: a `sip:` URI whose
/// host is an IP address, on the leg's own transport (`transport` parameter, UDP when
/// absent), without `maddr`. `None` for any other target.
fn redirect_flow(uri: &Uri, via: Flow) -> Option<Flow> {
    let sip = uri.as_sip()?;
    if uri.scheme() != "sip" || sip.param("maddr").is_some() {
        return None;
    }
    let ip = sip.host.ip()?;
    let transport = match sip.param("transport") {
        Some(Some(t)) => t,
        Some(None) => return None,
        None => "udp",
    };
    if !transport.eq_ignore_ascii_case(via.transport.via_name())
        || ip.is_ipv4() != via.local.is_ipv4()
    {
        return None;
    }
    Some(Flow {
        remote: SocketAddr::new(ip, sip.port.unwrap_or(5060)),
        ..via
    })
}

/// Whether `challenge` is a digest challenge for `realm` (`None`: any).
fn realm_matches(challenge: &str, realm: Option<&str>) -> bool {
    let Ok(c) = Challenge::parse(challenge) else {
        return false;
    };
    match realm {
        None => true,
        Some(r) => c.param("realm").is_some_and(|v| v == r),
    }
}

/// The destination then the fallbacks of `settings`.
fn targets(settings: &CallSettings) -> Vec<Flow> {
    std::iter::once(settings.destination)
        .chain(settings.fallbacks.iter().copied())
        .collect()
}

/// Sends `m` to the first of `targets`, failing over to the others (RFC 3263 §4.3).
fn send(
    ep: &mut Endpoint,
    now: Instant,
    m: Message,
    targets: &[Flow],
) -> Result<ClientTxId, CallError> {
    match targets {
        [] => Err(CallError::Send(tandem_sip_core::SendError::NoTarget)),
        [one] => Ok(ep.send_request(now, m, *one)?),
        many => Ok(ep.send_request_to_targets(now, m, many.to_vec())?),
    }
}

/// A new initial INVITE for an outgoing leg (RFC 3261 §8.1.1, §12.1.2: new Call-ID, From
/// tag and CSeq; the endpoint adds Via and Contact): `from` (a name-addr without tag), To
/// the settings' target, `Max-Forwards: hops` (RFC 7332 §3), the allow-listed headers of
/// `copy_from`, the settings' extra headers, the session timer (RFC 4028 §7.1) and `body`.
/// Sends it and returns its transaction and the INVITE's Call-ID.
pub(crate) fn send_invite(
    ep: &mut Endpoint,
    now: Instant,
    settings: &CallSettings,
    from: &str,
    hops: u32,
    copy_from: Option<&Message>,
    body: Body,
) -> Result<(ClientTxId, String), CallError> {
    let bad = |e: tandem_sip_msg::EditError| CallError::BadHeader(e.to_string());
    let mut m = Message::new_request(&Method::Invite, &settings.target).map_err(bad)?;
    let cseq = ep.initial_cseq();
    let call_id = ep.new_call_id();
    let headers = [
        (HeaderName::From, format!("{from};tag={}", ep.new_tag())),
        (HeaderName::To, format!("<{}>", settings.target)),
        (HeaderName::CallId, call_id.clone()),
        (HeaderName::CSeq, format!("{cseq} INVITE")),
        (HeaderName::MaxForwards, hops.to_string()),
    ];
    for (name, value) in &headers {
        m.push_header(name, value).map_err(bad)?;
    }
    if let Some(source) = copy_from {
        relay::copy_allowed(source, &mut m, &settings.pass_through).map_err(bad)?;
    }
    for (name, value) in &settings.extra_headers {
        m.push_header(name, value).map_err(bad)?;
    }
    if let Some(identity) = &settings.asserted_identity {
        // RFC 3325 §9.1: one identity per URI scheme; Tandem asserts exactly this one.
        m.replace_header(&HeaderName::PAssertedIdentity, identity)
            .map_err(bad)?;
    }
    if let Some(interval) = settings.session_expires {
        // RFC 4028 §4: Min-SE is at least 90 s, so is any interval asked for.
        let secs = interval.as_secs().max(90);
        m.replace_header(
            &HeaderName::SessionExpires,
            &format!("{secs};refresher=uac"),
        )
        .map_err(bad)?;
        if !relay::lists_token(&m, &HeaderName::Supported, "timer") {
            m.push_header(&HeaderName::Supported, "timer")
                .map_err(bad)?;
        }
    }
    relay::set_body(&mut m, body).map_err(bad)?;
    let tx = send(ep, now, m, &targets(settings))?;
    Ok((tx, call_id))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ack_rebuilt_from_a_2xx_follows_its_route_set() {
        let raw = "SIP/2.0 200 OK\r\n\
            Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\n\
            Record-Route: <sip:p1.example.com;lr>\r\n\
            Record-Route: <sip:p2.example.com;lr>\r\n\
            From: <sip:a@example.com>;tag=a1\r\n\
            To: <sip:b@example.com>;tag=b1\r\n\
            Call-ID: c1\r\n\
            CSeq: 42 INVITE\r\n\
            Contact: <sip:b@192.0.2.2:5062>\r\n\
            Content-Length: 0\r\n\r\n";
        let r = Message::parse(Bytes::from_static(raw.as_bytes()), &Default::default()).unwrap();
        let ack = ack_for(&r).unwrap();
        assert_eq!(ack.method(), Some(Method::Ack));
        assert_eq!(ack.request_line().unwrap().uri, "sip:b@192.0.2.2:5062");
        let routes: Vec<String> = ack.values(&HeaderName::Route).map(relay::unfold).collect();
        assert_eq!(
            routes,
            ["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"],
            "§12.1.2: the route set is the Record-Route reversed"
        );
        assert_eq!(
            relay::unfold(ack.value(&HeaderName::CSeq).unwrap()),
            "42 ACK"
        );
        assert_eq!(
            relay::unfold(ack.value(&HeaderName::To).unwrap()),
            "<sip:b@example.com>;tag=b1"
        );
        assert!(
            ack.value(&HeaderName::Via).is_none(),
            "the endpoint adds the Via"
        );
    }

    #[test]
    fn q_values() {
        assert_eq!(parse_q("1"), 1000);
        assert_eq!(parse_q("1.0"), 1000);
        assert_eq!(parse_q("0.9"), 900);
        assert_eq!(parse_q("0.05"), 50);
        assert_eq!(parse_q("0.125"), 125);
        assert_eq!(parse_q("0"), 0);
        assert_eq!(parse_q("junk"), 0);
    }

    #[test]
    fn redirect_targets_are_ip_literal_sip_uris_on_the_legs_transport() {
        let via = Flow {
            transport: tandem_sip_core::Transport::Udp,
            local: "127.0.0.3:5060".parse().unwrap(),
            remote: "127.0.0.2:5062".parse().unwrap(),
        };
        let flow = |u: &str| redirect_flow(&Uri::parse(u).unwrap(), via).map(|f| f.remote);
        assert_eq!(
            flow("sip:a@192.0.2.1"),
            Some("192.0.2.1:5060".parse().unwrap())
        );
        assert_eq!(
            flow("sip:a@192.0.2.1:5080;transport=udp"),
            Some("192.0.2.1:5080".parse().unwrap())
        );
        assert_eq!(flow("sip:a@192.0.2.1;transport=tcp"), None);
        assert_eq!(flow("sip:a@example.com"), None);
        assert_eq!(flow("sips:a@192.0.2.1"), None);
        assert_eq!(flow("sip:a@192.0.2.1;maddr=192.0.2.9"), None);
        assert_eq!(
            flow("sip:a@[2001:db8::1]"),
            None,
            "IPv6 from an IPv4 socket"
        );
        assert_eq!(flow("tel:+15551234"), None);
    }

    #[test]
    fn realm_filter() {
        let c = "Digest realm=\"x.test\", nonce=\"n\", algorithm=MD5";
        assert!(realm_matches(c, None));
        assert!(realm_matches(c, Some("x.test")));
        assert!(!realm_matches(c, Some("y.test")));
        assert!(!realm_matches("Basic realm=\"x.test\"", Some("y.test")));
    }

    #[test]
    fn credentials_are_not_printed() {
        let c = Credentials::new("alice", "secret").for_realm("x.test");
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("secret") && !shown.contains("alice"),
            "{shown}"
        );
        assert!(shown.contains("x.test"));
    }
}
