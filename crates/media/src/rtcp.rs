//! RTCP packets (RFC 3550 §6): sender and receiver reports, SDES, BYE, and compound packets.
//!
//! [`parse_compound`] splits a datagram into [`RtcpPacket`]s and never panics; packet types
//! this crate does not model (APP, feedback, XR) are kept as [`RtcpPacket::Other`] so that
//! nothing is lost. [`write_compound`] serializes a list of packets back to bytes.

/// RTCP packet type of a sender report (RFC 3550 §6.4.1).
pub const PT_SR: u8 = 200;
/// RTCP packet type of a receiver report (RFC 3550 §6.4.2).
pub const PT_RR: u8 = 201;
/// RTCP packet type of source description items (RFC 3550 §6.5).
pub const PT_SDES: u8 = 202;
/// RTCP packet type of goodbye (RFC 3550 §6.6).
pub const PT_BYE: u8 = 203;

/// Why an RTCP datagram was rejected (RFC 3550 §6.4–§6.6 and the checks of A.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RtcpError {
    /// Fewer bytes than a header or length field announces.
    #[error("RTCP packet truncated: need {needed} bytes, have {have}")]
    Truncated {
        /// Bytes announced.
        needed: usize,
        /// Bytes present.
        have: usize,
    },
    /// The version field is not 2.
    #[error("unsupported RTCP version {0}")]
    BadVersion(u8),
    /// The padding count is zero or larger than the packet.
    #[error("invalid RTCP padding")]
    BadPadding,
    /// A report count, SDES chunk or BYE reason does not fit in the packet's length.
    #[error("malformed RTCP {0} packet")]
    Malformed(&'static str),
    /// The datagram held no packet at all.
    #[error("empty RTCP compound packet")]
    Empty,
    /// A value given to the serializer does not fit its wire width.
    #[error("RTCP field out of range: {0}")]
    FieldOutOfRange(&'static str),
}

/// One reception report block (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlock {
    /// SSRC of the source this block reports on.
    pub ssrc: u32,
    /// Fraction of packets lost since the last report, as a fixed-point number over 256.
    pub fraction_lost: u8,
    /// Cumulative number of packets lost, a signed 24-bit value (§6.4.1, A.3).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received (cycles << 16 | max seq).
    pub extended_highest_seq: u32,
    /// Interarrival jitter in timestamp units (§6.4.1, A.8).
    pub jitter: u32,
    /// Middle 32 bits of the NTP timestamp of the last SR received (`LSR`).
    pub last_sr: u32,
    /// Delay since that SR, in units of 1/65536 s (`DLSR`).
    pub delay_since_last_sr: u32,
}

/// A sender report (RFC 3550 §6.4.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SenderReport {
    /// SSRC of the sender.
    pub ssrc: u32,
    /// 64-bit NTP timestamp of the report (seconds since 1900 in the high 32 bits).
    pub ntp_timestamp: u64,
    /// RTP timestamp that corresponds to `ntp_timestamp`.
    pub rtp_timestamp: u32,
    /// Packets sent since the start of transmission.
    pub packet_count: u32,
    /// Payload octets sent since the start of transmission.
    pub octet_count: u32,
    /// Reception reports, at most 31.
    pub reports: Vec<ReportBlock>,
}

/// A receiver report (RFC 3550 §6.4.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReceiverReport {
    /// SSRC of the packet's originator.
    pub ssrc: u32,
    /// Reception reports, at most 31.
    pub reports: Vec<ReportBlock>,
}

/// SDES item type CNAME (RFC 3550 §6.5.1).
pub const SDES_CNAME: u8 = 1;

/// One SDES item: a type and up to 255 octets of value (RFC 3550 §6.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdesItem {
    /// Item type (1 = CNAME, 2 = NAME, ...).
    pub kind: u8,
    /// The value, UTF-8 by the RFC but kept as bytes so that parsing is lossless.
    pub value: Vec<u8>,
}

/// One SDES chunk: a source and its items (RFC 3550 §6.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdesChunk {
    /// The source described.
    pub ssrc: u32,
    /// Its items.
    pub items: Vec<SdesItem>,
}

/// A goodbye packet (RFC 3550 §6.6).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bye {
    /// Sources leaving, at most 31.
    pub ssrcs: Vec<u32>,
    /// Optional reason for leaving (bytes, nominally UTF-8).
    pub reason: Option<Vec<u8>>,
}

/// One RTCP packet inside a compound packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtcpPacket {
    /// Sender report (PT 200).
    SenderReport(SenderReport),
    /// Receiver report (PT 201).
    ReceiverReport(ReceiverReport),
    /// Source description (PT 202).
    SourceDescription(Vec<SdesChunk>),
    /// Goodbye (PT 203).
    Bye(Bye),
    /// Any other packet type (APP, RTPFB, PSFB, XR, ...), kept verbatim.
    Other {
        /// Packet type.
        packet_type: u8,
        /// The 5-bit count/subtype field.
        count: u8,
        /// The body after the 4-byte header, padding removed.
        body: Vec<u8>,
    },
}

