"""Write the model card (README.md) of a trained model directory from its metrics.json.

Usage: python training/model_card.py models/lawgov-zh-small [--notes NOTES.md]

Every figure in the card is read from ``metrics.json``, which ``lawgov train`` wrote
while measuring the model; ``--notes`` appends hand-written sections (choices, caveats).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def table(m: dict, kind: str) -> str:
    rows = ["| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for label, v in m[kind]["per_class"].items():
        rows.append(f"| {label} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |")
    return "\n".join(rows)


def summary_row(name: str, m: dict) -> str:
    p = m["problem"]
    return (f"| {name} | {m['dimension']['n']} | {m['dimension_macro_f1']:.3f} | {m['dimension']['weighted_f1']:.3f} | "
            f"{m['dimension']['accuracy']:.3f} | {m['role_macro_f1']:.3f} | {p['precision']:.3f} | {p['recall']:.3f} | "
            f"{p['f1']:.3f} |")


def render(model_dir: Path, notes: str = "") -> str:
    met = json.loads((model_dir / "metrics.json").read_text(encoding="utf-8"))
    cfg = met["config"]
    tcfg = json.loads((model_dir / "tagger_config.json").read_text(encoding="utf-8"))
    splits = ["dev", *cfg.get("eval", {})]
    data_files = {"dev": cfg["dev"], **cfg.get("eval", {})}
    out = [f"# {model_dir.name}", ""]
    out += ["Sentence tagger for Chinese local-government rule-of-law reports: the dimension of",
            "《市县法治政府建设示范指标体系》 a sentence reports on (10 classes) and its role",
            "(achievement / problem / plan / other), with `is_problem` from a tuned threshold.", ""]
    out += ["## Measured results", "",
            "Measured by `lawgov train` at the end of training (file `metrics.json` here), with the",
            "model selected on dev and thresholds tuned on dev. Test and real were evaluated once.", "",
            "| split | sentences | dimension macro-F1 | weighted F1 | accuracy | role macro-F1 | problem P | problem R | problem F1 |",
            "|---|---|---|---|---|---|---|---|---|"]
    out += [summary_row(s, met[s]) for s in splits if s in met]
    out += ["", "Data of each split: " + "; ".join(f"`{s}` = `{data_files[s]}`" for s in splits if s in data_files) + ".",
            "See `training/DATASHEET.md` for what the splits are (the `real` split is the three real",
            "sample reports, never trained on).", ""]
    for s in splits:
        if s in met:
            out += [f"### Per-class results: {s}", "", "Dimension:", "", table(met[s], "dimension"), "",
                    "Role:", "", table(met[s], "role"), ""]
    h = met["history"]
    out += ["## Training", "",
            f"- base: `{cfg['base']}`; LoRA: `{json.dumps(cfg['lora'], ensure_ascii=False)}`; "
            f"section context: {cfg['use_section']}; max length {cfg['max_length']}",
            f"- data: `{cfg['train']}`; dev `{cfg['dev']}`",
            f"- batch {cfg['batch_size']}, learning rate {cfg['learning_rate']} (adapters) / {cfg['head_learning_rate']} (heads), "
            f"{cfg['epochs']} epochs max, early stopping patience {cfg['early_stopping_patience']} on dev {cfg['select_metric']}, "
            f"class weighting {cfg['class_weighting']}, seed {cfg['seed']}",
            f"- parameters: {met['parameters']['total']:,} in the network, {met['parameters']['trained']:,} trained",
            f"- best epoch {met['best_epoch']} of {len(h)} run; thresholds: problem {tcfg['problem_threshold']}, "
            f"secondary {tcfg['secondary_threshold']}",
            f"- training time: {met['train_seconds'] / 60:.1f} minutes on {met['threads']} CPU threads "
            f"(this project's 2-core machine), including dev evaluation after each epoch", "",
            "| epoch | train loss | dev dimension macro-F1 | dev role macro-F1 | dev problem F1 | seconds |",
            "|---|---|---|---|---|---|"]
    out += [f"| {x['epoch']} | {x['train_loss']:.4f} | {x['dev_dimension_macro_f1']:.3f} | {x['dev_role_macro_f1']:.3f} | "
            f"{x['dev_problem_f1']:.3f} | {x['seconds']:.0f} |" for x in h]
    out += ["", "Retrain: `lawgov train configs/train/default.yaml` (config copied in `metrics.json`).", ""]
    if notes:
        out += [notes.strip(), ""]
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("--notes", type=Path)
    a = ap.parse_args()
    notes = a.notes.read_text(encoding="utf-8") if a.notes else ""
    (a.model_dir / "README.md").write_text(render(a.model_dir, notes), encoding="utf-8")
    print(f"wrote {a.model_dir / 'README.md'}")


if __name__ == "__main__":
    main()
