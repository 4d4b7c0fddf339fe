//! A 3xx on leg B is followed (RFC 3261 §8.1.3.4): its Contacts that are `sip:` URIs with
//! an IP address become new targets of leg B's INVITE, highest `q` first, with the same
//! offer, Call-ID and tags and CSeq + 1; a target that fails moves on to the next. The
//! caller sees only the final outcome. A 3xx whose Contacts cannot be used (host names,
//! loops back to a target already tried) is mapped to 480 as before.
#![allow(clippy::unwrap_used)]

mod b2b_common;

use std::time::Instant;

use b2b_common::{A_OFFER, B_ANSWER, B2bWorld, Callee, setup, values};
use bytes::Bytes;
use tandem_call::{CallState, EndCause};
use tandem_sip_core::{Endpoint, EndpointConfig, Event};
use tandem_sip_msg::headers::CSeq;
use tandem_sip_msg::{HeaderName, Message, Method};
use tandem_testkit::NodeId;

const CAROL: &str = "127.0.0.4:5064";
const DAVE: &str = "127.0.0.5:5065";

/// Carol answers at once: 180, then 200 with [`B_ANSWER`]; in-dialog requests get 200.
fn carol(ep: &mut Endpoint, now: Instant, e: &Event) {
    let Event::Request { tx, request, .. } = e else {
        return;
    };
    if request.method() == Some(Method::Invite) {
        ep.reply(now, *tx, 180, "Ringing").unwrap();
        let mut ok = ep.make_response(*tx, 200, "OK").unwrap();
        ok.push_header(&HeaderName::Contact, &format!("<sip:carol@{CAROL}>"))
            .unwrap();
        ok.set_body(
            Some("application/sdp"),
            Bytes::from_static(B_ANSWER.as_bytes()),
        )
        .unwrap();
        ep.respond(now, *tx, ok).unwrap();
    } else if request.method() != Some(Method::Ack) {
        ep.reply(now, *tx, 200, "OK").unwrap();
    }
}

/// Dave is busy.
fn dave(ep: &mut Endpoint, now: Instant, e: &Event) {
    if let Event::Request { tx, request, .. } = e
        && request.method() == Some(Method::Invite)
    {
        ep.reply(now, *tx, 486, "Busy Here").unwrap();
    }
}

fn node(t: &mut B2bWorld, addr: &str, seed: u64) -> NodeId {
    let config = EndpointConfig {
        seed,
        ..EndpointConfig::default()
    };
    t.w.add_node(addr, config)
}

/// The callee (a redirect server) answers 302 with `contacts`.
fn redirect(t: &mut B2bWorld, contacts: &[&str]) {
    let (tx, _) = t.callee_invite();
    t.w.command(t.callee, |ep, now| {
        let mut r = ep.make_response(tx, 302, "Moved Temporarily").unwrap();
        for c in contacts {
            r.push_header(&HeaderName::Contact, c).unwrap();
        }
        ep.respond(now, tx, r).unwrap();
    });
}

fn invites(t: &mut B2bWorld, to: NodeId) -> Vec<Message> {
    let tandem = t.tandem;
    t.messages(tandem, to)
        .into_iter()
        .filter(|m| m.method() == Some(Method::Invite))
        .collect()
}

fn cseq(m: &Message) -> u32 {
    m.typed::<CSeq>().unwrap().unwrap().seq
}

