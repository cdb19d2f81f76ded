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
