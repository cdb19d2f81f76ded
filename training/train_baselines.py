"""Train the TF-IDF + LR baseline and evaluate both baselines on dev, test and real.

    python training/train_baselines.py                       # train + table
    python training/train_baselines.py --card                # … and rewrite models/baseline-tfidf/README.md
    python training/train_baselines.py --no-train            # evaluate the saved model only
    python training/train_baselines.py --json out.json       # … and write all metrics as JSON

Run from the repository root. Training: ``configs/train/tfidf.yaml`` (train split; the
problem threshold is tuned on dev; test and real are only evaluated). The keyword
baseline needs no training. Metrics: ``lawgov_nlp.metrics.tagging_metrics``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SPLITS = ("dev", "test", "real")


def _fmt(x: float) -> str:
    return f"{x:.3f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default="configs/train/tfidf.yaml")
    ap.add_argument("--data", default="training/data", help="folder with dev/test/real .jsonl")
    ap.add_argument("--no-train", action="store_true", help="evaluate the saved model instead of training")
    ap.add_argument("--card", action="store_true", help="rewrite the model card README.md in the output dir")
    ap.add_argument("--json", help="write all metrics here")
    args = ap.parse_args(argv)
    os.chdir(ROOT)

    import lawgov_nlp as lg
    from lawgov_nlp.data import load_records
    from lawgov_nlp.evaluation import evaluate_records
    from lawgov_nlp.models.baselines import KeywordTagger
    from lawgov_nlp.scheme import load_scheme
    from lawgov_nlp.train import load_config, run

    cfg = load_config(args.config)
    out_dir = Path(cfg.output_dir)
    scheme = load_scheme(cfg.scheme)
    t0 = time.perf_counter()
    if not args.no_train:
        run(cfg, log=lambda m: print(m, file=sys.stderr))
    tfidf = lg.load(out_dir)  # evaluate what was saved, not what is in memory
    train_s = time.perf_counter() - t0
    taggers = {"keywords": KeywordTagger(scheme), "tfidf-lr": tfidf}
    results: dict = {}
    for split in SPLITS:
        recs = load_records(Path(args.data) / f"{split}.jsonl", scheme)
        for name, tagger in taggers.items():
            m = evaluate_records(tagger, recs)
            results.setdefault(name, {})[split] = {
                "n": len(recs), "dimension_macro_f1": m["dimension_macro_f1"], "dimension_accuracy": m["dimension"]["accuracy"],
                "role_macro_f1": m["role_macro_f1"], "problem_f1": m["problem_f1"],
                "problem_precision": m["problem"]["precision"], "problem_recall": m["problem"]["recall"]}
    size = (out_dir / "model.joblib").stat().st_size
    rows = ["| baseline | split | n | dimension macro-F1 | dimension accuracy | role macro-F1 | problem P / R / F1 |",
            "|---|---|---|---|---|---|---|"]
    for name in taggers:
        for split in SPLITS:
            r = results[name][split]
            rows.append(f"| {name} | {split} | {r['n']} | {_fmt(r['dimension_macro_f1'])} | {_fmt(r['dimension_accuracy'])} | "
                        f"{_fmt(r['role_macro_f1'])} | {_fmt(r['problem_precision'])} / {_fmt(r['problem_recall'])} / "
                        f"{_fmt(r['problem_f1'])} |")
    table = "\n".join(rows)
    print(table)
    print(f"\nmodel.joblib: {size / 1e6:.2f} MB; thresholds: problem {tfidf.thresholds.problem}, "
          f"secondary {tfidf.thresholds.secondary}; {'loaded' if args.no_train else 'trained'} in {train_s:.1f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    if args.card:
        write_card(out_dir, tfidf, table, size, args.config)
    return 0


def write_card(out_dir: Path, tfidf, table: str, size: int, config: str) -> None:
    import sklearn

    p = tfidf.params
    text = f"""# baseline-tfidf: TF-IDF + logistic regression (baseline)

A baseline for the fine-tuned tagger, loaded like any model:
`lawgov_nlp.load("baseline-tfidf")` (a shipped model's name) or `lawgov tag --model baseline-tfidf`,
then `tag_text` / `tag_file` / `predict_proba`. Not meant to be the tool's default.

**Data.** Trained on `training/data/train.jsonl` (5,205 sentences, 52 written
pseudo-reports; see `training/DATASHEET.md`). The problem-flag threshold is tuned on
`dev.jsonl`; `test.jsonl` and `real.jsonl` (the three real sample reports) are only
evaluated. Label scheme: `scheme.yaml` ({tfidf.scheme.name}).

**Features.** Text converted to simplified script, numbers replaced by `0`:
jieba words (private tokenizer, default dictionary, HMM off; ≤ {p['max_word']:,}),
character 1–3-grams (≤ {p['max_char']:,}), and character 1–2-grams of the heading path
(last three headings; ≤ {p['max_section']:,}, weight {p['section_weight']}) as a separate
feature block; TF-IDF with sublinear tf, min_df {p['min_df']}.
**Classifiers.** Two `LogisticRegression` (lbfgs, C={p['C']}, class_weight="balanced",
random_state={p['random_state']}): dimension and role.
**Thresholds.** problem {tfidf.thresholds.problem} (tuned on dev); secondary
{tfidf.thresholds.secondary} (kept at the default when dev has too few secondary labels).

**Files.** `lawgov_model.json` (the manifest: kind, thresholds, labels, parameters, versions, checksums),
`scheme.yaml`, `model.joblib` ({size / 1e6:.2f} MB, scikit-learn {sklearn.__version__};
a pickle — load only a copy you trust), `metrics.json`.

**Produced by** (repository root, CPU, one thread):

    python training/train_baselines.py --card

(config `{config}`; equivalently `lawgov train {config}`.)

## Measured (`lawgov_nlp.metrics.tagging_metrics`)

The keyword baseline (`lawgov_nlp.load("keywords")`: the scheme's cue words, no training) is
measured in the same run for comparison.

{table}

Real-split per-class figures are noisy (rules 6, emergency 9, digital 11, oversight 13
sentences).
"""
    (out_dir / "README.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
