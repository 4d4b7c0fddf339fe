//! The public vocabulary of the call controller: settings, ids, states, events and errors.

use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tandem_sip_core::{DialogError, Flow, RespondError, SendError, Transport};
use tandem_sip_msg::{HeaderName, Uri};

/// Opaque handle of a back-to-back call. Ids are never reused, so a stale id never reaches a
/// newer call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub(crate) u64);

/// One leg of a call.
///
/// For [`B2bua::establish`](crate::B2bua::establish), `A` is the incoming call (Tandem is its
/// UAS) and `B` the outgoing one; for [`B2bua::originate`](crate::B2bua::originate), `A` is
/// the first party called (its 2xx carries the offer) and `B` the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Leg {
    /// The caller's leg (incoming), or the first party of an originated call.
    A,
    /// The callee's leg (outgoing), or the second party of an originated call.
    B,
}

impl Leg {
    /// The other leg.
    pub fn other(self) -> Self {
        match self {
            Self::A => Self::B,
            Self::B => Self::A,
        }
    }
}

/// A user name and password answering digest challenges (RFC 3261 §22.2) to an outgoing
/// leg's INVITE. `Debug` does not print them.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Only answer challenges of this realm (`None`: any realm).
    pub realm: Option<String>,
    /// The user name.
    pub username: String,
    /// The password.
    pub password: String,
}

