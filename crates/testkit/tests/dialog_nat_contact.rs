//! In-dialog requests toward a peer behind NAT (RFC 5626 §5.3 reasoning, RFC 3581): a phone
//! whose Contact names a private address it cannot be reached at gets the dialog's requests
//! (ACK, BYE) at the address its messages came from, with the Contact still as Request-URI.
//! A Contact that is merely different (another reachable box) is honoured as RFC 3261
//! §12.2.1.1 says.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use tandem_sip_core::{DialogState, EndpointConfig, Event, Flow, Transport};
use tandem_sip_msg::{HeaderName, Method};
use tandem_testkit::sip::{dialog_ua, received, request};
use tandem_testkit::{LinkConfig, NodeId, World};

/// Tandem, on a public address.
const TANDEM: &str = "192.0.2.10:5060";
/// The phone as the network sees it: the NAT's public mapping.
const PHONE: &str = "203.0.113.5:40000";
/// What the phone believes it is.
const PRIVATE: &str = "10.0.0.2:5062";

fn world(seed: u64) -> (World, NodeId, NodeId) {
    let mut w = World::new(seed, LinkConfig::latency(Duration::from_millis(20)));
    let config = |s| EndpointConfig {
        seed: s,
        ..EndpointConfig::default()
    };
    let tandem = w.add_node(TANDEM, config(seed ^ 1));
    let phone = w.add_node(PHONE, config(seed ^ 2));
    (w, tandem, phone)
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Tandem hangs up in `d`; returns nothing, the trace tells where the BYE went.
fn tandem_bye(w: &mut World, tandem: NodeId, d: tandem_sip_core::DialogId) {
    w.command(tandem, |ep, now| {
        let m = ep.dialog_request(d, &Method::Bye)?;
        ep.send_in_dialog(now, d, m)
    })
    .unwrap();
    w.run_for(Duration::from_millis(500));
}

/// The Request-URIs of what Tandem sent to `to` with label `label`.
fn request_uris(w: &World, to: &str, label: &str) -> Vec<String> {
    w.net
        .trace()
        .entries()
        .iter()
        .filter(|e| e.from == addr(TANDEM) && e.to == addr(to) && e.label() == label)
        .map(|e| e.first_line())
        .collect()
}

fn nothing_sent_to(w: &World, to: &str) {
    let sent = w
        .net
        .trace()
        .entries()
        .iter()
        .filter(|e| e.to == addr(to))
        .count();
    assert_eq!(sent, 0, "{:#?}", w.net.trace().ladder());
}

#[test]
fn a_call_from_a_phone_with_a_private_contact_is_hung_up_through_the_nat() {
    let (mut w, tandem, phone) = world(401);
    w.set_script(tandem, dialog_ua);
    w.set_script(phone, dialog_ua);
    let mut invite = request(
        &Method::Invite,
        "sip:tandem@192.0.2.10",
        "sip:phone@example.org",
        "nat-1",
        1,
    )
    .unwrap();
    invite
        .replace_header(&HeaderName::Contact, &format!("<sip:phone@{PRIVATE}>"))
        .unwrap();
    let flow = w.flow(phone, tandem);
    let ptx = w
        .command(phone, |ep, now| ep.send_request(now, invite, flow))
        .unwrap();
    w.run_for(Duration::from_millis(300));
    let (stx, _) = received(&w.node(tandem).events, &Method::Invite).unwrap();
    let d = w.node(tandem).endpoint.dialog_of_server_tx(stx).unwrap();
    let dialog = w.node(tandem).endpoint.dialog(d).unwrap();
    assert!(dialog.contact_unreachable());
    assert_eq!(
        dialog.remote_target().to_string(),
        format!("sip:phone@{PRIVATE}")
    );
    let pd = w.node(phone).endpoint.dialog_of_client_tx(ptx).unwrap();
    tandem_bye(&mut w, tandem, d);
    // The BYE reached the phone at its public mapping, addressed to its Contact.
    assert_eq!(
        request_uris(&w, PHONE, "BYE"),
        [format!("BYE sip:phone@{PRIVATE} SIP/2.0")]
    );
    nothing_sent_to(&w, PRIVATE);
    w.net
        .trace()
        .assert_flow(addr(PHONE), addr(TANDEM), &["INVITE", "ACK", "200"]);
    assert_eq!(
        w.node(phone).endpoint.dialog_state(pd),
        DialogState::Terminated
    );
    assert_eq!(
        w.node(tandem).endpoint.dialog_state(d),
        DialogState::Terminated
    );
    common::assert_drained(&mut w, &[tandem, phone]);
}

#[test]
fn a_phone_answering_with_a_private_contact_gets_the_ack_and_bye_through_the_nat() {
    let (mut w, tandem, phone) = world(402);
    w.set_script(tandem, dialog_ua);
    // The phone answers with the Contact it believes in.
    w.set_script(phone, |ep, now, e| {
        if let Event::Request { tx, .. } = e {
            let mut ok = ep.make_response(*tx, 200, "OK").unwrap();
            ok.push_header(&HeaderName::Contact, &format!("<sip:phone@{PRIVATE}>"))
                .unwrap();
            ep.respond(now, *tx, ok).unwrap();
        }
    });
    let mut invite = request(
        &Method::Invite,
        &format!("sip:phone@{PHONE}"),
        "sip:tandem@192.0.2.10",
        "nat-2",
        1,
    )
    .unwrap();
    invite
        .replace_header(&HeaderName::Contact, "<sip:tandem@192.0.2.10:5060>")
        .unwrap();
    // As a registrar would: the INVITE goes to the address the REGISTER came from.
    let flow = w.flow(tandem, phone);
    let tx = w
        .command(tandem, |ep, now| ep.send_request(now, invite, flow))
        .unwrap();
    w.run_for(Duration::from_millis(300));
    let d = w.node(tandem).endpoint.dialog_of_client_tx(tx).unwrap();
    assert!(
        w.node(tandem)
            .endpoint
            .dialog(d)
            .unwrap()
            .contact_unreachable()
    );
    assert_eq!(
        request_uris(&w, PHONE, "ACK"),
        [format!("ACK sip:phone@{PRIVATE} SIP/2.0")]
    );
    tandem_bye(&mut w, tandem, d);
    w.net
        .trace()
        .assert_flow(addr(TANDEM), addr(PHONE), &["INVITE", "ACK", "BYE"]);
    w.net
        .trace()
        .assert_flow(addr(PHONE), addr(TANDEM), &["100", "200"]);
    // The second 200 answers the BYE.
    assert_eq!(
        w.net.trace().labels_between(addr(PHONE), addr(TANDEM)),
        ["100", "200", "200"]
    );
    nothing_sent_to(&w, PRIVATE);
    assert_eq!(
        w.node(tandem).endpoint.dialog_state(d),
        DialogState::Terminated
    );
    common::assert_drained(&mut w, &[tandem, phone]);
}

#[test]
fn a_request_from_behind_nat_pins_a_public_contact_to_its_source() {
    // RFC 3581: the Via says 198.51.100.7:5060, the datagram came from the NAT's mapping;
    // the Contact (public, but the phone's idea of itself) is no way in either.
    let (mut w, tandem, _phone) = world(403);
    w.set_script(tandem, dialog_ua);
    let source = addr("203.0.113.9:41000");
    let invite = "INVITE sip:tandem@192.0.2.10 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bKnat3;rport\r\n\
        From: <sip:phone@example.org>;tag=p3\r\nTo: <sip:tandem@192.0.2.10>\r\n\
        Call-ID: nat-3\r\nCSeq: 1 INVITE\r\nContact: <sip:phone@198.51.100.7:5060>\r\n\
        Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
    w.inject(source, tandem, Bytes::from_static(invite.as_bytes()));
    w.run_for(Duration::from_millis(100));
    let (stx, _) = received(&w.node(tandem).events, &Method::Invite).unwrap();
    let d = w.node(tandem).endpoint.dialog_of_server_tx(stx).unwrap();
    assert!(
        w.node(tandem)
            .endpoint
            .dialog(d)
            .unwrap()
            .contact_unreachable()
    );
    // The 200 went back to the source (rport); the ACK comes from there too.
    let to_tag = {
        let e = w
            .net
            .trace()
            .entries()
            .iter()
            .rev()
            .find(|e| e.label() == "200")
            .unwrap();
        assert_eq!(e.to, source);
        let text = String::from_utf8_lossy(&e.payload).into_owned();
        let to = text
            .lines()
            .find(|l| l.starts_with("To:"))
            .unwrap()
            .to_owned();
        to.split("tag=").nth(1).unwrap().to_owned()
    };
    let ack = format!(
        "ACK sip:tandem@192.0.2.10:5060 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bKnat3ack;rport\r\n\
         From: <sip:phone@example.org>;tag=p3\r\nTo: <sip:tandem@192.0.2.10>;tag={to_tag}\r\n\
         Call-ID: nat-3\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    );
    w.inject(source, tandem, Bytes::from(ack));
    w.run_for(Duration::from_millis(100));
    tandem_bye(&mut w, tandem, d);
    let byes: Vec<_> = w
        .net
        .trace()
        .entries()
        .iter()
        .filter(|e| e.label() == "BYE")
        .map(|e| (e.to, e.first_line()))
        .collect();
    assert_eq!(
        byes[0],
        (source, "BYE sip:phone@198.51.100.7:5060 SIP/2.0".to_owned())
    );
    nothing_sent_to(&w, "198.51.100.7:5060");
}

#[test]
fn a_reachable_contact_elsewhere_is_honoured() {
    // The phone's Contact names another public box and its Via its real address: nothing
    // says NAT, so RFC 3261 §12.2.1.1 sends the BYE to the Contact.
    let (mut w, tandem, phone) = world(404);
    w.set_script(tandem, dialog_ua);
    w.set_script(phone, dialog_ua);
    let elsewhere = "198.51.100.20:5060";
    let mut invite = request(
        &Method::Invite,
        "sip:tandem@192.0.2.10",
        "sip:phone@example.org",
        "nat-4",
        1,
    )
    .unwrap();
    invite
        .replace_header(&HeaderName::Contact, &format!("<sip:phone@{elsewhere}>"))
        .unwrap();
    let flow = Flow {
        transport: Transport::Udp,
        ..w.flow(phone, tandem)
    };
    w.command(phone, |ep, now| ep.send_request(now, invite, flow))
        .unwrap();
    w.run_for(Duration::from_millis(300));
    let (stx, _) = received(&w.node(tandem).events, &Method::Invite).unwrap();
    let d = w.node(tandem).endpoint.dialog_of_server_tx(stx).unwrap();
    assert!(
        !w.node(tandem)
            .endpoint
            .dialog(d)
            .unwrap()
            .contact_unreachable()
    );
    tandem_bye(&mut w, tandem, d);
    assert_eq!(
        request_uris(&w, elsewhere, "BYE")
            .first()
            .map(String::as_str),
        Some(format!("BYE sip:phone@{elsewhere} SIP/2.0").as_str())
    );
}
