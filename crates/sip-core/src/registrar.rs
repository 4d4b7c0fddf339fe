//! A sans-IO registrar (RFC 3261 §10.3): a location service keyed by address-of-record.
//!
//! [`Registrar::handle_register`] decides the answer to a REGISTER and updates the
//! bindings; it sends nothing. The caller builds the response with
//! `Endpoint::make_response(tx, outcome.status, outcome.reason)`, adds
//! [`RegisterOutcome::headers`] (or calls [`RegisterOutcome::apply_to`]) and sends it.
//! Authentication (§10.3 step 3) and authorisation (step 4) come first, in the caller: see
//! [`crate::auth`] and [`Aor::of_register`].
//!
//! The registrar reads no clock: `now` is an argument, expiry is reported by
//! [`Registrar::next_expiry`] and done by [`Registrar::expire`]; [`Registrar::lookup`]
//! never returns an expired binding even before it is purged.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use bytes::Bytes;
//! use tandem_sip_core::registrar::{Aor, Registrar, RegistrarConfig};
//! use tandem_sip_msg::{Limits, Message, Uri};
//!
//! let mut reg = Registrar::new(RegistrarConfig::new(["example.com"]));
//! let register = Message::parse(Bytes::from_static(
//!     b"REGISTER sip:example.com SIP/2.0\r\n\
//!       Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1\r\n\
//!       From: <sip:alice@example.com>;tag=1\r\nTo: <sip:alice@example.com>\r\n\
//!       Call-ID: c1\r\nCSeq: 1 REGISTER\r\nContact: <sip:alice@192.0.2.4>;expires=600\r\n\
//!       Content-Length: 0\r\n\r\n"), &Limits::default())?;
//! let now = Instant::now();
//! let outcome = reg.handle_register(now, &register);
//! assert_eq!((outcome.status, outcome.reason), (200, "OK"));
//! let aor = Aor::from_uri(&Uri::parse("sip:alice@EXAMPLE.com")?).expect("a SIP URI");
//! assert_eq!(reg.lookup(now, &aor)[0].uri_text(), "sip:alice@192.0.2.4");
//! assert_eq!(reg.next_expiry(), Some(now + Duration::from_secs(600)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::time::{Duration, Instant};

use tandem_sip_msg::headers::{CSeq, CallId, Contact, Expires, NameAddr, ToHeader};
use tandem_sip_msg::{EditError, HeaderName, Message, Method, Uri};

/// How a [`Registrar`] behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrarConfig {
    /// Domains the registrar has bindings for (§10.3 steps 1 and 5), compared with the host
    /// of the Request-URI and of the To AOR, case-insensitively. Empty: every domain.
    pub domains: Vec<String>,
    /// Shortest accepted registration (seconds); shorter non-zero ones get 423 with
    /// `Min-Expires` (§10.3 step 7, §20.23). Default 60.
    pub min_expires: u32,
    /// Longest registration; longer requests are shortened to it (§10.3 step 7). Default 3600.
    pub max_expires: u32,
    /// Duration when neither the contact nor the request says (§10.2.1.1). Default 3600.
    pub default_expires: u32,
    /// Bindings per AOR; a REGISTER that would exceed it gets 403. Default 10.
    pub max_bindings_per_aor: usize,
    /// AORs with bindings; a REGISTER creating one more gets 503. Default 100,000.
    pub max_aors: usize,
}

impl RegistrarConfig {
    /// A configuration for `domains` with the defaults above.
    pub fn new<S: Into<String>>(domains: impl IntoIterator<Item = S>) -> Self {
        Self {
            domains: domains.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }
}

impl Default for RegistrarConfig {
    fn default() -> Self {
        Self {
            domains: Vec::new(),
            min_expires: 60,
            max_expires: 3600,
            default_expires: 3600,
            max_bindings_per_aor: 10,
            max_aors: 100_000,
        }
    }
}

/// A canonical address-of-record: `scheme:user@host`, host lower-cased, user unescaped then
/// re-escaped the same way every time, port and parameters dropped (§10.3 step 5:
/// "converted to a canonical form").
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Aor(String);

impl Aor {
    /// The AOR of a SIP or SIPS URI; `None` for other schemes.
    pub fn from_uri(uri: &Uri) -> Option<Self> {
        let sip = uri.as_sip()?;
        let mut s = format!("{}:", uri.scheme());
        if let Some(user) = sip.user_unescaped() {
            for b in user {
                if b.is_ascii_alphanumeric() || b"-_.!~*'()&=+$,;?/".contains(&b) {
                    s.push(char::from(b));
                } else {
                    s.push_str(&format!("%{b:02X}"));
                }
            }
            s.push('@');
        }
        s.push_str(&sip.host.to_string().to_ascii_lowercase());
        Some(Self(s))
    }