impl Credentials {
    /// Credentials for any realm.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            realm: None,
            username: username.into(),
            password: password.into(),
        }
    }

    /// The same credentials, used only for challenges of `realm`.
    #[must_use]
    pub fn for_realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("realm", &self.realm)
            .field("username", &"<redacted>")
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The settings of an outgoing leg (UCMA's `BackToBackCallSettings(call, destination)`).
///
/// Build with [`CallSettings::new`] and the `with_*` methods; every field is public too.
#[derive(Debug, Clone)]
pub struct CallSettings {
    /// Where leg B's INVITE goes (a resolved next hop: DNS belongs to the runtime).
    pub destination: Flow,
    /// Next hops tried in order when `destination` times out, fails at the transport or
    /// answers 503 (RFC 3263 §4.3; the endpoint walks the list under one transaction handle).
    pub fallbacks: Vec<Flow>,
    /// Request-URI of leg B's INVITE; also its To URI.
    pub target: Uri,
    /// From of leg B (a name-addr without tag, e.g. `"Alice" <sip:alice@example.com>`).
    /// `None`: leg A's display name and From URI (the caller id), with a new tag.
    pub from: Option<String>,
    /// `P-Asserted-Identity` of the leg's INVITE (RFC 3325 §9.1), e.g.
    /// `"Support" <sip:+15551230000@example.com>`: the identity a trusted network shows the
    /// callee. Replaces any copied or extra one. `None`: whatever the allow-list copies.
    pub asserted_identity: Option<String>,
    /// Headers added to leg B's INVITE (after the copied ones), e.g. `X-Queue: sales`.
    pub extra_headers: Vec<(HeaderName, String)>,
    /// The pass-through allow-list: headers of leg A's INVITE (and of in-dialog requests of
    /// either leg) copied to the other leg, in order and unfolded. Everything else stays on
    /// its own leg (topology hiding): Via, Contact, Call-ID, tags, Record-Route and Route are
    /// never copied even if listed.
    pub pass_through: Vec<HeaderName>,
    /// Give up on this leg's INVITE when it has no final response this long after it was
    /// sent: CANCEL it (RFC 3261 §9.1) and end the call with [`EndCause::RingTimeout`]
    /// (leg A of [`B2bua::establish`](crate::B2bua::establish) gets 480). `None`: only the
    /// endpoint's Timer C (§16.6 step 11, 181 s) and Timer B apply.
    pub ring_timeout: Option<Duration>,
    /// End the call this long after it was answered, with BYE on both legs and
    /// `Reason: SIP;cause=200;text="Maximum call duration"` (RFC 3326); the call ends with
    /// [`EndCause::MaxDuration`]. With both legs' settings (originate), the shorter wins.
    /// `None`: no limit.
    pub max_duration: Option<Duration>,
    /// Answer a 401/407 to this leg's INVITE with these credentials (RFC 3261 §22.2): the
    /// INVITE is re-sent once more per challenge (CSeq + 1, same Call-ID, tags and body, an
    /// `Authorization` or `Proxy-Authorization`), at most twice. `None`: the challenge is a
    /// failure (mapped to 403 on leg A, see [`map_failure`](crate::map_failure)), unless the
    /// endpoint holds credentials of its own (`Endpoint::set_credentials`).
    pub credentials: Option<Credentials>,
    /// Session timer policy of this leg (RFC 4028): `Some(interval)` asks for
    /// `Session-Expires: <interval>;refresher=uac` (at least 90 s, §4) with
    /// `Supported: timer`, so Tandem refreshes the leg and a lost leg ends the call.
    /// `None`: the endpoint's configuration decides. Refreshes and expiry are run by the
    /// endpoint, which must list `timer` in `EndpointConfig::supported`.
    pub session_expires: Option<Duration>,
}

impl CallSettings {
    /// Settings that call `target` through `destination`, with no extra header, an empty
    /// allow-list, and no timer of their own.
    pub fn new(destination: Flow, target: Uri) -> Self {
        Self {
            destination,
            fallbacks: Vec::new(),
            target,
            from: None,
            asserted_identity: None,
            extra_headers: Vec::new(),
            pass_through: Vec::new(),
            ring_timeout: None,
            max_duration: None,
            credentials: None,
            session_expires: None,
        }
    }

    /// Sets [`Self::fallbacks`].
    #[must_use]
    pub fn with_fallbacks(mut self, fallbacks: Vec<Flow>) -> Self {
        self.fallbacks = fallbacks;
        self
    }

    /// Sets [`Self::from`].
    #[must_use]
    pub fn with_from(mut self, from: impl Into<String>) -> Self {
        self.from = Some(from.into());
        self
    }

    /// Sets [`Self::asserted_identity`].
    #[must_use]
    pub fn with_asserted_identity(mut self, identity: impl Into<String>) -> Self {
        self.asserted_identity = Some(identity.into());
        self
    }

    /// Adds one of [`Self::extra_headers`].
    #[must_use]
    pub fn with_header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.extra_headers.push((name, value.into()));
        self
    }

    /// Sets [`Self::pass_through`].
    #[must_use]
    pub fn with_pass_through(mut self, names: Vec<HeaderName>) -> Self {
        self.pass_through = names;
        self
    }

    /// Sets [`Self::ring_timeout`].
    #[must_use]
    pub fn with_ring_timeout(mut self, timeout: Duration) -> Self {
        self.ring_timeout = Some(timeout);
        self
    }

    /// Sets [`Self::max_duration`].
    #[must_use]
    pub fn with_max_duration(mut self, limit: Duration) -> Self {
        self.max_duration = Some(limit);
        self
    }

    /// Sets [`Self::credentials`].
    #[must_use]
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Sets [`Self::session_expires`].
    #[must_use]
    pub fn with_session_expires(mut self, interval: Duration) -> Self {
        self.session_expires = Some(interval);
        self
    }
}

/// Configuration of the call controller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct B2buaConfig {
    /// `<username>` of Tandem's `o=` line on every leg (RFC 8866 §5.2).
    pub origin_username: String,
    /// `<unicast-address>` of Tandem's `o=` line (IPv4 or IPv6 literal). `None`: the local
    /// address of leg B's destination flow.
    pub origin_address: Option<String>,
}

impl Default for B2buaConfig {
    fn default() -> Self {
        Self {
            origin_username: "tandem".to_owned(),
            origin_address: None,
        }
    }
}

