//! Scenario S1, mid-call: hold by re-INVITE from each side is relayed to the other leg with
//! the SDP under Tandem's per-leg origin, whose version moves only when the content changes
//! (RFC 3264 §8); the far leg's 2xx is ACKed and relayed back.
#![allow(clippy::unwrap_used)]

mod b2b_common;

use b2b_common::{A_HOLD, A_OFFER, B_ANSWER, B2bWorld, Callee, assert_same_but_origin, setup};
use tandem_call::{CallState, EndCause};
use tandem_sip_msg::{Message, Method};

const B_HOLD: &str = "v=0\r\no=bob 2000 2001 IN IP4 127.0.0.2\r\ns=-\r\n\
    c=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 50000 RTP/AVP 0 101\r\n\
    a=rtpmap:101 telephone-event/8000\r\na=sendonly\r\n";

/// `(session id, version)` of Tandem's `o=` line in `m`.
fn origin(m: &Message) -> (String, String) {
    let (_, o) = b2b_common::split_origin(m.body());
    let f: Vec<&str> = o.split(' ').collect();
    (f[1].to_owned(), f[2].to_owned())
}

fn nth(
    t: &mut B2bWorld,
    from: tandem_testkit::NodeId,
    to: tandem_testkit::NodeId,
    label: &str,
    n: usize,
) -> Message {
    t.messages(from, to)
        .into_iter()
        .filter(|m| {
            m.method().is_some_and(|x| x.as_str() == label)
                || m.status().is_some_and(|s| s.to_string() == label)
        })
        .nth(n)
        .unwrap_or_else(|| panic!("no {label} #{n}:\n{}", t.ladder()))
}

#[test]
fn hold_from_either_side_is_relayed() {
    let mut t = setup(107, Callee::Rings);
    let invite = t.invite(Some(A_OFFER));
    t.run(200);
    t.answer(B_ANSWER);
    t.run(200);
    let (caller, tandem, callee) = (t.caller, t.tandem, t.callee);
    let d_a = t.caller_dialog(invite);
    let d_b = t.callee_dialog();
    let first_b = nth(&mut t, tandem, callee, "INVITE", 0);
    let first_a = nth(&mut t, tandem, caller, "200", 0);

    // The caller holds: re-INVITE with a=sendonly.
    t.send_in_dialog(caller, d_a, Method::Invite, Some(A_HOLD));
    t.run(300);
    let hold_b = nth(&mut t, tandem, callee, "INVITE", 1);
    assert_same_but_origin(hold_b.body(), A_HOLD);
    let (sid, v) = origin(&hold_b);
    assert_eq!(
        (sid, v.as_str()),
        (origin(&first_b).0, "2"),
        "same sess-id, version+1"
    );
    let ok_a = nth(&mut t, tandem, caller, "200", 1);
    assert_same_but_origin(ok_a.body(), B_ANSWER);
    assert_eq!(
        origin(&ok_a),
        origin(&first_a),
        "unchanged answer: same version"
    );
    assert_eq!(
        t.labels(tandem, callee),
        ["INVITE", "ACK", "INVITE", "ACK"],
        "leg B's re-INVITE ACKed"
    );
    assert_eq!(t.labels(caller, tandem), ["INVITE", "ACK", "INVITE", "ACK"]);

    // The callee holds (and the caller answers with its full offer).
    t.send_in_dialog(callee, d_b, Method::Invite, Some(B_HOLD));
    t.run(300);
    let hold_a = nth(&mut t, tandem, caller, "INVITE", 0);
    assert_same_but_origin(hold_a.body(), B_HOLD);
    assert_eq!(origin(&hold_a).1, "2", "leg A's version+1");
    let ok_b = nth(&mut t, tandem, callee, "200", 0);
    assert_same_but_origin(ok_b.body(), A_OFFER);
    assert_eq!(
        origin(&ok_b).1,
        "3",
        "differs from the hold SDP sent last on leg B"
    );
    assert_eq!(
        t.labels(tandem, caller).last().map(String::as_str),
        Some("ACK")
    );
    assert_eq!(
        t.labels(callee, tandem).last().map(String::as_str),
        Some("ACK")
    );
    assert_eq!(t.b2b.borrow().calls(), 1);
    assert_eq!(
        t.states().last(),
        Some(&CallState::Established),
        "re-INVITEs do not change the call state"
    );

    t.send_in_dialog(caller, d_a, Method::Bye, None);
    t.run(200);
    assert_eq!(t.ended(), Some(EndCause::CallerHangUp));
    t.assert_drained();
}
