from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
SAMPLES = sorted((DATA / "samples").glob("*.txt"))


@pytest.fixture(scope="session")
def samples() -> list[Path]:
    assert len(SAMPLES) == 3, "the three sample reports are part of the repository"
    return SAMPLES


@pytest.fixture(scope="session")
def sample_texts(samples) -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8") for p in samples}
import sys, os; sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, samples) -> Path:
    """A tiny tagger (2-layer BERT, character vocabulary) trained for one epoch on 48 corpus sentences."""
    import json

    from lawgov_nlp.train import TrainConfig, train
    from tiny_model import build_tiny_base, tiny_records

    d = tmp_path_factory.mktemp("tinytagger")
    tr = tiny_records(DATA.parent.parent / "training" / "data" / "train.jsonl", 48)
    (d / "train.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in tr), encoding="utf-8")
    texts = [r["text"] for r in tr] + [p.read_text(encoding="utf-8") for p in samples]
    base = build_tiny_base(d / "base", texts)
    cfg = TrainConfig.from_dict(dict(base=str(base), train=str(d / "train.jsonl"), dev=str(d / "train.jsonl"),
                                     output_dir=str(d / "model"), epochs=1, batch_size=16, max_length=64,
                                     section_max_tokens=16, threads=1,
                                     lora={"r": 2, "alpha": 4, "dropout": 0.0, "target_modules": ["query", "value"]}))
    train(cfg, progress=False, log=lambda m: None)
    return d / "model"
