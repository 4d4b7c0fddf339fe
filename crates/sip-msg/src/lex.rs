//! Small lexical helpers shared by the URI and header parsers (RFC 3261 §25.1).
//!
//! Everything here works on `&str` slices of a header value that may still contain folding
//! (CRLF followed by SP/HT), so CR and LF count as linear white space (LWS).

use std::borrow::Cow;

/// Bit of [`CLASS`]: `token` character.
const TOKEN: u8 = 1;
/// Bit of [`CLASS`]: `word` character.
const WORD: u8 = 2;

/// Character classes by octet, built from the RFC 3261 §25.1 definitions.
static CLASS: [u8; 256] = build_class();

const fn build_class() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut c = 0usize;
    while c < 256 {
        let b = c as u8;
        let token = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
            );
        let word = token
            || matches!(
                b,
                b'(' | b')'
                    | b'<'
                    | b'>'
                    | b':'
                    | b'\\'
                    | b'"'
                    | b'/'
                    | b'['
                    | b']'
                    | b'?'
                    | b'{'
                    | b'}'
            );
        t[c] = if token { TOKEN } else { 0 } | if word { WORD } else { 0 };
        c += 1;
    }
    t
}

/// `token` characters (RFC 3261 §25.1).
#[inline(always)]
pub(crate) fn is_token(c: u8) -> bool {
    CLASS[usize::from(c)] & TOKEN != 0
}

/// `word` characters (RFC 3261 §25.1, used by Call-ID).
#[inline(always)]
pub(crate) fn is_word(c: u8) -> bool {
    CLASS[usize::from(c)] & WORD != 0
}

/// Linear white space inside a (possibly folded) header value.
pub(crate) fn is_lws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// True when `s` is a non-empty token.
pub(crate) fn is_token_str(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token)
}

/// Trims LWS on both ends.
pub(crate) fn trim_lws(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_ascii() && is_lws(c as u8))
}

/// A forward-only cursor over a header value.
#[derive(Debug, Clone)]
pub(crate) struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(s: &'a str) -> Self {
        Self { s, pos: 0 }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or("")
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.s.len()
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    pub(crate) fn skip_lws(&mut self) {
        while self.peek().is_some_and(is_lws) {
            self.pos += 1;
        }
    }

    /// Consumes `c` (after optional LWS) and returns whether it was there.
    pub(crate) fn eat(&mut self, c: u8) -> bool {
        let save = self.pos;
        self.skip_lws();
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            self.pos = save;
            false
        }
    }

    /// Takes the longest run of bytes satisfying `f` (may be empty).
    pub(crate) fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        let b = self.s.as_bytes();
        while self.pos < b.len() && f(b[self.pos]) {
            self.pos += 1;
        }
        // Only ASCII predicates are used, so the cut is on a char boundary; be defensive anyway.
        self.s.get(start..self.pos).unwrap_or("")
    }

    /// A token after optional LWS.
    pub(crate) fn token(&mut self) -> Option<&'a str> {
        self.skip_lws();
        let t = self.take_while(is_token);
        (!t.is_empty()).then_some(t)
    }

    /// A quoted string (after optional LWS), returned raw with its quotes.
    pub(crate) fn quoted(&mut self) -> Option<&'a str> {
        self.skip_lws();
        let b = self.s.as_bytes();
        if b.get(self.pos) != Some(&b'"') {
            return None;
        }
        let start = self.pos;
        let mut i = self.pos + 1;
        while i < b.len() {
            match b[i] {
                b'\\' => i += 2,
                b'"' => {
                    self.pos = i + 1;
                    return self.s.get(start..self.pos);
                }
                _ => i += 1,
            }
        }
        None
    }

    /// Parses `*( ";" generic-param )` (RFC 3261 §25.1), stopping before `,` or end.
    pub(crate) fn params(&mut self) -> Result<Vec<Param<'a>>, &'static str> {
        let mut out = Vec::new();
        while self.eat(b';') {
            out.push(self.param()?);
        }
        Ok(out)
    }

    /// One `name [ = value ]` with LWS allowed around `=`.
    pub(crate) fn param(&mut self) -> Result<Param<'a>, &'static str> {
        let name = self.token().ok_or("empty parameter name")?;
        if !self.eat(b'=') {
            return Ok(Param { name, value: None });
        }
        self.skip_lws();
        if self.peek() == Some(b'"') {
            let q = self.quoted().ok_or("unterminated quoted parameter value")?;
            return Ok(Param {
                name,
                value: Some(q),
            });
        }
        let v = self.take_while(|c| is_token(c) || matches!(c, b'[' | b']' | b':' | b'/'));
        if v.is_empty() {
            return Err("empty parameter value");
        }
        Ok(Param {
            name,
            value: Some(v),
        })
    }

    /// Errors unless only LWS remains.
    pub(crate) fn end(&mut self) -> Result<(), &'static str> {
        self.skip_lws();
        if self.is_empty() {
            Ok(())
        } else {
            Err("unexpected characters")
        }
    }
}

/// A `generic-param`: `name [ "=" value ]`, value kept raw (quoted strings keep their quotes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param<'a> {
    /// Parameter name as written.
    pub name: &'a str,
    /// Raw value, if any (quoted strings include the quotes).
    pub value: Option<&'a str>,
}

