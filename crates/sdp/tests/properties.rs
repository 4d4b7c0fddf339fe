//! Property tests: lossless round trip, local edits, and no panic on any input.

// Test helpers outside #[test] fns may unwrap too (clippy.toml only covers #[test] fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use tandem_sdp::{Direction, Line, SessionDescription};

/// Printable text with random spaces and tabs, as found in values.
fn text() -> impl Strategy<Value = String> {
    "[ -~\t]{0,24}"
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9.:_-]{1,12}"
}

fn attribute() -> impl Strategy<Value = String> {
    ("x-[a-z0-9-]{1,10}", prop::option::of(text())).prop_map(|(name, value)| match value {
        Some(v) => format!("a={name}:{v}"),
        None => format!("a={name}"),
    })
}

fn direction() -> impl Strategy<Value = Direction> {
    prop_oneof![
        Just(Direction::SendRecv),
        Just(Direction::SendOnly),
        Just(Direction::RecvOnly),
        Just(Direction::Inactive)
    ]
}

fn connection() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u8..=255, 0u8..=255).prop_map(|(a, b)| format!("c=IN IP4 10.0.{a}.{b}")),
        (0u16..=0xffff).prop_map(|a| format!("c=IN IP6 2001:db8::{a:x}")),
        (0u8..=255).prop_map(|ttl| format!("c=IN IP4 233.252.0.1/{ttl}")),
        Just("c=IN IP4 0.0.0.0".to_owned()),
    ]
}

fn media() -> impl Strategy<Value = Vec<String>> {
    (
        prop_oneof![
            Just("audio"),
            Just("video"),
            Just("image"),
            Just("application")
        ],
        any::<u16>(),
        prop_oneof![Just("RTP/AVP"), Just("RTP/SAVP"), Just("UDP/TLS/RTP/SAVPF")],
        prop::collection::btree_set(0u8..=127, 1..6),
        prop::option::of(connection()),
        prop::collection::vec(attribute(), 0..4),
        prop::option::of(direction()),
        " {1,2}",
    )
        .prop_map(|(kind, port, proto, pts, c, attrs, dir, sep)| {
            let fmts: Vec<String> = pts.iter().map(u8::to_string).collect();
            let mut lines = vec![format!("m={kind} {port} {proto} {}", fmts.join(&sep))];
            lines.extend(c);
            for pt in &pts {
                lines.push(format!("a=rtpmap:{pt} X{pt}/8000"));
                if pt % 2 == 0 {
                    lines.push(format!("a=fmtp:{pt} p={pt}; q"));
                }
                if pt % 3 == 0 {
                    lines.push(format!("a=rtcp-fb:{pt} nack"));
                }
            }
            lines.extend(attrs);
            lines.extend(dir.map(|d| format!("a={}", d.as_str())));
            lines
        })
}

/// A random, structurally valid SDP body and the number of its media sections.
fn body() -> impl Strategy<Value = (Vec<u8>, usize)> {
    body_with(0..4)
}

/// Like [`body`], with a chosen range of media section counts.
fn body_with(media_count: std::ops::Range<usize>) -> impl Strategy<Value = (Vec<u8>, usize)> {
    (
        (token(), any::<u64>(), any::<u64>()),
        text(),
        prop::option::of(connection()),
        prop::collection::vec(attribute(), 0..4),
        prop::collection::vec(
            prop_oneof![
                "b=(AS|TIAS|CT):[0-9]{1,6}",
                "r=[0-9dh ]{1,16}",
                "z=[0-9h -]{1,16}",
                "k=prompt",
                "i=[ -~]{0,10}"
            ],
            0..3,
        ),
        prop::collection::vec(media(), media_count),
        prop::collection::vec(any::<bool>(), 64),
        any::<bool>(),
    )
        .prop_map(
            |((user, id, ver), name, c, attrs, extra, media, crlf, final_nl)| {
                let mut lines = vec![
                    "v=0".to_owned(),
                    format!("o={user} {id} {ver} IN IP4 192.0.2.1"),
                    format!("s={name}"),
                ];
                lines.extend(c);
                lines.extend(extra);
                lines.push("t=0 0".to_owned());
                lines.extend(attrs);
                let count = media.len();
                lines.extend(media.into_iter().flatten());
                let mut out = Vec::new();
                let n = lines.len();
                for (i, l) in lines.into_iter().enumerate() {
                    out.extend_from_slice(l.as_bytes());
                    if i + 1 < n || final_nl {
                        out.extend_from_slice(if crlf[i % 64] { b"\r\n" } else { b"\n" });
                    }
                }
                (out, count)
            },
        )
}

