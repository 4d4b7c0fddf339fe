//! Server side of Digest: challenges and credential checks (RFC 3261 §22.1, §22.4;
//! RFC 7616 §3.3, §3.4, §5; RFC 8760 §2.4).

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{RngCore, SeedableRng};
use tandem_sip_msg::headers::{Authorization, Credentials, ProxyAuthorization};
use tandem_sip_msg::{HeaderName, Message};

use super::hash::{Hash, ct_eq, from_hex, hmac_sha256, to_hex};
use super::{Algorithm, QopAuth, base_ha1, quote, request_digest};

/// Configuration of a [`DigestAuthenticator`].
#[derive(Clone, PartialEq, Eq)]
pub struct DigestConfig {
    /// The protection domain (RFC 3261 §22.1: usually the SIP domain).
    pub realm: String,
    /// Algorithms offered, one challenge each, in this order of preference (RFC 8760 §2.4).
    /// Default: SHA-256 then MD5 (MD5 for the many phones without SHA-256).
    pub algorithms: Vec<Algorithm>,
    /// Key of the nonce MAC. Nonces are also bound to the instance (a salt drawn from
    /// `seed`), so nonces of a previous run are refused even under the same key.
    pub secret: Vec<u8>,
    /// How long a nonce is accepted (RFC 7616 §5.5); after that a correct answer gets a new
    /// challenge with `stale=true`. Default 300 s.
    pub nonce_lifetime: Duration,
    /// How many nonces' highest nonce counts are remembered (replay protection, RFC 7616
    /// §5.5); expired nonces are forgotten first. Default 10,000.
    pub max_tracked_nonces: usize,
    /// Seed of the RNG behind nonces and the dummy password. Give a different seed to every
    /// run (the runtime draws it from the OS), as for `EndpointConfig::seed`.
    pub seed: u64,
}

impl DigestConfig {
    /// A configuration with the defaults above.
    pub fn new(realm: impl Into<String>, secret: impl Into<Vec<u8>>) -> Self {
        Self {
            realm: realm.into(),
            algorithms: vec![Algorithm::Sha256, Algorithm::Md5],
            secret: secret.into(),
            nonce_lifetime: Duration::from_secs(300),
            max_tracked_nonces: 10_000,
            seed: 0,
        }
    }
}

impl fmt::Debug for DigestConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DigestConfig")
            .field("realm", &self.realm)
            .field("algorithms", &self.algorithms)
            .field("secret", &"<redacted>")
            .field("nonce_lifetime", &self.nonce_lifetime)
            .field("max_tracked_nonces", &self.max_tracked_nonces)
            .field("seed", &self.seed)
            .finish()
    }
}

/// Why [`DigestAuthenticator::new`] refused a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestConfigError {
    /// The realm is empty or has control characters.
    #[error("realm must be non-empty printable text")]
    BadRealm,
    /// No algorithm, or one listed twice.
    #[error("algorithms must be a non-empty list without duplicates")]
    BadAlgorithms,
    /// The nonce key is shorter than 16 bytes.
    #[error("secret must be at least 16 bytes")]
    WeakSecret,
    /// `nonce_lifetime` or `max_tracked_nonces` is zero.
    #[error("nonce lifetime and tracked nonces must be positive")]
    ZeroLimit,
}

/// What the server knows about a user: the password, or HA1 = H(username:realm:password)
/// per hash as lower- or upper-case hex (so passwords need not be stored).
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    /// The plain password.
    Password(String),
    /// Precomputed HA1 values; an algorithm whose HA1 is absent fails like a wrong password.
    Ha1 {
        /// HA1 for `MD5` and `MD5-sess`.
        md5: Option<String>,
        /// HA1 for `SHA-256` and `SHA-256-sess`.
        sha256: Option<String>,
        /// HA1 for `SHA-512-256` and `SHA-512-256-sess`.
        sha512_256: Option<String>,
    },
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Password(_) => f.write_str("Password(<redacted>)"),
            Self::Ha1 { .. } => f.write_str("Ha1(<redacted>)"),
        }
    }
}

/// The decision on a request's credentials. The caller turns it into a response:
/// `Challenge` → 401/407 with [`DigestAuthenticator::challenge`]`(now, stale)`,
/// `Forbidden` → 403 (RFC 3261 §22.4 leaves a failed answer to the server; a 403 stops a
/// UAC from retrying the same credentials).
#[must_use]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthOutcome {
    /// The credentials are valid: `username` is authenticated for the realm.
    Ok {
        /// The authenticated user name.
        username: String,
    },
    /// No credentials for this realm (challenge with `stale=false`), or a correct answer
    /// to a nonce that expired, was not issued by this instance or whose nonce count did
    /// not increase (challenge with `stale=true`, RFC 7616 §3.3: the UAC retries with the
    /// new nonce without asking its user).
    Challenge {
        /// Whether the new challenge says `stale=true`.
        stale: bool,
    },
    /// Credentials for this realm that are wrong, malformed or use an algorithm or qop not
    /// offered. An unknown user and a wrong password both land here, after the same work.
    Forbidden,
}