/// The states of a back-to-back call, as UCMA's `CallState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallState {
    /// Created, nothing sent yet.
    Idle,
    /// Leg B's INVITE is in progress; leg A has been sent at most provisional responses.
    Establishing,
    /// Leg B answered 2xx and the 2xx was relayed to leg A.
    Established,
    /// One leg ended or the application asked; waiting for the other leg's BYE, CANCEL or
    /// INVITE to complete.
    Terminating,
    /// Both legs are over; the call is forgotten right after [`CallEvent::Ended`].
    Terminated,
}

/// Why a call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndCause {
    /// Leg A (the caller) sent BYE.
    CallerHangUp,
    /// Leg B (the callee) sent BYE.
    CalleeHangUp,
    /// Leg A cancelled its INVITE (RFC 3261 §9.2), or sent BYE before the answer.
    Cancelled,
    /// An outgoing leg answered its INVITE with a final non-2xx `status`; leg A of a
    /// bridged call got `relayed` (an originated call's answered first party got BYE with
    /// `relayed` as the `Reason` cause).
    Rejected {
        /// Leg B's status code.
        status: u16,
        /// The status sent to leg A (see [`map_failure`](crate::map_failure)).
        relayed: u16,
    },
    /// An outgoing leg never answered its INVITE (Timer B, or the transport failed); leg A
    /// of a bridged call got 408.
    NoAnswer,
    /// The application called [`B2bua::terminate`](crate::B2bua::terminate).
    Terminated,
    /// Leg A never acknowledged the 2xx (Timer L, RFC 6026 §7.1).
    AckTimeout,
    /// A leg's session timer expired (RFC 4028 §10) or an in-dialog request got 408/481 or
    /// no answer (RFC 3261 §12.2.1.2): the leg is lost, the call ends.
    LegLost,
    /// A message of leg B could not be relayed (e.g. an answer whose SDP does not parse).
    Failed(String),
    /// An outgoing leg had no final response within its
    /// [`CallSettings::ring_timeout`]: it was cancelled.
    RingTimeout,
    /// The call reached its [`CallSettings::max_duration`]: both legs got BYE.
    MaxDuration,
}

/// What the call controller reports to the application ([`B2bua::poll_event`]).
///
/// [`B2bua::poll_event`]: crate::B2bua::poll_event
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEvent {
    /// The call moved to `state`.
    StateChanged {
        /// The call.
        call: CallId,
        /// Its new state.
        state: CallState,
    },
    /// The call is over (after `StateChanged { state: Terminated }`); its id is dead.
    Ended {
        /// The call.
        call: CallId,
        /// Why.
        cause: EndCause,
    },
    /// The call detail record of a call that just ended, pushed right before its
    /// [`CallEvent::Ended`].
    Record(Box<CallRecord>),
    /// The media-flow hint changed (UCMA's `MediaFlow` state), derived from the offer/answer
    /// exchange (RFC 3264) between the legs: Tandem relays SDP and never sees the media.
    MediaFlow {
        /// The call.
        call: CallId,
        /// The new state.
        state: MediaFlowState,
    },
}

/// Whether media can flow between the legs' parties, as far as the signalling tells
/// (RFC 3264: media flows once the offerer has the answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaFlowState {
    /// An offer crossed to the other leg; its answer has not reached the offerer yet.
    Connecting,
    /// The answer reached the offerer's leg (in a provisional or final response, or an
    /// ACK): both parties know where to send media.
    Connected,
}

/// How a call was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallKind {
    /// [`B2bua::establish`](crate::B2bua::establish): an incoming call bridged to an
    /// outgoing one.
    Bridged,
    /// [`B2bua::originate`](crate::B2bua::originate): two outgoing calls joined by Tandem
    /// (RFC 3725 Flow I).
    Originated,
}

impl CallKind {
    /// `b2b` or `originate`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bridged => "b2b",
            Self::Originated => "originate",
        }
    }
}

