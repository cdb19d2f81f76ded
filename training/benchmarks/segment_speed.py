"""Segmentation throughput on the sample reports (one core: pure Python, single thread).

Usage: python training/benchmarks/segment_speed.py [--repeat 7] [--copies 20]

Times (a) segment() on the text and (b) the whole read path (decode, detect
script, find page chrome and mojibake, segment) on the UTF-8 bytes. The three
sample reports are concatenated ``--copies`` times so each timed run handles
~1 MB; prints median and min/max over ``--repeat`` runs after one warm-up.
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from lawgov_nlp.text.reading import read_bytes
from lawgov_nlp.text.segment import segment

SAMPLES = Path(__file__).resolve().parents[2] / "tests" / "data" / "samples"


def timeit(fn, repeat):
    fn()  # warm-up (OpenCC tables, regex caches)
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        r = fn()
        out.append(time.perf_counter() - t)
    return out, r


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--copies", type=int, default=20)
    a = ap.parse_args()
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(SAMPLES.glob("*.txt")))
    big = "\n".join([text] * a.copies)
    data = big.encode("utf-8")
    mb = len(data) / 1e6
    print(f"input: 3 sample reports x {a.copies} = {len(big):,} characters, {mb:.2f} MB UTF-8")
    for name, fn in [("segment(text)", lambda: segment(big)),
                     ("read_bytes(bytes) incl. decode, chrome, mojibake, segment", lambda: read_bytes(data, "bench.txt").sentences)]:
        times, sents = timeit(fn, a.repeat)
        med = statistics.median(times)
        print(f"{name}: median {med * 1000:.0f} ms (min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}); "
              f"{mb / med:.2f} MB/s, {len(sents) / med:,.0f} sentences/s ({len(sents):,} sentences)")


if __name__ == "__main__":
    main()
