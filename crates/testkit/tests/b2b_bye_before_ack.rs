//! The caller hangs up before acknowledging the 2xx (its ACK lost or never sent). With a
//! late offer, leg B's 2xx carried an offer whose answer was to come in that ACK: Tandem
//! ACKs leg B with an answer rejecting every stream (RFC 3264 §6, §13.2.2.4: every 2xx is
//! ACKed) before its BYE; the caller's late ACK or Tandem's ACK timeout on leg A are
//! absorbed once the call is over.
#![allow(clippy::unwrap_used)]

mod b2b_common;

use b2b_common::{B_ANSWER, Callee, setup, values};
use tandem_call::EndCause;
use tandem_sip_core::Event;
use tandem_sip_msg::{HeaderName, Method};

#[test]
fn late_offer_bye_before_ack() {
    let mut t = setup(221, Callee::Rings);
    // A caller that never ACKs: it answers requests, nothing else.
    t.w.set_script(t.caller, |ep, now, e| {
        if let Event::Request { tx, .. } = e {
            let _ = ep.reply(now, *tx, 200, "OK");
        }
    });
    let invite = t.invite(None);
    t.run(200);
    t.answer(B_ANSWER); // the callee's offer
    t.run(100);
    let (caller, tandem, callee) = (t.caller, t.tandem, t.callee);
    assert_eq!(t.labels(tandem, caller), ["100", "180", "200"]);
    assert_eq!(
        t.labels(tandem, callee),
        ["INVITE"],
        "B's ACK waits for A's answer"
    );
    let d = t.caller_dialog(invite);
    t.send_in_dialog(caller, d, Method::Bye, None);
    t.run(300);
    assert_eq!(t.labels(tandem, callee), ["INVITE", "ACK", "BYE"]);
    let ack = t.first(tandem, callee, "ACK");
    let sdp = String::from_utf8_lossy(ack.body()).into_owned();
    let m: Vec<&str> = sdp.split("\r\n").filter(|l| l.starts_with("m=")).collect();
    assert_eq!(
        m,
        ["m=audio 0 RTP/AVP 0 101"],
        "every stream rejected: {sdp}"
    );
    assert!(sdp.contains("\r\no=tandem "), "{sdp}");
    assert_eq!(
        values(&t.first(tandem, callee, "BYE"), &HeaderName::Reason),
        ["SIP;cause=200;text=\"Caller hung up\""]
    );
    assert_eq!(t.ended(), Some(EndCause::CallerHangUp));
    // Leg A's 2xx is never ACKed: its retransmissions stop at Timer L, quietly.
    t.assert_drained();
    assert!(
        t.w.node(tandem)
            .events
            .iter()
            .any(|(_, e)| matches!(e, Event::AckTimeout { .. })),
        "the endpoint reported the missing ACK (absorbed by the controller)"
    );
}