fn parse(b: &[u8]) -> SessionDescription {
    SessionDescription::parse(b).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn round_trip_is_byte_exact((bytes, count) in body()) {
        let sdp = parse(&bytes);
        prop_assert_eq!(sdp.to_bytes(), bytes.clone());
        prop_assert_eq!(parse(&sdp.to_bytes()), sdp.clone());
        prop_assert_eq!(sdp.media_count(), count);
    }

    #[test]
    fn version_bump_touches_only_origin((bytes, _) in body()) {
        let sdp = parse(&bytes);
        let mut e = sdp.clone();
        let v = e.bump_origin_version();
        prop_assert_eq!(v, sdp.origin().session_version.wrapping_add(1));
        let re = parse(&e.to_bytes());
        prop_assert_eq!(&re, &e);
        prop_assert_eq!(re.origin().session_version, v);
        for (a, b) in sdp.lines().zip(e.lines()) {
            if a.kind != Some(b'o') {
                prop_assert_eq!(a, b);
            }
        }
    }

    #[test]
    fn port_change_touches_only_m_line((bytes, count) in body_with(1..4), sel: usize, port: u16) {
        let idx = sel % count;
        let sdp = parse(&bytes);
        let mut e = sdp.clone();
        e.set_media_port(idx, port).unwrap();
        let re = parse(&e.to_bytes());
        prop_assert_eq!(&re, &e);
        prop_assert_eq!(re.media(idx).unwrap().port(), port);
        let changed: Vec<_> = sdp.lines().zip(e.lines()).filter(|(a, b)| a != b).collect();
        prop_assert!(changed.len() <= 1);
        prop_assert!(changed.iter().all(|(a, _)| a.kind == Some(b'm')));
        prop_assert_eq!(re.media(idx).unwrap().formats(), sdp.media(idx).unwrap().formats());
    }

    #[test]
    fn direction_set_keeps_other_lines((bytes, count) in body_with(1..4), sel: usize, d in direction()) {
        let idx = sel % count;
        let sdp = parse(&bytes);
        let mut e = sdp.clone();
        e.set_media_direction(idx, d).unwrap();
        let re = parse(&e.to_bytes());
        prop_assert_eq!(&re, &e);
        prop_assert_eq!(re.media(idx).unwrap().direction(), d);
        let is_dir = |l: &Line<'_>| {
            l.kind == Some(b'a') && std::str::from_utf8(l.value).is_ok_and(|v| Direction::from_name(v).is_some())
        };
        let strip = |s: &SessionDescription| -> Vec<(Option<u8>, Vec<u8>)> {
            s.lines().filter(|l| !is_dir(l)).map(|l| (l.kind, l.value.to_vec())).collect()
        };
        prop_assert_eq!(strip(&sdp), strip(&e));
        for other in (0..count).filter(|&i| i != idx) {
            prop_assert_eq!(re.media(other).unwrap().direction(), sdp.media(other).unwrap().direction());
        }
    }

    #[test]
    fn codec_filter_removes_only_dropped_payload_types(
        (bytes, count) in body_with(1..4), sel: usize, mask in prop::collection::vec(any::<bool>(), 6),
    ) {
        let idx = sel % count;
        let sdp = parse(&bytes);
        let formats: Vec<String> =
            sdp.media(idx).unwrap().formats().into_iter().map(str::to_owned).collect();
        let mut keep: Vec<&str> =
            formats.iter().zip(&mask).filter(|(_, k)| **k).map(|(f, _)| f.as_str()).collect();
        keep.reverse();
        if keep.is_empty() {
            keep.push(formats[0].as_str());
        }
        let mut e = sdp.clone();
        e.set_formats(idx, &keep).unwrap();
        let re = parse(&e.to_bytes());
        prop_assert_eq!(&re, &e);
        prop_assert_eq!(re.media(idx).unwrap().formats(), keep.clone());
        let rtpmaps: Vec<String> =
            re.media(idx).unwrap().rtpmaps().iter().map(|r| r.payload_type.to_string()).collect();
        let mut sorted_keep: Vec<String> = keep.iter().map(|s| (*s).to_owned()).collect();
        sorted_keep.sort_by_key(|s| s.parse::<u8>().unwrap());
        prop_assert_eq!(rtpmaps, sorted_keep);
        // Every other media section and the session section are untouched.
        for other in (0..count).filter(|&i| i != idx) {
            let a: Vec<_> = sdp.media(other).unwrap().lines().collect();
            let b: Vec<_> = re.media(other).unwrap().lines().map(|l| (l.kind, l.value.to_vec())).collect();
            let a: Vec<_> = a.into_iter().map(|l| (l.kind, l.value.to_vec())).collect();
            prop_assert_eq!(a, b);
        }
    }

    #[test]
    fn never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        exercise(&bytes);
    }

    #[test]
    fn never_panics_on_mutated_sdp((bytes, _) in body(), pos: usize, byte: u8, cut: usize) {
        let mut m = bytes.clone();
        let p = pos % (m.len() + 1);
        m.insert(p, byte);
        exercise(&m);
        m.truncate(cut % (m.len() + 1));
        exercise(&m);
    }
}

/// Parses and, when that works, reads and edits everything: nothing may panic, and what
/// parsed must print back byte-exact.
fn exercise(bytes: &[u8]) {
    let Ok(sdp) = SessionDescription::parse(bytes) else {
        return;
    };
    assert_eq!(sdp.to_bytes(), bytes);
    let _ = (
        sdp.origin(),
        sdp.connection(),
        sdp.bandwidths(),
        sdp.attributes(),
        sdp.is_hold(),
    );
    for m in sdp.media_sections() {
        let _ = (
            m.kind(),
            m.port(),
            m.port_count(),
            m.proto(),
            m.formats(),
            m.codecs(),
        );
        let _ = (
            m.direction(),
            m.connection(),
            m.ptime(),
            m.rtcp_mux(),
            m.telephone_events(),
        );
    }
    let mut e = sdp.clone();
    e.bump_origin_version();
    let _ = e.set_all_connection_addresses("192.0.2.7");
    for i in 0..e.media_count() {
        let _ = e.set_media_port(i, 0);
        let _ = e.set_media_direction(i, Direction::Inactive);
        let _ = e.retain_formats(i, |f| f.len() % 2 == 0);
    }
    assert_eq!(SessionDescription::parse(&e.to_bytes()).as_ref(), Ok(&e));
}
