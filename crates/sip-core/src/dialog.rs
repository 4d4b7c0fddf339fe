//! Dialog state (RFC 3261 §12) and the pure message building of a dialog's requests
//! (§12.2.1.1, §13.2.2.4).
//!
//! The [`Endpoint`](crate::Endpoint) creates, matches, updates and removes dialogs (see
//! `endpoint/dialogs.rs`); this module holds what a dialog *is* and the functions that turn
//! it into headers, free of any endpoint state so they are unit-tested on their own.
//!
//! A dialog is removed from the endpoint the moment it terminates: there is no lingering
//! `Terminated` entry. [`DialogState::Terminated`] is what
//! [`Endpoint::dialog_state`](crate::Endpoint::dialog_state) answers for an id whose dialog is
//! gone.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tandem_sip_msg::headers::{CallId, Contact, FromHeader, NameAddr, RecordRoute, ToHeader};
use tandem_sip_msg::{EditError, HeaderName, Message, Method, Scheme, Uri};

use crate::slab::SlotId;
use crate::transaction::Deadlines;
use crate::transport::Flow;

/// Opaque handle of a dialog (slab index + generation: a stale id never reaches a new dialog).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DialogId(pub(crate) SlotId);

/// Which side of the dialog-creating INVITE Tandem was (§12.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DialogRole {
    /// Tandem sent the INVITE (and generated the Call-ID, which matters for §14.1 glare).
    Uac,
    /// Tandem received the INVITE.
    Uas,
}

/// Dialog states (§12): created early by a provisional response with a To tag, confirmed by
/// a 2xx, terminated by BYE, a non-2xx final, 481/408 or a timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DialogState {
    /// Created by a 101-199 response with a To tag.
    Early,
    /// Created or confirmed by a 2xx.
    Confirmed,
    /// Gone: the endpoint no longer holds it (every id of a removed dialog reads this way).
    Terminated,
}

/// One dialog's state (§12.1.1, §12.1.2). Read it with
/// [`Endpoint::dialog`](crate::Endpoint::dialog); only the endpoint changes it.
#[derive(Debug, Clone)]
pub struct Dialog {
    pub(crate) call_id: Arc<str>,
    pub(crate) local_tag: Arc<str>,
    pub(crate) remote_tag: Arc<str>,
    pub(crate) role: DialogRole,
    pub(crate) state: DialogState,
    pub(crate) local_uri: String,
    pub(crate) remote_uri: String,
    pub(crate) local_seq: Option<u32>,
    pub(crate) remote_seq: Option<u32>,
    pub(crate) remote_target: Uri,
    pub(crate) route_set: Vec<String>,
    pub(crate) secure: bool,
    pub(crate) flow: Flow,
    /// The Contact value Tandem advertises in this dialog (for target-refresh requests).
    pub(crate) local_contact: String,
    /// Our INVITE in progress in this dialog (client transaction), for §14.1 glare.
    pub(crate) invite_out: Option<SlotId>,
    /// Their INVITE still awaiting our final response (server transaction), §14.2.
    pub(crate) invite_in: Option<SlotId>,
    /// CSeq of an INVITE we answered 2xx whose ACK has not arrived yet (§14.2).
    pub(crate) unacked_2xx: Option<u32>,
    /// The last ACK for a 2xx sent in this dialog, resent verbatim for the same CSeq (boxed,
    /// as the other rarely used parts: a held call keeps two dialogs).
    pub(crate) ack: Option<Box<CachedAck>>,
    /// RSeq of the last reliable provisional response PRACKed in this dialog (RFC 3262 §4).
    pub(crate) remote_rseq: Option<u32>,
    /// The negotiated session timer (RFC 4028), if any.
    pub(crate) session: Option<Session>,
    /// Whether the peer listed UPDATE in `Allow` (session refreshes then use it).
    pub(crate) peer_allows_update: bool,
    /// The last session description Tandem sent in the dialog (content type, body): the
    /// body of a refreshing re-INVITE.
    pub(crate) local_body: Option<Box<(String, Bytes)>>,
    /// Session timer deadlines (`None` until one is armed).
    pub(crate) deadlines: Option<Box<Deadlines>>,
    /// Created by a REFER (RFC 3515 §2.4.4): the dialog of the implicit subscription alone,
    /// which ends with the NOTIFY saying `terminated`.
    pub(crate) subscription_only: bool,
    /// How many REFERs arrived in this dialog (the `id` of `Event: refer`, RFC 3515 §2.4.6).
    pub(crate) refers_in: u32,
    /// CSeq number of the last REFER received.
    pub(crate) refer_cseq: Option<u32>,
    /// The dialog-creating request came from an address other than its top Via's sent-by
    /// (the endpoint added `received`/`rport`, RFC 3581 §4): the peer does not know its
    /// public address. See [`Dialog::contact_unreachable`].
    pub(crate) behind_nat: bool,
    /// A reliable provisional response carried an offer (RFC 3262 §5): its RSeq and the
    /// INVITE's CSeq, until the TU's answer goes out in the PRACK.
    pub(crate) offer_in_1xx: Option<(u32, u32)>,
    /// A reliable provisional response with a body arrived in this dialog: offer and answer
    /// (or the answer to the INVITE's offer) are done, so later bodies are no new offers.
    pub(crate) early_sdp: bool,
}

