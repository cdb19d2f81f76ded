"""What vocabulary pruning buys: parameters, build time and training-step time, full vs pruned.

Builds both variants of the bundled base from scratch into a temporary
directory (timing each build), counts parameters exactly, and times a training
step on each: batch 16 x 64 tokens of real sample-report text (identical
pieces under both vocabularies), mean pooling, a 10-way linear head,
cross-entropy; forward+backward alone, and forward+backward+AdamW update.
Median over the timed steps, after warm-up, on ``--threads`` CPU threads.

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

    ids = tok(text, add_special_tokens=False)["input_ids"]
    n = length - 2
    if len(ids) < batch * n:
        raise SystemExit(f"sample text too short: {len(ids)} tokens")
    rows = [[0] + ids[i * n:(i + 1) * n] + [2] for i in range(batch)]
    return torch.tensor(rows), [tok.convert_ids_to_tokens(r) for r in rows]


def time_steps(model_dir: str, text: str, args) -> dict:
    import torch
    from transformers import AutoModel

    from lawgov_nlp.base import load_base_tokenizer

    torch.manual_seed(0)
    tok = load_base_tokenizer(model_dir)
    x, pieces = batch_ids(tok, text, args.batch, args.length)
    mask = torch.ones_like(x)
    y = torch.arange(args.batch) % 10
    enc = AutoModel.from_pretrained(model_dir)
    enc.train()
    head = torch.nn.Linear(enc.config.hidden_size, 10)
    params = list(enc.parameters()) + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=2e-5)

    def step(update: bool) -> float:
        t0 = time.perf_counter()
        h = enc(input_ids=x, attention_mask=mask).last_hidden_state
        loss = torch.nn.functional.cross_entropy(head(h.mean(1)), y)
        loss.backward()
        if update:
            opt.step()
        opt.zero_grad(set_to_none=True)
        return time.perf_counter() - t0

    out = {"encoder_params": sum(p.numel() for p in enc.parameters()),
           "word_embedding_params": enc.embeddings.word_embeddings.weight.numel(),
           "pieces": pieces}
    for update in (False, True):
        for _ in range(args.warmup):
            step(update)
        ts = [step(update) for _ in range(args.steps)]
        out["fwd_bwd_adamw" if update else "fwd_bwd"] = statistics.median(ts)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--length", type=int, default=64)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    args = ap.parse_args()

    import torch

    from lawgov_nlp.base import build_base

    torch.set_num_threads(args.threads)
    text = sample_text()
    res = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, prune in (("full (e5-small)", False), ("pruned (e5-small-zh)", True)):
            t0 = time.perf_counter()
            d = build_base(pathlib.Path(tmp) / ("zh" if prune else "full"), prune_vocab=prune)
            build_s = time.perf_counter() - t0
            info = json.loads((d / "build_info.json").read_text(encoding="utf-8"))
            r = time_steps(str(d), text, args)
            r.update(build_s=build_s, vocab=info["vocab_pieces"], rows=info["embedding_rows"],
                     params_file=info["parameters"])
            res[name] = r
    full, zh = res["full (e5-small)"], res["pruned (e5-small-zh)"]
    same = full["pieces"] == zh["pieces"]

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch} x "
          f"{args.length} tokens, median of {args.steps} steps after {args.warmup} warm-up")
    print(f"{'':24}{'vocab':>9}{'emb rows':>10}{'parameters':>14}{'build s':>9}"
          f"{'fwd+bwd s':>11}{'+AdamW s':>10}")
    for name, r in res.items():
        assert r["encoder_params"] == r["params_file"]
        print(f"{name:24}{r['vocab']:>9,}{r['rows']:>10,}{r['encoder_params']:>14,}{r['build_s']:>9.1f}"
              f"{r['fwd_bwd']:>11.3f}{r['fwd_bwd_adamw']:>10.3f}")
    print(f"parameters: {full['encoder_params']:,} -> {zh['encoder_params']:,} "
          f"({zh['encoder_params'] / full['encoder_params']:.1%}); word embeddings "
          f"{full['word_embedding_params']:,} -> {zh['word_embedding_params']:,}")
    print(f"step speedup: fwd+bwd x{full['fwd_bwd'] / zh['fwd_bwd']:.2f}, "
          f"fwd+bwd+AdamW x{full['fwd_bwd_adamw'] / zh['fwd_bwd_adamw']:.2f}")
    print(f"identical pieces in the benchmark batch under both vocabularies: {same}")


if __name__ == "__main__":
    main()
