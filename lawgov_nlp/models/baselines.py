"""Baselines that tag like any model: keyword rules and TF-IDF + logistic regression.

Both are :class:`~lawgov_nlp.tagger.SentenceTagger` subclasses, so they share the
fine-tuned tagger's thresholds (``decide``) and its ``tag_text`` / ``tag_file`` /
``tag_files`` / ``tag_documents`` methods, and both are saved and loaded like a
model directory::

    from lawgov_nlp.baselines import KeywordTagger, TfidfTagger, load_any, train_tfidf
    kw = KeywordTagger()                                   # cue words of the default scheme, no training
    tf = train_tfidf("training/data/train.jsonl", "training/data/dev.jsonl", "models/baseline-tfidf")
    tagger = load_any("models/baseline-tfidf")             # or "keywords", or a fine-tuned model dir

A baseline directory holds ``baseline.json`` (kind, thresholds, label lists, scheme
name, parameters), ``scheme.yaml`` and, for TF-IDF, ``model.joblib`` (a pickle:
load only directories you trust, as with any pickled scikit-learn model).

Nothing here hard-codes a label: dimensions, roles, cue words, the problem role
and the fallbacks all come from the :class:`~lawgov_nlp.scheme.LabelScheme`.
"""
from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import ConfigError, CorpusError, ModelError
from ..scheme import LabelScheme, load_scheme
from ..text.chars import to_simplified
from .contract import Manifest, Thresholds, read_metrics, write_model_dir
from .encoder import section_context
from .tagger import SentenceTagger

JOBLIB_NAME = "model.joblib"
KIND_KEYWORDS = "keywords"
KIND_TFIDF = "tfidf"


def _scheme_of(scheme) -> LabelScheme:
    return scheme if isinstance(scheme, LabelScheme) else load_scheme(scheme)


def _params_from(cls, manifest: Manifest, d: Path) -> dict:
    params = dict((manifest.config or {}).get("params") or {})
    unknown = sorted(set(params) - set(cls.PARAMS))
    if unknown:
        raise ModelError(f"{d}: unknown {cls.kind} parameter(s) {unknown} in the manifest; known: {', '.join(cls.PARAMS)}")
    return params


def _section_text(section: Any) -> str:
    if not section:
        return ""
    if isinstance(section, str):
        return section
    return " > ".join(str(s) for s in section)


def _softmax(x):
    import numpy as np

    z = x - x.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


# --------------------------------------------------------------------------- keyword rules
_END_PUNCT = tuple("。；;！!？?…")


def is_structure_line(text: str, max_len: int = 40) -> bool:
    """A heading-like line: a title, a numbered heading, an addressee or date line.

    True for a short line (at most ``max_len`` characters) that does not end like a
    sentence (。；！？) — "二、主要存在问题", "澜州市人民政府关于2022年度法治政府建设情况的报告",
    "省委、省人民政府：". Such lines state no work, problem or plan of their own.
    """
    s = text.strip()
    return bool(s) and len(s) <= max_len and not s.endswith(_END_PUNCT)


class _CueMatcher:
    """Longest-match-first, non-overlapping cue search over all labels at once.

    Cues of different labels overlap (执法监督 ⊃ 监督, 应急预案 ⊃ 应急, 政府规章 ⊃ 规章):
    a position of the text taken by a longer cue is not counted again for a shorter
    one, so "执法监督" counts for the label that lists it and not also for "监督".
    Matching is case-insensitive (APP, app).
    """

    def __init__(self, labels: Sequence[Any]):
        pairs = [(c.lower(), j) for j, lab in enumerate(labels) for c in lab.cues if c.strip()]
        pairs.sort(key=lambda p: (-len(p[0]), p[0], p[1]))
        self.pairs = pairs
        self.n = len(labels)

    def matches(self, text: str) -> list[tuple[str, int]]:
        t = text.lower()
        taken = [False] * len(t)
        out = []
        for cue, j in self.pairs:
            start = t.find(cue)
            while start >= 0:
                end = start + len(cue)
                if not any(taken[start:end]):
                    for k in range(start, end):
                        taken[k] = True
                    out.append((cue, j))
                start = t.find(cue, start + 1)
        return out