    /// The AOR a REGISTER is about: the To URI (§10.2, §10.3 step 5). The caller checks
    /// with it that the authenticated user may change these bindings (step 4).
    pub fn of_register(request: &Message) -> Option<Self> {
        let to = request.typed::<ToHeader<'_>>().ok()??;
        Self::from_uri(&to.uri)
    }

    /// The canonical text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Aor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One contact bound to an AOR.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    id: u64,
    uri_text: String,
    uri: Uri,
    params: Vec<(String, Option<String>)>,
    q: u16,
    expires_at: Instant,
    call_id: String,
    cseq: u32,
}

impl Binding {
    /// The contact URI exactly as the REGISTER wrote it: URI parameters and escaped headers
    /// kept (RFC 4475 §3.3.13, §3.3.14).
    pub fn uri_text(&self) -> &str {
        &self.uri_text
    }

    /// The contact URI, parsed.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The contact's header parameters as written, except `expires` (`q`, `+sip.instance`,
    /// unknown ones such as RFC 4475 §3.3.12's `unknownparam`).
    pub fn params(&self) -> &[(String, Option<String>)] {
        &self.params
    }

    /// The `q` value in thousandths (1000 when absent).
    pub fn q(&self) -> u16 {
        self.q
    }

    /// When the binding lapses.
    pub fn expires_at(&self) -> Instant {
        self.expires_at
    }

    /// Call-ID of the REGISTER that last refreshed it (§10.3 step 7).
    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    /// CSeq number of that REGISTER.
    pub fn cseq(&self) -> u32 {
        self.cseq
    }

    /// Whole seconds left at `now`, rounded up.
    pub fn remaining(&self, now: Instant) -> u32 {
        let left = self.expires_at.saturating_duration_since(now);
        let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        u32::try_from(secs).unwrap_or(u32::MAX)
    }

    /// The `Contact` value a 200 lists for it: `<uri>;params;expires=N` (§10.3 step 8).
    pub fn contact_value(&self, now: Instant) -> String {
        let mut s = format!("<{}>", self.uri_text);
        for (name, value) in &self.params {
            s.push(';');
            s.push_str(name);
            if let Some(v) = value {
                s.push('=');
                s.push_str(v);
            }
        }
        s.push_str(&format!(";expires={}", self.remaining(now)));
        s
    }
}

/// The answer [`Registrar::handle_register`] decided on. Add `headers` to the response in
/// order.
#[must_use]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterOutcome {
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: &'static str,
    /// Header fields to add: `Contact` (200, one per binding), `Min-Expires` (423).
    pub headers: Vec<(HeaderName, String)>,
}

impl RegisterOutcome {
    /// Pushes [`Self::headers`] onto `response`.
    pub fn apply_to(&self, response: &mut Message) -> Result<(), EditError> {
        for (name, value) in &self.headers {
            response.push_header(name, value)?;
        }
        Ok(())
    }

    fn status(status: u16, reason: &'static str) -> Self {
        Self {
            status,
            reason,
            headers: Vec::new(),
        }
    }
}

/// The location service of RFC 3261 §10.3.
#[derive(Debug)]
pub struct Registrar {
    config: RegistrarConfig,
    bindings: HashMap<Aor, Vec<Binding>>,
    /// Every binding's expiry, for [`Self::next_expiry`] and [`Self::expire`].
    expiries: BTreeSet<(Instant, u64, Aor)>,
    next_id: u64,
}

impl Registrar {
    /// An empty registrar.
    pub fn new(mut config: RegistrarConfig) -> Self {
        for d in &mut config.domains {
            d.make_ascii_lowercase();
        }
        config.min_expires = config.min_expires.max(1);
        config.max_expires = config.max_expires.max(config.min_expires);
        config.default_expires = config
            .default_expires
            .clamp(config.min_expires, config.max_expires);
        Self {
            config,
            bindings: HashMap::new(),
            expiries: BTreeSet::new(),
            next_id: 0,
        }
    }

    /// The configuration (domains lower-cased, expiry bounds made consistent).
    pub fn config(&self) -> &RegistrarConfig {
        &self.config
    }

