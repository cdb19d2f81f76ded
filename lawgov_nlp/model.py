"""The tagging network and its model directory.

One shared encoder (the bundled base by default, any Hugging Face checkpoint by
config) with two heads on the mean-pooled token states: ``dimension`` (the
scheme's dimensions, softmax) and ``role`` (the scheme's roles, softmax).

A model directory is the whole contract (``save_model`` / ``load_model``)::

    tagger_config.json   base, labels, max length, section context, LoRA, thresholds
    scheme.yaml          the label scheme the model was trained with
    weights.safetensors  trained weights: LoRA adapters + heads when the base can be
                         rebuilt (the bundled base, a local or hub checkpoint), or the
                         whole network when ``save_full`` is set
    metrics.json         measured metrics (written by training/evaluation)
    README.md            model card

Everything here imports torch lazily: import this module only when a model is used.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import LawgovError

CONFIG_NAME = "tagger_config.json"
WEIGHTS_NAME = "weights.safetensors"
SCHEME_NAME = "scheme.yaml"
FORMAT_VERSION = 1


class ModelError(LawgovError, OSError):
    """A model directory that cannot be loaded (names the directory and the problem)."""


@dataclass
class TaggerConfig:
    """Everything needed to rebuild the network and interpret its outputs."""

    base: str = "bundled"
    dimensions: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    problem_role: str = "problem"
    max_length: int = 128
    use_section: bool = True
    section_max_tokens: int = 32
    pooling: str = "mean"
    dropout: float = 0.1
    lora: dict | None = None
    encoder_layers: int | None = None   # keep only the first N encoder layers (a smaller, faster student)
    save_full: bool = False
    secondary_threshold: float = 0.35
    problem_threshold: float = 0.5
    hidden_size: int = 0
    format_version: int = FORMAT_VERSION
    base_info: dict = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict, where: str = "") -> "TaggerConfig":
        known = set(cls.__dataclass_fields__)
        unknown = set(d) - known
        if unknown:
            raise ModelError(f"{where}: unknown key(s) {sorted(unknown)} in {CONFIG_NAME}")
        return cls(**d)


def _torch():
    import torch

    return torch


def build_network(cfg: TaggerConfig, encoder=None):
    """The two-head network on an encoder (loaded from ``cfg.base`` when not given)."""
    torch = _torch()
    from torch import nn

    from .base import load_base_encoder

    if encoder is None:
        encoder = load_base_encoder(cfg.base)
    if cfg.encoder_layers and cfg.encoder_layers < encoder.config.num_hidden_layers:
        encoder.encoder.layer = encoder.encoder.layer[: int(cfg.encoder_layers)]
        encoder.config.num_hidden_layers = int(cfg.encoder_layers)
    if cfg.lora:
        from peft import LoraConfig, get_peft_model

        n_layers = int(encoder.config.num_hidden_layers)
        top = cfg.lora.get("layers")  # adapt only the top N layers: backward stops below them
        extra = {}
        if top:
            extra = {"layers_to_transform": list(range(max(0, n_layers - int(top)), n_layers)), "layers_pattern": "layer"}
        lcfg = LoraConfig(r=int(cfg.lora.get("r", 8)), lora_alpha=int(cfg.lora.get("alpha", 16)),
                          lora_dropout=float(cfg.lora.get("dropout", 0.1)),
                          target_modules=list(cfg.lora.get("target_modules", ["query", "key", "value", "dense"])),
                          bias="none", **extra)
        encoder = get_peft_model(encoder, lcfg)
    hidden = encoder.config.hidden_size

    class TwoHeadTagger(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder
            self.dropout = nn.Dropout(cfg.dropout)
            self.dimension_head = nn.Linear(hidden, len(cfg.dimensions))
            self.role_head = nn.Linear(hidden, len(cfg.roles))

        def pool(self, input_ids, attention_mask, token_type_ids=None):
            kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
            if token_type_ids is not None:
                kwargs["token_type_ids"] = token_type_ids
            out = self.encoder(**kwargs)
            h = out.last_hidden_state if hasattr(out, "last_hidden_state") else out[0]
            if cfg.pooling == "cls":
                return h[:, 0]
            m = attention_mask.unsqueeze(-1).to(h.dtype)
            return (h * m).sum(1) / m.sum(1).clamp(min=1.0)

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            z = self.dropout(self.pool(input_ids, attention_mask, token_type_ids))
            return self.dimension_head(z), self.role_head(z)

    torch.manual_seed(0)  # head initialisation is part of the seeded run; callers reseed before training
    net = TwoHeadTagger()
    cfg.hidden_size = hidden
    return net


def trainable_state(net) -> dict:
    """The parameters that training changes (LoRA adapters and heads, or everything)."""
    return {k: v.detach().clone().contiguous() for k, v in net.named_parameters() if v.requires_grad}


def freeze_for_lora(net) -> None:
    """With LoRA, only adapters and heads train; the base stays as built."""
    for name, p in net.named_parameters():
        p.requires_grad = ("lora_" in name) or name.startswith(("dimension_head", "role_head"))


def save_model(out_dir: str | os.PathLike, net, tokenizer, cfg: TaggerConfig, scheme, extra_files: dict | None = None) -> Path:
    """Write a model directory atomically (temp dir, then rename); a model card already there is kept."""
    from safetensors.torch import save_file

    from .io import atomic_directory

    with atomic_directory(out_dir, replaced=(WEIGHTS_NAME, CONFIG_NAME)) as tmp:
        if is_full(cfg):
            state = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
            enc = net.encoder.get_base_model() if hasattr(net.encoder, "get_base_model") else net.encoder
            (tmp / "encoder_config.json").write_text(enc.config.to_json_string(), encoding="utf-8")
            tokenizer.save_pretrained(str(tmp / "tokenizer"))
        else:
            state = {k: v.detach().contiguous() for k, v in net.named_parameters()
                     if "lora_" in k or k.startswith(("dimension_head", "role_head"))}
        save_file(dict(sorted(state.items())), str(tmp / WEIGHTS_NAME), metadata={"format": "pt", "lawgov": str(FORMAT_VERSION)})
        (tmp / CONFIG_NAME).write_text(cfg.to_json() + "\n", encoding="utf-8")
        scheme.save(tmp / SCHEME_NAME)
        for name, content in (extra_files or {}).items():
            (tmp / name).write_text(content, encoding="utf-8")
    return Path(out_dir)


def is_full(cfg: TaggerConfig) -> bool:
    """Whether a model directory holds the whole network (else: adapters + heads on a rebuilt base)."""
    return bool(cfg.save_full or not cfg.lora)


def read_config(model_dir: str | os.PathLike) -> TaggerConfig:
    d = Path(model_dir)
    p = d / CONFIG_NAME
    if not d.is_dir():
        raise ModelError(f"{d}: no such model directory")
    if not p.is_file():
        raise ModelError(f"{d}: not a lawgov model directory (no {CONFIG_NAME})")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ModelError(f"{p}: cannot read the model config ({e})") from e
    cfg = TaggerConfig.from_dict(data, str(p))
    if cfg.format_version > FORMAT_VERSION:
        raise ModelError(f"{p}: model format {cfg.format_version} is newer than this lawgov-nlp supports; upgrade the package")
    return cfg


def load_model(model_dir: str | os.PathLike, base: str | None = None):
    """(network in eval mode, tokenizer, config, scheme) from a model directory.

    ``base`` overrides where the base encoder comes from (e.g. a local copy of a hub checkpoint).
    """
    from safetensors.torch import load_file

    from .base import load_base_tokenizer
    from .scheme import load_scheme

    d = Path(model_dir)
    cfg = read_config(d)
    scheme = load_scheme(d / SCHEME_NAME)
    base_name = base or cfg.base
    wpath = d / WEIGHTS_NAME
    if not wpath.is_file():
        raise ModelError(f"{d}: missing {WEIGHTS_NAME}")
    state = load_file(str(wpath))
    if is_full(cfg):
        from transformers import AutoConfig, AutoModel

        ec = d / "encoder_config.json"
        if not ec.is_file() or not (d / "tokenizer").is_dir():
            raise ModelError(f"{d}: a full model needs encoder_config.json and tokenizer/")
        tokenizer = load_base_tokenizer(str(d / "tokenizer"))
        enc = AutoModel.from_config(AutoConfig.from_pretrained(str(ec)))
        net = build_network(cfg, encoder=enc)
        missing, unexpected = net.load_state_dict(state, strict=False)
        if unexpected or missing:
            raise ModelError(f"{wpath}: weights do not match the network (missing {missing[:3]}, unexpected {unexpected[:3]})")
    else:
        tokenizer = load_base_tokenizer(base_name)
        net = build_network(TaggerConfig(**{**asdict(cfg), "base": base_name}))
        missing, unexpected = net.load_state_dict(state, strict=False)
        if unexpected:
            raise ModelError(f"{wpath}: weights do not match the network (unexpected {unexpected[:3]})")
        not_loaded = [k for k in missing if "lora_" in k or k.startswith(("dimension_head", "role_head"))]
        if not_loaded:
            raise ModelError(f"{wpath}: trained weights missing for {not_loaded[:3]}")
    net.eval()
    return net, tokenizer, cfg, scheme


def section_context(section: Any, levels: int = 3) -> str:
    """The heading path as one string for the second segment: the last ``levels`` headings."""
    if not section:
        return ""
    parts = [str(s) for s in section][-levels:]
    return " > ".join(p[:40] for p in parts)
