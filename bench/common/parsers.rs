//! The messages and one adapter per SIP parser, shared by `benches/sip_parse.rs` and
//! `tests/alloc.rs` (included with `#[path]`).
//!
//! Every adapter does the same three things so the comparison is fair:
//! - `parse`: the crate's own "bytes in, message out" entry point (what its transport layer
//!   calls), dropping nothing the crate itself would keep;
//! - `serialize`: appends the message to a caller-owned `Vec<u8>` that the caller clears and
//!   reuses, through the crate's own printer;
//! - `typed`: the B2BUA hot path: top Via branch, From tag, To tag, CSeq number and Call-ID,
//!   through the crate's typed header API. Returns a checksum of what was read, or `None` when
//!   the crate rejects one of those headers.

use std::io::Write as _;

use bytes::Bytes;

/// (short name, wire octets): a typical INVITE with an SDP offer, its 200 OK with an SDP
/// answer and two Record-Routes, and RFC 4475 §3.1.1.1 `wsinv.dat` (see `data/README.md`).
pub(crate) const MESSAGES: [(&str, &[u8]); 3] = [
    ("invite", include_bytes!("../data/invite.sip")),
    ("200ok", include_bytes!("../data/ok200.sip")),
    ("wsinv", include_bytes!("../data/wsinv.dat")),
];

/// A received datagram as a transport holds it: heap `Bytes` already in its shared
/// (reference-counted) form, so `clone()` is one atomic increment and never allocates.
pub(crate) fn datagram(raw: &[u8]) -> Bytes {
    let b = Bytes::copy_from_slice(raw);
    drop(b.clone()); // promotes the Vec-backed `Bytes` to the shared representation
    b
}

/// One SIP parser under test.
pub(crate) trait SipParser {
    /// Name used in benchmark ids and reports.
    const NAME: &'static str;
    /// The parsed message.
    type Msg;
    /// Parses one datagram; `None` when the crate rejects it.
    fn parse(raw: &Bytes) -> Option<Self::Msg>;
    /// Appends the serialised message to `out`.
    fn serialize(msg: &Self::Msg, out: &mut Vec<u8>);
    /// Reads top Via branch, From tag, To tag, CSeq number and Call-ID through typed views.
    fn typed(msg: &Self::Msg) -> Option<usize>;
}

fn len_of<T: AsRef<[u8]> + ?Sized>(v: Option<&T>) -> usize {
    v.map_or(0, |v| v.as_ref().len())
}

// ---- tandem-sip-msg ----

/// Tandem's own parser (`tandem_sip_msg`).
pub(crate) struct Tandem;

impl SipParser for Tandem {
    const NAME: &'static str = "tandem";
    type Msg = tandem_sip_msg::Message;

    fn parse(raw: &Bytes) -> Option<Self::Msg> {
        tandem_sip_msg::Message::parse(raw.clone(), &tandem_sip_msg::Limits::default()).ok()
    }

    fn serialize(msg: &Self::Msg, out: &mut Vec<u8>) {
        msg.write_to(out);
    }

    fn typed(msg: &Self::Msg) -> Option<usize> {
        use tandem_sip_msg::headers::{CSeq, CallId, FromHeader, ToHeader, Via};
        let via: Via<'_> = msg.typed_first().ok()??;
        let from: FromHeader<'_> = msg.typed_required().ok()?;
        let to: ToHeader<'_> = msg.typed_required().ok()?;
        let cseq: CSeq = msg.typed_required().ok()?;
        let call_id: CallId<'_> = msg.typed_required().ok()?;
        Some(
            len_of(via.branch())
                + len_of(from.tag())
                + len_of(to.tag())
                + cseq.seq as usize
                + call_id.0.len(),
        )
    }
}

// ---- sipx-sip ----

/// `sipx-sip` 1.0 (lossless, lazily typed; closest in design to Tandem).
pub(crate) struct Sipx;

impl SipParser for Sipx {
    const NAME: &'static str = "sipx-sip";
    type Msg = sipx_sip::Message;

    fn parse(raw: &Bytes) -> Option<Self::Msg> {
        sipx_sip::parse_datagram(raw.clone(), &sipx_sip::Limits::default()).ok()
    }

    fn serialize(msg: &Self::Msg, out: &mut Vec<u8>) {
        msg.write_to(out);
    }

    fn typed(msg: &Self::Msg) -> Option<usize> {
        use sipx_sip::headers::{From, To};
        use sipx_sip::{CSeq, CallId, Via};
        let h = msg.headers();
        let via = h.typed::<Via>()?.ok()?;
        let from = h.typed::<From>()?.ok()?;
        let to = h.typed::<To>()?.ok()?;
        let cseq = h.typed::<CSeq>()?.ok()?;
        let call_id = h.typed::<CallId>()?.ok()?;
        Some(
            len_of(via.branch())
                + len_of(from.tag())
                + len_of(to.tag())
                + cseq.sequence as usize
                + call_id.0.len(),
        )
    }
}

// ---- rsip ----

/// `rsip` 0.4 (eager tokenizer into untyped headers; typed views parsed on request).
pub(crate) struct Rsip;

impl SipParser for Rsip {
    const NAME: &'static str = "rsip";
    type Msg = rsip::SipMessage;

    fn parse(raw: &Bytes) -> Option<Self::Msg> {
        rsip::SipMessage::try_from(&raw[..]).ok()
    }

    fn serialize(msg: &Self::Msg, out: &mut Vec<u8>) {
        // rsip prints through `Display` (its `Into<Vec<u8>>` is `to_string().into_bytes()`).
        write!(out, "{msg}").ok();
    }

