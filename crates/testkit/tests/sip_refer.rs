//! REFER (RFC 3515) with its implicit subscription. In a call A–B, A refers B to C: B's TU
//! accepts with 202, reports `SIP/2.0 100 Trying` in a NOTIFY, calls C carrying A's
//! `Referred-By`, and on C's 200 reports `SIP/2.0 200 OK` with `Subscription-State:
//! terminated`. Outside a dialog, the REFER's 202 creates a subscription-only dialog on
//! both sides, which ends with the terminating NOTIFY's 200.
#![allow(clippy::unwrap_used)]

mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use tandem_sip_core::{DialogId, DialogState, EndpointConfig, Event, Flow, Transport, refer_to};
use tandem_sip_msg::headers::CSeq;
use tandem_sip_msg::{HeaderName, Message, Method};
use tandem_testkit::sip::{ack_invite_2xx, dialog_ua, header_values, received, request, sent};
use tandem_testkit::{LinkConfig, NodeId, World};

const C: &str = "127.0.0.3:5063";

fn config(seed: u64) -> EndpointConfig {
    let mut c = EndpointConfig {
        seed,
        ..EndpointConfig::default()
    };
    c.allow.extend([Method::Refer, Method::Notify]);
    c
}

fn world(seed: u64) -> (World, NodeId, NodeId, NodeId) {
    let mut w = World::new(seed, LinkConfig::latency(Duration::from_millis(20)));
    let a = w.add_node(common::UAC, config(seed ^ 1));
    let b = w.add_node(common::UAS, config(seed ^ 2));
    let c = w.add_node(C, config(seed ^ 3));
    (w, a, b, c)
}

fn invite(target: &str, from: &str, call_id: &str, contact: &str) -> Message {
    let mut m = request(&Method::Invite, target, from, call_id, 1).unwrap();
    m.replace_header(&HeaderName::Contact, contact).unwrap();
    m
}

fn bye(w: &mut World, n: NodeId, d: DialogId) {
    w.command(n, |ep, now| {
        let m = ep.dialog_request(d, &Method::Bye)?;
        ep.send_in_dialog(now, d, m)
    })
    .unwrap();
    w.run_for(Duration::from_millis(300));
}

#[test]
fn refer_in_a_call_notifies_trying_then_ok() {
    let (mut w, a, b, c) = world(141);
    w.set_script(a, dialog_ua);
    w.set_script(c, dialog_ua);
    // B: the transferee. Accepts the REFER, calls C, reports progress.
    let refer_dialog: Rc<Cell<Option<DialogId>>> = Rc::default();
    let rd = refer_dialog.clone();
    w.set_script(b, move |ep, now, e| match e {
        Event::Request { tx, request, .. } if request.method() == Some(Method::Refer) => {
            let target = refer_to(request).unwrap();
            assert_eq!(target.uri.to_string(), "sip:c@127.0.0.3:5063");
            ep.reply(now, *tx, 202, "Accepted").unwrap();
            let d = ep.dialog_of_server_tx(*tx).unwrap();
            rd.set(Some(d));
            ep.notify_refer(now, d, "SIP/2.0 100 Trying", false)
                .unwrap();
            let mut call = invite(
                &target.uri.to_string(),
                "sip:b@127.0.0.2",
                "refer-bc",
                "<sip:b@127.0.0.2:5062>",
            );
            call.push_header(&HeaderName::ReferredBy, &target.referred_by.unwrap())
                .unwrap();
            let flow = Flow {
                transport: Transport::Udp,
                local: common::UAS.parse().unwrap(),
                remote: C.parse().unwrap(),
            };
            ep.send_request(now, call, flow).unwrap();
        }
        Event::Request { tx, .. } => ep.reply(now, *tx, 200, "OK").unwrap(),
        Event::Response { response, .. } => {
            ack_invite_2xx(ep, response);
            let cseq = response.typed::<CSeq>().unwrap().unwrap();
            let from_c = response.value(&HeaderName::CallId) == Some(b"refer-bc".as_slice());
            if from_c
                && cseq.method == Method::Invite
                && response.status() == Some(200)
                && let Some(d) = rd.take()
            {
                ep.notify_refer(now, d, "SIP/2.0 200 OK", true).unwrap();
            }
        }
        _ => {}
    });
    // A calls B.
    let flow = w.flow(a, b);
    let tx = w
        .command(a, |ep, now| {
            ep.send_request(
                now,
                invite(
                    "sip:b@127.0.0.2:5062",
                    "sip:a@127.0.0.1",
                    "refer-ab",
                    "<sip:a@127.0.0.1:5061>",
                ),
                flow,
            )
        })
        .unwrap();
    w.run_for(Duration::from_millis(300));
    let dab = w.node(a).endpoint.dialog_of_client_tx(tx).unwrap();
    // A refers B to C.
    w.command(a, |ep, now| {
        let mut m = ep.dialog_request(dab, &Method::Refer)?;
        m.push_header(&HeaderName::ReferTo, "<sip:c@127.0.0.3:5063>")?;
        m.push_header(&HeaderName::ReferredBy, "<sip:a@127.0.0.1>")?;
        ep.send_in_dialog(now, dab, m)
    })
    .unwrap();
    w.run_for(Duration::from_millis(500));
    // The NOTIFYs: Event, Subscription-State, sipfrag.
    let notifies = sent(w.net.trace(), "NOTIFY");
    assert_eq!(notifies.len(), 2);
    for n in &notifies {
        assert_eq!(header_values(n, &HeaderName::Event), ["refer"]);
        assert_eq!(
            header_values(n, &HeaderName::ContentType),
            ["message/sipfrag;version=2.0"]
        );
    }
    assert_eq!(
        header_values(&notifies[0], &HeaderName::SubscriptionState),
        ["active;expires=60"]
    );
    assert_eq!(notifies[0].body(), b"SIP/2.0 100 Trying\r\n");
    assert_eq!(
        header_values(&notifies[1], &HeaderName::SubscriptionState),
        ["terminated;reason=noresource"]
    );
    assert_eq!(notifies[1].body(), b"SIP/2.0 200 OK\r\n");
    // C's INVITE kept A's Referred-By.
    let (_, to_c) = received(&w.node(c).events, &Method::Invite).unwrap();
    assert_eq!(
        header_values(&to_c, &HeaderName::ReferredBy),
        ["<sip:a@127.0.0.1>"]
    );
    // The INVITE dialog A–B is untouched by the subscription's end.
    assert_eq!(w.node(a).endpoint.dialog_state(dab), DialogState::Confirmed);
    assert_eq!(
        common::event_labels(&mut w, a),
        [
            "response 100",
            "response 200",
            "response 202",
            "request NOTIFY",
            "request NOTIFY"
        ]
    );
    // A hangs up on B; B on C.
    bye(&mut w, a, dab);
    let (ctx, _) = received(&w.node(c).events, &Method::Invite).unwrap();
    let dcb = w.node(c).endpoint.dialog_of_server_tx(ctx).unwrap();
    bye(&mut w, c, dcb);
    let (ua, ub, uc) = (w.nodes[0].addr, w.nodes[1].addr, w.nodes[2].addr);
    let t = w.net.trace();
    t.assert_flow(ua, ub, &["INVITE", "ACK", "REFER", "200", "BYE"]);
    t.assert_flow(ub, ua, &["100", "200", "202", "NOTIFY", "200"]);
    t.assert_flow(ub, uc, &["INVITE", "ACK", "200"]);
    t.assert_flow(uc, ub, &["100", "200", "BYE"]);
    common::assert_drained(&mut w, &[a, b, c]);
    for n in [a, b, c] {
        assert_eq!(w.node(n).endpoint.dialog_count(), 0);
    }
}

