//! UAC digest authentication (RFC 3261 §8.1.3.5, §22.2): the UAS challenges an INVITE and a
//! REGISTER with 401; the caller's endpoint, holding credentials for the realm, re-sends each
//! request with CSeq + 1 and an `Authorization` under the same handle, and its TU never sees
//! the 401. Wrong credentials: the second challenge (without `stale=true`) is passed up.
#![allow(clippy::unwrap_used)]

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use tandem_sip_core::auth::{AuthKind, AuthOutcome, DigestAuthenticator, DigestConfig, Secret};
use tandem_sip_core::{Event, ServerTxId};
use tandem_sip_msg::headers::{CSeq, CallId, FromHeader};
use tandem_sip_msg::{HeaderName, Message, Method};
use tandem_testkit::sip::{ack_invite_2xx, header_values, request, sent};
use tandem_testkit::{LinkConfig, NodeId, World};

const REALM: &str = "tandem.test";

/// A UAS that challenges every INVITE and REGISTER outside a dialog (401 with one challenge
/// per algorithm) and answers 200 to valid credentials, `on_forbidden` to wrong ones.
fn challenging_uas(w: &mut World, uas: NodeId, on_forbidden: u16) {
    let now = w.clock.now();
    let server =
        DigestAuthenticator::new(DigestConfig::new(REALM, *b"0123456789abcdef"), now).unwrap();
    let server = Rc::new(RefCell::new(server));
    w.set_script(uas, move |ep, now, e| match e {
        Event::Request { tx, request, .. } => {
            let challenged = matches!(request.method(), Some(Method::Invite | Method::Register))
                && ep.dialog_of_server_tx(*tx).is_none();
            if !challenged {
                ep.reply(now, *tx, 200, "OK").unwrap();
                return;
            }
            let outcome =
                server
                    .borrow_mut()
                    .verify_request(now, request, AuthKind::Www, |user, _| {
                        (user == "alice").then(|| Secret::Password("secret".into()))
                    });
            match outcome {
                AuthOutcome::Ok { .. } => ep.reply(now, *tx, 200, "OK").unwrap(),
                AuthOutcome::Challenge { stale } => {
                    challenge(ep, now, *tx, &server.borrow_mut().challenge(now, stale))
                }
                AuthOutcome::Forbidden if on_forbidden == 401 => {
                    challenge(ep, now, *tx, &server.borrow_mut().challenge(now, false))
                }
                AuthOutcome::Forbidden => ep.reply(now, *tx, on_forbidden, "Forbidden").unwrap(),
            }
        }
        Event::Response { response, .. } => ack_invite_2xx(ep, response),
        _ => {}
    });
}

fn challenge(
    ep: &mut tandem_sip_core::Endpoint,
    now: std::time::Instant,
    tx: ServerTxId,
    values: &[String],
) {
    let mut r = ep.make_response(tx, 401, "Unauthorized").unwrap();
    for v in values {
        r.push_header(&HeaderName::WwwAuthenticate, v).unwrap();
    }
    ep.respond(now, tx, r).unwrap();
}

fn ids(m: &Message) -> (String, String, u32) {
    (
        m.typed::<CallId<'_>>().unwrap().unwrap().0.to_owned(),
        m.typed::<FromHeader<'_>>()
            .unwrap()
            .unwrap()
            .0
            .tag()
            .unwrap()
            .to_owned(),
        m.typed::<CSeq>().unwrap().unwrap().seq,
    )
}

