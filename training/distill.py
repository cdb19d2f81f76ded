"""Distil a context model's sentence encoder into a draft encoder (a 6- or 4-layer student) and
write it into the model directory, where it becomes that model's draft path
(:mod:`lawgov_nlp.models.draft`).

Usage: python training/distill.py [--layers 6] [--teacher lawgov-zh-small] [--out models/lawgov-zh-small]
                                  [--epochs 4] [--kd-epochs 5] [--rank 32] [--threads 2]
                                  [--extra FILE ...] [--check baseline-tfidf] [--calibrate dev] [--target 0.99]
                                  [--macro-f1-gap 0.005]
       python training/distill.py --out DIR --calibrate-only [--calibrate dev] [--target 0.99] [--macro-f1-gap 0.005]
       python training/distill.py --out DIR --set-check [--check baseline-tfidf]

The student is the bundled base cut to its first N layers with LoRA adapters on every layer. It
learns the teacher's float32 sentence vectors (mean squared error + cosine), so that the
teacher's document-context layer, unchanged, reads the student's vectors; then it learns the
teacher's probabilities through that frozen layer (KL divergence, temperature 1) on whole
documents. No gold label is used: the targets are the teacher's.

Text: the training split's sentences (``--train``), the unlabelled report text in
``training/corpus/unlabelled/`` (written for this, one line a sentence, read as pseudo-documents of
40 lines; see the datasheet) and fragments cut from both at clause boundaries (，；：). Dev, test
and the real samples are never read for training, so the parity figures on them are held out
(the margin is chosen on dev: ``--calibrate``, the smallest margin at which the draft path's
labels agree with the float32 reference's on ``--target`` of the dev sentences and its dimension and
role macro-F1 lie within ``--macro-f1-gap`` of the reference's, the parity rule on dev alone).

The result is the teacher's directory with ``draft.safetensors`` (the student's adapters),
``draft_check.joblib`` (``--check``: the TF-IDF baseline as the draft's second opinion) and
``config.draft`` in the manifest (settings, margin, how it was made, the calibration table).
"""
from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
UNLABELLED = ROOT / "training" / "corpus" / "unlabelled"


