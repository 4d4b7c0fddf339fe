//! Real-world SDP samples: byte-exact round trip plus the typed facts of each.

// Test helpers outside #[test] fns may unwrap too (clippy.toml only covers #[test] fns).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tandem_sdp::{Direction, LineEnding, MediaKind, SessionDescription};

fn load(name: &str) -> (Vec<u8>, SessionDescription) {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap();
    let sdp = SessionDescription::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    (bytes, sdp)
}

#[test]
fn every_sample_round_trips_byte_exact() {
    let dir = format!("{}/tests/data", env!("CARGO_MANIFEST_DIR"));
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if !name.ends_with(".sdp") {
            continue;
        }
        let (bytes, sdp) = load(&name);
        assert_eq!(sdp.to_bytes(), bytes, "{name}");
        assert_eq!(
            SessionDescription::parse(&sdp.to_bytes()).unwrap(),
            sdp,
            "{name}"
        );
        count += 1;
    }
    assert!(count >= 11);
}

#[test]
fn deskphone_g711_dtmf() {
    let (_, sdp) = load("deskphone_g711_dtmf.sdp");
    let o = sdp.origin();
    assert_eq!(
        (o.username, o.session_id, o.session_version),
        ("-", "1718042301", 1_718_042_301)
    );
    assert_eq!(
        (o.net_type, o.addr_type, o.address),
        ("IN", "IP4", "10.20.30.40")
    );
    assert_eq!(sdp.session_name(), b"Polycom IP Phone");
    assert_eq!(sdp.session_direction(), Some(Direction::SendRecv));
    let a = sdp.media(0).unwrap();
    assert_eq!(
        (a.kind(), a.port(), a.proto()),
        (MediaKind::Audio, 2222, "RTP/AVP")
    );
    let codecs: Vec<_> = a
        .codecs()
        .iter()
        .map(|c| (c.payload_type, c.encoding))
        .collect();
    assert_eq!(
        codecs,
        [
            (0, "PCMU"),
            (8, "PCMA"),
            (18, "G729"),
            (101, "telephone-event")
        ]
    );
    assert_eq!(a.fmtp("18"), Some("annexb=no"));
    assert_eq!(a.telephone_events()[0].fmtp, Some("0-15"));
    assert_eq!(a.ptime(), Some(20));
    assert_eq!(a.attribute("X-nat"), Some(Some("0")));
    assert_eq!(a.direction(), Direction::SendRecv);
    assert!(!a.rtcp_mux());
    assert!(!sdp.is_hold());
}

#[test]
fn webrtc_offer() {
    let (_, sdp) = load("webrtc_offer.sdp");
    assert_eq!(sdp.attribute("group"), Some(Some("BUNDLE 0 1")));
    assert_eq!(sdp.attribute("extmap-allow-mixed"), Some(None));
    assert!(sdp.connection().is_none());
    let a = sdp.media(0).unwrap();
    assert_eq!(a.proto(), "UDP/TLS/RTP/SAVPF");
    assert_eq!(a.port(), 9);
    assert!(a.rtcp_mux());
    assert_eq!(a.attribute("ice-ufrag"), Some(Some("ETEn")));
    assert_eq!(a.attribute("setup"), Some(Some("actpass")));
    assert!(
        a.attribute("fingerprint")
            .flatten()
            .unwrap()
            .starts_with("sha-256 19:E2")
    );
    let opus = a.rtpmap(111).unwrap();
    assert_eq!(
        (opus.encoding, opus.clock_rate, opus.channels),
        ("opus", 48000, Some(2))
    );
    let te: Vec<_> = a
        .telephone_events()
        .iter()
        .map(|c| (c.payload_type, c.clock_rate))
        .collect();
    assert_eq!(te, [(110, 48000), (126, 8000)]);
    assert_eq!(
        a.attributes()
            .iter()
            .filter(|x| x.name == "candidate")
            .count(),
        2
    );
    // 0.0.0.0 in a WebRTC offer with ICE is still, by the letter of RFC 3264 §8.4, a legacy
    // hold address; callers that know ICE look at the candidates instead.
    assert!(a.connection().unwrap().is_null());
    let v = sdp.media(1).unwrap();
    assert_eq!(
        (v.kind(), v.direction()),
        (MediaKind::Video, Direction::RecvOnly)
    );
    assert_eq!(v.fmtp("97"), Some("apt=96"));
    assert_eq!(
        v.attributes()
            .iter()
            .filter(|x| x.name == "rtcp-fb")
            .count(),
        4
    );
}

#[test]
fn t38_fax() {
    let (_, sdp) = load("t38_fax.sdp");
    let m = sdp.media(0).unwrap();
    assert_eq!(
        (m.kind(), m.media_type(), m.port()),
        (MediaKind::Image, "image", 40000)
    );
    assert_eq!((m.proto(), m.formats()), ("udptl", vec!["t38"]));
    assert!(m.codecs().is_empty());
    assert_eq!(m.attribute("T38MaxBitRate"), Some(Some("14400")));
    assert_eq!(m.attribute("T38FaxUdpEC"), Some(Some("t38UDPRedundancy")));
}

#[test]
fn ipv6_rfc5118() {
    let (_, sdp) = load("ipv6_rfc5118.sdp");
    let o = sdp.origin();
    assert_eq!(
        (o.username, o.session_id, o.session_version),
        ("assistant", "971731711378798081", 0)
    );
    assert_eq!((o.addr_type, o.address), ("IP6", "2001:db8::20"));
    let c = sdp.connection().unwrap();
    assert_eq!(
        (c.net_type, c.addr_type, c.address, c.ttl),
        ("IN", "IP6", "2001:db8::20", None)
    );
    assert_eq!(sdp.media_count(), 2);
    assert_eq!(sdp.media(0).unwrap().codecs()[0].encoding, "G726-32");
    assert_eq!(
        sdp.media(1).unwrap().connection().unwrap().address,
        "2001:db8::20"
    );
}

