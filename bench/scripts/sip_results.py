#!/usr/bin/env python3
"""Prints the RESULTS.md tables of the `sip_parse` benchmark from criterion's estimates.

Usage (after `cargo bench -p tandem-bench --bench sip_parse ...`, from the workspace root):
    python3 bench/scripts/sip_results.py [target/criterion]

Reads `<workload>_<message>/<parser>/new/estimates.json` (criterion turns the `/` of the
group name into `_`) and prints, per workload, the median time of every parser per message
and how many times faster Tandem is than each competitor. A parser with no estimate for a
message (the benchmark prints `rejects` for it) is shown as "rejects".
"""

import json
import sys
from pathlib import Path

WORKLOADS = [
    ("parse_serialize", "parse + serialize (into a reused buffer)"),
    ("parse", "parse only"),
    ("parse_typed", "parse + typed Via/From/To/CSeq/Call-ID"),
]
MESSAGES = ["invite", "200ok", "wsinv"]
PARSERS = ["tandem", "sipx-sip", "rsip", "ezk-sip-types", "rvoip-sip-core"]


def median_ns(root: Path, workload: str, message: str, parser: str):
    f = root / f"{workload}_{message}" / parser / "new" / "estimates.json"
    if not f.exists():
        return None
    return json.loads(f.read_text())["median"]["point_estimate"]


def fmt_time(ns):
    if ns is None:
        return "rejects"
    if ns >= 1000:
        return f"{ns / 1000:.2f} µs"
    return f"{ns:.0f} ns"


def main():
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
    for workload, title in WORKLOADS:
        print(f"#### {title} (`{workload}/<message>/<parser>`), median\n")
        print("| parser | " + " | ".join(MESSAGES) + " |")
        print("|---|" + "---:|" * len(MESSAGES))
        times = {
            p: [median_ns(root, workload, m, p) for m in MESSAGES] for p in PARSERS
        }
        for p in PARSERS:
            cells = []
            for t, tandem in zip(times[p], times["tandem"]):
                c = fmt_time(t)
                if p != "tandem" and t is not None and tandem:
                    c += f" (tandem {t / tandem:.1f}× faster)"
                cells.append(c)
            print(f"| {p} | " + " | ".join(cells) + " |")
        best = []
        for i, _ in enumerate(MESSAGES):
            rivals = [
                (times[p][i], p)
                for p in PARSERS
                if p != "tandem" and times[p][i] is not None
            ]
            tandem = times["tandem"][i]
            if rivals and tandem:
                t, p = min(rivals)
                best.append(f"{t / tandem:.1f}× ({p})")
            else:
                best.append("n/a")
        print("| **tandem vs fastest other** | " + " | ".join(best) + " |\n")


if __name__ == "__main__":
    main()
