"""Training configs: one YAML loader, one dataclass per model kind, validated on construction.

    cfg = load_config("configs/train/default.yaml")     # kind: context | encoder (the default kind) | tfidf
    TrainConfig(pooling="max")                            # raises ConfigError at once

Every config names its ``kind``; :func:`load_config` reads the YAML once and gives the matching
dataclass, so ``lawgov train`` trains any kind from its file. Relative paths are relative to
the current directory.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..models.settings import ContextSettings, EncoderSettings, LoraSettings, build_dataclass

SELECT_METRICS = ("mean_macro_f1", "dimension_macro_f1", "role_macro_f1")


def read_yaml(path: str | os.PathLike) -> dict:
    """The mapping in a YAML file, or a :class:`ConfigError` naming the file and the problem."""
    import yaml

    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such config file") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{p}: not UTF-8 text ({e.reason} at byte {e.start})") from e
    except OSError as e:
        raise ConfigError(f"{p}: cannot read config ({e.strerror or e})") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"{p}: not valid YAML ({e})") from e
    if data is None:
        raise ConfigError(f"{p}: the config file is empty")
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: a training config is a mapping of keys to values")
    return data


def _positive(name: str, v: Any) -> None:
    if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
        raise ConfigError(f"{name} must be a positive integer, got {v!r}")


def _nonneg_number(name: str, v: Any) -> None:
    if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
        raise ConfigError(f"{name} must be a number ≥ 0, got {v!r}")


def _path(name: str, v: Any, optional: bool = False) -> None:
    if v is None and optional:
        return
    if not isinstance(v, (str, os.PathLike)) or not str(v).strip():
        raise ConfigError(f"{name} must be a file path, got {v!r}")


@dataclass
class _Common:
    scheme: str = "zh-2021"
    train: str = "training/data/train.jsonl"
    dev: str | None = "training/data/dev.jsonl"
    eval: dict = field(default_factory=dict)        # name -> file, evaluated once at the end (test, real …)
    output_dir: str = "models/lawgov-zh-small"

    def _check_common(self) -> None:
        _path("train", self.train)
        _path("dev", self.dev, optional=True)
        _path("output_dir", self.output_dir)
        if not isinstance(self.eval, dict) or not all(isinstance(k, str) for k in self.eval):
            raise ConfigError(f"eval must be a mapping of split name to file, got {self.eval!r}")
        for k, v in self.eval.items():
            _path(f"eval.{k}", v)


@dataclass
class TrainConfig(_Common):
    """Fine-tuning an ``encoder`` model (see ``configs/train/encoder.yaml`` for every key)."""

    kind: str = "encoder"
    base: str = "bundled"
    max_length: int = 128
    use_section: bool = True
    section_max_tokens: int = 32
    pooling: str = "mean"
    batch_size: int = 16
    eval_batch_size: int = 64
    learning_rate: float = 5e-4
    head_learning_rate: float = 2e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    epochs: int = 8
    early_stopping_patience: int = 2
    select_metric: str = "mean_macro_f1"
    class_weighting: Any = "auto"                   # auto | none | {code: weight}
    role_loss_weight: float = 1.0
    dropout: float = 0.1
    seed: int = 42
    lora: LoraSettings | None = field(default_factory=LoraSettings)
    encoder_layers: int | None = None               # keep only the first N layers of the base (smaller student)
    save_full: bool = False
    threads: int | None = None
    max_train_examples: int | None = None
    init_from: str | None = None                    # warm start: a model directory whose trained weights start
    #                                                 the network (see lawgov_nlp.train.warm)

    def __post_init__(self) -> None:
        if self.kind != "encoder":
            raise ConfigError(f"kind must be 'encoder' for this config class, got {self.kind!r}")
        self._check_common()
        if self.dev is None:
            raise ConfigError("dev is required: it selects the model and tunes the thresholds")
        self.lora = LoraSettings.from_value(self.lora)
        self.encoder_settings()  # validates base, lengths, pooling, dropout, layers
        if self.select_metric not in SELECT_METRICS:
            raise ConfigError(f"select_metric must be one of {', '.join(SELECT_METRICS)}, got {self.select_metric!r}")
        if not (isinstance(self.class_weighting, dict) or self.class_weighting in ("auto", "none", None)):
            raise ConfigError("class_weighting must be auto, none or a mapping of dimension code to weight")
        for k in ("batch_size", "eval_batch_size", "epochs"):
            _positive(k, getattr(self, k))
        for k in ("learning_rate", "head_learning_rate", "weight_decay", "role_loss_weight"):
            _nonneg_number(k, getattr(self, k))
        if not 0 <= float(self.warmup_ratio) < 1:
            raise ConfigError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio!r}")
        if not isinstance(self.early_stopping_patience, int) or self.early_stopping_patience < 0:
            raise ConfigError(f"early_stopping_patience must be a whole number ≥ 0, got {self.early_stopping_patience!r}")
        for k in ("threads", "max_train_examples"):
            if getattr(self, k) is not None:
                _positive(k, getattr(self, k))
        _path("init_from", self.init_from, optional=True)

    def encoder_settings(self) -> EncoderSettings:
        return EncoderSettings(base=self.base, max_length=self.max_length, use_section=self.use_section,
                               section_max_tokens=self.section_max_tokens, pooling=self.pooling, dropout=self.dropout,
                               lora=self.lora, encoder_layers=self.encoder_layers, save_full=self.save_full)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike, overrides: dict | None = None) -> "TrainConfig":
        data = {**read_yaml(path), **(overrides or {})}
        return build_dataclass(cls, data, str(path))

    @classmethod
    def from_dict(cls, data: dict, where: str = "<config>") -> "TrainConfig":
        return build_dataclass(cls, dict(data), where)

    def to_dict(self) -> dict:
        return asdict(self)

    def fingerprint(self) -> str:
        d = asdict(self)
        d.pop("threads", None)
        if d.get("init_from") is None:  # configs written before warm starts keep their fingerprint
            d.pop("init_from", None)
        return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]


TFIDF_PARAMS = ("C", "max_word", "max_char", "max_section", "section_weight", "min_df", "random_state", "max_iter")


@dataclass
class TfidfConfig(_Common):
    """Training the TF-IDF + logistic-regression baseline (``configs/train/tfidf.yaml``)."""

    kind: str = "tfidf"
    output_dir: str = "models/baseline-tfidf"
    params: dict = field(default_factory=dict)      # TfidfTagger options

    def __post_init__(self) -> None:
        if self.kind == "tfidf-lr":  # the 0.1 name
            self.kind = "tfidf"
        if self.kind != "tfidf":
            raise ConfigError(f"kind must be 'tfidf' for this config class, got {self.kind!r}")
        self._check_common()
        if not isinstance(self.params, dict):
            raise ConfigError("params must be a mapping of TF-IDF options")
        bad = sorted(set(self.params) - set(TFIDF_PARAMS))
        if bad:
            raise ConfigError(f"unknown key(s) {bad} under 'params'; allowed: {', '.join(TFIDF_PARAMS)}")

    def to_dict(self) -> dict:
        return asdict(self)


AUGMENTATIONS = ("stale_section", "drop_heading", "replace_heading", "crop")


@dataclass
class ContextConfig(_Common):
    """Training a ``context`` model (``configs/train/default.yaml``): the sentence encoder first
    (stage 1, the ``encoder`` keys, or an already trained one with ``encoder_from``), then the
    document-context layer on the encoder's sentence vectors (stage 2)."""

    kind: str = "context"
    output_dir: str = "models/lawgov-zh-small"
    encoder: dict = field(default_factory=dict)      # TrainConfig keys for stage 1 (use_section false by default)
    encoder_from: str | None = None                   # a trained encoder model directory instead of stage 1
    encoder_dir: str | None = None                    # where stage 1 writes its encoder (default: a hidden sibling)
    context: ContextSettings = field(default_factory=ContextSettings)
    epochs: int = 40
    batch_docs: int = 4
    learning_rate: float = 2e-3
    weight_decay: float = 0.01
    early_stopping_patience: int = 8
    select_metric: str = "mean_macro_f1"
    class_weighting: Any = "auto"
    role_loss_weight: float = 1.0
    augment: dict = field(default_factory=lambda: {"stale_section": 0.5, "drop_heading": 0.1,
                                                   "replace_heading": 0.05, "crop": 0.3})
    vector_noise: float = 0.1                         # Gaussian noise on training vectors, × their std
    tfidf: dict = field(default_factory=lambda: {"section_weight": 0.0})  # TF-IDF options when context.stack_tfidf
    tfidf_folds: int = 5                              # out-of-fold TF-IDF probabilities on the training documents
    loro_train: dict = field(default_factory=dict)    # name -> file: documents that join stage-2 training and are
    #                                                   evaluated leave-one-document-out (the real samples)
    partial_labels: bool = False                      # train may hold sentences with neither label: context for their
    #                                                   neighbours, no loss (needs encoder_from: stage 1 reads labels)
    seed: int = 42
    threads: int | None = None
    init_from: str | None = None                      # warm start: a context model directory whose encoder adapters
    #                                                   start stage 1 and whose context layers start stage 2

    def __post_init__(self) -> None:
        if self.kind != "context":
            raise ConfigError(f"kind must be 'context' for this config class, got {self.kind!r}")
        self._check_common()
        if self.dev is None:
            raise ConfigError("dev is required: it selects the model and tunes the thresholds")
        self.context = ContextSettings.from_dict(self.context, "context") if isinstance(self.context, dict) \
            else self.context
        if not isinstance(self.context, ContextSettings):
            raise ConfigError("context must be a mapping of context-layer settings")
        if not isinstance(self.encoder, dict):
            raise ConfigError("encoder must be a mapping of encoder training keys (see the 'encoder' kind)")
        stage1 = self.stage1_config()  # validates the encoder keys now, not an hour later
        if stage1.use_section:
            raise ConfigError("encoder.use_section must be false: the context model reads headings in the sequence")
        _path("encoder_from", self.encoder_from, optional=True)
        _path("encoder_dir", self.encoder_dir, optional=True)
        _path("init_from", self.init_from, optional=True)
        if self.select_metric not in SELECT_METRICS:
            raise ConfigError(f"select_metric must be one of {', '.join(SELECT_METRICS)}, got {self.select_metric!r}")
        for k in ("epochs", "batch_docs", "tfidf_folds"):
            _positive(k, getattr(self, k))
        for k in ("learning_rate", "weight_decay", "role_loss_weight", "vector_noise"):
            _nonneg_number(k, getattr(self, k))
        if not isinstance(self.early_stopping_patience, int) or self.early_stopping_patience < 0:
            raise ConfigError(f"early_stopping_patience must be a whole number ≥ 0, got {self.early_stopping_patience!r}")
        if not isinstance(self.augment, dict):
            raise ConfigError("augment must be a mapping of augmentation name to probability")
        bad = sorted(set(self.augment) - set(AUGMENTATIONS))
        if bad:
            raise ConfigError(f"unknown augmentation(s) {bad}; known: {', '.join(AUGMENTATIONS)}")
        for k, v in self.augment.items():
            if not isinstance(v, (int, float)) or not 0 <= v <= 1:
                raise ConfigError(f"augment.{k} must be a probability in [0, 1], got {v!r}")
        if not (isinstance(self.class_weighting, dict) or self.class_weighting in ("auto", "none", None)):
            raise ConfigError("class_weighting must be auto, none or a mapping of dimension code to weight")
        if not isinstance(self.tfidf, dict) or set(self.tfidf) - set(TFIDF_PARAMS):
            raise ConfigError(f"tfidf must be a mapping of TF-IDF options ({', '.join(TFIDF_PARAMS)})")
        if self.threads is not None:
            _positive("threads", self.threads)
        if not isinstance(self.partial_labels, bool):
            raise ConfigError(f"partial_labels must be true or false, got {self.partial_labels!r}")
        if self.partial_labels and not self.encoder_from:
            raise ConfigError("partial_labels needs encoder_from: stage 1 trains the encoder on labelled sentences "
                              "alone and does not read unlabelled ones")
        if not isinstance(self.loro_train, dict) or not all(isinstance(k, str) for k in self.loro_train):
            raise ConfigError("loro_train must be a mapping of name to file")
        for k, v in self.loro_train.items():
            _path(f"loro_train.{k}", v)
            if k in self.eval or k in ("train", "dev"):
                raise ConfigError(f"loro_train.{k}: a file evaluated leave-one-document-out cannot also be a split "
                                  f"of the same name in eval, train or dev")

    def stage1_config(self) -> TrainConfig:
        """The encoder's training config: the ``encoder`` keys over this config's data and seed."""
        keys = {"use_section": False, "select_metric": "dimension_macro_f1", "epochs": 6, "seed": self.seed,
                "threads": self.threads, **self.encoder}
        keys.update(kind="encoder", scheme=self.scheme, train=self.train, dev=self.dev, eval={},
                    output_dir=self.stage1_dir())
        if self.init_from:  # the encoder starts from the context model's adapters
            keys["init_from"] = self.init_from
        return build_dataclass(TrainConfig, keys, "encoder")

    def stage1_dir(self) -> str:
        if self.encoder_dir:
            return str(self.encoder_dir)
        out = Path(self.output_dir)
        return str(out.parent / f".{out.name}.encoder")

    def to_dict(self) -> dict:
        return asdict(self)

    def fingerprint(self) -> str:
        d = asdict(self)
        d.pop("threads", None)
        d.pop("eval", None)
        if d.get("init_from") is None:
            d.pop("init_from", None)
        if not d.get("partial_labels"):  # configs written before partial labels keep their fingerprint
            d.pop("partial_labels", None)
        return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]


CONFIG_CLASSES: dict[str, type] = {"encoder": TrainConfig, "context": ContextConfig, "tfidf": TfidfConfig,
                                   "tfidf-lr": TfidfConfig}


def load_config(path: str | os.PathLike, overrides: dict | None = None):
    """The config dataclass a YAML file describes, chosen by its ``kind`` (default ``encoder``)."""
    data = {**read_yaml(path), **(overrides or {})}
    kind = data.get("kind", "encoder")
    cls = CONFIG_CLASSES.get(kind)
    if cls is None:
        raise ConfigError(f"{path}: unknown kind {kind!r}; known: {', '.join(k for k in CONFIG_CLASSES if k != 'tfidf-lr')}")
    return build_dataclass(cls, data, str(path))
