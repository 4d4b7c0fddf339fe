//! Shared set-up of the back-to-back call scenarios: a caller UA, Tandem (its endpoint
//! driven through a `tandem_call::B2bua` from the node's script) and a callee UA, 20 ms apart.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use tandem_call::{B2bua, CallEvent, CallSettings, EndCause};
use tandem_sip_core::{ClientTxId, DialogId, Endpoint, EndpointConfig, Event, ServerTxId};
use tandem_sip_msg::headers::{CSeq, ToHeader};
use tandem_sip_msg::{HeaderName, Message, Method, Uri};
use tandem_testkit::sip::request;
use tandem_testkit::{LinkConfig, NodeId, World};

pub const CALLER: &str = "127.0.0.1:5061";
pub const TANDEM: &str = "127.0.0.3:5060";
pub const CALLEE: &str = "127.0.0.2:5062";

/// Leg A's Call-ID, From tag and Record-Route: none may reach leg B.
pub const A_CALL_ID: &str = "a-leg-call-id-4711";
pub const A_RR: &str = "<sip:rr-a.invalid;lr>";

pub const A_OFFER: &str = "v=0\r\no=alice 1000 1000 IN IP4 127.0.0.1\r\ns=-\r\n\
    c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\n\
    a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n";
pub const A_HOLD: &str = "v=0\r\no=alice 1000 1001 IN IP4 127.0.0.1\r\ns=-\r\n\
    c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\n\
    a=rtpmap:101 telephone-event/8000\r\na=sendonly\r\n";
pub const B_ANSWER: &str = "v=0\r\no=bob 2000 2000 IN IP4 127.0.0.2\r\ns=-\r\n\
    c=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 50000 RTP/AVP 0 101\r\n\
    a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n";

/// How the callee answers the initial INVITE by itself (the test answers 200 with
/// [`B2bWorld::answer`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Callee {
    /// 180 Ringing.
    Rings,
    /// 486 Busy Here.
    Busy,
    /// Nothing but the endpoint's 100.
    Silent,
}

pub struct B2bWorld {
    pub w: World,
    pub caller: NodeId,
    pub tandem: NodeId,
    pub callee: NodeId,
    pub b2b: Rc<RefCell<B2bua>>,
    pub log: Rc<RefCell<Vec<CallEvent>>>,
}

fn config(seed: u64) -> EndpointConfig {
    let mut c = EndpointConfig {
        seed,
        ..EndpointConfig::default()
    };
    c.allow.extend([Method::Update, Method::Info]);
    c.accept.push("application/dtmf-relay".to_owned());
    c
}

/// The settings of leg B: the callee, `Subject` passed through, one extra header.
pub fn settings(w: &World, tandem: NodeId, callee: NodeId) -> CallSettings {
    let mut s = CallSettings::new(
        w.flow(tandem, callee),
        Uri::parse("sip:bob@127.0.0.2:5062").unwrap(),
    );
    s.pass_through = vec![HeaderName::Subject];
    s.extra_headers = vec![(HeaderName::new("X-Queue"), "sales".to_owned())];
    s
}

pub fn setup(seed: u64, callee: Callee) -> B2bWorld {
    setup_with(seed, callee, |_| {})
}

/// [`setup`] with leg B's settings adjusted by `tune`.
pub fn setup_with(seed: u64, callee: Callee, tune: impl FnOnce(&mut CallSettings)) -> B2bWorld {
    setup_full(seed, callee, tune, |_, _| {})
}

/// [`setup_with`], with each endpoint's configuration adjusted by `tune_config`, given the
/// node's address ([`CALLER`], [`TANDEM`] or [`CALLEE`]).
pub fn setup_full(
    seed: u64,
    callee: Callee,
    tune: impl FnOnce(&mut CallSettings),
    tune_config: impl Fn(&str, &mut EndpointConfig),
) -> B2bWorld {
    let link = LinkConfig::latency(Duration::from_millis(20));
    setup_link(seed, link, callee, tune, tune_config)
}

