//! Shared set-up of the SIP scenarios: a UAC and a UAS endpoint on one simulated network.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use tandem_sip_core::{EndpointConfig, Event};
use tandem_testkit::{LinkConfig, NodeId, World};

pub const UAC: &str = "127.0.0.1:5061";
pub const UAS: &str = "127.0.0.2:5062";

/// A world with a UAC and a UAS, 20 ms apart, over `link` impairments.
pub fn pair(seed: u64, link: LinkConfig) -> (World, NodeId, NodeId) {
    pair_with(seed, link, |_| {})
}

/// [`pair`] with both endpoint configurations adjusted by `tune`.
pub fn pair_with(
    seed: u64,
    link: LinkConfig,
    tune: impl Fn(&mut EndpointConfig),
) -> (World, NodeId, NodeId) {
    let mut w = World::new(
        seed,
        LinkConfig {
            latency: Duration::from_millis(20),
            ..link
        },
    );
    let config = |s| {
        let mut c = EndpointConfig {
            seed: s,
            ..EndpointConfig::default()
        };
        tune(&mut c);
        c
    };
    let uac = w.add_node(UAC, config(seed ^ 1));
    let uas = w.add_node(UAS, config(seed ^ 2));
    (w, uac, uas)
}

/// Labels of the events a node reported, for assertions.
pub fn event_labels(w: &mut World, id: NodeId) -> Vec<String> {
    w.node(id)
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::Request { request, .. } => request.method().map(|m| format!("request {m}")),
            Event::Response { response, .. } => response.status().map(|s| format!("response {s}")),
            Event::Ack { .. } => Some("ack".into()),
            Event::StrayAck { .. } => Some("stray ack".into()),
            Event::Cancelled { .. } => Some("cancelled".into()),
            Event::Timeout { .. } => Some("timeout".into()),
            Event::AckTimeout { .. } => Some("ack timeout".into()),
            Event::PrackTimeout { .. } => Some("prack timeout".into()),
            Event::SessionExpired { .. } => Some("session expired".into()),
            Event::Discarded { .. } => None,
        })
        .collect()
}

/// Runs long enough for every transaction to end (64·T1 plus Timer D), then asserts that
/// both endpoints hold no transaction: nothing leaks.
pub fn assert_drained(w: &mut World, nodes: &[NodeId]) {
    w.run_for(Duration::from_secs(40));
    for &n in nodes {
        assert_eq!(
            w.node(n).endpoint.transaction_counts(),
            (0, 0),
            "node {n:?} still holds transactions"
        );
    }
}

/// Sends an INVITE for `sip:b@127.0.0.2` from `uac` to `uas` (CSeq 1) and returns its client
/// transaction.
pub fn send_invite(
    w: &mut World,
    uac: NodeId,
    uas: NodeId,
    call_id: &str,
) -> tandem_sip_core::ClientTxId {
    let flow = w.flow(uac, uas);
    let invite = tandem_testkit::sip::request(
        &tandem_sip_msg::Method::Invite,
        "sip:b@127.0.0.2",
        "sip:a@127.0.0.1",
        call_id,
        1,
    )
    .unwrap();
    w.command(uac, |ep, now| ep.send_request(now, invite, flow))
        .unwrap()
}

/// A UAS script that answers every INVITE with 180 and never with a final response.
pub fn ring_forever(ep: &mut tandem_sip_core::Endpoint, now: std::time::Instant, e: &Event) {
    if let Event::Request { tx, request, .. } = e
        && request.method() == Some(tandem_sip_msg::Method::Invite)
    {
        ep.reply(now, *tx, 180, "Ringing").unwrap();
    }
}
