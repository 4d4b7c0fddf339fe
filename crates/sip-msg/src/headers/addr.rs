//! `name-addr` / `addr-spec` headers: From, To, Contact, Route, Record-Route, Refer-To,
//! Referred-By, P-Asserted-Identity, Reply-To, Call-Info (RFC 3261 §20.10, §20.20, §20.39,
//! §25.1; RFC 3515; RFC 3892; RFC 3325).

use std::borrow::Cow;
use std::ops::Deref;

use super::{TypedHeader, bad};
use crate::error::HeaderError;
use crate::header::HeaderName;
use crate::lex::{Cursor, Param, find_param, is_lws, is_token, trim_lws, unquote};
use crate::uri::Uri;

/// `[display-name] <URI> *(;param)` or `addr-spec *(;param)`.
///
/// In the addr-spec form (no `<>`), everything after the first `;` is a header parameter,
/// not a URI parameter (RFC 3261 §20.10; RFC 4475 §3.3.12), and a URI with `?headers`,
/// `,` or `;` must be bracketed (RFC 4475 §3.1.2.13).
#[derive(Debug, Clone, PartialEq)]
pub struct NameAddr<'a> {
    /// Display name as written: a quoted string with its quotes, or the token sequence.
    pub display_name: Option<&'a str>,
    /// URI text as written.
    pub uri_text: &'a str,
    /// Parsed URI.
    pub uri: Uri,
    /// True for the `<...>` form.
    pub bracketed: bool,
    /// Header parameters (tag, q, expires, ...).
    pub params: Vec<Param<'a>>,
}

impl<'a> NameAddr<'a> {
    /// Parses one name-addr / addr-spec value.
    pub fn parse(v: &'a str) -> Result<Self, &'static str> {
        let mut c = Cursor::new(v);
        c.skip_lws();
        let mut display_name = None;
        let mut bracketed = false;
        if c.peek() == Some(b'"') {
            display_name = Some(c.quoted().ok_or("unterminated quoted display name")?);
            if !c.eat(b'<') {
                return Err("missing <URI> after display name");
            }
            bracketed = true;
        } else {
            let save = c.clone();
            let start = c.pos();
            while c.peek().is_some_and(is_token) {
                c.take_while(is_token);
                c.skip_lws();
            }
            if c.peek() == Some(b'<') {
                let dn = trim_lws(v.get(start..c.pos()).unwrap_or(""));
                display_name = (!dn.is_empty()).then_some(dn);
                c.eat(b'<');
                bracketed = true;
            } else {
                c = save;
            }
        }
        let uri_text = if bracketed {
            let rest = c.rest();
            let close = rest.find('>').ok_or("missing >")?;
            let t = &rest[..close];
            c = Cursor::new(&rest[close + 1..]);
            t
        } else {
            let t = c.take_while(|b| b != b';' && !is_lws(b));
            if t.contains('?') {
                return Err("URI with headers must be enclosed in <>");
            }
            t
        };
        let uri = Uri::parse(uri_text).map_err(|_| "invalid URI")?;
        let params = c.params()?;
        c.end()?;
        Ok(Self {
            display_name,
            uri_text,
            uri,
            bracketed,
            params,
        })
    }

    /// The display name without quotes, quoted-pairs resolved.
    pub fn display_name_text(&self) -> Option<Cow<'a, str>> {
        self.display_name.map(unquote)
    }

    /// A header parameter by case-insensitive name.
    pub fn param(&self, name: &str) -> Option<&Param<'a>> {
        find_param(&self.params, name)
    }

    /// The `tag` parameter (RFC 3261 §19.3).
    pub fn tag(&self) -> Option<&'a str> {
        self.param("tag").and_then(|p| p.value)
    }
}

/// One Contact value: `*` or an address (RFC 3261 §20.10).
#[derive(Debug, Clone, PartialEq)]
pub enum Contact<'a> {
    /// `Contact: *` (REGISTER removal of all bindings, §10.2.2).
    Star,
    /// An address with its contact-params.
    Addr(NameAddr<'a>),
}

impl<'a> Contact<'a> {
    /// The address, unless `*`.
    pub fn addr(&self) -> Option<&NameAddr<'a>> {
        match self {
            Self::Star => None,
            Self::Addr(a) => Some(a),
        }
    }

    /// The `q` parameter (0..=1 with up to three decimals), raw.
    pub fn q(&self) -> Option<&'a str> {
        self.addr().and_then(|a| a.param("q")).and_then(|p| p.value)
    }

    /// The `expires` parameter; overlarge values saturate (RFC 4475 §3.1.2.4).
    pub fn expires(&self) -> Option<u32> {
        let v = self.addr()?.param("expires")?.value?;
        v.bytes().all(|c| c.is_ascii_digit()).then(|| {
            v.parse::<u64>()
                .map_or(u32::MAX, |n| u32::try_from(n).unwrap_or(u32::MAX))
        })
    }
}

