//! Scalar, token-list, text and small structured headers.

use std::borrow::Cow;

use super::{TypedHeader, bad};
use crate::error::HeaderError;
use crate::header::HeaderName;
use crate::lex::{Cursor, Param, find_param, is_token_str, is_word, parse_u32};
use crate::method::Method;

/// `Call-ID` (RFC 3261 §20.8): `word ["@" word]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallId<'a>(pub &'a str);

impl<'a> TypedHeader<'a> for CallId<'a> {
    const NAME: HeaderName = HeaderName::CallId;
    const LIST: bool = false;
    fn decode(v: &'a str) -> Result<Self, HeaderError> {
        let mut parts = v.split('@');
        let ok = |w: Option<&str>| w.is_some_and(|w| !w.is_empty() && w.bytes().all(is_word));
        if !ok(parts.next()) || parts.next().is_some_and(|w| !ok(Some(w))) || parts.next().is_some()
        {
            return Err(bad(&Self::NAME, "not word[@word]"));
        }
        Ok(Self(v))
    }
}

/// `CSeq` (RFC 3261 §20.16): sequence number below 2^32 and method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    /// Sequence number; more than 2^32-1 is malformed (RFC 4475 §3.1.2.4).
    pub seq: u32,
    /// Method (case-sensitive).
    pub method: Method,
}

impl TypedHeader<'_> for CSeq {
    const NAME: HeaderName = HeaderName::CSeq;
    const LIST: bool = false;
    fn decode(v: &str) -> Result<Self, HeaderError> {
        let e = |w| bad(&Self::NAME, w);
        let mut c = Cursor::new(v);
        c.skip_lws();
        let seq = parse_u32(c.take_while(|b| b.is_ascii_digit())).map_err(e)?;
        let method = c
            .token()
            .and_then(Method::from_token)
            .ok_or(e("missing method"))?;
        c.end().map_err(e)?;
        Ok(Self { seq, method })
    }
}

macro_rules! number_header {
    ($($(#[$d:meta])* $t:ident = $name:ident;)*) => {$(
        $(#[$d])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $t(pub u32);

        impl TypedHeader<'_> for $t {
            const NAME: HeaderName = HeaderName::$name;
            const LIST: bool = false;
            fn decode(v: &str) -> Result<Self, HeaderError> {
                parse_u32(v).map(Self).map_err(|w| bad(&Self::NAME, w))
            }
        }
    )*};
}

number_header! {
    /// `Max-Forwards` (RFC 3261 §20.22); leading zeros allowed (`0068` is 68).
    MaxForwards = MaxForwards;
    /// `Content-Length` (RFC 3261 §20.14).
    ContentLength = ContentLength;
    /// `Min-Expires` (RFC 3261 §20.23).
    MinExpires = MinExpires;
    /// `RSeq` (RFC 3262 §7.1).
    RSeq = RSeq;
}

/// `Expires` (RFC 3261 §20.19). Values above 2^32-1 saturate: RFC 4475 §3.1.2.4 lets a
/// receiver treat an overlarge value as a default rather than reject the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expires(pub u32);

impl TypedHeader<'_> for Expires {
    const NAME: HeaderName = HeaderName::Expires;
    const LIST: bool = false;
    fn decode(v: &str) -> Result<Self, HeaderError> {
        match parse_u32(v) {
            Ok(n) => Ok(Self(n)),
            Err("number out of range") => Ok(Self(u32::MAX)),
            Err(w) => Err(bad(&Self::NAME, w)),
        }
    }
}

/// `RAck` (RFC 3262 §7.2): `response-num CSeq-num Method`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RAck {
    /// RSeq of the acknowledged provisional response.
    pub rseq: u32,
    /// CSeq number of the acknowledged response.
    pub cseq: u32,
    /// CSeq method.
    pub method: Method,
}

impl TypedHeader<'_> for RAck {
    const NAME: HeaderName = HeaderName::RAck;
    const LIST: bool = false;
    fn decode(v: &str) -> Result<Self, HeaderError> {
        let e = |w| bad(&Self::NAME, w);
        let mut c = Cursor::new(v);
        c.skip_lws();
        let rseq = parse_u32(c.take_while(|b| b.is_ascii_digit())).map_err(e)?;
        c.skip_lws();
        let cseq = parse_u32(c.take_while(|b| b.is_ascii_digit())).map_err(e)?;
        let method = c
            .token()
            .and_then(Method::from_token)
            .ok_or(e("missing method"))?;
        c.end().map_err(e)?;
        Ok(Self { rseq, cseq, method })
    }
}

