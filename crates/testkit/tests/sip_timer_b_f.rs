//! Timers B and F (RFC 3261 §17.1.1.2, §17.1.2.2): a peer that never answers. The
//! retransmission schedule over UDP is exact, and the transaction gives up at 64·T1.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use tandem_sip_msg::Method;
use tandem_testkit::LinkConfig;
use tandem_testkit::sip::request;

fn send_times(w: &tandem_testkit::World, label: &str) -> Vec<u128> {
    let t0 = w.net.trace().entries().first().unwrap().at;
    w.net
        .trace()
        .entries()
        .iter()
        .filter(|e| e.label() == label)
        .map(|e| (e.at - t0).as_millis())
        .collect()
}

#[test]
fn invite_to_a_silent_peer_times_out_by_timer_b() {
    let (mut w, uac, uas) = common::pair(5, LinkConfig::default().with_loss(1.0));
    let flow = w.flow(uac, uas);
    w.command(uac, |ep, now| {
        ep.send_request(
            now,
            request(
                &Method::Invite,
                "sip:b@127.0.0.2",
                "sip:a@127.0.0.1",
                "c5",
                1,
            )
            .unwrap(),
            flow,
        )
    })
    .unwrap();
    let spent = w.run_for(Duration::from_secs(60));
    // T1 doubling: 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s; Timer B at 32 s.
    assert_eq!(
        send_times(&w, "INVITE"),
        [0, 500, 1500, 3500, 7500, 15500, 31500]
    );
    assert_eq!(common::event_labels(&mut w, uac), ["timeout"]);
    let (at, _) = w.node(uac).events[0];
    assert_eq!((at - w.net.trace().entries()[0].at).as_millis(), 32_000);
    assert!(spent < Duration::from_secs(60));
    assert_eq!(w.node(uac).endpoint.transaction_counts(), (0, 0));
}

#[test]
fn options_to_a_silent_peer_times_out_by_timer_f_with_t2_cap() {
    let (mut w, uac, uas) = common::pair(6, LinkConfig::default().with_loss(1.0));
    let flow = w.flow(uac, uas);
    w.command(uac, |ep, now| {
        ep.send_request(
            now,
            request(
                &Method::Options,
                "sip:b@127.0.0.2",
                "sip:a@127.0.0.1",
                "c6",
                1,
            )
            .unwrap(),
            flow,
        )
    })
    .unwrap();
    w.run_for(Duration::from_secs(60));
    // 0, 0.5, 1.5, 3.5, then every T2 = 4 s until Timer F at 32 s.
    assert_eq!(
        send_times(&w, "OPTIONS"),
        [
            0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500
        ]
    );
    assert_eq!(common::event_labels(&mut w, uac), ["timeout"]);
    assert_eq!(w.node(uac).endpoint.transaction_counts(), (0, 0));
}
