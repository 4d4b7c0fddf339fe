//! Tandem's sans-IO call control: back-to-back calls (scenario S1) on top of one
//! [`tandem_sip_core::Endpoint`].
//!
//! A [`B2bua`] turns an incoming INVITE (leg A, Tandem is its UAS) into a call with an
//! outgoing leg B (Tandem is its UAC), as UCMA's
//! `BackToBackCall(BackToBackCallSettings(incoming), BackToBackCallSettings(outgoing, uri))`
//! ([`B2bua::establish`]), or calls two parties itself and joins them
//! ([`B2bua::originate`], RFC 3725 Flow I: click-to-call).
//! The two legs are two independent dialogs: nothing identifying one (Via, Contact, Call-ID,
//! tags, Record-Route) reaches the other; only the headers of an allow-list and the bodies
//! cross, SDP with Tandem's own `o=` line per leg (RFC 3264 §8, `tandem_sdp::OriginRewriter`).
//! Media flows peer to peer: Tandem never touches `c=`/`m=` and sends no RTP.
//!
//! Like the endpoint, the controller never reads a clock and never does I/O: `now` is an
//! argument and it acts only through the endpoint's commands. Its own timers (ring timeouts,
//! maximum durations) are reported by [`B2bua::poll_timeout`]: the event loop sleeps until
//! the earlier of that and the endpoint's deadline, and calls [`B2bua::handle_timeout`]
//! when it is due. The loop feeds it every endpoint event and drains its call events:
//!
//! ```
//! use std::time::{Duration, Instant};
//! use tandem_call::{B2bua, CallEvent, CallSettings};
//! use tandem_sip_core::{Endpoint, Event, Flow};
//! use tandem_sip_msg::{Method, Uri};
//!
//! fn on_endpoint_event(
//!     b2b: &mut B2bua,
//!     ep: &mut Endpoint,
//!     now: Instant,
//!     event: Event,
//!     agent: Flow,
//! ) {
//!     // The controller keeps the events of its calls and hands back the others.
//!     if let Some(Event::Request { tx, request, .. }) = b2b.handle_event(ep, now, event) {
//!         if request.method() == Some(Method::Invite) {
//!             let target = Uri::parse("sip:agent@192.0.2.20").unwrap();
//!             let settings = CallSettings::new(agent, target)
//!                 .with_ring_timeout(Duration::from_secs(30))
//!                 .with_max_duration(Duration::from_secs(4 * 3600));
//!             if b2b.establish(ep, now, tx, &request, settings).is_err() {
//!                 let _ = ep.reply(now, tx, 500, "Server Internal Error");
//!             }
//!         }
//!     }
//!     while let Some(e) = b2b.poll_event() {
//!         match e {
//!             CallEvent::Record(cdr) => println!("CDR: {cdr:?}"), // one row per call and leg
//!             CallEvent::Ended { call, cause } => println!("{call:?} ended: {cause:?}"),
//!             _ => {}
//!         }
//!     }
//! }
//!
//! // And when `b2b.poll_timeout()` is due:
//! fn on_timer(b2b: &mut B2bua, ep: &mut Endpoint, now: Instant) {
//!     b2b.handle_timeout(ep, now);
//! }
//! ```
//!
//! Then drain the endpoint's `poll_output` as usual: every command the controller issued is
//! queued there. The endpoint's own rules still apply first: list `UPDATE` and `INFO` in
//! `EndpointConfig::allow` and the relayed body types (e.g. `application/dtmf-relay`) in
//! `EndpointConfig::accept`, or the endpoint answers 405/415 before the controller sees them.
//!
//! What the controller does by itself (RFC 3261 unless noted):
//! - **Leg B** ([`B2bua::establish`]): new Call-ID, From tag and CSeq, Tandem's Via and
//!   Contact, `Max-Forwards` decremented (RFC 7332), the offer (or its absence: late offer)
//!   relayed; per [`CallSettings`]: failover targets (RFC 3263 §4.3), a digest retry with
//!   the leg's [`Credentials`] on 401/407 (RFC 3261 §22.2), a session timer (RFC 4028), a
//!   ring timeout (CANCEL, 480 on leg A) and a maximum duration (BYE on both legs).
//! - **Redirects** (RFC 3261 §8.1.3.4): a 3xx to an outgoing leg's INVITE is followed by
//!   Tandem, never relayed (topology hiding): its Contacts that are `sip:` URIs with an IP
//!   address, on the leg's transport and without `maddr`, become targets tried in `q`
//!   order (equal `q`: the 3xx's order), each with the INVITE as last sent (same offer,
//!   Call-ID and tags, CSeq + 1, no credentials). A target that fails or times out moves
//!   on to the next; the last failure is mapped per [`map_failure`]. A target is never
//!   tried twice and at most 5 redirected INVITEs go out per leg (loops); a 3xx without a
//!   usable Contact maps to 480 as before.
//! - **Answers**: 101-199 relayed to leg A with the early-media SDP (reliably when leg A
//!   takes `100rel`: see "Early media and PRACK" below); a 2xx is ACKed on leg B
//!   (§13.2.2.4; for a late offer, once leg A's ACK brings the answer) and relayed to leg A;
//!   a failure maps to a final response on leg A per [`map_failure`].
//! - **CANCEL** from leg A (§9.2) cancels leg B, at once or after its first provisional
//!   response (§9.1); a 2xx crossing the CANCEL is ACKed and ended with BYE.
//! - **BYE** from either leg is answered 200 and ends the other leg with BYE and
//!   `Reason: SIP;cause=200;text="..."` (RFC 3326).
//! - **Mid-call requests** (re-INVITE, UPDATE, INFO, ...) are relayed to the other leg, the
//!   final response relayed back (a late-offer re-INVITE's answer travels in the ACKs);
//!   a request crossing an INVITE in progress gets 491 (§14.2), and a far 491 is relayed.
//!   REFER is answered 501 (transfers are scenario S2).
//! - Provisional responses (101-199) to relayed in-dialog requests are relayed too, without
//!   body (§13.3.1.1).
//! - A leg lost (no ACK for the 2xx, session timer expiry RFC 4028 §10, 408/481 to an
//!   in-dialog request §12.2.1.2) ends the call.
//! - **Every 2xx is ACKed** (§13.2.2.4): a 2xx still waiting for the other leg's answer
//!   when its leg must end (BYE from the other side before the ACK, Flow I failure) is
//!   ACKed with an answer rejecting every stream (RFC 3264 §6) before the BYE; after the
//!   call ended, its transactions are watched for 64·T1: a retransmitted 2xx is ACKed again
//!   (rebuilt from the response once the dialog is gone), a fork's late 2xx is ACKed and
//!   ended with BYE, late ACKs and ACK timeouts are absorbed.
//! - **Records**: [`CallEvent::Record`] (a [`CallRecord`] with one [`LegRecord`] per leg)
//!   right before [`CallEvent::Ended`]; [`B2bua::info`] snapshots a live call;
//!   [`CallEvent::MediaFlow`] follows the offer/answer.
//!
//! **Early media and PRACK** (RFC 3262, RFC 6337), hop by hop: each leg has its own `RSeq`
//! space and its own PRACKs; nothing of one leg's reliability crosses to the other. List
//! `100rel` in `EndpointConfig::supported` to enable it: the endpoint then offers
//! `Supported: 100rel` on leg B and serves PRACK.
//! - Leg B: the endpoint PRACKs leg B's reliable 18x by itself (§4), except one carrying an
//!   offer (leg B's INVITE had none: late offer, §5), whose PRACK waits for leg A's answer.
//! - Leg A offered `100rel` (`Supported` or `Require`): an 18x *with SDP* from leg B,
//!   reliable or not, goes to leg A reliably (`Endpoint::respond_reliably`, Tandem's `o=`),
//!   other 18x unreliably, or every 18x reliably if leg A *requires* `100rel` (§3). One
//!   reliable provisional at a time (§3): the next waits for leg A's PRACK. Leg A's PRACK
//!   is answered 200 by the controller; when it carries the answer to leg B's offer (late
//!   offer), that answer goes to leg B in Tandem's PRACK (`Endpoint::prack_with_answer`,
//!   `o=` rewritten; RFC 6337 §2.1, pattern 4). Leg B's 2xx waits while leg A has not
//!   PRACKed an 18x with SDP (§3: no 2xx before that PRACK).
//! - SDP crosses once per direction (RFC 3261 §13.2.1, RFC 6337 §3.1): once leg A had SDP
//!   in a reliable 18x, the 2xx to leg A carries none, and an answer leg B gave in a
//!   reliable 18x (or got in Tandem's PRACK) means its 2xx carries no offer: it is ACKed
//!   without a body. An SDP in an *unreliable* 18x to a late-offer INVITE is no offer
//!   (§13.2.1): it is relayed unreliably as a preview, or dropped if the 18x must go
//!   reliably.
//! - Leg A without `100rel`: leg B's 18x go to leg A unreliably. An answer leg A got only
//!   that way is repeated, byte for byte, in its 2xx when leg B's 2xx has none (leg B
//!   answered reliably). An *offer* in leg B's reliable 18x (leg A sent no offer) cannot
//!   be answered: leg A's answer could only come in its ACK, after a 2xx that leg B sends
//!   only once its PRACK carried the answer (RFC 3262 §3, §5). Rather than deadlock for
//!   64·T1, or invent an answer leg A never gave, Tandem answers leg A
//!   `421 Extension Required` with `Require: 100rel` (RFC 3261 §21.4.16: a caller may retry
//!   with 100rel, or with an offer) and cancels leg B ([`EndCause::Failed`]).
//! - Leg A never PRACKs (64·T1, §3): the endpoint answers its INVITE 500; leg B is
//!   cancelled (or its waiting 2xx ACKed and ended with BYE) and the call ends with
//!   [`EndCause::LegLost`].
//! - Originated calls: the first party's INVITE has no offer, so an offer in its reliable
//!   18x would need an answer before the second party is called: the call fails at once
//!   ([`EndCause::Failed`], first party cancelled). Other reliable 18x are PRACKed by the
//!   endpoint.
//!
//! Not done yet (known gaps):
//! - Failover and digest retries re-send to the configured targets: the endpoint does not
//!   say which target answered the challenge. Credentials are answered at most twice.
//! - An offer or answer in a reliable provisional response to a relayed re-INVITE is not
//!   relayed (PRACK is relayed for the initial INVITE only); UPDATE in an early dialog
//!   (RFC 3311) is answered 491 until the call is established.
//! - Leg B forking with reliable 18x: each early dialog is PRACKed, but only the first
//!   offer in a reliable 18x is answered with leg A's PRACK.
//! - A 3xx Contact naming a host (not an IP address) is not resolved: the controller does
//!   no DNS (RFC 3263 lookups belong to the runtime); REFER is answered 501 (scenario S2).
//!   Redirect retries need the endpoint to still hold the failed INVITE (UDP's Timer D
//!   keeps it; over TCP the 3xx is mapped).
//! - The incoming leg has no settings of its own: its session timer is the endpoint's, and
//!   ring timeouts and maximum durations come from leg B's settings.
//! - A 2xx to a relayed re-INVITE that arrives after the call ended is absorbed without an
//!   ACK (the dialogs are gone by then); one during the call is ACKed as usual.

mod b2bua;
mod early;
mod indialog;
mod invite;
mod leg;
mod linger;
mod originate;
mod record;
mod relay;
mod timers;
mod types;

pub use b2bua::B2bua;
pub use originate::FLOW_I_RING_LIMIT;
pub use relay::map_failure;
pub use types::{
    B2buaConfig, CallError, CallEvent, CallId, CallInfo, CallKind, CallRecord, CallSettings,
    CallState, Credentials, EndCause, EndedBy, Leg, LegInfo, LegRecord, MediaFlowState, Reason,
};
