//! Edits and builders. An edit writes only the changed line into a side buffer; every other
//! line is still serialised from its original byte slice, so a B2BUA forwards what it does
//! not understand byte-exactly (ARCHITECTURE.md §6, STYLE.md).

use bytes::Bytes;

use crate::error::EditError;
use crate::header::{HeaderName, OTHER_ID, known_id};
use crate::headers::Via;
use crate::lex::{is_lws, is_token, is_token_str};
use crate::limits::Limits;
use crate::message::{Body, HeaderSpan, Message, Src, StartSpan};
use crate::method::Method;
use crate::uri::Uri;

impl Message {
    /// A new request `METHOD uri SIP/2.0` with no headers and no body.
    pub fn new_request(method: &Method, uri: &Uri) -> Result<Self, EditError> {
        if !is_token_str(method.as_str()) {
            return Err(EditError::BadMethod);
        }
        Self::from_start_line(format!("{method} {uri} SIP/2.0\r\n\r\n"))
    }

    /// A new response `SIP/2.0 status reason` with no headers and no body.
    pub fn new_response(status: u16, reason: &str) -> Result<Self, EditError> {
        if !(100..=699).contains(&status) {
            return Err(EditError::BadStatus);
        }
        check_value(reason)?;
        Self::from_start_line(format!("SIP/2.0 {status} {reason}\r\n\r\n"))
    }

    fn from_start_line(s: String) -> Result<Self, EditError> {
        let limits = Limits {
            max_message_size: u32::MAX as usize,
            max_headers: 0,
            max_line_length: usize::MAX,
            max_uri_length: usize::MAX,
        };
        Self::parse(Bytes::from(s), &limits).map_err(|_| EditError::BadMethod)
    }

    /// Appends `name: value` (canonical long name) after the last header.
    pub fn push_header(&mut self, name: &HeaderName, value: &str) -> Result<(), EditError> {
        let span = self.new_line(name.as_str().as_bytes(), value)?;
        self.headers.vec_mut().push(span);
        Ok(())
    }

    /// Inserts `name: value` before the header at `index` (or at the end if `index` equals the
    /// header count), e.g. index 0 for a new top Via.
    pub fn insert_header(
        &mut self,
        index: usize,
        name: &HeaderName,
        value: &str,
    ) -> Result<(), EditError> {
        if index > self.header_count() {
            return Err(EditError::NoSuchHeader);
        }
        let span = self.new_line(name.as_str().as_bytes(), value)?;
        self.headers.vec_mut().insert(index, span);
        Ok(())
    }

    /// Removes the header field at `index`.
    pub fn remove_header_at(&mut self, index: usize) -> Result<(), EditError> {
        if index >= self.header_count() {
            return Err(EditError::NoSuchHeader);
        }
        self.edited = true;
        self.headers.vec_mut().remove(index);
        Ok(())
    }

    /// Removes every field named `name`; returns how many were removed.
    pub fn remove_headers(&mut self, name: &HeaderName) -> usize {
        let keep: Vec<bool> = self.headers().map(|h| !h.is(name)).collect();
        let removed = keep.iter().filter(|k| !**k).count();
        if removed > 0 {
            self.edited = true;
            let mut it = keep.into_iter();
            self.headers.vec_mut().retain(|_| it.next().unwrap_or(true));
        }
        removed
    }

    /// Replaces the first field named `name` in place (same position) and removes the other
    /// fields of that name; appends when absent.
    pub fn replace_header(&mut self, name: &HeaderName, value: &str) -> Result<(), EditError> {
        let Some(first) = self.headers().position(|h| h.is(name)) else {
            return self.push_header(name, value);
        };
        let span = self.new_line(name.as_str().as_bytes(), value)?;
        self.remove_headers(name);
        self.headers.vec_mut().insert(first, span);
        Ok(())
    }