/// A negotiated session timer (RFC 4028 §7.2, §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Session {
    pub(crate) interval: Duration,
    pub(crate) refresher: SessionRefresher,
}

/// Which side refreshes the session (RFC 4028 `refresher`, seen from Tandem).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionRefresher {
    /// Tandem sends the refreshes.
    Local,
    /// The peer does; Tandem sends BYE if they stop (RFC 4028 §10).
    Remote,
}

/// An ACK for a 2xx as sent (same branch on every retransmission of the 2xx).
#[derive(Debug, Clone)]
pub(crate) struct CachedAck {
    pub(crate) cseq: u32,
    pub(crate) bytes: Bytes,
    pub(crate) flow: Flow,
}

impl Dialog {
    /// Call-ID (first part of the dialog id, §12).
    pub fn call_id(&self) -> &str {
        &self.call_id
    }
    /// Tandem's tag.
    pub fn local_tag(&self) -> &str {
        &self.local_tag
    }
    /// The peer's tag.
    pub fn remote_tag(&self) -> &str {
        &self.remote_tag
    }
    /// Which side of the creating INVITE Tandem was.
    pub fn role(&self) -> DialogRole {
        self.role
    }
    /// Early or confirmed (a held dialog is never terminated).
    pub fn state(&self) -> DialogState {
        self.state
    }
    /// Local URI: the From (UAC) or To (UAS) value of the creating INVITE, without its tag.
    pub fn local_uri(&self) -> &str {
        &self.local_uri
    }
    /// Remote URI: the other of From/To, without its tag.
    pub fn remote_uri(&self) -> &str {
        &self.remote_uri
    }
    /// CSeq number of the last request Tandem sent in the dialog (`None` until the UAS sends
    /// its first, §12.1.1).
    pub fn local_seq(&self) -> Option<u32> {
        self.local_seq
    }
    /// CSeq number of the last request received in the dialog (`None` on the UAC side until
    /// the peer sends one, §12.1.2).
    pub fn remote_seq(&self) -> Option<u32> {
        self.remote_seq
    }
    /// Where requests go: the peer's latest Contact (§12.2.1.2, target refresh).
    pub fn remote_target(&self) -> &Uri {
        &self.remote_target
    }
    /// Route set, in the order requests carry it (§12.1.1: as received by the UAS; §12.1.2:
    /// reversed by the UAC), one name-addr value each.
    pub fn route_set(&self) -> &[String] {
        &self.route_set
    }
    /// §12.1.1: the creating INVITE's Request-URI was a SIPS URI. The endpoint records the
    /// scheme; the dialog's requests keep the transport of its flow (TLS when it was made so).
    pub fn secure(&self) -> bool {
        self.secure
    }
    /// The flow the dialog was created on; requests go there unless the next hop is an IP
    /// literal (see [`Endpoint::send_in_dialog`](crate::Endpoint::send_in_dialog)).
    pub fn flow(&self) -> Flow {
        self.flow
    }
    /// The Contact Tandem advertises in this dialog.
    pub fn local_contact(&self) -> &str {
        &self.local_contact
    }
    /// Whether requests of this dialog go to the address of [`Self::flow`] instead of the
    /// peer's Contact (the "flow token" behaviour of RFC 5626 §5.3, for peers behind NAT).
    ///
    /// True when the route set is empty (no proxy stays on the path), the Contact is an IP
    /// literal other than the flow's peer address (the IP, on stream transports, whose
    /// source ports are ephemeral), and either the dialog-creating request came from an
    /// address other than its Via's sent-by (RFC 3581: the peer does not know its public
    /// address), or the Contact is a private-use address (RFC 1918, RFC 6598, RFC 4193,
    /// link-local) while the flow's peer is not, so nobody outside that network can reach
    /// it. Evaluated at each request, so a target refresh to a reachable Contact ends it. A
    /// Contact differing for other reasons (a proxy that forwarded the INVITE without
    /// Record-Route, a UA answering from another address) is honoured as §12.2.1.1 says.
    pub fn contact_unreachable(&self) -> bool {
        if !self.route_set.is_empty() {
            return false;
        }
        let Uri::Sip(s) = &self.remote_target else {
            return false;
        };
        let Some(ip) = s.host.ip() else {
            return false;
        };
        let remote = self.flow.remote;
        let default = if s.scheme == Scheme::Sips { 5061 } else { 5060 };
        let same = if self.flow.transport.is_reliable() {
            ip == remote.ip()
        } else {
            SocketAddr::new(ip, s.port.unwrap_or(default)) == remote
        };
        !same && (self.behind_nat || (is_private(ip) && !is_private(remote.ip())))
    }
    /// The negotiated session interval (RFC 4028 `Session-Expires`), `None` without a session
    /// timer.
    pub fn session_interval(&self) -> Option<Duration> {
        self.session.map(|s| s.interval)
    }
    /// Who refreshes the session, `None` without a session timer.
    pub fn session_refresher(&self) -> Option<SessionRefresher> {
        self.session.map(|s| s.refresher)
    }
}

