"""The draft encoder of a ``context`` model: a small student that reads every sentence first.

    every sentence ─► draft encoder (a few layers, distilled from the model's own encoder)
                   ─► the model's context layer ─► labels
    sentences whose labels the draft leaves in doubt (a margin under ``margin`` between the best
    two dimensions or roles, or a problem probability within ``margin / 2``, at most 0.1, of the problem
    threshold)
                   ─► the full encoder reads them again ─► the context layer runs again

    … and, with a second opinion (``check``: the TF-IDF baseline, stored beside the draft), the
    sentences where that opinion names another dimension or role than the draft's

The labels of a sentence the draft is sure of, and that the second opinion confirms, rarely differ
from the full encoder's, so the result agrees with the float32 reference nearly always while most
sentences cost only the draft's layers (``training/benchmarks/parity.py`` measures how nearly,
``tag_speed.py`` how fast). The margin is chosen on dev by ``training/distill.py --calibrate``.

The draft path is the default only when ``parity.py --record`` found it within the parity bounds
(labels equal to the float32 reference's on at least 99 % of dev + real sentences, each macro-F1
within 0.5 points of the reference's on dev, test and real); otherwise it runs when asked for
(``lg.load(model, draft=True)``, ``lawgov tag --draft``), and ``draft=False`` turns it off.

A draft belongs to the weights it was distilled from: the manifest records the SHA-256 of the
model's ``weights.safetensors`` it was made for, and a model whose weights differ (retrained,
replaced) ignores its draft and runs the full encoder on every sentence. ``training/distill.py``
makes a draft and writes it into the model directory as ``draft.safetensors`` (the student's LoRA
adapters on the bundled base cut to its first layers), ``draft_check.joblib`` (the second opinion)
and ``config.draft`` in the manifest.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ModelError
from .settings import EncoderSettings

DRAFT_NAME = "draft.safetensors"
CHECK_NAME = "draft_check.joblib"
#: the margin used when a manifest names none
DEFAULT_MARGIN = 0.3
#: the widest band around the problem threshold that puts a sentence in doubt
PROBLEM_BAND = 0.1
#: the parity bounds a draft path must keep to be the default (``training/benchmarks/parity.py``), and
#: that calibration keeps on its own split (``training/distill.py --calibrate``): labels equal to the
#: float32 reference's on this share of sentences (each head), each macro-F1 within this of the reference's
PARITY_AGREEMENT = 0.99
PARITY_MACRO_F1 = 0.005


@dataclass
class Draft:
    """A draft encoder's settings and adapters; ``net`` is built only when the draft runs."""

    settings: EncoderSettings
    margin: float
    teacher_sha256: str
    state: dict = field(default_factory=dict, repr=False)
    info: dict = field(default_factory=dict)
    net: Any = field(default=None, repr=False)
    #: the second opinion (a fitted TF-IDF tagger) or None
    check: Any = field(default=None, repr=False)
    #: where the adapters and the second opinion lie until :meth:`load` reads them (a model that does
    #: not run its draft never reads them), with the manifest's check settings and the label scheme
    source: Path | None = field(default=None, repr=False)
    check_config: dict | None = None
    scheme: Any = field(default=None, repr=False)

    def load(self) -> "Draft":
        """Read the adapters and the second opinion from :attr:`source`, once (parts already set stay)."""
        if self.source is None:
            return self
        from .contract import read_weights

        if not self.state:
            self.state = read_weights(self.source / DRAFT_NAME)
        if self.check is None and self.check_config is not None:
            from .baselines import load_tfidf_model

            self.check = load_tfidf_model(self.source / CHECK_NAME, self.scheme,
                                          {"params": self.check_config.get("params") or {}})
        self.source, self.check_config = None, None
        return self

    def to_config(self) -> dict:
        cfg = {"encoder": self.settings.to_dict(), "margin": self.margin, "teacher_sha256": self.teacher_sha256,
               "info": self.info}
        if self.check is not None:
            cfg["check"] = {"kind": "tfidf", "params": self.check.params}
        elif self.check_config is not None:
            cfg["check"] = dict(self.check_config)
        return cfg

    @property
    def passed_parity(self) -> bool:
        """Whether ``training/benchmarks/parity.py --record`` found this draft path within the parity
        bounds (then it is the default path; otherwise it runs only when asked for: ``draft=True``)."""
        return bool((self.info.get("parity") or {}).get("passed"))

    def files(self) -> list[str]:
        return [DRAFT_NAME] + ([CHECK_NAME] if self.check is not None or self.check_config is not None else [])

    def write(self, tmp: Path) -> None:
        """Its files into a model directory being written."""
        from safetensors.torch import save_file

        self.load()
        save_file(dict(sorted(self.state.items())), str(tmp / DRAFT_NAME), metadata={"format": "pt"})
        if self.check is not None:
            import joblib

            joblib.dump(self.check.model, tmp / CHECK_NAME, compress=3)

    @classmethod
    def from_config(cls, cfg: Any, where: str) -> "Draft":
        if not isinstance(cfg, dict) or not isinstance(cfg.get("encoder"), dict):
            raise ModelError(f"{where}: 'config.draft' must hold the draft's 'encoder' settings")
        try:
            margin = float(cfg.get("margin", DEFAULT_MARGIN))
        except (TypeError, ValueError):
            raise ModelError(f"{where}: config.draft.margin must be a number, not {cfg.get('margin')!r}") from None
        if not 0.0 <= margin <= 1.0:
            raise ModelError(f"{where}: config.draft.margin must lie between 0 and 1, not {margin}")
        sha = cfg.get("teacher_sha256")
        if not isinstance(sha, str) or len(sha) != 64:
            raise ModelError(f"{where}: config.draft.teacher_sha256 must be the SHA-256 of the weights it was made for")
        return cls(EncoderSettings.from_dict(cfg["encoder"], f"{where}: config.draft.encoder"), margin, sha,
                   info=dict(cfg.get("info") or {}))


