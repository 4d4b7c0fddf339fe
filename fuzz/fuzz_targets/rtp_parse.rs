//! RTP (`RtpPacket::parse`) and RTCP (`rtcp::parse_compound`) on arbitrary datagrams.
//!
//! RTP invariants: a parsed packet re-serialised with `RtpHeader::write(payload, padding)` is
//! the input octet for octet, except the padding filler octets (RFC 3550 §5.1 gives them no
//! meaning: only the last one, the count, is kept); it re-parses to the same header, payload
//! and padding; `to_bytes` (no padding) re-parses to the same header and payload.
//!
//! RTCP invariants: a parsed compound packet re-serialises with `write_compound` (the only
//! refusal allowed is an unmodelled packet whose body, padding removed, is not a whole
//! number of words) and re-parses to the same packets, and that second serialisation is a
//! fixed point.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_media::rtcp::{self, RtcpPacket};
use tandem_media::rtp::{RTP_HEADER_LEN, RtpPacket};

fn check_rtp(data: &[u8]) {
    let Ok(p) = RtpPacket::parse(data) else {
        return;
    };
    assert!(p.payload.len() + usize::from(p.padding) + RTP_HEADER_LEN <= data.len());
    assert!(p.header.csrcs.len() <= 15);
    assert!(p.header.payload_type <= 0x7f);

    let mut out = Vec::new();
    p.header
        .write(p.payload, p.padding, &mut out)
        .expect("a parsed header serialises");
    assert_eq!(out.len(), data.len(), "re-serialised length differs");
    let pad = usize::from(p.padding);
    if pad == 0 {
        assert_eq!(out, data, "re-serialised packet differs");
    } else {
        let n = data.len();
        assert_eq!(
            out[..n - pad],
            data[..n - pad],
            "re-serialised packet differs"
        );
        assert_eq!(out[n - 1], data[n - 1], "padding count differs");
    }
    let q = RtpPacket::parse(&out).expect("re-serialised packet parses");
    assert_eq!(q, p, "re-parsed packet differs");

    let plain = p.header.to_bytes(p.payload).expect("to_bytes");
    let r = RtpPacket::parse(&plain).expect("unpadded packet parses");
    assert_eq!(r.header, p.header);
    assert_eq!(r.payload, p.payload);
    assert_eq!(r.padding, 0);
}

fn check_rtcp(data: &[u8]) {
    let Ok(packets) = rtcp::parse_compound(data) else {
        return;
    };
    assert!(!packets.is_empty());
    let _ = rtcp::is_valid_compound(&packets);
    let mut out = Vec::new();
    match rtcp::write_compound(&packets, &mut out) {
        Ok(()) => {}
        Err(e) => {
            let unaligned = packets
                .iter()
                .any(|p| matches!(p, RtcpPacket::Other { body, .. } if body.len() % 4 != 0));
            assert!(
                unaligned,
                "parsed packets do not serialise: {e:?}\n{packets:?}"
            );
            return;
        }
    }
    let again = rtcp::parse_compound(&out).expect("re-serialised compound parses");
    assert_eq!(again, packets, "re-parsed compound differs");
    let mut out2 = Vec::new();
    rtcp::write_compound(&again, &mut out2).expect("second serialisation");
    assert_eq!(out2, out, "serialisation is not a fixed point");
}

fuzz_target!(|data: &[u8]| {
    check_rtp(data);
    check_rtcp(data);
});