/// Parses a compound RTCP packet (RFC 3550 §6.1) into its packets.
///
/// Every packet must have version 2 and a length that fits the datagram. The A.2 rule that a
/// compound packet starts with SR or RR is not enforced here (reduced-size RTCP, RFC 5506,
/// relaxes it); [`is_valid_compound`] checks it.
pub fn parse_compound(buf: &[u8]) -> Result<Vec<RtcpPacket>, RtcpError> {
    let mut packets = Vec::new();
    let mut rest = buf;
    while !rest.is_empty() {
        if rest.len() < 4 {
            return Err(RtcpError::Truncated {
                needed: 4,
                have: rest.len(),
            });
        }
        let version = rest[0] >> 6;
        if version != 2 {
            return Err(RtcpError::BadVersion(version));
        }
        let len = 4 * (usize::from(u16::from_be_bytes([rest[2], rest[3]])) + 1);
        if rest.len() < len {
            return Err(RtcpError::Truncated {
                needed: len,
                have: rest.len(),
            });
        }
        let (packet, tail) = rest.split_at(len);
        packets.push(parse_one(packet)?);
        rest = tail;
    }
    if packets.is_empty() {
        return Err(RtcpError::Empty);
    }
    Ok(packets)
}

/// True if `packets` form a valid compound packet per RFC 3550 §6.1: the first is an SR or RR.
pub fn is_valid_compound(packets: &[RtcpPacket]) -> bool {
    matches!(
        packets.first(),
        Some(RtcpPacket::SenderReport(_) | RtcpPacket::ReceiverReport(_))
    )
}

/// Serializes `packets` as one compound RTCP packet (RFC 3550 §6.1), appending to `out`.
pub fn write_compound(packets: &[RtcpPacket], out: &mut Vec<u8>) -> Result<(), RtcpError> {
    for p in packets {
        p.write(out)?;
    }
    Ok(())
}

impl RtcpPacket {
    /// Appends this packet to `out` (no padding).
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        let start = out.len();
        let (pt, count) = match self {
            Self::SenderReport(sr) => {
                out.extend_from_slice(&[0; 4]);
                out.extend_from_slice(&sr.ssrc.to_be_bytes());
                out.extend_from_slice(&sr.ntp_timestamp.to_be_bytes());
                out.extend_from_slice(&sr.rtp_timestamp.to_be_bytes());
                out.extend_from_slice(&sr.packet_count.to_be_bytes());
                out.extend_from_slice(&sr.octet_count.to_be_bytes());
                write_blocks(&sr.reports, out)?;
                (PT_SR, sr.reports.len())
            }
            Self::ReceiverReport(rr) => {
                out.extend_from_slice(&[0; 4]);
                out.extend_from_slice(&rr.ssrc.to_be_bytes());
                write_blocks(&rr.reports, out)?;
                (PT_RR, rr.reports.len())
            }
            Self::SourceDescription(chunks) => {
                out.extend_from_slice(&[0; 4]);
                for chunk in chunks {
                    out.extend_from_slice(&chunk.ssrc.to_be_bytes());
                    for item in &chunk.items {
                        if item.kind == 0 {
                            return Err(RtcpError::FieldOutOfRange("SDES item type 0"));
                        }
                        let len = u8::try_from(item.value.len())
                            .map_err(|_| RtcpError::FieldOutOfRange("SDES item length"))?;
                        out.push(item.kind);
                        out.push(len);
                        out.extend_from_slice(&item.value);
                    }
                    // §6.5: a null item ends the chunk, then pad to a 32-bit boundary.
                    out.push(0);
                    while !(out.len() - start).is_multiple_of(4) {
                        out.push(0);
                    }
                }
                (PT_SDES, chunks.len())
            }
            Self::Bye(bye) => {
                out.extend_from_slice(&[0; 4]);
                for ssrc in &bye.ssrcs {
                    out.extend_from_slice(&ssrc.to_be_bytes());
                }
                if let Some(reason) = &bye.reason {
                    let len = u8::try_from(reason.len())
                        .map_err(|_| RtcpError::FieldOutOfRange("BYE reason length"))?;
                    out.push(len);
                    out.extend_from_slice(reason);
                    while !(out.len() - start).is_multiple_of(4) {
                        out.push(0);
                    }
                }
                (PT_BYE, bye.ssrcs.len())
            }
            Self::Other {
                packet_type,
                count,
                body,
            } => {
                if body.len() % 4 != 0 {
                    return Err(RtcpError::FieldOutOfRange("packet body length"));
                }
                out.extend_from_slice(&[0; 4]);
                out.extend_from_slice(body);
                (*packet_type, usize::from(*count))
            }
        };
        if count > 31 {
            out.truncate(start);
            return Err(RtcpError::FieldOutOfRange("count"));
        }
        let words = (out.len() - start) / 4 - 1;
        let Ok(words) = u16::try_from(words) else {
            out.truncate(start);
            return Err(RtcpError::FieldOutOfRange("packet length"));
        };
        // `count` was checked to fit 5 bits above.
        out[start] = 0x80 | count as u8;
        out[start + 1] = pt;
        out[start + 2..start + 4].copy_from_slice(&words.to_be_bytes());
        Ok(())
    }
}

