"""Tag sentences of reports with their indicator dimension and role.

    import lawgov_nlp as lg
    tagger = lg.load()                        # the shipped default model, offline
    doc = tagger.tag_file("report.docx")      # or tag_text(str), tag_sentences(list), tag_files(paths)
    doc.to_dataframe()

Inference is batched across sentences (and documents), sorted by length, runs
under ``torch.inference_mode`` with a thread count that respects the machine,
and never truncates silently: a sentence longer than the model's limit is cut
into overlapping windows whose probabilities are averaged.
"""
from __future__ import annotations

import abc
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from .errors import ReadError
from .reading import Document, read_file, read_text
from .textutil import to_simplified

DEFAULT_MODEL_ENV = "LAWGOV_MODEL"


def default_model_dir() -> Path:
    """The shipped default model: ``$LAWGOV_MODEL`` or ``models/lawgov-zh-small`` beside the package."""
    env = os.environ.get(DEFAULT_MODEL_ENV)
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    for cand in (here / "models" / "lawgov-zh-small", here.parent / "models" / "lawgov-zh-small"):
        if cand.is_dir():
            return cand
    return here.parent / "models" / "lawgov-zh-small"


# --------------------------------------------------------------------------- records
@dataclass
class TaggedSentence:
    """One sentence with its tags. ``scores``/``role_scores`` hold every class's probability."""

    text: str
    start: int
    end: int
    index: int
    section: tuple[str, ...]
    dimension: str
    scores: dict[str, float]
    secondary: list[str]
    role: str
    role_scores: dict[str, float]
    is_problem: bool
    problem_probability: float
    is_heading: bool = False
    heading_level: int | None = None
    doc_id: str = ""

    @property
    def dimension_score(self) -> float:
        return self.scores[self.dimension]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["section"] = list(self.section)
        return d


def _flat(s: TaggedSentence, dim_names: dict[str, str]) -> dict:
    return {
        "doc_id": s.doc_id, "index": s.index, "start": s.start, "end": s.end,
        "section": " > ".join(s.section), "is_heading": s.is_heading, "text": s.text,
        "dimension": s.dimension, "dimension_name": dim_names.get(s.dimension, ""),
        "dimension_score": round(s.scores[s.dimension], 4), "secondary": "|".join(s.secondary),
        "role": s.role, "is_problem": s.is_problem, "problem_probability": round(s.problem_probability, 4),
        **{f"p_{k}": round(v, 4) for k, v in s.scores.items()},
        **{f"p_role_{k}": round(v, 4) for k, v in s.role_scores.items()},
    }


@dataclass
class TaggedDocument:
    """A tagged report: its sentences and how it was read."""

    doc_id: str
    sentences: list[TaggedSentence]
    path: str | None = None
    info: dict = field(default_factory=dict)
    dimension_names: dict[str, str] = field(default_factory=dict)

    def to_dicts(self) -> list[dict]:
        return [s.to_dict() for s in self.sentences]

    def to_records(self) -> list[dict]:
        """Flat rows (one per sentence) for CSV/XLSX: probabilities as ``p_<dimension>`` columns."""
        return [_flat(s, self.dimension_names) for s in self.sentences]

    def to_dataframe(self):
        import pandas as pd

        return pd.DataFrame(self.to_records())

    @property
    def problems(self) -> list[TaggedSentence]:
        return [s for s in self.sentences if s.is_problem]

    def summary(self, scheme=None, **kwargs):
        """Coverage and problems per dimension: a :class:`~lawgov_nlp.report.CoverageReport`."""
        from .report import summarize

        return summarize(self, scheme, **kwargs)


# --------------------------------------------------------------------------- the tagger
def _threads() -> int:
    env = os.environ.get("LAWGOV_THREADS")
    if env:
        return max(1, int(env))
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    return max(1, min(n, 8))


def encode_items(tokenizer, cfg, texts: Sequence[str], sections: Sequence[Any] | None):
    """Model inputs for sentences: (items, owner, weight).

    Text goes in simplified script; the heading path (last levels) is the second
    segment when ``cfg.use_section``. A sentence longer than the token budget
    becomes several overlapping windows (``owner`` maps each back to its sentence,
    ``weight`` is its length in characters), so nothing is silently truncated.
    """
    from .model import section_context

    tok = tokenizer
    budget = max(8, cfg.max_length - (cfg.section_max_tokens if cfg.use_section else 0) - 4)
    items, owner, weight = [], [], []
    simp = [to_simplified(t) for t in texts]
    ctx = [to_simplified(section_context(sections[i])) if (cfg.use_section and sections) else "" for i in range(len(texts))]
    enc = tok(simp, add_special_tokens=False, return_offsets_mapping=True)
    sec_ids = tok(ctx, add_special_tokens=False)["input_ids"] if cfg.use_section else None
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
        for a, b in pieces:
            items.append((simp[i][a:b], ctx[i] if cfg.use_section else None,
                          sec_ids[i][: cfg.section_max_tokens] if sec_ids else None))
            owner.append(i)
            weight.append(max(1, b - a))
    return items, owner, weight


