"""Accuracy of every model and baseline on dev, test and the real-sample split, in one run.

Usage: python training/benchmarks/accuracy_table.py [--models ...] [--out-dir runs/eval]

Default models: the shipped fine-tuned model (fp32 and its int8 fast path), the TF-IDF +
logistic-regression baseline and the keyword baseline. Prints a Markdown table
(dimension macro-F1 and accuracy, role macro-F1, plan F1, problem-flag F1 per split) and, with --out-dir, writes
each evaluation's metrics.json, confusion matrices and most confident errors there.
"""
from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SPLITS = ["dev", "test", "real"]


def main() -> None:
    from lawgov_nlp import load as load_any
    from lawgov_nlp.data import load_records
    from lawgov_nlp.evaluation import evaluate_tagger, write_evaluation

    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", default=[
        "models/lawgov-zh-small", "models/lawgov-zh-small:fast", "models/baseline-tfidf", "keywords"])
    ap.add_argument("--out-dir", type=Path)
    ap.add_argument("--splits", nargs="+", default=SPLITS)
    a = ap.parse_args()
    SPLITS[:] = a.splits
    rows = []
    for spec in a.models:
        name, _, flag = spec.partition(":")
        path = name if name == "keywords" else str(ROOT / name)
        tagger = load_any(path, fast=True) if flag == "fast" else load_any(path)
        row = [spec]
        for split in SPLITS:
            data = ROOT / "training" / "data" / f"{split}.jsonl"
            m = evaluate_tagger(tagger, load_records(data, tagger.scheme))
            row.append(m)
            if a.out_dir:
                write_evaluation(m, a.out_dir / f"{spec.replace('/', '_').replace(':', '-')}_{split}",
                                 {"model": spec, "data": str(data.relative_to(ROOT))})
        rows.append(row)
    print(f"| model | split | n | dim macro-F1 | dim accuracy | role macro-F1 | plan F1 | problem F1 |")
    print("|---|---|---|---|---|---|---|---|")
    for split_i, split in enumerate(SPLITS):
        for spec, *ms in rows:
            m = ms[split_i]
            print(f"| {spec} | {split} | {m['dimension']['n']} | {m['dimension_macro_f1']:.3f} | "
                  f"{m['dimension']['accuracy']:.3f} | {m['role_macro_f1']:.3f} | {m['plan_f1'] or 0:.3f} | "
                  f"{m['problem_f1']:.3f} |")

if __name__ == "__main__":
    main()