/// [`setup_full`] over links configured as `link` (loss, duplicates, ...).
pub fn setup_link(
    seed: u64,
    link: LinkConfig,
    callee: Callee,
    tune: impl FnOnce(&mut CallSettings),
    tune_config: impl Fn(&str, &mut EndpointConfig),
) -> B2bWorld {
    let mut w = World::new(seed, link);
    let conf = |addr, s| {
        let mut c = config(s);
        tune_config(addr, &mut c);
        c
    };
    let caller_id = w.add_node(CALLER, conf(CALLER, seed ^ 1));
    let tandem = w.add_node(TANDEM, conf(TANDEM, seed ^ 3));
    let callee_id = w.add_node(CALLEE, conf(CALLEE, seed ^ 2));
    let b2b = Rc::new(RefCell::new(B2bua::default()));
    let log = Rc::new(RefCell::new(Vec::new()));
    let mut s = settings(&w, tandem, callee_id);
    tune(&mut s);
    {
        let (b2b, log) = (b2b.clone(), log.clone());
        w.set_script(tandem, move |ep, now, e| {
            let mut b2b = b2b.borrow_mut();
            if let Some(Event::Request { tx, request, .. }) = b2b.handle_event(ep, now, e.clone()) {
                let initial = request.method() == Some(Method::Invite)
                    && request
                        .typed::<ToHeader<'_>>()
                        .ok()
                        .flatten()
                        .is_some_and(|t| t.0.tag().is_none());
                if initial {
                    b2b.establish(ep, now, tx, &request, s.clone()).unwrap();
                } else {
                    let _ = ep.reply(now, tx, 481, "Call/Transaction Does Not Exist");
                }
            }
            while let Some(ev) = b2b.poll_event() {
                log.borrow_mut().push(ev);
            }
        });
    }
    w.set_script(caller_id, |ep, now, e| ua(ep, now, e, A_OFFER, None));
    w.set_script(callee_id, move |ep, now, e| {
        ua(ep, now, e, B_ANSWER, Some(callee));
    });
    B2bWorld {
        w,
        caller: caller_id,
        tandem,
        callee: callee_id,
        b2b,
        log,
    }
}

/// A world for [`B2bua::originate`]: the caller node is the first party (answers per
/// `first`, its 200 carrying [`A_OFFER`]), the callee node the second (per `second`, its
/// 200 carrying [`B_ANSWER`]); Tandem starts nothing by itself: call
/// [`B2bWorld::originate`].
pub fn setup_originate(seed: u64, first: Callee, second: Callee) -> B2bWorld {
    let mut t = setup(seed, second);
    t.w.set_script(t.caller, move |ep, now, e| {
        ua(ep, now, e, A_OFFER, Some(first));
    });
    t
}

/// The first party's settings in [`setup_originate`]'s world.
pub fn first_settings(w: &World, tandem: NodeId, caller: NodeId) -> CallSettings {
    CallSettings::new(
        w.flow(tandem, caller),
        Uri::parse("sip:alice@127.0.0.1:5061").unwrap(),
    )
}

fn has_to_tag(m: &Message) -> bool {
    m.typed::<ToHeader<'_>>()
        .ok()
        .flatten()
        .is_some_and(|t| t.0.tag().is_some())
}

