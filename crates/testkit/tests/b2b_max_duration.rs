//! Scenario S1 with a maximum call duration (`CallSettings::max_duration`): 60 s after the
//! answer Tandem sends BYE on both legs with `Reason: SIP;cause=200;text="Maximum call
//! duration"` (RFC 3326), and the call ends with `EndCause::MaxDuration`.
#![allow(clippy::unwrap_used)]

mod b2b_common;

use std::time::Duration;

use b2b_common::{A_OFFER, B_ANSWER, Callee, setup_with, values};
use tandem_call::{CallState, EndCause};
use tandem_sip_msg::HeaderName;

#[test]
fn call_ends_at_its_maximum_duration() {
    let mut t = setup_with(141, Callee::Rings, |s| {
        s.max_duration = Some(Duration::from_secs(60));
    });
    t.invite(Some(A_OFFER));
    t.run(200);
    t.answer(B_ANSWER);
    t.run(200);
    let (caller, tandem, callee) = (t.caller, t.tandem, t.callee);
    let answered = t.times(tandem, caller, "200")[0];
    t.run(59_000);
    assert_eq!(t.labels(tandem, caller), ["100", "180", "200"], "not yet");
    t.run(2_000);
    assert_eq!(t.labels(tandem, caller), ["100", "180", "200", "BYE"]);
    assert_eq!(t.labels(tandem, callee), ["INVITE", "ACK", "BYE"]);
    assert_eq!(t.labels(caller, tandem), ["INVITE", "ACK", "200"]);
    assert_eq!(t.labels(callee, tandem), ["100", "180", "200", "200"]);
    let bye_a = t.times(tandem, caller, "BYE")[0];
    // The limit runs from leg B's 2xx, which reached Tandem just before leg A's 200 left.
    assert!(
        bye_a - answered <= Duration::from_secs(60),
        "{:?}",
        bye_a - answered
    );
    assert!(bye_a - answered >= Duration::from_millis(59_900));
    for (to, label) in [(caller, "BYE"), (callee, "BYE")] {
        let bye = t.first(tandem, to, label);
        assert_eq!(
            values(&bye, &HeaderName::Reason),
            ["SIP;cause=200;text=\"Maximum call duration\""]
        );
    }
    assert_eq!(t.ended(), Some(EndCause::MaxDuration));
    assert_eq!(
        t.states(),
        [
            CallState::Establishing,
            CallState::Established,
            CallState::Terminating,
            CallState::Terminated
        ]
    );
    t.assert_drained();
}
