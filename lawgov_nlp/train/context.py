"""Training the ``context`` kind: ``lawgov train configs/train/default.yaml`` / :func:`train_context`.

Stage 1 fine-tunes the sentence encoder on sentences alone (no heading prefix) with the encoder
training loop (:mod:`.loop`), or takes an already trained one (``encoder_from``). Stage 2 freezes
it, encodes every sentence once (vectors cached beside the checkpoint), and trains the context
layer and heads over whole documents, where headings are members of the sequence:

* heading augmentation teaches that a heading is a hint, not the answer: a problem or plan
  section loses its heading so that its paragraphs sit under the previous section's (stale)
  heading (``stale_section``); headings are dropped (``drop_heading``) or replaced by another
  document's heading, with no loss on it (``replace_heading``); documents are cropped to start
  and end anywhere, as excerpts and news items do (``crop``);
* Gaussian noise on the training vectors (``vector_noise``) keeps the context layer from
  trusting vectors the encoder has already fitted;
* with ``context.stack_tfidf`` the TF-IDF baseline's probabilities are inputs too: out of fold
  on the training documents (``tfidf_folds``), from the baseline trained on all of them elsewhere.

With ``partial_labels`` (and ``encoder_from``) the training file may hold sentences with neither
label: they stay in their documents as context for their neighbours and carry no loss, so a
document an annotator labelled only in part (``lawgov data suggest`` picks sentences, not
documents) trains the context layer as it is.

The model is selected on dev (``select_metric``), thresholds are tuned on dev, and ``eval`` files
are evaluated once at the end.
"""
from __future__ import annotations

import hashlib
import json
import random
import time
from pathlib import Path
from typing import Any, Callable

from ..errors import LawgovError
from .config import ContextConfig


def _docs_and_labels(records, scheme):
    from ..models.tagger import records_as_documents

    docs, where = records_as_documents(records)
    dims = [[0] * len(d) for d in docs]
    roles = [[0] * len(d) for d in docs]
    for r, (k, j) in zip(records, where):
        if is_unlabelled(r):  # context only (partial_labels): -1, no loss
            dims[k][j] = roles[k][j] = -1
            continue
        dims[k][j] = scheme.dimension_codes.index(r["dimension"])
        roles[k][j] = scheme.role_codes.index(r["role"])
    return docs, dims, roles, where


def is_unlabelled(r: dict) -> bool:
    """A sentence with neither dimension nor role: with ``partial_labels`` it is context for its
    neighbours and carries no loss."""
    return r.get("dimension") in (None, "") and r.get("role") in (None, "")


def load_partially_labelled(path, scheme) -> list[dict]:
    """Training records where a sentence may have neither label (context only); every other problem
    (ids, text, unknown labels, one label of two, conflicts) is still a :class:`CorpusError`."""
    from ..data.corpus import Problem, read_jsonl, validate_records
    from ..errors import CorpusError

    try:
        records, problems = read_jsonl(path)
    except OSError as e:
        raise CorpusError(str(path), [Problem(0, "file", f"cannot read it ({e.strerror or e})")]) from e
    except UnicodeDecodeError as e:
        raise CorpusError(str(path), [Problem(0, "file", f"not UTF-8 text ({e.reason} at byte {e.start})")]) from e
    if not records and not problems:
        problems.append(Problem(0, "file", "no records: the file is empty"))
    filler = (scheme.dimension_codes[0], scheme.role_codes[0])  # for the other checks only; not kept
    checked = [{**r, "dimension": filler[0], "role": filler[1]} if is_unlabelled(r) else r for r in records]
    problems += validate_records(checked, scheme, conflicts=False)
    labelled = [r for r in records if not is_unlabelled(r)]
    problems += [p for p in validate_records(labelled, scheme) if p.message.startswith("conflicting")]
    if records and not labelled:
        problems.append(Problem(0, "file", "no sentence is labelled (partial_labels needs some labelled sentences)"))
    if problems:
        raise CorpusError(str(path), sorted(problems, key=lambda p: p.line))
    return records


