"""Streaming and memory: `lawgov tag` over 10, 100 and 1,000 reports in one run each.

Usage: python training/benchmarks/streaming.py [--docs 10,100,1000] [--model lawgov-zh-small]
                                               [--threads 2] [--cache 0] [--draft] [--out FILE.json]

Each size is one run of the real command line, ``python -m lawgov_nlp tag FOLDER -o tags.jsonl -q``,
in its own process, on a folder of N report files: the three real samples and the 71 written
corpus documents (training/corpus/docs), dealt in turn and copied under distinct names until there
are N. The default model's path is the one users get (bfloat16 where the CPU has it).

Copies repeat the same sentences, which the sentence-vector cache would serve without encoding, so
the cache is off by default (``--cache 0`` sets ``LAWGOV_VECTOR_CACHE``): every sentence is
encoded, as in a corpus without repeats, and the time is an upper bound for real corpora.

Reported per size: documents, sentences, wall time, sentences/s, seconds per document, the
process's peak RSS (from ``wait4``), and its RSS sampled every 0.5 s (after 10 % of the documents
and at the end), which shows whether memory grows with the number of documents.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "tests" / "data" / "samples").glob("*.txt")) + sorted((ROOT / "training" / "corpus" / "docs").glob("*.txt"))


def make_folder(n: int, where: Path) -> Path:
    """N report files in a new folder: the sources in turn, copy k of a source named ``k_<name>``."""
    folder = where / f"docs{n}"
    folder.mkdir()
    for i in range(n):
        src = SOURCES[i % len(SOURCES)]
        shutil.copyfile(src, folder / f"{i // len(SOURCES):04d}_{src.name}")
    return folder


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _done_docs(out: Path) -> int:
    """Documents finished so far: the distinct paths in the JSONL written up to now."""
    try:
        text = out.read_text(encoding="utf-8")
    except OSError:
        return 0
    paths = set()
    for line in text.splitlines():
        if line.strip():
            try:
                paths.add(json.loads(line)["path"])
            except (ValueError, KeyError):
                pass
    return len(paths)


def run_size(n: int, model: str, threads: int, cache: str, tmp: Path, switches: tuple[str, ...] = ()) -> dict:
    folder = make_folder(n, tmp)
    out = tmp / f"tags{n}.jsonl"
    env = dict(os.environ, LAWGOV_THREADS=str(threads), LAWGOV_VECTOR_CACHE=cache)
    cmd = [sys.executable, "-m", "lawgov_nlp", "tag", str(folder), "-o", str(out), "--model", model, "-q", *switches]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=tmp)
    samples = []  # (seconds, rss MB)
    rss_at_tenth = None
    next_check = 0.0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        now = time.perf_counter() - t0
        samples.append((now, _rss_mb(proc.pid)))
        if rss_at_tenth is None and now >= next_check:  # reading the output is cheap next to tagging
            next_check = now + 5
            if _done_docs(out) >= max(1, n // 10):
                rss_at_tenth = samples[-1][1]
        time.sleep(0.5)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} exited with {code}")
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines() if x.strip()]
    docs = len({r["path"] for r in lines})
    shutil.rmtree(folder)
    return {"documents": docs, "sentences": len(lines), "wall_s": wall, "sentences_per_s": len(lines) / wall,
            "s_per_document": wall / docs, "peak_rss_mb": usage.ru_maxrss / 1024,
            "rss_after_10pct_mb": rss_at_tenth, "rss_at_end_mb": samples[-1][1] if samples else None,
            "rss_samples": len(samples)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", default="10,100,1000")
    ap.add_argument("--model", default="lawgov-zh-small")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cache", default="0", help="LAWGOV_VECTOR_CACHE for the runs (0: every sentence encoded)")
    ap.add_argument("--out", type=Path, help="also write the results as JSON")
    ap.add_argument("--draft", action="store_true", help="run the draft path (lawgov tag --draft) instead of the default")
    a = ap.parse_args()
    switches = ("--draft",) if a.draft else ()
    results = []
    with tempfile.TemporaryDirectory(prefix="lawgov-stream-") as d:
        for n in [int(x) for x in a.docs.split(",")]:
            r = run_size(n, a.model, a.threads, a.cache, Path(d), switches)
            results.append(r)
            print(json.dumps(r), flush=True)
    base = results[0]
    from lawgov_nlp.models.backends import machine_description

    print(f"\n`python training/benchmarks/streaming.py --docs {a.docs} --threads {a.threads} --cache {a.cache}"
          f"{' --draft' if a.draft else ''}` (model {a.model}; {len(SOURCES)} source reports dealt in turn; "
          f"on {machine_description()})\n")
    print("| documents | sentences | wall (s) | sentences/s | s per document | × time of the first size per document | peak RSS (MB) | RSS after 10 % / at end (MB) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        ten = f"{r['rss_after_10pct_mb']:.0f}" if r["rss_after_10pct_mb"] else "–"
        end = f"{r['rss_at_end_mb']:.0f}" if r["rss_at_end_mb"] else "–"
        print(f"| {r['documents']} | {r['sentences']} | {r['wall_s']:.1f} | {r['sentences_per_s']:.1f} | "
              f"{r['s_per_document']:.3f} | {r['s_per_document'] / base['s_per_document']:.2f} | "
              f"{r['peak_rss_mb']:.0f} | {ten} / {end} |")
    if a.out:
        a.out.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