def fragments(texts: list[str], rng: random.Random, per_text: int = 1) -> list[str]:
    """Clause-boundary fragments of longer sentences (unlabelled extra text for distillation)."""
    out = []
    for t in texts:
        parts = [p for p in re.split(r"(?<=[，；：])", t) if p]
        if len(parts) < 3:
            continue
        for _ in range(per_text):
            a = rng.randrange(0, len(parts) - 1)
            b = rng.randrange(a + 1, min(len(parts), a + 3) + 1)
            frag = "".join(parts[a:b]).rstrip("，；：")
            if 6 <= len(frag) < len(t):
                out.append(frag)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--teacher", default="lawgov-zh-small")
    ap.add_argument("--train", default=str(ROOT / "training" / "data" / "train.jsonl"),
                    help="annotated JSONL whose texts (not labels) the student learns on")
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--out")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--kd-epochs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--rank", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", default=str(ROOT / "runs" / "distill"))
    ap.add_argument("--extra", nargs="*", default=sorted(str(p) for p in UNLABELLED.glob("*.txt")),
                    help="unlabelled text files, one sentence a line (default: training/corpus/unlabelled/*.txt)")
    ap.add_argument("--extra-doc-lines", type=int, default=40, help="lines per pseudo-document of --extra text")
    ap.add_argument("--margin", type=float, default=0.3, help="doubt margin before calibration")
    ap.add_argument("--check", default="",
                    help="TF-IDF model stored as the draft's second opinion (default none: on the unlabelled text "
                         "the shipped draft never read it cost more re-reads than it saved)")
    ap.add_argument("--set-check", action="store_true", help="only put --check into --out's draft")
    ap.add_argument("--calibrate", default="dev", help="split (or JSONL file) on which the margin is chosen ('' = keep --margin)")
    ap.add_argument("--target", type=float, default=0.99, help="agreement with the reference the margin must reach")
    ap.add_argument("--macro-f1-gap", type=float, default=None,
                    help="largest macro-F1 gap to the reference the margin may leave on --calibrate "
                         "(default: the parity bound, 0.005)")
    ap.add_argument("--calibrate-only", action="store_true", help="only choose the margin of --out's draft")
    ap.add_argument("--cost-text", nargs="*", default=None,
                    help="unlabelled text files on which calibration counts the re-reads (default: the files of "
                         "training/corpus/unlabelled/ the draft was not distilled on; none named: count on --calibrate)")
    a = ap.parse_args()

    import numpy as np
    import torch

    import lawgov_nlp as lg
    from lawgov_nlp.data.corpus import load_records
    from lawgov_nlp.models.encoder import encode_items, tokenize_items
    from lawgov_nlp.models.features import structure_features
    from lawgov_nlp.models.network import build_network
    from lawgov_nlp.models.settings import EncoderSettings, LoraSettings
    from lawgov_nlp.models.tagger import records_as_documents

    out = Path(a.out or ROOT / "runs" / f"lawgov-zh-small-draft{a.layers}")
    if a.set_check:
        import lawgov_nlp as lg

        t = lg.load(out, exact=True, threads=a.threads)
        t.draft.check = second_opinion(a.check)
        t.save(out)
    if a.calibrate_only or a.set_check:
        if a.calibrate:
            calibrate(out, a.calibrate, a.threads, a.target, a.cost_text, a.macro_f1_gap)
        return
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)
    torch.set_num_threads(a.threads)
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    t_start = time.time()

    teacher = lg.load(a.teacher, exact=True, threads=a.threads, batch_size=64)
    scheme = teacher.scheme
    train = load_records(a.train, scheme)
    base_texts = sorted({r["text"] for r in train})
    extra_docs = read_unlabelled(a.extra, a.extra_doc_lines)
    extra_texts = sorted({t for d in extra_docs for t in d} - set(base_texts))
    texts = base_texts + extra_texts
    texts += sorted(set(fragments(texts, rng)) - set(texts))
    cache = work / "teacher_vectors.npz"
    if cache.is_file() and json.loads(str(np.load(cache)["texts"])) == texts:
        tv = np.load(cache)["vectors"]
    else:
        t0 = time.time()
        tv = teacher.sentence_vectors(texts)
        np.savez(cache, vectors=tv, texts=json.dumps(texts, ensure_ascii=False))
        print(f"teacher vectors for {len(texts)} texts in {time.time() - t0:.0f} s", flush=True)
    print(f"{len(base_texts)} training sentences + {len(extra_texts)} unlabelled lines ({len(extra_docs)} pseudo-documents) "
          f"+ {len(texts) - len(base_texts) - len(extra_texts)} fragments", flush=True)

    settings = EncoderSettings(base=teacher.settings.base, max_length=teacher.settings.max_length, use_section=False,
                               pooling=teacher.settings.pooling, dropout=0.0, encoder_layers=a.layers,
                               lora=LoraSettings(r=a.rank, alpha=2 * a.rank, dropout=0.0, layers=None))
    net = build_network(settings, len(scheme.dimension_codes), len(scheme.role_codes), seed=a.seed)
    net.freeze_for_lora()
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=0.0)
    tok = teacher.tokenizer
    items, owner, _ = encode_items(tok, settings, texts, None)
    first = {}
    for k, i in enumerate(owner):  # a long sentence: its first window learns its whole vector
        first.setdefault(i, k)
    idx = list(first)
    target = torch.from_numpy(np.asarray(tv, dtype=np.float32))
    scale = float(target.std())
    steps = a.epochs * math.ceil(len(idx) / a.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=steps, pct_start=0.1)
    net.train()
    step = 0
    for ep in range(a.epochs):
        rng.shuffle(idx)
        # length-bucketed batches: sort chunks of 50 batches by length, then shuffle the batches
        chunks = [sorted(idx[c:c + a.batch * 50], key=lambda i: len(texts[i])) for c in range(0, len(idx), a.batch * 50)]
        batches = [ch[s:s + a.batch] for ch in chunks for s in range(0, len(ch), a.batch)]
        rng.shuffle(batches)
        tot, t0 = 0.0, time.time()
        for b in batches:
            enc = tokenize_items(tok, settings, [items[first[i]] for i in b])
            with torch.autocast("cpu", dtype=torch.bfloat16):
                z = net.encode(enc["input_ids"], enc["attention_mask"])
            t = target[b]
            loss = ((z - t) ** 2).mean() / scale ** 2 + (1 - torch.nn.functional.cosine_similarity(z, t)).mean()
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            step += 1
            tot += float(loss.detach())
        print(f"epoch {ep + 1}/{a.epochs}: vector loss {tot / len(batches):.4f} ({time.time() - t0:.0f} s)", flush=True)

    # KL through the frozen context layer on whole training documents
    ctx = teacher.context_net
    for p in ctx.parameters():
        p.requires_grad = False
    docs, _ = records_as_documents(train)
    docs += as_documents(extra_docs, "extra")
    with torch.inference_mode():
        teacher_probs = teacher.predict_documents(docs)
    opt = torch.optim.AdamW(params, lr=a.lr / 4, weight_decay=0.0)
    ctx.eval()
    order = list(range(len(docs)))
    for ep in range(a.kd_epochs):
        rng.shuffle(order)
        tot, t0 = 0.0, time.time()
        for j in order:
            d = docs[j]
            its, own, wt = encode_items(tok, settings, [s.text for s in d], None)
            fst = {}
            for k, i in enumerate(own):
                fst.setdefault(i, k)
            zs = []
            for s in range(0, len(d), a.batch):
                enc = tokenize_items(tok, settings, [its[fst[i]] for i in range(s, min(len(d), s + a.batch))])
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    zs.append(net.encode(enc["input_ids"], enc["attention_mask"]))
            v = torch.cat(zs)[None]
            f = torch.from_numpy(structure_features(d))[None]
            m = torch.ones(1, len(d), dtype=torch.bool)
            dl, rl = ctx(v, f, m, None)
            tdp = torch.from_numpy(teacher_probs[j][0])
            trp = torch.from_numpy(teacher_probs[j][1])
            kl = (torch.nn.functional.kl_div(torch.log_softmax(dl[0].float(), -1), tdp, reduction="batchmean")
                  + torch.nn.functional.kl_div(torch.log_softmax(rl[0].float(), -1), trp, reduction="batchmean"))
            with torch.no_grad():
                tvd = torch.from_numpy(teacher.sentence_vectors([s.text for s in d]))
            loss = kl + ((v[0] - tvd) ** 2).mean() / scale ** 2
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            tot += float(loss.detach())
        print(f"kd epoch {ep + 1}/{a.kd_epochs}: loss {tot / len(order):.4f} ({time.time() - t0:.0f} s)", flush=True)

    net.eval()
    from lawgov_nlp.models.draft import Draft

    info = {"distilled_from": str(a.teacher), "layers": a.layers, "rank": a.rank, "texts": len(texts),
            "epochs": a.epochs, "kd_epochs": a.kd_epochs, "seconds": round(time.time() - t_start),
            "unlabelled": [Path(p).name for p in a.extra]}
    draft = Draft(settings, a.margin, teacher_sha256(teacher), info=info,
                  state={k: v.detach().contiguous() for k, v in net.trained_state().items() if "lora_" in k},
                  check=second_opinion(a.check))
    save_with_draft(teacher, draft, out)
    print(f"saved {out} ({time.time() - t_start:.0f} s in all)", flush=True)
    if a.calibrate:
        calibrate(out, a.calibrate, a.threads, a.target, a.cost_text, a.macro_f1_gap)