/// What identifies a dialog (§12): Call-ID, local tag, remote tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct DialogKey {
    pub(crate) call_id: Arc<str>,
    pub(crate) local_tag: Arc<str>,
    pub(crate) remote_tag: Arc<str>,
}

impl DialogKey {
    /// The dialog a received request belongs to (§12.2.2): local tag = To tag, remote = From.
    pub(crate) fn of_incoming_request(m: &Message) -> Option<Self> {
        let (call_id, from_tag, to_tag) = ids(m)?;
        Some(Self {
            call_id,
            local_tag: to_tag?,
            remote_tag: from_tag?,
        })
    }

    /// The dialog a received response (or a request Tandem sends) belongs to: local tag =
    /// From tag, remote = To tag.
    pub(crate) fn of_outgoing(m: &Message) -> Option<Self> {
        let (call_id, from_tag, to_tag) = ids(m)?;
        Some(Self {
            call_id,
            local_tag: from_tag?,
            remote_tag: to_tag?,
        })
    }
}

/// Call-ID, From tag, To tag.
type Ids = (Arc<str>, Option<Arc<str>>, Option<Arc<str>>);

/// Call-ID, From tag, To tag.
fn ids(m: &Message) -> Option<Ids> {
    let call_id = m.typed::<CallId<'_>>().ok()??.0.into();
    let from = m.typed::<FromHeader<'_>>().ok()??;
    let to = m.typed::<ToHeader<'_>>().ok()??;
    Some((
        call_id,
        from.0.tag().map(Arc::from),
        to.0.tag().map(Arc::from),
    ))
}

/// Methods whose 2xx refreshes the remote target (§12.2, RFC 3311 §5.1) and whose requests
/// carry Tandem's Contact.
pub(crate) fn is_target_refresh(method: &Method) -> bool {
    matches!(method, Method::Invite | Method::Update)
}

