"""Training the TF-IDF + logistic-regression baseline from its config (``configs/train/tfidf.yaml``)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from .config import TfidfConfig, load_config


def train_tfidf(train_path, dev_path, out_dir, scheme=None, **params):
    """Train the baseline on ``train_path``, tune thresholds on ``dev_path`` (may be None), save it to
    ``out_dir`` (may be None: not saved) and return it."""
    from ..data.corpus import load_records
    from ..models.baselines import TfidfTagger
    from ..scheme import LabelScheme, load_scheme

    sc = scheme if isinstance(scheme, LabelScheme) else load_scheme(scheme)
    train = load_records(train_path, sc)
    dev = load_records(dev_path, sc) if dev_path else None
    tagger = TfidfTagger(sc, **params).fit(train, dev_records=dev)
    if out_dir:
        tagger.save(out_dir)
    return tagger


def train_from_config(config: TfidfConfig | str | os.PathLike, log: Callable[[str], None] = print):
    """Train the baseline a config describes; evaluates dev and ``eval`` once at the end
    (``metrics.json`` in the model directory). Returns the tagger."""
    from ..data.corpus import load_records
    from ..evaluation import evaluate_records
    from ..scheme import load_scheme

    cfg = config if isinstance(config, TfidfConfig) else load_config(config)
    scheme = load_scheme(cfg.scheme)
    if cfg.dev:
        from .loop import _check_splits

        _check_splits(cfg, load_records(cfg.train, scheme), load_records(cfg.dev, scheme), scheme, log)
    tagger = train_tfidf(cfg.train, cfg.dev, None, scheme, **cfg.params)
    evals = {"dev": cfg.dev} if cfg.dev else {}
    evals.update(cfg.eval or {})
    results: dict = {"config": cfg.to_dict()}
    for name, f in evals.items():
        recs = load_records(f, scheme)
        m = evaluate_records(tagger, recs)
        results[name] = m
        log(f"{name}: dimension macro-F1 {m['dimension_macro_f1']:.4f}, role macro-F1 {m['role_macro_f1']:.4f}, "
            f"problem F1 {m['problem_f1']:.4f} (n={len(recs)})")
    tagger.save(cfg.output_dir, metrics=results)
    log(f"saved {Path(cfg.output_dir)} (thresholds: problem {tagger.thresholds.problem}, "
        f"secondary {tagger.thresholds.secondary})")
    return tagger
