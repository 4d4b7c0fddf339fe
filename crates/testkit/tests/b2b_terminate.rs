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

#[test]
fn terminate_with_headers_puts_them_on_both_byes() {
    let mut t = setup(114, Callee::Rings);
    t.invite(Some(A_OFFER));
    t.run(200);
    t.answer(B_ANSWER);
    t.run(200);
    let disposition = HeaderName::new("X-Disposition");
    let reason = Reason::new(200, "Transferred").with_header(disposition.clone(), "agent-2");
    terminate(&mut t, &reason);
    t.run(300);
    let (caller, tandem, callee) = (t.caller, t.tandem, t.callee);
    for n in [caller, callee] {
        let bye = t.first(tandem, n, "BYE");
        assert_eq!(values(&bye, &disposition), ["agent-2"]);
        assert_eq!(values(&bye, &HeaderName::Reason).len(), 1);
    }
    t.assert_drained();
}

#[test]
fn terminate_refuses_headers_the_dialog_owns_and_sends_nothing() {
    let mut t = setup(115, Callee::Rings);
    t.invite(Some(A_OFFER));
    t.run(200);
    t.answer(B_ANSWER);
    t.run(200);
    let b2b = t.b2b.clone();
    t.w.command(t.tandem, |ep, now| {
        let mut b2b = b2b.borrow_mut();
        let call = b2b.call_ids()[0];
        for bad in [
            Reason::new(200, "x").with_header(HeaderName::CallId, "forged"),
            Reason::new(200, "x").with_header(HeaderName::new("X-A"), "two\r\nlines"),
        ] {
            assert!(matches!(
                b2b.terminate(ep, now, call, &bad),
                Err(tandem_call::CallError::BadHeader(_))
            ));
        }
        assert_eq!(b2b.state(call), CallState::Established);
    });
    t.run(100);
    let (caller, tandem, callee) = (t.caller, t.tandem, t.callee);
    assert!(!t.labels(tandem, caller).iter().any(|l| l == "BYE"));
    assert!(!t.labels(tandem, callee).iter().any(|l| l == "BYE"));
}
