//! Digest algorithms (RFC 7616 §3.2, RFC 8760 §2), hex output, HMAC-SHA-256 (RFC 2104) and
//! a constant-time comparison.

use md5::Md5;
use sha2::digest::Digest;
use sha2::{Sha256, Sha512_256};

/// A digest `algorithm` parameter value (RFC 7616 §3.3, registry of RFC 7616 §6.1; RFC 8760
/// §2.1 brings SHA-256 and SHA-512-256 to SIP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `MD5`, the RFC 2617 default when `algorithm` is absent.
    Md5,
    /// `MD5-sess`: HA1 also covers nonce and cnonce (RFC 7616 §3.4.2).
    Md5Sess,
    /// `SHA-256`.
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
    /// `SHA-512-256` (SHA-512/256, the RFC 8760 §2.4 first choice).
    Sha512Trunc256,
    /// `SHA-512-256-sess`.
    Sha512Trunc256Sess,
}

impl Algorithm {
    /// Every algorithm, in the RFC 8760 §2.4 order of preference (strongest first).
    pub const PREFERENCE: [Self; 6] = [
        Self::Sha512Trunc256,
        Self::Sha512Trunc256Sess,
        Self::Sha256,
        Self::Sha256Sess,
        Self::Md5,
        Self::Md5Sess,
    ];

    /// The token written in `algorithm=` (RFC 7616 §6.1).
    pub fn token(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Md5Sess => "MD5-sess",
            Self::Sha256 => "SHA-256",
            Self::Sha256Sess => "SHA-256-sess",
            Self::Sha512Trunc256 => "SHA-512-256",
            Self::Sha512Trunc256Sess => "SHA-512-256-sess",
        }
    }

    /// Parses an `algorithm=` token, case-insensitively (RFC 7616 §3.3); `None` if unknown.
    pub fn from_token(token: &str) -> Option<Self> {
        Self::PREFERENCE
            .into_iter()
            .find(|a| a.token().eq_ignore_ascii_case(token))
    }

    /// True for the `-sess` variants (RFC 7616 §3.4.2).
    pub fn is_session(self) -> bool {
        matches!(
            self,
            Self::Md5Sess | Self::Sha256Sess | Self::Sha512Trunc256Sess
        )
    }

    pub(crate) fn hash(self) -> Hash {
        match self {
            Self::Md5 | Self::Md5Sess => Hash::Md5,
            Self::Sha256 | Self::Sha256Sess => Hash::Sha256,
            Self::Sha512Trunc256 | Self::Sha512Trunc256Sess => Hash::Sha512Trunc256,
        }
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.token())
    }
}

/// The hash function `H` behind an algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hash {
    Md5,
    Sha256,
    Sha512Trunc256,
}

impl Hash {
    /// `H(data)` as lower-case hex (RFC 7616 §3.4: "the output ... in lowercase hex").
    pub(crate) fn hex(self, parts: &[&[u8]]) -> String {
        match self {
            Self::Md5 => hex_digest::<Md5>(parts),
            Self::Sha256 => hex_digest::<Sha256>(parts),
            Self::Sha512Trunc256 => hex_digest::<Sha512_256>(parts),
        }
    }

    /// Length of `H(..)` in hex digits.
    pub(crate) fn hex_len(self) -> usize {
        match self {
            Self::Md5 => 32,
            Self::Sha256 | Self::Sha512Trunc256 => 64,
        }
    }
}

fn hex_digest<D: Digest>(parts: &[&[u8]]) -> String {
    let mut d = D::new();
    for p in parts {
        d.update(p);
    }
    to_hex(&d.finalize())
}

/// Lower-case hex of `bytes`.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// Decodes hex (either case); `None` on odd length or a non-hex digit.
pub(crate) fn from_hex(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    b.chunks_exact(2)
        .map(|p| Some((nibble(p[0])? << 4) | nibble(p[1])?))
        .collect()
}

/// HMAC-SHA-256 (RFC 2104, block size 64).
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    for p in parts {
        inner.update(p);
    }
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// Equality whose time depends only on the lengths, not on where the inputs differ.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_rfc4231_case_2() {
        // RFC 4231 §4.3, test case 2.
        let mac = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            to_hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block size.
        let mac = hmac_sha256(
            &[0xaa; 131],
            &[b"Test Using Larger Than Block-Size Key - Hash Key First"],
        );
        assert_eq!(
            to_hex(&mac),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn hashes_and_hex() {
        assert_eq!(Hash::Md5.hex(&[b""]), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(
            Hash::Sha256.hex(&[b"a", b"bc"]),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // FIPS 180-4 SHA-512/256 of "abc".
        assert_eq!(
            Hash::Sha512Trunc256.hex(&[b"abc"]),
            "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23"
        );
        assert_eq!(from_hex("00fFa1"), Some(vec![0, 0xff, 0xa1]));
        assert_eq!(from_hex("0"), None);
        assert_eq!(from_hex("zz"), None);
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
        for a in Algorithm::PREFERENCE {
            assert_eq!(Algorithm::from_token(&a.token().to_lowercase()), Some(a));
        }
        assert_eq!(Algorithm::from_token("SHA-1"), None);
    }
}