/// Which header pair carries the exchange (RFC 3261 §22.2 vs §22.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    /// A UAS or registrar: 401, `WWW-Authenticate`, `Authorization`.
    Www,
    /// A proxy: 407, `Proxy-Authenticate`, `Proxy-Authorization`.
    Proxy,
}

impl AuthKind {
    /// 401 or 407.
    pub fn status(self) -> u16 {
        match self {
            Self::Www => 401,
            Self::Proxy => 407,
        }
    }

    /// `Unauthorized` or `Proxy Authentication Required` (RFC 3261 §21.4.2, §21.4.8).
    pub fn reason(self) -> &'static str {
        match self {
            Self::Www => "Unauthorized",
            Self::Proxy => "Proxy Authentication Required",
        }
    }

    /// The header a challenge goes into.
    pub fn challenge_header(self) -> HeaderName {
        match self {
            Self::Www => HeaderName::WwwAuthenticate,
            Self::Proxy => HeaderName::ProxyAuthenticate,
        }
    }

    /// The header credentials come in.
    pub fn credentials_header(self) -> HeaderName {
        match self {
            Self::Www => HeaderName::Authorization,
            Self::Proxy => HeaderName::ProxyAuthorization,
        }
    }
}

/// Length of a nonce in bytes: timestamp (8) ‖ random (8) ‖ truncated MAC (16).
const NONCE_LEN: usize = 32;

/// Issues Digest challenges and verifies credentials.
///
/// Nonces are `hex(ts ‖ rand ‖ HMAC-SHA-256(key, ts ‖ rand)[..16])`, `ts` in milliseconds
/// since the authenticator was created: verifying one needs no storage. The only state is
/// the highest nonce count seen per nonce in use (bounded, see
/// [`DigestConfig::max_tracked_nonces`]).
#[derive(Debug)]
pub struct DigestAuthenticator {
    config: DigestConfig,
    key: [u8; 32],
    dummy_password: [u8; 16],
    rng: SmallRng,
    epoch: Instant,
    /// (nonce timestamp, nonce random part) → highest nonce count accepted.
    counts: BTreeMap<(u64, u64), u32>,
    /// Nonces with a timestamp at or below this one and no entry in `counts` were evicted
    /// while alive: their count is unknown, so they are treated as stale.
    evicted_up_to: Option<u64>,
}

/// What a nonce is worth, decided before any user is looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NonceState {
    Fresh {
        ts: u64,
        rand: u64,
    },
    /// Expired, from another instance or forged: only a correct answer earns `stale=true`.
    Unusable,
}