/// Who ended a leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndedBy {
    /// The leg's remote party: it sent BYE or CANCEL, or rejected Tandem's INVITE.
    Remote,
    /// Tandem: it sent BYE or CANCEL, or a final non-2xx response on the leg (because the
    /// other leg ended, a timer fired, or the application asked).
    Local,
    /// Nobody: the leg was lost (no answer, no ACK, session timer expiry, 408/481 to an
    /// in-dialog request).
    Lost,
}

impl EndedBy {
    /// `remote`, `local` or `lost`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Remote => "remote",
            Self::Local => "local",
            Self::Lost => "lost",
        }
    }
}

/// The call detail record of one call ([`CallEvent::Record`]): one row per call, one
/// [`LegRecord`] per leg. Instants are the `now` of the inputs that caused them; convert
/// them to wall-clock time in the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    /// The call.
    pub call: CallId,
    /// Bridged or originated.
    pub kind: CallKind,
    /// When the call was created ([`B2bua::establish`](crate::B2bua::establish) or
    /// [`B2bua::originate`](crate::B2bua::originate)).
    pub started: Instant,
    /// When it reached [`CallState::Established`]; `None`: never answered.
    pub answered: Option<Instant>,
    /// When it reached [`CallState::Terminated`].
    pub ended: Instant,
    /// Why it ended (the same as [`CallEvent::Ended`]'s).
    pub cause: EndCause,
    /// Leg A, then leg B (absent when an originated call's first leg failed).
    pub legs: Vec<LegRecord>,
}

/// One leg of a [`CallRecord`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegRecord {
    /// Which leg.
    pub leg: Leg,
    /// The leg's SIP Call-ID (each leg has its own: topology hiding).
    pub sip_call_id: String,
    /// The leg's From, as a name-addr without tag (`"Alice" <sip:alice@example.com>`).
    pub from: String,
    /// The leg's To, as a name-addr without tag.
    pub to: String,
    /// The remote party's address: the source of an incoming INVITE (Via `received` and
    /// `rport`, RFC 3581), else the next hop Tandem sent to.
    pub remote: SocketAddr,
    /// The leg's transport.
    pub transport: Transport,
    /// When the leg's INVITE was received or sent.
    pub started: Instant,
    /// When the leg was answered (2xx sent on an incoming leg, received on an outgoing one).
    pub answered: Option<Instant>,
    /// When the leg started ending (BYE or CANCEL sent or received, final failure), or the
    /// end of the call.
    pub ended: Instant,
    /// The final status of the leg's INVITE: sent on an incoming leg, received on an
    /// outgoing one; `None`: none (no answer, or the INVITE was never answered finally).
    pub final_status: Option<u16>,
    /// Who ended the leg.
    pub ended_by: EndedBy,
}

/// A snapshot of a live call ([`B2bua::info`](crate::B2bua::info)), e.g. for a REST API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallInfo {
    /// The call.
    pub call: CallId,
    /// Bridged or originated.
    pub kind: CallKind,
    /// Its state.
    pub state: CallState,
    /// The media-flow hint; `None` before any offer crossed.
    pub media: Option<MediaFlowState>,
    /// When it was created.
    pub started: Instant,
    /// When it was answered.
    pub answered: Option<Instant>,
    /// Leg A, then leg B once it exists.
    pub legs: Vec<LegInfo>,
}

/// One leg of a [`CallInfo`] (the fields mean what they mean in a [`LegRecord`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegInfo {
    /// Which leg.
    pub leg: Leg,
    /// The leg's SIP Call-ID.
    pub sip_call_id: String,
    /// The leg's From, without tag.
    pub from: String,
    /// The leg's To, without tag.
    pub to: String,
    /// The remote party's address.
    pub remote: SocketAddr,
    /// The leg's transport.
    pub transport: Transport,
    /// When the leg's INVITE was received or sent.
    pub started: Instant,
    /// When the leg was answered.
    pub answered: Option<Instant>,
}

