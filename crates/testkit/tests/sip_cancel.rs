//! CANCEL (RFC 3261 §9): sent after a provisional; the UAS answers 200 to the CANCEL and 487
//! to the INVITE, which the client transaction ACKs.
#![allow(clippy::unwrap_used)]

mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use tandem_sip_core::{ClientTxId, Event, SendError};
use tandem_sip_msg::Method;
use tandem_testkit::LinkConfig;

#[test]
fn cancel_after_ringing() {
    let (mut w, uac, uas) = common::pair(7, LinkConfig::default());
    w.set_script(uas, common::ring_forever);
    let invite: ClientTxId = common::send_invite(&mut w, uac, uas, "c7");
    // §9.1: no CANCEL before a provisional response.
    assert_eq!(
        w.command(uac, |ep, now| ep.cancel(now, invite))
            .unwrap_err(),
        SendError::CancelNotAllowed
    );
    w.run_for(Duration::from_millis(100));
    let cancel = w.command(uac, |ep, now| ep.cancel(now, invite)).unwrap();
    w.run_for(Duration::from_secs(1));
    let labels = common::event_labels(&mut w, uac);
    assert_eq!(
        labels,
        [
            "response 100",
            "response 180",
            "response 200",
            "response 487"
        ],
        "{labels:?}"
    );
    assert_eq!(
        common::event_labels(&mut w, uas),
        ["request INVITE", "cancelled"]
    );
    let responses: Vec<_> = w
        .node(uac)
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::Response { tx, response } => Some((*tx, response.status())),
            _ => None,
        })
        .collect();
    assert!(responses.contains(&(cancel, Some(200))));
    assert!(responses.contains(&(invite, Some(487))));
    let (a, b) = (w.nodes[0].addr, w.nodes[1].addr);
    w.net
        .trace()
        .assert_flow(a, b, &["INVITE", "CANCEL", "ACK"]);
    common::assert_drained(&mut w, &[uac, uas]);
}

#[test]
fn cancel_crossing_the_200_has_no_effect_but_gets_its_own_200() {
    let (mut w, uac, uas) = common::pair(8, LinkConfig::default());
    let answer = Rc::new(Cell::new(None));
    let slot = answer.clone();
    w.set_script(uas, move |ep, now, e| {
        if let Event::Request { tx, request, .. } = e
            && request.method() == Some(Method::Invite)
        {
            ep.reply(now, *tx, 180, "Ringing").unwrap();
            slot.set(Some(*tx));
        }
    });
    let invite = common::send_invite(&mut w, uac, uas, "c8");
    w.run_for(Duration::from_millis(100));
    // The UAS answers 200 while the CANCEL is in flight.
    let tx = answer.get().unwrap();
    w.command(uas, |ep, now| ep.reply(now, tx, 200, "OK"))
        .unwrap();
    w.command(uac, |ep, now| ep.cancel(now, invite)).unwrap();
    w.run_for(Duration::from_secs(1));
    let labels = common::event_labels(&mut w, uac);
    assert!(labels.contains(&"response 200".to_owned()));
    assert!(!labels.contains(&"response 487".to_owned()), "{labels:?}");
    assert!(!common::event_labels(&mut w, uas).contains(&"cancelled".to_owned()));
}