def cue_weight(cue: str) -> float:
    """Longer cues are more specific: 0.5 per character, at most 2 (将 0.5, 立法 1, 行政复议 2)."""
    return min(2.0, 0.5 * len(cue))


class KeywordTagger(SentenceTagger):
    """Keyword rules built from the scheme's cue words; no training.

    Scores (each cue found adds :func:`cue_weight`, cues found by
    :class:`_CueMatcher`):

    * dimension ``d``: cues of ``d`` in the sentence, plus ``section_weight`` × cues of
      ``d`` in its heading path; the fallback dimension starts at ``prior`` so that a
      sentence with no cue gets it;
    * role ``r``: the same with the role cues; cues of the scheme's problem role count
      ``problem_boost`` times (problem statements usually also carry plan words —
      有待进一步加强 has 进一步 — while plans and achievements rarely carry problem words);
      the fallback role starts at ``prior``;
    * structure lines (:func:`is_structure_line`: titles, numbered headings, addressee
      and date lines) with no dimension cue get ``structure_bonus`` on the fallback
      dimension and role — the guidelines label pure structure lines other/other;
    * ``content_role``: the role of a sentence that is not a structure line and has no
      role cue. Reports mostly report work, so a body sentence without a problem or plan
      word is taken as that; ``"auto"`` (default) = the scheme's first role that is
      neither the problem role nor the fallback role (zh-2021: ``achievement``), a role
      code names it, ``None`` keeps the fallback role. (On dev, role macro-F1 0.46 with
      ``None`` → 0.65 with ``"auto"``.)

    Probabilities are ``softmax(temperature × scores)`` per head, so they sum to 1 and
    a sentence with no cue at all gets the fallback dimension and role.
    """

    kind = KIND_KEYWORDS
    PARAMS = ("section_weight", "prior", "problem_boost", "structure_bonus", "temperature", "content_role")

    def __init__(self, scheme: LabelScheme | str | os.PathLike | None = None, *, section_weight: float = 0.5,
                 prior: float = 0.75, problem_boost: float = 1.5, structure_bonus: float = 1.0,
                 temperature: float = 2.0, content_role: str | None = "auto",
                 thresholds: Thresholds | None = None, path: str | None = None):
        self.scheme = _scheme_of(scheme)
        self.thresholds = thresholds or Thresholds()
        if content_role == "auto":
            content_role = next((r for r in self.scheme.role_codes
                                 if r not in (self.scheme.problem_role, self.scheme.fallback_role)), None)
        if content_role is not None and content_role not in self.scheme.role_codes:
            raise ConfigError(f"content_role {content_role!r} is not a role of scheme {self.scheme.name!r}: "
                              f"{self.scheme.role_codes}")
        self.section_weight = float(section_weight)
        self.prior = float(prior)
        self.problem_boost = float(problem_boost)
        self.structure_bonus = float(structure_bonus)
        self.temperature = float(temperature)
        self.content_role = content_role
        self.path = path
        self._dims = _CueMatcher(self.scheme.dimensions)
        self._roles = _CueMatcher(self.scheme.roles)
        self._fd = self.scheme.dimension_codes.index(self.scheme.fallback_dimension)
        self._fr = self.scheme.role_codes.index(self.scheme.fallback_role)
        self._pr = self.scheme.role_codes.index(self.scheme.problem_role)
        self._cr = self.scheme.role_codes.index(self.content_role) if self.content_role else None

    @property
    def params(self) -> dict:
        return {k: getattr(self, k) for k in self.PARAMS}

    def scores(self, text: str, section: Any = None):
        """Raw (dimension scores, role scores) of one sentence, before the softmax."""
        import numpy as np

        t = to_simplified(text)
        sec = to_simplified(_section_text(section))
        ds = np.zeros(self._dims.n)
        rs = np.zeros(self._roles.n)
        for src, w in ((t, 1.0), (sec, self.section_weight)):
            if not src or w == 0:
                continue
            for cue, j in self._dims.matches(src):
                ds[j] += w * cue_weight(cue)
            for cue, j in self._roles.matches(src):
                rs[j] += w * cue_weight(cue) * (self.problem_boost if j == self._pr else 1.0)
        # a sentence's own cues decide; has it any dimension cue of its own (not the fallback's)?
        own_dim = any(j != self._fd for _, j in self._dims.matches(t))
        own_role = bool(self._roles.matches(t))
        ds[self._fd] += self.prior
        rs[self._fr] += self.prior
        if not own_dim and is_structure_line(t):
            ds[self._fd] += self.structure_bonus
            rs[self._fr] += self.structure_bonus
        elif not own_role and self._cr is not None:
            rs[self._cr] += self.prior + 0.25  # beats the fallback role's prior
        return ds, rs

    def predict_proba(self, texts: Sequence[str], sections: Sequence[Any] | None = None,
                      progress: Callable[[int], None] | None = None):
        import numpy as np

        D, R = len(self.dimensions), len(self.roles)
        if not texts:
            return np.zeros((0, D), dtype=np.float32), np.zeros((0, R), dtype=np.float32)
        ds, rs = zip(*(self.scores(t, sections[i] if sections else None) for i, t in enumerate(texts)))
        if progress:
            progress(len(texts))
        return (_softmax(self.temperature * np.array(ds)).astype(np.float32),
                _softmax(self.temperature * np.array(rs)).astype(np.float32))

    @classmethod
    def from_dir(cls, d: Path, manifest: Manifest, scheme, **_options) -> "KeywordTagger":
        return cls(scheme, **_params_from(cls, manifest, d), thresholds=Thresholds.from_dict(manifest.thresholds, str(d)),
                   path=str(d))

    def save(self, out_dir: str | os.PathLike, metrics: dict | None = None) -> Path:
        return _save(self, out_dir, {"params": self.params}, metrics=metrics)