    /// Replaces the Request-URI (the start line is rewritten; the rest is untouched).
    pub fn set_request_uri(&mut self, uri: &Uri) -> Result<(), EditError> {
        let rl = self.request_line().ok_or(EditError::NotARequest)?;
        let (method, version) = (rl.method.to_owned(), rl.version.to_owned());
        let uri = uri.to_string();
        check_value(&uri)?;
        let start = self.extra.len();
        let mut cursor = start;
        let mut field = |extra: &mut Vec<u8>, s: &str| {
            extra.extend_from_slice(s.as_bytes());
            let r = (off(cursor), off(cursor + s.len()));
            cursor += s.len() + 1;
            r
        };
        let a = field(&mut self.extra, &method);
        self.extra.push(b' ');
        let b = field(&mut self.extra, &uri);
        self.extra.push(b' ');
        let c = field(&mut self.extra, &version);
        self.extra.extend_from_slice(b"\r\n");
        self.start = StartSpan {
            src: Src::Extra,
            line: (off(start), off(self.extra.len())),
            a,
            b,
            c,
            code: 0,
        };
        self.edited = true;
        Ok(())
    }

    /// Sets (adds or replaces) a parameter of the top Via value, e.g. `received` or `rport`
    /// (RFC 3261 §18.2.1, RFC 3581). `value: None` writes a flag parameter. Only the top Via
    /// field is re-written; other values in the same field keep their bytes.
    pub fn set_top_via_param(&mut self, name: &str, value: Option<&str>) -> Result<(), EditError> {
        if !is_token_str(name) {
            return Err(EditError::BadName);
        }
        if let Some(v) = value {
            check_value(v)?;
        }
        self.edit_top_via(name, Some(value))
    }

    /// Removes a parameter of the top Via value if present.
    pub fn remove_top_via_param(&mut self, name: &str) -> Result<(), EditError> {
        self.edit_top_via(name, None)
    }

    /// Replaces the body, rewriting Content-Type (removed when `content_type` is `None`) and
    /// Content-Length so they stay right (RFC 3261 §20.14, §20.15).
    pub fn set_body(&mut self, content_type: Option<&str>, body: Bytes) -> Result<(), EditError> {
        match content_type {
            Some(ct) => self.replace_header(&HeaderName::ContentType, ct)?,
            None => {
                self.remove_headers(&HeaderName::ContentType);
            }
        }
        self.replace_header(&HeaderName::ContentLength, &body.len().to_string())?;
        self.body = Body::Owned(body);
        self.edited = true;
        Ok(())
    }

    fn edit_top_via(&mut self, name: &str, set: Option<Option<&str>>) -> Result<(), EditError> {
        let idx = self
            .headers()
            .position(|h| h.is(&HeaderName::Via))
            .ok_or(EditError::NoSuchHeader)?;
        let span = self.headers.as_slice()[idx];
        let field = self.field(&span);
        let raw_name = field.name.to_vec();
        let value = field
            .value_str()
            .ok_or(crate::error::HeaderError::NotUtf8("Via"))?;
        let elem_end = first_element_end(value);
        let elem = &value[..elem_end];
        Via::parse(elem.trim_end_matches(|c: char| c.is_ascii() && is_lws(c as u8))).map_err(
            |what| crate::error::HeaderError::Malformed {
                header: "Via",
                what,
            },
        )?;
        let mut new_elem = String::with_capacity(elem.len() + 32);
        let trimmed_len = elem
            .trim_end_matches(|c: char| c.is_ascii() && is_lws(c as u8))
            .len();
        let mut found = false;
        let mut last = 0;
        for (s, e) in param_segments(&elem[..trimmed_len]) {
            let seg = &elem[s + 1..e];
            let pname = seg
                .trim_start_matches(|c: char| c.is_ascii() && is_lws(c as u8))
                .split(|c: char| !(c.is_ascii() && is_token(c as u8)))
                .next()
                .unwrap_or("");
            if pname.eq_ignore_ascii_case(name) && !found {
                found = true;
                new_elem.push_str(&elem[last..s]);
                if let Some(v) = set {
                    push_param(&mut new_elem, name, v);
                }
                last = e;
            }
        }
        new_elem.push_str(&elem[last..trimmed_len]);
        if !found && let Some(v) = set {
            push_param(&mut new_elem, name, v);
        }
        new_elem.push_str(&elem[trimmed_len..]);
        let new_value = format!("{new_elem}{}", &value[elem_end..]);
        let new_span = self.new_line_raw(&raw_name, &new_value);
        self.headers.vec_mut()[idx] = new_span;
        Ok(())
    }

