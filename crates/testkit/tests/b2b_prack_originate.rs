//! Originate (RFC 3725 Flow I) with 100rel: the first party's INVITE has no offer, so an
//! offer in its reliable 183 (RFC 3262 §5) would need an answer in the PRACK before the
//! second party is even called. Tandem does not make one up: the first party is cancelled
//! and the call fails at once, instead of hanging until the 183's 64·T1 run out. A reliable
//! 180 without SDP is PRACKed as usual and the call goes on.
#![allow(clippy::unwrap_used)]

mod b2b_common;

use b2b_common::{A_OFFER, B_ANSWER, CALLEE, CALLER, Callee, TANDEM, setup_full, with_100rel};
use bytes::Bytes;
use tandem_call::{CallState, EndCause};
use tandem_sip_core::Event;
use tandem_sip_msg::Method;
use tandem_testkit::sip::received;

const ALL: &[&str] = &[CALLER, TANDEM, CALLEE];

/// The first party (the caller node) sends `status` reliably, with `sdp`.
fn first_progress(t: &mut b2b_common::B2bWorld, status: u16, sdp: Option<&str>) {
    let first = t.caller;
    let (tx, _) = received(&t.w.node(first).events, &Method::Invite).unwrap();
    let body = sdp.map(|s| Bytes::copy_from_slice(s.as_bytes()));
    t.w.command(first, |ep, now| {
        let mut r = ep.make_response(tx, status, "Progress").unwrap();
        if let Some(b) = body {
            r.set_body(Some("application/sdp"), b).unwrap();
        }
        ep.respond_reliably(now, tx, r).unwrap();
    });
}

/// The first party answers the INVITE only when told; any other request 200.
fn first_party(ep: &mut tandem_sip_core::Endpoint, now: std::time::Instant, e: &Event) {
    if let Event::Request { tx, request, .. } = e
        && request.method() != Some(Method::Invite)
    {
        ep.reply(now, *tx, 200, "OK").unwrap();
    }
}

#[test]
fn an_offer_in_the_first_partys_reliable_183_fails_the_call() {
    let mut t = setup_full(4501, Callee::Rings, |_| {}, with_100rel(ALL));
    t.w.set_script(t.caller, first_party);
    t.originate(|_, _| {}).unwrap();
    t.run(200);
    first_progress(&mut t, 183, Some(A_OFFER));
    t.run(500);
    let (first, tandem, second) = (t.caller, t.tandem, t.callee);
    assert_eq!(t.labels(tandem, first), ["INVITE", "CANCEL", "ACK"]);
    assert!(t.labels(tandem, second).is_empty(), "no second leg");
    assert!(matches!(t.ended(), Some(EndCause::Failed(_))));
    t.assert_drained();
}

#[test]
fn a_reliable_180_of_the_first_party_is_pracked() {
    let mut t = setup_full(4502, Callee::Rings, |_| {}, with_100rel(ALL));
    t.w.set_script(t.caller, first_party);
    t.originate(|_, _| {}).unwrap();
    t.run(200);
    first_progress(&mut t, 180, None);
    t.run(300);
    let (first, tandem, second) = (t.caller, t.tandem, t.callee);
    assert_eq!(t.labels(tandem, first), ["INVITE", "PRACK"]);
    t.answer_on(first, A_OFFER);
    t.run(300);
    t.answer_on(second, B_ANSWER);
    t.run(300);
    assert_eq!(
        t.states(),
        [CallState::Establishing, CallState::Established]
    );
    let d = t.uas_dialog(first);
    t.send_in_dialog(first, d, Method::Bye, None);
    t.run(300);
    t.assert_drained();
}