def tokenize_items(tokenizer, cfg, items):
    """A padded batch (PyTorch tensors) for encoded items."""
    a = [x[0] for x in items]
    if cfg.use_section:
        return tokenizer(a, text_pair=[x[1] for x in items], padding=True, truncation="only_second",
                         max_length=cfg.max_length, return_tensors="pt")
    return tokenizer(a, padding=True, truncation=True, max_length=cfg.max_length, return_tensors="pt")


class SentenceTagger(abc.ABC):
    """Anything that gives per-class probabilities for sentences can tag reports.

    Subclasses set ``cfg`` (a :class:`~lawgov_nlp.model.TaggerConfig`: label lists and
    thresholds) and ``scheme``, and implement :meth:`predict_proba`; reading,
    segmentation, thresholds and the ``tag_*`` methods are shared. The fine-tuned
    :class:`Tagger` and the baselines in :mod:`lawgov_nlp.baselines` are both taggers.
    """

    cfg: Any
    scheme: Any
    path: str | None = None

    @property
    def dimension_names(self) -> dict[str, str]:
        return {d.code: d.name for d in self.scheme.dimensions}

    @abc.abstractmethod
    def predict_proba(self, texts: Sequence[str], sections: Sequence[Any] | None = None,
                      progress: Callable[[int], None] | None = None):
        """(dimension probabilities [N, D], role probabilities [N, R]) as numpy arrays."""


    def decide(self, dim_p, role_p):
        """Labels from probabilities with the model's tuned thresholds."""
        cfg = self.cfg
        dims, roles = cfg.dimensions, cfg.roles
        pi = roles.index(cfg.problem_role) if cfg.problem_role in roles else None
        out = []
        for dp, rp in zip(dim_p, role_p):
            di = int(dp.argmax())
            secondary = [dims[j] for j in (-dp).argsort() if j != di and dp[j] >= cfg.secondary_threshold
                         and dims[j] != self.scheme.fallback_dimension]
            p_problem = float(rp[pi]) if pi is not None else 0.0
            is_problem = pi is not None and p_problem >= cfg.problem_threshold
            if is_problem:
                role = cfg.problem_role
            else:
                order = [j for j in (-rp).argsort() if j != pi]
                role = roles[int(order[0])]
            out.append((dims[di], secondary, role, is_problem, p_problem))
        return out

    # -- public API ----------------------------------------------------------
    def tag_sentences(self, sentences: Sequence[str], sections: Sequence[Any] | None = None) -> list[TaggedSentence]:
        """Tag a list of sentences (optionally with their heading paths)."""
        dp, rp = self.predict_proba(list(sentences), sections)
        return [self._record(t, i, 0, len(t), tuple(sections[i]) if sections else (), dp[i], rp[i], d)
                for i, (t, d) in enumerate(zip(sentences, self.decide(dp, rp)))]

    def _record(self, text, index, start, end, section, dp, rp, decided, doc_id="", is_heading=False, level=None):
        dim, secondary, role, is_problem, p_problem = decided
        return TaggedSentence(
            text=text, start=start, end=end, index=index, section=tuple(section), dimension=dim,
            scores={k: float(v) for k, v in zip(self.cfg.dimensions, dp)}, secondary=secondary, role=role,
            role_scores={k: float(v) for k, v in zip(self.cfg.roles, rp)}, is_problem=is_problem,
            problem_probability=p_problem, is_heading=is_heading, heading_level=level, doc_id=doc_id)

    def tag_documents(self, docs: Sequence[Document], progress: Callable[[int], None] | None = None) -> list[TaggedDocument]:
        """Tag already-read documents, batching sentences across all of them."""
        flat = [(k, s) for k, d in enumerate(docs) for s in d.sentences]
        dp, rp = self.predict_proba([s.text for _, s in flat], [s.section for _, s in flat], progress=progress)
        decided = self.decide(dp, rp)
        out = [TaggedDocument(d.doc_id, [], d.path, d.info(), self.dimension_names) for d in docs]
        for j, (k, s) in enumerate(flat):
            out[k].sentences.append(self._record(s.text, s.index, s.start, s.end, s.section, dp[j], rp[j], decided[j],
                                                 docs[k].doc_id, s.is_heading, s.heading_level))
        return out

    def tag_text(self, text: str, doc_id: str = "text") -> TaggedDocument:
        """Segment and tag a report given as a string."""
        doc = read_text(text, doc_id)
        return self.tag_documents([doc])[0]

    def tag_file(self, path: str | os.PathLike, encoding: str | None = None) -> TaggedDocument:
        """Read, segment and tag one report file (.txt .html .docx .pdf)."""
        return self.tag_documents([read_file(path, encoding=encoding)])[0]

    def tag_files(self, paths: Iterable[str | os.PathLike], on_error: Callable[[str, str], None] | None = None,
                  docs_per_batch: int = 16, progress: Callable[[int], None] | None = None) -> list[TaggedDocument]:
        """Tag many files, batching across documents; unreadable files are reported to ``on_error``
        (path, reason) and skipped, or raise :class:`ReadError` when no handler is given."""
        out: list[TaggedDocument] = []
        pending: list[Document] = []
        for p in paths:
            try:
                pending.append(read_file(p))
            except ReadError as e:
                if on_error is None:
                    raise
                on_error(e.path, e.reason)
            if len(pending) >= docs_per_batch:
                out.extend(self.tag_documents(pending, progress))
                pending = []
        if pending:
            out.extend(self.tag_documents(pending, progress))
        return out