/// A scripted UA: answers an in-dialog INVITE 200 with `sdp` (answer, or offer to a late
/// offer), an UPDATE with an offer 200 with `sdp`, other in-dialog requests 200; the initial INVITE per `initial`; ACKs every 2xx to
/// an INVITE, with `sdp` as the answer when its INVITE had no body (late offer).
fn ua(ep: &mut Endpoint, now: std::time::Instant, e: &Event, sdp: &str, initial: Option<Callee>) {
    match e {
        Event::Request { tx, request, .. } => {
            if !has_to_tag(request) {
                match initial {
                    Some(Callee::Rings) => {
                        let mut r = ep.make_response(*tx, 180, "Ringing").unwrap();
                        r.push_header(&HeaderName::Contact, "<sip:bob@127.0.0.2:5062>")
                            .unwrap();
                        r.push_header(&HeaderName::new("X-Callee-Secret"), "b-internal")
                            .unwrap();
                        ep.respond(now, *tx, r).unwrap();
                    }
                    Some(Callee::Busy) => ep.reply(now, *tx, 486, "Busy Here").unwrap(),
                    Some(Callee::Silent) | None => {}
                }
                return;
            }
            let mut r = ep.make_response(*tx, 200, "OK").unwrap();
            let sdp_method = request.method() == Some(Method::Invite)
                || (request.method() == Some(Method::Update) && !request.body().is_empty());
            if sdp_method {
                r.set_body(
                    Some("application/sdp"),
                    Bytes::copy_from_slice(sdp.as_bytes()),
                )
                .unwrap();
            }
            ep.respond(now, *tx, r).unwrap();
        }
        Event::Response { tx, response } => {
            let Some(cseq) = response.typed::<CSeq>().ok().flatten() else {
                return;
            };
            if cseq.method != Method::Invite || response.status().is_none_or(|s| s / 100 != 2) {
                return;
            }
            let late = ep.client_request(*tx).is_some_and(|m| m.body().is_empty())
                && !response.body().is_empty();
            if let Some(d) = ep.dialog_of_response(response) {
                let body =
                    late.then(|| ("application/sdp", Bytes::copy_from_slice(sdp.as_bytes())));
                ep.ack_2xx(d, cseq.seq, body).unwrap();
            }
        }
        _ => {}
    }
}

impl B2bWorld {
    pub fn addr(&mut self, n: NodeId) -> std::net::SocketAddr {
        self.w.node(n).addr
    }

    /// The caller sends its INVITE (with `body` as the offer, `None`: late offer).
    pub fn invite(&mut self, body: Option<&str>) -> ClientTxId {
        self.invite_with(body, &[])
    }

    /// [`Self::invite`] with `headers` added (e.g. `Require: 100rel`).
    pub fn invite_with(
        &mut self,
        body: Option<&str>,
        headers: &[(HeaderName, &str)],
    ) -> ClientTxId {
        let flow = self.w.flow(self.caller, self.tandem);
        let mut invite = request(
            &Method::Invite,
            "sip:sales@127.0.0.3:5060",
            "sip:alice@127.0.0.1",
            A_CALL_ID,
            1,
        )
        .unwrap();
        invite
            .replace_header(&HeaderName::Contact, "<sip:alice@127.0.0.1:5061>")
            .unwrap();
        invite.push_header(&HeaderName::RecordRoute, A_RR).unwrap();
        invite
            .push_header(&HeaderName::Subject, "Order 42")
            .unwrap();
        invite
            .push_header(&HeaderName::new("X-Caller-Secret"), "a-internal")
            .unwrap();
        for (name, value) in headers {
            invite.push_header(name, value).unwrap();
        }
        if let Some(b) = body {
            invite
                .set_body(
                    Some("application/sdp"),
                    Bytes::copy_from_slice(b.as_bytes()),
                )
                .unwrap();
        }
        self.w
            .command(self.caller, |ep, now| ep.send_request(now, invite, flow))
            .unwrap()
    }

    /// The INVITE the callee received, with its transaction.
    pub fn callee_invite(&mut self) -> (ServerTxId, Message) {
        tandem_testkit::sip::received(&self.w.node(self.callee).events, &Method::Invite).unwrap()
    }

    /// The callee answers its INVITE 200 with `body`.
    pub fn answer(&mut self, body: &str) {
        let (tx, _) = self.callee_invite();
        let body = Bytes::copy_from_slice(body.as_bytes());
        self.w.command(self.callee, |ep, now| {
            let mut r = ep.make_response(tx, 200, "OK").unwrap();
            r.push_header(&HeaderName::Contact, "<sip:bob@127.0.0.2:5062>")
                .unwrap();
            r.push_header(&HeaderName::new("X-Callee-Secret"), "b-internal")
                .unwrap();
            r.set_body(Some("application/sdp"), body).unwrap();
            ep.respond(now, tx, r).unwrap();
        });
    }