# --------------------------------------------------------------------------- TF-IDF + LR
_JIEBA = None
_DIGITS = re.compile(r"\d+(?:\.\d+)?")


def _jieba():
    """A private jieba tokenizer with the default dictionary, initialised quietly, once.

    Private so that words another part of the program adds to jieba's global
    tokenizer cannot change this model's features.
    """
    global _JIEBA
    if _JIEBA is None:
        import logging

        import jieba

        jieba.setLogLevel(logging.WARNING)
        tok = jieba.Tokenizer()
        tok.initialize()
        _JIEBA = tok
    return _JIEBA


def normalise(text: str) -> str:
    """What the vectorizers see: simplified script, numbers as ``0`` (2022年 → 0年, 98.5% → 0%)."""
    return _DIGITS.sub("0", to_simplified(text or ""))


def jieba_tokens(text: str) -> list[str]:
    """jieba words (precise mode, HMM off: same dictionary → same tokens), spaces and punctuation dropped."""
    return [w for w in _jieba().lcut(text, HMM=False) if w.strip() and any(ch.isalnum() for ch in w)]


def build_features(max_word: int = 8000, max_char: int = 20000, max_section: int = 2000,
                   section_weight: float = 0.5, min_df: int = 2):
    """The feature extractor: a ColumnTransformer over rows (normalised text, section path).

    * ``word``: jieba tokens, TF-IDF (sublinear tf), at most ``max_word`` features;
    * ``char``: character 1–3-grams of the sentence, at most ``max_char``;
    * ``section``: character 1–2-grams of the heading path (last three headings), at most
      ``max_section``, weighted ``section_weight``.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer

    word = TfidfVectorizer(tokenizer=jieba_tokens, token_pattern=None, lowercase=True, min_df=min_df,
                           max_features=max_word, sublinear_tf=True)
    char = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), lowercase=True, min_df=min_df,
                           max_features=max_char, sublinear_tf=True)
    sect = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), lowercase=True, min_df=min_df,
                           max_features=max_section, sublinear_tf=True)
    blocks = [("word", word, 0), ("char", char, 0)]
    if section_weight > 0 and max_section > 0:  # 0: the sentence's own words only (stacking in a context model)
        blocks.append(("section", sect, 1))
    return ColumnTransformer(blocks, transformer_weights={"word": 1.0, "char": 1.0, "section": section_weight},
                             sparse_threshold=1.0)


def _rows(texts: Sequence[str], sections: Sequence[Any] | None):
    import numpy as np

    rows = np.empty((len(texts), 2), dtype=object)
    for i, t in enumerate(texts):
        rows[i, 0] = normalise(t)
        rows[i, 1] = normalise(section_context(sections[i]) if sections else "")
    return rows


class TfidfTagger(SentenceTagger):
    """jieba words + character 1–3-grams (+ heading-path character n-grams), TF-IDF, and two
    balanced logistic regressions (dimension, role). Train with :meth:`fit` or :func:`train_tfidf`.

    The heading path is a separate, down-weighted feature block (``section_*`` n-grams),
    not text glued onto the sentence, so a heading word never looks like a sentence word.
    """

    kind = KIND_TFIDF
    PARAMS = ("C", "max_word", "max_char", "max_section", "section_weight", "min_df", "random_state", "max_iter")

    def __init__(self, scheme: LabelScheme | str | os.PathLike | None = None, *, C: float = 4.0,
                 max_word: int = 8000, max_char: int = 20000, max_section: int = 2000,
                 section_weight: float = 0.5, min_df: int = 2, random_state: int = 0, max_iter: int = 3000,
                 thresholds: Thresholds | None = None, path: str | None = None):
        self.scheme = _scheme_of(scheme)
        self.thresholds = thresholds or Thresholds()
        self.C, self.max_word, self.max_char, self.max_section = float(C), int(max_word), int(max_char), int(max_section)
        self.section_weight, self.min_df = float(section_weight), int(min_df)
        self.random_state, self.max_iter = int(random_state), int(max_iter)
        self.path = path
        self.model: dict | None = None  # {"features": ColumnTransformer, "dimension": LR, "role": LR}
        self.tuning: dict = {}

    @property
    def params(self) -> dict:
        return {k: getattr(self, k) for k in self.PARAMS}

    def _lr(self, X, y: list[str], codes: list[str]):
        from sklearn.linear_model import LogisticRegression

        present = sorted(set(y))
        if len(present) == 1:  # nothing to learn: a constant answer
            return {"constant": present[0]}
        lr = LogisticRegression(C=self.C, class_weight="balanced", solver="lbfgs", max_iter=self.max_iter,
                                random_state=self.random_state)
        return lr.fit(X, y)

    def fit(self, records: Sequence[dict], scheme: LabelScheme | None = None,
            dev_records: Sequence[dict] | None = None) -> "TfidfTagger":
        """Train on annotated records; with ``dev_records``, tune the problem and secondary
        thresholds on them (:func:`lawgov_nlp.train.tune_thresholds`). Never pass test data here."""
        from threadpoolctl import threadpool_limits

        if scheme is not None and scheme != self.scheme:
            self.__init__(scheme, path=self.path, **self.params)
        if not records:
            raise CorpusError("<training data>", ["no training records"])
        texts = [r["text"] for r in records]
        sections = [r.get("section") or [] for r in records]
        with threadpool_limits(1):
            feats = build_features(self.max_word, self.max_char, self.max_section, self.section_weight,
                                   min_df=self.min_df if len(records) >= 200 else 1)
            X = feats.fit_transform(_rows(texts, sections))
            for _, vec, _ in feats.transformers_:  # the cut vocabulary is only for introspection; it
                if hasattr(vec, "stop_words_"):     # can be large, and scikit-learn says it may go
                    del vec.stop_words_
            self.model = {
                "features": feats,
                "dimension": self._lr(X, [r["dimension"] for r in records], self.dimensions),
                "role": self._lr(X, [r["role"] for r in records], self.roles),
            }
        if dev_records:
            from ..metrics import tune_thresholds

            dp, rp = self.predict_records(dev_records)
            th = tune_thresholds(dp, rp, list(dev_records), self.scheme, self.thresholds)
            self.thresholds = Thresholds(th["problem_threshold"], th["secondary_threshold"])  # secondary kept when dev has too few
            self.tuning = th
        return self

    @staticmethod
    def _proba(clf, X, codes: list[str]):
        import numpy as np

        out = np.zeros((X.shape[0], len(codes)), dtype=np.float64)
        if isinstance(clf, dict):
            out[:, codes.index(clf["constant"])] = 1.0
            return out
        p = clf.predict_proba(X)
        for k, c in enumerate(clf.classes_):
            out[:, codes.index(str(c))] = p[:, k]
        return out

    def predict_proba(self, texts: Sequence[str], sections: Sequence[Any] | None = None,
                      progress: Callable[[int], None] | None = None):
        import numpy as np
        from threadpoolctl import threadpool_limits

        if self.model is None:
            raise ModelError("TfidfTagger is not trained: call fit() or load a saved one")
        D, R = len(self.dimensions), len(self.roles)
        if not texts:
            return np.zeros((0, D), dtype=np.float32), np.zeros((0, R), dtype=np.float32)
        with threadpool_limits(1):
            X = self.model["features"].transform(_rows(list(texts), sections))
            dp = self._proba(self.model["dimension"], X, self.dimensions)
            rp = self._proba(self.model["role"], X, self.roles)
        if progress:
            progress(len(texts))
        return dp.astype(np.float32), rp.astype(np.float32)

    @classmethod
    def from_dir(cls, d: Path, manifest: Manifest, scheme, **_options) -> "TfidfTagger":
        import warnings

        import sklearn

        saved = (manifest.versions or {}).get("scikit-learn")
        if saved and saved.split(".")[:2] != sklearn.__version__.split(".")[:2]:
            warnings.warn(f"{d}: saved with scikit-learn {saved}, loading with {sklearn.__version__}", stacklevel=2)
        t = cls(scheme, **_params_from(cls, manifest, d), thresholds=Thresholds.from_dict(manifest.thresholds, str(d)),
                path=str(d))
        t.model = _read_joblib(d / JOBLIB_NAME)
        t.tuning = dict((manifest.config or {}).get("tuning") or {})
        return t

    def save(self, out_dir: str | os.PathLike, metrics: dict | None = None) -> Path:
        import joblib

        if self.model is None:
            raise ModelError(f"{out_dir}: TfidfTagger is not trained: nothing to save")

        def write(tmp: Path) -> None:
            joblib.dump(self.model, tmp / JOBLIB_NAME, compress=3)

        return _save(self, out_dir, {"params": self.params, "tuning": self.tuning}, write, [JOBLIB_NAME], metrics)


def _read_joblib(p: Path) -> dict:
    import joblib

    if not p.is_file():
        raise ModelError(f"{p}: weights file missing")
    try:
        with _module_names_of_0_1():
            model = joblib.load(p)
    except Exception as e:  # noqa: BLE001 - a truncated or foreign pickle
        raise ModelError(f"{p}: cannot read the model (truncated or not a lawgov TF-IDF model: "
                         f"{type(e).__name__}: {e})") from e
    if not isinstance(model, dict) or not {"features", "dimension", "role"} <= set(model):
        raise ModelError(f"{p}: not a lawgov TF-IDF model")
    return model


def load_tfidf_model(p: Path, scheme, config: dict) -> "TfidfTagger":
    """A TF-IDF model stored inside another model's directory (a context model that stacks it)."""
    t = TfidfTagger(scheme, **dict(config.get("params") or {}))
    t.model = _read_joblib(p)
    return t


