"""Active-learning benchmark: ``lawgov data suggest``'s choice against random sampling, simulated.

    nice python training/benchmarks/active_learning.py --strategies margin,entropy --random-seeds 3
    # 26 trainings, 18 min on the shared 2-core machine (vectors cached after the first run: 6 min more)

Protocol (on ``training/data/train.jsonl`` and ``dev.jsonl``; test is not used):

* the training documents are split by document (seed ``--seed``): 30 % are labelled from the
  start (the seed set), the other 70 % are the unlabelled pool;
* every round retrains the model the same way and records dev dimension and role macro-F1;
  then ``--per-round`` (100) pool sentences get their gold labels revealed, chosen either by
  :func:`lawgov_nlp.data.suggest.select` (the ranking and diversity rules of ``lawgov data
  suggest``, on the current model's probabilities for the whole pool documents) or uniformly at
  random (``--random-seeds`` repetitions); ``--rounds`` (5) rounds;
* **the retraining** (the same for every strategy and round): stage 2 of ``lawgov train``
  (:func:`lawgov_nlp.train.context.train_context`, the BiGRU context layer of the shipped
  config, one member instead of an ensemble of five) with ``partial_labels``: every training
  document is in the sequence, and only the labelled sentences carry loss. The sentence vectors
  come from the **frozen bundled base encoder** (no stage-1 fine-tuning), encoded once and
  cached: the shipped model's encoder has seen every training document, which would leak, and
  stage 1 on the seed set alone takes longer than the whole benchmark may. Absolute F1 is
  therefore below the shipped model's; the comparison between strategies is what this measures.

Writes ``training/benchmarks/active_learning.{json,md,png}``.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def read(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def base_encoder_dir(out: Path, threads: int) -> Path:
    """An ``encoder`` model directory of the bundled base as it is: zero-initialised LoRA adapters
    (the identity) and untrained heads, so stage 2 reads the base's own sentence vectors."""
    from lawgov_nlp.models.base import load_base_tokenizer
    from lawgov_nlp.models.encoder import EncoderTagger
    from lawgov_nlp.models.network import build_network
    from lawgov_nlp.models.settings import EncoderSettings
    from lawgov_nlp.scheme import load_scheme

    d = out / "encoder-base"
    if (d / "lawgov_model.json").is_file():
        return d
    scheme = load_scheme()
    settings = EncoderSettings(base="bundled", use_section=False, max_length=128)
    net = build_network(settings, len(scheme.dimension_codes), len(scheme.role_codes), seed=0).eval()
    settings.hidden_size = net.hidden_size
    EncoderTagger(net, load_base_tokenizer("bundled"), settings, scheme, threads=threads).save(d, metrics={})
    return d


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train", default=str(ROOT / "training/data/train.jsonl"))
    ap.add_argument("--dev", default=str(ROOT / "training/data/dev.jsonl"))
    ap.add_argument("--work", default=str(ROOT / "runs/active_learning"), help="scratch folder (vectors, models)")
    ap.add_argument("--out", default=str(ROOT / "training/benchmarks/active_learning"), help="output stem")
    ap.add_argument("--seed-fraction", type=float, default=0.3)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--per-round", type=int, default=100)
    ap.add_argument("--strategies", default="margin", help="suggest strategies, comma-separated (margin,entropy)")
    ap.add_argument("--random-seeds", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--patience", type=int, default=6)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--report", metavar="JSON", help="only write the table and figure again from a results JSON")
    args = ap.parse_args(argv)
    if args.report:
        write_report(json.loads(Path(args.report).read_text(encoding="utf-8")), Path(args.out))
        return 0

    import numpy as np
    import torch

    from lawgov_nlp.data.suggest import select
    from lawgov_nlp.models.registry import load
    from lawgov_nlp.scheme import load_scheme
    from lawgov_nlp.train.config import ContextConfig
    from lawgov_nlp.train.context import _VectorSource, _docs_and_labels, _vectors, train_context

    t_all = time.time()
    torch.set_num_threads(args.threads)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    scheme = load_scheme()
    train, dev = read(Path(args.train)), read(Path(args.dev))
    doc_ids = sorted({r["doc_id"] for r in train})
    random.Random(args.seed).shuffle(doc_ids)
    n_seed = round(args.seed_fraction * len(doc_ids))
    seed_docs = set(doc_ids[:n_seed])
    pool_idx = [i for i, r in enumerate(train) if r["doc_id"] not in seed_docs]
    n_seed_sents = len(train) - len(pool_idx)
    print(f"{len(doc_ids)} training documents: {n_seed} seed ({n_seed_sents} sentences labelled), "
          f"{len(doc_ids) - n_seed} pool ({len(pool_idx)} sentences unlabelled); dev {len(dev)} sentences", flush=True)

    # the frozen base encoder and its vectors of every train and dev sentence (cached where train_context looks)
    t0 = time.time()
    enc_dir = base_encoder_dir(work, args.threads)
    encoder = load(enc_dir, threads=args.threads, batch_size=64, exact=True)
    docs_train, _, _, _ = _docs_and_labels(train, scheme)
    docs_dev, _, _, _ = _docs_and_labels(dev, scheme)
    vec = _vectors(_VectorSource(encoder), {"train": docs_train, "dev": docs_dev},
                   enc_dir.parent / f".{enc_dir.name}.vectors", lambda m: print(m, flush=True))
    table = {s.text: v for d, vv in zip(docs_train, vec["train"]) for s, v in zip(d, vv)}
    t_vectors = time.time() - t0
    print(f"vectors ready in {t_vectors:.0f} s", flush=True)

    timings: list[float] = []

    def retrain(labelled: set[int], name: str):
        """Stage 2 on all training documents, loss on the labelled sentences only; dev metrics and the model."""
        rows = [r if (r["doc_id"] in seed_docs or i in labelled) else {**r, "dimension": None, "role": None,
                                                                      "secondary": []}
                for i, r in enumerate(train)]
        d = work / name
        d.mkdir(parents=True, exist_ok=True)
        (d / "train.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        cfg = ContextConfig(train=str(d / "train.jsonl"), dev=args.dev, output_dir=str(d / "model"),
                            encoder_from=str(enc_dir), partial_labels=True, context={"ensemble": 1},
                            epochs=args.epochs, early_stopping_patience=args.patience, seed=42, threads=args.threads)
        t = time.time()
        res = train_context(cfg, log=lambda m: None, progress=False)
        timings.append(time.time() - t)
        m = res["dev"]
        return {"dimension_macro_f1": m["dimension_macro_f1"], "role_macro_f1": m["role_macro_f1"],
                "mean_macro_f1": (m["dimension_macro_f1"] + m["role_macro_f1"]) / 2,
                "best_epoch": res["best_epoch"], "seconds": round(timings[-1], 1)}, d / "model"

    def pool_probabilities(model_dir: Path):
        """The model's probabilities for every pool sentence, each read in its whole document."""
        t = load(model_dir, threads=args.threads, exact=True)
        keys = [s.text for d in docs_train for s in d]
        from lawgov_nlp.text.chars import to_simplified

        t.vector_cache.store([to_simplified(k) for k in keys], np.stack([table[k] for k in keys]))
        recs = [train[i] for i in pool_idx]
        return t.predict_records(recs)

    def describe(picked: list[int]) -> dict:
        """What a round chose: documents, headings and gold labels (revealed after the choice)."""
        from collections import Counter

        rs = [train[i] for i in picked]
        return {"sent_ids": [r["sent_id"] for r in rs], "documents": len({r["doc_id"] for r in rs}),
                "headings": sum(bool(r.get("is_heading")) for r in rs),
                "dimensions": dict(Counter(r["dimension"] for r in rs).most_common()),
                "roles": dict(Counter(r["role"] for r in rs).most_common())}

    def line(strategy, rnd, labelled, m):
        print(f"{strategy:>10} round {rnd}: {len(labelled):4d} pool labels, dev dimension {m['dimension_macro_f1']:.4f} "
              f"role {m['role_macro_f1']:.4f} mean {m['mean_macro_f1']:.4f} ({m['seconds']:.0f} s, best epoch "
              f"{m['best_epoch']})", flush=True)

    curves: dict[str, list[dict]] = {}

    def partial(curves):  # what is done so far, in case the run is stopped
        Path(args.out).with_suffix(".partial.json").write_text(json.dumps({"curves": curves, "trainings": timings},
                                                                          indent=1) + "\n", encoding="utf-8")
    m0, model0 = retrain(set(), "seed")
    line("seed", 0, set(), m0)
    start = {"labels": 0, **m0}
    for strategy in [s for s in args.strategies.split(",") if s]:
        labelled: set[int] = set()
        curve = [start]
        model = model0
        for rnd in range(1, args.rounds + 1):
            dp, rp = pool_probabilities(model)
            free = [k for k, i in enumerate(pool_idx) if i not in labelled]
            cand = [train[pool_idx[k]] for k in free]
            known = [r["text"] for i, r in enumerate(train) if r["doc_id"] in seed_docs or i in labelled]
            chosen = select(cand, dp[free], rp[free], args.per_round, strategy=strategy, seed=rnd, exclude=known)
            picked = [pool_idx[free[k]] for k in chosen]
            labelled |= set(picked)
            m, model = retrain(labelled, f"{strategy}-r{rnd}")
            line(strategy, rnd, labelled, m)
            curve.append({"labels": len(labelled), **m, "chosen": describe(picked)})
            curves[strategy] = curve
            partial(curves)
    for s in range(args.random_seeds):
        rng = random.Random(1000 + s)
        labelled = set()
        curve = [start]
        for rnd in range(1, args.rounds + 1):
            free = [i for i in pool_idx if i not in labelled]
            picked = rng.sample(free, min(args.per_round, len(free)))
            labelled |= set(picked)
            m, _ = retrain(labelled, f"random{s}-r{rnd}")
            line(f"random#{s}", rnd, labelled, m)
            curve.append({"labels": len(labelled), **m, "chosen": describe(picked)})
            curves[f"random#{s}"] = curve
            partial(curves)

    total = time.time() - t_all
    result = {"command": "python training/benchmarks/active_learning.py " + " ".join(argv or sys.argv[1:]),
              "data": {"train": _rel(args.train), "dev": _rel(args.dev)}, "seed_documents": sorted(seed_docs),
              "seed_sentences": n_seed_sents, "pool_sentences": len(pool_idx), "args": vars(args),
              "curves": curves, "seconds": {"vectors": round(t_vectors, 1), "trainings": [round(x, 1) for x in timings],
                                            "total": round(total, 1)}}
    out = Path(args.out)
    out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    out.with_suffix(".partial.json").unlink(missing_ok=True)
    write_report(result, out)
    print(f"{len(timings)} trainings, {sum(timings):.0f} s; total {total:.0f} s; wrote {out}.{{json,md,png}}", flush=True)
    return 0