/// A name-addr value rebuilt in the `<URI>` form, without the `tag` parameter: the local or
/// remote URI of a dialog (§12.1.1 keeps the display name and other parameters).
pub(crate) fn without_tag(na: &NameAddr<'_>) -> String {
    let mut s = String::new();
    if let Some(dn) = na.display_name {
        s.push_str(dn);
        s.push(' ');
    }
    s.push('<');
    s.push_str(na.uri_text);
    s.push('>');
    for p in na
        .params
        .iter()
        .filter(|p| !p.name.eq_ignore_ascii_case("tag"))
    {
        s.push(';');
        s.push_str(p.name);
        if let Some(v) = p.value {
            s.push('=');
            s.push_str(v);
        }
    }
    s
}

/// The remote target a message names: its first Contact's URI.
pub(crate) fn contact_uri(m: &Message) -> Option<Uri> {
    let c = m.typed_first::<Contact<'_>>().ok()??;
    c.addr().map(|a| a.uri.clone())
}

/// The Record-Route values of a message, top first, one name-addr each.
pub(crate) fn record_routes(m: &Message) -> Vec<String> {
    m.typed_all::<RecordRoute<'_>>()
        .map(|rr| rr.iter().map(|r| without_tag(&r.0)).collect())
        .unwrap_or_default()
}

/// Whether a URI names a secure (SIPS) resource.
pub(crate) fn is_sips(uri: &Uri) -> bool {
    matches!(uri, Uri::Sip(s) if s.scheme == Scheme::Sips)
}

/// The Request-URI, Route values and next-hop URI of a request in `d` (§12.2.1.1).
///
/// Loose routing (first route has `lr`, or no route set): Request-URI = remote target,
/// Route = the route set. Strict routing: Request-URI = the first route's URI, Route = the
/// rest of the route set followed by the remote target. The next hop is the first route, or
/// the remote target when the route set is empty.
pub(crate) fn routing(d: &Dialog) -> (Uri, Vec<String>, Uri) {
    let first = d.route_set.first().and_then(|r| {
        NameAddr::parse(r)
            .ok()
            .map(|na| na.uri)
            .filter(|u| matches!(u, Uri::Sip(_)))
    });
    match first {
        None => (d.remote_target.clone(), Vec::new(), d.remote_target.clone()),
        Some(Uri::Sip(s)) if !s.is_loose_route() => {
            let mut uri = s;
            uri.headers.clear();
            let mut routes: Vec<String> = d.route_set.iter().skip(1).cloned().collect();
            routes.push(format!("<{}>", d.remote_target));
            let uri = Uri::Sip(uri);
            (uri.clone(), routes, uri)
        }
        Some(hop) => (d.remote_target.clone(), d.route_set.clone(), hop),
    }
}

/// Where a request whose next hop is `hop` goes: an IP-literal SIP URI names its address
/// (port 5060, or 5061 for SIPS, when absent: RFC 3263 §4.2); a host name keeps the dialog's
/// flow, since name resolution belongs to the runtime.
pub(crate) fn next_hop_flow(base: Flow, hop: &Uri) -> Flow {
    if let Uri::Sip(s) = hop
        && let Some(ip) = s.host.ip()
    {
        let default = if s.scheme == Scheme::Sips { 5061 } else { 5060 };
        return Flow {
            remote: SocketAddr::new(ip, s.port.unwrap_or(default)),
            ..base
        };
    }
    base
}

/// Where a request of `d` whose next hop is `hop` goes: the dialog's own flow when the
/// peer's Contact is unreachable ([`Dialog::contact_unreachable`], RFC 5626 §5.3), else as
/// [`next_hop_flow`] says.
pub(crate) fn dialog_hop_flow(d: &Dialog, hop: &Uri) -> Flow {
    if d.contact_unreachable() {
        return d.flow;
    }
    next_hop_flow(d.flow, hop)
}

/// Addresses only their own network can reach: RFC 1918 and RFC 6598 (shared CGN space)
/// IPv4, IPv4 link-local, IPv6 unique-local (RFC 4193) and link-local.
pub(crate) fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            let [x, y, ..] = a.octets();
            a.is_private() || a.is_link_local() || (x == 100 && (64..128).contains(&y))
        }
        IpAddr::V6(a) => {
            let first = a.segments()[0];
            (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80
        }
    }
}