#[test]
fn refer_outside_a_dialog_creates_a_subscription_dialog_until_terminated() {
    let (mut w, a, b, c) = world(142);
    w.set_script(a, dialog_ua);
    w.set_script(b, |ep, now, e| {
        if let Event::Request { tx, request, .. } = e
            && request.method() == Some(Method::Refer)
        {
            ep.reply(now, *tx, 202, "Accepted").unwrap();
            let d = ep.dialog_of_server_tx(*tx).unwrap();
            ep.notify_refer(now, d, "SIP/2.0 100 Trying", false)
                .unwrap();
        }
    });
    let flow = w.flow(a, b);
    let mut refer = request(
        &Method::Refer,
        "sip:b@127.0.0.2:5062",
        "sip:a@127.0.0.1",
        "refer-ood",
        1,
    )
    .unwrap();
    refer
        .replace_header(&HeaderName::Contact, "<sip:a@127.0.0.1:5061>")
        .unwrap();
    refer
        .push_header(&HeaderName::ReferTo, "<sip:c@127.0.0.3:5063>")
        .unwrap();
    let tx = w
        .command(a, |ep, now| ep.send_request(now, refer, flow))
        .unwrap();
    w.run_for(Duration::from_millis(300));
    let da = w.node(a).endpoint.dialog_of_client_tx(tx).unwrap();
    let (btx, _) = received(&w.node(b).events, &Method::Refer).unwrap();
    let db = w.node(b).endpoint.dialog_of_server_tx(btx).unwrap();
    assert_eq!(w.node(a).endpoint.dialog_state(da), DialogState::Confirmed);
    assert_eq!(w.node(b).endpoint.dialog_count(), 1);
    // The referred request failed: the final NOTIFY says so and ends the subscription.
    w.command(b, |ep, now| {
        ep.notify_refer(now, db, "SIP/2.0 486 Busy Here", true)
    })
    .unwrap();
    w.run_for(Duration::from_millis(300));
    assert_eq!(w.node(a).endpoint.dialog_state(da), DialogState::Terminated);
    assert_eq!(w.node(b).endpoint.dialog_state(db), DialogState::Terminated);
    let (ua, ub) = (w.nodes[0].addr, w.nodes[1].addr);
    w.net.trace().assert_flow(ua, ub, &["REFER", "200"]);
    w.net.trace().assert_flow(ub, ua, &["202", "NOTIFY"]);
    assert_eq!(
        sent(w.net.trace(), "NOTIFY")[1].body(),
        b"SIP/2.0 486 Busy Here\r\n"
    );
    common::assert_drained(&mut w, &[a, b, c]);
    for n in [a, b] {
        assert_eq!(w.node(n).endpoint.dialog_count(), 0);
    }
}
