//! HTTP Digest authentication as SIP uses it (RFC 3261 §22, RFC 7616, RFC 8760), sans-IO.
//!
//! - [`DigestAuthenticator`] is the server side (registrar, UAS or proxy): it issues
//!   challenges whose nonces are verified without storage (an HMAC over a timestamp and a
//!   random value) and checks credentials, with nonce-count replay protection. An unknown
//!   user and a wrong password get the same [`AuthOutcome`] after the same work, so account
//!   enumeration (sipvicious `svwar`) learns nothing.
//! - [`DigestClient`] is the UAC side: it answers a `WWW-Authenticate` or
//!   `Proxy-Authenticate` value with an `Authorization` or `Proxy-Authorization` value.
//!
//! Neither reads a clock (time is an argument) nor draws randomness except from an RNG
//! seeded by the caller.
//!
//! ```
//! use std::time::Instant;
//! use tandem_sip_core::auth::{
//!     AuthOutcome, DigestAuthenticator, DigestClient, DigestConfig, Secret,
//! };
//! use tandem_sip_msg::headers::Credentials;
//!
//! let now = Instant::now();
//! let mut server = DigestAuthenticator::new(DigestConfig::new("example.com", *b"0123456789abcdef"), now)?;
//! let challenges = server.challenge(now, false); // SHA-256 first, then MD5
//! let mut client = DigestClient::new(7);
//! let chosen = DigestClient::select(&challenges).expect("a Digest challenge");
//! let value = client.authorize(chosen, "REGISTER", "sip:example.com", "alice", "secret")?;
//! let creds = Credentials::parse(&value).expect("valid credentials");
//! let outcome = server.verify(now, "REGISTER", &[creds], |user, _realm| {
//!     (user == "alice").then(|| Secret::Password("secret".into()))
//! });
//! assert_eq!(outcome, AuthOutcome::Ok { username: "alice".into() });
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod client;
mod hash;
mod server;

pub use client::{DigestClient, DigestRequest};
pub use hash::Algorithm;
pub use server::{
    AuthKind, AuthOutcome, DigestAuthenticator, DigestConfig, DigestConfigError, Secret,
};

use hash::Hash;

/// Why [`DigestClient`] could not answer a challenge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The challenge value does not parse as `scheme auth-params` (RFC 7235 §2.1).
    #[error("malformed challenge: {0}")]
    Malformed(&'static str),
    /// The challenge is not `Digest` (e.g. `Basic`, which SIP forbids, RFC 3261 §22.1).
    #[error("not a Digest challenge")]
    NotDigest,
    /// A parameter the challenge must carry is absent (RFC 7616 §3.3: realm, nonce).
    #[error("challenge lacks {0}")]
    MissingParam(&'static str),
    /// The `algorithm` is not one this module implements.
    #[error("unsupported algorithm {0}")]
    UnsupportedAlgorithm(String),
    /// The `qop` options do not include `auth` (`auth-int` is not implemented).
    #[error("unsupported qop {0}")]
    UnsupportedQop(String),
    /// A value cannot be written into a header (control characters such as CR or LF).
    #[error("{0} contains a character that cannot be sent")]
    InvalidValue(&'static str),
    /// The nonce count starts at 1 (RFC 7616 §3.4).
    #[error("nonce count 0")]
    ZeroNonceCount,
}

/// `qop=auth` fields of a response computation (RFC 7616 §3.4.1).
#[derive(Debug, Clone, Copy)]
struct QopAuth<'a> {
    nc: &'a str,
    cnonce: &'a str,
}

/// `HA1 = H(username:realm:password)` (RFC 7616 §3.4.2, non-session form).
fn base_ha1(hash: Hash, username: &str, realm: &str, password: &[u8]) -> String {
    hash.hex(&[username.as_bytes(), b":", realm.as_bytes(), b":", password])
}

/// The request-digest (RFC 7616 §3.4.1; RFC 2069 form when `qop` is absent):
/// `KD(HA1, nonce:nc:cnonce:qop:HA2)` with `HA2 = H(method:uri)`, where for `-sess`
/// algorithms `HA1 = H(H(username:realm:password):nonce:cnonce)`.
fn request_digest(
    algorithm: Algorithm,
    base_ha1: &str,
    nonce: &str,
    qop: Option<QopAuth<'_>>,
    method: &str,
    uri: &str,
) -> String {
    let hash = algorithm.hash();
    let cnonce = qop.map_or("", |q| q.cnonce);
    let ha1 = if algorithm.is_session() {
        hash.hex(&[
            base_ha1.as_bytes(),
            b":",
            nonce.as_bytes(),
            b":",
            cnonce.as_bytes(),
        ])
    } else {
        base_ha1.to_owned()
    };
    let ha2 = hash.hex(&[method.as_bytes(), b":", uri.as_bytes()]);
    match qop {
        Some(q) => hash.hex(&[
            ha1.as_bytes(),
            b":",
            nonce.as_bytes(),
            b":",
            q.nc.as_bytes(),
            b":",
            q.cnonce.as_bytes(),
            b":auth:",
            ha2.as_bytes(),
        ]),
        None => hash.hex(&[ha1.as_bytes(), b":", nonce.as_bytes(), b":", ha2.as_bytes()]),
    }
}

/// A quoted-string (RFC 3261 §25.1) holding `s`; `None` if `s` has a character a
/// quoted-string cannot carry (CR, LF, other controls).
fn quote(s: &str) -> Option<String> {
    if s.chars().any(|c| c.is_control() && c != '\t') {
        return None;
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Some(out)
}

#[cfg(test)]
mod tests;
