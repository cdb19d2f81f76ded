"""Fine-tune a tagger from a YAML config: ``lawgov train CONFIG.yaml`` / :func:`train`.

Everything about a run is in the config (see ``configs/train/default.yaml``):
base encoder, label scheme, data files, max length, batch size, learning rates,
epochs, class weighting (``auto`` = inverse frequency), seed, early stopping on
dev macro-F1, LoRA, output directory. Same config and seed on the same machine
give the same metrics. Each epoch writes a checkpoint; a run that is interrupted
and started again with the same config continues from its last checkpoint.

The test split named in the config is evaluated once at the end with the model
selected on dev; nothing is tuned on it.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from .errors import LawgovError

CHECKPOINT_DIR = "checkpoint"


class ConfigError(LawgovError, ValueError):
    """A training config that is malformed (names the file and the key)."""


@dataclass
class TrainConfig:
    base: str = "bundled"
    scheme: str = "zh-2021"
    train: str = "training/data/train.jsonl"
    dev: str = "training/data/dev.jsonl"
    eval: dict = field(default_factory=dict)        # name -> file, evaluated at the end (test, real …)
    output_dir: str = "models/lawgov-zh-small"
    max_length: int = 128
    use_section: bool = True
    section_max_tokens: int = 32
    pooling: str = "mean"
    batch_size: int = 16
    eval_batch_size: int = 64
    learning_rate: float = 5e-4
    head_learning_rate: float = 2e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    epochs: int = 8
    early_stopping_patience: int = 2
    select_metric: str = "mean_macro_f1"            # or dimension_macro_f1
    class_weighting: Any = "auto"                   # auto | none | {code: weight}
    role_loss_weight: float = 1.0
    dropout: float = 0.1
    seed: int = 42
    lora: dict | None = field(default_factory=lambda: {"r": 8, "alpha": 16, "dropout": 0.1,
                                                       "target_modules": ["query", "key", "value", "dense"]})
    encoder_layers: int | None = None               # keep only the first N layers of the base (smaller student)
    save_full: bool = False
    threads: int | None = None
    max_train_examples: int | None = None

    @classmethod
    def from_yaml(cls, path: str | os.PathLike, overrides: dict | None = None) -> "TrainConfig":
        import yaml

        p = Path(path)
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except OSError as e:
            raise ConfigError(f"{p}: cannot read config ({e.strerror or e})") from e
        except yaml.YAMLError as e:
            raise ConfigError(f"{p}: not valid YAML ({e})") from e
        if not isinstance(data, dict):
            raise ConfigError(f"{p}: a training config is a mapping of keys to values")
        data.update(overrides or {})
        return cls.from_dict(data, str(p))

    @classmethod
    def from_dict(cls, data: dict, where: str = "<config>") -> "TrainConfig":
        known = cls.__dataclass_fields__
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {unknown}; known: {', '.join(known)}")
        cfg = cls(**data)
        if cfg.select_metric not in ("mean_macro_f1", "dimension_macro_f1"):
            raise ConfigError(f"{where}: select_metric must be mean_macro_f1 or dimension_macro_f1")
        if cfg.pooling not in ("mean", "cls"):
            raise ConfigError(f"{where}: pooling must be mean or cls")
        if not (isinstance(cfg.class_weighting, dict) or cfg.class_weighting in ("auto", "none", None)):
            raise ConfigError(f"{where}: class_weighting must be auto, none or a mapping of dimension code to weight")
        for k in ("batch_size", "epochs", "max_length"):
            if int(getattr(cfg, k)) <= 0:
                raise ConfigError(f"{where}: {k} must be positive")
        return cfg

    def fingerprint(self) -> str:
        d = asdict(self)
        d.pop("threads", None)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- metrics
def classification_metrics(gold: list[str], pred: list[str], labels: list[str]) -> dict:
    """Per-class precision/recall/F1/support, macro and weighted F1, accuracy (scikit-learn)."""
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    present = [l for l in labels if l in set(gold) | set(pred)]
    p, r, f, s = precision_recall_fscore_support(gold, pred, labels=present, zero_division=0)
    per = {l: {"precision": float(a), "recall": float(b), "f1": float(c), "support": int(d)}
           for l, a, b, c, d in zip(present, p, r, f, s)}
    gold_labels = [l for l in labels if l in set(gold)]
    macro = float(sum(per[l]["f1"] for l in gold_labels) / max(1, len(gold_labels)))
    weighted = float(sum(per[l]["f1"] * per[l]["support"] for l in gold_labels) / max(1, len(gold)))
    return {"per_class": per, "macro_f1": macro, "weighted_f1": weighted,
            "accuracy": float(accuracy_score(gold, pred)) if gold else 0.0, "n": len(gold)}


def binary_metrics(gold: list[bool], pred: list[bool]) -> dict:
    from sklearn.metrics import precision_recall_fscore_support

    p, r, f, _ = precision_recall_fscore_support(gold, pred, average="binary", zero_division=0)
    return {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(sum(gold))}


def tagging_metrics(records: list[dict], decided: list[tuple], scheme) -> dict:
    """Dimension and role metrics plus problem-flag P/R/F1 for gold records and decided labels."""
    gd = [r["dimension"] for r in records]
    gr = [r["role"] for r in records]
    pd_ = [d[0] for d in decided]
    pr = [d[2] for d in decided]
    dim = classification_metrics(gd, pd_, scheme.dimension_codes)
    role = classification_metrics(gr, pr, scheme.role_codes)
    prob = binary_metrics([g == scheme.problem_role for g in gr], [bool(d[3]) for d in decided])
    return {"dimension": dim, "role": role, "problem": prob,
            "dimension_macro_f1": dim["macro_f1"], "role_macro_f1": role["macro_f1"], "problem_f1": prob["f1"],
            "mean_macro_f1": (dim["macro_f1"] + role["macro_f1"]) / 2}


def tune_thresholds(dim_p, role_p, records: list[dict], cfg, scheme) -> dict:
    """Secondary-dimension and problem thresholds that maximise F1 on the given (dev) data."""
    import numpy as np

    dims = cfg.dimensions
    pi = cfg.roles.index(cfg.problem_role)
    gold_prob = np.array([r["role"] == cfg.problem_role for r in records])
    best_t, best_f = 0.5, -1.0
    for t in np.arange(0.2, 0.81, 0.025):
        pred = role_p[:, pi] >= t
        tp = float((pred & gold_prob).sum())
        f = 2 * tp / max(1.0, float(pred.sum() + gold_prob.sum()))
        if f > best_f + 1e-9:
            best_t, best_f = float(round(t, 3)), f
    # secondary: micro-F1 over (sentence, dimension) pairs, the primary excluded
    gold_sec = {(i, d) for i, r in enumerate(records) for d in (r.get("secondary") or [])}
    if len(gold_sec) < 5:  # too few gold secondaries to tune on: keep the configured threshold
        return {"problem_threshold": best_t, "problem_f1_dev": best_f,
                "secondary_threshold": float(cfg.secondary_threshold), "secondary_f1_dev": None,
                "secondary_note": f"dev has {len(gold_sec)} gold secondary labels; threshold kept at the configured value"}
    best_s, best_sf = 0.5, -1.0
    top = dim_p.argmax(1)
    for t in np.arange(0.1, 0.61, 0.025):
        pred = {(i, dims[j]) for i in range(len(records)) for j in np.nonzero(dim_p[i] >= t)[0]
                if j != top[i] and dims[j] != scheme.fallback_dimension}
        tp = len(pred & gold_sec)
        f = 2 * tp / max(1, len(pred) + len(gold_sec))
        if f > best_sf + 1e-9:
            best_s, best_sf = float(round(t, 3)), f
    return {"problem_threshold": best_t, "problem_f1_dev": best_f,
            "secondary_threshold": best_s, "secondary_f1_dev": best_sf}


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

    from .base import load_base_tokenizer, resolve_base
    from .data import load_records
    from .model import TaggerConfig, build_network, freeze_for_lora, save_model
    from .scheme import load_scheme
    from .tagger import Tagger, encode_items, tokenize_items

    cfg = config if isinstance(config, TrainConfig) else TrainConfig.from_yaml(config)
    threads = cfg.threads or min(os.cpu_count() or 1, 8)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    out = Path(cfg.output_dir)
    ckdir = out.parent / f".{out.name}.{CHECKPOINT_DIR}"
    t_start = time.time()

    scheme = load_scheme(cfg.scheme)
    train_recs = load_records(cfg.train, scheme)
    dev_recs = load_records(cfg.dev, scheme)
    if cfg.max_train_examples:
        train_recs = train_recs[: cfg.max_train_examples]
    log(f"data: {len(train_recs)} train sentences ({len({r['doc_id'] for r in train_recs})} documents), "
        f"{len(dev_recs)} dev sentences")

    base_path = resolve_base(cfg.base)
    tokenizer = load_base_tokenizer(base_path)
    tcfg = TaggerConfig(base=cfg.base, dimensions=scheme.dimension_codes, roles=scheme.role_codes,
                        problem_role=scheme.problem_role, max_length=cfg.max_length, use_section=cfg.use_section,
                        section_max_tokens=cfg.section_max_tokens, pooling=cfg.pooling, dropout=cfg.dropout,
                        lora=cfg.lora, encoder_layers=cfg.encoder_layers, save_full=cfg.save_full)
    _seed_all(cfg.seed)
    from .base import load_base_encoder

    net = build_network(tcfg, encoder=load_base_encoder(base_path))
    _seed_all(cfg.seed)
    for head in (net.dimension_head, net.role_head):  # seeded head initialisation
        torch.nn.init.normal_(head.weight, std=0.02)
        torch.nn.init.zeros_(head.bias)
    if cfg.lora:
        freeze_for_lora(net)
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

    head_params = [p for n, p in net.named_parameters() if p.requires_grad and n.startswith(("dimension_head", "role_head"))]
    body_params = [p for n, p in net.named_parameters() if p.requires_grad and not n.startswith(("dimension_head", "role_head"))]
    optim = torch.optim.AdamW([{"params": body_params, "lr": cfg.learning_rate},
                               {"params": head_params, "lr": cfg.head_learning_rate}], weight_decay=cfg.weight_decay)
    steps_per_epoch = len(length_grouped_batches(tr_len, cfg.batch_size, 0))
    total = steps_per_epoch * cfg.epochs
    warm = int(total * cfg.warmup_ratio)
    sched = torch.optim.lr_scheduler.LambdaLR(
        optim, lambda s: (s + 1) / max(1, warm) if s < warm else max(0.0, (total - s) / max(1, total - warm)))

    tagger = Tagger(net, tokenizer, tcfg, scheme, batch_size=cfg.eval_batch_size, threads=threads)

    def evaluate(recs):
        net.eval()
        dp, rp = tagger.predict_proba([r["text"] for r in recs], [r.get("section") for r in recs])
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
        raise LawgovError("training ran no epoch (epochs: 0?)")

    net.load_state_dict(torch.load(ckdir / "best.pt"), strict=False)
    net.eval()
    dp, rp, _ = evaluate(dev_recs)
    th = tune_thresholds(dp, rp, dev_recs, tcfg, scheme)
    tcfg.problem_threshold, tcfg.secondary_threshold = th["problem_threshold"], th["secondary_threshold"]
    results: dict[str, Any] = {"config": asdict(cfg), "history": history, "best_epoch": best_epoch + 1,
                               "stopped_early": stopped_early, "thresholds": th,
                               "train_seconds": round(elapsed_before + time.time() - t_start, 1),
                               "threads": threads, "parameters": {"total": n_all, "trained": n_train}}
    results["dev"] = evaluate(dev_recs)[2]
    for name, path in (cfg.eval or {}).items():
        results[name] = evaluate(load_records(path, scheme))[2]
    tcfg.base_info = {"resolved": "bundled" if cfg.base in ("bundled", None) else str(cfg.base)}
    save_model(out, net, tokenizer, tcfg, scheme, extra_files={
        "metrics.json": json.dumps(results, ensure_ascii=False, indent=1) + "\n"})
    log(f"saved {out} (best epoch {best_epoch + 1}; thresholds problem {th['problem_threshold']}, "
        f"secondary {th['secondary_threshold']}); {results['train_seconds']:.0f} s")
    for name in ["dev", *(cfg.eval or {})]:
        m = results[name]
        log(f"{name}: dimension macro-F1 {m['dimension_macro_f1']:.4f}, role macro-F1 {m['role_macro_f1']:.4f}, "
            f"problem F1 {m['problem_f1']:.4f} (n={m['dimension']['n']})")
    return results
