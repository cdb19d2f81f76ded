"""How many torch threads to tag with: 1 against 2 on this 2-core machine, idle and with one core busy.

    python training/benchmarks/threads.py [--model lawgov-zh-small] [--repeat 3]

Each cell runs in a fresh process (warm-up pass, then ``--repeat`` timed passes, median); the busy
case starts a pure-Python busy loop on one core first, as another job on a shared server does.
The last column is what ``default_threads()`` (the library's default: free cores by the 1-minute
load average) picked in that situation.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "tests" / "data" / "samples"


def one(model: str, threads: int | None, repeat: int) -> dict:
    import lawgov_nlp as lg
    from lawgov_nlp.models.encoder import default_threads

    docs = [lg.read_file(p) for p in sorted(SAMPLES.glob("*.txt"))]
    n = sum(len(d.sentences) for d in docs)
    t = lg.load(model, threads=threads)
    t.tag_documents(docs)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        t.tag_documents(docs)
        times.append(time.perf_counter() - t0)
    return {"threads": t.threads, "default": default_threads(), "sps": n / statistics.median(times)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--one", nargs=1, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        th = None if a.one[0] == "default" else int(a.one[0])
        print(json.dumps(one(a.model, th, a.repeat)))
        return
    rows = []
    for busy in (False, True):
        hog = None
        if busy:
            hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            time.sleep(65)  # let the 1-minute load average see it
        try:
            for th in ("1", "2", "default"):
                cmd = [sys.executable, __file__, "--one", th, "--repeat", str(a.repeat)]
                if a.model:
                    cmd += ["--model", a.model]
                r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
                if r.returncode:
                    print(r.stderr[-2000:], file=sys.stderr)
                    continue
                res = json.loads(r.stdout.strip().splitlines()[-1])
                rows.append((busy, th, res))
        finally:
            if hog is not None:
                hog.kill()
                hog.wait()
    print(f"tagging the 3 sample reports, {a.repeat} timed passes (median), model {a.model or 'shipped default'}")
    print("| other load | threads asked | threads used | sentences/s | default_threads() chose |")
    print("|---|---|---|---|---|")
    for busy, th, r in rows:
        print(f"| {'one core busy' if busy else 'idle'} | {th} | {r['threads']} | {r['sps']:.1f} | {r['default']} |")


if __name__ == "__main__":
    main()
