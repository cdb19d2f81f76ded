"""Tagging speed and memory on whole real reports, end to end (read + segment + tag), all variants in one run.

Usage: python training/benchmarks/tag_speed.py [--model lawgov-zh-small] [--repeat 5] [--threads 2]
                    [--variants naive,fp32,student,student-int8,onnx,full-bf16,draft,draft-int8,default,tfidf]
                    [--copies 1] [--written 0] [--record] [--held-out]

Variants (each in its own subprocess, so peak memory is its own):
  naive     a transformers.pipeline("text-classification")-style loop: one sentence per forward
            pass, in document order, same weights (fp32, LoRA merged); a context model then runs its
            context layer over each document's vectors
  fp32      the float32 reference: lawgov_nlp.load(model, exact=True).tag_documents (batched,
            length-sorted, identical sentences encoded once, inference mode)
  int8      lawgov_nlp.load(model, fast=True, draft=False) (PyTorch dynamic int8 of the full encoder)
  student   the model's draft encoder alone (the distilled student, training/distill.py) in float32:
            its labels are used as they are, nothing is read again
  student-int8  the same with PyTorch dynamic int8
  onnx      lawgov_nlp.load(model, backend="onnx") (fused ONNX Runtime graph, int8 per-channel)
  full-bf16 lawgov_nlp.load(model, draft=False): the full encoder in bfloat16 on every sentence
  draft     lawgov_nlp.load(model, draft=True): the draft first, the full encoder on the sentences in
            doubt, both in bfloat16 where the CPU has it
  draft-int8  lawgov_nlp.load(model, fast=True, draft=True): draft and full encoder both in dynamic int8
  default   lawgov_nlp.load(model): the shipped default path (the draft path only where it passed
            parity, see training/benchmarks/parity.py)
  tfidf     the TF-IDF + logistic-regression baseline (baseline-tfidf)
  keywords  the keyword-rule baseline
``--held-out`` tags, in place of the samples, the unlabelled report text the model's draft was not
distilled on (``training/corpus/unlabelled/``, parts f–j for the shipped draft), written out as
report files of 40 lines each: text unlike the training corpus, where the draft path reads more
sentences again than on the samples.

Each pass reads the three sample reports from disk (``--copies`` times each), segments and tags
them. Spaced like spaCy's benchmarks: one warm-up pass, then --repeat timed passes; prints median
and min–max sentences/s, peak RSS (MB) of the process, and the ratio of the median to the naive
loop's, and for the draft paths the share of sentences the full encoder read again.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "tests" / "data" / "samples"
#: the written corpus documents, rebuilt as texts by training/build_corpus.py
WRITTEN = ROOT / "training" / "corpus" / "docs"


def _paths(copies: int, written: int = 0, folder: str | None = None) -> list[Path]:
    """The three sample reports and the first ``written`` written corpus documents, ``copies`` times (or
    the ``.txt`` files of ``folder``)."""
    if folder:
        return sorted(Path(folder).glob("*.txt")) * copies
    return (sorted(SAMPLES.glob("*.txt")) + sorted(WRITTEN.glob("*.txt"))[:written]) * copies


def held_out_folder(model: str, where: Path) -> tuple[Path, list[str]]:
    """Report files (40 lines each) of the unlabelled text the model's draft never read, in ``where``."""
    sys.path.insert(0, str(ROOT / "training"))
    from distill import held_out_text, read_unlabelled

    from lawgov_nlp.models.registry import resolve

    files = held_out_text(Path(resolve(model)))
    if not files:
        raise SystemExit(f"{model}: its draft does not name the unlabelled text it was distilled on")
    for k, lines in enumerate(read_unlabelled(files, 40)):
        (where / f"held_{k:04d}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return where, [Path(f).name for f in files]


def _naive(t, docs):
    import torch

    from lawgov_nlp.models.encoder import encode_items, tokenize_items
    from lawgov_nlp.models.features import structure_features
    from lawgov_nlp.models.tagger import SentenceInput

    net = t.net
    out = []
    with torch.no_grad():
        for d in docs:
            vecs = []
            for s in d.sentences:  # one sentence at a time, as a pipeline loop does
                sec = s.section if t.kind == "encoder" else None
                items, _, _ = encode_items(t.tokenizer, t.settings, [s.text], [sec] if sec is not None else None)
                b = tokenize_items(t.tokenizer, t.settings, [items[0]])
                z = net.encode(b["input_ids"], b["attention_mask"], b.get("token_type_ids"))
                if t.kind == "encoder":
                    out.append((torch.softmax(net.dimension_head(z), -1), torch.softmax(net.role_head(z), -1)))
                else:
                    vecs.append(z)
            if t.kind == "context" and vecs:
                v = torch.cat(vecs)[None]
                sents = [SentenceInput(s.text, s.section, s.is_heading, s.heading_level, s.paragraph) for s in d.sentences]
                f = torch.from_numpy(structure_features(sents))[None]
                out.append(t.context_net(v, f, torch.ones(1, v.shape[1], dtype=torch.bool)))
    return out


#: load options, environment and draft margin of each neural variant (margin None: the manifest's)
NEURAL = {"naive": ({"exact": True}, {}, None), "fp32": ({"exact": True}, {}, None),
          "int8": ({"fast": True, "draft": False}, {}, None),
          "student": ({"draft": True}, {"LAWGOV_PRECISION": "fp32"}, 0.0),
          "student-int8": ({"fast": True, "draft": True}, {}, 0.0),
          "onnx": ({"backend": "onnx"}, {}, None), "full-bf16": ({"draft": False}, {}, None),
          "draft": ({"draft": True}, {}, None), "draft-int8": ({"fast": True, "draft": True}, {}, None),
          "default": ({}, {}, None)}


def run_variant(name: str, model: str, repeat: int, threads: int, copies: int, written: int = 0,
                folder: str | None = None) -> dict:
    import torch

    import lawgov_nlp as lg

    torch.set_num_threads(threads)
    paths = _paths(copies, written, folder)
    if name in NEURAL:
        opts, env, margin = NEURAL[name]
        os.environ.update(env)
        t = lg.load(model, threads=threads, **opts)
        if name.startswith("student"):
            if getattr(t, "draft", None) is None or t.draft.net is None:
                raise SystemExit(f"{model}: has no draft encoder (training/distill.py makes one)")
            t.draft.margin, t.draft.check = margin, None  # the student alone: nothing is read again
        if name == "naive":
            if hasattr(t.net.encoder, "merge_and_unload"):
                t.net.encoder = t.net.encoder.merge_and_unload()
            t.net.eval()
    else:
        t = lg.load("keywords" if name == "keywords" else "baseline-tfidf")

    def once() -> int:
        if hasattr(t, "clear_caches"):  # every pass starts cold: the cross-call cache would serve repeats
            t.clear_caches()
        docs = [lg.read_file(p) for p in paths]
        if name == "naive":
            _naive(t, docs)
        else:
            t.tag_documents(docs)
        return sum(len(d.sentences) for d in docs)

    n = once()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        once()
        times.append(time.perf_counter() - t0)
    rates = [n / x for x in times]
    stats = getattr(t, "draft_stats", {})
    reread = stats["reread"] / stats["sentences"] if stats.get("sentences") else None
    return {"variant": name, "sentences": n, "documents": len(paths), "times": times, "median_sps": statistics.median(rates),
            "reread": reread,
            "min_sps": min(rates), "max_sps": max(rates),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "kind": getattr(t, "kind", ""), "run": getattr(t, "path_name", "")}


def record(a, results: list[dict], base: float | None) -> None:
    """Put this run's table into the model's metrics.json ("speed") and rewrite its card."""
    import datetime

    from lawgov_nlp.models.backends import machine_description
    from lawgov_nlp.models.card import write_card
    from lawgov_nlp.models.contract import read_metrics
    from lawgov_nlp.models.registry import resolve

    d = Path(resolve(a.model))
    metrics = read_metrics(d)
    cmd = " ".join(["python training/benchmarks/tag_speed.py", *sys.argv[1:]])
    metrics["speed"] = {
        "command": cmd, "measured": datetime.date.today().isoformat(), "threads": a.threads, "repeat": a.repeat,
        "what": f"read + segment + tag of {a.what} ({results[0]['sentences'] if results else 0} sentences), "
                "each pass with a cold vector cache",
        "machine": machine_description(),
        "rows": [{**r, "ratio": (r["median_sps"] / base) if base else None} for r in results]}
    tmp = d / "metrics.json.part"
    tmp.write_text(json.dumps(metrics, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, d / "metrics.json")
    write_card(d, (ROOT / "training" / "model_card_notes.md").read_text(encoding="utf-8"))
    print(f"recorded in {d / 'metrics.json'} and {d / 'README.md'}", file=sys.stderr)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="lawgov-zh-small")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--copies", type=int, default=1)
    ap.add_argument("--written", type=int, default=0, help="also the first N written corpus documents")
    ap.add_argument("--variants", default="naive,fp32,student,student-int8,onnx,full-bf16,draft,draft-int8,default,tfidf")
    ap.add_argument("--record", action="store_true",
                    help="store the table in the model directory's metrics.json and rewrite its card "
                         "(with training/model_card_notes.md) so that the card quotes this run")
    ap.add_argument("--held-out", action="store_true",
                    help="tag the unlabelled text the draft was not distilled on, as report files, not the samples")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--folder", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(run_variant(a.one, a.model, a.repeat, a.threads, a.copies, a.written, a.folder)))
        return
    a.what = f"the 3 sample reports ×{a.copies}"
    if a.held_out:
        import tempfile

        if a.record:
            raise SystemExit("--record quotes the sample reports' run: run --held-out without it")
        tmp = tempfile.TemporaryDirectory(prefix="lawgov-speed-")  # removed when the run ends
        a.folder, names = held_out_folder(a.model, Path(tmp.name))
        a.what = f"{len(list(a.folder.glob('*.txt')))} report files of unlabelled text the draft never read ({', '.join(names)})"
    results = []
    for v in a.variants.split(","):
        r = subprocess.run([sys.executable, __file__, "--one", v, "--model", a.model, "--repeat", str(a.repeat),
                            "--threads", str(a.threads), "--copies", str(a.copies), "--written", str(a.written),
                            *(["--folder", str(a.folder)] if a.folder else [])],
                           capture_output=True, text=True,
                           env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
        if r.returncode:
            print(f"{v}: failed\n{r.stderr[-2000:]}", file=sys.stderr)
            continue
        results.append(json.loads(r.stdout.strip().splitlines()[-1]))
    from lawgov_nlp.models.backends import machine_description

    base = next((r["median_sps"] for r in results if r["variant"] == "naive"), None)
    print(f"end-to-end tagging (read + segment + tag) of {a.what} "
          f"({results[0]['sentences'] if results else 0} sentences), {a.threads} threads, {a.repeat} timed passes "
          f"after a warm-up; model {a.model}; on {machine_description()}")
    print("| variant | runs as | sentences/s (median) | min–max | peak RSS MB | × naive | re-read by the full encoder |")
    print("|---|---|---|---|---|---|---|")
    if a.record:
        record(a, results, base)
    for r in results:
        ratio = f"{r['median_sps'] / base:.1f}×" if base else "-"
        print(f"| {r['variant']} | {r.get('run') or '-'} | {r['median_sps']:.0f} | {r['min_sps']:.0f}–{r['max_sps']:.0f} | "
              f"{r['peak_rss_mb']:.0f} | {ratio} | {'-' if r.get('reread') is None else format(r['reread'], '.1%')} |")


if __name__ == "__main__":
    main()
