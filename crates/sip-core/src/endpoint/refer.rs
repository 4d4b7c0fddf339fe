//! REFER (RFC 3515) with its implicit subscription, and Replaces (RFC 3891).
//!
//! - Sending: build a REFER with [`Endpoint::dialog_request`] (in a dialog) or as any
//!   request (outside one), add `Refer-To` (and `Referred-By`, RFC 3892), and send it. A
//!   REFER outside a dialog creates one from its 2xx (RFC 3515 §2.4.4), as an INVITE does.
//! - Receiving: the REFER reaches the TU (list REFER in
//!   [`EndpointConfig::allow`](crate::EndpointConfig::allow)), which decides: 202 (or
//!   200) accepts, anything else refuses. [`refer_to`] reads `Refer-To` and `Referred-By`
//!   (kept verbatim for the new request, RFC 3892 §3). The TU then reports progress with
//!   [`Endpoint::notify_refer`]: NOTIFYs with `Event: refer`, `Subscription-State` and a
//!   `message/sipfrag` body (§2.4.5).
//! - NOTIFYs received go to the TU like any in-dialog request (list NOTIFY in `allow`):
//!   their sipfrag tells it how the referred request ended, and it answers them (200).
//!   That leaves the body to the party that needs it; a NOTIFY for a dialog Tandem does not
//!   know gets 481 from the dialog layer.
//! - A NOTIFY may overtake the 2xx of a REFER sent outside a dialog (RFC 6665 §4.1.2.4,
//!   RFC 3515 §2.4.4): one whose Call-ID and To tag are those of a REFER still waiting for
//!   its final response, with `Event: refer`, creates the subscription's dialog from the
//!   NOTIFY (confirmed; route set = its Record-Route, remote target = its Contact) and goes
//!   to the TU like any NOTIFY. The REFER's 2xx then finds that dialog; `dialog_of_client_tx`
//!   of the REFER names it.
//! - A dialog created by a REFER carries only the subscription: it ends once a NOTIFY with
//!   `Subscription-State: terminated` is answered 2xx, on both sides (RFC 6665 §4.1.3,
//!   §4.4.1). A REFER inside an INVITE dialog leaves that dialog alone.
//! - [`Endpoint::find_replaced_dialog`] finds the dialog a `Replaces` header names (RFC 3891
//!   §3); ending the replaced dialog (BYE, or CANCEL of our early INVITE) is the TU's job once
//!   it has accepted the new INVITE.

use std::time::Instant;

use bytes::Bytes;
use tandem_sip_msg::headers::{CSeq, CallId, FromHeader, NameAddr, Replaces, SubscriptionState};
use tandem_sip_msg::{HeaderName, Message, Method, Uri};

use super::{ClientTxId, Endpoint, host_port, unfold};
use crate::dialog::{
    Dialog, DialogId, DialogKey, DialogRole, DialogState, contact_uri, is_sips, record_routes,
    via_differs_from_source, without_tag,
};
use crate::error::DialogError;
use crate::slab::SlotId;
use crate::transaction::ClientState;

/// What a REFER asks for (RFC 3515 §2.1, RFC 3892).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferTarget {
    /// The URI of `Refer-To` (it may carry header parameters such as `Replaces`, escaped
    /// in the URI, RFC 3515 §2.1).
    pub uri: Uri,
    /// The `Refer-To` value as received (unfolded).
    pub refer_to: String,
    /// The `Referred-By` value as received (unfolded), to copy into the new request.
    pub referred_by: Option<String>,
}

/// The target of a REFER: `None` without exactly one valid `Refer-To` (answer 400, §2.4.1).
pub fn refer_to(request: &Message) -> Option<ReferTarget> {
    let mut values = request.values(&HeaderName::ReferTo);
    let value = unfold(values.next()?);
    if values.next().is_some() {
        return None;
    }
    let uri = NameAddr::parse(&value).ok()?.uri;
    Some(ReferTarget {
        uri,
        refer_to: value,
        referred_by: request.value(&HeaderName::ReferredBy).map(unfold),
    })
}

impl Endpoint {
    /// Sends a NOTIFY of the implicit subscription of the last REFER received in `dialog`
    /// (RFC 3515 §2.4.4, §2.4.5): `Event: refer` (with `;id=` the REFER's CSeq number once
    /// the dialog has had more than one REFER, §2.4.6), `Subscription-State:
    /// active;expires=60` or, when `terminated`, `terminated;reason=noresource`, and a
    /// `message/sipfrag;version=2.0` body holding `status_line` (e.g. `SIP/2.0 100 Trying`
    /// right after the 202, then the final status of the referred request).
    ///
    /// The NOTIFY's responses come back as [`Event::Response`](crate::Event::Response) on
    /// the returned handle. Refused when no REFER arrived in the dialog.
    pub fn notify_refer(
        &mut self,
        now: Instant,
        dialog: DialogId,
        status_line: &str,
        terminated: bool,
    ) -> Result<ClientTxId, DialogError> {
        let d = self
            .dialogs
            .get(dialog.0)
            .ok_or(DialogError::NoSuchDialog)?;
        let cseq = d.refer_cseq.ok_or(DialogError::NoRefer)?;
        let event = if d.refers_in > 1 {
            format!("refer;id={cseq}")
        } else {
            "refer".to_owned()
        };
        let mut m = self.dialog_request(dialog, &Method::Notify)?;
        m.push_header(&HeaderName::Event, &event)?;
        let state = if terminated {
            "terminated;reason=noresource"
        } else {
            "active;expires=60"
        };
        m.push_header(&HeaderName::SubscriptionState, state)?;
        let body = format!("{}\r\n", status_line.trim_end());
        m.set_body(Some("message/sipfrag;version=2.0"), Bytes::from(body))?;
        self.send_in_dialog(now, dialog, m)
    }