    fn typed(msg: &Self::Msg) -> Option<usize> {
        use rsip::prelude::{HeadersExt, ToTypedHeader, UntypedHeader};
        let via = msg.via_header().ok()?.typed().ok()?;
        let from = msg.from_header().ok()?.typed().ok()?;
        let to = msg.to_header().ok()?.typed().ok()?;
        let cseq = msg.cseq_header().ok()?.typed().ok()?;
        let call_id = msg.call_id_header().ok()?; // rsip has no typed Call-ID
        Some(
            via.branch().map_or(0, |b| b.value().len())
                + from.tag().map_or(0, |t| t.value().len())
                + to.tag().map_or(0, |t| t.value().len())
                + cseq.seq as usize
                + call_id.value().len(),
        )
    }
}

// ---- ezk-sip-types ----

/// `ezk-sip-types` 0.6: the crate has the pieces, not a message type; this is the assembly
/// `ezk-sip-core` does in its transport layer (`transport/parse.rs`): `PullParser` lines,
/// `MessageLine`, `Line` into `Headers`, body by Content-Length. Unlike `ezk-sip-core` it
/// parses from the received `Bytes` instead of copying them first (slightly favours ezk).
pub(crate) struct Ezk;

/// A message as `ezk-sip-core` holds it.
pub(crate) struct EzkMsg {
    line: ezk_sip_types::msg::MessageLine,
    headers: ezk_sip_types::Headers,
    body: Bytes,
}

impl SipParser for Ezk {
    const NAME: &'static str = "ezk-sip-types";
    type Msg = EzkMsg;

    fn parse(raw: &Bytes) -> Option<Self::Msg> {
        use ezk_sip_types::header::typed::ContentLength;
        use ezk_sip_types::msg::{Line, MessageLine, PullParser};
        use ezk_sip_types::parse::Parse;
        let mut parser = PullParser::new(raw, 0);
        let mut line = None;
        let mut headers = ezk_sip_types::Headers::new();
        for item in &mut parser {
            let text = std::str::from_utf8(item.ok()?).ok()?;
            if line.is_none() {
                line = Some(MessageLine::parse(raw)(text).ok()?.1);
            } else {
                let (_, l) = Line::parse(raw, text).ok()?;
                headers.insert(l.name, l.value);
            }
        }
        let head_end = parser.head_end();
        let body = match headers.get_named::<ContentLength>() {
            Ok(ContentLength(0)) => Bytes::new(),
            Ok(ContentLength(n)) if raw.len() >= head_end + n => raw.slice(head_end..head_end + n),
            Ok(_) => return None,
            Err(_) => raw.slice(head_end..),
        };
        Some(EzkMsg {
            line: line?,
            headers,
            body,
        })
    }

    fn serialize(msg: &Self::Msg, out: &mut Vec<u8>) {
        use ezk_sip_types::print::AppendCtx;
        write!(
            out,
            "{}\r\n{}\r\n",
            msg.line.default_print_ctx(),
            msg.headers
        )
        .ok();
        out.extend_from_slice(&msg.body);
    }

    fn typed(msg: &Self::Msg) -> Option<usize> {
        use ezk_sip_types::Name;
        use ezk_sip_types::header::typed::{CSeq, CallID, FromTo, Via};
        let h = &msg.headers;
        let via = h.get_named::<Via>().ok()?;
        let from = h.get::<FromTo>(Name::FROM).ok()?;
        let to = h.get::<FromTo>(Name::TO).ok()?;
        let cseq = h.get_named::<CSeq>().ok()?;
        let call_id = h.get_named::<CallID>().ok()?;
        Some(
            via.params.get_val("branch").map_or(0, |b| b.len())
                + from.tag.map_or(0, |t| t.len())
                + to.tag.map_or(0, |t| t.len())
                + cseq.cseq as usize
                + call_id.0.len(),
        )
    }
}

// ---- rvoip-sip-core ----

/// `rvoip-sip-core` 0.4 (eager: every known header is decoded into a typed enum while
/// parsing).
pub(crate) struct Rvoip;

impl SipParser for Rvoip {
    const NAME: &'static str = "rvoip-sip-core";
    type Msg = rvoip_sip_core::Message;

    fn parse(raw: &Bytes) -> Option<Self::Msg> {
        rvoip_sip_core::parse_message(raw).ok()
    }

    /// `Message::to_bytes` of the crate, writing into `out` instead of a fresh `Vec`.
    fn serialize(msg: &Self::Msg, out: &mut Vec<u8>) {
        use rvoip_sip_core::Message;
        let (headers, body) = match msg {
            Message::Request(r) => {
                write!(out, "{} {} {}\r\n", r.method, r.uri, r.version).ok();
                (&r.headers, &r.body)
            }
            Message::Response(r) => {
                write!(
                    out,
                    "{} {} {}\r\n",
                    r.version,
                    r.status.as_u16(),
                    r.reason_phrase()
                )
                .ok();
                (&r.headers, &r.body)
            }
        };
        for h in headers {
            write!(out, "{h}\r\n").ok();
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(body);
    }

    fn typed(msg: &Self::Msg) -> Option<usize> {
        use rvoip_sip_core::types::{CSeq, TypedHeader};
        use rvoip_sip_core::{HeaderName, Via};
        let TypedHeader::Via(via) = msg.header(&HeaderName::Via)? else {
            return None;
        };
        let via: &Via = via;
        let from = msg.from()?;
        let to = msg.to()?;
        let cseq = msg.typed_header::<CSeq>()?;
        let call_id = msg.call_id()?;
        Some(
            len_of(via.branch())
                + len_of(from.tag())
                + len_of(to.tag())
                + cseq.seq as usize
                + call_id.0.len(),
        )
    }
}