@contextlib.contextmanager
def _module_names_of_0_1():
    """Pickles written by lawgov-nlp 0.1 name this module ``lawgov_nlp.baselines``."""
    import sys

    had = "lawgov_nlp.baselines" in sys.modules
    sys.modules.setdefault("lawgov_nlp.baselines", sys.modules[__name__])
    try:
        yield
    finally:
        if not had:
            sys.modules.pop("lawgov_nlp.baselines", None)


# --------------------------------------------------------------------------- save
def _save(tagger, out_dir, config: dict, write: Callable[[Path], None] | None = None, weights: Sequence[str] = (),
          metrics: dict | None = None) -> Path:
    """Write a baseline's model directory atomically (a model card or metrics already there are kept)."""
    from .card import model_card

    man = Manifest(kind=tagger.kind, dimensions=list(tagger.dimensions), roles=list(tagger.roles),
                   thresholds={"problem": tagger.thresholds.problem, "secondary": tagger.thresholds.secondary},
                   config=config, weights={w: {} for w in weights})
    kept = metrics if metrics is not None else read_metrics(out_dir)
    out = write_model_dir(out_dir, man, tagger.scheme, write or (lambda tmp: None), metrics=metrics,
                          card=lambda m: model_card(m, kept, name=Path(out_dir).name))
    tagger.path = str(out)
    return out
