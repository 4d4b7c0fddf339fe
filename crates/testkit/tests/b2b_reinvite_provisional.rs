//! A provisional response (other than 100) to a relayed re-INVITE is relayed to the
//! requesting leg (RFC 3261 §13.3.1.1: e.g. 180 while the far side asks its user), with
//! allow-listed headers, before the final response.
#![allow(clippy::unwrap_used)]

mod b2b_common;

use b2b_common::{A_HOLD, A_OFFER, B_ANSWER, Callee, setup};
use bytes::Bytes;
use tandem_sip_core::{Event, ServerTxId};
use tandem_sip_msg::Method;

#[test]
fn provisional_to_a_reinvite_is_relayed() {
    let mut t = setup(231, Callee::Rings);
    let invite = t.invite(Some(A_OFFER));
    t.run(200);
    t.answer(B_ANSWER);
    t.run(200);
    let (caller, tandem, callee) = (t.caller, t.tandem, t.callee);
    // From now on the callee answers in-dialog INVITEs 180 and waits.
    t.w.set_script(callee, |ep, now, e| {
        if let Event::Request { tx, request, .. } = e
            && request.method() == Some(Method::Invite)
        {
            ep.reply(now, *tx, 180, "Ringing").unwrap();
        }
    });
    let d = t.caller_dialog(invite);
    t.send_in_dialog(caller, d, Method::Invite, Some(A_HOLD));
    t.run(200);
    assert_eq!(
        t.labels(callee, tandem),
        ["100", "180", "200", "100", "180"]
    );
    assert_eq!(
        t.labels(tandem, caller),
        ["100", "180", "200", "100", "180"],
        "the re-INVITE's 180 relayed"
    );
    // The callee answers the re-INVITE: 200 relayed, ACKs on both legs.
    let tx: ServerTxId =
        t.w.node(callee)
            .events
            .iter()
            .rev()
            .find_map(|(_, e)| match e {
                Event::Request { tx, request, .. } if request.method() == Some(Method::Invite) => {
                    Some(*tx)
                }
                _ => None,
            })
            .unwrap();
    t.w.command(callee, |ep, now| {
        let mut r = ep.make_response(tx, 200, "OK").unwrap();
        r.set_body(
            Some("application/sdp"),
            Bytes::from_static(B_ANSWER.as_bytes()),
        )
        .unwrap();
        ep.respond(now, tx, r).unwrap();
    });
    t.run(200);
    assert_eq!(
        t.labels(tandem, caller),
        ["100", "180", "200", "100", "180", "200"]
    );
    assert_eq!(t.labels(tandem, callee), ["INVITE", "ACK", "INVITE", "ACK"]);
    assert_eq!(t.labels(caller, tandem), ["INVITE", "ACK", "INVITE", "ACK"]);
}