/// Who refreshes a session (RFC 4028 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresher {
    /// `refresher=uac`.
    Uac,
    /// `refresher=uas`.
    Uas,
}

/// `Session-Expires` (RFC 4028 §4): delta-seconds and optional refresher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionExpires<'a> {
    /// Session interval in seconds.
    pub delta: u32,
    /// `refresher` parameter.
    pub refresher: Option<Refresher>,
    /// All parameters.
    pub params: Vec<Param<'a>>,
}

impl<'a> TypedHeader<'a> for SessionExpires<'a> {
    const NAME: HeaderName = HeaderName::SessionExpires;
    const LIST: bool = false;
    fn decode(v: &'a str) -> Result<Self, HeaderError> {
        let (delta, params) = delta_params(v).map_err(|w| bad(&Self::NAME, w))?;
        let refresher = match find_param(&params, "refresher").and_then(|p| p.value) {
            None => None,
            Some(r) if r.eq_ignore_ascii_case("uac") => Some(Refresher::Uac),
            Some(r) if r.eq_ignore_ascii_case("uas") => Some(Refresher::Uas),
            Some(_) => return Err(bad(&Self::NAME, "refresher is neither uac nor uas")),
        };
        Ok(Self {
            delta,
            refresher,
            params,
        })
    }
}

/// `Min-SE` (RFC 4028 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinSe<'a> {
    /// Minimum session interval in seconds.
    pub delta: u32,
    /// Extension parameters.
    pub params: Vec<Param<'a>>,
}

impl<'a> TypedHeader<'a> for MinSe<'a> {
    const NAME: HeaderName = HeaderName::MinSe;
    const LIST: bool = false;
    fn decode(v: &'a str) -> Result<Self, HeaderError> {
        let (delta, params) = delta_params(v).map_err(|w| bad(&Self::NAME, w))?;
        Ok(Self { delta, params })
    }
}

/// `Retry-After` (RFC 3261 §20.33): `delta-seconds [comment] *(;param)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryAfter<'a> {
    /// Seconds.
    pub delta: u32,
    /// The `(comment)` with its parentheses, if any.
    pub comment: Option<&'a str>,
    /// Parameters (`duration`, ...).
    pub params: Vec<Param<'a>>,
}

impl<'a> TypedHeader<'a> for RetryAfter<'a> {
    const NAME: HeaderName = HeaderName::RetryAfter;
    const LIST: bool = false;
    fn decode(v: &'a str) -> Result<Self, HeaderError> {
        let e = |w| bad(&Self::NAME, w);
        let mut c = Cursor::new(v);
        c.skip_lws();
        let delta = parse_u32(c.take_while(|b| b.is_ascii_digit())).map_err(e)?;
        c.skip_lws();
        let mut comment = None;
        if c.peek() == Some(b'(') {
            let rest = c.rest();
            let close = rest.find(')').ok_or(e("unterminated comment"))?;
            comment = Some(&rest[..=close]);
            c = Cursor::new(&rest[close + 1..]);
        }
        let params = c.params().map_err(e)?;
        c.end().map_err(e)?;
        Ok(Self {
            delta,
            comment,
            params,
        })
    }
}

/// `Timestamp` (RFC 3261 §20.38): `1*DIGIT ["." *DIGIT] [LWS delay]`, kept as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp<'a> {
    /// Time value as written.
    pub time: &'a str,
    /// Delay as written.
    pub delay: Option<&'a str>,
}

impl<'a> TypedHeader<'a> for Timestamp<'a> {
    const NAME: HeaderName = HeaderName::Timestamp;
    const LIST: bool = false;
    fn decode(v: &'a str) -> Result<Self, HeaderError> {
        let num = |s: &str| {
            let (a, b) = s.split_once('.').unwrap_or((s, ""));
            !a.is_empty() && a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit())
        };
        let mut it = v
            .split(|c: char| c.is_ascii_whitespace())
            .filter(|s| !s.is_empty());
        let time = it
            .next()
            .filter(|t| num(t))
            .ok_or(bad(&Self::NAME, "invalid time"))?;
        let delay = it.next();
        if delay.is_some_and(|d| !num(d)) || it.next().is_some() {
            return Err(bad(&Self::NAME, "invalid delay"));
        }
        Ok(Self { time, delay })
    }
}