    /// Processes a REGISTER already authenticated and authorised by the caller (§10.3
    /// steps 1, 5–8), committing every binding change or none:
    ///
    /// - Request-URI not SIP/SIPS: 416; its host not one of ours: 404 (step 1).
    /// - To missing or not a SIP/SIPS AOR: 400 (RFC 4475 §3.3.4); AOR of another domain:
    ///   404 (step 5).
    /// - No Contact: 200 listing the current bindings (§10.2.3).
    /// - `Contact: *` removes every binding; with another Contact or an expiry other than
    ///   `Expires: 0`, 400 (step 6).
    /// - Each contact's expiry is its `expires` parameter, else the `Expires` header, else
    ///   the default (step 7); 0 removes the binding; below `min_expires`: 423 with
    ///   `Min-Expires`; above `max_expires`: shortened.
    /// - An existing binding (URI equivalence, §19.1.4) from the same Call-ID with a CSeq
    ///   not higher than stored fails the whole request with 500 (step 7: "the update MUST
    ///   be aborted and the request fails"; a re-ordered, older REGISTER must not undo a
    ///   newer one). Another Call-ID replaces the binding.
    /// - More than `max_bindings_per_aor` bindings: 403 (a policy limit: a retry elsewhere
    ///   would not help, so not 503). A new AOR beyond `max_aors`: 503.
    /// - Otherwise 200 with every current binding and its `expires` (step 8).
    pub fn handle_register(&mut self, now: Instant, request: &Message) -> RegisterOutcome {
        match self.register(now, request) {
            Ok(o) | Err(o) => o,
        }
    }

    /// The live bindings of `aor`, highest `q` first (ties: in registration order).
    pub fn lookup(&self, now: Instant, aor: &Aor) -> Vec<Binding> {
        let mut out: Vec<Binding> = self
            .bindings
            .get(aor)
            .into_iter()
            .flatten()
            .filter(|b| b.expires_at > now)
            .cloned()
            .collect();
        out.sort_by_key(|b| std::cmp::Reverse(b.q));
        out
    }

    /// Removes every binding whose expiry is at or before `now`.
    pub fn expire(&mut self, now: Instant) {
        while let Some(first) = self.expiries.first() {
            if first.0 > now {
                break;
            }
            let Some((_, id, aor)) = self.expiries.pop_first() else {
                break;
            };
            if let Some(list) = self.bindings.get_mut(&aor) {
                list.retain(|b| b.id != id);
                if list.is_empty() {
                    self.bindings.remove(&aor);
                }
            }
        }
    }