fn parse_one(packet: &[u8]) -> Result<RtcpPacket, RtcpError> {
    let count = packet[0] & 0x1f;
    let pt = packet[1];
    let mut body = &packet[4..];
    if packet[0] & 0x20 != 0 {
        let pad = usize::from(*body.last().ok_or(RtcpError::BadPadding)?);
        if pad == 0 || pad > body.len() {
            return Err(RtcpError::BadPadding);
        }
        body = &body[..body.len() - pad];
    }
    match pt {
        PT_SR => {
            if body.len() < 24 {
                return Err(RtcpError::Malformed("SR"));
            }
            let reports = parse_blocks(&body[24..], count, "SR")?;
            Ok(RtcpPacket::SenderReport(SenderReport {
                ssrc: be_u32(body, 0),
                ntp_timestamp: u64::from(be_u32(body, 4)) << 32 | u64::from(be_u32(body, 8)),
                rtp_timestamp: be_u32(body, 12),
                packet_count: be_u32(body, 16),
                octet_count: be_u32(body, 20),
                reports,
            }))
        }
        PT_RR => {
            if body.len() < 4 {
                return Err(RtcpError::Malformed("RR"));
            }
            let reports = parse_blocks(&body[4..], count, "RR")?;
            Ok(RtcpPacket::ReceiverReport(ReceiverReport {
                ssrc: be_u32(body, 0),
                reports,
            }))
        }
        PT_SDES => parse_sdes(body, count).map(RtcpPacket::SourceDescription),
        PT_BYE => {
            let n = 4 * usize::from(count);
            if body.len() < n {
                return Err(RtcpError::Malformed("BYE"));
            }
            let ssrcs = (0..usize::from(count))
                .map(|i| be_u32(body, 4 * i))
                .collect();
            let rest = &body[n..];
            let reason = match rest.first() {
                Some(&len) if len > 0 || rest.len() > 1 => {
                    let len = usize::from(len);
                    if rest.len() < 1 + len {
                        return Err(RtcpError::Malformed("BYE"));
                    }
                    Some(rest[1..1 + len].to_vec())
                }
                _ => None,
            };
            Ok(RtcpPacket::Bye(Bye { ssrcs, reason }))
        }
        _ => Ok(RtcpPacket::Other {
            packet_type: pt,
            count,
            body: body.to_vec(),
        }),
    }
}

fn parse_blocks(buf: &[u8], count: u8, what: &'static str) -> Result<Vec<ReportBlock>, RtcpError> {
    let n = usize::from(count);
    if buf.len() < 24 * n {
        return Err(RtcpError::Malformed(what));
    }
    Ok((0..n)
        .map(|i| {
            let b = &buf[24 * i..24 * (i + 1)];
            // Sign-extend the 24-bit cumulative loss (§6.4.1).
            let lost = i32::from_be_bytes([b[5], b[6], b[7], 0]) >> 8;
            ReportBlock {
                ssrc: be_u32(b, 0),
                fraction_lost: b[4],
                cumulative_lost: lost,
                extended_highest_seq: be_u32(b, 8),
                jitter: be_u32(b, 12),
                last_sr: be_u32(b, 16),
                delay_since_last_sr: be_u32(b, 20),
            }
        })
        .collect())
}

fn write_blocks(blocks: &[ReportBlock], out: &mut Vec<u8>) -> Result<(), RtcpError> {
    for b in blocks {
        if !(-(1 << 23)..(1 << 23)).contains(&b.cumulative_lost) {
            return Err(RtcpError::FieldOutOfRange("cumulative lost"));
        }
        out.extend_from_slice(&b.ssrc.to_be_bytes());
        out.push(b.fraction_lost);
        out.extend_from_slice(&b.cumulative_lost.to_be_bytes()[1..]);
        out.extend_from_slice(&b.extended_highest_seq.to_be_bytes());
        out.extend_from_slice(&b.jitter.to_be_bytes());
        out.extend_from_slice(&b.last_sr.to_be_bytes());
        out.extend_from_slice(&b.delay_since_last_sr.to_be_bytes());
    }
    Ok(())
}