#[test]
fn a_302_is_followed_in_q_order_to_the_target_that_answers() {
    let mut t = setup(4601, Callee::Silent);
    let (caller, tandem, callee) = (t.caller, t.tandem, t.callee);
    let carol_id = node(&mut t, CAROL, 4601 ^ 4);
    let dave_id = node(&mut t, DAVE, 4601 ^ 5);
    t.w.set_script(carol_id, carol);
    t.w.set_script(dave_id, dave);
    let invite = t.invite(Some(A_OFFER));
    t.run(200);
    redirect(
        &mut t,
        &[
            &format!("<sip:carol@{CAROL}>;q=0.5"),
            "<sip:someone@redirect.example.com>;q=1.0",
            &format!("<sip:dave@{DAVE}>;q=0.9"),
        ],
    );
    t.run(500);

    let first = invites(&mut t, callee).remove(0);
    assert_eq!(t.labels(callee, tandem), ["100", "302"]);
    assert_eq!(t.labels(tandem, callee), ["INVITE", "ACK"]);
    // Dave first (q=0.9), busy; then Carol (q=0.5); the host name is skipped.
    let to_dave = invites(&mut t, dave_id);
    let to_carol = invites(&mut t, carol_id);
    assert_eq!(to_dave.len(), 1);
    assert_eq!(to_carol.len(), 1);
    assert_eq!(
        to_dave[0].request_line().unwrap().uri,
        format!("sip:dave@{DAVE}")
    );
    assert_eq!(
        to_carol[0].request_line().unwrap().uri,
        format!("sip:carol@{CAROL}")
    );
    assert!(t.times(tandem, dave_id, "INVITE")[0] < t.times(tandem, carol_id, "INVITE")[0]);
    // The same request but for the Request-URI, Via and CSeq: same offer, Call-ID, tags.
    for (m, n) in [(&to_dave[0], 1), (&to_carol[0], 2)] {
        assert_eq!(m.body(), first.body());
        assert_eq!(cseq(m), cseq(&first) + n);
        for h in [HeaderName::CallId, HeaderName::From, HeaderName::To] {
            assert_eq!(values(m, &h), values(&first, &h));
        }
    }
    // The caller saw Carol's 180 and 200, nothing of the 302 or the 486.
    assert_eq!(t.labels(tandem, caller), ["100", "180", "200"]);
    let ok = t.first(tandem, caller, "200");
    b2b_common::assert_same_but_origin(ok.body(), B_ANSWER);
    assert_eq!(
        t.states(),
        [CallState::Establishing, CallState::Established]
    );

    t.caller_hangs_up(invite);
    t.run(300);
    assert_eq!(t.labels(tandem, carol_id), ["INVITE", "ACK", "BYE"]);
    assert_eq!(t.ended(), Some(EndCause::CallerHangUp));
    t.assert_drained();
    for n in [carol_id, dave_id] {
        let ep = &t.w.node(n).endpoint;
        assert_eq!(ep.transaction_counts(), (0, 0));
        assert_eq!(ep.dialog_count(), 0);
    }
}

#[test]
fn a_302_without_usable_contacts_is_480() {
    let mut t = setup(4602, Callee::Silent);
    let (caller, tandem, callee) = (t.caller, t.tandem, t.callee);
    t.invite(Some(A_OFFER));
    t.run(200);
    // A host name, a sips: URI, and the callee itself (already tried: a loop).
    redirect(
        &mut t,
        &[
            "<sip:someone@redirect.example.com>",
            "<sips:secure@127.0.0.9>",
            "<sip:bob@127.0.0.2:5062>",
        ],
    );
    t.run(500);
    assert_eq!(t.labels(tandem, callee), ["INVITE", "ACK"]);
    assert_eq!(t.labels(tandem, caller), ["100", "480"]);
    assert_eq!(
        t.ended(),
        Some(EndCause::Rejected {
            status: 302,
            relayed: 480
        })
    );
    t.assert_drained();
}

#[test]
fn every_redirect_target_failing_relays_the_last_failure() {
    let mut t = setup(4603, Callee::Silent);
    let (caller, tandem) = (t.caller, t.tandem);
    let dave_id = node(&mut t, DAVE, 4603 ^ 5);
    t.w.set_script(dave_id, dave);
    t.invite(Some(A_OFFER));
    t.run(200);
    redirect(&mut t, &[&format!("<sip:dave@{DAVE}>")]);
    t.run(500);
    assert_eq!(t.labels(tandem, dave_id), ["INVITE", "ACK"]);
    assert_eq!(t.labels(tandem, caller), ["100", "486"]);
    assert_eq!(
        t.ended(),
        Some(EndCause::Rejected {
            status: 486,
            relayed: 486
        })
    );
    t.assert_drained();
}