    /// The callee sends a provisional response `status` to its INVITE, reliably (RFC 3262,
    /// its endpoint must support `100rel`) or not, with `body` as SDP.
    pub fn progress(&mut self, status: u16, body: Option<&str>, reliably: bool) {
        let (tx, _) = self.callee_invite();
        let body = body.map(|b| Bytes::copy_from_slice(b.as_bytes()));
        self.w.command(self.callee, |ep, now| {
            let mut r = ep.make_response(tx, status, "Session Progress").unwrap();
            r.push_header(&HeaderName::Contact, "<sip:bob@127.0.0.2:5062>")
                .unwrap();
            if let Some(b) = body {
                r.set_body(Some("application/sdp"), b).unwrap();
            }
            if reliably {
                ep.respond_reliably(now, tx, r).unwrap();
            } else {
                ep.respond(now, tx, r).unwrap();
            }
        });
    }

    /// The callee answers its INVITE 200 with `body` (`None`: no SDP, the offer/answer was
    /// done in the early dialog).
    pub fn answer_with(&mut self, body: Option<&str>) {
        let (tx, _) = self.callee_invite();
        let body = body.map(|b| Bytes::copy_from_slice(b.as_bytes()));
        self.w.command(self.callee, |ep, now| {
            let mut r = ep.make_response(tx, 200, "OK").unwrap();
            r.push_header(&HeaderName::Contact, "<sip:bob@127.0.0.2:5062>")
                .unwrap();
            if let Some(b) = body {
                r.set_body(Some("application/sdp"), b).unwrap();
            }
            ep.respond(now, tx, r).unwrap();
        });
    }

    /// The caller hangs up its (confirmed) dialog of `invite` with BYE.
    pub fn caller_hangs_up(&mut self, invite: ClientTxId) {
        let d = self.caller_dialog(invite);
        self.send_in_dialog(self.caller, d, Method::Bye, None);
    }

    /// Tandem originates a call from the caller node (first) to the callee node (second),
    /// with settings adjusted by `tune`.
    pub fn originate(
        &mut self,
        tune: impl FnOnce(&mut CallSettings, &mut CallSettings),
    ) -> Result<tandem_call::CallId, tandem_call::CallError> {
        let mut first = first_settings(&self.w, self.tandem, self.caller);
        let mut second = settings(&self.w, self.tandem, self.callee);
        tune(&mut first, &mut second);
        let (b2b, log) = (self.b2b.clone(), self.log.clone());
        self.w.command(self.tandem, |ep, now| {
            let mut b2b = b2b.borrow_mut();
            let r = b2b.originate(ep, now, first, second);
            while let Some(ev) = b2b.poll_event() {
                log.borrow_mut().push(ev);
            }
            r
        })
    }

    /// Node `n` answers the initial INVITE it received 200 with `body` (and a Contact).
    pub fn answer_on(&mut self, n: NodeId, body: &str) {
        let (tx, _) =
            tandem_testkit::sip::received(&self.w.node(n).events, &Method::Invite).unwrap();
        let contact = format!("<sip:{}>", self.addr(n));
        let body = Bytes::copy_from_slice(body.as_bytes());
        self.w.command(n, |ep, now| {
            let mut r = ep.make_response(tx, 200, "OK").unwrap();
            r.push_header(&HeaderName::Contact, &contact).unwrap();
            r.set_body(Some("application/sdp"), body).unwrap();
            ep.respond(now, tx, r).unwrap();
        });
    }

    /// The dialog node `n` has as the UAS of the initial INVITE it received.
    pub fn uas_dialog(&mut self, n: NodeId) -> DialogId {
        let (tx, _) =
            tandem_testkit::sip::received(&self.w.node(n).events, &Method::Invite).unwrap();
        self.w.node(n).endpoint.dialog_of_server_tx(tx).unwrap()
    }