/// RFC 3581 §4 / RFC 3261 §18.2.1: whether a request arrived from an address other than its
/// top Via's sent-by (the host; and the port too on UDP, where `rport` names the source
/// port), i.e. from behind a NAT. `via` is the top Via as received.
pub(crate) fn via_differs_from_source(m: &Message, flow: Flow) -> bool {
    let Some(via) = m
        .typed_first::<tandem_sip_msg::headers::Via<'_>>()
        .ok()
        .flatten()
    else {
        return false;
    };
    let Some(ip) = via.host.ip() else {
        // A host name: only its resolution could tell; assume the peer knows its address.
        return false;
    };
    if ip != flow.remote.ip() {
        return true;
    }
    flow.transport == crate::Transport::Udp && via.port.unwrap_or(5060) != flow.remote.port()
}

/// Rewrites `m` into a request of dialog `d` with CSeq `cseq` (§12.2.1.1): Request-URI and
/// Route from [`routing`], From/To with the dialog's tags, Call-ID, CSeq; Tandem's Contact for
/// target-refresh methods when the message has none. Headers the caller added stay, after
/// the dialog's. Returns the next-hop URI.
pub(crate) fn apply(
    d: &Dialog,
    m: &mut Message,
    method: &Method,
    cseq: u32,
) -> Result<Uri, EditError> {
    let (uri, routes, hop) = routing(d);
    m.set_request_uri(&uri)?;
    for name in [
        HeaderName::Route,
        HeaderName::From,
        HeaderName::To,
        HeaderName::CallId,
        HeaderName::CSeq,
    ] {
        m.remove_headers(&name);
    }
    let mut lines: Vec<(HeaderName, String)> =
        routes.into_iter().map(|r| (HeaderName::Route, r)).collect();
    lines.push((
        HeaderName::From,
        format!("{};tag={}", d.local_uri, d.local_tag),
    ));
    lines.push((
        HeaderName::To,
        format!("{};tag={}", d.remote_uri, d.remote_tag),
    ));
    lines.push((HeaderName::CallId, d.call_id.to_string()));
    lines.push((HeaderName::CSeq, format!("{cseq} {method}")));
    if is_target_refresh(method) && m.value(&HeaderName::Contact).is_none() {
        lines.push((HeaderName::Contact, d.local_contact.clone()));
    }
    for (i, (name, value)) in lines.iter().enumerate() {
        m.insert_header(i, name, value)?;
    }
    Ok(hop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::Transport;

    fn dialog(route_set: &[&str], target: &str) -> Dialog {
        Dialog {
            call_id: "c1".into(),
            local_tag: "lt".into(),
            remote_tag: "rt".into(),
            role: DialogRole::Uac,
            state: DialogState::Confirmed,
            local_uri: "\"A\" <sip:a@x>".into(),
            remote_uri: "<sip:b@y>".into(),
            local_seq: Some(1),
            remote_seq: None,
            remote_target: Uri::parse(target).unwrap(),
            route_set: route_set.iter().map(|s| (*s).to_owned()).collect(),
            secure: false,
            flow: Flow {
                transport: Transport::Udp,
                local: SocketAddr::from(([127, 0, 0, 1], 5060)),
                remote: SocketAddr::from(([127, 0, 0, 9], 5060)),
            },
            local_contact: "<sip:127.0.0.1:5060>".into(),
            invite_out: None,
            invite_in: None,
            unacked_2xx: None,
            ack: None,
            remote_rseq: None,
            session: None,
            peer_allows_update: false,
            local_body: None,
            deadlines: None,
            subscription_only: false,
            refers_in: 0,
            refer_cseq: None,
            behind_nat: false,
            offer_in_1xx: None,
            early_sdp: false,
        }
    }

    fn req(d: &Dialog, method: Method) -> (String, Uri) {
        let mut m = Message::new_request(&method, &d.remote_target).unwrap();
        m.push_header(&HeaderName::new("X-Extra"), "1").unwrap();
        let hop = apply(d, &mut m, &method, 7).unwrap();
        (String::from_utf8_lossy(&m.to_bytes()).into_owned(), hop)
    }

    #[test]
    fn loose_routing_keeps_the_target_and_sends_to_the_first_route() {
        let d = dialog(
            &["<sip:p1.example;lr>", "<sip:p2.example;lr>"],
            "sip:b@192.0.2.4:5070",
        );
        let (text, hop) = req(&d, Method::Bye);
        assert!(
            text.starts_with("BYE sip:b@192.0.2.4:5070 SIP/2.0\r\n"),
            "{text}"
        );
        assert!(text.contains(
            "Route: <sip:p1.example;lr>\r\nRoute: <sip:p2.example;lr>\r\n\
             From: \"A\" <sip:a@x>;tag=lt\r\nTo: <sip:b@y>;tag=rt\r\nCall-ID: c1\r\n\
             CSeq: 7 BYE\r\nX-Extra: 1\r\n"
        ));
        assert!(!text.contains("Contact"), "BYE carries no Contact");
        assert_eq!(hop.to_string(), "sip:p1.example;lr");
    }

    #[test]
    fn strict_routing_puts_the_first_route_in_the_request_uri() {
        // §12.2.1.1: the remote target goes last in Route.
        let d = dialog(
            &["<sip:p1.example>", "<sip:p2.example;lr>"],
            "sip:b@192.0.2.4",
        );
        let (text, hop) = req(&d, Method::Invite);
        assert!(
            text.starts_with("INVITE sip:p1.example SIP/2.0\r\n"),
            "{text}"
        );
        assert!(text.contains("Route: <sip:p2.example;lr>\r\nRoute: <sip:b@192.0.2.4>\r\n"));
        assert!(text.contains("Contact: <sip:127.0.0.1:5060>\r\n"));
        assert_eq!(hop.to_string(), "sip:p1.example");
    }

    #[test]
    fn next_hop_flow_follows_ip_literals_only() {
        let d = dialog(&[], "sip:b@192.0.2.4");
        let (_, hop) = req(&d, Method::Bye);
        assert_eq!(
            next_hop_flow(d.flow, &hop).remote,
            SocketAddr::from(([192, 0, 2, 4], 5060))
        );
        let named = Uri::parse("sip:b@example.com:5080").unwrap();
        assert_eq!(next_hop_flow(d.flow, &named), d.flow);
    }

    #[test]
    fn a_private_contact_seen_from_a_public_flow_is_unreachable() {
        let mut d = dialog(&[], "sip:b@10.0.0.2:5062");
        d.flow.remote = SocketAddr::from(([203, 0, 113, 5], 40_000));
        assert!(d.contact_unreachable());
        let (_, hop) = req(&d, Method::Bye);
        assert_eq!(dialog_hop_flow(&d, &hop), d.flow);
        // A proxy on the route set reaches it.
        d.route_set = vec!["<sip:198.51.100.1;lr>".into()];
        assert!(!d.contact_unreachable());
        // A public Contact is honoured unless the creating request came from behind NAT.
        let mut d = dialog(&[], "sip:b@198.51.100.7");
        d.flow.remote = SocketAddr::from(([203, 0, 113, 5], 40_000));
        assert!(!d.contact_unreachable());
        d.behind_nat = true;
        assert!(d.contact_unreachable());
        // The Contact is the flow's address: nothing to do.
        let mut d = dialog(&[], "sip:b@203.0.113.5:40000");
        d.flow.remote = SocketAddr::from(([203, 0, 113, 5], 40_000));
        d.behind_nat = true;
        assert!(!d.contact_unreachable());
    }

    #[test]
    fn private_ranges() {
        for p in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "169.254.1.1",
            "fd00::1",
            "fe80::1",
        ] {
            assert!(is_private(p.parse().unwrap()), "{p}");
        }
        for p in [
            "203.0.113.5",
            "100.128.0.1",
            "8.8.8.8",
            "2001:db8::1",
            "127.0.0.1",
        ] {
            assert!(!is_private(p.parse().unwrap()), "{p}");
        }
    }

    #[test]
    fn without_tag_keeps_display_name_and_other_params() {
        let na = NameAddr::parse("Bob <sip:b@y;transport=tcp>;tag=9;x=1").unwrap();
        assert_eq!(without_tag(&na), "Bob <sip:b@y;transport=tcp>;x=1");
        let bare = NameAddr::parse("sip:b@y;tag=9").unwrap();
        assert_eq!(without_tag(&bare), "<sip:b@y>");
    }
}
