"""Variants of the context layer on one stage-1 encoder, chosen on dev only.

    python training/experiments/context/sweep.py [--base training/experiments/context/gru.yaml] [--only NAME ...]

Each variant is gru.yaml with a few keys changed (VARIANTS below), trained by the same code as
``lawgov train`` into runs/sweep/<name>; the sentence vectors are encoded once and reused. Prints
a Markdown table of dev, test and real metrics and writes runs/sweep/results.json. Choices are made
on the dev columns; test and real are reported, never used to choose.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

VARIANTS: dict[str, dict] = {
    "gru": {},
    "isolated": {"context": {"layer": "none"}},
    "no-augmentation": {"augment": {"stale_section": 0.0, "drop_heading": 0.0, "replace_heading": 0.0, "crop": 0.0}},
    "stack-tfidf": {"context": {"stack_tfidf": True}},
    "gru-seed1": {"seed": 1},
    "gru-seed2": {"seed": 2},
    "noise0.3": {"vector_noise": 0.3},
    "dropout0.4": {"context": {"input_dropout": 0.4, "dropout": 0.3}},
    "hidden256": {"context": {"hidden": 256}},
    "hidden64": {"context": {"hidden": 64}},
    "layers2": {"context": {"layers": 2}},
    "transformer": {"context": {"layer": "transformer", "hidden": 128, "layers": 2, "heads": 4}},
    "no-gate-prior": {"context": {"dimension_gate_bias": 0.0}},
    "strong-aug": {"augment": {"stale_section": 0.8, "drop_heading": 0.2, "replace_heading": 0.1, "crop": 0.5}},
    "no-noise": {"vector_noise": 0.0},
    "ensemble5": {"context": {"ensemble": 5}},
    "ensemble5-layers2": {"context": {"ensemble": 5, "layers": 2}},
}


def merged(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = {**base.get(k, {}), **v} if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", default=str(ROOT / "training" / "experiments" / "context" / "gru.yaml"))
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--out", default=str(ROOT / "runs" / "sweep"))
    a = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from lawgov_nlp.train.config import ContextConfig, read_yaml
    from lawgov_nlp.train.context import train_context

    base = read_yaml(a.base)
    out = Path(a.out)
    results = json.loads((out / "results.json").read_text(encoding="utf-8")) if (out / "results.json").is_file() else {}
    for name, over in VARIANTS.items():
        if a.only and name not in a.only:
            continue
        cfg = ContextConfig(**merged(base, {**over, "output_dir": str(out / name)}))
        m = train_context(cfg, progress=False, log=lambda s: None)
        results[name] = {"override": over, **{s: {k: m[s][k] for k in ("dimension_macro_f1", "role_macro_f1", "plan_f1",
                                                                        "problem_f1")} | {"dimension_accuracy": m[s]["dimension"]["accuracy"]}
                                              for s in ("dev", "test", "real") if s in m}, "best_epoch": m["best_epoch"]}
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
        r = results[name]
        print(f"{name}: dev dim {r['dev']['dimension_macro_f1']:.4f} role {r['dev']['role_macro_f1']:.4f}", flush=True)
    print("| variant | change | dev dim F1 | dev role F1 | dev plan F1 | test dim F1 | test role F1 | real dim F1 | real role F1 | real plan F1 |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | `{json.dumps(r['override'], ensure_ascii=False)}` | {r['dev']['dimension_macro_f1']:.3f} | "
              f"{r['dev']['role_macro_f1']:.3f} | {r['dev']['plan_f1']:.3f} | {r['test']['dimension_macro_f1']:.3f} | "
              f"{r['test']['role_macro_f1']:.3f} | {r['real']['dimension_macro_f1']:.3f} | {r['real']['role_macro_f1']:.3f} | "
              f"{r['real']['plan_f1']:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
