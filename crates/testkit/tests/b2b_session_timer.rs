//! Scenario S1 with a session timer on leg B (`CallSettings::session_expires`, RFC 4028):
//! leg B's INVITE asks for `Session-Expires: 120;refresher=uac` with `Supported: timer`;
//! the callee agrees, and Tandem's endpoint refreshes leg B every 60 s by itself (UPDATE,
//! §10) without anything reaching the caller.
#![allow(clippy::unwrap_used)]

mod b2b_common;

use std::time::Duration;

use b2b_common::{A_OFFER, B_ANSWER, CALLEE, Callee, TANDEM, setup_full, values};
use tandem_call::CallState;
use tandem_sip_msg::HeaderName;

#[test]
fn leg_b_gets_its_own_session_timer() {
    let mut t = setup_full(
        161,
        Callee::Rings,
        |s| s.session_expires = Some(Duration::from_secs(120)),
        |addr, c| {
            if addr == TANDEM || addr == CALLEE {
                c.supported.push("timer".to_owned());
            }
        },
    );
    t.invite(Some(A_OFFER));
    t.run(200);
    t.answer(B_ANSWER);
    t.run(200);
    let (caller, tandem, callee) = (t.caller, t.tandem, t.callee);
    let invite = t.first(tandem, callee, "INVITE");
    assert_eq!(
        values(&invite, &HeaderName::SessionExpires),
        ["120;refresher=uac"]
    );
    assert!(
        values(&invite, &HeaderName::Supported)
            .iter()
            .any(|v| v.split(',').any(|t| t.trim() == "timer")),
        "{:?}",
        values(&invite, &HeaderName::Supported)
    );
    let ok = t.first(callee, tandem, "200");
    assert_eq!(
        values(&ok, &HeaderName::SessionExpires),
        ["120;refresher=uac"]
    );
    // Leg A asked for no timer and gets none.
    assert!(values(&t.first(tandem, caller, "200"), &HeaderName::SessionExpires).is_empty());
    t.run_for(Duration::from_secs(130));
    assert_eq!(
        t.labels(tandem, callee),
        ["INVITE", "ACK", "UPDATE", "UPDATE"],
        "refreshed at 60 s and 120 s"
    );
    assert_eq!(
        t.labels(callee, tandem),
        ["100", "180", "200", "200", "200"]
    );
    assert_eq!(
        t.labels(tandem, caller),
        ["100", "180", "200"],
        "nothing relayed"
    );
    assert_eq!(
        t.states(),
        [CallState::Establishing, CallState::Established]
    );
}
