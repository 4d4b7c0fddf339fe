//! Builders for the requests scripted user agents send in scenarios, a dialog-aware scripted
//! UA, and trace helpers.

use std::time::Instant;

use bytes::Bytes;
use tandem_sip_core::{Endpoint, Event, ServerTxId};
use tandem_sip_msg::headers::{CSeq, Contact, ToHeader};
use tandem_sip_msg::{EditError, HeaderName, Message, Method, Uri};

/// A request as a simple UA sends it: Request-URI, From (with tag), To, Call-ID, CSeq, Contact.
/// The endpoint adds Via, Max-Forwards and Content-Length.
pub fn request(
    method: &Method,
    target: &str,
    from: &str,
    call_id: &str,
    cseq: u32,
) -> Result<Message, EditError> {
    let uri = Uri::parse(target).map_err(|_| EditError::NotARequest)?;
    let mut m = Message::new_request(method, &uri)?;
    let headers = [
        (
            HeaderName::From,
            format!("<{from}>;tag=t{cseq}{}", call_id.len()),
        ),
        (HeaderName::To, format!("<{target}>")),
        (HeaderName::CallId, call_id.to_owned()),
        (HeaderName::CSeq, format!("{cseq} {method}")),
        (HeaderName::Contact, format!("<{from}>")),
    ];
    for (name, value) in headers {
        m.push_header(&name, &value)?;
    }
    Ok(m)
}

/// The ACK for a 2xx response (RFC 3261 §13.2.2.4): sent to the Contact of the 2xx, with the
/// dialog's From, To (with tag), Call-ID and the INVITE's CSeq number.
pub fn ack_for(response: &Message) -> Option<Message> {
    let contact = response.typed_first::<Contact<'_>>().ok().flatten();
    let target = match contact.as_ref().and_then(Contact::addr) {
        Some(addr) => addr.uri.clone(),
        None => response.typed::<ToHeader<'_>>().ok()??.0.uri,
    };
    let mut ack = Message::new_request(&Method::Ack, &target).ok()?;
    for name in [HeaderName::From, HeaderName::To, HeaderName::CallId] {
        let value = String::from_utf8_lossy(response.value(&name)?).into_owned();
        ack.push_header(&name, &value).ok()?;
    }
    let seq = response.typed::<CSeq>().ok()??.seq;
    ack.push_header(&HeaderName::CSeq, &format!("{seq} ACK"))
        .ok()?;
    Some(ack)
}

/// A well-behaved user agent for dialog scenarios: answers every request it is shown with
/// 200 (the endpoint adds Contact and copies Record-Route), and ACKs every 2xx to an INVITE
/// with [`Endpoint::ack_2xx`], retransmissions included (the endpoint resends the same ACK).
pub fn dialog_ua(ep: &mut Endpoint, now: Instant, e: &Event) {
    match e {
        Event::Request { tx, .. } => {
            let _ = ep.reply(now, *tx, 200, "OK");
        }
        Event::Response { response, .. } => ack_invite_2xx(ep, response),
        _ => {}
    }
}

/// ACKs `response` in its dialog if it is a 2xx to an INVITE (RFC 3261 §13.2.2.4).
pub fn ack_invite_2xx(ep: &mut Endpoint, response: &Message) {
    let Some(cseq) = response.typed::<CSeq>().ok().flatten() else {
        return;
    };
    if cseq.method != Method::Invite || response.status().is_none_or(|s| s / 100 != 2) {
        return;
    }
    if let Some(d) = ep.dialog_of_response(response) {
        let _ = ep.ack_2xx(d, cseq.seq, None);
    }
}

/// The raw bytes of a response to `request` as another UA (a fork behind a proxy) would send
/// it: Via, From, Call-ID and CSeq copied, To with `to_tag`, and a Contact.
pub fn fork_response(
    request: &Message,
    status: u16,
    reason: &str,
    to_tag: &str,
    contact: &str,
) -> Bytes {
    let mut out = format!("SIP/2.0 {status} {reason}\r\n");
    for field in request.headers() {
        let name = field.header_name();
        let value = String::from_utf8_lossy(field.value);
        match name {
            HeaderName::Via | HeaderName::From | HeaderName::CallId | HeaderName::CSeq => {
                out.push_str(&format!("{}: {value}\r\n", name.as_str()));
            }
            HeaderName::To => out.push_str(&format!("To: {value};tag={to_tag}\r\n")),
            _ => {}
        }
    }
    out.push_str(&format!("Contact: {contact}\r\nContent-Length: 0\r\n\r\n"));
    Bytes::from(out)
}

/// The first request with `method` a node received, with its server transaction.
pub fn received(events: &[(Instant, Event)], method: &Method) -> Option<(ServerTxId, Message)> {
    events.iter().find_map(|(_, e)| match e {
        Event::Request { tx, request, .. } if request.method().as_ref() == Some(method) => {
            Some((*tx, (**request).clone()))
        }
        _ => None,
    })
}

/// Every datagram in `trace` whose label is `label`, parsed.
pub fn sent(trace: &crate::Trace, label: &str) -> Vec<Message> {
    trace
        .entries()
        .iter()
        .filter(|e| e.label() == label)
        .filter_map(|e| Message::parse(e.payload.clone(), &tandem_sip_msg::Limits::default()).ok())
        .collect()
}

/// The text of every field named `name` in `m`, in order.
pub fn header_values(m: &Message, name: &HeaderName) -> Vec<String> {
    m.values(name)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect()
}

/// The INVITE the caller of the two-node scenarios sends: to `sip:b@127.0.0.2:5062`, from
/// `sip:a@127.0.0.1`, with its Contact at `127.0.0.1:5061` so in-dialog requests come back.
pub fn invite_b(call_id: &str, cseq: u32) -> Result<Message, EditError> {
    let mut invite = request(
        &Method::Invite,
        "sip:b@127.0.0.2:5062",
        "sip:a@127.0.0.1",
        call_id,
        cseq,
    )?;
    invite.replace_header(&HeaderName::Contact, "<sip:a@127.0.0.1:5061>")?;
    Ok(invite)
}

/// Sends `invite` from `uac` to `uas`, lets `settle` of virtual time pass (the nodes' scripts
/// answer and ACK), and returns the client transaction with the dialog each side holds
/// (UAC's, UAS's); `None` when either side has no dialog.
pub fn establish(
    w: &mut crate::World,
    uac: crate::NodeId,
    uas: crate::NodeId,
    invite: Message,
    settle: std::time::Duration,
) -> Option<(
    tandem_sip_core::ClientTxId,
    tandem_sip_core::DialogId,
    tandem_sip_core::DialogId,
)> {
    let flow = w.flow(uac, uas);
    let tx = w
        .command(uac, |ep, now| ep.send_request(now, invite, flow))
        .ok()?;
    w.run_for(settle);
    let a = w.node(uac).endpoint.dialog_of_client_tx(tx)?;
    let (stx, _) = received(&w.node(uas).events, &Method::Invite)?;
    let b = w.node(uas).endpoint.dialog_of_server_tx(stx)?;
    Some((tx, a, b))
}