def _rel(p: str) -> str:
    try:
        return str(Path(p).resolve().relative_to(ROOT))
    except ValueError:
        return p


def summarise(result: dict) -> dict:
    """Random's mean curve, and for each strategy the fewest labels at which it reaches random's final mean macro-F1."""
    import numpy as np

    curves = result["curves"]
    rand = [c for k, c in curves.items() if k.startswith("random")]
    out = {}
    if rand:
        mean = {key: [float(np.mean([c[r][key] for c in rand])) for r in range(len(rand[0]))]
                for key in ("dimension_macro_f1", "role_macro_f1", "mean_macro_f1")}
        out["random_mean"] = mean
        target = mean["mean_macro_f1"][-1]
        final_labels = rand[0][-1]["labels"]
        out["target"] = target
        out["final_labels"] = final_labels
        for k, c in curves.items():
            if k.startswith("random"):
                continue
            hit = next((p["labels"] for p in c if p["mean_macro_f1"] >= target - 1e-9), None)
            out[k] = {"reaches_at": hit, "fraction": None if hit is None else hit / final_labels,
                      "final": c[-1]["mean_macro_f1"]}
    return out


def write_report(result: dict, out: Path) -> None:
    s = summarise(result)
    curves = result["curves"]
    names = list(curves)
    rounds = len(next(iter(curves.values())))
    lines = [f"Command: `{result['command']}` (data: `{result['data']['train']}`, `{result['data']['dev']}`; "
             f"{result['seed_sentences']} seed sentences in {len(result['seed_documents'])} documents, a pool of "
             f"{result['pool_sentences']} sentences; {result['seconds']['total'] / 60:.1f} min in all).", "",
             "Dev macro-F1 (dimension / role / mean) after each round; labels = pool sentences labelled.", "",
             "| round | labels | " + " | ".join(names) + (" | random (mean) |" if "random_mean" in s else " |"),
             "|---|---|" + "---|" * (len(names) + ("random_mean" in s))]
    for r in range(rounds):
        cells = [f"{c[r]['dimension_macro_f1']:.3f} / {c[r]['role_macro_f1']:.3f} / **{c[r]['mean_macro_f1']:.3f}**"
                 for c in curves.values()]
        if "random_mean" in s:
            rm = s["random_mean"]
            cells.append(f"{rm['dimension_macro_f1'][r]:.3f} / {rm['role_macro_f1'][r]:.3f} / **{rm['mean_macro_f1'][r]:.3f}**")
        lines.append(f"| {r} | {curves[names[0]][r]['labels']} | " + " | ".join(cells) + " |")
    lines.append("")
    if "target" in s:
        rand = [c for k, c in curves.items() if k.startswith("random")]
        finals = [c[-1]["mean_macro_f1"] for c in rand]
        lines.append(f"- The seed model alone: {curves[names[0]][0]['mean_macro_f1']:.3f}. Random sampling ends at "
                     f"{s['target']:.3f} (mean of {len(rand)} runs; {min(finals):.3f}–{max(finals):.3f}): one "
                     "retraining's noise is of the order of the differences below, so read them as such.")
        for k, v in s.items():
            if not isinstance(v, dict) or "reaches_at" not in v:
                continue
            if v["reaches_at"] is None:
                lines.append(f"- **{k}** does not reach random sampling's final mean macro-F1 ({s['target']:.3f} at "
                             f"{s['final_labels']} labels, mean of the random runs) within {s['final_labels']} labels; "
                             f"it ends at {v['final']:.3f}.")
            else:
                ok = "meets" if v["fraction"] <= 0.6 + 1e-9 else "misses"
                lines.append(f"- **{k}** reaches random sampling's final mean macro-F1 ({s['target']:.3f} at "
                             f"{s['final_labels']} labels) with {v['reaches_at']} labels ({v['fraction']:.0%}): it "
                             f"{ok} the goal of ≤ 60 %; it ends at {v['final']:.3f}.")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover
        print("matplotlib is not installed: no PNG", file=sys.stderr)
        return
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, key, title in zip(axes, ("dimension_macro_f1", "role_macro_f1", "mean_macro_f1"),
                              ("dimension macro-F1", "role macro-F1", "mean macro-F1")):
        for k, c in curves.items():
            style = dict(color="0.6", lw=1, ls="--") if k.startswith("random") else dict(lw=2, marker="o")
            ax.plot([p["labels"] for p in c], [p[key] for p in c], label=k, **style)
        if "random_mean" in s:
            ax.plot([p["labels"] for p in curves[names[-1]]], s["random_mean"][key], color="k", lw=1.5,
                    label="random (mean)")
        ax.set_title(f"dev {title}")
        ax.set_xlabel("pool sentences labelled")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out.with_suffix(".png"), dpi=110)


if __name__ == "__main__":
    raise SystemExit(main())
