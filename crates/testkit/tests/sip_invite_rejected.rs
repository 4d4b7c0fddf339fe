//! INVITE rejected: the client transaction ACKs the non-2xx itself, hop by hop, with the same
//! branch (RFC 3261 §17.1.1.3); the server transaction goes Completed → Confirmed.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use tandem_sip_core::Event;
use tandem_sip_msg::{HeaderName, Message, Method};
use tandem_testkit::LinkConfig;
use tandem_testkit::sip::request;

#[test]
fn busy_here_is_acked_by_the_transaction_layer() {
    let (mut w, uac, uas) = common::pair(4, LinkConfig::default());
    w.set_script(uas, |ep, now, e| {
        if let Event::Request { tx, .. } = e {
            ep.reply(now, *tx, 486, "Busy Here").unwrap();
        }
    });
    let flow = w.flow(uac, uas);
    w.command(uac, |ep, now| {
        ep.send_request(
            now,
            request(
                &Method::Invite,
                "sip:b@127.0.0.2",
                "sip:a@127.0.0.1",
                "c4",
                7,
            )
            .unwrap(),
            flow,
        )
    })
    .unwrap();
    w.run_for(Duration::from_secs(1));
    assert_eq!(
        common::event_labels(&mut w, uac),
        ["response 100", "response 486"]
    );
    // The UAS application never hears of the ACK of a non-2xx: the transaction absorbs it.
    assert_eq!(common::event_labels(&mut w, uas), ["request INVITE"]);
    let (a, b) = (w.nodes[0].addr, w.nodes[1].addr);
    w.net.trace().assert_flow(a, b, &["INVITE", "ACK"]);
    let entries = w.net.trace().entries();
    let invite = entries.iter().find(|e| e.label() == "INVITE").unwrap();
    let ack = entries.iter().find(|e| e.label() == "ACK").unwrap();
    let via = |p: &bytes::Bytes| {
        let m = Message::parse(p.clone(), &Default::default()).unwrap();
        String::from_utf8_lossy(m.value(&HeaderName::Via).unwrap()).into_owned()
    };
    assert_eq!(
        via(&invite.payload),
        via(&ack.payload),
        "same branch: the ACK belongs to the INVITE transaction"
    );
    let ack_msg = Message::parse(ack.payload.clone(), &Default::default()).unwrap();
    assert_eq!(ack_msg.value(&HeaderName::CSeq).unwrap(), b"7 ACK");
    common::assert_drained(&mut w, &[uac, uas]);
}
