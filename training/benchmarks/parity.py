"""Label agreement of each fast path with the float32 reference, on annotated splits.

Usage: python training/benchmarks/parity.py [--model lawgov-zh-small] [--splits dev,test,real]
                                            [--variants draft,full-bf16,student,onnx,int8] [--record]
                                            [--unlabelled FILE ...]
Variants: ``default`` (lg.load(model)), ``draft`` (draft=True: the draft encoder first, the full
encoder on the sentences in doubt), ``full-bf16`` (draft=False: the full encoder on every sentence,
bfloat16 where the CPU has it), ``student`` (the draft's labels alone, no second opinion, nothing
read again), ``onnx``, ``int8`` (fast=True, draft=False).

Prints, per split and variant, the share of sentences whose dimension and role (as decided, with the
model's thresholds) equal the reference's, both macro-F1s of the variant and of the reference
against the gold labels, and the share of sentences the full encoder read again.

``--unlabelled`` (on by default where the draft names the unlabelled text it was distilled on) adds one
row per variant on the unlabelled report text of ``training/corpus/unlabelled/`` that the draft never
read: same labels as the reference and the share re-read, with no gold labels, so no macro-F1. It is
text unlike the training corpus, nearer to what users bring, and it is not part of the verdict.

``--record`` (with the ``draft`` variant and the dev, test and real splits) writes the draft's
figures and the verdict into the model's manifest (``config.draft.info.parity``): it passes when its
labels equal the reference's on at least 99 % of the dev + real sentences (each head) and each
macro-F1 lies within 0.5 points of the reference's on dev, test and real. Only a draft that passed
is the model's default path.
"""
from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "training"))  # distill.py: the unlabelled text the draft never read
from lawgov_nlp.metrics import macro_f1_gap  # noqa: E402
# the parity bounds (same labels on dev + real; largest macro-F1 gap on each of dev, test and real)
from lawgov_nlp.models.draft import PARITY_AGREEMENT as AGREEMENT, PARITY_MACRO_F1 as MACRO_F1  # noqa: E402
OPTIONS = {"default": {}, "draft": {"draft": True}, "full-bf16": {"draft": False}, "student": {"draft": True},
           "onnx": {"backend": "onnx"}, "int8": {"fast": True, "draft": False}}


def verdict(rows: list[dict]) -> dict:
    """The parity verdict of one variant's rows (one per split)."""
    by = {r["split"]: r for r in rows}
    agree = [r for s, r in by.items() if s in ("dev", "real")]
    n = sum(r["sentences"] for r in agree)
    same = {h: sum(r[f"same_{h}"] * r["sentences"] for r in agree) / n for h in ("dimension", "role")} if n else {}
    worst = max((macro_f1_gap(r, r, "ref_") for r in rows), default=1.0)
    passed = bool(same) and min(same.values()) >= AGREEMENT and worst <= MACRO_F1 and \
        {"dev", "test", "real"} <= set(by)
    return {"same_dev_real": same, "largest_macro_f1_gap": worst, "passed": passed,
            "bounds": {"agreement": AGREEMENT, "macro_f1": MACRO_F1}}


