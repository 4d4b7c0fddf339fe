//! UAC side of Digest: answering a challenge (RFC 3261 §22.2, §22.3; RFC 7616 §3.4).

use std::collections::HashMap;

use rand::rngs::SmallRng;
use rand::{RngCore, SeedableRng};
use tandem_sip_msg::headers::Challenge;

use super::hash::to_hex;
use super::{Algorithm, AuthError, QopAuth, base_ha1, quote, request_digest};

/// What one answer to a challenge covers, with the cnonce and nonce count chosen by the
/// caller (deterministic; [`DigestClient::authorize`] draws and counts them itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigestRequest<'a> {
    /// The request method (`REGISTER`, `INVITE`, ...): HA2 = H(method:uri).
    pub method: &'a str,
    /// The `digest-uri`: the Request-URI as sent (RFC 3261 §22.4).
    pub uri: &'a str,
    /// The user name for the challenge's realm.
    pub username: &'a str,
    /// The password.
    pub password: &'a str,
    /// The client nonce (used when the challenge offers `qop`).
    pub cnonce: &'a str,
    /// The nonce count, from 1, incremented for every request under the same nonce
    /// (RFC 7616 §3.4).
    pub nc: u32,
}

/// Answers Digest challenges. Keeps a seeded RNG for cnonces and the nonce count of each
/// nonce it has answered (at most [`DigestClient::MAX_NONCES`] nonces, then it forgets them
/// all, which only makes the next request start over at `nc=00000001`).
#[derive(Debug)]
pub struct DigestClient {
    rng: SmallRng,
    counts: HashMap<String, u32>,
}

impl DigestClient {
    /// How many nonces the client counts for at once.
    pub const MAX_NONCES: usize = 64;

    /// A client drawing cnonces from an RNG seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: SmallRng::seed_from_u64(seed),
            counts: HashMap::new(),
        }
    }

    /// The challenge to answer among several (one response may carry one per algorithm):
    /// the topmost `Digest` challenge whose algorithm this client implements (RFC 8760 §2.4,
    /// RFC 7616 §3.7: the server lists them in its order of preference).
    pub fn select<S: AsRef<str>>(challenges: &[S]) -> Option<&str> {
        challenges
            .iter()
            .map(AsRef::as_ref)
            .find(|c| parse_challenge(c).is_ok())
    }

    /// An `Authorization` / `Proxy-Authorization` value answering `challenge` for a
    /// `method` request to `uri`, with a fresh cnonce and this nonce's next count.
    pub fn authorize(
        &mut self,
        challenge: &str,
        method: &str,
        uri: &str,
        username: &str,
        password: &str,
    ) -> Result<String, AuthError> {
        let parsed = parse_challenge(challenge)?;
        let mut raw = [0u8; 16];
        self.rng.fill_bytes(&mut raw);
        let cnonce = to_hex(&raw);
        if !self.counts.contains_key(&parsed.nonce) && self.counts.len() >= Self::MAX_NONCES {
            self.counts.clear();
        }
        let count = self.counts.entry(parsed.nonce.clone()).or_insert(0);
        *count = count.saturating_add(1);
        let nc = *count;
        answer(
            &parsed,
            &DigestRequest {
                method,
                uri,
                username,
                password,
                cnonce: &cnonce,
                nc,
            },
        )
    }

    /// An `Authorization` / `Proxy-Authorization` value answering `challenge`, with the
    /// cnonce and nonce count given in `request`. With `qop` in the challenge the answer is
    /// `qop=auth`; without, the RFC 2069 form (no cnonce, no nc). `opaque` is echoed
    /// (RFC 7616 §3.4).
    pub fn authorize_with(
        challenge: &str,
        request: &DigestRequest<'_>,
    ) -> Result<String, AuthError> {
        answer(&parse_challenge(challenge)?, request)
    }
}

/// The parts of a challenge an answer needs, unquoted.
struct Parsed {
    realm: String,
    nonce: String,
    opaque: Option<String>,
    algorithm: Algorithm,
    qop: QopChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QopChoice {
    /// The challenge offered `auth`.
    Auth,
    /// No `qop`: RFC 2069 compatibility (RFC 7616 §3.4.1 keeps it for old servers).
    Legacy,
}

fn parse_challenge(value: &str) -> Result<Parsed, AuthError> {
    let c = Challenge::parse(value).map_err(AuthError::Malformed)?;
    if !c.scheme.eq_ignore_ascii_case("Digest") {
        return Err(AuthError::NotDigest);
    }
    let realm = c.param("realm").ok_or(AuthError::MissingParam("realm"))?;
    let nonce = c.param("nonce").ok_or(AuthError::MissingParam("nonce"))?;
    let algorithm = match c.param("algorithm") {
        None => Algorithm::Md5,
        Some(a) => Algorithm::from_token(&a)
            .ok_or_else(|| AuthError::UnsupportedAlgorithm(a.into_owned()))?,
    };
    let qop = match c.param("qop") {
        None if algorithm.is_session() => return Err(AuthError::UnsupportedQop(String::new())),
        None => QopChoice::Legacy,
        Some(q) if q.split(',').any(|o| o.trim().eq_ignore_ascii_case("auth")) => QopChoice::Auth,
        Some(q) => return Err(AuthError::UnsupportedQop(q.into_owned())),
    };
    Ok(Parsed {
        realm: realm.into_owned(),
        nonce: nonce.into_owned(),
        opaque: c.param("opaque").map(std::borrow::Cow::into_owned),
        algorithm,
        qop,
    })
}

fn answer(c: &Parsed, r: &DigestRequest<'_>) -> Result<String, AuthError> {
    let q = |s: &str, what| quote(s).ok_or(AuthError::InvalidValue(what));
    let username = q(r.username, "username")?;
    let realm = q(&c.realm, "realm")?;
    let nonce = q(&c.nonce, "nonce")?;
    let uri = q(r.uri, "uri")?;
    if r.method.is_empty() || !r.method.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AuthError::InvalidValue("method"));
    }
    let ha1 = base_ha1(
        c.algorithm.hash(),
        r.username,
        &c.realm,
        r.password.as_bytes(),
    );
    let nc = format!("{:08x}", r.nc);
    let qop = match c.qop {
        QopChoice::Auth if r.nc == 0 => return Err(AuthError::ZeroNonceCount),
        QopChoice::Auth if r.cnonce.is_empty() => return Err(AuthError::InvalidValue("cnonce")),
        QopChoice::Auth => Some(QopAuth {
            nc: &nc,
            cnonce: r.cnonce,
        }),
        QopChoice::Legacy => None,
    };
    let response = request_digest(c.algorithm, &ha1, &c.nonce, qop, r.method, r.uri);
    let mut out = format!(
        "Digest username={username}, realm={realm}, nonce={nonce}, uri={uri}, \
         response=\"{response}\", algorithm={}",
        c.algorithm
    );
    if let Some(qa) = qop {
        out.push_str(", cnonce=");
        out.push_str(&q(qa.cnonce, "cnonce")?);
    }
    if let Some(o) = &c.opaque {
        out.push_str(", opaque=");
        out.push_str(&q(o, "opaque")?);
    }
    if qop.is_some() {
        out.push_str(", qop=auth, nc=");
        out.push_str(&nc);
    }
    Ok(out)
}
