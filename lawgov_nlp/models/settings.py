"""Settings of the neural kinds, validated on construction (light: no torch here).

:class:`LoraSettings` holds the one set of LoRA defaults the library uses; :class:`EncoderSettings`
is what an ``encoder`` model directory stores under ``config`` in its manifest, and what a
training config turns into.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ..errors import ConfigError

POOLINGS = ("mean", "cls")


def build_dataclass(cls, data: Any, where: str):
    """``cls(**data)`` with every problem as a :class:`ConfigError` naming ``where`` and the key."""
    if isinstance(data, cls):
        return data
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping of keys to values, got {type(data).__name__}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known: {', '.join(sorted(known))}")
    try:
        return cls(**data)
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}") from None
    except TypeError as e:
        raise ConfigError(f"{where}: {e}") from None


def _positive_int(name: str, v: Any, allow_none: bool = False) -> None:
    if v is None and allow_none:
        return
    if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
        raise ConfigError(f"{name} must be a positive integer, got {v!r}")


def _probability(name: str, v: Any) -> None:
    if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0.0 <= float(v) < 1.0:
        raise ConfigError(f"{name} must be a number in [0, 1), got {v!r}")


@dataclass
class LoraSettings:
    """LoRA adapters on the base encoder: rank, scaling, dropout, target modules, top layers only."""

    r: int = 8
    alpha: int = 16
    dropout: float = 0.1
    target_modules: list[str] = field(default_factory=lambda: ["query", "key", "value", "dense"])
    layers: int | None = None   # adapt only the top N layers (backward stops below them)

    def __post_init__(self) -> None:
        _positive_int("lora.r", self.r)
        _positive_int("lora.alpha", self.alpha)
        _probability("lora.dropout", self.dropout)
        _positive_int("lora.layers", self.layers, allow_none=True)
        if not isinstance(self.target_modules, (list, tuple)) or not self.target_modules or \
                not all(isinstance(x, str) and x for x in self.target_modules):
            raise ConfigError(f"lora.target_modules must be a non-empty list of module names, got {self.target_modules!r}")
        self.target_modules = list(self.target_modules)

    @classmethod
    def from_value(cls, value: Any, where: str = "lora") -> "LoraSettings | None":
        """``None`` (full fine-tuning), a mapping (defaults fill the rest) or a LoraSettings."""
        if value is None:
            return None
        return build_dataclass(cls, value, where)


@dataclass
class EncoderSettings:
    """How an encoder model is built and fed: stored in the manifest's ``config``."""

    base: str = "bundled"
    max_length: int = 128
    use_section: bool = True          # the heading path as a second segment
    section_max_tokens: int = 32
    pooling: str = "mean"
    dropout: float = 0.1
    lora: LoraSettings | None = field(default_factory=LoraSettings)
    encoder_layers: int | None = None  # keep only the first N layers of the base (a smaller student)
    save_full: bool = False
    hidden_size: int = 0
    base_info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.base, str) or not self.base:
            raise ConfigError(f"base must name a base encoder (bundled, a directory or a hub id), got {self.base!r}")
        _positive_int("max_length", self.max_length)
        _positive_int("section_max_tokens", self.section_max_tokens)
        if self.use_section and self.section_max_tokens >= self.max_length - 8:
            raise ConfigError(f"section_max_tokens ({self.section_max_tokens}) leaves no room for the sentence "
                              f"in max_length {self.max_length}")
        if self.pooling not in POOLINGS:
            raise ConfigError(f"pooling must be one of {', '.join(POOLINGS)}, got {self.pooling!r}")
        _probability("dropout", self.dropout)
        _positive_int("encoder_layers", self.encoder_layers, allow_none=True)
        self.lora = LoraSettings.from_value(self.lora)

    @property
    def is_full(self) -> bool:
        """Whether the directory holds the whole network (else: adapters + heads on a rebuilt base)."""
        return bool(self.save_full or not self.lora)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict, where: str = "config") -> "EncoderSettings":
        return build_dataclass(cls, data, where)


CONTEXT_LAYERS = ("gru", "transformer", "none")


@dataclass
class ContextSettings:
    """The document-context layer of a ``context`` model: what it reads and how it is built.

    ``layer``: ``gru`` (a bidirectional GRU over the document's sentences; any length, no
    windows needed), ``transformer`` (self-attention over windows of ``window`` sentences with
    ``overlap``), or ``none`` (the isolated-sentence ablation: heads on the sentence vector
    alone). ``dimension_gate_bias`` starts the dimension head's context gate nearly closed
    (sigmoid(-2) ≈ 0.12), so that a sentence's own content leads its dimension.
    ``stack_tfidf``: the TF-IDF baseline's probabilities are features of the heads.
    ``ensemble``: that many context layers (seeds ``seed``, ``seed + 1`` …) whose probabilities
    are averaged; the encoder is shared, so the cost is the small layers only.
    """

    layer: str = "gru"
    hidden: int = 128
    layers: int = 1
    heads: int = 4
    dropout: float = 0.2
    input_dropout: float = 0.2
    dimension_gate_bias: float = -2.0
    window: int = 64
    overlap: int = 16
    stack_tfidf: bool = False
    ensemble: int = 1                 # context layers trained with different seeds; their probabilities are averaged
    n_features: int = 0

    def __post_init__(self) -> None:
        if self.layer not in CONTEXT_LAYERS:
            raise ConfigError(f"context.layer must be one of {', '.join(CONTEXT_LAYERS)}, got {self.layer!r}")
        for k in ("hidden", "layers", "heads", "window", "ensemble"):
            _positive_int(f"context.{k}", getattr(self, k))
        if not isinstance(self.overlap, int) or not 0 <= self.overlap < self.window:
            raise ConfigError(f"context.overlap must be a whole number below window ({self.window}), got {self.overlap!r}")
        _probability("context.dropout", self.dropout)
        _probability("context.input_dropout", self.input_dropout)
        if self.layer == "transformer" and self.hidden % self.heads:
            raise ConfigError(f"context.hidden ({self.hidden}) must be divisible by context.heads ({self.heads})")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict, where: str = "context") -> "ContextSettings":
        return build_dataclass(cls, data, where)