    /// The earliest binding expiry, for the driver's timer.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.expiries.first().map(|e| e.0)
    }

    /// How many AORs have bindings (expired ones count until [`Self::expire`]).
    pub fn aor_count(&self) -> usize {
        self.bindings.len()
    }

    fn register(
        &mut self,
        now: Instant,
        req: &Message,
    ) -> Result<RegisterOutcome, RegisterOutcome> {
        let bad = |reason| Err(RegisterOutcome::status(400, reason));
        if req.method() != Some(Method::Register) {
            return bad("Not A REGISTER");
        }
        // Step 1: the domain of the Request-URI.
        let ruri = req
            .request_line()
            .and_then(|l| l.uri().ok())
            .ok_or(RegisterOutcome::status(400, "Bad Request-URI"))?;
        let Some(ruri) = ruri.as_sip() else {
            return Err(RegisterOutcome::status(416, "Unsupported URI Scheme"));
        };
        if !self.serves(&ruri.host.to_string()) {
            return Err(RegisterOutcome::status(404, "Not Found"));
        }
        // Step 5: the AOR.
        let Ok(Some(to)) = req.typed::<ToHeader<'_>>() else {
            return bad("Bad To");
        };
        let Some(aor) = Aor::from_uri(&to.uri) else {
            return bad("To Is Not A SIP AOR");
        };
        if to
            .uri
            .as_sip()
            .is_some_and(|u| !self.serves(&u.host.to_string()))
        {
            return Err(RegisterOutcome::status(404, "Not Found"));
        }
        let (Ok(Some(call_id)), Ok(Some(cseq))) = (req.typed::<CallId<'_>>(), req.typed::<CSeq>())
        else {
            return bad("Bad Call-ID Or CSeq");
        };
        let Ok(expires) = req.typed::<Expires>() else {
            return bad("Bad Expires");
        };
        let Ok(contacts) = req.typed_all::<Contact<'_>>() else {
            return bad("Bad Contact");
        };
        let current: Vec<Binding> = self.lookup_in_order(now, &aor);
        if contacts.is_empty() {
            return Ok(self.ok(now, &current));
        }
        let request = Request {
            call_id: call_id.0,
            cseq: cseq.seq,
        };
        let next = if contacts.contains(&Contact::Star) {
            // Step 6.
            if contacts.len() > 1 || expires != Some(Expires(0)) {
                return bad("Invalid Contact *");
            }
            for b in &current {
                request.may_change(b)?;
            }
            Vec::new()
        } else {
            self.update(now, current.clone(), &contacts, expires, &request)?
        };
        if next.len() > self.config.max_bindings_per_aor {
            return Err(RegisterOutcome::status(403, "Too Many Bindings"));
        }
        if !next.is_empty()
            && !self.bindings.contains_key(&aor)
            && self.bindings.len() >= self.config.max_aors
        {
            return Err(RegisterOutcome::status(503, "Service Unavailable"));
        }
        let response = self.ok(now, &next);
        self.commit(aor, next);
        Ok(response)
    }

    /// Step 7 on a tentative copy of the AOR's bindings.
    fn update(
        &mut self,
        now: Instant,
        mut next: Vec<Binding>,
        contacts: &[Contact<'_>],
        expires: Option<Expires>,
        request: &Request<'_>,
    ) -> Result<Vec<Binding>, RegisterOutcome> {
        // Bindings this request already added or changed: a second Contact with the same
        // URI overrides the first rather than failing the CSeq check.
        let mut touched = HashSet::new();
        for contact in contacts {
            let Some(addr) = contact.addr() else {
                continue;
            };
            let secs = contact
                .expires()
                .or(expires.map(|e| e.0))
                .unwrap_or(self.config.default_expires);
            if secs > 0 && secs < self.config.min_expires {
                return Err(RegisterOutcome {
                    status: 423,
                    reason: "Interval Too Brief",
                    headers: vec![(HeaderName::MinExpires, self.config.min_expires.to_string())],
                });
            }
            let secs = secs.min(self.config.max_expires);
            let existing = next.iter().position(|b| b.uri.equivalent(&addr.uri));
            if let Some(i) = existing {
                if !touched.contains(&next[i].id) {
                    request.may_change(&next[i])?;
                }
                if secs == 0 {
                    next.remove(i);
                    continue;
                }
            } else if secs == 0 {
                continue;
            }
            let id = existing.map_or_else(|| self.new_id(), |i| next[i].id);
            let binding = Binding {
                id,
                uri_text: addr.uri_text.to_owned(),
                uri: addr.uri.clone(),
                params: contact_params(addr),
                q: q_value(addr).ok_or(RegisterOutcome::status(400, "Bad q-value"))?,
                expires_at: now
                    .checked_add(Duration::from_secs(u64::from(secs)))
                    .unwrap_or(now),
                call_id: request.call_id.to_owned(),
                cseq: request.cseq,
            };
            touched.insert(id);
            match existing {
                Some(i) => next[i] = binding,
                None => next.push(binding),
            }
        }
        Ok(next)
    }

    fn commit(&mut self, aor: Aor, next: Vec<Binding>) {
        if let Some(old) = self.bindings.remove(&aor) {
            for b in old {
                self.expiries.remove(&(b.expires_at, b.id, aor.clone()));
            }
        }
        if next.is_empty() {
            return;
        }
        for b in &next {
            self.expiries.insert((b.expires_at, b.id, aor.clone()));
        }
        self.bindings.insert(aor, next);
    }

    /// The AOR's live bindings in stored (registration) order.
    fn lookup_in_order(&self, now: Instant, aor: &Aor) -> Vec<Binding> {
        self.bindings
            .get(aor)
            .into_iter()
            .flatten()
            .filter(|b| b.expires_at > now)
            .cloned()
            .collect()
    }

    fn ok(&self, now: Instant, bindings: &[Binding]) -> RegisterOutcome {
        let mut sorted: Vec<&Binding> = bindings.iter().collect();
        sorted.sort_by_key(|b| std::cmp::Reverse(b.q));
        RegisterOutcome {
            status: 200,
            reason: "OK",
            headers: sorted
                .into_iter()
                .map(|b| (HeaderName::Contact, b.contact_value(now)))
                .collect(),
        }
    }

    fn serves(&self, host: &str) -> bool {
        self.config.domains.is_empty()
            || self
                .config
                .domains
                .iter()
                .any(|d| d.eq_ignore_ascii_case(host))
    }

    fn new_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}

/// The Call-ID and CSeq of the REGISTER being processed.
struct Request<'a> {
    call_id: &'a str,
    cseq: u32,
}

impl Request<'_> {
    /// §10.3 steps 6 and 7: a binding from the same Call-ID changes only with a higher CSeq.
    fn may_change(&self, b: &Binding) -> Result<(), RegisterOutcome> {
        if b.call_id == self.call_id && self.cseq <= b.cseq {
            return Err(RegisterOutcome::status(500, "Server Internal Error"));
        }
        Ok(())
    }
}

/// The contact's header parameters, `expires` left out (the 200 writes the granted one).
fn contact_params(addr: &NameAddr<'_>) -> Vec<(String, Option<String>)> {
    addr.params
        .iter()
        .filter(|p| !p.name.eq_ignore_ascii_case("expires"))
        .map(|p| (p.name.to_owned(), p.value.map(str::to_owned)))
        .collect()
}

/// The `q` parameter in thousandths (§20.10: `qvalue = ("0" ["." 0*3DIGIT]) /
/// ("1" ["." 0*3("0")])`); 1000 when absent, `None` when malformed.
fn q_value(addr: &NameAddr<'_>) -> Option<u16> {
    let Some(p) = addr.param("q") else {
        return Some(1000);
    };
    let v = p.value?;
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = frac
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
