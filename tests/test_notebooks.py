"""The quickstart notebook runs top to bottom (so it cannot rot).

It tags the sample reports with the shipped model, ``lawgov_nlp.load()``
(``models/lawgov-zh-small``, or ``$LAWGOV_MODEL``); without that model there is
nothing to run.
"""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def _model_config() -> Path:
    from lawgov_nlp.models.registry import resolve

    return Path(resolve(None)) / "lawgov_model.json"


@pytest.mark.skipif(not _model_config().is_file(),
                    reason=f"the shipped model is not built yet ({_model_config()} does not exist); "
                           "train it with `lawgov train configs/train/default.yaml`")
def test_quickstart_notebook_runs():
    nbformat = pytest.importorskip("nbformat", reason="notebook tests need the dev extras: pip install -e '.[dev]'")
    nbclient = pytest.importorskip("nbclient", reason="notebook tests need the dev extras: pip install -e '.[dev]'")
    nb = nbformat.read(NOTEBOOKS / "quickstart.ipynb", as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()  # raises CellExecutionError, naming the cell, when a cell fails
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(o.get("text", "") for o in outputs)
    assert "body sentences" in text and "report.html" in text


def test_notebooks_are_committed_without_outputs():
    import json

    for p in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = json.loads(p.read_text(encoding="utf-8"))
        for c in nb["cells"]:
            if c["cell_type"] == "code":
                assert not c.get("outputs") and c.get("execution_count") is None, f"{p.name}: clear the outputs"
