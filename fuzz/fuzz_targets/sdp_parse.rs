//! `SessionDescription::parse` on arbitrary bodies, then edits.
//!
//! The crate's contract (`description.rs`): every line and every line ending (CRLF, LF, or
//! none on the last line) is kept as received, so `to_bytes()` of an unedited description is
//! byte-identical to the input, with nothing trimmed at either end. Invariants:
//! - parse(input) = d  ⇒  d.to_bytes() == input, and parse(d.to_bytes()) == d;
//! - every read accessor runs without panicking;
//! - each edit (bump_origin_version, set_media_port(0, 1234), set_media_direction,
//!   retain_formats, set_all_connection_addresses) on a clone either fails and leaves the
//!   description unchanged ("each edit either succeeds or leaves the description
//!   unchanged"), or succeeds with a body that re-parses, re-prints byte-identically and
//!   shows the edit (version, port, direction, formats), with the other media sections'
//!   m= lines untouched.
#![no_main]

use std::hint::black_box;

use libfuzzer_sys::fuzz_target;
use tandem_sdp::{Direction, SessionDescription};

/// TANDEM_FUZZ_STRICT: also assert the invariants that known, reported bugs break: `1` or
/// `all` for every one, or a comma-separated list of the bug names used below.
#[allow(dead_code)] // kept for the next reported bug
fn strict(bug: &str) -> bool {
    static STRICT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    STRICT
        .get_or_init(|| std::env::var("TANDEM_FUZZ_STRICT").ok())
        .as_deref()
        .is_some_and(|v| v == "1" || v == "all" || v.split(',').any(|b| b.trim() == bug))
}

/// Re-parses an edited description; it must print identically.
fn reparse(d: &SessionDescription, what: &str) -> SessionDescription {
    let bytes = d.to_bytes();
    let d2 = SessionDescription::parse(&bytes)
        .unwrap_or_else(|e| panic!("after {what}: {e}\n{:?}", String::from_utf8_lossy(&bytes)));
    assert_eq!(d2.to_bytes(), bytes, "after {what}: re-print differs");
    d2
}

fn m_lines(d: &SessionDescription) -> Vec<(u16, Vec<String>, String)> {
    d.media_sections()
        .map(|m| {
            (
                m.port(),
                m.formats().into_iter().map(str::to_owned).collect(),
                m.proto().to_owned(),
            )
        })
        .collect()
}