def read_draft(d: Path, cfg: dict, weights: dict, scheme) -> Draft | None:
    """The draft of a model directory (its files are read when it first runs or is saved), or None when it
    has none or it was made for other weights."""
    if "draft" not in cfg:
        return None

    draft = Draft.from_config(cfg["draft"], str(d / "lawgov_model.json"))
    have = (weights.get("weights.safetensors") or {}).get("sha256")
    if DRAFT_NAME not in weights:
        raise ModelError(f"{d}: the manifest configures a draft encoder but does not list {DRAFT_NAME}")
    if have and have != draft.teacher_sha256:
        import warnings

        warnings.warn(f"{d}: the draft encoder was made for other weights; it is not used (run "
                      "training/distill.py again to make one for these)", stacklevel=3)
        return None
    check = cfg["draft"].get("check")
    if check is not None:
        if not isinstance(check, dict) or check.get("kind") != "tfidf":
            raise ModelError(f"{d / 'lawgov_model.json'}: config.draft.check must be {{'kind': 'tfidf', ...}}")
        if CHECK_NAME not in weights:
            raise ModelError(f"{d}: the manifest configures the draft's check but does not list {CHECK_NAME}")
    draft.source, draft.check_config, draft.scheme = d, check, scheme
    return draft


def build_draft_network(draft: Draft, n_dimensions: int, n_roles: int, base: str | None = None):
    """The draft's encoder network (float32, adapters loaded) in eval mode."""
    import torch

    from .network import build_network

    with torch.random.fork_rng(devices=[]):
        net = build_network(draft.settings, n_dimensions, n_roles, base=base)
    missing, unexpected = net.load_state_dict(draft.load().state, strict=False)
    lora_missing = [k for k in missing if "lora_" in k]
    if unexpected or lora_missing:
        raise ModelError(f"{DRAFT_NAME}: draft weights do not match its settings "
                         f"(missing {lora_missing[:3]}, unexpected {unexpected[:3]})")
    return net.eval()


def in_doubt(dim_p, role_p, margin: float, problem_index: int | None, problem_threshold: float, second=None):
    """Which sentences' labels are in doubt [N] (bool): the best two dimensions or roles lie within
    ``margin`` of each other, or the problem probability lies within ``margin / 2`` (at most
    :data:`PROBLEM_BAND`) of its threshold, or
    ``second`` (a second opinion's (dimension, role) probabilities) names another best dimension or role."""
    import numpy as np

    def gap(p):
        if p.shape[1] < 2:
            return np.ones(len(p), dtype=np.float32)
        top = np.sort(p, 1)
        return top[:, -1] - top[:, -2]

    out = (gap(dim_p) < margin) | (gap(role_p) < margin)
    if problem_index is not None:
        # half the margin (a gap of ``margin`` between two probabilities puts each margin/2 from their middle),
        # at most PROBLEM_BAND: a wider band sweeps in the confident problems (on dev, re-reads went from 15 %
        # to 29 % between margins 0.5 and 0.6 without the cap)
        out |= np.abs(role_p[:, problem_index] - problem_threshold) < min(margin / 2, PROBLEM_BAND)
    if second is not None:
        out |= (dim_p.argmax(1) != second[0].argmax(1)) | (role_p.argmax(1) != second[1].argmax(1))
    return out


__all__ = ["Draft", "DRAFT_NAME", "CHECK_NAME", "PARITY_AGREEMENT", "PARITY_MACRO_F1", "read_draft",
           "build_draft_network", "in_doubt"]