fn parse_sdes(body: &[u8], count: u8) -> Result<Vec<SdesChunk>, RtcpError> {
    let mut chunks = Vec::with_capacity(usize::from(count));
    let mut at = 0;
    for _ in 0..count {
        if body.len() < at + 4 {
            return Err(RtcpError::Malformed("SDES"));
        }
        let ssrc = be_u32(body, at);
        at += 4;
        let mut items = Vec::new();
        loop {
            let Some(&kind) = body.get(at) else {
                return Err(RtcpError::Malformed("SDES"));
            };
            if kind == 0 {
                // End of chunk: skip the null octet and the padding to the next word.
                at += 1;
                at = at.div_ceil(4) * 4;
                break;
            }
            let Some(&len) = body.get(at + 1) else {
                return Err(RtcpError::Malformed("SDES"));
            };
            let end = at + 2 + usize::from(len);
            if body.len() < end {
                return Err(RtcpError::Malformed("SDES"));
            }
            items.push(SdesItem {
                kind,
                value: body[at + 2..end].to_vec(),
            });
            at = end;
        }
        chunks.push(SdesChunk { ssrc, items });
    }
    Ok(chunks)
}

fn be_u32(buf: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(ssrc: u32) -> ReportBlock {
        ReportBlock {
            ssrc,
            fraction_lost: 25,
            cumulative_lost: -3,
            extended_highest_seq: 0x1_0005,
            jitter: 77,
            last_sr: 0xabcd_ef01,
            delay_since_last_sr: 65536,
        }
    }

    fn compound() -> Vec<RtcpPacket> {
        vec![
            RtcpPacket::SenderReport(SenderReport {
                ssrc: 1,
                ntp_timestamp: 0x1234_5678_9abc_def0,
                rtp_timestamp: 160,
                packet_count: 10,
                octet_count: 1600,
                reports: vec![block(2)],
            }),
            RtcpPacket::ReceiverReport(ReceiverReport {
                ssrc: 1,
                reports: vec![block(3), block(4)],
            }),
            RtcpPacket::SourceDescription(vec![
                SdesChunk {
                    ssrc: 1,
                    items: vec![SdesItem {
                        kind: SDES_CNAME,
                        value: b"tandem@example".to_vec(),
                    }],
                },
                SdesChunk {
                    ssrc: 2,
                    items: vec![],
                },
            ]),
            RtcpPacket::Bye(Bye {
                ssrcs: vec![1, 9],
                reason: Some(b"bye now".to_vec()),
            }),
            RtcpPacket::Other {
                packet_type: 204,
                count: 1,
                body: vec![0, 0, 0, 1, b'n', b'a', b'm', b'e'],
            },
        ]
    }

    #[test]
    fn compound_round_trip() {
        let packets = compound();
        let mut out = Vec::new();
        write_compound(&packets, &mut out).unwrap();
        assert_eq!(out.len() % 4, 0);
        let parsed = parse_compound(&out).unwrap();
        assert_eq!(parsed, packets);
        assert!(is_valid_compound(&parsed));
        assert!(!is_valid_compound(&parsed[2..]));
    }

    #[test]
    fn rr_known_bytes() {
        let rr = RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: 0x0102_0304,
            reports: vec![],
        });
        let mut out = Vec::new();
        rr.write(&mut out).unwrap();
        assert_eq!(out, [0x80, 201, 0, 1, 1, 2, 3, 4]);
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(parse_compound(&[]), Err(RtcpError::Empty));
        assert!(parse_compound(&[0x80, 201, 0]).is_err());
        assert_eq!(
            parse_compound(&[0x40, 201, 0, 0]),
            Err(RtcpError::BadVersion(1))
        );
        // Length beyond the datagram.
        assert!(matches!(
            parse_compound(&[0x80, 201, 0, 5, 0, 0, 0, 0]),
            Err(RtcpError::Truncated { .. })
        ));
        // RR announcing one block with none present.
        assert_eq!(
            parse_compound(&[0x81, 201, 0, 1, 0, 0, 0, 0]),
            Err(RtcpError::Malformed("RR"))
        );
        // Padding count of zero.
        assert_eq!(
            parse_compound(&[0xa0, 201, 0, 1, 0, 0, 0, 0]),
            Err(RtcpError::BadPadding)
        );
        // SDES item running past the end.
        assert_eq!(
            parse_compound(&[0x81, 202, 0, 2, 0, 0, 0, 1, 1, 9, 0, 0]),
            Err(RtcpError::Malformed("SDES"))
        );
    }

    #[test]
    fn bye_without_reason() {
        let bye = RtcpPacket::Bye(Bye {
            ssrcs: vec![7],
            reason: None,
        });
        let mut out = Vec::new();
        bye.write(&mut out).unwrap();
        assert_eq!(parse_compound(&out).unwrap(), vec![bye]);
    }
}