impl DigestAuthenticator {
    /// An authenticator; `now` is the origin of nonce timestamps.
    pub fn new(config: DigestConfig, now: Instant) -> Result<Self, DigestConfigError> {
        if config.realm.is_empty() || config.realm.chars().any(char::is_control) {
            return Err(DigestConfigError::BadRealm);
        }
        let dup = config
            .algorithms
            .iter()
            .enumerate()
            .any(|(i, a)| config.algorithms[..i].contains(a));
        if config.algorithms.is_empty() || dup {
            return Err(DigestConfigError::BadAlgorithms);
        }
        if config.secret.len() < 16 {
            return Err(DigestConfigError::WeakSecret);
        }
        if config.nonce_lifetime.is_zero() || config.max_tracked_nonces == 0 {
            return Err(DigestConfigError::ZeroLimit);
        }
        let mut rng = SmallRng::seed_from_u64(config.seed);
        let mut salt = [0u8; 16];
        rng.fill_bytes(&mut salt);
        let mut dummy_password = [0u8; 16];
        rng.fill_bytes(&mut dummy_password);
        let key = hmac_sha256(&config.secret, &[b"tandem digest nonce key", &salt]);
        Ok(Self {
            config,
            key,
            dummy_password,
            rng,
            epoch: now,
            counts: BTreeMap::new(),
            evicted_up_to: None,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &DigestConfig {
        &self.config
    }

    /// `WWW-Authenticate` / `Proxy-Authenticate` values, one per configured algorithm in
    /// order of preference (RFC 8760 §2.4), sharing one fresh nonce:
    /// `Digest realm="…", nonce="…", algorithm=SHA-256, qop="auth"[, stale=true]`.
    pub fn challenge(&mut self, now: Instant, stale: bool) -> Vec<String> {
        let nonce = self.new_nonce(now);
        // The realm has no control characters (checked in `new`), so it always quotes.
        let realm = quote(&self.config.realm).unwrap_or_default();
        let stale = if stale { ", stale=true" } else { "" };
        self.config
            .algorithms
            .iter()
            .map(|a| {
                format!(
                    "Digest realm={realm}, nonce=\"{nonce}\", algorithm={a}, qop=\"auth\"{stale}"
                )
            })
            .collect()
    }

    /// Verifies the credentials of a `method` request (the values of its `Authorization`
    /// or `Proxy-Authorization` fields; the first `Digest` one for this realm is used,
    /// RFC 3261 §22.4).
    ///
    /// Checks, in order: realm; `username`, `nonce`, `uri` and `response` present; the
    /// algorithm is offered (absent means MD5); `qop=auth` with a `cnonce` and an 8-hex-digit
    /// `nc` (RFC 7616 §3.4; the RFC 2069 form without qop is refused); the response,
    /// `KD(HA1, nonce:nc:cnonce:qop:HA2)` with `HA2 = H(method:uri)`; then the nonce (MAC,
    /// age) and the nonce count, which must exceed the highest one seen with this nonce.
    ///
    /// `lookup(username, realm)` is called exactly once whenever the credentials are well
    /// formed; for an unknown user (`None`) a dummy HA1 is computed and compared, so the
    /// outcome and the hashing work are those of a wrong password. The `uri` is bound into
    /// HA2 but not compared with the Request-URI, which proxies may rewrite.
    ///
    /// A replayed or non-increasing nonce count with a correct response is answered with a
    /// `stale=true` challenge rather than 403: RFC 7616 §3.4 calls a repeated count a replay
    /// to be refused, and a fresh nonce lets a legitimate client whose requests were
    /// reordered continue, while the replayer, who lacks the password, cannot use it.
    pub fn verify(
        &mut self,
        now: Instant,
        method: &str,
        credentials: &[Credentials<'_>],
        lookup: impl FnOnce(&str, &str) -> Option<Secret>,
    ) -> AuthOutcome {
        self.purge(now);
        let Some(c) = credentials.iter().find(|c| {
            c.scheme.eq_ignore_ascii_case("Digest")
                && c.param("realm")
                    .is_some_and(|r| r == self.config.realm.as_str())
        }) else {
            return AuthOutcome::Challenge { stale: false };
        };
        let Some(p) = Answer::parse(c, &self.config.algorithms) else {
            return AuthOutcome::Forbidden;
        };
        let nonce = self.check_nonce(now, &p.nonce);

        // From here on, the work does not depend on whether the user exists: every path
        // computes exactly one H(username:realm:password), the unknown user's with a random
        // dummy password (which cannot match), and then the same request-digest.
        let hash = p.algorithm.hash();
        let realm = self.config.realm.as_str();
        let dummy = |user: &str| base_ha1(hash, user, realm, &self.dummy_password);
        let ha1 = match lookup(&p.username, realm) {
            Some(Secret::Password(pw)) => base_ha1(hash, &p.username, realm, pw.as_bytes()),
            Some(Secret::Ha1 {
                md5,
                sha256,
                sha512_256,
            }) => {
                let stored = match hash {
                    Hash::Md5 => md5,
                    Hash::Sha256 => sha256,
                    Hash::Sha512Trunc256 => sha512_256,
                };
                let spent = dummy(&p.username);
                match stored.filter(|h| h.len() == hash.hex_len() && from_hex(h).is_some()) {
                    Some(h) => {
                        std::hint::black_box(spent);
                        h.to_ascii_lowercase()
                    }
                    None => spent,
                }
            }
            None => dummy(&p.username),
        };
        let qop = QopAuth {
            nc: &p.nc_text,
            cnonce: &p.cnonce,
        };
        let expected = request_digest(p.algorithm, &ha1, &p.nonce, Some(qop), method, &p.uri);
        if !ct_eq(expected.as_bytes(), p.response.as_bytes()) {
            return AuthOutcome::Forbidden;
        }

        let NonceState::Fresh { ts, rand } = nonce else {
            return AuthOutcome::Challenge { stale: true };
        };
        match self.counts.get(&(ts, rand)) {
            Some(&seen) if p.nc <= seen => return AuthOutcome::Challenge { stale: true },
            Some(_) => {}
            None if self.evicted_up_to.is_some_and(|e| ts <= e) => {
                return AuthOutcome::Challenge { stale: true };
            }
            None => {
                if self.counts.len() >= self.config.max_tracked_nonces
                    && let Some(((old_ts, _), _)) = self.counts.pop_first()
                {
                    self.evicted_up_to = Some(self.evicted_up_to.map_or(old_ts, |e| e.max(old_ts)));
                }
            }
        }
        self.counts.insert((ts, rand), p.nc);
        AuthOutcome::Ok {
            username: p.username,
        }
    }

    /// [`Self::verify`] on a request's `Authorization` (`kind` = `Www`) or
    /// `Proxy-Authorization` (`Proxy`) fields; values that do not parse are ignored.
    pub fn verify_request(
        &mut self,
        now: Instant,
        request: &Message,
        kind: AuthKind,
        lookup: impl FnOnce(&str, &str) -> Option<Secret>,
    ) -> AuthOutcome {
        let Some(method) = request.request_line().map(|l| l.method) else {
            return AuthOutcome::Forbidden;
        };
        let credentials: Vec<Credentials<'_>> = match kind {
            AuthKind::Www => request
                .typed_values::<Authorization<'_>>()
                .filter_map(|v| v.ok().map(|a| a.0))
                .collect(),
            AuthKind::Proxy => request
                .typed_values::<ProxyAuthorization<'_>>()
                .filter_map(|v| v.ok().map(|a| a.0))
                .collect(),
        };
        self.verify(now, method, &credentials, lookup)
    }

    /// Forgets the nonce counts of expired nonces (also done by [`Self::verify`]).
    pub fn purge(&mut self, now: Instant) {
        let Some(expired_up_to) = self.now_ms(now).checked_sub(self.lifetime_ms()) else {
            return;
        };
        // Nonces with ts <= now - lifetime are expired (see `check_nonce`).
        self.counts = self.counts.split_off(&(expired_up_to.saturating_add(1), 0));
        if self.evicted_up_to.is_some_and(|e| e <= expired_up_to) {
            self.evicted_up_to = None;
        }
    }

    /// How many nonces currently have a remembered nonce count.
    pub fn tracked_nonces(&self) -> usize {
        self.counts.len()
    }

    fn now_ms(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX)
    }

    fn lifetime_ms(&self) -> u64 {
        u64::try_from(self.config.nonce_lifetime.as_millis()).unwrap_or(u64::MAX)
    }

    fn new_nonce(&mut self, now: Instant) -> String {
        let ts = self.now_ms(now).to_be_bytes();
        let rand = self.rng.next_u64().to_be_bytes();
        let mac = hmac_sha256(&self.key, &[&ts, &rand]);
        let mut raw = [0u8; NONCE_LEN];
        raw[..8].copy_from_slice(&ts);
        raw[8..16].copy_from_slice(&rand);
        raw[16..].copy_from_slice(&mac[..16]);
        to_hex(&raw)
    }

    fn check_nonce(&self, now: Instant, nonce: &str) -> NonceState {
        let Some(raw) = from_hex(nonce).filter(|r| r.len() == NONCE_LEN) else {
            return NonceState::Unusable;
        };
        let mut ts = [0u8; 8];
        let mut rand = [0u8; 8];
        ts.copy_from_slice(&raw[..8]);
        rand.copy_from_slice(&raw[8..16]);
        let mac = hmac_sha256(&self.key, &[&ts, &rand]);
        if !ct_eq(&mac[..16], &raw[16..]) {
            return NonceState::Unusable;
        }
        let (ts, rand) = (u64::from_be_bytes(ts), u64::from_be_bytes(rand));
        let now_ms = self.now_ms(now);
        if ts > now_ms || now_ms - ts >= self.lifetime_ms() {
            return NonceState::Unusable;
        }
        NonceState::Fresh { ts, rand }
    }
}

/// The fields of a `Digest` answer, unquoted and checked for shape (not for truth).
struct Answer {
    username: String,
    nonce: String,
    uri: String,
    response: String,
    algorithm: Algorithm,
    cnonce: String,
    nc: u32,
    nc_text: String,
}

impl Answer {
    fn parse(c: &Credentials<'_>, offered: &[Algorithm]) -> Option<Self> {
        let text = |name: &str| {
            c.param(name)
                .filter(|v| !v.is_empty())
                .map(|v| v.into_owned())
        };
        let algorithm = match c.param("algorithm") {
            None => Algorithm::Md5,
            Some(a) => Algorithm::from_token(&a)?,
        };
        if !offered.contains(&algorithm) {
            return None;
        }
        // `userhash=true` (RFC 7616 §3.4.4) and `username*` are not supported.
        if c.param("userhash")
            .is_some_and(|u| u.eq_ignore_ascii_case("true"))
        {
            return None;
        }
        if !c.param("qop")?.eq_ignore_ascii_case("auth") {
            return None;
        }
        let nc_text = text("nc")?;
        if nc_text.len() != 8 || !nc_text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let nc = u32::from_str_radix(&nc_text, 16).ok().filter(|n| *n > 0)?;
        let response = text("response")?.to_ascii_lowercase();
        if response.len() != algorithm.hash().hex_len()
            || !response.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return None;
        }
        Some(Self {
            username: text("username")?,
            nonce: text("nonce")?,
            uri: text("uri")?,
            response,
            algorithm,
            cnonce: text("cnonce")?,
            nc,
            nc_text,
        })
    }
}
