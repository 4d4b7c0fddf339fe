#!/usr/bin/env python3
"""Send SIP messages, one file per UDP datagram, to a loopback server and check each answer.

usage: send_corpus.py --target 127.0.0.1:15060 --expect FILE.tsv FILE...

FILE.tsv has lines `NAME<TAB>VERDICT` as printed by `tandem sip lint` (ok, a status code and
reason, or `drop ...`). The rules checked, per RFC 3261 and the issue:
  - a request the linter rejects (`400 ...`, `505 ...`) must get exactly that status code;
  - a request the linter accepts must get some final response, unless it is an ACK;
  - a response (lint `drop` or `ok` for a response) must get no answer at all.
Only loopback targets are accepted.  Exit status 0 when every file behaves, 1 otherwise.
"""
import argparse, ipaddress, os, re, socket, sys, time


VIA = re.compile(rb"^(?:via|v)[ \t]*:[ \t]*SIP[ \t]*/[ \t]*2\.0[ \t]*/[ \t]*[A-Za-z]+[ \t]+([^;,\s]+)", re.I | re.M)


def via_port(data):
    """The sent-by port of the top Via (5060 when absent): RFC 3261 section 18.2.2 sends the
    response of a request without rport to the source IP and this port, so the tester must
    listen there to hear it."""
    m = VIA.search(data)
    if not m:
        return 5060
    hostport = m.group(1).decode("latin-1")
    if hostport.startswith("["):
        _, _, rest = hostport.partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        _, _, port = hostport.partition(":")
    return int(port) if port.isdigit() and 0 < int(port) < 65536 else 5060


CALL_ID = re.compile(rb"^(?:call-id|i)[ \t]*:[ \t]*(\S+)", re.I | re.M)


def call_id(data):
    m = CALL_ID.search(data)
    return m.group(1) if m else None


def first_line(data):
    return data.split(b"\r\n", 1)[0].split(b"\n", 1)[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True)
    ap.add_argument("--expect", required=True)
    ap.add_argument("--wait", type=float, default=1.0)
    # The RFC 4475 files reuse branch values: sent back to back they are, rightly, matched as
    # retransmissions of one another (RFC 3261 section 17.2.3). Run the server with a short
    # T1 and leave a gap longer than 64*T1 between files so each starts a transaction.
    ap.add_argument("--gap", type=float, default=0.0)
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    host, port = a.target.rsplit(":", 1)
    port = int(port)
    if not ipaddress.ip_address(host).is_loopback:
        sys.exit("refusing non-loopback target")
    expect = {}
    for line in open(a.expect, encoding="utf-8"):
        path, _, verdict = line.rstrip("\n").partition(": ")
        expect[os.path.basename(path)] = verdict
    fails = 0
    for path in a.files:
        name = os.path.basename(path)
        data = open(path, "rb").read()
        verdict = expect.get(name)
        if verdict is None:
            print(f"{name}: no expected verdict"); fails += 1; continue
        is_response = first_line(data).startswith(b"SIP/")
        is_ack = first_line(data).startswith(b"ACK ")
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", via_port(data)))
        except OSError as e:
            print(f"{name}: cannot listen on the Via port {via_port(data)}: {e}"); fails += 1; continue
        s.settimeout(a.wait)
        s.sendto(data, (host, port))
        codes = []
        end = time.time() + a.wait
        try:
            while time.time() < end:
                d, _ = s.recvfrom(65535)
                m = re.match(rb"SIP/2\.0 (\d{3}) ", first_line(d))
                # Earlier files' INVITEs share the Via port and their final responses are
                # still being retransmitted (Timer G): only this request's Call-ID counts.
                cid = call_id(data)
                if cid is not None and call_id(d) != cid:
                    continue
                if m and int(m.group(1)) >= 200:
                    codes.append(int(m.group(1)))
                    break
        except socket.timeout:
            pass
        s.close()
        time.sleep(a.gap)
        got = codes[0] if codes else None
        if is_response or verdict.startswith("drop"):
            ok = got is None
            want = "no answer"
        elif verdict == "ok":
            ok = is_ack and got is None or (not is_ack and got is not None)
            want = "no answer" if is_ack else "a final response"
        else:
            want_code = int(verdict.split()[0])
            ok = got == want_code
            want = str(want_code)
        print(f"{name}: lint `{verdict}`, server answered {got or 'nothing'}: {'ok' if ok else 'FAIL, wanted ' + want}")
        fails += 0 if ok else 1
    print(f"{len(a.files) - fails} passed, {fails} failed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