HELD_OUT = ("dev", "test", "real")


def close_to_held_out(lines: list[str], threshold: float = 0.6) -> list[bool]:
    """Per line, whether it equals (normalised) or is a near-duplicate (character 3-gram Jaccard ≥
    ``threshold``, as in the datasheet) of a dev, test or real sentence: such lines are not learned
    from, so that the parity figures stay held out."""
    import numpy as np
    from sklearn.feature_extraction.text import CountVectorizer

    from lawgov_nlp.data.corpus import read_jsonl
    from lawgov_nlp.data.suggest import normalise_text as normalise

    held = [normalise(r["text"]) for s in HELD_OUT for r in read_jsonl(ROOT / "training" / "data" / f"{s}.jsonl")[0]]
    norm = [normalise(t) for t in lines]
    same = set(held)
    out = [t in same for t in norm]
    vec = CountVectorizer(analyzer="char", ngram_range=(3, 3), binary=True, lowercase=False)
    vec.fit([t for t in held + norm if len(t) >= 3])
    A, B = vec.transform(norm).astype(np.float32), vec.transform(held).astype(np.float32)
    sa, sb = np.asarray(A.sum(1)).ravel(), np.asarray(B.sum(1)).ravel()
    inter = (A @ B.T).tocoo()
    for i, j, v in zip(inter.row, inter.col, inter.data):
        if v / (sa[i] + sb[j] - v) >= threshold:
            out[i] = True
    return out