    fn new_line(&mut self, name: &[u8], value: &str) -> Result<HeaderSpan, EditError> {
        if name.is_empty() || !name.iter().all(|&c| is_token(c)) {
            return Err(EditError::BadName);
        }
        check_value(value)?;
        Ok(self.new_line_raw(name, value))
    }

    /// Writes `name: value\r\n` to the side buffer (value may contain folding only when it
    /// comes from the message itself).
    fn new_line_raw(&mut self, name: &[u8], value: &str) -> HeaderSpan {
        let start = self.extra.len();
        self.extra.extend_from_slice(name);
        let name_end = self.extra.len();
        self.extra.extend_from_slice(b": ");
        let vs = self.extra.len();
        self.extra.extend_from_slice(value.as_bytes());
        let ve = self.extra.len();
        self.extra.extend_from_slice(b"\r\n");
        self.edited = true;
        // Same id as `HeaderName::new(name).id()`, without building the name.
        let id = known_id(name).unwrap_or(OTHER_ID);
        HeaderSpan {
            src: Src::Extra,
            id,
            line: (off(start), off(self.extra.len())),
            name_end: off(name_end),
            value: (off(vs), off(ve)),
            _pad: 0,
        }
    }
}

fn push_param(out: &mut String, name: &str, value: Option<&str>) {
    out.push(';');
    out.push_str(name);
    if let Some(v) = value {
        out.push('=');
        out.push_str(v);
    }
}

fn check_value(v: &str) -> Result<(), EditError> {
    if v.bytes().any(|b| b == b'\r' || b == b'\n') {
        Err(EditError::LineBreak)
    } else {
        Ok(())
    }
}

fn off(x: usize) -> u32 {
    u32::try_from(x).unwrap_or(u32::MAX)
}

/// Byte offset of the first top-level comma (or the end).
fn first_element_end(v: &str) -> usize {
    let mut in_quote = false;
    let mut esc = false;
    for (i, c) in v.bytes().enumerate() {
        if in_quote {
            if esc {
                esc = false;
            } else if c == b'\\' {
                esc = true;
            } else if c == b'"' {
                in_quote = false;
            }
        } else if c == b'"' {
            in_quote = true;
        } else if c == b',' {
            return i;
        }
    }
    v.len()
}