impl<'a> Param<'a> {
    /// The value with surrounding quotes removed and quoted-pairs resolved.
    pub fn unquoted(&self) -> Option<Cow<'a, str>> {
        self.value.map(unquote)
    }
}

/// Finds a parameter by case-insensitive name (RFC 3261 §7.3.1).
pub(crate) fn find_param<'p, 'a>(params: &'p [Param<'a>], name: &str) -> Option<&'p Param<'a>> {
    params.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

/// Removes the quotes of a quoted-string and resolves `\x` quoted-pairs; other text is
/// returned unchanged.
pub(crate) fn unquote(s: &str) -> Cow<'_, str> {
    let Some(inner) = s.strip_prefix('"').and_then(|x| x.strip_suffix('"')) else {
        return Cow::Borrowed(s);
    };
    if !inner.contains('\\') {
        return Cow::Borrowed(inner);
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Splits a list header value at top-level commas: not inside quotes, `<...>` or after a
/// backslash in a quoted string (RFC 3261 §7.3.1). Elements are LWS-trimmed.
pub(crate) fn split_commas(s: &str) -> Commas<'_> {
    Commas {
        s,
        start: 0,
        done: false,
    }
}

/// Iterator of [`split_commas`].
#[derive(Debug, Clone)]
pub(crate) struct Commas<'a> {
    s: &'a str,
    start: usize,
    done: bool,
}

impl<'a> Iterator for Commas<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.done {
            return None;
        }
        let b = self.s.as_bytes();
        let mut in_quote = false;
        let mut angle = 0u32;
        let mut i = self.start;
        while i < b.len() {
            let c = b[i];
            if in_quote {
                match c {
                    b'\\' => i += 1,
                    b'"' => in_quote = false,
                    _ => {}
                }
            } else {
                match c {
                    b'"' => in_quote = true,
                    b'<' => angle += 1,
                    b'>' => angle = angle.saturating_sub(1),
                    b',' if angle == 0 => {
                        let item = self.s.get(self.start..i).unwrap_or("");
                        self.start = i + 1;
                        return Some(trim_lws(item));
                    }
                    _ => {}
                }
            }
            i += 1;
        }
        self.done = true;
        Some(trim_lws(self.s.get(self.start..).unwrap_or("")))
    }
}

/// Decodes `%HH` escapes once (RFC 3261 §19.1.4); malformed escapes stay literal.
pub(crate) fn unescape(s: &str) -> Cow<'_, [u8]> {
    let b = s.as_bytes();
    if !b.contains(&b'%') {
        return Cow::Borrowed(b);
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    Cow::Owned(out)
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// Checks that every `%` in `s` starts a `%HH` escape.
pub(crate) fn escapes_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            match (b.get(i + 1), b.get(i + 2)) {
                (Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => i += 3,
                _ => return false,
            }
        } else {
            i += 1;
        }
    }
    true
}

/// Parses a decimal number of at most `u32` range; leading zeros allowed (`0068`).
pub(crate) fn parse_u32(s: &str) -> Result<u32, &'static str> {
    let s = trim_lws(s);
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return Err("not a decimal number");
    }
    let mut v: u64 = 0;
    for c in s.bytes() {
        v = v * 10 + u64::from(c - b'0');
        if v > u64::from(u32::MAX) {
            return Err("number out of range");
        }
    }
    u32::try_from(v).map_err(|_| "number out of range")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_table_matches_rfc_sets() {
        let token = |c: u8| c.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&c);
        let word = |c: u8| token(c) || b"()<>:\\\"/[]?{}".contains(&c);
        for c in 0..=255u8 {
            assert_eq!(is_token(c), token(c), "{c}");
            assert_eq!(is_word(c), word(c), "{c}");
        }
        assert!(!is_token(b' ') && !is_word(b'@') && is_word(b'"') && is_word(b'\\'));
    }

    #[test]
    fn commas_respect_quotes_and_angles() {
        let v: Vec<_> = split_commas(r#""a,\"b" <sip:x@y;p=1,2>, <sip:z> ;q=1 , c"#).collect();
        assert_eq!(v, vec![r#""a,\"b" <sip:x@y;p=1,2>"#, "<sip:z> ;q=1", "c"]);
        assert_eq!(split_commas(";;,,").count(), 3);
    }

    #[test]
    fn unescape_once() {
        assert_eq!(&*unescape("value%2541"), b"value%41");
        assert_eq!(&*unescape("%75se%72"), b"user");
        assert_eq!(&*unescape("%Z%45"), b"%ZE");
        assert_eq!(&*unescape("a%4"), b"a%4");
        assert!(!escapes_ok("a%4"));
        assert!(escapes_ok("a%41b"));
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_u32("0068"), Ok(68));
        assert_eq!(parse_u32("4294967295"), Ok(u32::MAX));
        assert!(parse_u32("4294967296").is_err());
        assert!(parse_u32("36893488147419103232").is_err());
        assert!(parse_u32("-1").is_err());
    }

    #[test]
    fn params_and_quotes() {
        let mut c = Cursor::new(" ; tag = 1918 ;x=\"a\\\"b\";lr");
        let p = c.params().unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!(p[0].value, Some("1918"));
        assert_eq!(p[1].unquoted().unwrap(), "a\"b");
        assert_eq!(p[2].value, None);
        assert!(Cursor::new(";;").params().is_err());
    }
}
