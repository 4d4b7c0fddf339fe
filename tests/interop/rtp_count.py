#!/usr/bin/env python3
"""Counts the UDP traffic of a loopback capture (pcap from `tcpdump -w`) for the baresip check.

    rtp_count.py CAP.pcap --a PORTS --b PORTS --tandem PORTS [--min-rtp N]

PORTS is a comma-separated list of ports or LO-HI ranges. Prints the counts and exits 1 unless
  - more than N RTP packets (version 2, not RTCP) flowed between the --a and --b ports, in each
    direction more than N/2, and
  - Tandem's ports (--tandem) sent or received at least one SIP message (so the capture did
    see Tandem) and not a single UDP datagram that is not SIP (no RTP, RTCP, STUN, ...).
Only the standard library: no tshark needed.
"""
import argparse
import struct
import sys

SIP_STARTS = (b"SIP/2.0 ",)
SIP_METHODS = (b"INVITE", b"ACK", b"BYE", b"CANCEL", b"OPTIONS", b"REGISTER", b"PRACK",
               b"UPDATE", b"INFO", b"REFER", b"NOTIFY", b"SUBSCRIBE", b"MESSAGE", b"PUBLISH")


def ports(spec):
    out = set()
    for part in spec.split(","):
        if "-" in part:
            lo, hi = part.split("-")
            out.update(range(int(lo), int(hi) + 1))
        elif part:
            out.add(int(part))
    return out


def is_sip(payload):
    if payload in (b"\r\n", b"\r\n\r\n"):  # RFC 5626 keep-alives
        return True
    if payload.startswith(SIP_STARTS):
        return True
    first = payload.split(b"\r\n", 1)[0]
    parts = first.split(b" ")
    return len(parts) == 3 and parts[0] in SIP_METHODS and parts[2] == b"SIP/2.0"


def is_rtp(payload):
    if len(payload) < 12 or payload[0] >> 6 != 2:
        return False
    return not 72 <= (payload[1] & 0x7F) <= 76  # RTCP SR/RR/SDES/BYE/APP (200-204)


def udp_datagrams(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        end = "<"
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        end = ">"
    else:
        sys.exit(f"rtp_count: {path}: not a pcap file")
    linktype = struct.unpack(end + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack(end + "I", data[off + 8:off + 12])[0]
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if linktype == 1:  # Ethernet (Linux lo)
            if len(pkt) < 14 or pkt[12:14] != b"\x08\x00":
                continue
            ip = pkt[14:]
        elif linktype == 113:  # Linux cooked
            if pkt[14:16] != b"\x08\x00":
                continue
            ip = pkt[16:]
        elif linktype in (12, 101):  # raw IP
            ip = pkt
        elif linktype == 0:  # BSD loopback
            ip = pkt[4:]
        else:
            sys.exit(f"rtp_count: unsupported link type {linktype}")
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        ihl = (ip[0] & 0x0F) * 4
        sport, dport, length = struct.unpack("!HHH", ip[ihl:ihl + 6])
        yield sport, dport, ip[ihl + 8:ihl + length]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pcap")
    ap.add_argument("--a", required=True)
    ap.add_argument("--b", required=True)
    ap.add_argument("--tandem", required=True)
    ap.add_argument("--min-rtp", type=int, default=100)
    args = ap.parse_args()
    a, b, tandem = ports(args.a), ports(args.b), ports(args.tandem)

    a_to_b = b_to_a = tandem_sip = tandem_other = 0
    for sport, dport, payload in udp_datagrams(args.pcap):
        if sport in tandem or dport in tandem:
            if is_sip(payload):
                tandem_sip += 1
            else:
                tandem_other += 1
                print(f"rtp_count: non-SIP datagram {sport} -> {dport}: {payload[:16]!r}")
        elif is_rtp(payload):
            if sport in a and dport in b:
                a_to_b += 1
            elif sport in b and dport in a:
                b_to_a += 1

    print(f"rtp_count: RTP a->b {a_to_b}, b->a {b_to_a}; "
          f"Tandem's ports: {tandem_sip} SIP, {tandem_other} other")
    ok = (a_to_b + b_to_a > args.min_rtp and min(a_to_b, b_to_a) > args.min_rtp // 2
          and tandem_sip > 0 and tandem_other == 0)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
