"""Rewrite the model card (README.md) of a model directory from its manifest and metrics.json,
with hand-written notes appended.

Usage: python training/model_card.py models/lawgov-zh-small [--notes training/model_card_notes.md]

Every figure in the generated part is read from ``metrics.json``, which training (or
``lawgov evaluate``) wrote while measuring the model; ``--notes`` appends the sections that
explain the choices and the caveats. Saving a model writes the generated part alone.
"""
from __future__ import annotations

import argparse
from pathlib import Path


def main() -> None:
    from lawgov_nlp.models.card import model_card
    from lawgov_nlp.models.contract import read_manifest, read_metrics

    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("--notes", type=Path)
    a = ap.parse_args()
    man, _ = read_manifest(a.model_dir)
    notes = a.notes.read_text(encoding="utf-8") if a.notes else ""
    (a.model_dir / "README.md").write_text(model_card(man, read_metrics(a.model_dir), name=a.model_dir.name, notes=notes),
                                           encoding="utf-8")
    print(f"wrote {a.model_dir / 'README.md'}")


if __name__ == "__main__":
    main()
