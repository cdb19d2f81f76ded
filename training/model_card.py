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
    from lawgov_nlp.models.card import write_card

    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("--notes", type=Path)
    a = ap.parse_args()
    print(f"wrote {write_card(a.model_dir, a.notes.read_text(encoding='utf-8') if a.notes else '')}")


if __name__ == "__main__":
    main()
