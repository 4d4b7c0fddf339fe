//! Scenario S1 ended by the application (`B2bua::terminate`): before the answer, leg A gets
//! 480 and leg B a CANCEL; after it, both legs get BYE with the given `Reason` (RFC 3326).
#![allow(clippy::unwrap_used)]

mod b2b_common;

use b2b_common::{A_OFFER, B_ANSWER, B2bWorld, Callee, setup, values};
use tandem_call::{CallState, EndCause, Reason};
use tandem_sip_msg::HeaderName;

fn terminate(t: &mut B2bWorld, reason: &Reason) {
    let b2b = t.b2b.clone();
    t.w.command(t.tandem, |ep, now| {
        let mut b2b = b2b.borrow_mut();
        let call = b2b.call_ids()[0];
        b2b.terminate(ep, now, call, reason).unwrap();
        assert_eq!(b2b.state(call), CallState::Terminating);
    });
}

#[test]
fn terminate_while_ringing() {
    let mut t = setup(112, Callee::Rings);
    t.invite(Some(A_OFFER));
    t.run(200);
    terminate(&mut t, &Reason::new(480, "No agent"));
    t.run(300);
    let (caller, tandem, callee) = (t.caller, t.tandem, t.callee);
    assert_eq!(t.labels(tandem, caller), ["100", "180", "480"]);
    assert_eq!(t.labels(tandem, callee), ["INVITE", "CANCEL", "ACK"]);
    assert_eq!(t.ended(), Some(EndCause::Terminated));
    t.assert_drained();
}

#[test]
fn terminate_established_call() {
    let mut t = setup(113, Callee::Rings);
    t.invite(Some(A_OFFER));
    t.run(200);
    t.answer(B_ANSWER);
    t.run(200);
    terminate(&mut t, &Reason::new(200, "Shift over"));
    t.run(300);
    let (caller, tandem, callee) = (t.caller, t.tandem, t.callee);
    for n in [caller, callee] {
        let bye = t.first(tandem, n, "BYE");
        assert_eq!(
            values(&bye, &HeaderName::Reason),
            ["SIP;cause=200;text=\"Shift over\""]
        );
    }
    assert_eq!(
        t.labels(caller, tandem).last().map(String::as_str),
        Some("200")
    );
    assert_eq!(
        t.labels(callee, tandem).last().map(String::as_str),
        Some("200")
    );
    assert_eq!(t.ended(), Some(EndCause::Terminated));
    t.assert_drained();
}
