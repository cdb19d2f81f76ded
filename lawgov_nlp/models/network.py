"""The two-head network: an encoder (the bundled base or any Hugging Face checkpoint) with a
``dimension`` head and a ``role`` head on its pooled token states.

Importing this module imports torch: import it only when a model is used.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .settings import EncoderSettings, LoraSettings

HEAD_PREFIXES = ("dimension_head", "role_head")


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, how: str = "mean") -> torch.Tensor:
    """Sentence vectors from token states: the first token (``cls``) or the masked mean, in float32
    (a bfloat16 encoder's states are summed in float32)."""
    hidden = hidden.float()
    if how == "cls":
        return hidden[:, 0]
    m = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)


def init_linear(layer: nn.Linear, generator: torch.Generator | None = None) -> None:
    """Normal(0, 0.02) weights and zero bias, drawn from ``generator`` (the global RNG is not touched)."""
    with torch.no_grad():
        layer.weight.normal_(0.0, 0.02, generator=generator)
        layer.bias.zero_()


def seeded_generator(seed: int) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(int(seed))
    return g


class TwoHeadNetwork(nn.Module):
    """Encoder → pooled vector → dropout → ``dimension_head`` and ``role_head`` (logits)."""

    def __init__(self, encoder: nn.Module, n_dimensions: int, n_roles: int, *, pooling: str = "mean",
                 dropout: float = 0.1, seed: int = 0):
        super().__init__()
        self.encoder = encoder
        self.pooling = pooling
        hidden = int(encoder.config.hidden_size)
        self.hidden_size = hidden
        self.dropout = nn.Dropout(dropout)
        self.dimension_head = nn.Linear(hidden, n_dimensions)
        self.role_head = nn.Linear(hidden, n_roles)
        g = seeded_generator(seed)
        init_linear(self.dimension_head, g)
        init_linear(self.role_head, g)

    def encode(self, input_ids, attention_mask, token_type_ids=None) -> torch.Tensor:
        kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            kwargs["token_type_ids"] = token_type_ids
        out = self.encoder(**kwargs)
        h = out.last_hidden_state if hasattr(out, "last_hidden_state") else out[0]
        return pool(h, attention_mask, self.pooling)

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        z = self.dropout(self.encode(input_ids, attention_mask, token_type_ids))
        return self.dimension_head(z), self.role_head(z)

    # -- which parameters a save holds ----------------------------------------
    def trained_state(self) -> dict[str, torch.Tensor]:
        """LoRA adapters and heads (what a save holds when the base is rebuilt at load)."""
        return {k: v.detach().contiguous() for k, v in self.named_parameters()
                if "lora_" in k or k.startswith(HEAD_PREFIXES)}

    def freeze_for_lora(self) -> None:
        """With LoRA, only adapters and heads train; the base stays as built."""
        for name, p in self.named_parameters():
            p.requires_grad = ("lora_" in name) or name.startswith(HEAD_PREFIXES)


def truncate_layers(encoder: Any, n: int | None) -> Any:
    """Keep only the first ``n`` transformer layers (a smaller, faster student)."""
    if n and n < encoder.config.num_hidden_layers:
        encoder.encoder.layer = encoder.encoder.layer[: int(n)]
        encoder.config.num_hidden_layers = int(n)
    return encoder


def add_lora(encoder: Any, lora: LoraSettings | None) -> Any:
    """Wrap the encoder with LoRA adapters (peft); unchanged when ``lora`` is None."""
    if not lora:
        return encoder
    from peft import LoraConfig, get_peft_model

    n_layers = int(encoder.config.num_hidden_layers)
    extra = {}
    if lora.layers:
        extra = {"layers_to_transform": list(range(max(0, n_layers - int(lora.layers)), n_layers)),
                 "layers_pattern": "layer"}
    cfg = LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                     target_modules=list(lora.target_modules), bias="none", **extra)
    return get_peft_model(encoder, cfg)


def build_network(settings: EncoderSettings, n_dimensions: int, n_roles: int, encoder=None, seed: int = 0,
                  base: str | None = None) -> TwoHeadNetwork:
    """The two-head network on an encoder (the base named in ``settings`` when not given)."""
    from .base import load_base_encoder, quiet_transformers

    if encoder is None:
        encoder = load_base_encoder(base or settings.base)
    with quiet_transformers():  # peft's wrapping triggers transformers deprecation notices
        encoder = add_lora(truncate_layers(encoder, settings.encoder_layers), settings.lora)
    return TwoHeadNetwork(encoder, n_dimensions, n_roles, pooling=settings.pooling, dropout=settings.dropout,
                          seed=seed)


def merged_encoder(net: TwoHeadNetwork) -> nn.Module:
    """The encoder with LoRA merged into its weights (a plain transformers model)."""
    import copy

    enc = copy.deepcopy(net.encoder)
    if hasattr(enc, "merge_and_unload"):
        enc = enc.merge_and_unload()
    return enc
