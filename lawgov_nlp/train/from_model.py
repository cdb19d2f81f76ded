"""The trained weights a warm start takes from a model directory (``lawgov train CONFIG --from MODEL``).

* An ``encoder`` model gives its LoRA adapters and both heads (or the whole network when it was
  saved whole): the new network starts exactly where the old one ended.
* A ``context`` model gives its encoder's LoRA adapters to stage 1 (the stage-1 heads are not
  part of a context model, so they start fresh from the seed) and each context layer of its
  ensemble to stage 2.

The network being trained is built from the same settings as the model (the caller,
:func:`lawgov_nlp.train.warm.retrain`, takes them from the model's manifest); any tensor that
does not fit is a :class:`~lawgov_nlp.errors.ModelError` naming the weights file.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import ModelError

WEIGHTS_NAME = "weights.safetensors"


def _weights(model_dir: str | os.PathLike) -> tuple[str, dict, Path]:
    from ..models.contract import read_manifest, read_weights

    d = Path(model_dir)
    man, _ = read_manifest(d)
    if man.kind not in ("encoder", "context"):
        raise ModelError(f"{d}: a {man.kind} model has no network weights to warm-start from")
    wpath = d / WEIGHTS_NAME
    return man.kind, read_weights(wpath), wpath


def load_encoder_start(net, model_dir: str | os.PathLike) -> int:
    """Load a model directory's encoder weights into a freshly built two-head network (in place);
    returns how many tensors were loaded."""
    kind, state, wpath = _weights(model_dir)
    if kind == "context":
        state = {k[len("encoder."):]: v for k, v in state.items() if k.startswith("encoder.")}
    if not state:
        raise ModelError(f"{wpath}: holds no encoder weights to start from")
    try:
        missing, unexpected = net.load_state_dict(state, strict=False)
    except RuntimeError as e:  # a tensor of another shape: other LoRA rank, base or label count
        raise ModelError(f"{wpath}: the model's weights do not fit the network being trained "
                         f"({str(e).splitlines()[-1].strip()})") from e
    if unexpected:
        raise ModelError(f"{wpath}: weights {unexpected[:3]} have no place in the network being trained "
                         "(its LoRA or layer settings differ from the model's)")
    lora_missing = [k for k in missing if "lora_" in k]
    if lora_missing:
        raise ModelError(f"{wpath}: the model has no adapters for {lora_missing[:3]} "
                         "(its LoRA settings differ from the network being trained)")
    return len(state)


def context_start(model_dir: str | os.PathLike, members: int) -> list[dict]:
    """The state of each context layer of a context model's ensemble (``members`` of them)."""
    kind, state, wpath = _weights(model_dir)
    if kind != "context":
        raise ModelError(f"{wpath}: an {kind} model has no context layers; warm-start a context model from a "
                         "context model")
    out: list[dict] = []
    for i in range(members):
        pre = f"context.members.{i}."
        part = {k[len(pre):]: v for k, v in state.items() if k.startswith(pre)}
        if not part:
            raise ModelError(f"{wpath}: has no context layer {i + 1} of {members} (the model's ensemble is smaller)")
        out.append(part)
    if any(k.startswith(f"context.members.{members}.") for k in state):
        raise ModelError(f"{wpath}: the model's ensemble has more than {members} context layers")
    return out


def load_context_start(net, state: dict, model_dir: str | os.PathLike) -> None:
    """Load one context layer's saved state into a freshly built context network."""
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise ModelError(f"{Path(model_dir) / WEIGHTS_NAME}: the model's context layer does not fit the one being "
                         f"trained ({str(e).splitlines()[0].strip()})") from e
