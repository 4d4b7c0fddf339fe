//! Messages the endpoint builds from others: responses (§8.2.6.2), the ACK of a non-2xx and
//! CANCEL (§17.1.1.3, §9.1), and the small header helpers they share.

use super::*;

/// Whether a `Supported` or `Require` field of `m` names `100rel` (RFC 3262).
pub(super) fn mentions_100rel(m: &Message, name: &HeaderName) -> bool {
    lists_token(m, name, "100rel")
}

/// Whether a comma-separated token list header (`Supported`, `Require`, `Allow`) of `m`
/// names `token`.
pub(super) fn lists_token(m: &Message, name: &HeaderName, token: &str) -> bool {
    m.values(name).any(|v| {
        String::from_utf8_lossy(v)
            .split(',')
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    })
}

/// `m` as a transaction keeps it: re-parsed from its own octets when it was edited (the
/// received request with `received`/`rport` added to its Via, a request Tandem built), so it
/// holds one buffer of exactly its size and its header spans inline. An edited message holds
/// its edit buffer and a heap copy of its spans, both grown by doubling, beside its original
/// octets: more than the message itself, for the 64·T1 an INVITE transaction lives.
pub(super) fn compacted(m: Message) -> Message {
    if !m.is_edited() {
        return m;
    }
    let octets = m.to_bytes();
    parsed_as(m, octets)
}

/// `octets` (the serialised `m`, e.g. the bytes a client transaction retransmits, which the
/// result then shares) parsed; `m` itself when they do not parse (never expected).
pub(super) fn parsed_as(m: Message, octets: Bytes) -> Message {
    let limits = tandem_sip_msg::Limits {
        max_message_size: usize::MAX,
        max_headers: usize::MAX,
        max_line_length: usize::MAX,
        max_uri_length: usize::MAX,
    };
    Message::parse(octets, &limits).unwrap_or(m)
}

/// `host:port` of a socket address for a Via sent-by or Contact (IPv6 in brackets, RFC 5118).
pub fn host_port(addr: SocketAddr) -> String {
    addr.to_string()
}

/// §8.2.6.2: a response to `request`.
pub(crate) fn response_to(
    request: &Message,
    status: u16,
    reason: &str,
    to_tag: Option<&str>,
    server: &str,
) -> Result<Message, tandem_sip_msg::EditError> {
    let mut r = Message::new_response(status, reason)?;
    for field in request.headers() {
        let name = field.header_name();
        if matches!(
            name,
            HeaderName::Via | HeaderName::From | HeaderName::CallId | HeaderName::CSeq
        ) {
            r.push_header(&name, &unfold(field.value))?;
        } else if name == HeaderName::To {
            let value = unfold(field.value);
            let has_tag = request
                .typed::<ToHeader<'_>>()
                .ok()
                .flatten()
                .is_some_and(|t| t.0.tag().is_some());
            match to_tag {
                Some(tag) if !has_tag => r.push_header(&name, &format!("{value};tag={tag}"))?,
                _ => r.push_header(&name, &value)?,
            }
        }
    }
    if !server.is_empty() {
        r.push_header(&HeaderName::Server, server)?;
    }
    Ok(r)
}

/// ACK for a non-2xx (§17.1.1.3) or CANCEL (§9.1), derived from the INVITE as sent: same
/// Request-URI, Call-ID, From, CSeq number, top Via and Route; To from the response for ACK.
pub(crate) fn derived_request(
    invite: &Message,
    method: Method,
    response: Option<&Message>,
) -> Result<Message, tandem_sip_msg::EditError> {
    let uri_text = invite.request_line().map(|l| l.uri).unwrap_or_default();
    let uri =
        tandem_sip_msg::Uri::parse(uri_text).map_err(|_| tandem_sip_msg::EditError::NotARequest)?;
    let mut m = Message::new_request(&method, &uri)?;
    let mut via_done = false;
    for field in invite.headers() {
        let name = field.header_name();
        let value = unfold(field.value);
        match name {
            HeaderName::Via if !via_done => {
                // The top Via is the one line Tandem inserted in `send_request`.
                m.push_header(&name, &value)?;
                via_done = true;
            }
            HeaderName::From | HeaderName::CallId | HeaderName::Route | HeaderName::MaxForwards => {
                m.push_header(&name, &value)?;
            }
            HeaderName::To => {
                let to = response
                    .and_then(|r| r.value(&HeaderName::To))
                    .map(unfold)
                    .unwrap_or(value);
                m.push_header(&name, &to)?;
            }
            HeaderName::CSeq => {
                let seq = invite.typed::<CSeq>().ok().flatten().map_or(1, |c| c.seq);
                m.push_header(&name, &format!("{seq} {method}"))?;
            }
            _ => {}
        }
    }
    m.push_header(&HeaderName::ContentLength, "0")?;
    Ok(m)
}

/// A header value on one line: each line fold (CRLF or LF followed by whitespace) becomes one
/// space, which RFC 3261 §7.3.1 defines as equivalent. Copied values go into new messages whose
/// edit API takes single-line values.
pub(super) fn unfold(value: &[u8]) -> String {
    let text = String::from_utf8_lossy(value);
    if !text.contains(['\r', '\n']) {
        return text.into_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut in_break = false;
    for c in text.chars() {
        if c == '\r' || c == '\n' {
            in_break = true;
            continue;
        }
        if in_break {
            if c == ' ' || c == '\t' {
                continue;
            }
            in_break = false;
            if !out.ends_with(' ') {
                out.push(' ');
            }
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfold_joins_continuation_lines() {
        assert_eq!(
            unfold(b"SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=x"),
            "SIP  /   2.0 /UDP 192.0.2.2;branch=x"
        );
        assert_eq!(unfold(b"plain"), "plain");
    }
}
