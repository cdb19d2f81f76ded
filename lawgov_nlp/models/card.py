"""The model card (``README.md``) a model directory gets at save time.

Every figure in it is read from the manifest and ``metrics.json`` (written while the model was
measured); hand-written notes can be appended (``training/model_card.py DIR --notes FILE``).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

_KIND_TEXT = {
    "encoder": "a fine-tuned encoder with two heads that reads each sentence alone, with its heading path "
               "as a second segment",
    "context": "a document-context tagger: each sentence is encoded once, then a small contextual layer reads "
               "the document's sentences (headings included, in order) before the two heads",
    "tfidf": "TF-IDF (jieba words + character n-grams, heading-path n-grams) with two logistic regressions",
    "keywords": "keyword rules from the label scheme's cue words (no training)",
}


def _table(m: dict, kind: str) -> list[str]:
    rows = ["| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for label, v in m[kind]["per_class"].items():
        rows.append(f"| {label} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |")
    return rows


def _is_result(m: Any) -> bool:
    return isinstance(m, dict) and "dimension_macro_f1" in m and "dimension" in m


def _speed(sp: Any) -> list[str]:
    """The speed table ``training/benchmarks/tag_speed.py --record`` stored in metrics.json."""
    if not isinstance(sp, dict) or not sp.get("rows"):
        return []
    out = ["## Speed", "",
           f"Measured by `{sp.get('command', 'training/benchmarks/tag_speed.py')}` on {sp.get('measured', '?')}: "
           f"{sp.get('what', 'end-to-end tagging')}, {sp.get('threads', '?')} threads, median of "
           f"{sp.get('repeat', '?')} timed passes after a warm-up. The machine: {sp.get('machine', '?')}.", "",
           "| variant | runs as | sentences/s (median) | min–max | peak RSS MB | × naive loop | re-read |",
           "|---|---|---|---|---|---|---|"]
    for r in sp["rows"]:
        ratio = f"{r['ratio']:.1f}×" if r.get("ratio") else "–"
        reread = f"{r['reread']:.1%}" if isinstance(r.get("reread"), (int, float)) else "–"
        out.append(f"| {r['variant']} | {r.get('run') or '–'} | {r['median_sps']:.0f} | "
                   f"{r['min_sps']:.0f}–{r['max_sps']:.0f} | {r['peak_rss_mb']:.0f} | {ratio} | {reread} |")
    return out + ["re-read: the share of sentences a draft path's full encoder read again.", ""]


def _draft(draft: Any) -> list[str]:
    """The draft encoder the manifest configures: how it was made and its parity verdict."""
    if not isinstance(draft, dict):
        return []
    info = draft.get("info") or {}
    enc = draft.get("encoder") or {}
    out = ["## Draft encoder", "",
           f"A {info.get('layers', enc.get('encoder_layers', '?'))}-layer student distilled from this model's encoder "
           f"(`training/distill.py`, {info.get('texts', '?')} texts, {info.get('epochs', '?')} + "
           f"{info.get('kd_epochs', '?')} epochs) reads every sentence first; the full encoder reads again the "
           f"sentences in doubt (margin {draft.get('margin')}"
           f"{', or where the TF-IDF second opinion disagrees' if draft.get('check') else ''}).", ""]
    par = info.get("parity")
    if isinstance(par, dict) and par.get("rows"):
        where = f", on {par['machine']}" if par.get("machine") else ""  # bfloat16 rounds by CPU
        out += [f"Parity with the float32 reference (`{par.get('command', 'parity.py --record')}`, "
                f"{par.get('measured', '?')}{where}): it **{'passes' if par.get('passed') else 'does not pass'}**, so it is "
                f"{'the default path' if par.get('passed') else 'not the default; `draft=True` / `--draft` runs it'}.", "",
                "| split | same dimension | same role | dimension macro-F1 (reference) | role macro-F1 (reference) | re-read |",
                "|---|---|---|---|---|---|"]
        for r in par["rows"]:
            rr = f"{r['reread']:.1%}" if isinstance(r.get("reread"), (int, float)) else "–"
            out.append(f"| {r['split']} ({r['sentences']}) | {r['same_dimension']:.4f} | {r['same_role']:.4f} | "
                       f"{r['dimension_macro_f1']:.4f} ({r['ref_dimension_macro_f1']:.4f}) | "
                       f"{r['role_macro_f1']:.4f} ({r['ref_role_macro_f1']:.4f}) | {rr} |")
        out.append("")
    else:
        out += ["Its parity has not been recorded (`training/benchmarks/parity.py --record`), so it is not the "
                "default; `draft=True` / `--draft` runs it.", ""]
    return out


def write_card(model_dir, notes: str = "") -> Path:
    """Rewrite ``model_dir/README.md`` from its manifest and metrics.json, with ``notes`` appended (a save
    writes the generated part alone; the shipped model's notes are training/model_card_notes.md)."""
    from .contract import read_manifest, read_metrics

    d = Path(model_dir)
    man, _ = read_manifest(d)
    (d / "README.md").write_text(model_card(man, read_metrics(d), name=d.name, notes=notes), encoding="utf-8")
    return d / "README.md"


def model_card(manifest, metrics: dict | None = None, name: str | None = None, notes: str = "") -> str:
    """Markdown card: what the model is, its labels and thresholds, and its measured results."""
    metrics = metrics or {}
    cfg = metrics.get("config") or {}
    out = [f"# {name or 'lawgov-nlp model'}", "",
           "Sentence tagger for Chinese local-government rule-of-law reports: the dimension of",
           "《市县法治政府建设示范指标体系》 a sentence reports on and its role (achievement / problem /",
           "plan / other), with `is_problem` from a tuned threshold.", "",
           f"- kind: `{manifest.kind}` — {_KIND_TEXT.get(manifest.kind, manifest.kind)}",
           f"- dimensions: {', '.join(f'`{d}`' for d in manifest.dimensions)}",
           f"- roles: {', '.join(f'`{r}`' for r in manifest.roles)}",
           f"- thresholds: problem {manifest.thresholds.get('problem')}, secondary {manifest.thresholds.get('secondary')}",
           f"- written by: {', '.join(f'{k} {v}' for k, v in sorted((manifest.versions or {}).items()))}",
           "- load: `lawgov_nlp.load(\"<this directory>\")`; tag: `lawgov tag REPORTS -o tags.csv --model <this directory>`"]
    if manifest.trained_from:
        out.append(f"- trained from: `{json.dumps(manifest.trained_from, ensure_ascii=False)}`")
    out.append("")
    warm = (manifest.trained_from or {}).get("warm_start")
    if isinstance(warm, dict):
        tf = manifest.trained_from
        data = tf.get("training_data") or {}
        out += ["## Trained from", "",
                f"Warm-started from `{warm.get('model')}` (a `{warm.get('kind')}` model, manifest fingerprint "
                f"`{warm.get('fingerprint')}`, written by lawgov-nlp {warm.get('lawgov_nlp')}): {warm.get('how')}.", "",
                f"Training data: {data.get('base_sentences')} sentences of `{data.get('base')}` and "
                f"{tf.get('added_sentences', 0)} new annotations ({tf.get('relabelled', 0)} relabel sentences already "
                f"there, {tf.get('new_sentences', 0)} new, {tf.get('new_documents', 0)} new documents): "
                f"{data.get('sentences')} sentences in `{data.get('merged')}`.", ""]
        files = tf.get("added") or []
        if files:
            out += ["| added file | sentences | documents | SHA-256 |", "|---|---|---|---|"]
            out += [f"| `{f.get('file')}` | {f.get('sentences')} | {f.get('documents')} | "
                    f"{(f.get('sha256') or '')[:16]} |" for f in files]
            out.append("")
    splits = [k for k, v in metrics.items() if _is_result(v)]
    if splits:
        files = {"dev": cfg.get("dev"), **(cfg.get("eval") or {}), **(cfg.get("loro_train") or {})}
        out += ["## Measured results", "",
                "Measured when the model was trained or evaluated (file `metrics.json` here): the model and its",
                "thresholds were selected on dev; the other splits were evaluated once, never tuned on.", "",
                "| split | sentences | dimension macro-F1 | weighted F1 | accuracy | role macro-F1 | plan F1 | problem P | problem R | problem F1 |",
                "|---|---|---|---|---|---|---|---|---|---|"]
        for s in splits:
            m = metrics[s]
            p = m["problem"]
            plan = (m["role"]["per_class"].get("plan") or {}).get("f1")
            label = f"{s} (leave-one-report-out)" if m.get("protocol") == "leave-one-document-out" else s
            out.append(f"| {label} | {m['dimension']['n']} | {m['dimension_macro_f1']:.3f} | {m['dimension']['weighted_f1']:.3f} | "
                       f"{m['dimension']['accuracy']:.3f} | {m['role_macro_f1']:.3f} | "
                       f"{'' if plan is None else f'{plan:.3f}'} | {p['precision']:.3f} | {p['recall']:.3f} | {p['f1']:.3f} |")
        named = [f"`{s}` = `{files[s]}`" for s in splits if files.get(s)]
        if named:
            out += ["", "Data of each split: " + "; ".join(named) + "."]
        out.append("")
        for s in splits:
            out += [f"### Per-class results: {s}", "", "Dimension:", "", *_table(metrics[s], "dimension"), "",
                    "Role:", "", *_table(metrics[s], "role"), ""]
    out += _draft((manifest.config or {}).get("draft"))
    out += _speed(metrics.get("speed"))
    hist = metrics.get("history")
    if cfg:
        out += ["## Training", "", "The configuration, as run (also in `metrics.json`):", "", "```json",
                json.dumps(cfg, ensure_ascii=False, indent=1), "```", ""]
        if metrics.get("train_seconds") is not None:
            out += [f"Training took {metrics['train_seconds'] / 60:.1f} minutes on {metrics.get('threads', '?')} CPU "
                    "threads, including dev evaluation after each epoch.", ""]
    if hist and all(isinstance(x, dict) and "epoch" in x for x in hist):
        keys = [k for k in hist[0] if k != "epoch"]
        out += ["| epoch | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
        for x in hist:
            out.append(f"| {x['epoch']} | " + " | ".join(f"{x[k]:.4f}" if isinstance(x.get(k), float) else str(x.get(k))
                                                       for k in keys) + " |")
        out.append("")
    if notes:
        out += [notes.strip(), ""]
    return "\n".join(out)
