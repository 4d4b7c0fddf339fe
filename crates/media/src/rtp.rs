//! RTP packet parsing and serialization (RFC 3550 §5.1).
//!
//! [`RtpPacket::parse`] borrows the payload from the datagram and never panics: every malformed
//! input maps to an [`RtpError`]. [`RtpHeader::write`] serializes a header and a payload into a
//! caller-owned buffer so that the send path can reuse one allocation.

/// The RTP version this crate speaks (RFC 3550 §5.1, `V`).
pub const RTP_VERSION: u8 = 2;

/// Size of the fixed RTP header in bytes (RFC 3550 §5.1).
pub const RTP_HEADER_LEN: usize = 12;

/// Why an RTP datagram was rejected (RFC 3550 §5.1, A.1 header validity checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RtpError {
    /// Fewer bytes than the fixed header, CSRC list or extension header announce.
    #[error("RTP packet truncated: need {needed} bytes, have {have}")]
    Truncated {
        /// Bytes the header announced.
        needed: usize,
        /// Bytes present.
        have: usize,
    },
    /// The version field is not 2.
    #[error("unsupported RTP version {0}")]
    BadVersion(u8),
    /// The padding count is zero or larger than the bytes left after the header (§5.1, `P`).
    #[error("invalid RTP padding length {0}")]
    BadPadding(u8),
    /// The payload type lies in 72..=76, the range that collides with RTCP SR/RR (RFC 5761 §4).
    #[error("payload type {0} collides with RTCP")]
    RtcpPayloadType(u8),
    /// A header field given to the serializer does not fit its wire width.
    #[error("RTP header field out of range: {0}")]
    FieldOutOfRange(&'static str),
}

/// An RTP header extension (RFC 3550 §5.3.1): a profile-defined 16-bit id and 32-bit words.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RtpExtension {
    /// The "defined by profile" field.
    pub profile: u16,
    /// Extension data; its length is a multiple of 4 on the wire.
    pub data: Vec<u8>,
}

/// The header of an RTP packet (RFC 3550 §5.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RtpHeader {
    /// Marker bit `M`: for audio, the first packet of a talkspurt (RFC 3551 §4.1).
    pub marker: bool,
    /// Payload type `PT` (7 bits).
    pub payload_type: u8,
    /// Sequence number, incremented by one per packet sent (§5.1).
    pub sequence: u16,
    /// Sampling instant of the first octet of the payload, in clock-rate units (§5.1).
    pub timestamp: u32,
    /// Synchronization source identifier (§5.1, §8).
    pub ssrc: u32,
    /// Contributing sources, at most 15 (§5.1, `CC`).
    pub csrcs: Vec<u32>,
    /// Optional header extension (§5.3.1, `X`).
    pub extension: Option<RtpExtension>,
}

/// A parsed RTP packet borrowing its payload from the datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    /// The header fields.
    pub header: RtpHeader,
    /// The payload, with any padding removed.
    pub payload: &'a [u8],
    /// Number of padding octets that followed the payload (0 when `P` was clear).
    pub padding: u8,
}

impl<'a> RtpPacket<'a> {
    /// Parses an RTP datagram (RFC 3550 §5.1), validating version, CSRC count, extension
    /// length and padding. Never panics on any input.
    pub fn parse(buf: &'a [u8]) -> Result<Self, RtpError> {
        if buf.len() < RTP_HEADER_LEN {
            return Err(RtpError::Truncated {
                needed: RTP_HEADER_LEN,
                have: buf.len(),
            });
        }
        let version = buf[0] >> 6;
        if version != RTP_VERSION {
            return Err(RtpError::BadVersion(version));
        }
        let has_padding = buf[0] & 0x20 != 0;
        let has_extension = buf[0] & 0x10 != 0;
        let csrc_count = usize::from(buf[0] & 0x0f);
        let marker = buf[1] & 0x80 != 0;
        let payload_type = buf[1] & 0x7f;
        if (72..=76).contains(&payload_type) {
            return Err(RtpError::RtcpPayloadType(payload_type));
        }
        let sequence = u16::from_be_bytes([buf[2], buf[3]]);
        let timestamp = be_u32(buf, 4);
        let ssrc = be_u32(buf, 8);

        let mut offset = RTP_HEADER_LEN;
        let csrc_end = offset + 4 * csrc_count;
        if buf.len() < csrc_end {
            return Err(RtpError::Truncated {
                needed: csrc_end,
                have: buf.len(),
            });
        }
        let csrcs = (0..csrc_count)
            .map(|i| be_u32(buf, offset + 4 * i))
            .collect();
        offset = csrc_end;

        let extension = if has_extension {
            if buf.len() < offset + 4 {
                return Err(RtpError::Truncated {
                    needed: offset + 4,
                    have: buf.len(),
                });
            }
            let profile = u16::from_be_bytes([buf[offset], buf[offset + 1]]);
            let words = usize::from(u16::from_be_bytes([buf[offset + 2], buf[offset + 3]]));
            let end = offset + 4 + 4 * words;
            if buf.len() < end {
                return Err(RtpError::Truncated {
                    needed: end,
                    have: buf.len(),
                });
            }
            let data = buf[offset + 4..end].to_vec();
            offset = end;
            Some(RtpExtension { profile, data })
        } else {
            None
        };

        let mut end = buf.len();
        let mut padding = 0;
        if has_padding {
            // §5.1: the last octet of the padding counts the padding octets, itself included.
            padding = buf[end - 1];
            if padding == 0 || usize::from(padding) > end - offset {
                return Err(RtpError::BadPadding(padding));
            }
            end -= usize::from(padding);
        }
        Ok(Self {
            header: RtpHeader {
                marker,
                payload_type,
                sequence,
                timestamp,
                ssrc,
                csrcs,
                extension,
            },
            payload: &buf[offset..end],
            padding,
        })
    }
}

