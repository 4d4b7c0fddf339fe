//! Scenario S1: a failure on leg B maps to a final response on leg A
//! (`tandem_call::map_failure`): 486 stays 486; no answer at all becomes 408.
#![allow(clippy::unwrap_used)]

mod b2b_common;

use b2b_common::{A_OFFER, Callee, setup, setup_with};
use tandem_call::EndCause;
use tandem_sip_core::{Flow, Transport};

#[test]
fn callee_busy_is_relayed() {
    let mut t = setup(105, Callee::Busy);
    t.invite(Some(A_OFFER));
    t.run(300);
    let (caller, tandem, callee) = (t.caller, t.tandem, t.callee);
    assert_eq!(t.labels(callee, tandem), ["100", "486"]);
    assert_eq!(t.labels(tandem, callee), ["INVITE", "ACK"]);
    assert_eq!(t.labels(tandem, caller), ["100", "486"]);
    assert_eq!(t.labels(caller, tandem), ["INVITE", "ACK"]);
    let busy = t.first(tandem, caller, "486");
    assert_eq!(busy.status_line().unwrap().reason_str(), Some("Busy Here"));
    assert_eq!(
        t.ended(),
        Some(EndCause::Rejected {
            status: 486,
            relayed: 486
        })
    );
    t.assert_drained();
}

#[test]
fn no_answer_becomes_408() {
    // Leg B goes to an address where nobody listens: Timer B fires (64·T1).
    let mut t = setup_with(106, Callee::Silent, |s| {
        s.destination = Flow {
            transport: Transport::Udp,
            local: b2b_common::TANDEM.parse().unwrap(),
            remote: "127.0.0.9:5099".parse().unwrap(),
        };
    });
    t.invite(Some(A_OFFER));
    t.run(40_000);
    let (caller, tandem) = (t.caller, t.tandem);
    assert_eq!(t.labels(tandem, caller), ["100", "408"]);
    assert_eq!(t.ended(), Some(EndCause::NoAnswer));
    t.assert_drained();
}
