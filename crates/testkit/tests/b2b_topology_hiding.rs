//! Scenario S1's topology hiding: nothing that identifies leg A (Call-ID, tags, Via,
//! Contact, Record-Route, headers off the allow-list, its `o=` line) appears in any message
//! of leg B, and nothing of leg B appears on leg A. Media addresses (`c=`, `m=`) do cross:
//! media flows peer to peer.
#![allow(clippy::unwrap_used)]

mod b2b_common;

use b2b_common::{A_CALL_ID, A_OFFER, B_ANSWER, Callee, setup};
use tandem_sip_msg::headers::{CallId, FromHeader, ToHeader};
use tandem_sip_msg::{Message, Method};

fn text(m: &Message) -> String {
    String::from_utf8_lossy(&m.to_bytes()).into_owned()
}

#[test]
fn nothing_of_one_leg_reaches_the_other() {
    let mut t = setup(109, Callee::Rings);
    let invite = t.invite(Some(A_OFFER));
    t.run(200);
    t.answer(B_ANSWER);
    t.run(200);
    let (caller, tandem, callee) = (t.caller, t.tandem, t.callee);
    let d_a = t.caller_dialog(invite);
    let d_b = t.callee_dialog();
    // Mid-call traffic both ways, then the end.
    t.send_in_dialog(caller, d_a, Method::Invite, Some(b2b_common::A_HOLD));
    t.run(300);
    t.send_in_dialog(callee, d_b, Method::Invite, Some(B_ANSWER));
    t.run(300);
    t.send_in_dialog(caller, d_a, Method::Bye, None);
    t.run(300);

    let a_invite = t.first(caller, tandem, "INVITE");
    let a_tag = a_invite
        .typed::<FromHeader<'_>>()
        .unwrap()
        .unwrap()
        .0
        .tag()
        .unwrap()
        .to_owned();
    let (_, b_invite) = t.callee_invite();
    let b_call_id = b_invite
        .typed::<CallId<'_>>()
        .unwrap()
        .unwrap()
        .0
        .to_owned();
    let b_ok = t.first(callee, tandem, "200");
    let b_tag = b_ok
        .typed::<ToHeader<'_>>()
        .unwrap()
        .unwrap()
        .0
        .tag()
        .unwrap()
        .to_owned();
    assert_ne!(b_call_id, A_CALL_ID);

    let leg_a_secrets = [
        A_CALL_ID.to_owned(),
        format!("tag={a_tag}"),
        "127.0.0.1:5061".to_owned(), // the caller's Via sent-by and Contact
        "rr-a.invalid".to_owned(),
        "X-Caller-Secret".to_owned(),
        "o=alice".to_owned(),
    ];
    let to_b = t.messages(tandem, callee);
    assert!(to_b.len() >= 6, "{}", t.ladder());
    for m in &to_b {
        let s = text(m);
        for secret in &leg_a_secrets {
            assert!(
                !s.contains(secret.as_str()),
                "{secret} leaked to leg B:\n{s}"
            );
        }
    }
    let leg_b_secrets = [
        b_call_id,
        format!("tag={b_tag}"),
        "127.0.0.2:5062".to_owned(), // the callee's Via sent-by and Contact
        "X-Callee-Secret".to_owned(),
        "o=bob".to_owned(),
    ];
    let to_a = t.messages(tandem, caller);
    assert!(to_a.len() >= 6, "{}", t.ladder());
    for m in &to_a {
        let s = text(m);
        for secret in &leg_b_secrets {
            assert!(
                !s.contains(secret.as_str()),
                "{secret} leaked to leg A:\n{s}"
            );
        }
    }
    // The media addresses did cross (peer-to-peer media, Tandem sends no RTP).
    let ok_a = t.first(tandem, caller, "200");
    assert!(text(&ok_a).contains("c=IN IP4 127.0.0.2"));
    t.assert_drained();
}