def _vectors(encoder, docs_by_split: dict, cache: Path | None, log):
    """Sentence vectors of every document of every split, from the frozen encoder (cached on disk)."""
    import numpy as np

    texts = sorted({s.text for docs in docs_by_split.values() for d in docs for s in d})
    key = hashlib.sha256(("\n".join(texts) + "\0" + _weights_digest(encoder)).encode()).hexdigest()[:16]
    path = cache / f"vectors-{key}.npz" if cache else None
    if path is not None and path.is_file():
        data = np.load(path)
        table = data["vectors"]
        log(f"sentence vectors: {len(texts)} from the cache {path.name}")
    else:
        t0 = time.time()
        table = encoder.sentence_vectors(texts)
        log(f"sentence vectors: {len(texts)} sentences encoded once in {time.time() - t0:.0f} s")
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(path.with_suffix(".part.npz"), vectors=table)
            path.with_suffix(".part.npz").replace(path)
    index = {t: i for i, t in enumerate(texts)}
    return {name: [table[[index[s.text] for s in d]] for d in docs] for name, docs in docs_by_split.items()}


def _weights_digest(encoder) -> str:
    h = hashlib.sha256()
    for k, v in sorted(encoder.net.trained_state().items()):
        h.update(k.encode())
        h.update(v.numpy().tobytes())
    return h.hexdigest()


def _oof_tfidf(train_records, docs_by_split, records_by_split, scheme, params: dict, folds: int, seed: int, log):
    """TF-IDF log-probabilities per document: out of fold for train, the full model for the others."""
    from ..models.baselines import TfidfTagger
    from ..models.context import stacked_inputs

    doc_ids = sorted({r["doc_id"] for r in train_records})
    labelled = [r for r in train_records if not is_unlabelled(r)]
    rng = random.Random(seed)
    rng.shuffle(doc_ids)
    fold_of = {d: i % folds for i, d in enumerate(doc_ids)}
    t0 = time.time()
    train_docs = docs_by_split["train"]
    # the documents of the train split in records_as_documents order
    order = list(dict.fromkeys(r["doc_id"] for r in train_records))
    out_train: list = [None] * len(train_docs)
    for f in range(folds):
        fit = [r for r in labelled if fold_of[r["doc_id"]] != f]
        t = TfidfTagger(scheme, **params).fit([{**r, "section": []} for r in fit])
        idx = [k for k, d in enumerate(order) if fold_of[d] == f]
        for k, z in zip(idx, stacked_inputs(t, [train_docs[k] for k in idx])):
            out_train[k] = z
    full = TfidfTagger(scheme, **params).fit([{**r, "section": []} for r in labelled])
    out = {"train": out_train}
    for name, docs in docs_by_split.items():
        if name != "train":
            out[name] = stacked_inputs(full, docs)
    log(f"TF-IDF stacking: {folds}-fold out-of-fold probabilities on train, full model for the rest "
        f"({time.time() - t0:.0f} s)")
    return out, full