fn read_all(d: &SessionDescription) {
    black_box((
        d.origin(),
        d.session_name(),
        d.connection(),
        d.bandwidths(),
        d.attributes(),
        d.session_direction(),
        d.is_hold(),
        d.line_ending(),
        d.lines().count(),
    ));
    for m in d.media_sections() {
        black_box((
            m.index(),
            m.kind(),
            m.media_type(),
            m.port_count(),
            m.is_rejected(),
            m.connection(),
            m.own_connection(),
            m.bandwidths(),
            m.attributes(),
            m.rtpmaps(),
            m.fmtps(),
            m.codecs(),
            m.telephone_events(),
            m.ptime(),
            m.rtcp_mux(),
            m.direction(),
            m.is_held(),
        ));
        for f in m.formats() {
            black_box(m.fmtp(f));
            if let Ok(pt) = f.parse::<u8>() {
                black_box(m.rtpmap(pt));
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(d) = SessionDescription::parse(data) else {
        return;
    };
    assert_eq!(d.to_bytes(), data, "unedited description is not byte-exact");
    let again = SessionDescription::parse(&d.to_bytes()).expect("printed description re-parses");
    assert_eq!(again, d, "re-parsed description differs");
    read_all(&d);

    // Edit choices derived from the input, so the corpus entry alone reproduces a failure.
    let sel = data
        .iter()
        .fold(0u32, |a, &b| a.wrapping_mul(31).wrapping_add(u32::from(b)));
    let before = m_lines(&d);

    // o= version.
    let mut e = d.clone();
    let old = d.origin().session_version;
    let v = e.bump_origin_version();
    assert_eq!(v, old.wrapping_add(1));
    let r = reparse(&e, "bump_origin_version");
    assert_eq!(r.origin().session_version, v, "bumped version not visible");
    assert_eq!(m_lines(&r), before, "bump touched m= lines");

    // m= port of the first section.
    let mut e = d.clone();
    match e.set_media_port(0, 1234) {
        Ok(()) => {
            let r = reparse(&e, "set_media_port");
            assert_eq!(r.media(0).map(|m| m.port()), Some(1234));
            assert_eq!(r.media_count(), d.media_count());
            let after = m_lines(&r);
            assert_eq!(after[0].1, before[0].1, "set_media_port changed formats");
            assert_eq!(
                after[1..],
                before[1..],
                "set_media_port touched another section"
            );
        }
        Err(_) => {
            assert_eq!(e, d, "failed set_media_port changed the description");
            assert_eq!(
                d.media_count(),
                0,
                "set_media_port(0) failed with a media section"
            );
        }
    }

    // Direction of the first section.
    let dir = [
        Direction::SendRecv,
        Direction::SendOnly,
        Direction::RecvOnly,
        Direction::Inactive,
    ][(sel % 4) as usize];
    let mut e = d.clone();
    match e.set_media_direction(0, dir) {
        Ok(()) => {
            let r = reparse(&e, "set_media_direction");
            let m = r.media(0).expect("media 0");
            assert_eq!(m.own_direction(), Some(dir), "direction not set");
            assert_eq!(m.direction(), dir);
            assert_eq!(m_lines(&r), before, "set_media_direction touched m= lines");
        }
        Err(_) => assert_eq!(e, d, "failed set_media_direction changed the description"),
    }

    // Keep a subset of the first section's formats.
    let mut e = d.clone();
    let mut i = 0u32;
    let mut kept = Vec::new();
    let res = e.retain_formats(0, |f| {
        let keep = (sel.rotate_right(i % 32)) & 1 == 1;
        i += 1;
        if keep {
            kept.push(f.to_owned());
        }
        keep
    });
    match res {
        Ok(()) => {
            let r = reparse(&e, "retain_formats");
            let formats: Vec<String> = r
                .media(0)
                .map(|m| m.formats().into_iter().map(str::to_owned).collect())
                .unwrap_or_default();
            // An m= line the typed view cannot read is left alone by the edit.
            //
            // KNOWN BUG `sdp-cr-format` (reported, regressions/sdp_parse-format-with-bare-cr*.sdp): the m=
            // line parser accepts a bare CR inside a <fmt> token (`0 8\r 18`); when such a
            // format ends up last after retain_formats, its CR merges with the LF into a CRLF
            // ending and the format reads back as `8`. Skipped unless TANDEM_FUZZ_STRICT names it.
            let cr_format = kept.iter().any(|f| f.contains('\r'));
            if !before.is_empty()
                && !before[0].1.is_empty()
                && (!cr_format || fixed("sdp-cr-format"))
            {
                assert_eq!(formats, kept, "retain_formats kept other formats");
            }
            assert_eq!(
                m_lines(&r)[1..],
                before[1..],
                "retain_formats touched another section"
            );
            // a=rtpmap / a=fmtp / a=rtcp-fb lines of removed formats are gone.
            let removed: Vec<&String> = before
                .first()
                .map(|b| b.1.iter().filter(|f| !kept.contains(f)).collect())
                .unwrap_or_default();
            if let Some(m) = r.media(0) {
                for l in m.lines() {
                    let Some(v) = (l.kind == Some(b'a'))
                        .then(|| std::str::from_utf8(l.value).ok())
                        .flatten()
                    else {
                        continue;
                    };
                    let Some((name, rest)) = v.split_once(':') else {
                        continue;
                    };
                    if !matches!(name, "rtpmap" | "fmtp" | "rtcp-fb") {
                        continue;
                    }
                    let fmt = rest.split([' ', '\t']).next().unwrap_or("");
                    assert!(
                        !removed.iter().any(|f| *f == fmt) || kept.iter().any(|k| k == fmt),
                        "a={name} line of removed format {fmt} kept"
                    );
                }
            }
        }
        Err(_) => assert_eq!(e, d, "failed retain_formats changed the description"),
    }

    // A media relay rewrites every c= line.
    let mut e = d.clone();
    match e.set_all_connection_addresses("203.0.113.7") {
        Ok(n) => {
            let r = reparse(&e, "set_all_connection_addresses");
            if n > 0 {
                if let Some(c) = r.connection() {
                    assert_eq!(c.address, "203.0.113.7");
                }
            }
            assert_eq!(m_lines(&r), before);
        }
        Err(_) => assert_eq!(
            e, d,
            "failed set_all_connection_addresses changed the description"
        ),
    }
});

/// A reported bug that has since been fixed: its invariant is asserted always.
fn fixed(_bug: &str) -> bool {
    true
}
