"""What vocabulary pruning buys: parameters, build time and training-step time, full vs pruned.

Builds both variants of the bundled base from scratch into a temporary
directory (timing each build), counts parameters exactly, and times a training
step on each: batch 16 x 64 tokens of real sample-report text (identical
pieces under both vocabularies), mean pooling, a 10-way linear head,
cross-entropy; forward+backward alone, and forward+backward+AdamW update.
The two models' steps are interleaved so both see the same machine load;
median and minimum over the timed steps, on ``--threads`` CPU threads.

    python training/benchmarks/base_prune.py               # 2 threads, 10 timed steps
    python training/benchmarks/base_prune.py --threads 4 --steps 20
"""
from __future__ import annotations

import argparse
import glob
import json
import pathlib
import statistics
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def sample_text() -> str:
    for d in (ROOT / "tests" / "data" / "samples", ROOT.parent / "shared" / "samples"):
        files = sorted(glob.glob(str(d / "*.txt")))
        if files:
            return "\n".join(pathlib.Path(f).read_text(encoding="utf-8") for f in files)
    raise SystemExit("no sample reports found")


def batch_ids(tok, text: str, batch: int, length: int):
    """``batch`` windows of ``length`` tokens (<s> + content + </s>) cut from the text."""
    import torch

    ids = tok(text, add_special_tokens=False, verbose=False)["input_ids"]
    n = length - 2
    if len(ids) < batch * n:
        raise SystemExit(f"sample text too short: {len(ids)} tokens")
    rows = [[0] + ids[i * n:(i + 1) * n] + [2] for i in range(batch)]
    return torch.tensor(rows), [tok.convert_ids_to_tokens(r) for r in rows]


class Trainer:
    """One base + 10-way head + AdamW, with a fixed batch of real text."""

    def __init__(self, model_dir: str, text: str, args):
        import torch
        from transformers import AutoModel

        from lawgov_nlp.models.base import load_base_tokenizer

        torch.manual_seed(0)
        tok = load_base_tokenizer(model_dir)
        self.x, self.pieces = batch_ids(tok, text, args.batch, args.length)
        self.mask = torch.ones_like(self.x)
        self.y = torch.arange(args.batch) % 10
        self.enc = AutoModel.from_pretrained(model_dir)
        self.enc.train()
        self.head = torch.nn.Linear(self.enc.config.hidden_size, 10)
        self.opt = torch.optim.AdamW(list(self.enc.parameters()) + list(self.head.parameters()), lr=2e-5)
        self.params = sum(p.numel() for p in self.enc.parameters())
        self.word_params = self.enc.embeddings.word_embeddings.weight.numel()
        self.times = {False: [], True: []}

    def step(self, update: bool, record: bool = True) -> None:
        import torch

        t0 = time.perf_counter()
        h = self.enc(input_ids=self.x, attention_mask=self.mask).last_hidden_state
        loss = torch.nn.functional.cross_entropy(self.head(h.mean(1)), self.y)
        loss.backward()
        if update:
            self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        if record:
            self.times[update].append(time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--length", type=int, default=64)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    args = ap.parse_args()

    import torch

    from lawgov_nlp.models.base import build_base

    torch.set_num_threads(args.threads)
    text = sample_text()
    res = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, prune in (("full (e5-small)", False), ("pruned (e5-small-zh)", True)):
            t0 = time.perf_counter()
            d = build_base(pathlib.Path(tmp) / ("zh" if prune else "full"), prune_vocab=prune)
            build_s = time.perf_counter() - t0
            info = json.loads((d / "build_info.json").read_text(encoding="utf-8"))
            res[name] = {"build_s": build_s, "vocab": info["vocab_pieces"],
                         "rows": info["embedding_rows"], "params_file": info["parameters"],
                         "trainer": Trainer(str(d), text, args)}
        trainers = [r["trainer"] for r in res.values()]
        # interleave the two models step by step, so that both see the same machine load
        for update in (False, True):
            for _ in range(args.warmup):
                for t in trainers:
                    t.step(update, record=False)
            for _ in range(args.steps):
                for t in trainers:
                    t.step(update)
    full, zh = (r["trainer"] for r in res.values())
    same = full.pieces == zh.pieces

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch} x "
          f"{args.length} tokens, {args.steps} timed steps per model after {args.warmup} warm-up, "
          f"models interleaved; seconds per step as median (min)")
    print(f"{'':22}{'vocab':>9}{'emb rows':>10}{'parameters':>13}{'build s':>9}"
          f"{'fwd+bwd':>17}{'fwd+bwd+AdamW':>17}")
    for name, r in res.items():
        t = r["trainer"]
        assert t.params == r["params_file"]
        fb, fba = t.times[False], t.times[True]
        print(f"{name:22}{r['vocab']:>9,}{r['rows']:>10,}{t.params:>13,}{r['build_s']:>9.1f}"
              f"{statistics.median(fb):>10.3f} ({min(fb):.3f}){statistics.median(fba):>10.3f} ({min(fba):.3f})")
    print(f"parameters: {full.params:,} -> {zh.params:,} ({zh.params / full.params:.1%}); "
          f"word embeddings {full.word_params:,} -> {zh.word_params:,}")
    for update, label in ((False, "fwd+bwd"), (True, "fwd+bwd+AdamW")):
        a, b = full.times[update], zh.times[update]
        print(f"speedup {label}: x{statistics.median(a) / statistics.median(b):.2f} on medians, "
              f"x{min(a) / min(b):.2f} on minima")
    print(f"identical pieces in the benchmark batch under both vocabularies: {same}")


if __name__ == "__main__":
    main()
