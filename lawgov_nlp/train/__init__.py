"""Training: config dataclasses validated on construction (:mod:`.config`), the encoder's training
loop (:mod:`.loop`), the context model's (:mod:`.context`) and the TF-IDF baseline's (:mod:`.tfidf`). Metrics live in
:mod:`lawgov_nlp.metrics`, not here.

    from lawgov_nlp.train import load_config, run
    run(load_config("configs/train/default.yaml"))
    retrain("models/v1", ["new.json"], "models/v2")      # warm start on new annotations (:mod:`.warm`)
"""
from __future__ import annotations

import os
from typing import Callable

from .config import CONFIG_CLASSES, ContextConfig, TfidfConfig, TrainConfig, load_config, read_yaml


def run(config, *, resume: bool = True, log: Callable[[str], None] = print, progress: bool = True):
    """Train whatever kind a config (dataclass or YAML path) describes; returns the metrics or the tagger."""
    if isinstance(config, (str, os.PathLike)):
        config = load_config(config)
    if isinstance(config, TfidfConfig):
        from .tfidf import train_from_config

        return train_from_config(config, log=log)
    if isinstance(config, ContextConfig):
        from .context import train_context

        return train_context(config, resume=resume, log=log, progress=progress)
    from .loop import train as _train

    return _train(config, resume=resume, log=log, progress=progress)


def retrain(from_model, new_records=(), output_dir=None, **kwargs):
    """A new model warm-started from ``from_model`` on its training data plus new annotations
    (see :func:`lawgov_nlp.train.warm.retrain`); returns the new model directory."""
    from .warm import retrain as _retrain

    return _retrain(from_model, new_records, output_dir, **kwargs)


def train(config, **kwargs):
    """Fine-tune an encoder tagger as the config says (see :func:`lawgov_nlp.train.loop.train`)."""
    from .loop import train as _train

    return _train(config, **kwargs)


__all__ = ["TrainConfig", "ContextConfig", "TfidfConfig", "CONFIG_CLASSES", "load_config", "read_yaml", "run", "train", "retrain"]
