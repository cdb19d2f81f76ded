"""Tagging speed and memory on the three sample reports, all variants in one run.

Usage: python training/benchmarks/tag_speed.py [--model models/lawgov-zh-small] [--repeat 5] [--threads 2]

Variants (each in its own subprocess, so peak memory is its own):
  naive     a transformers.pipeline("text-classification")-style loop: one sentence per
            forward pass, in document order, same weights (fp32, LoRA merged), default threads
  fp32      the library's path: Tagger.predict_proba (batched, length-sorted, inference mode)
  int8      the fast path: Tagger.load(fast=True) (dynamic int8 quantization of Linear layers)
  tfidf     the TF-IDF + logistic-regression baseline (models/baseline-tfidf)
  keywords  the keyword-rule baseline
Spaced like spaCy's benchmarks: one warm-up pass, then --repeat timed passes over all
sentences; prints median and min–max sentences/s, peak RSS (MB) of the process, and the
ratio of the median to the naive loop's.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "tests" / "data" / "samples"


def sentences():
    from lawgov_nlp import read_file

    out = []
    for p in sorted(SAMPLES.glob("*.txt")):
        out += [(s.text, s.section) for s in read_file(p).sentences]
    return out


def run_variant(name: str, model: str, repeat: int, threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    sents = sentences()
    texts = [t for t, _ in sents]
    secs = [s for _, s in sents]
    if name == "naive":
        import lawgov_nlp as lg
        from lawgov_nlp.models.encoder import encode_items, tokenize_items

        t = lg.load(model, threads=threads)
        net = t.net
        if hasattr(net.encoder, "merge_and_unload"):
            net.encoder = net.encoder.merge_and_unload()
        net.eval()

        def once():
            out = []
            for text, sec in sents:  # one sentence at a time, as a pipeline loop does
                items, _, _ = encode_items(t.tokenizer, t.settings, [text], [sec])
                with torch.no_grad():
                    for it in items:
                        b = tokenize_items(t.tokenizer, t.settings, [it])
                        dl, rl = net(b["input_ids"], b["attention_mask"])
                        out.append((torch.softmax(dl, -1), torch.softmax(rl, -1)))
            return out
    elif name in ("fp32", "int8"):
        import lawgov_nlp as lg

        t = lg.load(model, fast=(name == "int8"), threads=threads)

        def once():
            return t.predict_proba(texts, secs)
    else:
        import lawgov_nlp as lg

        t = lg.load("keywords" if name == "keywords" else str(ROOT / "models" / "baseline-tfidf"))

        def once():
            return t.predict_proba(texts, secs)
    once()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        once()
        times.append(time.perf_counter() - t0)
    rates = [len(texts) / x for x in times]
    return {"variant": name, "sentences": len(texts), "median_sps": statistics.median(rates),
            "min_sps": min(rates), "max_sps": max(rates),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(ROOT / "models" / "lawgov-zh-small"))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--variants", default="naive,fp32,int8,tfidf,keywords")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(run_variant(a.one, a.model, a.repeat, a.threads)))
        return
    results = []
    for v in a.variants.split(","):
        r = subprocess.run([sys.executable, __file__, "--one", v, "--model", a.model, "--repeat", str(a.repeat),
                            "--threads", str(a.threads)], capture_output=True, text=True,
                           env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
        if r.returncode:
            print(f"{v}: failed\n{r.stderr[-2000:]}", file=sys.stderr)
            continue
        results.append(json.loads(r.stdout.strip().splitlines()[-1]))
    base = next((r["median_sps"] for r in results if r["variant"] == "naive"), None)
    print(f"tagging speed on the 3 sample reports ({results[0]['sentences'] if results else 0} sentences), "
          f"{a.threads} threads, {a.repeat} timed passes after a warm-up; model {a.model}")
    print("| variant | sentences/s (median) | min–max | peak RSS MB | × naive |")
    print("|---|---|---|---|---|")
    for r in results:
        ratio = f"{r['median_sps'] / base:.1f}×" if base else "-"
        print(f"| {r['variant']} | {r['median_sps']:.0f} | {r['min_sps']:.0f}–{r['max_sps']:.0f} | "
              f"{r['peak_rss_mb']:.0f} | {ratio} |")


if __name__ == "__main__":
    main()
