"""Metrics and threshold tuning (scikit-learn underneath); nothing here trains or loads a model.

The project's metric is also an ``evaluate`` module (:func:`load_metric`), loaded from a path
inside the package, so it works offline like any other.
"""
from __future__ import annotations

from typing import Any, Sequence


def classification_metrics(gold: list[str], pred: list[str], labels: list[str]) -> dict:
    """Per-class precision/recall/F1/support, macro and weighted F1, accuracy.

    Macro-F1 averages over the classes present in the gold labels (a class that is
    only predicted still costs precision of the others, but adds no zero of its own).
    """
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    present = [l for l in labels if l in set(gold) | set(pred)]
    p, r, f, s = precision_recall_fscore_support(gold, pred, labels=present, zero_division=0)
    per = {l: {"precision": float(a), "recall": float(b), "f1": float(c), "support": int(d)}
           for l, a, b, c, d in zip(present, p, r, f, s)}
    gold_labels = [l for l in labels if l in set(gold)]
    macro = float(sum(per[l]["f1"] for l in gold_labels) / max(1, len(gold_labels)))
    weighted = float(sum(per[l]["f1"] * per[l]["support"] for l in gold_labels) / max(1, len(gold)))
    return {"per_class": per, "macro_f1": macro, "weighted_f1": weighted,
            "accuracy": float(accuracy_score(gold, pred)) if gold else 0.0, "n": len(gold)}


def binary_metrics(gold: list[bool], pred: list[bool]) -> dict:
    from sklearn.metrics import precision_recall_fscore_support

    p, r, f, _ = precision_recall_fscore_support(gold, pred, average="binary", zero_division=0)
    return {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(sum(gold))}


def label_metrics(gold_dims: list[str], gold_roles: list[str], pred_dims: list[str], pred_roles: list[str],
                  pred_problem: list[bool], scheme) -> dict:
    """Dimension and role metrics plus problem-flag P/R/F1, from label lists."""
    dim = classification_metrics(gold_dims, pred_dims, scheme.dimension_codes)
    role = classification_metrics(gold_roles, pred_roles, scheme.role_codes)
    prob = binary_metrics([g == scheme.problem_role for g in gold_roles], [bool(x) for x in pred_problem])
    plan = (role["per_class"].get("plan") or {}).get("f1")
    return {"dimension": dim, "role": role, "problem": prob,
            "dimension_macro_f1": dim["macro_f1"], "role_macro_f1": role["macro_f1"], "problem_f1": prob["f1"],
            "plan_f1": plan, "mean_macro_f1": (dim["macro_f1"] + role["macro_f1"]) / 2}


def tagging_metrics(records: Sequence[dict], decided: Sequence[Any], scheme) -> dict:
    """:func:`label_metrics` for gold records and a tagger's :class:`~lawgov_nlp.records.Decision` list."""
    return label_metrics([r["dimension"] for r in records], [r["role"] for r in records],
                         [d.dimension for d in decided], [d.role for d in decided],
                         [d.is_problem for d in decided], scheme)


def label_agreement(a: Sequence[Any], b: Sequence[Any]) -> tuple[float, float]:
    """Shares of sentences whose decided dimension and role are the same in two lists of decisions."""
    n = max(1, len(a))
    return (sum(x.dimension == y.dimension for x, y in zip(a, b)) / n,
            sum(x.role == y.role for x, y in zip(a, b)) / n)


def macro_f1_gap(m: dict, ref: dict, ref_prefix: str = "") -> float:
    """The larger of the dimension and role macro-F1 differences between two :func:`tagging_metrics`
    results (``ref``'s keys may carry a prefix, as a row holding both does: ``"ref_"``)."""
    return max(abs(m[f"{h}_macro_f1"] - ref[f"{ref_prefix}{h}_macro_f1"]) for h in ("dimension", "role"))


def tune_thresholds(dim_p, role_p, records: Sequence[dict], scheme, current: Any = None) -> dict:
    """Secondary-dimension and problem thresholds that maximise F1 on the given (dev) data.

    ``current`` (anything with ``.secondary``) is the threshold kept when the data has too
    few gold secondary labels to tune on.
    """
    import numpy as np

    dims, roles = scheme.dimension_codes, scheme.role_codes
    keep_secondary = float(getattr(current, "secondary", 0.35))
    pi = roles.index(scheme.problem_role)
    gold_prob = np.array([r["role"] == scheme.problem_role for r in records])
    best_t, best_f = 0.5, -1.0
    for t in np.arange(0.2, 0.81, 0.025):
        pred = role_p[:, pi] >= t
        tp = float((pred & gold_prob).sum())
        f = 2 * tp / max(1.0, float(pred.sum() + gold_prob.sum()))
        if f > best_f + 1e-9:
            best_t, best_f = float(round(t, 3)), f
    # secondary: micro-F1 over (sentence, dimension) pairs, the primary excluded
    gold_sec = {(i, d) for i, r in enumerate(records) for d in (r.get("secondary") or [])}
    if len(gold_sec) < 5:  # too few gold secondaries to tune on: keep the configured threshold
        return {"problem_threshold": best_t, "problem_f1_dev": best_f,
                "secondary_threshold": keep_secondary, "secondary_f1_dev": None,
                "secondary_note": f"dev has {len(gold_sec)} gold secondary labels; threshold kept at {keep_secondary}"}
    best_s, best_sf = 0.5, -1.0
    top = dim_p.argmax(1)
    for t in np.arange(0.1, 0.61, 0.025):
        pred = {(i, dims[j]) for i in range(len(records)) for j in np.nonzero(dim_p[i] >= t)[0]
                if j != top[i] and dims[j] != scheme.fallback_dimension}
        tp = len(pred & gold_sec)
        f = 2 * tp / max(1, len(pred) + len(gold_sec))
        if f > best_sf + 1e-9:
            best_s, best_sf = float(round(t, 3)), f
    return {"problem_threshold": best_t, "problem_f1_dev": best_f,
            "secondary_threshold": best_s, "secondary_f1_dev": best_sf}


def confusion(gold: list[str], pred: list[str], labels: list[str]):
    """Confusion matrix as a DataFrame: rows gold, columns predicted."""
    import pandas as pd
    from sklearn.metrics import confusion_matrix

    m = confusion_matrix(gold, pred, labels=labels)
    return pd.DataFrame(m, index=[f"gold:{x}" for x in labels], columns=[f"pred:{x}" for x in labels])


# --------------------------------------------------------------------------- evaluate module
METRIC_MODULE = "lawgov_tagging"


def metric_path() -> str:
    """Path of the project's ``evaluate`` metric script inside the package."""
    from importlib import resources

    return str(resources.files("lawgov_nlp").joinpath("metric", f"{METRIC_MODULE}.py"))


def load_metric(scheme=None):
    """The project's metric as an ``evaluate.EvaluationModule`` (offline: loaded from the package).

    ``metric.compute(predictions=[[dim, role], …], references=[[dim, role], …])`` gives the
    same figures as :func:`label_metrics` (dimension/role macro-F1, plan and problem F1).
    """
    import evaluate

    name = None if scheme is None else str(getattr(scheme, "path", None) or scheme)
    return evaluate.load(metric_path(), config_name=name)
