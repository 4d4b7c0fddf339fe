//! A minimal pcap writer, so a failing scenario can be opened in Wireshark or sngrep.
//!
//! Each datagram of a [`Trace`] becomes an IPv4 or IPv6 packet with a UDP header, in a pcap
//! file of link type RAW (101). Timestamps count virtual time from the first datagram. Lost
//! datagrams are left out: the capture shows what arrived, as a tap at the receiver would.
//! UDP checksums are zero (optional for IPv4; Wireshark does not validate them by default).

use std::net::{IpAddr, SocketAddr};

use crate::{Trace, TraceEntry};

const LINKTYPE_RAW: u32 = 101;

/// Serialises `trace` as a pcap file.
pub fn to_pcap(trace: &Trace) -> Vec<u8> {
    let mut out = Vec::new();
    // Global header (little-endian, microsecond timestamps), version 2.4.
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&65_535u32.to_le_bytes());
    out.extend_from_slice(&LINKTYPE_RAW.to_le_bytes());
    let Some(first) = trace.entries().first() else {
        return out;
    };
    let start = first.at;
    for e in trace.entries().iter().filter(|e| !e.lost) {
        let packet = ip_udp_packet(e);
        let since = e.at.saturating_duration_since(start);
        let len = u32::try_from(packet.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(
            &u32::try_from(since.as_secs())
                .unwrap_or(u32::MAX)
                .to_le_bytes(),
        );
        out.extend_from_slice(&since.subsec_micros().to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&packet);
    }
    out
}

fn ip_udp_packet(e: &TraceEntry) -> Vec<u8> {
    let udp = udp_datagram(e.from, e.to, &e.payload);
    let mut p = Vec::with_capacity(udp.len() + 40);
    match (e.from.ip(), e.to.ip()) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => {
            let total = u16::try_from(20 + udp.len()).unwrap_or(u16::MAX);
            let mut h = [0u8; 20];
            h[0] = 0x45;
            h[2..4].copy_from_slice(&total.to_be_bytes());
            h[8] = 64; // TTL
            h[9] = 17; // UDP
            h[12..16].copy_from_slice(&src.octets());
            h[16..20].copy_from_slice(&dst.octets());
            let sum = checksum(&h);
            h[10..12].copy_from_slice(&sum.to_be_bytes());
            p.extend_from_slice(&h);
        }
        (src, dst) => {
            let to6 = |ip: IpAddr| match ip {
                IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                IpAddr::V6(v6) => v6,
            };
            let mut h = [0u8; 40];
            h[0] = 0x60;
            h[4..6].copy_from_slice(&u16::try_from(udp.len()).unwrap_or(u16::MAX).to_be_bytes());
            h[6] = 17;
            h[7] = 64;
            h[8..24].copy_from_slice(&to6(src).octets());
            h[24..40].copy_from_slice(&to6(dst).octets());
            p.extend_from_slice(&h);
        }
    }
    p.extend_from_slice(&udp);
    p
}

fn udp_datagram(from: SocketAddr, to: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let len = u16::try_from(8 + payload.len()).unwrap_or(u16::MAX);
    let mut d = Vec::with_capacity(8 + payload.len());
    d.extend_from_slice(&from.port().to_be_bytes());
    d.extend_from_slice(&to.port().to_be_bytes());
    d.extend_from_slice(&len.to_be_bytes());
    d.extend_from_slice(&[0, 0]);
    d.extend_from_slice(payload);
    d
}

/// RFC 1071 Internet checksum.
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(u16::try_from(sum).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use bytes::Bytes;

    use super::*;
    use crate::{LinkConfig, SimNet};

    #[test]
    fn writes_a_header_and_one_record_per_delivered_datagram() {
        let mut net = SimNet::new(1, LinkConfig::latency(Duration::from_millis(5)));
        let t0 = Instant::now();
        let a: SocketAddr = "127.0.0.1:5060".parse().unwrap();
        let b: SocketAddr = "[::1]:5070".parse().unwrap();
        net.send(
            t0,
            a,
            a,
            Bytes::from_static(b"OPTIONS sip:x SIP/2.0\r\n\r\n"),
        );
        net.send(
            t0 + Duration::from_millis(1500),
            b,
            b,
            Bytes::from_static(b"SIP/2.0 200 OK\r\n\r\n"),
        );
        let pcap = to_pcap(net.trace());
        assert_eq!(&pcap[..4], &0xa1b2_c3d4u32.to_le_bytes());
        // Record 1: 16-byte record header + 20 IPv4 + 8 UDP + 25 payload.
        let rec1 = &pcap[24..];
        assert_eq!(
            u32::from_le_bytes(rec1[8..12].try_into().unwrap()),
            20 + 8 + 25
        );
        assert_eq!(rec1[16], 0x45);
        assert_eq!(checksum(&rec1[16..36]), 0, "IPv4 header checksum verifies");
        let rec2 = &rec1[16 + 53..];
        assert_eq!(
            u32::from_le_bytes(rec2[0..4].try_into().unwrap()),
            1,
            "1.5 s later"
        );
        assert_eq!(u32::from_le_bytes(rec2[4..8].try_into().unwrap()), 500_000);
        assert_eq!(rec2[16] >> 4, 6, "IPv6 packet");
    }
}