#[test]
fn invite_and_register_are_retried_with_credentials() {
    let (mut w, uac, uas) = common::pair_with(91, LinkConfig::default(), |c| {
        c.allow.push(Method::Register);
    });
    challenging_uas(&mut w, uas, 403);
    w.set_script(uac, |ep, _, e| {
        if let Event::Response { response, .. } = e {
            ack_invite_2xx(ep, response);
        }
    });
    w.command(uac, |ep, _| {
        ep.set_credentials(Some(REALM), "alice", "secret")
    });
    let flow = w.flow(uac, uas);
    let invite = request(
        &Method::Invite,
        "sip:b@127.0.0.2:5062",
        "sip:alice@127.0.0.1",
        "auth-1",
        1,
    )
    .unwrap();
    let tx = w
        .command(uac, |ep, now| ep.send_request(now, invite, flow))
        .unwrap();
    w.run_for(Duration::from_millis(300));
    // The handle is the retry's: its request carries CSeq 2 and the credentials.
    let current = w.node(uac).endpoint.client_request(tx).unwrap().clone();
    assert_eq!(ids(&current).2, 2);
    let a = w.node(uac).endpoint.dialog_of_client_tx(tx).unwrap();
    let invites = sent(w.net.trace(), "INVITE");
    assert_eq!(invites.len(), 2);
    let (c0, f0, s0) = ids(&invites[0]);
    let (c1, f1, s1) = ids(&invites[1]);
    assert_eq!(
        (c0, f0, s0 + 1),
        (c1, f1, s1),
        "same Call-ID and From tag, CSeq + 1"
    );
    assert!(header_values(&invites[0], &HeaderName::Authorization).is_empty());
    let auth = header_values(&invites[1], &HeaderName::Authorization);
    assert_eq!(auth.len(), 1);
    assert!(auth[0].contains("algorithm=SHA-256"), "{}", auth[0]);
    assert!(
        auth[0].contains("uri=\"sip:b@127.0.0.2:5062\""),
        "{}",
        auth[0]
    );
    // The 401 never reached the TU; the 2xx did, and the dialog is confirmed.
    assert_eq!(
        common::event_labels(&mut w, uac),
        ["response 100", "response 100", "response 200"]
    );
    // REGISTER, challenged the same way.
    let mut register = request(
        &Method::Register,
        "sip:127.0.0.2:5062",
        "sip:alice@127.0.0.2",
        "auth-reg",
        7,
    )
    .unwrap();
    register
        .replace_header(&HeaderName::To, "<sip:alice@127.0.0.2>")
        .unwrap();
    register.push_header(&HeaderName::Expires, "3600").unwrap();
    w.command(uac, |ep, now| ep.send_request(now, register, flow))
        .unwrap();
    w.run_for(Duration::from_millis(300));
    let registers = sent(w.net.trace(), "REGISTER");
    assert_eq!(
        registers.iter().map(|r| ids(r).2).collect::<Vec<_>>(),
        [7, 8]
    );
    // Hang up.
    w.command(uac, |ep, now| {
        let m = ep.dialog_request(a, &Method::Bye)?;
        ep.send_in_dialog(now, a, m)
    })
    .unwrap();
    w.run_for(Duration::from_millis(300));
    assert_eq!(
        common::event_labels(&mut w, uac),
        [
            "response 100",
            "response 100",
            "response 200",
            "response 200",
            "response 200"
        ]
    );
    let (ua, ub) = (w.nodes[0].addr, w.nodes[1].addr);
    w.net.trace().assert_flow(
        ua,
        ub,
        &["INVITE", "ACK", "INVITE", "ACK", "REGISTER", "BYE"],
    );
    w.net
        .trace()
        .assert_flow(ub, ua, &["100", "401", "100", "200", "401", "200"]);
    // The BYE continues the dialog's CSeq from the authenticated INVITE (§12.2.1.1).
    assert_eq!(ids(&sent(w.net.trace(), "BYE")[0]).2, 3);
    common::assert_drained(&mut w, &[uac, uas]);
    assert_eq!(w.node(uac).endpoint.dialog_count(), 0);
    assert_eq!(w.node(uas).endpoint.dialog_count(), 0);
}

#[test]
fn wrong_credentials_pass_the_second_challenge_up() {
    let (mut w, uac, uas) = common::pair_with(92, LinkConfig::default(), |c| {
        c.allow.push(Method::Register);
    });
    challenging_uas(&mut w, uas, 401);
    w.command(uac, |ep, _| ep.set_credentials(None, "alice", "wrong"));
    let flow = w.flow(uac, uas);
    let register = request(
        &Method::Register,
        "sip:127.0.0.2:5062",
        "sip:alice@127.0.0.2",
        "auth-2",
        1,
    )
    .unwrap();
    let tx = w
        .command(uac, |ep, now| ep.send_request(now, register, flow))
        .unwrap();
    w.run_for(Duration::from_millis(300));
    // One retry, then the (non-stale) challenge of the answered realm goes to the TU.
    assert_eq!(common::event_labels(&mut w, uac), ["response 401"]);
    let (_, e) = &w.node(uac).events[0];
    assert!(matches!(e, Event::Response { tx: t, .. } if *t == tx));
    let (ua, ub) = (w.nodes[0].addr, w.nodes[1].addr);
    w.net.trace().assert_flow(ua, ub, &["REGISTER"]);
    w.net.trace().assert_flow(ub, ua, &["401"]);
    assert_eq!(sent(w.net.trace(), "REGISTER").len(), 2);
    common::assert_drained(&mut w, &[uac, uas]);
}

#[test]
fn without_credentials_for_the_realm_the_401_goes_up() {
    let (mut w, uac, uas) = common::pair(93, LinkConfig::default());
    challenging_uas(&mut w, uas, 403);
    w.set_script(uac, |ep, _, e| {
        if let Event::Response { response, .. } = e {
            ack_invite_2xx(ep, response);
        }
    });
    w.command(uac, |ep, _| {
        ep.set_credentials(Some("elsewhere"), "alice", "secret")
    });
    let flow = w.flow(uac, uas);
    let invite = request(
        &Method::Invite,
        "sip:b@127.0.0.2:5062",
        "sip:alice@127.0.0.1",
        "auth-3",
        1,
    )
    .unwrap();
    w.command(uac, |ep, now| ep.send_request(now, invite, flow))
        .unwrap();
    w.run_for(Duration::from_millis(300));
    assert_eq!(
        common::event_labels(&mut w, uac),
        ["response 100", "response 401"]
    );
    let (ua, ub) = (w.nodes[0].addr, w.nodes[1].addr);
    w.net.trace().assert_flow(ua, ub, &["INVITE", "ACK"]);
    w.net.trace().assert_flow(ub, ua, &["100", "401"]);
    common::assert_drained(&mut w, &[uac, uas]);
    assert_eq!(w.node(uac).endpoint.dialog_count(), 0);
}