impl<'a> TypedHeader<'a> for Contact<'a> {
    const NAME: HeaderName = HeaderName::Contact;
    const LIST: bool = true;
    fn decode(v: &'a str) -> Result<Self, HeaderError> {
        if trim_lws(v) == "*" {
            return Ok(Self::Star);
        }
        NameAddr::parse(v)
            .map(Self::Addr)
            .map_err(|w| bad(&Self::NAME, w))
    }
}

macro_rules! name_addr_header {
    ($($(#[$d:meta])* $t:ident = $name:ident, list: $list:expr;)*) => {$(
        $(#[$d])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $t<'a>(pub NameAddr<'a>);

        impl<'a> Deref for $t<'a> {
            type Target = NameAddr<'a>;
            fn deref(&self) -> &NameAddr<'a> {
                &self.0
            }
        }

        impl<'a> TypedHeader<'a> for $t<'a> {
            const NAME: HeaderName = HeaderName::$name;
            const LIST: bool = $list;
            fn decode(v: &'a str) -> Result<Self, HeaderError> {
                NameAddr::parse(v).map(Self).map_err(|w| bad(&Self::NAME, w))
            }
        }
    )*};
}

name_addr_header! {
    /// `From` (RFC 3261 §20.20).
    FromHeader = From, list: false;
    /// `To` (RFC 3261 §20.39).
    ToHeader = To, list: false;
    /// One `Route` entry (RFC 3261 §20.34).
    Route = Route, list: true;
    /// One `Record-Route` entry (RFC 3261 §20.30).
    RecordRoute = RecordRoute, list: true;
    /// `Refer-To` (RFC 3515 §2.1).
    ReferTo = ReferTo, list: false;
    /// `Referred-By` (RFC 3892).
    ReferredBy = ReferredBy, list: false;
    /// One `P-Asserted-Identity` (RFC 3325 §9.1).
    PAssertedIdentity = PAssertedIdentity, list: true;
    /// One `P-Preferred-Identity` (RFC 3325 §9.2).
    PPreferredIdentity = PPreferredIdentity, list: true;
    /// `Reply-To` (RFC 3261 §20.31).
    ReplyTo = ReplyTo, list: false;
    /// One `Call-Info` entry: `<URI>;purpose=...` (RFC 3261 §20.9).
    CallInfo = CallInfo, list: true;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let a = NameAddr::parse(
            r#""J Rosenberg \\\""       <sip:jdrosen@example.com>
  ;
  tag = 98asjd8"#,
        )
        .unwrap();
        assert_eq!(a.display_name_text().unwrap(), r#"J Rosenberg \""#);
        assert_eq!(a.tag(), Some("98asjd8"));
        let a = NameAddr::parse("caller<sip:caller@example.com>;tag=323").unwrap();
        assert_eq!(a.display_name, Some("caller"));
        let a = NameAddr::parse("sip:+1972@gw1.example.net;unknownparam").unwrap();
        assert!(!a.bracketed);
        assert_eq!(a.params[0].name, "unknownparam");
        let a = NameAddr::parse("<sip:+1972@gw1.example.net;unknownparam>").unwrap();
        assert!(a.params.is_empty());
        assert_eq!(a.uri.as_sip().unwrap().param("unknownparam"), Some(None));
        let a =
            NameAddr::parse("token1~` token2'+_ token3*%!.- <sip:m@example.com>;tag=x").unwrap();
        assert_eq!(a.display_name, Some("token1~` token2'+_ token3*%!.-"));
        assert!(NameAddr::parse("isbn:2983792873").is_ok());
    }

    #[test]
    fn rejects() {
        for v in [
            r#""Mr. J. User <sip:j.user@example.com>"#,
            "Bell, Alexander <sip:a.g.bell@example.com>;tag=43",
            "< sip:t.watson@example.org >",
            "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
            r#""Joe" <sip:joe@example.org>;;;;"#,
            "<sip:a@b",
            "",
        ] {
            assert!(NameAddr::parse(v).is_err(), "{v}");
        }
    }

    #[test]
    fn contact() {
        assert_eq!(Contact::decode("*").unwrap(), Contact::Star);
        let c = Contact::decode("<sip:a@b>;q=0.33;expires=280297596632815").unwrap();
        assert_eq!(c.q(), Some("0.33"));
        assert_eq!(c.expires(), Some(u32::MAX));
    }
}