/// `(start, end)` of each `;param` segment outside quotes: `start` is the `;`.
fn param_segments(v: &str) -> Vec<(usize, usize)> {
    let mut semis = Vec::new();
    let mut in_quote = false;
    let mut esc = false;
    for (i, c) in v.bytes().enumerate() {
        if in_quote {
            if esc {
                esc = false;
            } else if c == b'\\' {
                esc = true;
            } else if c == b'"' {
                in_quote = false;
            }
        } else if c == b'"' {
            in_quote = true;
        } else if c == b';' {
            semis.push(i);
        }
    }
    let mut out = Vec::with_capacity(semis.len());
    for (k, &s) in semis.iter().enumerate() {
        let e = semis.get(k + 1).copied().unwrap_or(v.len());
        // keep LWS before the next `;` with the segment so removal drops it too
        out.push((s, e));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headers::{CSeq, ContentLength};

    const REQ: &[u8] = b"INVITE sip:bob@example.com SIP/2.0\r\nv: SIP/2.0/UDP h ;branch=z9hG4bK1 ; rport, SIP/2.0/TCP x\r\nX-Odd:   keep  me \r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";

    fn msg() -> Message {
        Message::parse(Bytes::from_static(REQ), &Limits::default()).unwrap()
    }

    #[test]
    fn via_params() {
        let mut m = msg();
        m.set_top_via_param("received", Some("192.0.2.1")).unwrap();
        m.set_top_via_param("rport", Some("5062")).unwrap();
        let out = m.to_bytes();
        let s = std::str::from_utf8(&out).unwrap();
        assert!(s.contains("v: SIP/2.0/UDP h ;branch=z9hG4bK1 ;rport=5062;received=192.0.2.1, SIP/2.0/TCP x\r\n"), "{s}");
        assert!(s.contains("X-Odd:   keep  me \r\n"));
        let m2 = Message::parse(out, &Limits::default()).unwrap();
        let v: Via = m2.typed_first().unwrap().unwrap();
        assert_eq!(v.rport(), Some(Some(5062)));
        let mut m = msg();
        m.remove_top_via_param("branch").unwrap();
        assert!(
            std::str::from_utf8(&m.to_bytes())
                .unwrap()
                .contains("v: SIP/2.0/UDP h ; rport, SIP")
        );
    }

    #[test]
    fn header_edits() {
        let mut m = msg();
        m.insert_header(0, &HeaderName::Via, "SIP/2.0/UDP top;branch=z9hG4bKnew")
            .unwrap();
        m.replace_header(&HeaderName::CSeq, "2 INVITE").unwrap();
        m.push_header(&"X-New".into(), "v").unwrap();
        assert_eq!(m.remove_headers(&"x-odd".into()), 1);
        assert!(m.push_header(&"X-Bad".into(), "a\r\nb: c").is_err());
        let m2 = Message::parse(m.to_bytes(), &Limits::default()).unwrap();
        assert_eq!(m2.typed::<CSeq>().unwrap().unwrap().seq, 2);
        assert_eq!(
            m2.typed_first::<Via>().unwrap().unwrap().host.to_string(),
            "top"
        );
        assert_eq!(m2.header_count(), 5);
        assert!(
            std::str::from_utf8(&m2.to_bytes())
                .unwrap()
                .contains("v: SIP/2.0/UDP h ;branch=z9hG4bK1 ; rport, SIP/2.0/TCP x\r\n")
        );
    }

    #[test]
    fn builders() {
        let uri = Uri::parse("sip:alice@example.com").unwrap();
        let mut m = Message::new_request(&Method::Invite, &uri).unwrap();
        m.push_header(&HeaderName::CSeq, "1 INVITE").unwrap();
        m.set_body(Some("application/sdp"), Bytes::from_static(b"v=0\r\n"))
            .unwrap();
        let b = m.to_bytes();
        assert_eq!(&b[..], b"INVITE sip:alice@example.com SIP/2.0\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\nContent-Length: 5\r\n\r\nv=0\r\n");
        let p = Message::parse(b, &Limits::default()).unwrap();
        assert_eq!(p.typed::<ContentLength>().unwrap(), Some(ContentLength(5)));
        let mut r = Message::new_response(180, "Ringing").unwrap();
        assert_eq!(&r.to_bytes()[..], b"SIP/2.0 180 Ringing\r\n\r\n");
        assert!(r.set_request_uri(&uri).is_err());
        assert!(Message::new_response(700, "x").is_err());
        assert!(Message::new_request(&Method::Other("A B".into()), &uri).is_err());
        let mut m = msg();
        m.set_request_uri(&Uri::parse("sip:carol@[2001:db8::1]:5070").unwrap())
            .unwrap();
        assert!(
            m.to_bytes()
                .starts_with(b"INVITE sip:carol@[2001:db8::1]:5070 SIP/2.0\r\nv: ")
        );
        assert_eq!(
            m.request_line().unwrap().uri,
            "sip:carol@[2001:db8::1]:5070"
        );
    }
}