    /// The caller's dialog (from its INVITE's responses).
    pub fn caller_dialog(&mut self, invite: ClientTxId) -> DialogId {
        self.w
            .node(self.caller)
            .endpoint
            .dialog_of_client_tx(invite)
            .unwrap()
    }

    /// The callee's dialog.
    pub fn callee_dialog(&mut self) -> DialogId {
        let (tx, _) = self.callee_invite();
        self.w
            .node(self.callee)
            .endpoint
            .dialog_of_server_tx(tx)
            .unwrap()
    }

    /// A request of `method` from node `n` in dialog `d`, with an optional SDP body.
    pub fn send_in_dialog(&mut self, n: NodeId, d: DialogId, method: Method, sdp: Option<&str>) {
        let body = sdp.map(|s| Bytes::copy_from_slice(s.as_bytes()));
        self.w
            .command(n, |ep, now| {
                let mut m = ep.dialog_request(d, &method)?;
                if let Some(b) = body {
                    m.set_body(Some("application/sdp"), b)?;
                }
                ep.send_in_dialog(now, d, m)
            })
            .unwrap();
    }

    /// Runs the world for `ms` of virtual time, firing the controller's own timers
    /// ([`B2bua::poll_timeout`]) as they fall due.
    pub fn run(&mut self, ms: u64) {
        self.run_for(Duration::from_millis(ms));
    }

    /// [`Self::run`] for any duration.
    ///
    /// The controller arms timers only on its inputs: a delivery (its endpoint's events) or
    /// a command. So the world runs one delivery at a time, and the controller's deadline
    /// is read again after each.
    pub fn run_for(&mut self, d: Duration) {
        let end = self.w.clock.now() + d;
        loop {
            let now = self.w.clock.now();
            let due = self.b2b.borrow().poll_timeout().filter(|t| *t <= end);
            let Some(due) = due else {
                // Up to the next delivery (which may arm a timer), or the end.
                let step = self.w.net.next_delivery().filter(|t| *t < end);
                match step {
                    Some(t) => {
                        self.w.run_for(t.saturating_duration_since(now));
                        self.w.clock.advance_to(t);
                        continue;
                    }
                    None => {
                        self.w.run_for(end.saturating_duration_since(now));
                        self.w.clock.advance_to(end);
                        if self.b2b.borrow().poll_timeout().is_some_and(|t| t <= end) {
                            continue;
                        }
                        return;
                    }
                }
            };
            if due > now {
                let step = self.w.net.next_delivery().filter(|t| *t < due);
                if let Some(t) = step {
                    self.w.run_for(t.saturating_duration_since(now));
                    self.w.clock.advance_to(t);
                    continue;
                }
                self.w.run_for(due - now);
                self.w.clock.advance_to(due);
            }
            let (b2b, log) = (self.b2b.clone(), self.log.clone());
            self.w.command(self.tandem, |ep, now| {
                let mut b2b = b2b.borrow_mut();
                b2b.handle_timeout(ep, now);
                while let Some(ev) = b2b.poll_event() {
                    log.borrow_mut().push(ev);
                }
            });
        }
    }

    /// Every call event so far.
    pub fn events(&self) -> Vec<CallEvent> {
        self.log.borrow().clone()
    }

    /// Every message sent from `from` to `to`, parsed.
    pub fn messages(&mut self, from: NodeId, to: NodeId) -> Vec<Message> {
        let (f, t) = (self.addr(from), self.addr(to));
        self.w
            .net
            .trace()
            .entries()
            .iter()
            .filter(|e| e.from == f && e.to == t)
            .map(|e| Message::parse(e.payload.clone(), &Default::default()).unwrap())
            .collect()
    }

    /// The first message with `label` (method or status) from `from` to `to`.
    pub fn first(&mut self, from: NodeId, to: NodeId, label: &str) -> Message {
        self.messages(from, to)
            .into_iter()
            .find(|m| match (m.method(), m.status()) {
                (Some(method), _) => method.as_str() == label,
                (_, Some(s)) => s.to_string() == label,
                _ => false,
            })
            .unwrap_or_else(|| panic!("no {label}; ladder:\n{}", self.ladder()))
    }

