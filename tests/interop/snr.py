#!/usr/bin/env python3
"""SNR of a WAV against a reference WAV (both mono 16-bit, same rate), after aligning them.

usage: snr.py REFERENCE.wav TEST.wav --min-db 30
       snr.py REFERENCE.wav TEST.wav --segmental 160 --min-db 30 --min-fraction 0.9

The test signal may be delayed (a jitter buffer's playout delay): the lag is found by
cross-correlating a one-second window at a coarse step, then refined sample by sample. The
SNR is computed over the overlap. Exit status 0 when SNR >= --min-db.

--segmental FRAME: for audio that went through a live adaptive jitter buffer, whose playout
delay changes by whole frames during the call. Each 100 ms window of the reference (silent
ones skipped) is compared at its best lag among multiples of FRAME samples; the check passes
when at least --min-fraction of the windows reach --min-db.
"""
import argparse, math, struct, sys, wave


def read(path):
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            sys.exit(f"{path}: need mono 16-bit PCM")
        n = w.getnframes()
        return w.getframerate(), struct.unpack(f"<{n}h", w.readframes(n))


def corr(a, b, lag, start, length):
    s = 0
    for i in range(start, start + length):
        j = i + lag
        if 0 <= j < len(b):
            s += a[i] * b[j]
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("reference")
    ap.add_argument("test")
    ap.add_argument("--min-db", type=float, default=30.0)
    ap.add_argument("--max-lag-ms", type=int, default=300)
    ap.add_argument("--segmental", type=int, default=0, metavar="FRAME")
    ap.add_argument("--min-fraction", type=float, default=0.9)
    a = ap.parse_args()
    ra, ref = read(a.reference)
    rb, tst = read(a.test)
    if ra != rb:
        sys.exit(f"rates differ: {ra} vs {rb}")
    if a.segmental:
        return segmental(ref, tst, ra, a)
    max_lag = ra * a.max_lag_ms // 1000
    start, length = min(len(ref) // 4, ra // 2), min(ra, len(ref) // 2)
    coarse = max(range(0, max_lag + 1, 4), key=lambda l: corr(ref, tst, l, start, length))
    lag = max(range(max(0, coarse - 4), coarse + 5), key=lambda l: corr(ref, tst, l, start, length))
    sig = noise = 0.0
    for i in range(len(ref)):
        j = i + lag
        if j >= len(tst):
            break
        sig += ref[i] * ref[i]
        noise += (ref[i] - tst[j]) ** 2
    snr = 10 * math.log10(sig / noise) if noise > 0 else float("inf")
    ok = snr >= a.min_db
    print(f"lag {lag} samples ({1000 * lag / ra:.1f} ms), SNR {snr:.1f} dB (need >= {a.min_db}): {'ok' if ok else 'FAIL'}")
    return 0 if ok else 1


def segmental(ref, tst, rate, a):
    frame, window = a.segmental, rate // 10
    lags = range(0, rate * a.max_lag_ms // 1000 + 1, frame)
    results = []
    for start in range(0, len(ref) - window + 1, window):
        seg = ref[start:start + window]
        sig = sum(x * x for x in seg)
        if sig < window * 100 * 100:  # quieter than about -50 dBFS: nothing to compare
            continue
        best = -math.inf
        for lag in lags:
            if start + lag + window > len(tst):
                break
            noise = sum((x - tst[start + lag + i]) ** 2 for i, x in enumerate(seg))
            best = max(best, 10 * math.log10(sig / noise) if noise else 200.0)
        results.append(best)
    good = sum(1 for r in results if r >= a.min_db)
    frac = good / len(results) if results else 0.0
    ok = frac >= a.min_fraction
    med = sorted(results)[len(results) // 2] if results else float("nan")
    print(f"{len(results)} windows, {good} at >= {a.min_db} dB ({100 * frac:.0f}%, need "
          f"{100 * a.min_fraction:.0f}%), median {med:.1f} dB: {'ok' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
