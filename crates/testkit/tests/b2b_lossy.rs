//! Scenario S1 over a lossy network (10% loss, duplication and reordering, several seeds):
//! retransmissions on both legs still end in one call, established then ended by the
//! caller's BYE, with nothing left behind.
#![allow(clippy::unwrap_used)]

mod b2b_common;

use std::time::Duration;

use b2b_common::{A_OFFER, B_ANSWER, Callee, setup};
use tandem_call::EndCause;
use tandem_sip_msg::Method;
use tandem_testkit::LinkConfig;

#[test]
fn basic_call_survives_loss() {
    let mut lost = 0;
    for seed in 0..20 {
        let mut t = setup(1000 + seed, Callee::Rings);
        let link = LinkConfig::latency(Duration::from_millis(20))
            .with_loss(0.1)
            .with_duplicate(0.05)
            .with_reorder(0.05, Duration::from_millis(30));
        t.w.net = tandem_testkit::SimNet::new(seed, link);
        let invite = t.invite(Some(A_OFFER));
        t.run(5_000);
        t.answer(B_ANSWER);
        t.run(10_000);
        assert_eq!(t.b2b.borrow().calls(), 1, "seed {seed}:\n{}", t.ladder());
        let d_a = t.caller_dialog(invite);
        t.send_in_dialog(t.caller, d_a, Method::Bye, None);
        t.run(10_000);
        assert_eq!(
            t.ended(),
            Some(EndCause::CallerHangUp),
            "seed {seed}:\n{}",
            t.ladder()
        );
        lost += t.w.net.trace().entries().iter().filter(|e| e.lost).count();
        t.assert_drained();
    }
    assert!(lost > 20, "the network did lose datagrams ({lost})");
}
