//! Scenario S1 with digest credentials on leg B (`CallSettings::credentials`): the callee
//! challenges the INVITE with 401 (RFC 3261 §22.2); Tandem re-sends it with CSeq + 1, the
//! same Call-ID, From tag and offer, and an `Authorization`; the caller never sees the
//! challenge. Wrong credentials stop after two retries and leg A gets 403 (`map_failure`).
#![allow(clippy::unwrap_used)]

mod b2b_common;

use std::cell::RefCell;
use std::rc::Rc;

use b2b_common::{A_OFFER, B_ANSWER, B2bWorld, Callee, setup_with, values};
use bytes::Bytes;
use tandem_call::{CallState, Credentials, EndCause};
use tandem_sip_core::Event;
use tandem_sip_core::auth::{AuthKind, AuthOutcome, DigestAuthenticator, DigestConfig, Secret};
use tandem_sip_msg::headers::{CSeq, CallId, FromHeader};
use tandem_sip_msg::{HeaderName, Message, Method};

const REALM: &str = "callee.test";

/// The callee challenges every initial INVITE, and answers 200 (with SDP) to valid
/// credentials for alice/secret; wrong credentials are challenged again.
fn challenging_callee(t: &mut B2bWorld) {
    let now = t.w.clock.now();
    let server =
        DigestAuthenticator::new(DigestConfig::new(REALM, *b"0123456789abcdef"), now).unwrap();
    let server = Rc::new(RefCell::new(server));
    t.w.set_script(t.callee, move |ep, now, e| {
        let Event::Request { tx, request, .. } = e else {
            return;
        };
        if request.method() != Some(Method::Invite) || ep.dialog_of_server_tx(*tx).is_some() {
            ep.reply(now, *tx, 200, "OK").unwrap();
            return;
        }
        let outcome = server
            .borrow_mut()
            .verify_request(now, request, AuthKind::Www, |user, _| {
                (user == "alice").then(|| Secret::Password("secret".into()))
            });
        if let AuthOutcome::Ok { .. } = outcome {
            let mut r = ep.make_response(*tx, 200, "OK").unwrap();
            r.set_body(
                Some("application/sdp"),
                Bytes::from_static(B_ANSWER.as_bytes()),
            )
            .unwrap();
            ep.respond(now, *tx, r).unwrap();
            return;
        }
        let stale = matches!(outcome, AuthOutcome::Challenge { stale: true });
        let mut r = ep.make_response(*tx, 401, "Unauthorized").unwrap();
        for v in server.borrow_mut().challenge(now, stale) {
            r.push_header(&HeaderName::WwwAuthenticate, &v).unwrap();
        }
        ep.respond(now, *tx, r).unwrap();
    });
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
fn leg_b_challenge_is_answered_with_the_credentials() {
    let mut t = setup_with(151, Callee::Silent, |s| {
        s.credentials = Some(Credentials::new("alice", "secret").for_realm(REALM));
    });
    challenging_callee(&mut t);
    let invite = t.invite(Some(A_OFFER));
    t.run(500);
    let (caller, tandem, callee) = (t.caller, t.tandem, t.callee);
    assert_eq!(t.labels(tandem, callee), ["INVITE", "ACK", "INVITE", "ACK"]);
    assert_eq!(t.labels(callee, tandem), ["100", "401", "100", "200"]);
    assert_eq!(
        t.labels(tandem, caller),
        ["100", "200"],
        "the caller never sees the 401"
    );
    let invites: Vec<Message> = t
        .messages(tandem, callee)
        .into_iter()
        .filter(|m| m.method() == Some(Method::Invite))
        .collect();
    let (first, retry) = (&invites[0], &invites[1]);
    let (call_id, tag, seq) = ids(first);
    assert_eq!(
        ids(retry),
        (call_id, tag, seq + 1),
        "§8.1.3.5: same dialog, CSeq + 1"
    );
    assert!(values(first, &HeaderName::Authorization).is_empty());
    let auth = values(retry, &HeaderName::Authorization);
    assert_eq!(auth.len(), 1);
    assert!(auth[0].starts_with("Digest "), "{auth:?}");
    assert!(auth[0].contains("username=\"alice\""), "{auth:?}");
    assert!(auth[0].contains(&format!("realm=\"{REALM}\"")), "{auth:?}");
    assert_eq!(first.body(), retry.body(), "the same offer");
    assert_eq!(values(retry, &HeaderName::new("X-Queue")), ["sales"]);
    assert_eq!(
        t.states(),
        [CallState::Establishing, CallState::Established]
    );
    // The call is an ordinary call: the caller hangs up.
    let d = t.caller_dialog(invite);
    t.send_in_dialog(caller, d, Method::Bye, None);
    t.run(200);
    assert_eq!(
        t.labels(tandem, callee),
        ["INVITE", "ACK", "INVITE", "ACK", "BYE"]
    );
    assert_eq!(t.ended(), Some(EndCause::CallerHangUp));
    t.assert_drained();
}

#[test]
fn wrong_credentials_fail_leg_a_with_403() {
    let mut t = setup_with(152, Callee::Silent, |s| {
        s.credentials = Some(Credentials::new("alice", "wrong"));
    });
    challenging_callee(&mut t);
    t.invite(Some(A_OFFER));
    t.run(1_000);
    let (caller, tandem, callee) = (t.caller, t.tandem, t.callee);
    assert_eq!(
        t.labels(callee, tandem),
        ["100", "401", "100", "401", "100", "401"],
        "one first try and two retries"
    );
    assert_eq!(t.labels(tandem, caller), ["100", "403"]);
    assert_eq!(
        t.ended(),
        Some(EndCause::Rejected {
            status: 401,
            relayed: 403
        })
    );
    t.assert_drained();
}

#[test]
fn without_credentials_the_challenge_is_a_failure() {
    let mut t = setup_with(153, Callee::Silent, |_| {});
    challenging_callee(&mut t);
    t.invite(Some(A_OFFER));
    t.run(1_000);
    let (caller, tandem, callee) = (t.caller, t.tandem, t.callee);
    assert_eq!(t.labels(callee, tandem), ["100", "401"]);
    assert_eq!(t.labels(tandem, caller), ["100", "403"]);
    t.assert_drained();
}
