"""Leave-one-report-out on ``real`` for each tagging path, not only the float32 reference.

Usage: python training/benchmarks/lopo_paths.py [--model lawgov-zh-small] [--config configs/train/default.yaml]
                                                [--variants default,full-bf16] [--threads 2] [--out FILE.json]

The three real reports are training data of the shipped model's context layers, so its ``real``
figures are measured leave-one-report-out: for each report, the context layers are trained again
without it and tag it. Training records that for the float32 reference only. Here stage 2 of the
shipped config is run again on the vectors of the model's own encoder (``encoder_from`` the model
itself, so the encoder is the shipped one and the draft still belongs to it), and after each fold
every path tags the left-out report with that fold's layers and thresholds: the reference
(``exact=True``) and each variant (``default``: ``lg.load(model)``, the path users get;
``full-bf16``: ``draft=False``; ``draft``: ``draft=True``; ``onnx`` and ``int8`` as in parity.py). The 308 sentences' decisions are pooled
per path, scored against the gold labels, and compared with the reference's.

A run trains 3 folds plus the final layers (5 members each) into a temporary folder, removed at the
end; about 10–15 minutes on 2 cores.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from parity import OPTIONS as PARITY_OPTIONS  # noqa: E402 - the load options of each path

#: the paths that run as loaded (parity.py's ``student`` changes the draft after loading)
OPTIONS = {k: PARITY_OPTIONS[k] for k in ("default", "draft", "full-bf16", "onnx", "int8")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="lawgov-zh-small")
    ap.add_argument("--config", default=str(ROOT / "configs" / "train" / "default.yaml"))
    ap.add_argument("--variants", default="default,full-bf16")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, help="also write the results as JSON")
    a = ap.parse_args()
    unknown = sorted(set(a.variants.split(",")) - set(OPTIONS))
    if unknown:
        raise SystemExit(f"--variants: unknown {', '.join(unknown)}; choose from {', '.join(OPTIONS)}")

    import lawgov_nlp as lg
    from lawgov_nlp.data.corpus import load_records
    from lawgov_nlp.metrics import label_agreement, tagging_metrics
    from lawgov_nlp.models.backends import machine_description
    from lawgov_nlp.models.registry import resolve
    from lawgov_nlp.train.config import load_config
    from lawgov_nlp.train.context import train_context

    model_dir = Path(resolve(a.model)).resolve()
    config = Path(a.config).resolve()
    os.chdir(ROOT)  # the config's paths are relative to the repository root
    cfg = load_config(config)
    if getattr(cfg, "kind", None) != "context" or not cfg.loro_train:
        raise SystemExit(f"{config}: not a context-model config with loro_train documents to leave out")
    ref = lg.load(model_dir, exact=True, threads=a.threads)
    taggers = {"reference": ref, **{v: lg.load(model_dir, threads=a.threads, **OPTIONS[v]) for v in a.variants.split(",")}}
    records = {name: load_records(path, ref.scheme) for name, path in cfg.loro_train.items()}
    decided = {name: {t: [None] * len(recs) for t in taggers} for name, recs in records.items()}
    reread = {t: [0, 0] for t in taggers}

    def fold(name, k, net, thresholds, rows):
        recs = [records[name][i] for i in rows]
        for tn, t in taggers.items():
            t.context_net, t.thresholds = net, thresholds
            if hasattr(t, "clear_caches"):
                t.clear_caches()
            dp, rp = t.predict_records(recs)
            for i, d in zip(rows, t.decide(dp, rp)):
                decided[name][tn][i] = d
            st = getattr(t, "draft_stats", {})
            reread[tn][0] += st.get("reread", 0)
            reread[tn][1] += st.get("sentences", 0)
        print(f"{name}: document {k + 1} ({len(rows)} sentences) tagged by {', '.join(taggers)}", file=sys.stderr, flush=True)

    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="lawgov-lopo-") as tmp:
        run_cfg = dataclasses.replace(cfg, encoder_from=str(model_dir), output_dir=str(Path(tmp) / "m"),
                                      threads=a.threads)
        trained = train_context(run_cfg, log=lambda m: print(m, file=sys.stderr, flush=True), progress=False,
                                fold_hook=fold)
    minutes = (time.time() - t0) / 60
    print(f"leave-one-report-out for each path, model {model_dir.name}, stage 2 of {config.name} trained "
          f"again on its encoder's vectors ({minutes:.1f} min, {a.threads} threads, on {machine_description()})")
    print("| split | path | runs as | dimension macro-F1 | role macro-F1 | plan F1 | problem F1 | same dimension as the reference | same role | re-read |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    out = {"model": str(model_dir), "config": str(config), "minutes": round(minutes, 1), "machine": machine_description(),
           "rows": []}
    for name, recs in records.items():
        for tn, t in taggers.items():
            dec = decided[name][tn]
            if any(d is None for d in dec):
                raise SystemExit(f"{name}: some sentences were not tagged leave-one-out (training measured no folds)")
            m = tagging_metrics(recs, dec, ref.scheme)
            same_d, same_r = label_agreement(dec, decided[name]["reference"])
            rr = reread[tn][0] / reread[tn][1] if reread[tn][1] else None
            row = {"split": name, "path": tn, "runs_as": t.path_name, "sentences": len(recs),
                   **{k: m[k] for k in ("dimension_macro_f1", "role_macro_f1", "plan_f1", "problem_f1")},
                   "same_dimension": same_d, "same_role": same_r, "reread": rr}
            out["rows"].append(row)
            print(f"| {name} ({len(recs)}) | {tn} | {t.path_name} | {m['dimension_macro_f1']:.4f} | {m['role_macro_f1']:.4f} | "
                  f"{m['plan_f1'] or 0:.4f} | {m['problem_f1']:.4f} | {same_d:.4f} | {same_r:.4f} | "
                  f"{'-' if rr is None else format(rr, '.1%')} |")
        tr = trained.get(name, {})
        if "dimension_macro_f1" in tr:  # training's own leave-one-out figure (its vectors, batch 64) as a check
            print(f"(training's own leave-one-out of {name}: dimension macro-F1 {tr['dimension_macro_f1']:.4f}, "
                  f"role macro-F1 {tr['role_macro_f1']:.4f})")
            out[f"training_{name}"] = {k: tr[k] for k in ("dimension_macro_f1", "role_macro_f1", "plan_f1", "problem_f1")}
    if a.out:
        a.out.write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
