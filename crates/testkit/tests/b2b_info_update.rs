//! Scenario S1, mid-call: INFO (body relayed as is) and UPDATE (RFC 3311, SDP relayed under
//! Tandem's origin) go to the other leg and their final responses come back; a re-INVITE
//! that crosses an INVITE in progress on the far leg gets 491 (RFC 3261 §14.2).
#![allow(clippy::unwrap_used)]

mod b2b_common;

use b2b_common::{A_HOLD, A_OFFER, B_ANSWER, Callee, assert_same_but_origin, setup};
use bytes::Bytes;
use tandem_call::EndCause;
use tandem_sip_msg::{HeaderName, Method};

const DTMF: &str = "Signal=5\r\nDuration=160\r\n";

#[test]
fn info_and_update_are_relayed() {
    let mut t = setup(110, Callee::Rings);
    let invite = t.invite(Some(A_OFFER));
    t.run(200);
    t.answer(B_ANSWER);
    t.run(200);
    let (caller, tandem, callee) = (t.caller, t.tandem, t.callee);
    let d_a = t.caller_dialog(invite);
    let d_b = t.callee_dialog();

    t.w.command(caller, |ep, now| {
        let mut m = ep.dialog_request(d_a, &Method::Info)?;
        m.set_body(
            Some("application/dtmf-relay"),
            Bytes::from_static(DTMF.as_bytes()),
        )?;
        ep.send_in_dialog(now, d_a, m)
    })
    .unwrap();
    t.run(200);
    let info = t.first(tandem, callee, "INFO");
    assert_eq!(info.body(), DTMF.as_bytes(), "a non-SDP body crosses as is");
    assert_eq!(
        b2b_common::values(&info, &HeaderName::ContentType),
        ["application/dtmf-relay"]
    );
    assert_eq!(
        t.labels(callee, tandem).last().map(String::as_str),
        Some("200")
    );
    assert_eq!(
        t.labels(tandem, caller).last().map(String::as_str),
        Some("200")
    );

    t.send_in_dialog(callee, d_b, Method::Update, Some(B_ANSWER));
    t.run(200);
    let update = t.first(tandem, caller, "UPDATE");
    assert_same_but_origin(update.body(), B_ANSWER);
    let ok = t
        .messages(tandem, callee)
        .into_iter()
        .filter(|m| m.status() == Some(200))
        .last()
        .unwrap();
    assert_same_but_origin(ok.body(), A_OFFER);

    t.send_in_dialog(callee, d_b, Method::Bye, None);
    t.run(200);
    assert_eq!(t.ended(), Some(EndCause::CalleeHangUp));
    t.assert_drained();
}

#[test]
fn reinvite_crossing_one_in_progress_gets_491() {
    let mut t = setup(111, Callee::Rings);
    let invite = t.invite(Some(A_OFFER));
    t.run(200);
    t.answer(B_ANSWER);
    t.run(200);
    let (caller, tandem) = (t.caller, t.tandem);
    let d_a = t.caller_dialog(invite);
    let d_b = t.callee_dialog();
    // Both hold at the same moment: each re-INVITE reaches Tandem while the other leg's
    // is in progress, so Tandem's endpoint or controller answers 491 on both legs.
    t.send_in_dialog(caller, d_a, Method::Invite, Some(A_HOLD));
    t.send_in_dialog(t.callee, d_b, Method::Invite, Some(B_ANSWER));
    t.run(500);
    // The caller's re-INVITE was relayed first; the callee's own re-INVITE crossed it: the
    // callee's endpoint answered the relayed one 491 (relayed back to the caller as 491),
    // and Tandem's endpoint answered the callee's 491 (Tandem's INVITE was in progress).
    let callee = t.callee;
    assert!(
        t.labels(tandem, caller).contains(&"491".to_owned()),
        "{}",
        t.ladder()
    );
    assert!(
        t.labels(tandem, callee).contains(&"491".to_owned()),
        "{}",
        t.ladder()
    );
    assert!(
        t.labels(callee, tandem).contains(&"491".to_owned()),
        "{}",
        t.ladder()
    );
    assert_eq!(t.b2b.borrow().calls(), 1, "glare does not end the call");
    t.send_in_dialog(caller, d_a, Method::Bye, None);
    t.run(200);
    assert_eq!(t.ended(), Some(EndCause::CallerHangUp));
    t.assert_drained();
}