impl RtpHeader {
    /// Appends this header, `payload` and `padding` padding octets (0 for none) to `out`
    /// (RFC 3550 §5.1). Fails if a field does not fit its wire width.
    pub fn write(&self, payload: &[u8], padding: u8, out: &mut Vec<u8>) -> Result<(), RtpError> {
        if self.payload_type > 0x7f {
            return Err(RtpError::FieldOutOfRange("payload type"));
        }
        if self.csrcs.len() > 15 {
            return Err(RtpError::FieldOutOfRange("CSRC count"));
        }
        let ext_words = match &self.extension {
            Some(ext) if ext.data.len() % 4 != 0 => {
                return Err(RtpError::FieldOutOfRange("extension length"));
            }
            Some(ext) => Some(
                u16::try_from(ext.data.len() / 4)
                    .map_err(|_| RtpError::FieldOutOfRange("extension length"))?,
            ),
            None => None,
        };
        let mut b0 = RTP_VERSION << 6;
        if padding > 0 {
            b0 |= 0x20;
        }
        if self.extension.is_some() {
            b0 |= 0x10;
        }
        // The length was checked above, so the cast keeps all bits.
        b0 |= (self.csrcs.len() as u8) & 0x0f;
        out.reserve(RTP_HEADER_LEN + 4 * self.csrcs.len() + payload.len() + usize::from(padding));
        out.push(b0);
        out.push(u8::from(self.marker) << 7 | self.payload_type);
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        for csrc in &self.csrcs {
            out.extend_from_slice(&csrc.to_be_bytes());
        }
        if let (Some(ext), Some(words)) = (&self.extension, ext_words) {
            out.extend_from_slice(&ext.profile.to_be_bytes());
            out.extend_from_slice(&words.to_be_bytes());
            out.extend_from_slice(&ext.data);
        }
        out.extend_from_slice(payload);
        if padding > 0 {
            out.extend(std::iter::repeat_n(0u8, usize::from(padding) - 1));
            out.push(padding);
        }
        Ok(())
    }

    /// Serializes this header and `payload` into a new buffer (no padding).
    pub fn to_bytes(&self, payload: &[u8]) -> Result<Vec<u8>, RtpError> {
        let mut out = Vec::with_capacity(RTP_HEADER_LEN + payload.len());
        self.write(payload, 0, &mut out)?;
        Ok(out)
    }
}

fn be_u32(buf: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> RtpHeader {
        RtpHeader {
            marker: true,
            payload_type: 0,
            sequence: 0xfffe,
            timestamp: 0xdead_beef,
            ssrc: 0x1234_5678,
            csrcs: vec![1, 2],
            extension: Some(RtpExtension {
                profile: 0xbede,
                data: vec![1, 2, 3, 4],
            }),
        }
    }

    #[test]
    fn round_trip_with_everything() {
        let h = header();
        let mut out = Vec::new();
        h.write(b"hello", 3, &mut out).unwrap();
        let p = RtpPacket::parse(&out).unwrap();
        assert_eq!(p.header, h);
        assert_eq!(p.payload, b"hello");
        assert_eq!(p.padding, 3);
    }

    #[test]
    fn known_bytes() {
        let bytes = [
            0x80, 0x88, 0x00, 0x01, 0x00, 0x00, 0x00, 0xa0, 0x00, 0x00, 0x00, 0x2a, 0xd5,
        ];
        let p = RtpPacket::parse(&bytes).unwrap();
        assert!(p.header.marker);
        assert_eq!(p.header.payload_type, 8);
        assert_eq!(p.header.sequence, 1);
        assert_eq!(p.header.timestamp, 160);
        assert_eq!(p.header.ssrc, 42);
        assert_eq!(p.payload, &[0xd5]);
        assert_eq!(p.header.to_bytes(p.payload).unwrap(), bytes);
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(
            RtpPacket::parse(&[0x80; 5]),
            Err(RtpError::Truncated {
                needed: 12,
                have: 5
            })
        );
        let mut b = header().to_bytes(b"x").unwrap();
        b[0] = (b[0] & 0x3f) | 0x40;
        assert_eq!(RtpPacket::parse(&b), Err(RtpError::BadVersion(1)));
        // CSRC count larger than the packet.
        let mut b = vec![0x8f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert!(matches!(
            RtpPacket::parse(&b),
            Err(RtpError::Truncated { .. })
        ));
        // Padding bigger than the packet.
        b[0] = 0xa0;
        b.push(200);
        assert_eq!(RtpPacket::parse(&b), Err(RtpError::BadPadding(200)));
        b[12] = 0;
        assert_eq!(RtpPacket::parse(&b), Err(RtpError::BadPadding(0)));
        // Extension length beyond the end.
        let b = [0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xde, 0, 9];
        assert!(matches!(
            RtpPacket::parse(&b),
            Err(RtpError::Truncated { .. })
        ));
        // RTCP-colliding payload type.
        let b = [0x80, 200, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(RtpPacket::parse(&b), Err(RtpError::RtcpPayloadType(72)));
    }

    #[test]
    fn serializer_rejects_bad_fields() {
        let mut h = header();
        h.payload_type = 128;
        assert!(h.to_bytes(b"").is_err());
        let mut h = header();
        h.csrcs = vec![0; 16];
        assert!(h.to_bytes(b"").is_err());
        let mut h = header();
        h.extension = Some(RtpExtension {
            profile: 1,
            data: vec![1, 2, 3],
        });
        assert!(h.to_bytes(b"").is_err());
    }
}