macro_rules! text_header {
    ($($(#[$d:meta])* $t:ident = $name:ident;)*) => {$(
        $(#[$d])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $t<'a>(pub &'a str);

        impl<'a> TypedHeader<'a> for $t<'a> {
            const NAME: HeaderName = HeaderName::$name;
            const LIST: bool = false;
            fn decode(v: &'a str) -> Result<Self, HeaderError> {
                Ok(Self(v))
            }
        }
    )*};
}

text_header! {
    /// `User-Agent` (RFC 3261 §20.41), text as written.
    UserAgent = UserAgent;
    /// `Server` (RFC 3261 §20.35), text as written.
    Server = Server;
    /// `Date` (RFC 3261 §20.17), kept as text: Tandem does not use it, so an invalid date
    /// (RFC 4475 §3.1.2.12 baddate) is not a reason to reject a request.
    Date = Date;
}

macro_rules! token_list_header {
    ($($(#[$d:meta])* $t:ident = $name:ident, empty: $empty:expr;)*) => {$(
        $(#[$d])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $t<'a>(pub &'a str);

        impl<'a> TypedHeader<'a> for $t<'a> {
            const NAME: HeaderName = HeaderName::$name;
            const LIST: bool = true;
            const ALLOW_EMPTY: bool = $empty;
            fn decode(v: &'a str) -> Result<Self, HeaderError> {
                if is_token_str(v) { Ok(Self(v)) } else { Err(bad(&Self::NAME, "not a token")) }
            }
        }
    )*};
}

token_list_header! {
    /// One option tag of `Supported` (RFC 3261 §20.37).
    Supported = Supported, empty: true;
    /// One option tag of `Require` (RFC 3261 §20.32).
    Require = Require, empty: false;
    /// One option tag of `Proxy-Require` (RFC 3261 §20.29).
    ProxyRequire = ProxyRequire, empty: false;
    /// One option tag of `Unsupported` (RFC 3261 §20.40).
    Unsupported = Unsupported, empty: false;
    /// One event package of `Allow-Events` (RFC 6665 §8.2.2).
    AllowEvents = AllowEvents, empty: false;
}

/// One method of `Allow` (RFC 3261 §20.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allow(pub Method);

impl TypedHeader<'_> for Allow {
    const NAME: HeaderName = HeaderName::Allow;
    const LIST: bool = true;
    const ALLOW_EMPTY: bool = true;
    fn decode(v: &str) -> Result<Self, HeaderError> {
        Method::from_token(v)
            .map(Self)
            .ok_or(bad(&Self::NAME, "not a method token"))
    }
}

/// `type/subtype *(;param)` (RFC 3261 §20.15, §20.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaType<'a> {
    /// Type (`application`, `*`).
    pub mtype: &'a str,
    /// Subtype (`sdp`, `*`).
    pub subtype: &'a str,
    /// Parameters.
    pub params: Vec<Param<'a>>,
}

impl<'a> MediaType<'a> {
    /// Parses a media type or media range.
    pub fn parse(v: &'a str) -> Result<Self, &'static str> {
        let mut c = Cursor::new(v);
        let mtype = c.token().ok_or("missing type")?;
        if !c.eat(b'/') {
            return Err("missing /");
        }
        let subtype = c.token().ok_or("missing subtype")?;
        let params = c.params()?;
        c.end()?;
        Ok(Self {
            mtype,
            subtype,
            params,
        })
    }

    /// Case-insensitive `type/subtype` check.
    pub fn is(&self, mtype: &str, subtype: &str) -> bool {
        self.mtype.eq_ignore_ascii_case(mtype) && self.subtype.eq_ignore_ascii_case(subtype)
    }
}

/// `Content-Type` (RFC 3261 §20.15).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentType<'a>(pub MediaType<'a>);

impl<'a> TypedHeader<'a> for ContentType<'a> {
    const NAME: HeaderName = HeaderName::ContentType;
    const LIST: bool = false;
    fn decode(v: &'a str) -> Result<Self, HeaderError> {
        MediaType::parse(v)
            .map(Self)
            .map_err(|w| bad(&Self::NAME, w))
    }
}