def read_unlabelled(paths: list[str], doc_lines: int) -> list[list[str]]:
    """Unlabelled text files (one sentence or heading a line) as pseudo-documents of ``doc_lines`` lines,
    without the lines close to a held-out sentence (:func:`close_to_held_out`)."""
    docs = []
    for p in paths:
        lines = [x.strip() for x in Path(p).read_text(encoding="utf-8").splitlines() if x.strip()]
        close = close_to_held_out(lines) if lines else []
        if any(close):
            print(f"{p}: {sum(close)} of {len(lines)} lines left out (close to a dev, test or real sentence)", flush=True)
        lines = [t for t, c in zip(lines, close) if not c]
        docs += [lines[k:k + doc_lines] for k in range(0, len(lines), doc_lines)]
    return docs


def as_documents(pseudo: list[list[str]], prefix: str) -> list:
    """Pseudo-documents of lines (:func:`read_unlabelled`) as model inputs, headings found by the segmenter's rule."""
    from lawgov_nlp.models.tagger import records_as_documents

    return records_as_documents([{"doc_id": f"{prefix}-{k}", "text": t} for k, d in enumerate(pseudo) for t in d])[0]


def second_opinion(name: str):
    """The fitted TF-IDF tagger that checks the draft (``''``: none)."""
    if not name:
        return None
    import lawgov_nlp as lg

    t = lg.load(name)
    if t.kind != "tfidf":
        raise SystemExit(f"--check {name}: a TF-IDF model is needed, this is a {t.kind!r} model")
    return t


def teacher_sha256(teacher) -> str:
    from lawgov_nlp.models.contract import read_manifest

    man, _ = read_manifest(teacher.path)
    return man.weights["weights.safetensors"]["sha256"]


def save_with_draft(teacher, draft, out: Path) -> None:
    """The teacher's directory with the draft in it (``out`` may be the teacher's own directory)."""
    import shutil

    src = Path(teacher.path).resolve()
    if Path(out).resolve() != src:
        if Path(out).exists():
            shutil.rmtree(out)
        shutil.copytree(src, out, ignore=shutil.ignore_patterns("onnx"))
    teacher.draft = draft
    teacher.save(out)


def held_out_text(model_dir: Path) -> list[str]:
    """The unlabelled text files the draft of ``model_dir`` was not distilled on (``info.unlabelled`` lists
    those it was); none when the draft does not say."""
    manifest = json.loads((Path(model_dir) / "lawgov_model.json").read_text(encoding="utf-8"))
    used = (((manifest.get("config") or {}).get("draft") or {}).get("info") or {}).get("unlabelled")
    if used is None:
        return []
    return [str(p) for p in sorted(UNLABELLED.glob("*.txt")) if p.name not in set(used)]