# --------------------------------------------------------------------------- augmentation
def augment_document(doc, vec, dims, roles, stacked, aug: dict, rng: random.Random, heading_pool: list,
                     problem_or_plan: set[int]):
    """One training view of a document: (sentences, vectors, dimension ids, role ids, loss mask, stacked)."""
    import numpy as np

    from ..models.tagger import SentenceInput

    sents = list(doc)
    keep = list(range(len(sents)))
    sections = [tuple(s.section) for s in sents]
    replaced: dict[int, Any] = {}
    # stale_section: a problem/plan section loses its heading; its body sits under the previous section
    if aug.get("stale_section", 0) > 0:
        dropped: set[int] = set()
        for i, s in enumerate(sents):
            if not s.is_heading or not s.heading_level or s.heading_level > 2 or i == 0:
                continue
            scope = []
            for j in range(i + 1, len(sents)):
                if sents[j].is_heading and sents[j].heading_level and sents[j].heading_level <= s.heading_level:
                    break
                scope.append(j)
            body = [j for j in scope if not sents[j].is_heading]
            if not body or sum(roles[j] in problem_or_plan for j in body) < 0.6 * len(body):
                continue
            if rng.random() >= aug["stale_section"]:
                continue
            dropped.add(i)
            stale = sections[i - 1]
            for j in scope:
                sections[j] = stale
                if sents[j].is_heading and rng.random() < 0.5:
                    dropped.add(j)
        keep = [i for i in keep if i not in dropped]
    if aug.get("drop_heading", 0) > 0:
        keep = [i for i in keep if not (sents[i].is_heading and rng.random() < aug["drop_heading"])]
    mask = [dims[i] >= 0 and roles[i] >= 0 for i in range(len(sents))]  # unlabelled sentences: no loss
    if aug.get("replace_heading", 0) > 0 and heading_pool:
        for i in keep:
            if sents[i].is_heading and rng.random() < aug["replace_heading"]:
                replaced[i] = heading_pool[rng.randrange(len(heading_pool))]
                mask[i] = False
    if aug.get("crop", 0) > 0 and len(keep) > 4 and rng.random() < aug["crop"]:
        # an excerpt: a quarter of the crops are 1-3 sentences (a sentence tagged alone, a news lead)
        n = len(keep)
        length = rng.randint(1, 3) if rng.random() < 0.25 else rng.randint(min(4, n), n)
        start = rng.randint(0, n - length)
        keep = keep[start:start + length]
    if not keep:
        keep = list(range(len(sents)))
    view = [SentenceInput(sents[i].text, sections[i], sents[i].is_heading, sents[i].heading_level,
                          sents[i].paragraph, k) for k, i in enumerate(keep)]
    v = vec[keep].copy()
    for k, i in enumerate(keep):
        if i in replaced:
            v[k] = replaced[i]
    st = stacked[keep] if stacked is not None else None
    return (view, v, np.array([dims[i] for i in keep]), np.array([roles[i] for i in keep]),
            np.array([mask[i] for i in keep]), st)


