"""The ``context`` kind: every sentence is read in its document.

    sentences of a document ─► the fine-tuned encoder, each sentence once, alone (no heading prefix)
                            ─► sentence vectors + structure features (heading, level, position,
                               paragraph) [+ the TF-IDF baseline's probabilities]
                            ─► a bidirectional GRU over the whole document (headings are members
                               of the sequence, not a prefix repeated on every sentence)
                            ─► dimension head (own-vector logits + a gated context term, so that a
                               sentence's own content leads) and role head (own vector + context)

``tag_sentences`` on isolated sentences still works: each is a one-sentence document.

A model directory holds the manifest, the scheme, ``weights.safetensors`` (the encoder's LoRA
adapters under ``encoder.`` and the context network under ``context.``) and, when it stacks the
TF-IDF baseline, that baseline's ``tfidf.joblib``.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from ..errors import ModelError
from .contract import Manifest, Thresholds, check_head_sizes, read_metrics, read_weights, write_model_dir
from .features import N_FEATURES, structure_features
from .settings import ContextSettings, EncoderSettings
from .tagger import Progress, SentenceInput, Tagger, VectorCache, refuse_unexact_save

WEIGHTS_NAME = "weights.safetensors"
TFIDF_NAME = "tfidf.joblib"
#: documents go through the context layer in groups of at most this many padded sentence slots and documents
CONTEXT_BATCH_SLOTS = 8192
CONTEXT_BATCH_DOCS = 64


def _groups(lengths: Sequence[int], slots: int, most: int) -> list[list[int]]:
    """Consecutive groups of positions in ``lengths`` (sorted ascending) whose padded size (count × the
    group's longest) stays within ``slots`` and whose count within ``most``; a longer one goes alone."""
    groups: list[list[int]] = []
    for i, n in enumerate(lengths):
        g = groups[-1] if groups else None
        if g is not None and len(g) < most and (len(g) + 1) * max(n, lengths[g[-1]]) <= slots:
            g.append(i)
        else:
            groups.append([i])
    return groups


def stacked_inputs(tfidf, docs: Sequence[Sequence[SentenceInput]]):
    """Per document, the TF-IDF baseline's log-probabilities [n, D + R] (sentence text only)."""
    import numpy as np

    flat = [s.text for d in docs for s in d]
    dp, rp = tfidf.predict_proba(flat, None)
    z = np.log(np.concatenate([dp, rp], 1) + 1e-4).astype(np.float32) / 5.0
    out, k = [], 0
    for d in docs:
        out.append(z[k:k + len(d)])
        k += len(d)
    return out


class ContextTagger(Tagger):
    """A document-context tagger (see the module docstring)."""

    kind = "context"

    def __init__(self, encoder_net, tokenizer, encoder_settings: EncoderSettings, context_net,
                 context_settings: ContextSettings, scheme, thresholds: Thresholds | None = None, *,
                 tfidf=None, path: str | None = None, fast: bool = False, batch_size: int = 32,
                 threads: int | None = None, trained_from: dict | None = None, path_name: str = "fp32",
                 cache_size: int | None = None, draft=None):
        from .encoder import default_threads

        self.net = encoder_net
        self.tokenizer = tokenizer
        self.settings = encoder_settings
        self.context_net = context_net
        self.context_settings = context_settings
        self.scheme = scheme
        self.thresholds = thresholds or Thresholds()
        self.tfidf = tfidf
        self.path = path
        self.fast = fast
        self.path_name = "torch-int8" if fast and path_name == "fp32" else path_name
        self.batch_size = int(batch_size)
        self.threads = threads or default_threads()
        self.trained_from = trained_from
        self.vector_cache = VectorCache(cache_size)
        #: the draft encoder (:mod:`lawgov_nlp.models.draft`); it runs when its ``net`` is built
        self.draft = draft
        self.draft_cache = VectorCache(cache_size)
        #: sentences tagged through the draft, and how many of them the full encoder read again
        self.draft_stats = {"sentences": 0, "reread": 0}
        if context_settings.stack_tfidf and tfidf is None:
            raise ModelError(f"{path or 'context model'}: stacks the TF-IDF baseline but has none")

    def clear_caches(self) -> None:
        """Forget cached sentence vectors (full and draft) and zero the draft's counts: the next call starts
        cold, as a benchmark pass or a calibration step needs."""
        self.vector_cache = VectorCache(self.vector_cache.size)
        self.draft_cache = VectorCache(self.vector_cache.size)
        self.draft_stats = {"sentences": 0, "reread": 0}

    # -- sentence vectors ------------------------------------------------------------
    def sentence_vectors(self, texts: Sequence[str], progress: Progress = None, *, draft: bool = False):
        """One pooled vector per sentence [N, H]: identical texts are encoded once (within a call, and
        across calls through a bounded cache of recent sentences); a sentence longer than the
        encoder's limit is the length-weighted mean of its windows. ``draft=True``: the draft
        encoder's vectors (it must be running)."""
        import numpy as np

        from ..text.chars import to_simplified
        from .encoder import run_encoder, weighted_mean

        if not texts:
            return np.zeros((0, self.context_net.d_in), dtype=np.float32)
        net, settings, cache = self.net, self.settings, self.vector_cache
        if draft:
            net, settings, cache = self.draft.net, self.draft.settings, self.draft_cache
        keys = [to_simplified(t) for t in texts]
        known = cache.lookup(keys)
        todo: dict[str, int] = {}
        for k in keys:
            if k not in known:
                todo.setdefault(k, len(todo))
        if todo:
            uniq = list(todo)
            vec, owner, weight = run_encoder(net, self.tokenizer, settings, uniq, None, self.batch_size,
                                             self.threads, progress)
            v = weighted_mean(vec, owner, weight, len(uniq))
            for k, i in todo.items():
                known[k] = v[i]
            cache.store(todo, v)
        if progress and len(texts) > len(todo):
            progress(len(texts) - len(todo))  # repeated or cached sentences, not encoded again
        return np.stack([known[k] for k in keys]).astype(np.float32, copy=False)

    # -- the contract ----------------------------------------------------------------
    def predict_documents(self, docs: Sequence[Sequence[SentenceInput]], progress: Progress = None) -> list[tuple]:
        flat = [s.text for d in docs for s in d]
        stacked = stacked_inputs(self.tfidf, docs) if self.context_settings.stack_tfidf else None
        if self.draft is not None and self.draft.net is not None:
            return self._predict_with_draft(docs, flat, stacked, progress)
        return self._context_probs(docs, self.sentence_vectors(flat, progress), stacked)

    def _context_probs(self, docs, vectors, stacked, only: set[int] | None = None, out: list | None = None):
        """Per document (dimension, role) probabilities from its sentences' vectors (rows of ``vectors`` in
        document order); with ``only``, just those documents are computed again into ``out``.

        Documents of like length go through a GRU context layer together, padded (it reads each one's own
        length only), so that it runs once per group and not once per document: 2.5x faster on the three
        samples, 20x on one-sentence documents. The windowed self-attention layer reads one at a time."""
        import numpy as np
        import torch

        D, R = len(self.dimensions), len(self.roles)
        out = list(out) if out is not None else [None] * len(docs)
        starts = np.concatenate([[0], np.cumsum([len(d) for d in docs])]).astype(int)
        todo = [j for j in range(len(docs)) if only is None or j in only]
        for j in todo:
            if not len(docs[j]):
                out[j] = (np.zeros((0, D), np.float32), np.zeros((0, R), np.float32))
        todo = sorted((j for j in todo if len(docs[j])), key=lambda j: len(docs[j]))
        most = 1 if self.context_settings.layer == "transformer" else CONTEXT_BATCH_DOCS
        prev = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            with torch.inference_mode():
                for group in _groups([len(docs[j]) for j in todo], CONTEXT_BATCH_SLOTS, most):
                    js = [todo[g] for g in group]
                    T = max(len(docs[j]) for j in js)
                    v = np.zeros((len(js), T, vectors.shape[1]), np.float32)
                    f = np.zeros((len(js), T, N_FEATURES), np.float32)
                    m = np.zeros((len(js), T), bool)
                    st = np.zeros((len(js), T, stacked[js[0]].shape[1]), np.float32) if stacked is not None else None
                    for b, j in enumerate(js):
                        n = len(docs[j])
                        v[b, :n] = vectors[starts[j]:starts[j] + n]
                        f[b, :n] = structure_features(docs[j])
                        m[b, :n] = True
                        if st is not None:
                            st[b, :n] = stacked[j]
                    dl, rl = self.context_net(torch.from_numpy(v), torch.from_numpy(f), torch.from_numpy(m),
                                              torch.from_numpy(st) if st is not None else None)
                    dp, rp = torch.softmax(dl.float(), -1).numpy(), torch.softmax(rl.float(), -1).numpy()
                    for b, j in enumerate(js):
                        n = len(docs[j])
                        out[j] = (dp[b, :n].copy(), rp[b, :n].copy())
        finally:
            torch.set_num_threads(prev)
        return out

    def _predict_with_draft(self, docs, flat, stacked, progress: Progress = None, rounds: int = 2) -> list[tuple]:
        """The draft reads every sentence whose full vector is not cached; the full encoder reads again those
        whose labels are in doubt (:func:`~lawgov_nlp.models.draft.in_doubt`), up to ``rounds`` times."""
        import numpy as np

        from ..text.chars import to_simplified
        from .draft import in_doubt

        keys = [to_simplified(t) for t in flat]
        known = self.vector_cache.lookup(keys)
        vectors = np.zeros((len(flat), self.context_net.d_in), dtype=np.float32)
        drafted = np.array([k not in known for k in keys], dtype=bool)
        for i, k in enumerate(keys):
            if k in known:
                vectors[i] = known[k]
        if progress and not drafted.all():
            progress(int((~drafted).sum()))
        idx = np.flatnonzero(drafted)
        if len(idx):
            vectors[idx] = self.sentence_vectors([flat[i] for i in idx], progress, draft=True)
        doc_of = np.repeat(np.arange(len(docs)), [len(d) for d in docs])
        problem = self.scheme.problem_role
        pi = self.roles.index(problem) if problem in self.roles else None
        out = self._context_probs(docs, vectors, stacked)
        n_drafted, reread = int(drafted.sum()), 0
        second = None
        if self.draft.check is not None and len(flat):
            second = [np.zeros((len(flat), len(self.dimensions)), np.float32),
                      np.zeros((len(flat), len(self.roles)), np.float32)]
            if len(idx):  # the second opinion on the drafted sentences (the others are not in question)
                sections = [s.section for d in docs for s in d]
                sd, sr = self.draft.check.predict_proba([flat[i] for i in idx], [sections[i] for i in idx])
                second[0][idx], second[1][idx] = sd, sr
        for _ in range(rounds):
            if not drafted.any():
                break
            dp, rp = np.concatenate([o[0] for o in out]), np.concatenate([o[1] for o in out])
            redo = np.flatnonzero(drafted & in_doubt(dp, rp, self.draft.margin, pi, self.thresholds.problem, second))
            if not len(redo):
                break
            vectors[redo] = self.sentence_vectors([flat[i] for i in redo])
            drafted[redo] = False
            reread += len(redo)
            out = self._context_probs(docs, vectors, stacked, only={int(j) for j in doc_of[redo]}, out=out)
        self.draft_stats["sentences"] += n_drafted
        self.draft_stats["reread"] += reread
        return out

    @classmethod
    def from_dir(cls, d: Path, manifest: Manifest, scheme, *, fast: bool = False, exact: bool = False,
                 backend: str = "torch", base: str | None = None, batch_size: int = 32, threads: int | None = None,
                 cache_size: int | None = None, draft: bool | None = None, **_ignored) -> "ContextTagger":
        import torch

        from .backends import choose_path, merge_lora, prepare_network
        from .base import load_base_tokenizer
        from .context_net import ContextEnsemble
        from .network import build_network

        path_name = choose_path(exact=exact, fast=fast, backend=backend, where=str(d))
        cfg = manifest.config or {}
        for key in ("encoder", "context"):
            if not isinstance(cfg.get(key), dict):
                raise ModelError(f"{d}: manifest 'config' lacks its {key!r} settings")
        enc_settings = EncoderSettings.from_dict(cfg["encoder"], f"{d}: manifest config.encoder")
        ctx_settings = ContextSettings.from_dict(cfg["context"], f"{d}: manifest config.context")
        wpath = d / WEIGHTS_NAME
        state = read_weights(wpath)
        n_dim, n_role = len(scheme.dimension_codes), len(scheme.role_codes)
        check_head_sizes(state, {"context.members.0.dim_own.weight": n_dim, "context.members.0.role_head.3.weight": n_role},
                         wpath, d / manifest.scheme)
        with torch.random.fork_rng(devices=[]):  # building the network must not move the caller's RNG
            enc_net = build_network(enc_settings, n_dim, n_role, base=base)
            ctx_net = ContextEnsemble.build(enc_net.hidden_size, N_FEATURES, n_dim, n_role, ctx_settings)
        enc_state = {k[len("encoder."):]: v for k, v in state.items() if k.startswith("encoder.")}
        ctx_state = {k[len("context."):]: v for k, v in state.items() if k.startswith("context.")}
        missing, unexpected = enc_net.load_state_dict(enc_state, strict=False)
        lora_missing = [k for k in missing if "lora_" in k]
        if unexpected or lora_missing:
            raise ModelError(f"{wpath}: encoder weights do not match (missing {lora_missing[:3]}, unexpected {unexpected[:3]})")
        try:
            ctx_net.load_state_dict(ctx_state, strict=True)
        except RuntimeError as e:
            raise ModelError(f"{wpath}: context weights do not match the network ({str(e).splitlines()[0]})") from e
        enc_net.eval()
        ctx_net.eval()
        from .draft import build_draft_network, read_draft

        the_draft = read_draft(d, cfg, manifest.weights or {}, scheme)
        use_draft = draft if draft is not None else (the_draft is not None and the_draft.passed_parity)
        if the_draft is None and draft:
            raise ModelError(f"{d}: has no draft encoder for draft=True (training/distill.py makes one)")
        if the_draft is not None and use_draft and path_name in ("bf16", "fp32", "torch-int8") and not exact:
            # the default path: the draft reads first, in the same precision as the full encoder
            the_draft.net = prepare_network(merge_lora(build_draft_network(the_draft, n_dim, n_role, base)),
                                            path_name, model_dir=d, threads=threads)
            path_name = f"draft+{path_name}"
        enc_net = prepare_network(enc_net, path_name.removeprefix("draft+"), model_dir=d, threads=threads)
        tfidf = None
        if ctx_settings.stack_tfidf:
            from .baselines import load_tfidf_model

            tfidf = load_tfidf_model(d / TFIDF_NAME, scheme, cfg.get("tfidf") or {})
        tokenizer = load_base_tokenizer(base or enc_settings.base)
        return cls(enc_net, tokenizer, enc_settings, ctx_net, ctx_settings, scheme,
                   Thresholds.from_dict(manifest.thresholds, str(d)), tfidf=tfidf, path=str(d), fast=fast,
                   batch_size=batch_size, threads=threads, trained_from=manifest.trained_from, path_name=path_name,
                   cache_size=cache_size, draft=the_draft)

    def manifest(self, with_draft: bool = False) -> Manifest:
        weights = [WEIGHTS_NAME] + ([TFIDF_NAME] if self.tfidf is not None and self.context_settings.stack_tfidf else [])
        config: dict[str, Any] = {"encoder": self.settings.to_dict(), "context": self.context_settings.to_dict()}
        if self.tfidf is not None and self.context_settings.stack_tfidf:
            config["tfidf"] = {"params": self.tfidf.params}
        if with_draft and self.draft is not None:
            config["draft"] = self.draft.to_config()
            weights.extend(self.draft.files())
        return Manifest(kind=self.kind, dimensions=list(self.dimensions), roles=list(self.roles),
                        thresholds={"problem": self.thresholds.problem, "secondary": self.thresholds.secondary},
                        config=config, weights={w: {} for w in weights}, trained_from=self.trained_from)

    def save(self, out_dir: str | os.PathLike, metrics: dict | None = None) -> Path:
        """Write the model directory atomically (a model card already there is kept)."""
        refuse_unexact_save(self, out_dir)
        import hashlib

        from safetensors.torch import save

        from .card import model_card

        state = {f"encoder.{k}": v for k, v in self.net.trained_state().items()
                 if "lora_" in k or not self.settings.lora}
        state.update({f"context.{k}": v.detach().contiguous() for k, v in self.context_net.state_dict().items()})
        blob = save(dict(sorted(state.items())), metadata={"format": "pt"})
        # a draft is kept only with the weights it was distilled from (a retrained model drops it)
        keep_draft = self.draft is not None and hashlib.sha256(blob).hexdigest() == self.draft.teacher_sha256

        def write(tmp: Path) -> None:
            (tmp / WEIGHTS_NAME).write_bytes(blob)
            if keep_draft:
                self.draft.write(tmp)
            if self.tfidf is not None and self.context_settings.stack_tfidf:
                import joblib

                joblib.dump(self.tfidf.model, tmp / TFIDF_NAME, compress=3)

        man = self.manifest(with_draft=keep_draft)
        kept = metrics if metrics is not None else read_metrics(out_dir)
        out = write_model_dir(out_dir, man, self.scheme, write, metrics=metrics,
                              card=lambda m: model_card(m, kept, name=Path(out_dir).name))
        self.path = str(out)
        return out


def predict_with_vectors(context_net, vectors_per_doc, features_per_doc, stacked_per_doc=None, threads: int = 1,
                         batch_docs: int = 8):
    """Probabilities from cached sentence vectors (training and evaluation of the context layer)."""
    import numpy as np
    import torch

    out = []
    with torch.inference_mode():
        for a in range(0, len(vectors_per_doc), batch_docs):
            idx = list(range(a, min(len(vectors_per_doc), a + batch_docs)))
            v, f, m, st = pad_batch([vectors_per_doc[i] for i in idx], [features_per_doc[i] for i in idx],
                                    [stacked_per_doc[i] for i in idx] if stacked_per_doc is not None else None)
            dl, rl = context_net(v, f, m, st)
            dp = torch.softmax(dl.float(), -1).numpy()
            rp = torch.softmax(rl.float(), -1).numpy()
            for j, i in enumerate(idx):
                n = len(vectors_per_doc[i])
                out.append((dp[j, :n].astype(np.float32), rp[j, :n].astype(np.float32)))
    return out


def pad_batch(vectors: list, features: list, stacked: list | None = None):
    """Padded tensors (vectors, features, mask, stacked) for documents of different lengths."""
    import numpy as np
    import torch

    T = max(len(v) for v in vectors)
    B = len(vectors)
    H = vectors[0].shape[1]
    F = features[0].shape[1]
    v = np.zeros((B, T, H), np.float32)
    f = np.zeros((B, T, F), np.float32)
    m = np.zeros((B, T), bool)
    st = None
    if stacked is not None:
        st = np.zeros((B, T, stacked[0].shape[1]), np.float32)
    for i in range(B):
        n = len(vectors[i])
        v[i, :n] = vectors[i]
        f[i, :n] = features[i]
        m[i, :n] = True
        if st is not None:
            st[i, :n] = stacked[i]
    return (torch.from_numpy(v), torch.from_numpy(f), torch.from_numpy(m),
            torch.from_numpy(st) if st is not None else None)


__all__ = ["ContextTagger", "predict_with_vectors", "pad_batch", "stacked_inputs"]
