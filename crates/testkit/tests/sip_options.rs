//! A non-INVITE transaction end to end: OPTIONS → 200 (RFC 3261 §17.1.2, §17.2.2, §11).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use tandem_sip_core::Event;
use tandem_sip_msg::Method;
use tandem_testkit::LinkConfig;
use tandem_testkit::sip::request;

#[test]
fn options_is_answered_once_and_both_sides_drain() {
    let (mut w, uac, uas) = common::pair(1, LinkConfig::default());
    w.set_script(uas, |ep, now, e| {
        if let Event::Request { tx, .. } = e {
            ep.reply(now, *tx, 200, "OK").unwrap();
        }
    });
    let flow = w.flow(uac, uas);
    w.command(uac, |ep, now| {
        ep.send_request(
            now,
            request(
                &Method::Options,
                "sip:b@127.0.0.2",
                "sip:a@127.0.0.1",
                "c1",
                1,
            )
            .unwrap(),
            flow,
        )
    })
    .unwrap();
    let spent = w.run_for(Duration::from_secs(1));
    assert_eq!(common::event_labels(&mut w, uac), ["response 200"]);
    assert_eq!(common::event_labels(&mut w, uas), ["request OPTIONS"]);
    assert!(spent <= Duration::from_secs(1));
    let (a, b) = (w.nodes[0].addr, w.nodes[1].addr);
    w.net.trace().assert_flow(a, b, &["OPTIONS"]);
    w.net.trace().assert_flow(b, a, &["200"]);
    common::assert_drained(&mut w, &[uac, uas]);
}