def held_out_rows(ref, taggers: dict, files: list[str]) -> list[dict]:
    """Per variant, its labels' agreement with the reference on unlabelled text (pseudo-documents of 40
    lines, as the draft's distillation reads such text), printed as a table."""
    from distill import as_documents, read_unlabelled

    from lawgov_nlp.metrics import label_agreement

    docs = as_documents(read_unlabelled(files, 40), "held")
    n = sum(map(len, docs))
    rdec = [x for dp, rp in ref.predict_documents(docs) for x in ref.decide(dp, rp)]
    names = ", ".join(Path(f).name for f in files)
    print(f"\nunlabelled text the draft never read ({names}: {n} sentences in {len(docs)} pseudo-documents); "
          "agreement with the float32 reference")
    print("| variant | runs as | same dimension | same role | re-read |")
    print("|---|---|---|---|---|")
    out = []
    for name, t in taggers.items():
        if hasattr(t, "clear_caches"):
            t.clear_caches()
        dec = [x for dp, rp in t.predict_documents(docs) for x in t.decide(dp, rp)]
        st = getattr(t, "draft_stats", {})
        reread = st["reread"] / st["sentences"] if st.get("sentences") else None
        same_dim, same_role = label_agreement(dec, rdec)
        out.append({"variant": name, "files": [Path(f).name for f in files], "sentences": n, "runs_as": t.path_name,
                    "same_dimension": same_dim, "same_role": same_role, "reread": reread})
        print(f"| {name} | {t.path_name} | {same_dim:.4f} | {same_role:.4f} | "
              f"{'-' if reread is None else format(reread, '.1%')} |", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="lawgov-zh-small")
    ap.add_argument("--splits", default="dev,test,real")
    ap.add_argument("--variants", default="draft,full-bf16,student")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--record", action="store_true", help="write the draft's verdict into the model's manifest")
    ap.add_argument("--unlabelled", nargs="*", default=None,
                    help="unlabelled text files for the held-out rows (default: those the draft was not distilled on; "
                         "none named: no such rows)")
    ap.add_argument("--notes", type=Path, default=ROOT / "training" / "model_card_notes.md",
                    help="notes appended to the rewritten card (with --record)")
    a = ap.parse_args()

    import lawgov_nlp as lg
    from lawgov_nlp.data.corpus import load_records
    from lawgov_nlp.metrics import label_agreement, tagging_metrics

    from lawgov_nlp.models.backends import machine_description

    machine = machine_description()  # bfloat16 kernels round differently on AMX and on AVX-512 BF16
    print(f"parity with the float32 reference, model {a.model}, {a.threads} threads, on {machine}")
    ref = lg.load(a.model, exact=True, threads=a.threads)
    taggers = {v: lg.load(a.model, threads=a.threads, **OPTIONS[v]) for v in a.variants.split(",")}
    if "student" in taggers:
        if taggers["student"].draft is None or taggers["student"].draft.net is None:
            raise SystemExit(f"{a.model}: has no draft encoder running on this machine")
        taggers["student"].draft.margin, taggers["student"].draft.check = 0.0, None  # the draft alone
    print("| split | variant | runs as | same dimension | same role | dim macro-F1 (ref) | role macro-F1 (ref) | re-read |")
    print("|---|---|---|---|---|---|---|---|")
    rows: dict[str, list[dict]] = {v: [] for v in taggers}
    for split in a.splits.split(","):
        recs = load_records(ROOT / "training" / "data" / f"{split}.jsonl", ref.scheme)
        rd, rr = ref.predict_records(recs)
        rdec = ref.decide(rd, rr)
        rm = tagging_metrics(recs, rdec, ref.scheme)
        for name, t in taggers.items():
            if hasattr(t, "clear_caches"):  # each split starts cold and is counted alone
                t.clear_caches()
            d, r = t.predict_records(recs)
            st = getattr(t, "draft_stats", {})
            reread = st["reread"] / st["sentences"] if st.get("sentences") else None
            dec = t.decide(d, r)
            m = tagging_metrics(recs, dec, t.scheme)
            same_dim, same_role = label_agreement(dec, rdec)
            row = {"split": split, "sentences": len(recs), "runs_as": t.path_name, "reread": reread,
                   "same_dimension": same_dim, "same_role": same_role,
                   "dimension_macro_f1": m["dimension_macro_f1"], "role_macro_f1": m["role_macro_f1"],
                   "ref_dimension_macro_f1": rm["dimension_macro_f1"], "ref_role_macro_f1": rm["role_macro_f1"]}
            rows[name].append(row)
            print(f"| {split} ({len(recs)}) | {name} | {t.path_name} | {row['same_dimension']:.4f} | "
                  f"{row['same_role']:.4f} | {m['dimension_macro_f1']:.4f} ({rm['dimension_macro_f1']:.4f}) | "
                  f"{m['role_macro_f1']:.4f} ({rm['role_macro_f1']:.4f}) | "
                  f"{'-' if reread is None else format(reread, '.1%')} |", flush=True)
    held = []
    if a.unlabelled is None:
        from distill import held_out_text

        a.unlabelled = held_out_text(ref.path)
    if a.unlabelled:
        held = held_out_rows(ref, taggers, a.unlabelled)
    for name, rs in rows.items():
        v = verdict(rs)
        same = ", ".join(f"{h} {x:.4f}" for h, x in v["same_dev_real"].items())
        print(f"{name}: same labels on dev + real: {same}; largest macro-F1 gap {v['largest_macro_f1_gap']:.4f}; "
              f"{'passes' if v['passed'] else 'does not pass'} parity")
    if a.record:
        if "draft" not in rows:
            raise SystemExit("--record needs the draft variant")
        t = lg.load(a.model, exact=True, threads=a.threads)
        if t.draft is None:
            raise SystemExit(f"{a.model}: has no draft encoder")
        t.draft.info["parity"] = {**verdict(rows["draft"]), "rows": rows["draft"],
                                  "held_out_text": [r for r in held if r["variant"] == "draft"],
                                  "command": "python training/benchmarks/parity.py --record",
                                  "measured": datetime.date.today().isoformat(), "machine": machine}
        t.save(t.path)
        from lawgov_nlp.models.card import write_card

        # the card again, with the hand-written notes (a save writes it without)
        write_card(t.path, a.notes.read_text(encoding="utf-8") if a.notes and a.notes.is_file() else "")
        print(f"recorded in {t.path}/lawgov_model.json (config.draft.info.parity) and its card")


if __name__ == "__main__":
    main()