# --------------------------------------------------------------------------- training
def train_context(config: ContextConfig | str, *, resume: bool = True, log: Callable[[str], None] = print,
                  progress: bool = True, fold_hook: Callable[..., None] | None = None) -> dict:
    """Train a context model as the config says; returns the metrics (also in ``<output_dir>/metrics.json``).

    ``encoder_from`` may name a context model: its own encoder gives the vectors (stage 1 as shipped),
    so its context layers can be trained again, for instance to measure another path leave-one-out.
    ``fold_hook(name, k, net, thresholds, rows)`` is called after each leave-one-document-out fold with
    the context layers trained without document ``k`` of ``loro_train[name]``, their thresholds, and
    the indices of that document's records in the file."""
    import numpy as np
    import torch

    from ..data.corpus import load_records
    from ..metrics import tagging_metrics, tune_thresholds
    from ..models.context import ContextTagger, pad_batch, predict_with_vectors
    from ..models.context_net import ContextEnsemble, ContextNetwork
    from ..models.contract import Thresholds
    from ..models.features import N_FEATURES, structure_features
    from ..models.registry import load
    from ..scheme import load_scheme
    from .config import load_config
    from .loop import _check_splits as check_splits
    from .loop import _class_weights, _seed_all

    cfg = config if isinstance(config, ContextConfig) else load_config(config)
    if not isinstance(cfg, ContextConfig):
        raise LawgovError(f"{config}: not a context-model config (kind: {cfg.kind})")
    t_start = time.time()
    from ..models.encoder import default_threads

    threads = cfg.threads or default_threads()
    torch.set_num_threads(threads)
    scheme = load_scheme(cfg.scheme)
    train_records = load_partially_labelled(cfg.train, scheme) if cfg.partial_labels else load_records(cfg.train, scheme)
    records = {"train": train_records, "dev": load_records(cfg.dev, scheme)}
    n_unlabelled = sum(is_unlabelled(r) for r in train_records)
    if n_unlabelled:
        log(f"partial labels: {n_unlabelled} of {len(train_records)} training sentences are unlabelled "
            "(context for their neighbours, no loss)")
    for name, path in (cfg.eval or {}).items():
        records[name] = load_records(path, scheme)
    check_splits(cfg, records["train"], records["dev"], scheme, log)
    out = Path(cfg.output_dir)

    # stage 1: the sentence encoder
    stage1_seconds = 0.0
    if cfg.encoder_from:
        enc_dir = Path(cfg.encoder_from)
        log(f"stage 1: the encoder from {enc_dir}")
    else:
        from .loop import train as train_encoder

        s1 = cfg.stage1_config()
        enc_dir = Path(s1.output_dir)
        done = enc_dir / "lawgov_model.json"
        if resume and done.is_file() and json.loads((enc_dir / "metrics.json").read_text(encoding="utf-8")
                                                     ).get("config", {}).get("seed") == s1.seed and \
                _stage1_matches(enc_dir, s1):
            log(f"stage 1: reusing the encoder trained earlier in {enc_dir}")
        else:
            log(f"stage 1: fine-tuning the sentence encoder into {enc_dir}")
            t1 = time.time()
            train_encoder(s1, resume=resume, log=log, progress=progress)
            stage1_seconds = time.time() - t1
    encoder = load(enc_dir, threads=threads, batch_size=64, exact=True)  # vectors of the float32 reference
    from_context = encoder.kind == "context" and bool(cfg.encoder_from)  # a context model's own encoder
    if not (encoder.kind == "encoder" or from_context) or encoder.settings.use_section:
        raise LawgovError(f"{enc_dir}: stage 1 must be an encoder model trained without the heading prefix "
                          "(or, with encoder_from, a context model)")
    enc_metrics = json.loads((enc_dir / "metrics.json").read_text(encoding="utf-8")) \
        if (enc_dir / "metrics.json").is_file() and not from_context else {}
    stage1_ran_here = stage1_seconds > 0
    stage1_seconds = stage1_seconds or float(enc_metrics.get("train_seconds") or 0.0)

    # stage 2: vectors, features, context layer
    _seed_all(cfg.seed)
    loro = {name: load_records(path, scheme) for name, path in (cfg.loro_train or {}).items()}
    all_records = {**records, **loro}
    docs, dims, roles = {}, {}, {}
    for name, recs in all_records.items():
        docs[name], dims[name], roles[name], _ = _docs_and_labels(recs, scheme)
    # cached beside the encoder: every context layer trained on this encoder reuses them
    cache_dir = (out.parent / f".{out.name}.vectors") if from_context else (enc_dir.parent / f".{enc_dir.name}.vectors")
    vectors = _vectors(_VectorSource(encoder), docs, cache_dir, log)
    feats = {name: [structure_features(d) for d in ds] for name, ds in docs.items()}
    stacked, tfidf_full = (None, None)
    if cfg.context.stack_tfidf:
        stacked, tfidf_full = _oof_tfidf(records["train"], docs, all_records, scheme, dict(cfg.tfidf), cfg.tfidf_folds,
                                         cfg.seed, log)
    d_in = vectors["train"][0].shape[1]
    std = float(np.concatenate(vectors["train"]).std())
    flat_d = [x for d in dims["train"] for x in d if x >= 0]
    flat_r = [x for d in roles["train"] for x in d if x >= 0]
    dw = _class_weights(flat_d, len(scheme.dimensions), cfg.class_weighting, scheme.dimension_codes)
    rw = _class_weights(flat_r, len(scheme.roles), "auto" if cfg.class_weighting in ("auto",) else "none",
                        scheme.role_codes)
    dim_loss = torch.nn.CrossEntropyLoss(weight=dw, reduction="none")
    role_loss = torch.nn.CrossEntropyLoss(weight=rw, reduction="none")
    heading_pool = [x for d, vv in zip(docs["train"], vectors["train"]) for s, x in zip(d, vv) if s.is_heading]
    pp = {scheme.role_codes.index(r) for r in (scheme.problem_role, "plan") if r in scheme.role_codes}

    def example(name: str, k: int):
        return (docs[name][k], vectors[name][k], dims[name][k], roles[name][k], stacked[name][k] if stacked else None)

    def predict(net, name: str, keep: list[int] | None = None):
        """(dimension, role) probabilities of a split's records in record order (``keep``: these documents only)."""
        net.eval()
        ks = list(range(len(docs[name]))) if keep is None else keep
        preds = predict_with_vectors(net, [vectors[name][k] for k in ks], [feats[name][k] for k in ks],
                                     [stacked[name][k] for k in ks] if stacked else None)
        by_doc = dict(zip(ks, preds))
        _, _, _, where = _docs_and_labels(all_records[name], scheme)
        rows = [(k, j) for k, j in where if k in by_doc]
        return (np.stack([by_doc[k][0][j] for k, j in rows]), np.stack([by_doc[k][1][j] for k, j in rows]),
                [i for i, (k, _) in enumerate(where) if k in by_doc])

    # a warm start: each context layer starts from the model's (checked before anything is trained)
    start = None
    if cfg.init_from:
        from .from_model import context_start

        start = context_start(cfg.init_from, cfg.context.ensemble)
        log(f"warm start: {len(start)} context layer(s) from {cfg.init_from}")

    def fit(train_examples: list, label: str = ""):
        """An ensemble of ``context.ensemble`` layers (seeds seed, seed + 1 …), each selected on dev;
        thresholds tuned on dev for the averaged probabilities."""
        members, histories, bests = [], [], []
        for i in range(cfg.context.ensemble):
            net, history, best_epoch = fit_one(train_examples, cfg.seed + i,
                                               f"{label}member {i + 1}/{cfg.context.ensemble}: " if cfg.context.ensemble > 1 else label,
                                               start[i] if start else None)
            members.append(net)
            histories.append(history)
            bests.append(best_epoch)
        net = ContextEnsemble(members).eval()
        dp, rp, _ = predict(net, "dev")
        th = tune_thresholds(dp, rp, records["dev"], scheme, Thresholds())
        decider = _Decider(scheme, Thresholds(th["problem_threshold"], th["secondary_threshold"]))
        return net, decider, histories[0] if len(histories) == 1 else histories, bests, th

    def fit_one(train_examples: list, seed: int, label: str = "", init: dict | None = None):
        rng = random.Random(seed)
        torch.manual_seed(seed)
        net = ContextNetwork(d_in, N_FEATURES, len(scheme.dimensions), len(scheme.roles), cfg.context, seed=seed)
        if init is not None:
            from .from_model import load_context_start

            load_context_start(net, init, cfg.init_from)
        optim = torch.optim.AdamW(net.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
        decider = _Decider(scheme)
        history: list[dict] = []
        best, best_epoch, best_state = -1.0, -1, None
        for epoch in range(cfg.epochs):
            if best_epoch >= 0 and epoch - best_epoch > cfg.early_stopping_patience:
                break
            t0 = time.time()
            net.train()
            order = list(range(len(train_examples)))
            rng.shuffle(order)
            total = 0.0
            for a in range(0, len(order), cfg.batch_docs):
                views = [augment_document(*train_examples[k], cfg.augment, rng, heading_pool, pp)
                         for k in order[a:a + cfg.batch_docs]]
                v, f, m, st = pad_batch([x[1] for x in views], [structure_features(x[0]) for x in views],
                                        [x[5] for x in views] if stacked else None)
                if cfg.vector_noise:
                    v = v + torch.randn(v.shape) * (cfg.vector_noise * std)
                T = v.shape[1]
                yd = torch.zeros(len(views), T, dtype=torch.long)
                yr = torch.zeros(len(views), T, dtype=torch.long)
                lm = torch.zeros(len(views), T, dtype=torch.bool)
                for i, x in enumerate(views):
                    n = len(x[0])
                    yd[i, :n] = torch.from_numpy(x[2]).clamp(min=0)  # -1 (unlabelled) is masked out below
                    yr[i, :n] = torch.from_numpy(x[3]).clamp(min=0)
                    lm[i, :n] = torch.from_numpy(x[4])
                net.train()
                dl, rl = net(v, f, m, st)
                w = lm.float().reshape(-1)
                loss = ((dim_loss(dl.reshape(-1, dl.shape[-1]), yd.reshape(-1)) * w).sum()
                        + cfg.role_loss_weight * (role_loss(rl.reshape(-1, rl.shape[-1]), yr.reshape(-1)) * w).sum()
                        ) / w.sum().clamp(min=1.0)
                optim.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
                optim.step()
                total += float(loss.detach())
            dp, rp, _ = predict(net, "dev")
            m = tagging_metrics(records["dev"], decider.decide(dp, rp), scheme)
            history.append({"epoch": epoch + 1, "train_loss": total / max(1, len(order) / cfg.batch_docs),
                            "dev_dimension_macro_f1": m["dimension_macro_f1"], "dev_role_macro_f1": m["role_macro_f1"],
                            "dev_problem_f1": m["problem_f1"], "seconds": time.time() - t0})
            if progress:
                h = history[-1]
                log(f"{label}epoch {epoch + 1}: loss {h['train_loss']:.4f}, dev dimension macro-F1 "
                    f"{h['dev_dimension_macro_f1']:.4f}, role macro-F1 {h['dev_role_macro_f1']:.4f}, "
                    f"problem F1 {h['dev_problem_f1']:.4f} ({h['seconds']:.1f} s)")
            if m[cfg.select_metric] > best + 1e-6:
                best, best_epoch = m[cfg.select_metric], epoch
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        if best_state is None:
            raise LawgovError(f"{out}: training ran no epoch")
        net.load_state_dict(best_state)
        net.eval()
        return net, history, best_epoch

    base_examples = [example("train", k) for k in range(len(docs["train"]))]
    results: dict[str, Any] = {"config": cfg.to_dict(), "threads": threads}
    # documents that join stage-2 training are evaluated leave-one-document-out: a layer trained
    # without that document (and with all the others) tags it
    for name in loro:
        n_docs = len(docs[name])
        if start is not None:  # every layer of the model being warm-started has seen these documents
            results[name] = {"protocol": "not measured", "documents": n_docs,
                             "reason": f"warm start from {cfg.init_from}, which was trained on these documents"}
            log(f"{name}: leave-one-document-out not measured (the warm start from {cfg.init_from} saw "
                f"these {n_docs} documents); they join stage-2 training")
            continue
        dp_all = np.zeros((len(loro[name]), len(scheme.dimensions)), np.float32)
        rp_all = np.zeros((len(loro[name]), len(scheme.roles)), np.float32)
        decided: list = [None] * len(loro[name])
        for k in range(n_docs):
            others = [example(nm, j) for nm in loro for j in range(len(docs[nm])) if not (nm == name and j == k)]
            net_k, dec_k, _, _, _ = fit(base_examples + others, label=f"{name} without document {k + 1}/{n_docs}: ")
            dp, rp, idx = predict(net_k, name, [k])
            for row, i in enumerate(idx):
                dp_all[i], rp_all[i] = dp[row], rp[row]
            for i, d in zip(idx, dec_k.decide(dp, rp)):
                decided[i] = d
            if fold_hook is not None:
                fold_hook(name, k, net_k, dec_k.thresholds, idx)
        results[name] = {**tagging_metrics(loro[name], decided, scheme), "protocol": "leave-one-document-out",
                         "documents": n_docs}
        log(f"{name} (leave-one-document-out, {n_docs} documents): dimension macro-F1 "
            f"{results[name]['dimension_macro_f1']:.4f}, role macro-F1 {results[name]['role_macro_f1']:.4f}")
    extra = [example(nm, j) for nm in loro for j in range(len(docs[nm]))]
    net, decider, history, best_epoch, th = fit(base_examples + extra)
    thresholds = decider.thresholds
    results.update({"history": history, "best_epoch": [e + 1 for e in best_epoch] if len(best_epoch) > 1 else best_epoch[0] + 1,
                    "thresholds": th,
                    "stage2_training_documents": len(base_examples) + len(extra),
                    "stage1": {"dir": str(enc_dir), "seconds": round(stage1_seconds, 1),
                               "dev": {k: enc_metrics.get("dev", {}).get(k) for k in ("dimension_macro_f1", "role_macro_f1")}},
                    "parameters": {"context": sum(p.numel() for p in net.parameters())}})
    for name in records:
        if name == "train":
            continue
        dpn, rpn, _ = predict(net, name)
        results[name] = tagging_metrics(records[name], decider.decide(dpn, rpn), scheme)
    # this run's wall time, plus stage 1's own when it was trained earlier and reused
    results["train_seconds"] = round((0.0 if stage1_ran_here else stage1_seconds) + time.time() - t_start, 1)
    tagger = ContextTagger(encoder.net, encoder.tokenizer, encoder.settings, net, cfg.context, scheme, thresholds,
                           tfidf=tfidf_full, threads=threads,
                           trained_from={"encoder": str(enc_dir), "config_fingerprint": cfg.fingerprint(),
                                         "stage2_extra_documents": {nm: len(docs[nm]) for nm in loro}})
    tagger.save(out, metrics=results)
    log(f"saved {out} (best epoch {results['best_epoch']}; thresholds problem {thresholds.problem}, "
        f"secondary {thresholds.secondary}); {results['train_seconds']:.0f} s in all")
    for name in [n for n in all_records if n != "train"]:
        mm = results[name]
        if "dimension_macro_f1" not in mm:  # not measured (said above)
            continue
        how = " (leave-one-document-out)" if name in loro else ""
        log(f"{name}{how}: dimension macro-F1 {mm['dimension_macro_f1']:.4f}, role macro-F1 {mm['role_macro_f1']:.4f}, "
            f"plan F1 {mm['plan_f1'] or 0:.4f}, problem F1 {mm['problem_f1']:.4f} (n={mm['dimension']['n']})")
    return results


def _stage1_matches(enc_dir: Path, s1) -> bool:
    try:
        saved = json.loads((enc_dir / "metrics.json").read_text(encoding="utf-8")).get("config", {})
    except (OSError, ValueError):
        return False
    want = s1.to_dict()
    keys = [k for k in want if k not in ("threads", "eval", "output_dir")]
    return all(json.dumps(saved.get(k), sort_keys=True, default=str) == json.dumps(want[k], sort_keys=True, default=str)
               for k in keys)


class _VectorSource:
    """Sentence vectors from a trained encoder model (stage 1)."""

    def __init__(self, encoder):
        self.net = encoder.net
        self.encoder = encoder

    def sentence_vectors(self, texts):
        from ..models.encoder import run_encoder, weighted_mean
        from ..text.chars import to_simplified

        e = self.encoder
        simp = [to_simplified(t) for t in texts]
        vec, owner, weight = run_encoder(e.net, e.tokenizer, e.settings, simp, None, 64, e.threads)
        return weighted_mean(vec, owner, weight, len(texts))


class _Decider:
    """Decisions from probabilities with the scheme's labels (what a Tagger does, without a model)."""

    def __init__(self, scheme, thresholds=None):
        from ..models.contract import Thresholds

        self.scheme = scheme
        self.thresholds = thresholds or Thresholds()

    def decide(self, dp, rp):
        from ..models.tagger import Tagger

        return Tagger.decide(self, dp, rp)

    @property
    def dimensions(self):
        return self.scheme.dimension_codes

    @property
    def roles(self):
        return self.scheme.role_codes