class Tagger(SentenceTagger):
    """A fine-tuned encoder with two heads: call ``tag_*`` to tag text, files or sentence lists."""

    def __init__(self, net, tokenizer, cfg, scheme, path: str | None = None, fast: bool = False,
                 batch_size: int = 32, threads: int | None = None):
        self.net = net
        self.tokenizer = tokenizer
        self.cfg = cfg
        self.scheme = scheme
        self.path = path
        self.fast = fast
        self.batch_size = batch_size
        self.threads = threads or _threads()

    # -- loading -----------------------------------------------------------
    @classmethod
    def load(cls, path: str | os.PathLike | None = None, *, fast: bool = False, base: str | None = None,
             batch_size: int = 32, threads: int | None = None) -> "Tagger":
        """Load a model directory (default: the shipped model). ``fast`` = dynamic int8 quantization."""
        from .model import load_model

        d = Path(path) if path else default_model_dir()
        if path is None and not d.is_dir():
            from .model import ModelError

            raise ModelError(f"{d}: the shipped default model is not there. It lives in the repository's "
                             f"models/lawgov-zh-small: install from a checkout with `pip install -e .`, or pass "
                             f"the model directory (--model DIR / load(path)) or set {DEFAULT_MODEL_ENV}")
        net, tok, cfg, scheme = load_model(d, base=base)
        if fast:
            net = quantize(net)
        return cls(net, tok, cfg, scheme, str(d), fast=fast, batch_size=batch_size, threads=threads)

    # -- core --------------------------------------------------------------
    def _encode(self, texts: Sequence[str], sections: Sequence[Any] | None):
        return encode_items(self.tokenizer, self.cfg, texts, sections)

    def predict_proba(self, texts: Sequence[str], sections: Sequence[Any] | None = None,
                      progress: Callable[[int], None] | None = None):
        """(dimension probabilities [N, D], role probabilities [N, R]) as numpy arrays."""
        import numpy as np
        import torch

        n = len(texts)
        D, R = len(self.cfg.dimensions), len(self.cfg.roles)
        if n == 0:
            return np.zeros((0, D), dtype=np.float32), np.zeros((0, R), dtype=np.float32)
        items, owner, weight = self._encode(texts, sections)
        lengths = [len(x[0]) + (len(x[2]) if x[2] else 0) for x in items]
        order = sorted(range(len(items)), key=lambda k: lengths[k])
        dim_p = np.zeros((len(items), D), dtype=np.float32)
        role_p = np.zeros((len(items), R), dtype=np.float32)
        prev = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            with torch.inference_mode():
                for s in range(0, len(order), self.batch_size):
                    idx = order[s:s + self.batch_size]
                    batch = tokenize_items(self.tokenizer, self.cfg, [items[k] for k in idx])
                    dl, rl = self.net(batch["input_ids"], batch["attention_mask"], batch.get("token_type_ids"))
                    dim_p[idx] = torch.softmax(dl.float(), -1).numpy()
                    role_p[idx] = torch.softmax(rl.float(), -1).numpy()
                    if progress:
                        progress(len({owner[k] for k in idx}))
        finally:
            torch.set_num_threads(prev)
        # average window probabilities, weighted by window length
        out_d = np.zeros((n, D), dtype=np.float32)
        out_r = np.zeros((n, R), dtype=np.float32)
        wsum = np.zeros(n, dtype=np.float32)
        for k, i in enumerate(owner):
            out_d[i] += weight[k] * dim_p[k]
            out_r[i] += weight[k] * role_p[k]
            wsum[i] += weight[k]
        return out_d / wsum[:, None], out_r / wsum[:, None]

def quantize(net):
    """Dynamic int8 quantization of the encoder's Linear layers (LoRA merged first).

    Per-channel weight scales; the two small heads stay in float32, so the decision
    layer sees unquantized weights.
    """
    import copy

    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    net = copy.deepcopy(net)
    if hasattr(net.encoder, "merge_and_unload"):
        net.encoder = net.encoder.merge_and_unload()
    net.eval()
    spec = {name: per_channel_dynamic_qconfig for name, m in net.encoder.named_modules()
            if isinstance(m, torch.nn.Linear) and "pooler" not in name}
    import warnings

    with warnings.catch_warnings():  # torch announces the eager quantization API's move to torchao
        warnings.simplefilter("ignore")
        net.encoder = quantize_dynamic(net.encoder, spec, dtype=torch.qint8)
    return net


def load(path: str | os.PathLike | None = None, **kwargs) -> Tagger:
    """Load a tagger: the shipped default model when ``path`` is None (see :meth:`Tagger.load`)."""
    return Tagger.load(path, **kwargs)
