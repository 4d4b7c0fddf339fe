//! Builders for the requests scripted user agents send in scenarios.

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
