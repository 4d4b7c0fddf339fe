//! Authentication headers (RFC 3261 §20.7, §20.27, §20.28, §20.44; RFC 7235 auth-param
//! syntax): scheme plus comma-separated `name=value` parameters, or a token68.

use std::borrow::Cow;
use std::ops::Deref;

use super::{TypedHeader, bad};
use crate::error::HeaderError;
use crate::header::HeaderName;
use crate::lex::{Cursor, is_lws, is_token, split_commas, unquote};

/// Scheme and parameters of a credentials or challenge value. Unknown schemes parse too
/// (RFC 4475 §3.3.7): a proxy forwards them unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials<'a> {
    /// `Digest`, `Basic`, or any token.
    pub scheme: &'a str,
    /// `name=value` pairs; values raw (quoted strings keep their quotes).
    pub params: Vec<(&'a str, &'a str)>,
    /// A token68 instead of parameters (`Basic dXNlcjpw`).
    pub token68: Option<&'a str>,
}

/// A challenge has the same shape as credentials.
pub type Challenge<'a> = Credentials<'a>;

impl<'a> Credentials<'a> {
    /// Parses `scheme [params]`.
    pub fn parse(v: &'a str) -> Result<Self, &'static str> {
        let mut c = Cursor::new(v);
        let scheme = c.token().ok_or("missing scheme")?;
        if !c.is_empty() && !c.peek().is_some_and(is_lws) {
            return Err("invalid scheme");
        }
        c.skip_lws();
        let rest = c.rest();
        let mut out = Self {
            scheme,
            params: Vec::new(),
            token68: None,
        };
        if rest.is_empty() {
            return Ok(out);
        }
        match parse_auth_params(rest) {
            Some(p) => out.params = p,
            None if rest.trim_end_matches('=').bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
            }) =>
            {
                out.token68 = Some(rest);
            }
            None => return Err("invalid auth-param"),
        }
        Ok(out)
    }

    /// A parameter value (case-insensitive name), unquoted.
    pub fn param(&self, name: &str) -> Option<Cow<'a, str>> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| unquote(v))
    }
}

fn parse_auth_params(s: &str) -> Option<Vec<(&str, &str)>> {
    let mut out = Vec::new();
    for item in split_commas(s) {
        if item.is_empty() {
            continue;
        }
        let mut c = Cursor::new(item);
        let name = c.token()?;
        if !c.eat(b'=') {
            return None;
        }
        c.skip_lws();
        let value = if c.peek() == Some(b'"') {
            c.quoted()?
        } else {
            let v = c.take_while(|b| is_token(b) || matches!(b, b'/' | b':' | b'@'));
            if v.is_empty() {
                return None;
            }
            v
        };
        c.end().ok()?;
        out.push((name, value));
    }
    (!out.is_empty()).then_some(out)
}

macro_rules! auth_header {
    ($($(#[$d:meta])* $t:ident = $name:ident;)*) => {$(
        $(#[$d])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $t<'a>(pub Credentials<'a>);

        impl<'a> Deref for $t<'a> {
            type Target = Credentials<'a>;
            fn deref(&self) -> &Credentials<'a> {
                &self.0
            }
        }

        impl<'a> TypedHeader<'a> for $t<'a> {
            const NAME: HeaderName = HeaderName::$name;
            const LIST: bool = false;
            fn decode(v: &'a str) -> Result<Self, HeaderError> {
                Credentials::parse(v).map(Self).map_err(|w| bad(&Self::NAME, w))
            }
        }
    )*};
}

auth_header! {
    /// `Authorization` (RFC 3261 §20.7). Several fields may appear: use
    /// [`Message::typed_all`](crate::Message::typed_all).
    Authorization = Authorization;
    /// `Proxy-Authorization` (RFC 3261 §20.28).
    ProxyAuthorization = ProxyAuthorization;
    /// `WWW-Authenticate` (RFC 3261 §20.44).
    WwwAuthenticate = WwwAuthenticate;
    /// `Proxy-Authenticate` (RFC 3261 §20.27).
    ProxyAuthenticate = ProxyAuthenticate;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_and_unknown() {
        let a = Credentials::parse(
            "Digest username=\"bob\", realm=\"atlanta.com\",\r\n nonce=\"ea9c8e88\", uri=\"sip:bob@biloxi.com\", response=\"42ce3cef\", algorithm=MD5, qop=auth, nc=00000001",
        )
        .unwrap();
        assert_eq!(a.scheme, "Digest");
        assert_eq!(a.param("realm").unwrap(), "atlanta.com");
        assert_eq!(a.param("NC").unwrap(), "00000001");
        let u = Credentials::parse("NoOneKnowsThisScheme opaque-data=here").unwrap();
        assert_eq!(u.param("opaque-data").unwrap(), "here");
        assert_eq!(
            Credentials::parse("Basic dXNlcjpwYXNz==").unwrap().token68,
            Some("dXNlcjpwYXNz==")
        );
        assert!(Credentials::parse("Digest a=\"unterminated").is_err());
        assert!(Credentials::parse("").is_err());
    }
}
