"""The ``encoder`` kind: a fine-tuned encoder with two heads that reads each sentence alone,
with its heading path as a second segment.

    import lawgov_nlp as lg
    tagger = lg.load("models/lawgov-zh-small")
    doc = tagger.tag_file("report.docx")

Inference is batched across sentences (and documents), sorted by length, runs under
``torch.inference_mode`` with a thread count that respects the machine, and never truncates
silently: a sentence longer than the model's limit is cut into overlapping windows whose
probabilities are averaged.

A model directory holds the manifest, the scheme and ``weights.safetensors``: LoRA adapters +
heads when the base can be rebuilt (the bundled base, a local or hub checkpoint), or the whole
network (plus ``encoder_config.json`` and ``tokenizer/``) when ``save_full`` is set.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import ModelError
from ..text.chars import to_simplified
from .contract import Manifest, Thresholds, check_head_sizes, read_metrics, read_weights, write_model_dir
from .settings import EncoderSettings
from .tagger import SentenceTagger, refuse_unexact_save

WEIGHTS_NAME = "weights.safetensors"
ENCODER_CONFIG_NAME = "encoder_config.json"
TOKENIZER_DIR = "tokenizer"
THREADS_ENV = "LAWGOV_THREADS"


def busy_cores(interval: float = 0.2) -> float:
    """How many cores other work keeps busy right now: CPU time used in ``/proc/stat`` over
    ``interval`` seconds (this process is idle meanwhile), else the 1-minute load average."""
    def sample():
        with open("/proc/stat", encoding="ascii") as fh:
            parts = fh.readline().split()[1:]
        vals = [int(x) for x in parts[:8]]
        idle = vals[3] + vals[4]  # idle + iowait
        return sum(vals), idle

    import time

    try:
        t0, i0 = sample()
        time.sleep(interval)
        t1, i1 = sample()
        total = t1 - t0
        if total > 0:
            ncpu = os.cpu_count() or 1
            return ncpu * (1.0 - (i1 - i0) / total)
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):  # pragma: no cover
        return 0.0


def default_threads() -> int:
    """Torch threads: ``$LAWGOV_THREADS``, else the cores this process may use that other work does
    not keep busy right now (:func:`busy_cores`), at least 1 and at most 8.

    On a 2-core machine with another job on one core, two threads are much slower than one
    (``training/benchmarks/threads.py`` measures it), so busy cores are not counted.
    """
    env = os.environ.get(THREADS_ENV)
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise ModelError(f"{THREADS_ENV}={env!r}: must be a whole number of threads") from None
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    free = int(n - busy_cores() + 0.5)
    return max(1, min(n, free, 8))


def section_context(section: Any, levels: int = 3) -> str:
    """The heading path as one string for the second segment: the last ``levels`` headings."""
    if not section:
        return ""
    if isinstance(section, str):
        return section
    parts = [str(s) for s in section][-levels:]
    return " > ".join(p[:40] for p in parts)


def encode_items(tokenizer, settings: EncoderSettings, texts: Sequence[str], sections: Sequence[Any] | None):
    """Model inputs for sentences: (items, owner, weight).

    Text goes in simplified script; the heading path (last levels) is the second segment when
    ``settings.use_section``. A sentence longer than the token budget becomes several
    overlapping windows (``owner`` maps each back to its sentence, ``weight`` is its length in
    characters), so nothing is silently truncated. An item is (text, heading text, heading ids,
    token ids): the last is the text's ids when the item is a whole sentence without a heading, so
    that :func:`tokenize_items` need not tokenize it again (None otherwise).
    """
    use_section = settings.use_section
    budget = max(8, settings.max_length - (settings.section_max_tokens if use_section else 0) - 4)
    items, owner, weight = [], [], []
    simp = [to_simplified(t) for t in texts]
    ctx = [to_simplified(section_context(sections[i])) if (use_section and sections) else "" for i in range(len(texts))]
    enc = tokenizer(simp, add_special_tokens=False, return_offsets_mapping=True)
    sec_ids = tokenizer(ctx, add_special_tokens=False)["input_ids"] if use_section else None
    for i, (ids, offs) in enumerate(zip(enc["input_ids"], enc["offset_mapping"])):
        pieces = [(0, len(simp[i]))]
        if len(ids) > budget:
            stride = max(1, budget // 2)
            pieces = []
            for a in range(0, len(ids), stride):
                b = min(len(ids), a + budget)
                pieces.append((offs[a][0], offs[b - 1][1]))
                if b == len(ids):
                    break
        whole = ids if len(pieces) == 1 and not use_section else None
        for a, b in pieces:
            items.append((simp[i][a:b], ctx[i] if use_section else None,
                          sec_ids[i][: settings.section_max_tokens] if sec_ids else None, whole))
            owner.append(i)
            weight.append(max(1, b - a))
    return items, owner, weight


def tokenize_items(tokenizer, settings: EncoderSettings, items):
    """A padded batch (PyTorch tensors) for encoded items: built from the ids :func:`encode_items` kept
    where every item has them and the tokenizer's template is known (the same ids as tokenizing again),
    otherwise by the tokenizer."""
    if not settings.use_section and all(len(x) > 3 and x[3] is not None for x in items):
        batch = _batch_from_ids(tokenizer, [x[3] for x in items], settings.max_length)
        if batch is not None:
            return batch
    a = [x[0] for x in items]
    if settings.use_section:
        return tokenizer(a, text_pair=[x[1] for x in items], padding=True, truncation="only_second",
                         max_length=settings.max_length, return_tensors="pt")
    return tokenizer(a, padding=True, truncation=True, max_length=settings.max_length, return_tensors="pt")


#: the attribute a tokenizer keeps its probed template in: (first id, last id, pad id, has token types),
#: or None where it does not pad on the right or wrap a text's ids as ``[first] + ids + [last]``
_TEMPLATE_ATTR = "_lawgov_template"


def _template(tokenizer):
    if _TEMPLATE_ATTR in vars(tokenizer):
        return vars(tokenizer)[_TEMPLATE_ATTR]
    found = None
    try:
        probe = "依法行政 2024年 ABC。"
        bare = tokenizer(probe, add_special_tokens=False)["input_ids"]
        full = tokenizer(probe)
        ids = full["input_ids"]
        if (tokenizer.padding_side == "right" and tokenizer.pad_token_id is not None and len(ids) == len(bare) + 2
                and ids[1:-1] == bare):
            found = (ids[0], ids[-1], tokenizer.pad_token_id, "token_type_ids" in full)
    except (AttributeError, TypeError, ValueError, KeyError):  # pragma: no cover - an unusual tokenizer
        found = None
    try:
        setattr(tokenizer, _TEMPLATE_ATTR, found)
    except AttributeError:  # pragma: no cover - a tokenizer without attributes: probed each time
        pass
    return found


def _batch_from_ids(tokenizer, rows, max_length: int):
    import torch

    t = _template(tokenizer)
    if t is None or max(len(r) for r in rows) + 2 > max_length:
        return None
    first, last, pad, types = t
    width = max(len(r) for r in rows) + 2
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, :len(r) + 2] = torch.tensor([first, *r, last], dtype=torch.long)
        mask[i, :len(r) + 2] = 1
    out = {"input_ids": ids, "attention_mask": mask}
    if types:
        out["token_type_ids"] = torch.zeros_like(ids)
    return out


class EncoderTagger(SentenceTagger):
    """A fine-tuned encoder with two heads: call ``tag_*`` to tag text, files or sentence lists."""

    kind = "encoder"

    def __init__(self, net, tokenizer, settings: EncoderSettings, scheme, thresholds: Thresholds | None = None,
                 path: str | None = None, fast: bool = False, batch_size: int = 32, threads: int | None = None,
                 trained_from: dict | None = None, path_name: str = "fp32"):
        self.net = net
        self.tokenizer = tokenizer
        self.settings = settings
        self.scheme = scheme
        self.thresholds = thresholds or Thresholds()
        self.path = path
        self.fast = fast
        self.path_name = "torch-int8" if fast and path_name == "fp32" else path_name
        self.batch_size = int(batch_size)
        self.threads = threads or default_threads()
        self.trained_from = trained_from

    # -- the contract ----------------------------------------------------------
    @classmethod
    def from_dir(cls, d: Path, manifest: Manifest, scheme, *, fast: bool = False, exact: bool = False,
                 backend: str = "torch", base: str | None = None, batch_size: int = 32, threads: int | None = None,
                 **_ignored) -> "EncoderTagger":
        import torch

        from .backends import choose_path, prepare_network

        path_name = choose_path(exact=exact, fast=fast, backend=backend, where=str(d))
        settings = EncoderSettings.from_dict(manifest.config, f"{d}: manifest 'config'")
        with torch.random.fork_rng(devices=[]):  # building the network must not move the caller's RNG
            net, tokenizer = _load_network(d, settings, scheme, base)
        net = prepare_network(net, path_name, model_dir=d, threads=threads)
        return cls(net, tokenizer, settings, scheme, Thresholds.from_dict(manifest.thresholds, str(d)), str(d),
                   fast=fast, batch_size=batch_size, threads=threads, trained_from=manifest.trained_from,
                   path_name=path_name)

    def manifest(self) -> Manifest:
        weights = [WEIGHTS_NAME] + ([ENCODER_CONFIG_NAME] if self.settings.is_full else [])
        return Manifest(kind=self.kind, dimensions=list(self.dimensions), roles=list(self.roles),
                        thresholds={"problem": self.thresholds.problem, "secondary": self.thresholds.secondary},
                        config=self.settings.to_dict(), weights={w: {} for w in weights},
                        trained_from=self.trained_from)

    def save(self, out_dir: str | os.PathLike, metrics: dict | None = None) -> Path:
        """Write the model directory atomically (a model card already there is kept)."""
        refuse_unexact_save(self, out_dir)
        from safetensors.torch import save_file

        net, settings = self.net, self.settings

        def write(tmp: Path) -> None:
            if settings.is_full:
                state = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
                enc = net.encoder.get_base_model() if hasattr(net.encoder, "get_base_model") else net.encoder
                (tmp / ENCODER_CONFIG_NAME).write_text(enc.config.to_json_string(), encoding="utf-8")
                self.tokenizer.save_pretrained(str(tmp / TOKENIZER_DIR))
            else:
                state = net.trained_state()
            save_file(dict(sorted(state.items())), str(tmp / WEIGHTS_NAME), metadata={"format": "pt"})

        from .card import model_card

        man = self.manifest()
        kept = metrics if metrics is not None else read_metrics(out_dir)
        out = write_model_dir(out_dir, man, self.scheme, write, metrics=metrics,
                              card=lambda m: model_card(m, kept, name=Path(out_dir).name))
        self.path = str(out)
        return out

    # -- prediction --------------------------------------------------------------
    def predict_proba(self, texts: Sequence[str], sections: Sequence[Any] | None = None,
                      progress: Callable[[int], None] | None = None):
        """(dimension probabilities [N, D], role probabilities [N, R]) as numpy arrays.

        A sentence cut into windows gets the length-weighted mean of its windows' probabilities.
        """
        import numpy as np
        import torch

        D, R = len(self.dimensions), len(self.roles)
        if len(texts) == 0:
            return np.zeros((0, D), dtype=np.float32), np.zeros((0, R), dtype=np.float32)

        def heads(z):
            return (torch.softmax(self.net.dimension_head(z).float(), -1).numpy(),
                    torch.softmax(self.net.role_head(z).float(), -1).numpy())

        out = run_encoder(self.net, self.tokenizer, self.settings, texts, sections, self.batch_size, self.threads,
                          progress, heads)
        return weighted_mean(out[0], out[2], out[3], len(texts)), weighted_mean(out[1], out[2], out[3], len(texts))


def weighted_mean(values, owner, weight, n: int):
    """Per-sentence length-weighted mean of per-window rows."""
    import numpy as np

    out = np.zeros((n, values.shape[1]), dtype=np.float32)
    wsum = np.zeros(n, dtype=np.float32)
    for k, i in enumerate(owner):
        out[i] += weight[k] * values[k]
        wsum[i] += weight[k]
    return out / np.maximum(wsum, 1e-9)[:, None]


def run_encoder(net, tokenizer, settings: EncoderSettings, texts: Sequence[str], sections: Sequence[Any] | None,
                batch_size: int, threads: int, progress: Callable[[int], None] | None = None, heads=None):
    """Pooled vectors of every window of every sentence, batched by length under inference mode.

    Returns (vectors [W, H], owner, weight) or, with ``heads`` (a function of a vector batch giving
    arrays), (heads' first array [W, ·], second array [W, ·], owner, weight).
    """
    import numpy as np
    import torch

    items, owner, weight = encode_items(tokenizer, settings, texts, sections)
    lengths = [len(x[0]) + (len(x[2]) if x[2] else 0) for x in items]
    order = sorted(range(len(items)), key=lambda k: lengths[k])
    outs: list = [None, None]
    prev = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.inference_mode():
            for s in range(0, len(order), batch_size):
                idx = order[s:s + batch_size]
                batch = tokenize_items(tokenizer, settings, [items[k] for k in idx])
                z = net.encode(batch["input_ids"], batch["attention_mask"], batch.get("token_type_ids"))
                res = heads(z) if heads else (z.float().numpy(),)
                for j, arr in enumerate(res):
                    if outs[j] is None:
                        outs[j] = np.zeros((len(items), arr.shape[1]), dtype=np.float32)
                    outs[j][idx] = arr
                if progress:
                    progress(len({owner[k] for k in idx}))
    finally:
        torch.set_num_threads(prev)
    if heads:
        return outs[0], outs[1], owner, weight
    return outs[0], owner, weight


def _load_network(d: Path, settings: EncoderSettings, scheme, base: str | None):
    """(network in eval mode, tokenizer) from a model directory's weights."""
    from .base import load_base_tokenizer
    from .network import HEAD_PREFIXES, build_network

    wpath = d / WEIGHTS_NAME
    state = read_weights(wpath)
    n_dim, n_role = len(scheme.dimension_codes), len(scheme.role_codes)
    check_head_sizes(state, {"dimension_head.weight": n_dim, "role_head.weight": n_role}, wpath, d / "scheme.yaml")
    if settings.is_full:
        from transformers import AutoConfig, AutoModel

        from .base import quiet_transformers

        ec = d / ENCODER_CONFIG_NAME
        if not ec.is_file() or not (d / TOKENIZER_DIR).is_dir():
            raise ModelError(f"{d}: a full model needs {ENCODER_CONFIG_NAME} and {TOKENIZER_DIR}/")
        tokenizer = load_base_tokenizer(str(d / TOKENIZER_DIR))
        with quiet_transformers():
            enc = AutoModel.from_config(AutoConfig.from_pretrained(str(ec)))
        net = build_network(settings, n_dim, n_role, encoder=enc)
        missing, unexpected = net.load_state_dict(state, strict=False)
        if unexpected or missing:
            raise ModelError(f"{wpath}: weights do not match the network (missing {missing[:3]}, unexpected {unexpected[:3]})")
    else:
        base_name = base or settings.base
        tokenizer = load_base_tokenizer(base_name)
        net = build_network(settings, n_dim, n_role, base=base_name)
        missing, unexpected = net.load_state_dict(state, strict=False)
        if unexpected:
            raise ModelError(f"{wpath}: weights do not match the network (unexpected {unexpected[:3]})")
        not_loaded = [k for k in missing if "lora_" in k or k.startswith(HEAD_PREFIXES)]
        if not_loaded:
            raise ModelError(f"{wpath}: trained weights missing for {not_loaded[:3]}")
    net.eval()
    return net, tokenizer