    /// The dialog the `Replaces` header of `request` (an INVITE) names, per RFC 3891 §3:
    /// its Call-ID, `to-tag` and `from-tag` matched against a dialog's Call-ID, *local* tag
    /// and *remote* tag.
    ///
    /// `Ok(None)` without a `Replaces` header. Errors are the status to answer the INVITE
    /// with: 400 for more than one or an unparsable `Replaces`; 481 when no dialog matches,
    /// or the match is an early dialog Tandem did not initiate (it is the UAS of that
    /// INVITE); 486 when `early-only` is set and the dialog is confirmed.
    pub fn find_replaced_dialog(&self, request: &Message) -> Result<Option<DialogId>, u16> {
        let count = request.values(&HeaderName::Replaces).count();
        if count == 0 {
            return Ok(None);
        }
        if count > 1 {
            return Err(400);
        }
        let r = request
            .typed::<Replaces<'_>>()
            .ok()
            .flatten()
            .ok_or(400u16)?;
        let key = DialogKey {
            call_id: r.call_id.into(),
            local_tag: r.to_tag().into(),
            remote_tag: r.from_tag().into(),
        };
        let d = *self.dialog_index.get(&key).ok_or(481u16)?;
        let dl = self.dialogs.get(d).ok_or(481u16)?;
        match dl.state {
            DialogState::Confirmed if r.early_only() => Err(486),
            DialogState::Early if dl.role == DialogRole::Uas => Err(481),
            _ => Ok(Some(DialogId(d))),
        }
    }
}

impl Endpoint {
    /// RFC 6665 §4.1.2.4: a NOTIFY (server transaction `id`) matching no dialog that belongs
    /// to the implicit subscription of a REFER Tandem sent outside a dialog and whose final
    /// response has not arrived: creates that subscription's dialog and returns it.
    ///
    /// The REFER is found by a scan of the live client transactions (NOTIFYs matching no
    /// dialog are rare; the scan stops at the first REFER of that Call-ID and From tag).
    pub(super) fn refer_early_notify(&mut self, id: SlotId) -> Option<SlotId> {
        let e = self.servers.get(id)?;
        let notify = e.request.as_deref()?;
        if notify.method() != Some(Method::Notify) || !is_refer_event(notify) {
            return None;
        }
        let key = DialogKey::of_incoming_request(notify)?;
        let (refer_id, refer) = self.clients.iter().find(|(_, c)| {
            c.creates_dialogs
                && c.key.method == Method::Refer
                && c.tx.state != ClientState::Terminated
                && DialogKey::of_outgoing(&c.request).is_none()
                && from_tag_and_call_id(&c.request).is_some_and(|(call_id, tag)| {
                    *call_id == *key.call_id && *tag == *key.local_tag
                })
        })?;
        let from = notify.typed::<FromHeader<'_>>().ok()??;
        let local_uri = refer.request.typed::<FromHeader<'_>>().ok()??.0;
        let ruri = refer.request.request_line().and_then(|l| l.uri().ok());
        let dialog = Dialog {
            call_id: key.call_id.clone(),
            local_tag: key.local_tag.clone(),
            remote_tag: key.remote_tag.clone(),
            role: DialogRole::Uac,
            state: DialogState::Confirmed,
            local_uri: without_tag(&local_uri),
            remote_uri: without_tag(&from.0),
            local_seq: refer.request.typed::<CSeq>().ok().flatten().map(|c| c.seq),
            remote_seq: None,
            remote_target: contact_uri(notify).unwrap_or_else(|| from.0.uri.clone()),
            // Received in a request: the order requests carry it (as a UAS, §12.1.1).
            route_set: record_routes(notify),
            secure: ruri.as_ref().is_some_and(is_sips),
            flow: e.flow,
            local_contact: refer
                .request
                .value(&HeaderName::Contact)
                .map_or_else(|| format!("<sip:{}>", host_port(refer.flow.local)), unfold),
            invite_out: None,
            invite_in: None,
            unacked_2xx: None,
            ack: None,
            remote_rseq: None,
            session: None,
            peer_allows_update: false,
            local_body: None,
            deadlines: None,
            subscription_only: true,
            refers_in: 0,
            refer_cseq: None,
            behind_nat: via_differs_from_source(notify, e.flow),
            offer_in_1xx: None,
            early_sdp: false,
        };
        let d = self.dialogs.insert(dialog);
        self.dialog_index.insert(key.clone(), d);
        if let Some(c) = self.clients.get_mut(refer_id) {
            c.forks.push((key.remote_tag, d));
        }
        Some(d)
    }
}

/// `Event: refer` (RFC 3515 §2.4.4; an `id` parameter may follow, §2.4.6).
fn is_refer_event(m: &Message) -> bool {
    m.value(&HeaderName::Event).is_some_and(|v| {
        let v = unfold(v);
        v.split(';')
            .next()
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("refer"))
    })
}

/// Call-ID and From tag of a request.
fn from_tag_and_call_id(m: &Message) -> Option<(String, String)> {
    let call_id = m.typed::<CallId<'_>>().ok()??.0.to_owned();
    let tag = m.typed::<FromHeader<'_>>().ok()??.0.tag()?.to_owned();
    Some((call_id, tag))
}

/// Whether a NOTIFY ends its subscription (`Subscription-State: terminated`).
pub(super) fn ends_subscription(notify: &Message) -> bool {
    notify
        .typed::<SubscriptionState<'_>>()
        .ok()
        .flatten()
        .is_some_and(|s| s.state.eq_ignore_ascii_case("terminated"))
}
