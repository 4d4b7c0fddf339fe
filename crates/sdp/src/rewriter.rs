//! [`OriginRewriter`]: Tandem's own `o=` line on one leg of a back-to-back call.

use std::hash::{DefaultHasher, Hasher};

use crate::description::SessionDescription;
use crate::error::EditError;
use crate::line::{Origin, is_field};

/// Per-leg state for relaying SDP from one leg to the other with Tandem as its author.
///
/// Why: toward the peer of a leg, Tandem *is* the SDP's sender, so the peer must see one
/// stable origin for the whole dialog, whatever the other leg does (the other leg may even be
/// replaced, as in a transfer). RFC 3264 §8 then uses `<sess-version>` to tell the peer
/// whether the description changed: a new offer with different content carries version+1,
/// while a resend of the same description (a retransmitted or repeated offer, or an answer
/// unchanged by a re-INVITE) keeps the version, so the peer does not renegotiate media.
///
/// So the rewriter replaces only the `o=` line: same username and `<sess-id>` on every SDP
/// of the leg, and a version incremented only when the rest of the body differs from the
/// last body sent on this leg. Everything else stays byte-exact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginRewriter {
    /// `<username> <sess-id> <nettype> <addrtype> <unicast-address>`: the `o=` fields but
    /// the version, in one allocation (none contains a space).
    fields: Box<str>,
    version: u64,
    /// The body last sent on this leg, without its `o=` line and line endings, as its length
    /// and a 64-bit hash: a held call keeps two rewriters, and a copy of each body would
    /// cost more than the rest of the rewriter.
    last_sent: Option<(usize, u64)>,
}

impl OriginRewriter {
    /// Tandem's origin for one leg; `origin.session_version` is the version of the first SDP
    /// sent. The `<sess-id>` should be unique per leg (RFC 8866 §5.2 suggests an NTP
    /// timestamp; use the leg's seeded RNG or clock reading taken outside the core).
    pub fn new(origin: &Origin<'_>) -> Result<Self, EditError> {
        for f in [
            origin.username,
            origin.session_id,
            origin.net_type,
            origin.addr_type,
            origin.address,
        ] {
            if !is_field(f) {
                return Err(EditError::InvalidField(f.to_owned()));
            }
        }
        let fields = [
            origin.username,
            origin.session_id,
            origin.net_type,
            origin.addr_type,
            origin.address,
        ]
        .join(" ");
        Ok(Self {
            fields: fields.into(),
            version: origin.session_version,
            last_sent: None,
        })
    }

    /// The `o=` fields the next unchanged resend would carry.
    pub fn origin(&self) -> Origin<'_> {
        let mut f = self.fields.split(' ');
        let mut next = || f.next().unwrap_or_default();
        Origin {
            username: next(),
            session_id: next(),
            session_version: self.version,
            net_type: next(),
            addr_type: next(),
            address: next(),
        }
    }

    /// The description to send on this leg: `sdp` with Tandem's `o=` line. The version is
    /// incremented when the body (all but `o=` and line endings) differs from the last one
    /// sent, and kept for a resend.
    pub fn rewrite(&mut self, sdp: &SessionDescription) -> SessionDescription {
        let content = content_without_origin(sdp);
        match self.last_sent {
            Some(last) if last != content => self.version = self.version.wrapping_add(1),
            _ => {}
        }
        self.last_sent = Some(content);
        let mut out = sdp.clone();
        out.replace_origin_unchecked(&self.origin());
        out
    }
}

/// The length and hash of the body without its first `o=` line, each line as
/// `<kind>=<value>\n` (so line endings do not count).
fn content_without_origin(sdp: &SessionDescription) -> (usize, u64) {
    let mut seen_origin = false;
    // SipHash with fixed keys: the same content always hashes the same.
    let mut hash = DefaultHasher::new();
    let mut len = 0;
    for l in sdp.lines() {
        if l.kind == Some(b'o') && !seen_origin {
            seen_origin = true;
            continue;
        }
        if let Some(k) = l.kind {
            hash.write_u8(k);
            len += 1;
        }
        hash.write_u8(b'=');
        hash.write(l.value);
        hash.write_u8(b'\n');
        len += l.value.len() + 2;
    }
    (len, hash.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(version: u32, port: u16) -> SessionDescription {
        format!(
            "v=0\r\no=bob 555 {version} IN IP4 198.51.100.1\r\ns=-\r\nc=IN IP4 198.51.100.1\r\n\
             t=0 0\r\nm=audio {port} RTP/AVP 0\r\n"
        )
        .parse()
        .unwrap()
    }

    fn tandem() -> OriginRewriter {
        OriginRewriter::new(&Origin {
            username: "tandem",
            session_id: "1001",
            session_version: 1,
            net_type: "IN",
            addr_type: "IP4",
            address: "203.0.113.1",
        })
        .unwrap()
    }

    #[test]
    fn versions_follow_content() {
        let mut rw = tandem();
        let first = rw.rewrite(&body(7, 4000));
        assert_eq!(first.origin().session_version, 1);
        assert_eq!(first.origin().username, "tandem");
        let original = body(7, 4000);
        let differing: Vec<_> = original
            .lines()
            .zip(first.lines())
            .filter(|(a, b)| a != b)
            .map(|(a, _)| a.kind)
            .collect();
        assert_eq!(differing, [Some(b'o')]);
        // The other leg's peer bumped its version without changing anything: a resend.
        assert_eq!(rw.rewrite(&body(8, 4000)).origin().session_version, 1);
        // Content changed: version+1 (RFC 3264 §8).
        let changed = rw.rewrite(&body(9, 5000));
        assert_eq!(changed.origin().session_version, 2);
        assert_eq!(changed.origin().session_id, "1001");
        assert_eq!(rw.rewrite(&body(9, 5000)).origin().session_version, 2);
        assert_eq!(rw.origin().session_version, 2);
    }

    #[test]
    fn rejects_invalid_origin() {
        let o = tandem();
        let bad = Origin {
            username: "",
            ..o.origin()
        };
        assert_eq!(
            OriginRewriter::new(&bad),
            Err(EditError::InvalidField(String::new()))
        );
    }
}