def calibrate(model_dir: Path, split: str, threads: int, target: float, cost_text: list[str] | None = None,
              macro_f1_gap: float | None = None) -> float:
    """The smallest margin at which the draft path's labels (as decided) agree with the float32 reference's
    on ``target`` of the ``split`` sentences on both heads, and whose dimension and role macro-F1 (against the
    split's gold labels) lie within ``macro_f1_gap`` of the reference's (None: the parity bound,
    :data:`~lawgov_nlp.models.draft.PARITY_MACRO_F1`), with the draft's second opinion and without it.
    Of the two, the one that reads fewer sentences again is written into the manifest (a second opinion
    that is not worth its re-reads is dropped; figures printed). The re-reads are counted on ``cost_text``
    (unlabelled text the draft never read; None: :func:`held_out_text`), text unlike the training corpus,
    and on ``split`` where there is none."""
    import lawgov_nlp as lg
    from lawgov_nlp.data.corpus import load_records
    from lawgov_nlp.metrics import label_agreement, macro_f1_gap as f1_gap, tagging_metrics
    from lawgov_nlp.models.draft import PARITY_MACRO_F1

    if macro_f1_gap is None:
        macro_f1_gap = PARITY_MACRO_F1
    if cost_text is None:
        cost_text = held_out_text(model_dir)
    ref = lg.load(model_dir, exact=True, threads=threads)
    fast = lg.load(model_dir, threads=threads, draft=True)
    if fast.draft is None or fast.draft.net is None:
        raise SystemExit(f"{model_dir}: the draft does not run on this machine's default path ({fast.path_name})")
    path = Path(split) if split.endswith(".jsonl") else ROOT / "training" / "data" / f"{split}.jsonl"
    recs = load_records(path, ref.scheme)
    rdec = ref.decide(*ref.predict_records(recs))
    rm = tagging_metrics(recs, rdec, ref.scheme)
    check = fast.draft.check
    rows, found = [], {}
    for with_check in ([True, False] if check is not None else [False]):
        fast.draft.check = check if with_check else None
        for margin in (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.8, 1.0):
            fast.draft.margin = margin
            fast.clear_caches()
            dec = fast.decide(*fast.predict_records(recs))
            ad, ar = label_agreement(dec, rdec)
            m = tagging_metrics(recs, dec, ref.scheme)
            gap = f1_gap(m, rm)
            share = fast.draft_stats["reread"] / max(1, fast.draft_stats["sentences"])
            rows.append((with_check, margin, ad, ar, share, gap))
            print(f"{'with' if with_check else 'without'} the second opinion, margin {margin:.2f}: same dimension "
                  f"{ad:.4f}, same role {ar:.4f}, largest macro-F1 gap {gap:.4f}, re-read {share:.1%}", flush=True)
            if min(ad, ar) >= target and gap <= macro_f1_gap:
                found[with_check] = (share, margin)
                break
    held: dict = {}
    if cost_text and found:
        docs = as_documents(read_unlabelled(cost_text, 40), "held")
        held = {"files": [Path(p).name for p in cost_text], "sentences": sum(map(len, docs)), "reread": {}}
        for with_check, (_, margin) in list(found.items()):
            fast.draft.check, fast.draft.margin = (check if with_check else None), margin
            fast.clear_caches()
            fast.predict_documents(docs)
            share = fast.draft_stats["reread"] / max(1, fast.draft_stats["sentences"])
            held["reread"]["check" if with_check else "no check"] = share
            found[with_check] = (share, margin)
            print(f"{'with' if with_check else 'without'} the second opinion at margin {margin:.2f}: re-read "
                  f"{share:.1%} of {held['sentences']} sentences of unlabelled text the draft never read", flush=True)
    if found:
        with_check = min(found, key=lambda k: found[k])  # the fewer re-reads
        best = found[with_check][1]
    else:  # neither reached the target: the widest margin, with the second opinion where there is one
        with_check, best = check is not None, 1.0
    ref.draft.load()  # the reference's own copy of the draft is what is saved
    ref.draft.margin = best
    if not with_check:
        ref.draft.check = None
    ref.draft.info["calibration"] = {"split": split, "target": target, "macro_f1_gap": macro_f1_gap,
                                     "check": with_check,
                                     "rows": [dict(zip(("check", "margin", "same_dimension", "same_role", "reread",
                                                        "macro_f1_gap"), x)) for x in rows]}
    if held:
        ref.draft.info["calibration"]["held_out_text"] = held
    ref.save(model_dir)
    print(f"margin {best}{' with' if with_check else ' without'} the second opinion written into {model_dir}", flush=True)
    return best


if __name__ == "__main__":
    main()
