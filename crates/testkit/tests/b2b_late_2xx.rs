//! After a call ended, leg B's INVITE transaction still lives (RFC 6026 Accepted, Timer M)
//! and its 2xx still belong to the controller: a retransmitted 2xx whose ACK was lost is
//! ACKed again although the dialog is gone, and a fork's late 2xx is ACKed and ended with
//! BYE (RFC 3261 §13.2.2.4). Nothing reaches the application.
#![allow(clippy::unwrap_used)]

mod b2b_common;

use std::time::Duration;

use b2b_common::{A_OFFER, B_ANSWER, Callee, setup, values};
use tandem_sip_core::Event;
use tandem_sip_msg::headers::{CSeq, ToHeader};
use tandem_sip_msg::{HeaderName, Method};
use tandem_testkit::LinkConfig;
use tandem_testkit::sip::fork_response;

fn to_tag(m: &tandem_sip_msg::Message) -> String {
    m.typed::<ToHeader<'_>>()
        .unwrap()
        .unwrap()
        .0
        .tag()
        .unwrap()
        .to_owned()
}

#[test]
fn retransmitted_2xx_after_the_end_is_acked_again() {
    let mut t = setup(211, Callee::Rings);
    let invite = t.invite(Some(A_OFFER));
    t.run(200);
    let (caller, tandem, callee) = (t.caller, t.tandem, t.callee);
    let (tandem_addr, callee_addr) = (t.addr(tandem), t.addr(callee));
    // Tandem's ACK to leg B's 200 is lost.
    let lossy = LinkConfig::latency(Duration::from_millis(20)).with_loss(1.0);
    t.w.net.set_link(tandem_addr, callee_addr, lossy);
    t.answer(B_ANSWER);
    t.run(30);
    t.w.net.set_link(
        tandem_addr,
        callee_addr,
        LinkConfig::latency(Duration::from_millis(20)),
    );
    // The caller hangs up at once; leg B's BYE gets through and is answered.
    let d = t.caller_dialog(invite);
    t.send_in_dialog(caller, d, Method::Bye, None);
    t.run(200);
    assert_eq!(t.b2b.borrow().calls(), 0, "the call is over");
    assert_eq!(t.labels(tandem, callee), ["INVITE", "ACK", "BYE"]);
    // The callee retransmits its 200 (T1): Tandem ACKs it again, without a dialog.
    t.run(1_000);
    assert_eq!(t.labels(tandem, callee), ["INVITE", "ACK", "BYE", "ACK"]);
    let acks: Vec<_> = t
        .messages(tandem, callee)
        .into_iter()
        .filter(|m| m.method() == Some(Method::Ack))
        .collect();
    assert_eq!(
        acks[1].request_line().unwrap().uri,
        "sip:bob@127.0.0.2:5062"
    );
    assert_eq!(to_tag(&acks[1]), to_tag(&acks[0]));
    assert_eq!(
        acks[1].typed::<CSeq>().unwrap().unwrap().seq,
        acks[0].typed::<CSeq>().unwrap().unwrap().seq
    );
    t.run(40_000);
    let oks = t
        .messages(callee, tandem)
        .into_iter()
        .filter(|m| {
            m.status() == Some(200) && m.typed::<CSeq>().unwrap().unwrap().method == Method::Invite
        })
        .count();
    assert_eq!(oks, 2, "one retransmission, then the ACK stopped them");
    assert!(
        !t.w.node(callee)
            .events
            .iter()
            .any(|(_, e)| matches!(e, Event::AckTimeout { .. })),
        "the callee got its ACK"
    );
    t.assert_drained();
}

#[test]
fn late_fork_2xx_is_acked_and_ended() {
    let mut t = setup(212, Callee::Rings);
    let invite = t.invite(Some(A_OFFER));
    t.run(200);
    t.answer(B_ANSWER);
    t.run(200);
    let (caller, tandem, callee) = (t.caller, t.tandem, t.callee);
    let d = t.caller_dialog(invite);
    t.send_in_dialog(caller, d, Method::Bye, None);
    t.run(200);
    assert_eq!(t.b2b.borrow().calls(), 0);
    // Another fork behind a proxy answers leg B's INVITE late (Timer M is still running).
    let (_, b_invite) = t.callee_invite();
    let fork = fork_response(&b_invite, 200, "OK", "fork-2", "<sip:carol@127.0.0.2:5062>");
    let callee_addr = t.addr(callee);
    t.w.inject(callee_addr, tandem, fork);
    t.run(200);
    assert_eq!(
        t.labels(tandem, callee),
        ["INVITE", "ACK", "BYE", "ACK", "BYE"]
    );
    let msgs = t.messages(tandem, callee);
    let (ack, bye) = (&msgs[3], &msgs[4]);
    assert_eq!(to_tag(ack), "fork-2");
    assert_eq!(to_tag(bye), "fork-2");
    assert_eq!(bye.request_line().unwrap().uri, "sip:carol@127.0.0.2:5062");
    assert_eq!(
        values(bye, &HeaderName::Reason),
        ["SIP;cause=487;text=\"Call already ended\""]
    );
    // (The simulated callee knows no such dialog and answers 481: the BYE is done.)
    assert_eq!(t.labels(callee, tandem).last().unwrap(), "481");
    t.assert_drained();
}