/// A reason for ending a call, sent in the `Reason` header of the BYEs (RFC 3326), with the
/// application's own headers for them (UCMA's `CallTerminateOptions`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// The SIP status code put in `cause` (RFC 3326 §2: `protocol = SIP`).
    pub cause: u16,
    /// The `text` parameter (without quotes; `"` and `\` are dropped).
    pub text: String,
    /// Headers added to the BYEs [`B2bua::terminate`](crate::B2bua::terminate) sends (e.g.
    /// `X-Disposition: transferred`). Headers the dialog owns (Via, From, To, Call-ID, CSeq,
    /// Contact, Route, Record-Route, Max-Forwards, Content-Length, Reason) are refused with
    /// [`CallError::BadHeader`], as are values spanning lines.
    pub headers: Vec<(HeaderName, String)>,
}

impl Reason {
    /// A `SIP;cause=..;text=".."` reason.
    pub fn new(cause: u16, text: &str) -> Self {
        Self {
            cause,
            text: text.to_owned(),
            headers: Vec::new(),
        }
    }

    /// The same reason with one more header on the BYEs.
    #[must_use]
    pub fn with_header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Checks [`Self::headers`]: nothing the dialog owns, no line breaks.
    pub fn check_headers(&self) -> Result<(), CallError> {
        for (name, value) in &self.headers {
            let owned = matches!(
                name,
                HeaderName::Via
                    | HeaderName::From
                    | HeaderName::To
                    | HeaderName::CallId
                    | HeaderName::CSeq
                    | HeaderName::Contact
                    | HeaderName::Route
                    | HeaderName::RecordRoute
                    | HeaderName::MaxForwards
                    | HeaderName::ContentLength
                    | HeaderName::Reason
            );
            if owned {
                return Err(CallError::BadHeader(format!(
                    "{} belongs to the dialog",
                    name.as_str()
                )));
            }
            // RFC 3261 §25.1: a header name is a token.
            let token = |c: char| c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c);
            if name.as_str().is_empty() || !name.as_str().chars().all(token) {
                return Err(CallError::BadHeader(format!(
                    "{:?} is not a header name",
                    name.as_str()
                )));
            }
            if value.contains(['\r', '\n']) {
                return Err(CallError::BadHeader(format!(
                    "{} spans lines",
                    name.as_str()
                )));
            }
        }
        Ok(())
    }

    /// The header value, `SIP;cause=200;text="Call completed"`.
    pub fn header_value(&self) -> String {
        let text: String = self
            .text
            .chars()
            .filter(|c| *c != '"' && *c != '\\' && !c.is_control())
            .collect();
        format!("SIP;cause={};text=\"{text}\"", self.cause)
    }
}

/// Why [`B2bua::establish`](crate::B2bua::establish) or
/// [`B2bua::terminate`](crate::B2bua::terminate) refused. Nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The call id is unknown or the call has ended.
    #[error("no such call")]
    NoSuchCall,
    /// The message is not an initial INVITE (a request without To tag).
    #[error("not an initial INVITE")]
    NotAnInitialInvite,
    /// The server transaction already belongs to a call.
    #[error("the INVITE already belongs to a call")]
    AlreadyInCall,
    /// `Max-Forwards: 0` on leg A: relaying would loop (RFC 7332 §3; answer 483).
    #[error("Max-Forwards exhausted")]
    TooManyHops,
    /// The offer's SDP does not parse, so Tandem cannot own its `o=` line (answer 488).
    #[error("the session description does not parse")]
    BadSdp,
    /// A header value of the settings is not a valid single-line value.
    #[error("invalid header in the settings: {0}")]
    BadHeader(String),
    /// The endpoint refused to send leg B's INVITE.
    #[error(transparent)]
    Send(#[from] SendError),
    /// The endpoint refused a response.
    #[error(transparent)]
    Respond(#[from] RespondError),
    /// The endpoint refused an in-dialog request.
    #[error(transparent)]
    Dialog(#[from] DialogError),
}
