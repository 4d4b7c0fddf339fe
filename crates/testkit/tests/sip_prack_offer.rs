//! An offer in a reliable provisional response (RFC 3262 §5, RFC 6337 §2.1): the caller's
//! INVITE has no body, the callee's reliable 183 carries the offer, and the PRACK must carry
//! the answer. The caller's endpoint does not PRACK that 183 by itself: its TU sees
//! `prack_awaits_answer` and sends the answer with `prack_with_answer`. When the INVITE
//! carried the offer, the 183's body is the answer and the endpoint PRACKs without a body,
//! as before.
#![allow(clippy::unwrap_used)]

mod common;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use tandem_sip_core::{DialogError, DialogState, Event, ServerTxId};
use tandem_sip_msg::headers::{RAck, RSeq};
use tandem_sip_msg::{HeaderName, Message, Method};
use tandem_testkit::sip::{ack_invite_2xx, header_values, request, sent};
use tandem_testkit::{LinkConfig, NodeId, World};

const OFFER: &str = "v=0\r\no=b 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\n\
    t=0 0\r\nm=audio 40000 RTP/AVP 0\r\n";
const ANSWER: &str = "v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n\
    t=0 0\r\nm=audio 30000 RTP/AVP 0\r\n";

/// The callee: 183 with an SDP body, reliably; on the PRACK, 200 to it, then 200 to the
/// INVITE. Records the PRACK it got.
fn world(seed: u64, link: LinkConfig) -> (World, NodeId, NodeId, Rc<RefCell<Vec<Message>>>) {
    let (mut w, uac, uas) = common::pair_with(seed, link, |c| {
        c.supported.push("100rel".into());
    });
    let invite_tx: Rc<Cell<Option<ServerTxId>>> = Rc::default();
    let pracks: Rc<RefCell<Vec<Message>>> = Rc::default();
    let seen = pracks.clone();
    w.set_script(uas, move |ep, now, e| {
        let Event::Request { tx, request, .. } = e else {
            return;
        };
        match request.method() {
            Some(Method::Invite) => {
                invite_tx.set(Some(*tx));
                let mut progress = ep.make_response(*tx, 183, "Session Progress").unwrap();
                progress
                    .set_body(
                        Some("application/sdp"),
                        Bytes::from_static(OFFER.as_bytes()),
                    )
                    .unwrap();
                ep.respond_reliably(now, *tx, progress).unwrap();
            }
            Some(Method::Prack) => {
                seen.borrow_mut().push((**request).clone());
                ep.reply(now, *tx, 200, "OK").unwrap();
                ep.reply(now, invite_tx.get().unwrap(), 200, "OK").unwrap();
            }
            _ => ep.reply(now, *tx, 200, "OK").unwrap(),
        }
    });
    (w, uac, uas, pracks)
}

fn invite(call_id: &str, offer: Option<&str>) -> Message {
    let mut m = request(
        &Method::Invite,
        "sip:b@127.0.0.2:5062",
        "sip:a@127.0.0.1",
        call_id,
        1,
    )
    .unwrap();
    if let Some(sdp) = offer {
        m.set_body(
            Some("application/sdp"),
            Bytes::copy_from_slice(sdp.as_bytes()),
        )
        .unwrap();
    }
    m
}

fn hang_up(w: &mut World, uac: NodeId, uas: NodeId, tx: tandem_sip_core::ClientTxId) {
    let d = w.node(uac).endpoint.dialog_of_client_tx(tx).unwrap();
    assert_eq!(w.node(uac).endpoint.dialog_state(d), DialogState::Confirmed);
    w.command(uac, |ep, now| {
        let m = ep.dialog_request(d, &Method::Bye)?;
        ep.send_in_dialog(now, d, m)
    })
    .unwrap();
    common::assert_drained(w, &[uac, uas]);
    assert_eq!(w.node(uac).endpoint.dialog_count(), 0);
    assert_eq!(w.node(uas).endpoint.dialog_count(), 0);
}

fn offer_in_183(seed: u64, link: LinkConfig) {
    let (mut w, uac, uas, pracks) = world(seed, link);
    // The caller's TU answers the 183's offer in the PRACK.
    let answered = Rc::new(Cell::new(0));
    let count = answered.clone();
    w.set_script(uac, move |ep, now, e| {
        let Event::Response { response, .. } = e else {
            return;
        };
        ack_invite_2xx(ep, response);
        if response.status() != Some(183) {
            return;
        }
        let d = ep.dialog_of_response(response).unwrap();
        assert!(ep.prack_awaits_answer(d));
        assert_eq!(response.body(), OFFER.as_bytes());
        ep.prack_with_answer(
            now,
            d,
            "application/sdp",
            Bytes::from_static(ANSWER.as_bytes()),
        )
        .unwrap();
        count.set(count.get() + 1);
        assert!(!ep.prack_awaits_answer(d));
        // Once answered, there is nothing more to answer.
        assert_eq!(
            ep.prack_with_answer(now, d, "application/sdp", Bytes::new()),
            Err(DialogError::NoOfferPending)
        );
    });
    let flow = w.flow(uac, uas);
    let tx = w
        .command(uac, |ep, now| {
            ep.send_request(now, invite(&format!("offer183-{seed}"), None), flow)
        })
        .unwrap();
    w.run_for(Duration::from_secs(20));
    // The 183 was passed up (and answered) once, whatever its retransmissions.
    assert_eq!(answered.get(), 1, "seed {seed}");
    let prack = pracks.borrow().first().cloned().unwrap();
    assert_eq!(prack.body(), ANSWER.as_bytes(), "seed {seed}");
    assert_eq!(
        header_values(&prack, &HeaderName::ContentType),
        ["application/sdp"]
    );
    let rseq = sent(w.net.trace(), "183")[0]
        .typed::<RSeq>()
        .unwrap()
        .unwrap()
        .0;
    assert_eq!(prack.typed::<RAck>().unwrap().unwrap().rseq, rseq);
    // Every PRACK on the wire (retransmissions included) carries the answer.
    for p in sent(w.net.trace(), "PRACK") {
        assert_eq!(p.body(), ANSWER.as_bytes());
    }
    hang_up(&mut w, uac, uas, tx);
}

#[test]
fn the_answer_to_an_offer_in_a_reliable_183_goes_in_the_prack() {
    offer_in_183(511, LinkConfig::default());
}

#[test]
fn the_answer_goes_in_the_prack_under_loss() {
    for seed in 0..10 {
        offer_in_183(
            520 + seed,
            LinkConfig::default().with_loss(0.1).with_duplicate(0.05),
        );
    }
}

#[test]
fn an_answer_in_a_reliable_183_is_pracked_without_a_body() {
    let (mut w, uac, uas, pracks) = world(512, LinkConfig::default());
    w.set_script(uac, |ep, _, e| {
        if let Event::Response { response, .. } = e {
            ack_invite_2xx(ep, response);
            if let Some(d) = ep.dialog_of_response(response) {
                assert!(!ep.prack_awaits_answer(d));
            }
        }
    });
    let flow = w.flow(uac, uas);
    let tx = w
        .command(uac, |ep, now| {
            ep.send_request(now, invite("answer183", Some(ANSWER)), flow)
        })
        .unwrap();
    w.run_for(Duration::from_secs(5));
    let prack = pracks.borrow().first().cloned().unwrap();
    assert!(prack.body().is_empty());
    assert!(header_values(&prack, &HeaderName::ContentType).is_empty());
    hang_up(&mut w, uac, uas, tx);
}
