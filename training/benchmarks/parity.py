"""Label agreement of each fast path with the float32 reference, on annotated splits.

Usage: python training/benchmarks/parity.py [--model lawgov-zh-small] [--splits dev,real]
                                            [--student runs/lawgov-zh-small-6l] [--variants default,onnx,student]
Prints, per split and variant, the share of sentences whose dimension and role equal the
reference's, and both macro-F1s of the variant and of the reference against the gold labels.
"""
from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="lawgov-zh-small")
    ap.add_argument("--splits", default="dev,real")
    ap.add_argument("--student", default=str(ROOT / "runs" / "lawgov-zh-small-6l"))
    ap.add_argument("--variants", default="default,onnx,student")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()

    import lawgov_nlp as lg
    from lawgov_nlp.data.corpus import load_records
    from lawgov_nlp.metrics import tagging_metrics

    ref = lg.load(a.model, exact=True, threads=a.threads)
    opts = {"default": (a.model, {}), "onnx": (a.model, {"backend": "onnx"}), "student": (a.student, {"exact": True}),
            "int8": (a.model, {"fast": True})}
    taggers = {v: lg.load(opts[v][0], threads=a.threads, **opts[v][1]) for v in a.variants.split(",")}
    print("| split | variant | runs as | same dimension | same role | dim macro-F1 (ref) | role macro-F1 (ref) |")
    print("|---|---|---|---|---|---|---|")
    for split in a.splits.split(","):
        recs = load_records(ROOT / "training" / "data" / f"{split}.jsonl", ref.scheme)
        rd, rr = ref.predict_records(recs)
        rm = tagging_metrics(recs, ref.decide(rd, rr), ref.scheme)
        for name, t in taggers.items():
            d, r = t.predict_records(recs)
            m = tagging_metrics(recs, t.decide(d, r), t.scheme)
            print(f"| {split} ({len(recs)}) | {name} | {t.path_name} | {(d.argmax(1) == rd.argmax(1)).mean():.4f} | "
                  f"{(r.argmax(1) == rr.argmax(1)).mean():.4f} | {m['dimension_macro_f1']:.4f} "
                  f"({rm['dimension_macro_f1']:.4f}) | {m['role_macro_f1']:.4f} ({rm['role_macro_f1']:.4f}) |", flush=True)


if __name__ == "__main__":
    main()