/// One media range of `Accept` (RFC 3261 §20.1); an empty Accept is legal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accept<'a>(pub MediaType<'a>);

impl<'a> TypedHeader<'a> for Accept<'a> {
    const NAME: HeaderName = HeaderName::Accept;
    const LIST: bool = true;
    const ALLOW_EMPTY: bool = true;
    fn decode(v: &'a str) -> Result<Self, HeaderError> {
        MediaType::parse(v)
            .map(Self)
            .map_err(|w| bad(&Self::NAME, w))
    }
}

macro_rules! token_params_header {
    ($($(#[$d:meta])* $t:ident { $field:ident } = $name:ident, list: $list:expr;)*) => {$(
        $(#[$d])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $t<'a> {
            /// The leading token.
            pub $field: &'a str,
            /// Parameters in order.
            pub params: Vec<Param<'a>>,
        }

        impl<'a> $t<'a> {
            /// A parameter by case-insensitive name.
            pub fn param(&self, name: &str) -> Option<&Param<'a>> {
                find_param(&self.params, name)
            }
        }

        impl<'a> TypedHeader<'a> for $t<'a> {
            const NAME: HeaderName = HeaderName::$name;
            const LIST: bool = $list;
            fn decode(v: &'a str) -> Result<Self, HeaderError> {
                let e = |w| bad(&Self::NAME, w);
                let mut c = Cursor::new(v);
                let $field = c.token().ok_or(e("missing token"))?;
                let params = c.params().map_err(e)?;
                c.end().map_err(e)?;
                Ok(Self { $field, params })
            }
        }
    )*};
}

token_params_header! {
    /// `Content-Disposition` (RFC 3261 §20.11): `session`, `render`, `early-session`, ...
    ContentDisposition { disposition } = ContentDisposition, list: false;
    /// `Event` (RFC 6665 §8.2.1): package (with template) and `id`.
    Event { package } = Event, list: false;
    /// `Subscription-State` (RFC 6665 §8.2.3): `active`, `pending`, `terminated`.
    SubscriptionState { state } = SubscriptionState, list: false;
    /// One `Reason` value (RFC 3326): protocol (`SIP`, `Q.850`) with `cause` and `text`.
    Reason { protocol } = Reason, list: true;
}

impl<'a> Event<'a> {
    /// The `id` parameter.
    pub fn id(&self) -> Option<&'a str> {
        self.param("id").and_then(|p| p.value)
    }
}

impl<'a> SubscriptionState<'a> {
    /// The `expires` parameter.
    pub fn expires(&self) -> Option<u32> {
        self.param("expires")
            .and_then(|p| p.value)
            .and_then(|v| parse_u32(v).ok())
    }

    /// The `reason` parameter.
    pub fn reason(&self) -> Option<&'a str> {
        self.param("reason").and_then(|p| p.value)
    }

    /// The `retry-after` parameter.
    pub fn retry_after(&self) -> Option<u32> {
        self.param("retry-after")
            .and_then(|p| p.value)
            .and_then(|v| parse_u32(v).ok())
    }
}

impl<'a> Reason<'a> {
    /// The `cause` parameter.
    pub fn cause(&self) -> Option<u16> {
        self.param("cause")
            .and_then(|p| p.value)
            .and_then(|v| v.parse().ok())
    }

    /// The `text` parameter, unquoted.
    pub fn text(&self) -> Option<Cow<'a, str>> {
        self.param("text").and_then(|p| p.unquoted())
    }
}

/// `Replaces` (RFC 3891 §6.1): `callid ;to-tag= ;from-tag= [;early-only]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaces<'a> {
    /// Call-ID of the dialog to replace.
    pub call_id: &'a str,
    /// All parameters.
    pub params: Vec<Param<'a>>,
}

impl<'a> Replaces<'a> {
    /// `to-tag` (required).
    pub fn to_tag(&self) -> &'a str {
        find_param(&self.params, "to-tag")
            .and_then(|p| p.value)
            .unwrap_or("")
    }

    /// `from-tag` (required).
    pub fn from_tag(&self) -> &'a str {
        find_param(&self.params, "from-tag")
            .and_then(|p| p.value)
            .unwrap_or("")
    }

    /// `early-only` flag.
    pub fn early_only(&self) -> bool {
        find_param(&self.params, "early-only").is_some()
    }
}

