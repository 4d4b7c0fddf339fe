//! 10% loss, duplication and reordering on every message: retransmissions carry every
//! transaction to its end, each request reaches the UAS application exactly once, and nothing
//! leaks (RFC 3261 §17 on an unreliable transport).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use tandem_sip_core::Event;
use tandem_sip_msg::{HeaderName, Method};
use tandem_testkit::LinkConfig;
use tandem_testkit::sip::{ack_for, request};

fn run(seed: u64) {
    let link = LinkConfig::default()
        .with_loss(0.10)
        .with_duplicate(0.05)
        .with_reorder(0.05, Duration::from_millis(80))
        .with_jitter(Duration::from_millis(15));
    let (mut w, uac, uas) = common::pair(seed, link);
    let flow = w.flow(uac, uas);
    w.set_script(uas, |ep, now, e| {
        if let Event::Request { tx, request, .. } = e {
            match request.method() {
                Some(Method::Invite) => {
                    let mut ok = ep.make_response(*tx, 200, "OK").unwrap();
                    ok.push_header(&HeaderName::Contact, "<sip:b@127.0.0.2:5062>")
                        .unwrap();
                    ep.respond(now, *tx, ok).unwrap();
                }
                _ => ep.reply(now, *tx, 200, "OK").unwrap(),
            }
        }
    });
    w.set_script(uac, move |ep, _now, e| {
        if let Event::Response { response, .. } = e
            && response.status() == Some(200)
            && response
                .value(&HeaderName::CSeq)
                .is_some_and(|v| v.ends_with(b"INVITE"))
        {
            ep.send_ack(ack_for(response).unwrap(), flow).unwrap();
        }
    });
    let calls = 20;
    for i in 0..calls {
        let method = if i % 2 == 0 {
            Method::Invite
        } else {
            Method::Options
        };
        w.command(uac, |ep, now| {
            ep.send_request(
                now,
                request(
                    &method,
                    "sip:b@127.0.0.2",
                    "sip:a@127.0.0.1",
                    &format!("lossy-{seed}-{i}"),
                    1,
                )
                .unwrap(),
                flow,
            )
        })
        .unwrap();
        w.run_for(Duration::from_millis(50));
    }
    w.run_for(Duration::from_secs(40));
    let uas_events = common::event_labels(&mut w, uas);
    let requests = uas_events
        .iter()
        .filter(|l| l.starts_with("request"))
        .count();
    assert_eq!(
        requests, calls,
        "each request reaches the application once (seed {seed}): {uas_events:?}"
    );
    let final_200s = w.node(uac).events.iter().filter(|(_, e)| matches!(e, Event::Response { response, .. } if response.status() == Some(200))).count();
    assert!(
        final_200s >= calls,
        "every transaction got its 200 (seed {seed})"
    );
    let timeouts = common::event_labels(&mut w, uac)
        .iter()
        .filter(|l| *l == "timeout")
        .count();
    assert_eq!(timeouts, 0, "seed {seed}");
    assert!(
        w.net.trace().entries().iter().any(|e| e.lost),
        "the link did lose messages"
    );
    common::assert_drained(&mut w, &[uac, uas]);
}

#[test]
fn ten_percent_loss_many_seeds() {
    for seed in 0..20 {
        run(seed);
    }
}
