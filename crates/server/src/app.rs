//! What the server does with the requests its endpoint hands up, at this stage: it answers
//! OPTIONS (RFC 3261 §11.2) and declines what it cannot route yet. Calls arrive with the
//! back-to-back call layer.

use std::time::Instant;

use tandem_sip_core::{Endpoint, Event};
use tandem_sip_msg::headers::ToHeader;
use tandem_sip_msg::{HeaderName, Method};
use tracing::{debug, warn};

/// Methods the server serves; the endpoint answers others with 405 or 501 (§8.2.1).
pub(crate) const ALLOW: &[Method] = &[
    Method::Invite,
    Method::Ack,
    Method::Cancel,
    Method::Bye,
    Method::Options,
];

/// Handles one endpoint event.
pub(crate) fn handle_event(ep: &mut Endpoint, now: Instant, event: Event) {
    match event {
        Event::Request { tx, request, .. } => {
            let method = request.method();
            let in_dialog = request
                .typed::<ToHeader<'_>>()
                .ok()
                .flatten()
                .is_some_and(|to| to.0.tag().is_some());
            let result = match method {
                Some(Method::Options) => {
                    options_response(ep, tx).and_then(|r| ep.respond(now, tx, r))
                }
                // §12.2.2: no dialog matches a request with a To tag yet.
                _ if in_dialog => ep.reply(now, tx, 481, "Call/Transaction Does Not Exist"),
                Some(Method::Invite) => ep.reply(now, tx, 480, "Temporarily Unavailable"),
                _ => ep.reply(now, tx, 501, "Not Implemented"),
            };
            if let Err(e) = result {
                warn!(error = %e, "could not answer a request");
            }
        }
        Event::Discarded { reason, .. } => debug!(%reason, "message discarded"),
        other => debug!(event = ?other, "endpoint event"),
    }
}

/// §11.2: 200 with Allow, Accept and Supported.
fn options_response(
    ep: &Endpoint,
    tx: tandem_sip_core::ServerTxId,
) -> Result<tandem_sip_msg::Message, tandem_sip_core::RespondError> {
    let mut r = ep.make_response(tx, 200, "OK")?;
    let allow = ALLOW
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    r.push_header(&HeaderName::Allow, &allow)?;
    r.push_header(&HeaderName::Accept, &ep.config().accept.join(", "))?;
    r.push_header(&HeaderName::Supported, &ep.config().supported.join(", "))?;
    Ok(r)
}
