"""Evaluate any model on any annotated file: predictions, confusion matrices, error lists, outputs.

``lawgov evaluate MODEL DATA -o OUTDIR`` writes:

* ``metrics.json``   per-class P/R/F1/support, macro and weighted F1, accuracy for the
                     dimension and the role, problem-flag P/R/F1, timing;
* ``confusion_dimension.csv`` / ``.png`` and ``confusion_role.csv`` / ``.png``;
* ``errors.csv``     the most confident errors (text, gold, predicted, score).
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from .data.corpus import load_records
from .metrics import confusion, tagging_metrics


def evaluate_records(tagger, records) -> dict:
    """:func:`~lawgov_nlp.metrics.tagging_metrics` of a tagger on annotated records (grouped into documents)."""
    dp, rp = tagger.predict_records(list(records))
    return tagging_metrics(list(records), tagger.decide(dp, rp), tagger.scheme)


def plot_confusion(df, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    m = df.to_numpy()
    labels = [c.split(":", 1)[1] for c in df.columns]
    fig, ax = plt.subplots(figsize=(1 + 0.6 * len(labels), 0.8 + 0.55 * len(labels)), dpi=110)
    norm = m / np.maximum(1, m.sum(axis=1, keepdims=True))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title, fontsize=10)
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            if m[i, j]:
                ax.text(j, i, str(m[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if norm[i, j] > 0.5 else "black")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def evaluate_tagger(tagger, records: list[dict], top_errors: int = 50) -> dict[str, Any]:
    """Metrics, confusion matrices and most confident errors of a tagger on gold records."""
    t0 = time.perf_counter()
    dp, rp = tagger.predict_records(records)
    seconds = time.perf_counter() - t0
    decided = tagger.decide(dp, rp)
    m = tagging_metrics(records, decided, tagger.scheme)
    dims, roles = list(tagger.dimensions), list(tagger.roles)
    errors = []
    for i, (r, d) in enumerate(zip(records, decided)):
        if d.dimension != r["dimension"]:
            errors.append({"kind": "dimension", "sent_id": r.get("sent_id"), "text": r["text"], "gold": r["dimension"],
                           "predicted": d.dimension, "score": float(dp[i][dims.index(d.dimension)])})
        if d.role != r["role"]:
            errors.append({"kind": "role", "sent_id": r.get("sent_id"), "text": r["text"], "gold": r["role"],
                           "predicted": d.role, "score": float(rp[i][roles.index(d.role)])})
    errors.sort(key=lambda e: -e["score"])
    m["confusion_dimension"] = confusion([r["dimension"] for r in records], [d.dimension for d in decided], dims)
    m["confusion_role"] = confusion([r["role"] for r in records], [d.role for d in decided], roles)
    m["errors"] = errors[:top_errors] if top_errors else errors
    m["n_errors"] = {"dimension": sum(e["kind"] == "dimension" for e in errors),
                     "role": sum(e["kind"] == "role" for e in errors)}
    m["seconds"] = round(seconds, 3)
    m["sentences_per_second"] = round(len(records) / seconds, 1) if seconds else None
    return m


def write_evaluation(m: dict, out_dir: Path, meta: dict) -> Path:
    """Write metrics.json, confusion CSV/PNG and errors.csv into ``out_dir``."""
    import pandas as pd

    out_dir.mkdir(parents=True, exist_ok=True)
    for kind in ("dimension", "role"):
        df = m[f"confusion_{kind}"]
        df.to_csv(out_dir / f"confusion_{kind}.csv", encoding="utf-8")
        plot_confusion(df, out_dir / f"confusion_{kind}.png", f"{kind}: {meta.get('model')} on {meta.get('data')}")
    pd.DataFrame(m["errors"], columns=["kind", "sent_id", "text", "gold", "predicted", "score"]).to_csv(
        out_dir / "errors.csv", index=False, encoding="utf-8-sig")
    js = {k: v for k, v in m.items() if not k.startswith("confusion_") and k != "errors"}
    js["confusion_dimension"] = m["confusion_dimension"].to_dict(orient="split")
    js["confusion_role"] = m["confusion_role"].to_dict(orient="split")
    js["most_confident_errors"] = m["errors"][:20]
    js.update(meta)
    path = out_dir / "metrics.json"
    path.write_text(json.dumps(js, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path


def evaluate_path(model: str, data: str | Path, out_dir: str | Path | None = None, fast: bool = False,
                  top_errors: int = 50) -> dict[str, Any]:
    """Load any model by name/path, evaluate it on an annotated JSONL file, optionally write results."""
    from .models.registry import load

    tagger = load(model, fast=fast)
    records = load_records(data, tagger.scheme)
    m = evaluate_tagger(tagger, records, top_errors)
    if out_dir:
        write_evaluation(m, Path(out_dir), {"model": str(model), "data": str(data), "fast": fast})
    return m


def format_summary(m: dict, name: str = "") -> str:
    lines = [f"{name}: {m['dimension']['n']} sentences" if name else f"{m['dimension']['n']} sentences"]
    lines.append(f"  dimension: macro-F1 {m['dimension_macro_f1']:.4f}, weighted F1 {m['dimension']['weighted_f1']:.4f}, "
                 f"accuracy {m['dimension']['accuracy']:.4f}")
    lines.append(f"  role: macro-F1 {m['role_macro_f1']:.4f}, accuracy {m['role']['accuracy']:.4f}")
    p = m["problem"]
    lines.append(f"  problem flag: precision {p['precision']:.4f}, recall {p['recall']:.4f}, F1 {p['f1']:.4f} (support {p['support']})")
    lines.append("  per dimension (P / R / F1 / support):")
    for k, v in m["dimension"]["per_class"].items():
        lines.append(f"    {k:<12} {v['precision']:.3f} / {v['recall']:.3f} / {v['f1']:.3f} / {v['support']}")
    return "\n".join(lines)
