"""Label agreement of each fast path with the float32 reference, on annotated splits.

Usage: python training/benchmarks/parity.py [--model lawgov-zh-small] [--splits dev,test,real]
                                            [--variants default,full-bf16,student,onnx,int8]
Variants: ``default`` (lg.load(model): the draft encoder first, the full encoder on the sentences in
doubt), ``full-bf16`` (draft=False: the full encoder on every sentence), ``student`` (the draft's
labels alone, nothing read again), ``onnx``, ``int8`` (fast=True, draft=False).
Prints, per split and variant, the share of sentences whose dimension and role (as decided, with the
model's thresholds) equal the reference's, both macro-F1s of the variant and of the reference against the gold labels, and the
share of sentences the full encoder read again.
"""
from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="lawgov-zh-small")
    ap.add_argument("--splits", default="dev,test,real")
    ap.add_argument("--variants", default="default,full-bf16,student")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()

    import lawgov_nlp as lg
    from lawgov_nlp.data.corpus import load_records
    from lawgov_nlp.metrics import tagging_metrics

    ref = lg.load(a.model, exact=True, threads=a.threads)
    opts = {"default": {}, "full-bf16": {"draft": False}, "student": {}, "onnx": {"backend": "onnx"},
            "int8": {"fast": True, "draft": False}}
    taggers = {v: lg.load(a.model, threads=a.threads, **opts[v]) for v in a.variants.split(",")}
    if "student" in taggers:
        if taggers["student"].draft is None or taggers["student"].draft.net is None:
            raise SystemExit(f"{a.model}: has no draft encoder running on this machine")
        taggers["student"].draft.margin, taggers["student"].draft.check = 0.0, None  # the draft alone
    print("| split | variant | runs as | same dimension | same role | dim macro-F1 (ref) | role macro-F1 (ref) | re-read |")
    print("|---|---|---|---|---|---|---|---|")
    for split in a.splits.split(","):
        recs = load_records(ROOT / "training" / "data" / f"{split}.jsonl", ref.scheme)
        rd, rr = ref.predict_records(recs)
        rdec = ref.decide(rd, rr)
        rm = tagging_metrics(recs, rdec, ref.scheme)
        for name, t in taggers.items():
            if hasattr(t, "draft_stats"):  # each split starts cold and is counted alone
                t.vector_cache = type(t.vector_cache)(t.vector_cache.size)
                t.draft_cache = type(t.vector_cache)(t.vector_cache.size)
                t.draft_stats = {"sentences": 0, "reread": 0}
            d, r = t.predict_records(recs)
            st = getattr(t, "draft_stats", {})
            share = f"{st['reread'] / st['sentences']:.1%}" if st.get("sentences") else "-"
            dec = t.decide(d, r)
            m = tagging_metrics(recs, dec, t.scheme)
            same_dim = sum(x.dimension == y.dimension for x, y in zip(dec, rdec)) / len(dec)
            same_role = sum(x.role == y.role for x, y in zip(dec, rdec)) / len(dec)
            print(f"| {split} ({len(recs)}) | {name} | {t.path_name} | {same_dim:.4f} | "
                  f"{same_role:.4f} | {m['dimension_macro_f1']:.4f} "
                  f"({rm['dimension_macro_f1']:.4f}) | {m['role_macro_f1']:.4f} ({rm['role_macro_f1']:.4f}) | {share} |", flush=True)


if __name__ == "__main__":
    main()
