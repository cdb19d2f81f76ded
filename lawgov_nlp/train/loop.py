"""The training loop of the ``encoder`` kind: ``lawgov train CONFIG.yaml`` / :func:`train`.

Everything about a run is in the config (see ``configs/train/encoder.yaml``):
base encoder, label scheme, data files, max length, batch size, learning rates,
epochs, class weighting (``auto`` = inverse frequency), seed, early stopping on
dev macro-F1, LoRA, output directory. Same config and seed on the same machine
give the same metrics. Each epoch writes a checkpoint; a run that is interrupted
and started again with the same config continues from its last checkpoint.

The test split named in the config is evaluated once at the end with the model
selected on dev; nothing is tuned on it.
"""
from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path
from typing import Any, Callable

from ..errors import LawgovError
from .config import TrainConfig

CHECKPOINT_DIR = "checkpoint"


# --------------------------------------------------------------------------- training
def _seed_all(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _class_weights(values: list[int], n: int, how, codes: list[str]):
    import torch

    if how in (None, "none"):
        return None
    if isinstance(how, dict):
        return torch.tensor([float(how.get(c, 1.0)) for c in codes])
    counts = torch.bincount(torch.tensor(values), minlength=n).float()
    w = counts.sum() / (n * counts.clamp(min=1.0))
    return w / w.mean()


def _check_splits(cfg: TrainConfig, train_recs: list[dict], dev_recs: list[dict], scheme, log: Callable[[str], None]) -> None:
    """Refuse to train when a document of dev or an evaluation file is also in train (a leak), or
    the same sentence carries other labels there; before anything is built. A dev or evaluation
    file that *is* the training file (a smoke test) is the config's choice: said, not refused."""
    from ..data.corpus import check_splits, load_records
    from ..errors import CorpusError

    splits = {str(cfg.train): train_recs}
    for name, path, recs in [("dev", cfg.dev, dev_recs), *((n, p, None) for n, p in (cfg.eval or {}).items())]:
        if path is None:
            continue
        if _same_path(path, cfg.train):
            log(f"note: {name} ({path}) is the training file itself; its scores measure fit, not generalisation")
            continue
        if any(str(path) == k or _same_path(path, k) for k in splits):
            continue
        splits[str(path)] = recs if recs is not None else load_records(path, scheme)
    problems = check_splits(splits)
    if problems:
        raise CorpusError(", ".join(splits), problems, "the training, dev and evaluation files")


def _same_path(a, b) -> bool:
    try:
        return os.path.samefile(a, b)
    except (OSError, TypeError):
        return False


def length_grouped_batches(lengths: list[int], batch_size: int, seed: int, group: int = 50) -> list[list[int]]:
    """Shuffled batches of similar-length examples (less padding); deterministic for a seed.

    Examples are shuffled, cut into groups of ``group`` batches, sorted by length inside
    each group, batched, and the batches shuffled again.
    """
    g = random.Random(seed)
    idx = list(range(len(lengths)))
    g.shuffle(idx)
    span = batch_size * group
    batches = []
    for s in range(0, len(idx), span):
        chunk = sorted(idx[s:s + span], key=lambda i: lengths[i])
        batches += [chunk[k:k + batch_size] for k in range(0, len(chunk), batch_size)]
    g.shuffle(batches)
    return batches


def train(config: TrainConfig | str | os.PathLike, *, resume: bool = True, log: Callable[[str], None] = print,
          progress: bool = True) -> dict:
    """Train a tagger as the config says; returns the final metrics (also in ``<output_dir>/metrics.json``)."""
    import numpy as np
    import torch
    from tqdm.auto import tqdm

    from ..data.corpus import load_records
    from ..metrics import tagging_metrics, tune_thresholds
    from ..models.base import load_base_encoder, load_base_tokenizer, resolve_base
    from ..models.contract import Thresholds
    from ..models.encoder import EncoderTagger, encode_items, tokenize_items
    from ..models.network import HEAD_PREFIXES, build_network
    from ..scheme import load_scheme

    cfg = config if isinstance(config, TrainConfig) else TrainConfig.from_yaml(config)
    from ..models.encoder import default_threads

    threads = cfg.threads or default_threads()  # free cores: two threads on a busy 2-core machine are slower than one
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    out = Path(cfg.output_dir)
    ckdir = out.parent / f".{out.name}.{CHECKPOINT_DIR}"
    t_start = time.time()

    scheme = load_scheme(cfg.scheme)
    train_recs = load_records(cfg.train, scheme)
    dev_recs = load_records(cfg.dev, scheme)
    _check_splits(cfg, train_recs, dev_recs, scheme, log)  # before anything is built
    if cfg.max_train_examples:
        train_recs = train_recs[: cfg.max_train_examples]
    log(f"data: {len(train_recs)} train sentences ({len({r['doc_id'] for r in train_recs})} documents), "
        f"{len(dev_recs)} dev sentences")

    base_path = resolve_base(cfg.base)
    tokenizer = load_base_tokenizer(base_path)
    tcfg = cfg.encoder_settings()
    _seed_all(cfg.seed)
    net = build_network(tcfg, len(scheme.dimensions), len(scheme.roles), encoder=load_base_encoder(base_path),
                        seed=cfg.seed)  # the heads initialise from the seed, not from the global RNG
    tcfg.hidden_size = net.hidden_size
    if cfg.init_from:  # a warm start: the network starts from a trained model's adapters (and heads)
        from .from_model import load_encoder_start

        log(f"warm start: {load_encoder_start(net, cfg.init_from)} trained tensors from {cfg.init_from}")
    _seed_all(cfg.seed)
    if cfg.lora:
        net.freeze_for_lora()
    n_train = sum(p.numel() for p in net.parameters() if p.requires_grad)
    n_all = sum(p.numel() for p in net.parameters())
    log(f"model: base {cfg.base} ({base_path}); {n_all:,} parameters, {n_train:,} trained"
        f"{' (LoRA + heads)' if cfg.lora else ''}; section context: {cfg.use_section}; threads: {threads}")

    # encode once: windows of long sentences become extra examples with the sentence's labels
    def encode(recs):
        items, owner, _ = encode_items(tokenizer, tcfg, [r["text"] for r in recs], [r.get("section") for r in recs])
        return items, owner

    tr_items, tr_owner = encode(train_recs)
    tr_len = [len(x[0]) + len(x[2] or []) for x in tr_items]
    d_idx = [scheme.dimension_codes.index(train_recs[o]["dimension"]) for o in tr_owner]
    r_idx = [scheme.role_codes.index(train_recs[o]["role"]) for o in tr_owner]
    dw = _class_weights(d_idx, len(scheme.dimensions), cfg.class_weighting, scheme.dimension_codes)
    rw = _class_weights(r_idx, len(scheme.roles), cfg.class_weighting if cfg.class_weighting in ("auto", "none", None) else "none",
                        scheme.role_codes)
    dim_loss = torch.nn.CrossEntropyLoss(weight=dw)
    role_loss = torch.nn.CrossEntropyLoss(weight=rw)

    head_params = [p for n, p in net.named_parameters() if p.requires_grad and n.startswith(HEAD_PREFIXES)]
    body_params = [p for n, p in net.named_parameters() if p.requires_grad and not n.startswith(HEAD_PREFIXES)]
    optim = torch.optim.AdamW([{"params": body_params, "lr": cfg.learning_rate},
                               {"params": head_params, "lr": cfg.head_learning_rate}], weight_decay=cfg.weight_decay)
    steps_per_epoch = len(length_grouped_batches(tr_len, cfg.batch_size, 0))
    total = steps_per_epoch * cfg.epochs
    warm = int(total * cfg.warmup_ratio)
    sched = torch.optim.lr_scheduler.LambdaLR(
        optim, lambda s: (s + 1) / max(1, warm) if s < warm else max(0.0, (total - s) / max(1, total - warm)))

    tagger = EncoderTagger(net, tokenizer, tcfg, scheme, batch_size=cfg.eval_batch_size, threads=threads)

    def evaluate(recs):
        net.eval()
        dp, rp = tagger.predict_records(recs)
        net.train()
        return dp, rp, tagging_metrics(recs, tagger.decide(dp, rp), scheme)

    history: list[dict] = []
    best, best_epoch, start_epoch, elapsed_before = -1.0, -1, 0, 0.0
    fp = cfg.fingerprint()
    ck = ckdir / "last.pt"
    if resume and ck.is_file():
        state = torch.load(ck, weights_only=False)
        if state.get("fingerprint") == fp:
            net.load_state_dict(state["trainable"], strict=False)
            optim.load_state_dict(state["optim"])
            sched.load_state_dict(state["sched"])
            history, best, best_epoch = state["history"], state["best"], state["best_epoch"]
            start_epoch, elapsed_before = state["epoch"] + 1, state.get("elapsed", 0.0)
            torch.set_rng_state(state["torch_rng"])
            random.setstate(state["py_rng"])
            np.random.set_state(state["np_rng"])
            log(f"resuming from {ck}: epoch {start_epoch + 1} of {cfg.epochs}")
        else:
            log(f"ignoring checkpoint {ck}: it belongs to a different config")

    stopped_early = False
    for epoch in range(start_epoch, cfg.epochs):
        if best_epoch >= 0 and epoch - best_epoch > cfg.early_stopping_patience:
            stopped_early = True
            break
        net.train()
        batches = length_grouped_batches(tr_len, cfg.batch_size, cfg.seed * 1000 + epoch)
        t0 = time.time()
        run_loss = 0.0
        bar = tqdm(batches, desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not progress, unit="batch", leave=False)
        for k, idx in enumerate(bar):
            batch = tokenize_items(tokenizer, tcfg, [tr_items[i] for i in idx])
            dl, rl = net(batch["input_ids"], batch["attention_mask"], batch.get("token_type_ids"))
            loss = dim_loss(dl, torch.tensor([d_idx[i] for i in idx])) + \
                cfg.role_loss_weight * role_loss(rl, torch.tensor([r_idx[i] for i in idx]))
            optim.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for p in net.parameters() if p.requires_grad], 1.0)
            optim.step()
            sched.step()
            run_loss += float(loss.detach())
            bar.set_postfix(loss=f"{run_loss / (k + 1):.3f}")
        _, _, m = evaluate(dev_recs)
        score = m[cfg.select_metric]
        rec = {"epoch": epoch + 1, "train_loss": run_loss / max(1, steps_per_epoch), "seconds": time.time() - t0,
               "dev_dimension_macro_f1": m["dimension_macro_f1"], "dev_role_macro_f1": m["role_macro_f1"],
               "dev_problem_f1": m["problem_f1"]}
        history.append(rec)
        log(f"epoch {epoch + 1}: loss {rec['train_loss']:.4f}, dev dimension macro-F1 {m['dimension_macro_f1']:.4f}, "
            f"role macro-F1 {m['role_macro_f1']:.4f}, problem F1 {m['problem_f1']:.4f} ({rec['seconds']:.0f} s)")
        if score > best + 1e-6:
            best, best_epoch = score, epoch
            ckdir.mkdir(parents=True, exist_ok=True)
            torch.save({k: v for k, v in net.state_dict().items()
                        if k in {n for n, p in net.named_parameters() if p.requires_grad}}, ckdir / "best.pt.part")
            os.replace(ckdir / "best.pt.part", ckdir / "best.pt")
        ckdir.mkdir(parents=True, exist_ok=True)
        trainable_names = {n for n, p in net.named_parameters() if p.requires_grad}
        torch.save({"fingerprint": fp, "epoch": epoch, "history": history, "best": best, "best_epoch": best_epoch,
                    "trainable": {k: v for k, v in net.state_dict().items() if k in trainable_names},
                    "optim": optim.state_dict(), "sched": sched.state_dict(), "torch_rng": torch.get_rng_state(),
                    "py_rng": random.getstate(), "np_rng": np.random.get_state(),
                    "elapsed": elapsed_before + time.time() - t_start}, ckdir / "last.pt.part")
        os.replace(ckdir / "last.pt.part", ck)
    if best_epoch < 0:
        raise LawgovError(f"{out}: training ran no epoch; a finished run's checkpoint is in {ckdir} "
                          "(train with --fresh to start over)")

    net.load_state_dict(torch.load(ckdir / "best.pt"), strict=False)
    net.eval()
    dp, rp, _ = evaluate(dev_recs)
    th = tune_thresholds(dp, rp, dev_recs, scheme, tagger.thresholds)
    tagger.thresholds = Thresholds(th["problem_threshold"], th["secondary_threshold"])
    results: dict[str, Any] = {"config": cfg.to_dict(), "history": history, "best_epoch": best_epoch + 1,
                               "stopped_early": stopped_early, "thresholds": th,
                               "train_seconds": round(elapsed_before + time.time() - t_start, 1),
                               "threads": threads, "parameters": {"total": n_all, "trained": n_train}}
    results["dev"] = evaluate(dev_recs)[2]
    for name, path in (cfg.eval or {}).items():
        results[name] = evaluate(load_records(path, scheme))[2]
    tcfg.base_info = {"resolved": "bundled" if cfg.base in ("bundled", None) else str(cfg.base)}
    tagger.save(out, metrics=results)
    log(f"saved {out} (best epoch {best_epoch + 1}; thresholds problem {th['problem_threshold']}, "
        f"secondary {th['secondary_threshold']}); {results['train_seconds']:.0f} s")
    for name in ["dev", *(cfg.eval or {})]:
        m = results[name]
        log(f"{name}: dimension macro-F1 {m['dimension_macro_f1']:.4f}, role macro-F1 {m['role_macro_f1']:.4f}, "
            f"problem F1 {m['problem_f1']:.4f} (n={m['dimension']['n']})")
    return results