    /// When each message with `label` (method or status) left `from` for `to`.
    pub fn times(&mut self, from: NodeId, to: NodeId, label: &str) -> Vec<std::time::Instant> {
        let (f, t) = (self.addr(from), self.addr(to));
        self.w
            .net
            .trace()
            .entries()
            .iter()
            .filter(|e| e.from == f && e.to == t && e.label() == label)
            .map(|e| e.at)
            .collect()
    }

    pub fn ladder(&self) -> String {
        self.w.net.trace().ladder().join("\n")
    }

    /// The labels (method or status) of every datagram from `from` to `to`, in order.
    pub fn labels(&mut self, from: NodeId, to: NodeId) -> Vec<String> {
        let (f, t) = (self.addr(from), self.addr(to));
        self.w.net.trace().labels_between(f, t)
    }

    #[track_caller]
    pub fn assert_flow(&mut self, from: NodeId, to: NodeId, expected: &[&str]) {
        let (f, t) = (self.addr(from), self.addr(to));
        self.w.net.trace().assert_flow(f, t, expected);
    }

    /// The cause of the call's end, from the call events.
    pub fn ended(&self) -> Option<EndCause> {
        self.log.borrow().iter().find_map(|e| match e {
            CallEvent::Ended { cause, .. } => Some(cause.clone()),
            _ => None,
        })
    }

    /// The states the call went through.
    pub fn states(&self) -> Vec<tandem_call::CallState> {
        self.log
            .borrow()
            .iter()
            .filter_map(|e| match e {
                CallEvent::StateChanged { state, .. } => Some(*state),
                _ => None,
            })
            .collect()
    }

    /// Runs every timer out, then checks that nothing leaked: no transaction, no dialog on
    /// any node, no call in the controller.
    pub fn assert_drained(&mut self) {
        self.run_for(Duration::from_secs(40));
        for n in [self.caller, self.tandem, self.callee] {
            let ep = &self.w.node(n).endpoint;
            assert_eq!(
                ep.transaction_counts(),
                (0, 0),
                "node {n:?} holds transactions"
            );
            assert_eq!(ep.dialog_count(), 0, "node {n:?} holds dialogs");
        }
        assert_eq!(self.b2b.borrow().calls(), 0);
        assert_eq!(
            self.b2b.borrow().tracked(),
            0,
            "the controller forgot everything"
        );
    }
}

/// The lines of an SDP body without its `o=` line, and the `o=` line.
pub fn split_origin(body: &[u8]) -> (Vec<String>, String) {
    let text = String::from_utf8_lossy(body);
    let mut origin = String::new();
    let mut rest = Vec::new();
    for line in text.split("\r\n") {
        if line.starts_with("o=") {
            origin = line.to_owned();
        } else {
            rest.push(line.to_owned());
        }
    }
    (rest, origin)
}

/// Asserts that `relayed` is `original` with only the `o=` line changed to Tandem's, and
/// returns that `o=` line.
#[track_caller]
pub fn assert_same_but_origin(relayed: &[u8], original: &str) -> String {
    let (a, oa) = split_origin(relayed);
    let (b, ob) = split_origin(original.as_bytes());
    assert_eq!(a, b, "only o= may differ");
    assert_ne!(oa, ob);
    assert!(oa.starts_with("o=tandem "), "Tandem's origin: {oa}");
    oa
}

/// 100rel (RFC 3262) in the `supported` options of the nodes at `addrs` (of [`CALLER`],
/// [`TANDEM`], [`CALLEE`]).
pub fn with_100rel(addrs: &'static [&'static str]) -> impl Fn(&str, &mut EndpointConfig) {
    move |addr, c| {
        if addrs.contains(&addr) {
            c.supported.push("100rel".to_owned());
        }
    }
}

/// The header values of `name` in `m`.
pub fn values(m: &Message, name: &HeaderName) -> Vec<String> {
    tandem_testkit::sip::header_values(m, name)
}
