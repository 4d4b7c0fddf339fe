//! After a call ended: its transactions live on in the endpoint for up to 64·T1 (RFC 6026
//! Accepted states, Timer M/L/K), and what they report still belongs to the controller, not
//! to the application. A 2xx retransmitted by an outgoing leg is ACKed again (§13.2.2.4;
//! a fork's 2xx, or one whose dialog the call never knew, is ACKed and ended with BYE); a
//! late ACK, ACK timeout or response of a relayed request is absorbed.

use std::time::{Duration, Instant};

use tandem_sip_core::{ClientTxId, Endpoint, Event};
use tandem_sip_msg::headers::CSeq;
use tandem_sip_msg::{HeaderName, Message, Method};

use crate::b2bua::{B2bua, Call, LegA};
use crate::leg::{Outgoing, TwoXx};
use crate::timers::Timer;
use crate::types::{CallId, Reason};

/// How long an ended call's transactions are watched when the endpoint's T1 is unknown:
/// 64·T1 with T1 = 500 ms (Timer B, H, L, M).
pub(crate) const DEFAULT_LINGER: Duration = Duration::from_secs(32);

/// A client transaction of an ended call.
#[derive(Debug)]
pub(crate) enum Lingering {
    /// An outgoing leg's INVITE: 2xx retransmissions still need ACKs.
    Invite(Box<Outgoing>),
    /// A relayed request or a BYE: its responses are absorbed.
    Other,
}

impl B2bua {
    /// Keeps the transactions of `call` (being forgotten) until 64·T1 after `now`.
    pub(crate) fn linger(&mut self, call: CallId, c: Call, now: Instant) {
        let Call {
            a,
            b,
            relays,
            early,
            ..
        } = c;
        let mut clients = Vec::with_capacity(2 + relays.len());
        let mut servers = Vec::with_capacity(1 + relays.len());
        match a {
            LegA::In(i) => servers.push(i.tx),
            LegA::Out(o) => {
                clients.push(o.tx);
                self.linger_client
                    .insert(o.tx, (call, Lingering::Invite(o)));
            }
        }
        if let Some(o) = b {
            clients.push(o.tx);
            self.linger_client
                .insert(o.tx, (call, Lingering::Invite(Box::new(o))));
        }
        if let Some(tx) = early.b_prack {
            clients.push(tx);
            self.linger_client.insert(tx, (call, Lingering::Other));
        }
        for (tx, relay) in relays {
            clients.push(tx);
            servers.push(relay.near_tx);
            self.linger_client.insert(tx, (call, Lingering::Other));
        }
        for tx in &servers {
            self.linger_server.insert(*tx, call);
        }
        self.linger_keys.insert(call, (clients, servers));
        let at = now + self.linger_for;
        self.timers.insert((at, call, Timer::Linger));
    }

    /// Forgets what was kept of `call`.
    pub(crate) fn forget(&mut self, call: CallId) {
        let Some((clients, servers)) = self.linger_keys.remove(&call) else {
            return;
        };
        for tx in clients {
            self.linger_client.remove(&tx);
        }
        for tx in servers {
            self.linger_server.remove(&tx);
        }
    }

    /// An event for a transaction of an ended call: handled (`None`) or handed back.
    pub(crate) fn on_lingering(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        event: Event,
    ) -> Option<Event> {
        let mine = match &event {
            Event::Ack { tx, .. } | Event::AckTimeout { tx } | Event::Cancelled { tx } => {
                self.linger_server.contains_key(tx)
            }
            Event::Timeout { tx } => self.linger_client.contains_key(tx),
            Event::Response { tx, response } => {
                let known = self.linger_client.contains_key(tx);
                if known {
                    self.late_response(ep, now, *tx, response);
                }
                known
            }
            _ => false,
        };
        (!mine).then_some(event)
    }

    /// A response to an outgoing INVITE of an ended call: a retransmitted 2xx is ACKed
    /// again; a 2xx of a dialog the call never had is ACKed and ended with BYE
    /// (§13.2.2.4).
    fn late_response(&mut self, ep: &mut Endpoint, now: Instant, tx: ClientTxId, r: &Message) {
        let Some((call, Lingering::Invite(o))) = self.linger_client.get_mut(&tx) else {
            return;
        };
        let call = *call;
        if r.status().is_none_or(|s| s / 100 != 2) {
            return;
        }
        let cseq = r.typed::<CSeq>().ok().flatten().map_or(0, |c| c.seq);
        let bye = match o.on_2xx(ep, ep.dialog_of_response(r), cseq, r) {
            TwoXx::Fork(d) => Some(d),
            TwoXx::First(d) => {
                let _ = ep.ack_2xx(d, cseq, None);
                o.acked = Some(cseq);
                Some(d)
            }
            TwoXx::Absorbed | TwoXx::NoDialog => None,
        };
        let Some(d) = bye else {
            return;
        };
        let reason = Reason::new(487, "Call already ended");
        let sent = ep.dialog_request(d, &Method::Bye).and_then(|mut m| {
            m.push_header(&HeaderName::Reason, &reason.header_value())?;
            ep.send_in_dialog(now, d, m)
        });
        match sent {
            Ok(bye_tx) => {
                self.linger_client.insert(bye_tx, (call, Lingering::Other));
                if let Some((clients, _)) = self.linger_keys.get_mut(&call) {
                    clients.push(bye_tx);
                }
            }
            Err(_) => {
                ep.terminate_dialog(d);
            }
        }
    }
}