#[test]
fn per_media_connection() {
    let (_, sdp) = load("per_media_connection.sdp");
    assert!(sdp.connection().is_none());
    let a = sdp.media(0).unwrap().connection().unwrap();
    let v = sdp.media(1).unwrap().connection().unwrap();
    assert_eq!((a.addr_type, a.address), ("IP4", "192.0.2.4"));
    assert_eq!((v.addr_type, v.address), ("IP6", "2001:db8::4"));
    assert_eq!(sdp.origin().session_id, "28908764872");
}

#[test]
fn hold_sendonly() {
    let (_, sdp) = load("hold_sendonly.sdp");
    assert!(sdp.is_hold());
    let m = sdp.media(0).unwrap();
    assert_eq!(m.own_direction(), Some(Direction::SendOnly));
    assert_eq!(sdp.session_name(), b"");
    assert_eq!(
        sdp.connection().unwrap().address,
        "host.atlanta.example.com"
    );
}

#[test]
fn hold_legacy_null_connection() {
    let (_, sdp) = load("hold_legacy_null_c.sdp");
    assert!(sdp.connection().unwrap().is_null());
    assert_eq!(sdp.media(0).unwrap().direction(), Direction::SendRecv);
    assert!(sdp.is_hold());
    assert_eq!(sdp.origin().username, "Cisco-SIPUA");
}

#[test]
fn rfc8866_full_with_repeat_zone_key() {
    let (_, sdp) = load("rfc8866_full.sdp");
    let kinds: Vec<u8> = sdp.lines().filter_map(|l| l.kind).collect();
    assert_eq!(&kinds[..16], b"vosiuepcbtrrzkaa");
    let r: Vec<_> = sdp
        .lines()
        .filter(|l| l.kind == Some(b'r'))
        .map(|l| l.value)
        .collect();
    assert_eq!(r, [&b"604800 3600 0 90000"[..], b"7d 1h 0 25h"]);
    let c = sdp.connection().unwrap();
    assert_eq!(
        (c.address, c.ttl, c.address_count),
        ("233.252.0.1", Some(127), None)
    );
    assert_eq!(sdp.bandwidths()[0].bw_type, "CT");
    assert_eq!(sdp.attribute("x-custom"), Some(Some("  spaced   value  ")));
    let v = sdp.media(1).unwrap().own_connection().unwrap();
    assert_eq!(
        (v.address, v.ttl, v.address_count),
        ("ff15::101", None, Some(3))
    );
    let audio: Vec<_> = sdp
        .media(0)
        .unwrap()
        .lines()
        .filter_map(|l| l.kind)
        .collect();
    assert_eq!(audio, b"mik");
    assert_eq!(sdp.media(1).unwrap().direction(), Direction::RecvOnly);
}

#[test]
fn bare_lf_line_endings() {
    let (_, sdp) = load("bare_lf.sdp");
    assert!(sdp.lines().all(|l| l.ending == LineEnding::Lf));
    assert_eq!(sdp.line_ending(), LineEnding::Lf);
    let mut edited = sdp.clone();
    edited.set_media_direction(0, Direction::SendOnly).unwrap();
    assert!(
        edited
            .to_bytes()
            .ends_with(b"telephone-event/8000\na=sendonly\n")
    );
    let (bytes, sdp) = load("no_final_newline.sdp");
    assert_eq!(sdp.lines().last().unwrap().ending, LineEnding::Missing);
    assert_eq!(sdp.to_bytes(), bytes);
}

#[test]
fn bandwidth_as_tias() {
    let (_, sdp) = load("bandwidth_as_tias.sdp");
    let session: Vec<_> = sdp
        .bandwidths()
        .iter()
        .map(|b| (b.bw_type, b.bandwidth))
        .collect();
    assert_eq!(session, [("AS", 2048), ("TIAS", 2_000_000)]);
    let video: Vec<_> = sdp
        .media(1)
        .unwrap()
        .bandwidths()
        .iter()
        .map(|b| (b.bw_type, b.bandwidth))
        .collect();
    assert_eq!(video, [("AS", 1920), ("TIAS", 1_920_000)]);
    let a = sdp.media(0).unwrap();
    assert_eq!(a.proto(), "RTP/SAVP");
    assert!(a.attribute("crypto").flatten().unwrap().contains("inline:"));
}

#[test]
fn relay_edits_touch_only_their_lines() {
    for name in [
        "deskphone_g711_dtmf.sdp",
        "rfc8866_full.sdp",
        "webrtc_offer.sdp",
        "bare_lf.sdp",
    ] {
        let (_, sdp) = load(name);
        let mut e = sdp.clone();
        e.bump_origin_version();
        e.set_all_connection_addresses("203.0.113.200").unwrap();
        e.set_media_port(0, 31000).unwrap();
        let reparsed = SessionDescription::parse(&e.to_bytes()).unwrap();
        assert_eq!(reparsed, e, "{name}");
        for (before, after) in sdp.lines().zip(e.lines()) {
            if !matches!(before.kind, Some(b'o' | b'c' | b'm')) {
                assert_eq!(before, after, "{name}");
            }
        }
        assert_eq!(e.origin().session_version, sdp.origin().session_version + 1);
    }
}
