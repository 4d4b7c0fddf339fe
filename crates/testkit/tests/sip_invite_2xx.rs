//! Basic call setup: INVITE → 100 → 180 → 200 → ACK, with the 2xx retransmitted until the ACK
//! (RFC 3261 §13.3.1.4, §17, RFC 6026 Accepted states).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use tandem_sip_core::Event;
use tandem_sip_msg::{HeaderName, Method};
use tandem_testkit::LinkConfig;
use tandem_testkit::sip::{ack_for, request};

#[test]
fn invite_180_200_ack() {
    let (mut w, uac, uas) = common::pair(2, LinkConfig::default());
    let uac_flow = w.flow(uac, uas);
    w.set_script(uas, |ep, now, e| {
        if let Event::Request { tx, .. } = e {
            ep.reply(now, *tx, 180, "Ringing").unwrap();
            let mut ok = ep.make_response(*tx, 200, "OK").unwrap();
            ok.push_header(&HeaderName::Contact, "<sip:b@127.0.0.2:5062>")
                .unwrap();
            ep.respond(now, *tx, ok).unwrap();
        }
    });
    w.set_script(uac, move |ep, _now, e| {
        if let Event::Response { response, .. } = e
            && response.status() == Some(200)
        {
            ep.send_ack(ack_for(response).unwrap(), uac_flow).unwrap();
        }
    });
    w.command(uac, |ep, now| {
        ep.send_request(
            now,
            request(
                &Method::Invite,
                "sip:b@127.0.0.2",
                "sip:a@127.0.0.1",
                "call-1",
                1,
            )
            .unwrap(),
            uac_flow,
        )
    })
    .unwrap();
    w.run_for(Duration::from_secs(2));
    assert_eq!(
        common::event_labels(&mut w, uac),
        ["response 100", "response 180", "response 200"]
    );
    assert_eq!(common::event_labels(&mut w, uas), ["request INVITE", "ack"]);
    let (a, b) = (w.nodes[0].addr, w.nodes[1].addr);
    w.net.trace().assert_flow(a, b, &["INVITE", "ACK"]);
    w.net.trace().assert_flow(b, a, &["100", "180", "200"]);
    assert_eq!(
        w.net.trace().count("200"),
        1,
        "ACK came in time: no 2xx retransmission"
    );
    common::assert_drained(&mut w, &[uac, uas]);
}

#[test]
fn lost_ack_makes_the_uas_retransmit_the_2xx_and_the_uac_ack_again() {
    let (mut w, uac, uas) = common::pair(3, LinkConfig::default());
    let uac_flow = w.flow(uac, uas);
    let (a, b) = (w.nodes[0].addr, w.nodes[1].addr);
    w.set_script(uas, |ep, now, e| {
        if let Event::Request { tx, .. } = e {
            let mut ok = ep.make_response(*tx, 200, "OK").unwrap();
            ok.push_header(&HeaderName::Contact, "<sip:b@127.0.0.2:5062>")
                .unwrap();
            ep.respond(now, *tx, ok).unwrap();
        }
    });
    let acks_sent = std::rc::Rc::new(std::cell::Cell::new(0));
    let counter = acks_sent.clone();
    w.set_script(uac, move |ep, _now, e| {
        if let Event::Response { response, .. } = e
            && response.status() == Some(200)
        {
            counter.set(counter.get() + 1);
            ep.send_ack(ack_for(response).unwrap(), uac_flow).unwrap();
        }
    });
    // The first ACK is lost: the link drops everything from UAC to UAS for a moment.
    w.command(uac, |ep, now| {
        ep.send_request(
            now,
            request(
                &Method::Invite,
                "sip:b@127.0.0.2",
                "sip:a@127.0.0.1",
                "call-2",
                1,
            )
            .unwrap(),
            uac_flow,
        )
    })
    .unwrap();
    w.run_for(Duration::from_millis(30)); // INVITE delivered
    w.net.set_link(
        a,
        b,
        LinkConfig::latency(Duration::from_millis(20)).with_loss(1.0),
    );
    w.run_for(Duration::from_millis(60)); // 100 + 200 arrive, first ACK lost
    w.net
        .set_link(a, b, LinkConfig::latency(Duration::from_millis(20)));
    w.run_for(Duration::from_secs(3));
    assert!(
        w.net.trace().count("200") >= 2,
        "the 2xx was retransmitted:\n{}",
        w.net.trace().ladder().join("\n")
    );
    assert_eq!(common::event_labels(&mut w, uas), ["request INVITE", "ack"]);
    let acks = w
        .net
        .trace()
        .entries()
        .iter()
        .filter(|e| e.label() == "ACK" && !e.lost)
        .count();
    assert_eq!(acks, 1, "one ACK got through");
    assert!(
        acks_sent.get() >= 2,
        "the UAC answered the retransmitted 2xx with a new ACK"
    );
    common::assert_drained(&mut w, &[uac, uas]);
}
