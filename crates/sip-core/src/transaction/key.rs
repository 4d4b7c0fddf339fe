//! Transaction matching (RFC 3261 §17.1.3 and §17.2.3).

use std::sync::Arc;

use tandem_sip_msg::headers::{CSeq, CallId, FromHeader, ToHeader, Via};
use tandem_sip_msg::{Message, Method};

/// Matches responses to client transactions: the top Via branch (which Tandem generated, so
/// always RFC 3261 style) and the CSeq method (§17.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ClientKey {
    pub(crate) branch: Arc<str>,
    pub(crate) method: Method,
}

/// Matches requests to server transactions (§17.2.3).
///
/// With the `z9hG4bK` magic cookie: branch, sent-by and method, where ACK matches the INVITE.
/// Without it (RFC 2543 peers): Request-URI, To tag, From tag, Call-ID, CSeq number and top Via,
/// as §17.2.3 describes, folded into one string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum ServerKey {
    Rfc3261 {
        branch: Arc<str>,
        sent_by: Arc<str>,
        method: Method,
    },
    Rfc2543 {
        fingerprint: Arc<str>,
        method: Method,
    },
}

impl ClientKey {
    /// The key of a response; `None` when its top Via or CSeq cannot be read.
    pub(crate) fn of_response(m: &Message) -> Option<Self> {
        let via = m.typed_first::<Via<'_>>().ok()??;
        let cseq = m.typed::<CSeq>().ok()??;
        Some(Self {
            branch: via.branch()?.into(),
            method: cseq.method,
        })
    }
}

impl ServerKey {
    /// The key of a request, with `method` as matched (ACK → INVITE; CANCEL is its own).
    pub(crate) fn of_request(m: &Message, method: Method) -> Option<Self> {
        let via = m.typed_first::<Via<'_>>().ok()??;
        let method = if method == Method::Ack {
            Method::Invite
        } else {
            method
        };
        if via.has_rfc3261_branch() {
            let branch = via.branch()?.into();
            let sent_by = match via.port {
                Some(p) => format!("{}:{p}", via.host),
                None => via.host.to_string(),
            };
            return Some(Self::Rfc3261 {
                branch,
                sent_by: sent_by.into(),
                method,
            });
        }
        let uri = m.request_line()?.uri;
        let call_id = m.typed::<CallId<'_>>().ok()??.0;
        let cseq = m.typed::<CSeq>().ok()??.seq;
        let from_tag = m
            .typed::<FromHeader<'_>>()
            .ok()??
            .0
            .tag()
            .unwrap_or_default()
            .to_owned();
        // The To tag of an ACK for a non-2xx is the one Tandem put in its response, which the
        // INVITE did not have: leave the To tag out so the ACK matches (§17.2.3 compares it
        // only against the response's tag, which the transaction remembers).
        let to_tag = if method == Method::Invite {
            String::new()
        } else {
            m.typed::<ToHeader<'_>>()
                .ok()??
                .0
                .tag()
                .unwrap_or_default()
                .to_owned()
        };
        let top_via = m
            .value(&tandem_sip_msg::HeaderName::Via)
            .map(String::from_utf8_lossy);
        let fingerprint = format!(
            "{uri}|{call_id}|{cseq}|{from_tag}|{to_tag}|{}",
            top_via.unwrap_or_default()
        );
        Some(Self::Rfc2543 {
            fingerprint: fingerprint.into(),
            method,
        })
    }
}