impl<'a> TypedHeader<'a> for Replaces<'a> {
    const NAME: HeaderName = HeaderName::Replaces;
    const LIST: bool = false;
    fn decode(v: &'a str) -> Result<Self, HeaderError> {
        let e = |w| bad(&Self::NAME, w);
        let mut c = Cursor::new(v);
        c.skip_lws();
        let call_id = c.take_while(|b| is_word(b) || b == b'@');
        if call_id.is_empty() {
            return Err(e("missing call-id"));
        }
        let params = c.params().map_err(e)?;
        c.end().map_err(e)?;
        let r = Self { call_id, params };
        for t in ["to-tag", "from-tag"] {
            if find_param(&r.params, t).and_then(|p| p.value).is_none() {
                return Err(e("missing to-tag or from-tag"));
            }
        }
        Ok(r)
    }
}

fn delta_params(v: &str) -> Result<(u32, Vec<Param<'_>>), &'static str> {
    let mut c = Cursor::new(v);
    c.skip_lws();
    let delta = parse_u32(c.take_while(|b| b.is_ascii_digit()))?;
    let params = c.params()?;
    c.end()?;
    Ok((delta, params))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars() {
        assert_eq!(
            CSeq::decode("0009\r\n  INVITE").unwrap(),
            CSeq {
                seq: 9,
                method: Method::Invite
            }
        );
        assert!(CSeq::decode("36893488147419103232 REGISTER").is_err());
        assert!(CSeq::decode("1").is_err());
        assert!(CSeq::decode("1 INVITE x").is_err());
        assert_eq!(MaxForwards::decode("0068").unwrap(), MaxForwards(68));
        assert_eq!(
            Expires::decode("1000000000000000000000").unwrap(),
            Expires(u32::MAX)
        );
        assert!(Expires::decode("x").is_err());
        assert_eq!(RAck::decode("776656 1 INVITE").unwrap().rseq, 776_656);
        assert_eq!(RSeq::decode("988789").unwrap(), RSeq(988_789));
        assert!(CallId::decode("a@b@c").is_err());
        assert!(CallId::decode("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{").is_ok());
    }

    #[test]
    fn timers() {
        let s = SessionExpires::decode("1800;refresher=uas").unwrap();
        assert_eq!((s.delta, s.refresher), (1800, Some(Refresher::Uas)));
        assert!(SessionExpires::decode("1800;refresher=x").is_err());
        assert_eq!(MinSe::decode("90").unwrap().delta, 90);
        let r = RetryAfter::decode("18000 (in a meeting);duration=3600").unwrap();
        assert_eq!(r.comment, Some("(in a meeting)"));
        assert!(RetryAfter::decode("949302838503028349304023988").is_err());
        assert_eq!(Timestamp::decode("54.1 0.5").unwrap().delay, Some("0.5"));
    }

    #[test]
    fn structured() {
        let r =
            Replaces::decode("98732@sip.example.com;from-tag=r33th4x0r;to-tag=ff87ff;early-only")
                .unwrap();
        assert_eq!(
            (r.call_id, r.to_tag(), r.from_tag(), r.early_only()),
            ("98732@sip.example.com", "ff87ff", "r33th4x0r", true)
        );
        assert!(Replaces::decode("abc;to-tag=1").is_err());
        let r = Reason::decode("Q.850 ;cause=16 ;text=\"Terminated\"").unwrap();
        assert_eq!(
            (r.protocol, r.cause(), r.text().unwrap().as_ref()),
            ("Q.850", Some(16), "Terminated")
        );
        let e = Event::decode("dialog;id=1").unwrap();
        assert_eq!(e.id(), Some("1"));
        let s = SubscriptionState::decode("terminated;reason=timeout;retry-after=5").unwrap();
        assert_eq!((s.reason(), s.retry_after()), (Some("timeout"), Some(5)));
        assert!(
            ContentType::decode("application/sdp")
                .unwrap()
                .0
                .is("APPLICATION", "SDP")
        );
        assert!(ContentType::decode("application").is_err());
        assert_eq!(
            ContentDisposition::decode("session;handling=required")
                .unwrap()
                .disposition,
            "session"
        );
        assert!(Supported::decode("100rel").is_ok());
        assert!(Supported::decode("a b").is_err());
        assert_eq!(Allow::decode("INVITE").unwrap(), Allow(Method::Invite));
    }
}
