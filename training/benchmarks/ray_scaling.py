"""Ray engine scaling: sentences/s of the local engine and of the Ray engine with 1 and 2 actors, Ray's
overhead per document, and a projection for a national corpus, all from one run.

Usage: python training/benchmarks/ray_scaling.py [--model lawgov-zh-small] [--written 12] [--repeat 3]
                                                 [--kw-repeat 5] [--kw-copies 4] [--sentences 4500000]
                                                 [--json runs/ray_scaling.json]

Input: the three sample reports and the first ``--written`` written corpus documents rebuilt as texts
(``training/corpus/docs``), the documents of ``training/benchmarks/tag_speed.py`` (its ``_paths``).
Every pass is end to end from the files on disk: read + segment + tag + each document's rows and
coverage summary (what ``lawgov tag`` writes, minus the file writing itself):

  local, T threads   lawgov_nlp.engines.local (read_documents → tag_to_writer), the code path of
                     ``lawgov tag`` without ``--engine ray``; the model loaded once, before the passes
                     (its vector cache emptied before each pass, so no pass reuses another's vectors)
  ray, A actors      lawgov_nlp.engines.ray_data.run_files (what ``lawgov tag --engine ray`` runs) on
                     one local Ray runtime (127.0.0.1, a temporary folder, A + 1 logical CPUs), actors of
                     1 CPU and 1 torch thread; each pass is a whole Ray Data job, so it includes starting
                     the actor pool and loading the model in each actor

Spaced like spaCy's benchmarks: one warm-up pass, then ``--repeat`` timed passes; median, min and max.

Ray's overhead per document is measured with the keyword model, whose tagging costs next to nothing,
so what Ray adds is almost all there is: for n documents (the inputs ×1 and ×``--kw-copies``),
overhead(n) = median Ray wall (1 actor) − median local wall (1 thread), and the overhead is split
into a fixed part per job (the intercept: the Dataset plan, the actor pool) and a part per document
(the slope: the task, the pickled document, the rows back to the driver as JSON).

The projection (labelled as such) uses these figures only: a node's rate without the fixed part,
  r_node = sentences / (median wall with 2 actors − fixed per job − one model load),
and wall(N nodes) = runtime start + fixed per job + model load + S / (N × r_node). A 16-core node is
assumed to tag at 8 × a 2-core node's rate (the 2-actor rate, so this machine's measured 1 → 2 actor
efficiency is kept). Cost = N × wall in hours × the on-demand price per node-hour given below.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tag_speed import _paths  # noqa: E402  the same documents as the speed table

ROOT = Path(__file__).resolve().parents[2]

#: Assumed prices (AWS EC2 on-demand, Linux, us-east-1, as listed publicly in 2026; an assumption to
#: replace with your own): a 2-vCPU node and a 16-vCPU node of the same compute-optimised family.
NODES = {2: ("c7i.large", 0.08925), 16: ("c7i.4xlarge", 0.714)}


def _stats(times: list[float], n: int) -> dict:
    rates = [n / t for t in times]
    return {"times": times, "median_s": statistics.median(times), "median_sps": statistics.median(rates),
            "min_sps": min(rates), "max_sps": max(rates)}


def _timed(once, repeat: int) -> list[float]:
    once()  # warm-up
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        once()
        out.append(time.perf_counter() - t0)
    return out


def local_pass(tagger, paths) -> int:
    from lawgov_nlp.engines.local import document_rows, read_documents, tag_to_writer

    if hasattr(tagger, "vector_cache"):  # cold cache, as in tag_speed.py
        tagger.vector_cache = type(tagger.vector_cache)(tagger.vector_cache.size)
    n = [0]

    def write(t) -> None:
        rows = document_rows(t)
        json.dumps(rows, ensure_ascii=False)  # the Ray engine ships its rows as JSON; so does the local writer
        t.summary(tagger.scheme).coverage_numbers()
        n[0] += len(rows)

    def on_error(path, reason):
        raise RuntimeError(f"{path}: {reason}")

    tag_to_writer(lambda: tagger, read_documents(paths, on_error), write, on_error)
    return n[0]


def ray_pass(paths, model: str, actors: int) -> int:
    from lawgov_nlp.engines.ray_data import run_files

    def on_error(path, reason):
        raise RuntimeError(f"{path}: {reason}")

    stats = run_files(paths, lambda f: None, on_error, model=model, actors=actors, threads=1)
    return stats.sentences


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="lawgov-zh-small")
    ap.add_argument("--written", type=int, default=12, help="written corpus documents beside the 3 samples")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--kw-repeat", type=int, default=5, help="timed passes of the keyword-model overhead runs")
    ap.add_argument("--kw-copies", type=int, default=4, help="the larger input of the overhead fit (×inputs)")
    ap.add_argument("--sentences", type=int, default=4_500_000, help="the projected corpus")
    ap.add_argument("--json", default="", help="also write every measurement here")
    a = ap.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

    import torch

    import lawgov_nlp as lg
    from lawgov_nlp.engines.ray_data import ray_runtime

    paths = [str(p) for p in _paths(1, a.written)]
    big = [str(p) for p in _paths(a.kw_copies, a.written)]
    res: dict = {"documents": len(paths), "args": vars(a), "cpus": os.cpu_count()}

    # ---------------------------------------------------------------- local engine
    t0 = time.perf_counter()
    tagger = lg.load(a.model, threads=1)
    res["model_load_s"] = time.perf_counter() - t0
    for threads in (1, 2):
        torch.set_num_threads(threads)
        n = local_pass(tagger, paths)
        res[f"local{threads}"] = _stats(_timed(lambda: local_pass(tagger, paths), a.repeat), n)
        print(f"local {threads} thread(s): {res[f'local{threads}']['median_sps']:.1f} sent/s", file=sys.stderr)
    res["sentences"] = n
    torch.set_num_threads(1)
    kw = lg.load("keywords")
    kw_local = {}
    for name, p in (("small", paths), ("big", big)):
        m = local_pass(kw, p)
        kw_local[name] = _stats(_timed(lambda: local_pass(kw, p), a.kw_repeat), m) | {"documents": len(p)}

    # ---------------------------------------------------------------- Ray engine, one runtime for all passes
    tmp = tempfile.mkdtemp(prefix="lgs", dir="/tmp")  # short: Ray's socket paths must stay short
    try:
        t0 = time.perf_counter()
        with ray_runtime(num_cpus=3, temp_dir=tmp):
            res["ray_start_s"] = time.perf_counter() - t0
            for actors in (1, 2):
                n = ray_pass(paths, a.model, actors)
                assert n == res["sentences"], (n, res["sentences"])
                res[f"ray{actors}"] = _stats(_timed(lambda: ray_pass(paths, a.model, actors), a.repeat), n)
                print(f"ray {actors} actor(s): {res[f'ray{actors}']['median_sps']:.1f} sent/s", file=sys.stderr)
            kw_ray = {}
            for name, p in (("small", paths), ("big", big)):
                m = ray_pass(p, "keywords", 1)
                kw_ray[name] = _stats(_timed(lambda: ray_pass(p, "keywords", 1), a.kw_repeat), m) | {"documents": len(p)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    # ---------------------------------------------------------------- overhead fit
    over = {k: kw_ray[k]["median_s"] - kw_local[k]["median_s"] for k in ("small", "big")}
    d_small, d_big = kw_local["small"]["documents"], kw_local["big"]["documents"]
    per_doc = (over["big"] - over["small"]) / (d_big - d_small)
    fixed = over["small"] - per_doc * d_small
    spread = [kr - kl for kr, kl in zip(sorted(kw_ray["small"]["times"]), sorted(kw_local["small"]["times"]))]
    res["overhead"] = {"small_s": over["small"], "big_s": over["big"], "per_doc_s": per_doc, "fixed_s": fixed,
                       "kw_local": kw_local, "kw_ray": kw_ray,
                       "naive_per_doc_s": over["small"] / d_small,
                       "naive_range_s": [min(spread) / d_small, max(spread) / d_small]}

    # ---------------------------------------------------------------- projection
    S = res["sentences"]
    job_fixed = max(fixed, 0.0) + res["model_load_s"]
    r2 = S / max(res["ray2"]["median_s"] - job_fixed, 1e-9)
    r2_lo = S / max(max(res["ray2"]["times"]) - job_fixed, 1e-9)
    r2_hi = S / max(min(res["ray2"]["times"]) - job_fixed, 1e-9)
    proj = []
    for cores, (itype, price) in NODES.items():
        for N in (1, 4, 16, 64):
            rates = [r * cores / 2 for r in (r2, r2_lo, r2_hi)]
            walls = [res["ray_start_s"] + job_fixed + a.sentences / (N * r) for r in rates]
            proj.append({"cores": cores, "instance": itype, "price": price, "nodes": N, "node_sps": rates[0],
                         "wall_s": walls[0], "wall_range_s": [walls[2], walls[1]],
                         "cost": N * walls[0] / 3600 * price})
    res["projection"] = proj
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(res, indent=1))

    # ---------------------------------------------------------------- tables
    print(f"Measured: {res['documents']} documents ({S} sentences: the 3 sample reports + {a.written} written corpus "
          f"documents), end to end (read + segment + tag + rows and summary), model {a.model}, on this "
          f"{res['cpus']}-core machine; one warm-up pass, then {a.repeat} timed passes.\n")
    print("| engine | CPUs used | sentences/s (median) | min–max | × local, 1 thread |")
    print("|---|---|---|---|---|")
    base = res["local1"]["median_sps"]
    for key, label, cpus in (("local1", "local, 1 thread", 1), ("local2", "local, 2 threads", 2),
                             ("ray1", "ray, 1 actor (1 CPU)", 1), ("ray2", "ray, 2 actors (1 CPU each)", 2)):
        r = res[key]
        print(f"| {label} | {cpus} | {r['median_sps']:.1f} | {r['min_sps']:.1f}–{r['max_sps']:.1f} | "
              f"{r['median_sps'] / base:.2f}× |")
    o = res["overhead"]
    print(f"\nRay runtime start (once per job, local runtime): {res['ray_start_s']:.1f} s; model load: "
          f"{res['model_load_s']:.1f} s (once per actor, inside each Ray pass above).")
    print(f"Ray's overhead, keyword model, 1 actor against the local engine, 1 thread ({a.kw_repeat} timed passes): "
          f"{d_small} documents +{o['small_s']:.2f} s, {d_big} documents +{o['big_s']:.2f} s → "
          f"**{o['per_doc_s'] * 1000:.1f} ms per document** + {fixed:.2f} s per job "
          f"(all of it divided by {d_small} documents: {o['naive_per_doc_s'] * 1000:.0f} ms/document, "
          f"{o['naive_range_s'][0] * 1000:.0f}–{o['naive_range_s'][1] * 1000:.0f} over the passes).\n")
    print(f"**Projection** (not a measurement) for {a.sentences:,} sentences, from the figures above: a 2-core node "
          f"tags {r2:.0f} sentences/s without the per-job fixed part ({r2_lo:.0f}–{r2_hi:.0f} over the passes); "
          f"a 16-core node is assumed to tag 8× that; wall = {res['ray_start_s']:.0f} s start + "
          f"{job_fixed:.0f} s per job + sentences / (N × node rate). Prices assumed: AWS EC2 on-demand us-east-1 "
          + ", ".join(f"{t} ({c} vCPU) ${p}/h" for c, (t, p) in NODES.items()) + ".\n")
    print("| nodes | node | wall (projected) | range | node-hours | cost (projected) |")
    print("|---|---|---|---|---|---|")
    for p in proj:
        h = lambda s: f"{s / 3600:.1f} h" if s >= 3600 else f"{s / 60:.0f} min"  # noqa: E731
        print(f"| {p['nodes']} | {p['cores']} cores ({p['instance']}) | {h(p['wall_s'])} | "
              f"{h(p['wall_range_s'][0])}–{h(p['wall_range_s'][1])} | {p['nodes'] * p['wall_s'] / 3600:.1f} | "
              f"${p['cost']:.2f} |")


if __name__ == "__main__":
    main()
