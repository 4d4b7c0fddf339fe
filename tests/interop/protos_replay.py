#!/usr/bin/env python3
# Copied from ../shared/testbed/scripts/protos_replay.py (written for this testbed; the PROTOS
# c07-sip cases themselves are GPLv2, from rtckit/protos-sip-test-cases, and are read from
# ../shared/testbed/corpora at run time, not copied here).
"""Replay the PROTOS c07-sip INVITE test cases (files from
github.com/rtckit/protos-sip-test-cases, cases/0000000..0004526) over UDP to a
loopback SIP target, the way c07-sip-r2.jar does: INVITE, short wait, CANCEL.
After every --check-every cases an OPTIONS with Max-Forwards: 0 is sent and
must be answered (liveness: a proxy answers 483 itself, a UA/B2BUA answers
200 or 483) -- any response with the same Call-ID counts.  Only loopback targets are accepted.

usage: protos_replay.py --target 127.0.0.1:5070 --cases DIR [--first N --last M]
       [--to user@127.0.0.1] [--wait 0.02] [--check-every 50]
"""
import argparse, os, random, socket, sys, time, ipaddress

def split_case(raw):
    out, pos = [], 0
    while pos < len(raw):
        sp = raw.index(b' ', pos)
        n = int(raw[pos:sp]); pos = sp + 1
        out.append(raw[pos:pos + n]); pos += n
    return out

def fill(pdu, rep):
    for k, v in rep.items():
        pdu = pdu.replace(k.encode(), v.encode())
    i = pdu.find(b'\r\n\r\n')
    if i >= 0:
        pdu = pdu.replace(b'<Content-Length>', str(len(pdu) - i - 4).encode())
    return pdu

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--target', default='127.0.0.1:5070')
    ap.add_argument('--cases', default=os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'corpora', 'protos-c07-sip', 'cases'))
    ap.add_argument('--first', type=int, default=0)
    ap.add_argument('--last', type=int, default=4526)
    ap.add_argument('--to', default=None)
    ap.add_argument('--wait', type=float, default=0.02)
    ap.add_argument('--check-every', type=int, default=50)
    a = ap.parse_args()
    host, port = a.target.rsplit(':', 1); port = int(port)
    if not ipaddress.ip_address(host).is_loopback:
        sys.exit('refusing non-loopback target')
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', 0)); lport = s.getsockname()[1]
    to = a.to or f'protos@{host}:{port}'
    answered, silent, dead, toolong = 0, 0, [], 0

    def alive(n):
        cid = f'live-{n}-{random.getrandbits(32):x}'
        msg = (f'OPTIONS sip:{to} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{lport};branch=z9hG4bK{cid}\r\n'
               f'From: <sip:check@127.0.0.1>;tag=1\r\nTo: <sip:{to}>\r\nCall-ID: {cid}\r\nCSeq: 1 OPTIONS\r\n'
               f'Max-Forwards: 0\r\nContent-Length: 0\r\n\r\n').encode()
        for _ in range(3):
            s.sendto(msg, (host, port)); s.settimeout(1.0)
            try:
                while True:
                    d, _ = s.recvfrom(65535)
                    if cid.encode() in d:
                        return True
            except socket.timeout:
                pass
        return False

    t0 = time.time()
    for n in range(a.first, a.last + 1):
        raw = open(os.path.join(a.cases, f'{n:07d}'), 'rb').read()
        pdus = split_case(raw)
        rep = {'<To>': to, '<From>': f'protos@127.0.0.1:{lport}', '<From-Address>': '127.0.0.1',
               '<From-IP>': '127.0.0.1', '<Local-Port>': str(lport),
               '<Branch-ID>': f'{random.getrandbits(48):012x}', '<Call-ID>': f'protos-{n}-{random.getrandbits(32):x}',
               '<CSeq>': str(n + 1), '<Teardown-Method>': 'CANCEL'}
        try:
            s.sendto(fill(pdus[0], rep), (host, port))
        except OSError:          # > 65507 bytes: cannot go in one UDP datagram
            toolong += 1
            continue
        got = False; s.settimeout(a.wait); end = time.time() + a.wait
        try:
            while time.time() < end:
                d, _ = s.recvfrom(65535); got = True
        except socket.timeout:
            pass
        for p in pdus[1:]:
            try:
                s.sendto(fill(p, rep), (host, port))
            except OSError:
                pass
        answered += got; silent += (not got)
        if (n - a.first + 1) % a.check_every == 0 or n == a.last:
            if not alive(n):
                dead.append(n); print(f'case {n}: target did not answer OPTIONS', flush=True)
                if len(dead) > 3:
                    break
    print(f'cases {a.first}..{n}: answered={answered} no-answer={silent} liveness-failures={len(dead)} '
          f'too-big-for-UDP={toolong} time={time.time()-t0:.1f}s')
    sys.exit(1 if dead else 0)

if __name__ == '__main__':
    main()
