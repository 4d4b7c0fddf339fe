//! Typed, lazily decoded header views (RFC 3261 §20 and extensions).
//!
//! A view is decoded only when asked for, through [`Message::typed`](crate::Message::typed),
//! [`typed_all`](crate::Message::typed_all) or [`typed_first`](crate::Message::typed_first);
//! views borrow text from the message (`&'a str`) and allocate only small vectors (params)
//! and owned [`Uri`](crate::Uri)s. List headers are split at top-level commas (not inside
//! quotes or `<>`), RFC 3261 §7.3.1.

mod addr;
mod auth;
mod simple;
mod via;

pub use addr::{
    CallInfo, Contact, FromHeader, NameAddr, PAssertedIdentity, PPreferredIdentity, RecordRoute,
    ReferTo, ReferredBy, ReplyTo, Route, ToHeader,
};
pub use auth::{
    Authorization, Challenge, Credentials, ProxyAuthenticate, ProxyAuthorization, WwwAuthenticate,
};
pub use simple::{
    Accept, Allow, AllowEvents, CSeq, CallId, ContentDisposition, ContentLength, ContentType, Date,
    Event, Expires, MaxForwards, MediaType, MinExpires, MinSe, ProxyRequire, RAck, RSeq, Reason,
    Refresher, Replaces, Require, RetryAfter, Server, SessionExpires, SubscriptionState, Supported,
    Timestamp, Unsupported, UserAgent,
};
pub use via::Via;

use crate::error::HeaderError;
use crate::header::HeaderName;

/// A header with a typed view.
pub trait TypedHeader<'a>: Sized {
    /// The header this view decodes.
    const NAME: HeaderName;
    /// Whether the header is a comma-separated list (each element is one value).
    const LIST: bool;
    /// Whether an empty list is legal (e.g. `Supported:` with no option tags).
    const ALLOW_EMPTY: bool = false;
    /// Decodes one value (one list element for list headers), already LWS-trimmed.
    fn decode(value: &'a str) -> Result<Self, HeaderError>;
}

/// `HeaderError::Malformed` for `name`.
pub(crate) fn bad(name: &HeaderName, what: &'static str) -> HeaderError {
    HeaderError::Malformed {
        header: name.static_name(),
        what,
    }
}
