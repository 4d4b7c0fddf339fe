//! The UAS core's automatic answers (RFC 3261 §8.2): what a request gets before any
//! application sees it.

use tandem_sip_msg::headers::{ContentType, Require};
use tandem_sip_msg::{Message, Method, Uri};

/// An automatic rejection: status, reason phrase and extra header lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rejection {
    pub(crate) status: u16,
    pub(crate) reason: &'static str,
    pub(crate) headers: Vec<(&'static str, String)>,
}

impl Rejection {
    fn new(status: u16, reason: &'static str) -> Self {
        Self {
            status,
            reason,
            headers: Vec::new(),
        }
    }

    fn with(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
}

/// What the UAS core needs to know of the application.
pub(crate) struct UasPolicy<'a> {
    pub(crate) allow: &'a [Method],
    pub(crate) supported: &'a [String],
    pub(crate) accept: &'a [String],
}

/// §8.2.1 method inspection, §8.2.2.1 To and Request-URI, §8.2.2.3 Require, §8.2.3 content
/// processing, in the RFC's order. ACK and CANCEL are never rejected here (§8.2.2.3: Require
/// is not checked for them; ACK cannot be answered).
pub(crate) fn check_request(
    m: &Message,
    method: &Method,
    policy: &UasPolicy<'_>,
) -> Option<Rejection> {
    if matches!(method, Method::Ack | Method::Cancel) {
        return None;
    }
    // §8.2.1: 405 with Allow for a method we know but do not serve; 501 for the unknown.
    if !policy.allow.contains(method) {
        let allow = policy
            .allow
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        return Some(match method {
            Method::Other(_) => Rejection::new(501, "Not Implemented").with("Allow", allow),
            _ => Rejection::new(405, "Method Not Allowed").with("Allow", allow),
        });
    }
    // §8.2.2.1: a Request-URI scheme we do not understand gets 416.
    let uri = m.request_line().and_then(|l| l.uri().ok());
    if !matches!(uri, Some(Uri::Sip(_) | Uri::Tel(_))) {
        return Some(Rejection::new(416, "Unsupported URI Scheme"));
    }
    // §8.2.2.3: every option tag in Require must be supported, else 420 listing them.
    if let Ok(required) = m.typed_all::<Require<'_>>() {
        let unsupported: Vec<&str> = required
            .iter()
            .map(|r| r.0)
            .filter(|tag| !policy.supported.iter().any(|s| s.eq_ignore_ascii_case(tag)))
            .collect();
        if !unsupported.is_empty() {
            return Some(
                Rejection::new(420, "Bad Extension").with("Unsupported", unsupported.join(", ")),
            );
        }
    }
    // §8.2.3: a body we cannot process (by Content-Type) gets 415 with Accept. Only the
    // methods whose body Tandem itself must understand (a session description) are checked;
    // INFO, MESSAGE or NOTIFY bodies belong to the application.
    if matches!(method, Method::Invite | Method::Update | Method::Prack) && !m.body().is_empty() {
        let ok = match m.typed::<ContentType<'_>>() {
            Ok(Some(ct)) => policy.accept.iter().any(|a| {
                let (t, s) = a.split_once('/').unwrap_or((a, "*"));
                ct.0.is(t, s)
            }),
            // §7.4.1: no Content-Type on a body: assume nothing.
            _ => false,
        };
        if !ok {
            return Some(
                Rejection::new(415, "Unsupported Media Type")
                    .with("Accept", policy.accept.join(", ")),
            );
        }
    }
    None
}
