#!/usr/bin/env python3
"""The last statistics block of a SIPp stdout log as key=value pairs (for bench/b2b-load.sh).
usage: sipp_summary.py sipp.out      (from ../shared/testbed/scripts/sipp_summary.py)"""
import re
import sys

t = open(sys.argv[1], errors="replace").read()


def last(pat):
    m = re.findall(pat, t)
    return m[-1] if m else None


succ = last(r"Successful call\s+\|\s+\d+\s+\|\s+(\d+)")
fail = last(r"Failed call\s+\|\s+\d+\s+\|\s+(\d+)")
created = last(r"Total Calls created\s+\|\s+\|\s+(\d+)")
# message lines of the scenario screen: name, arrow, messages, retrans, timeout/unexpected...
retr = re.findall(r"^\s+(\S+)\s+(?:-+>|<-+)\s+(?:E-RTD1\s+)?(\d+)\s+(\d+)", t, re.M)
n = len(re.findall(r"^\s+(?:\S+)\s+(?:-+>|<-+)", t.split("Messages  Retrans")[-1], re.M))
print(f"created={created or 0} ok={succ or 0} failed={fail or 0} "
      f"retrans={sum(int(r[2]) for r in retr[-n:]) if retr and n else 0}")
