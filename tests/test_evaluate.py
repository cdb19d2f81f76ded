from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from lawgov_nlp.cli import app

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def _small(tmp_path, n=60):
    rows = (ROOT / "training" / "data" / "real.jsonl").read_text(encoding="utf-8").splitlines()[:n]
    p = tmp_path / "small.jsonl"
    p.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return p, [json.loads(r) for r in rows]


def test_evaluate_writes_metrics_confusion_and_errors(tmp_path):
    data, rows = _small(tmp_path)
    out = tmp_path / "eval"
    res = runner.invoke(app, ["evaluate", str(ROOT / "models" / "baseline-tfidf"), str(data), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "dimension: macro-F1" in res.stdout and "problem flag: precision" in res.stdout
    m = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert m["dimension"]["n"] == len(rows)
    per = m["dimension"]["per_class"]
    assert sum(v["support"] for v in per.values()) == len(rows)
    conf = m["confusion_dimension"]
    assert sum(map(sum, conf["data"])) == len(rows)
    correct = sum(conf["data"][i][i] for i in range(len(conf["data"])))
    assert abs(correct / len(rows) - m["dimension"]["accuracy"]) < 1e-9
    assert m["n_errors"]["dimension"] == len(rows) - correct
    for f in ("confusion_dimension.csv", "confusion_dimension.png", "confusion_role.csv", "confusion_role.png", "errors.csv"):
        assert (out / f).stat().st_size > 0, f
    assert (out / "confusion_dimension.png").read_bytes().startswith(b"\x89PNG")


def test_evaluate_keywords_and_bad_data(tmp_path):
    data, _ = _small(tmp_path, 20)
    res = runner.invoke(app, ["evaluate", "keywords", str(data)])
    assert res.exit_code == 0 and "20 sentences" in res.stdout
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"doc_id": "d", "sent_id": "1", "text": "正文。", "dimension": "nope", "role": "plan"}\n', encoding="utf-8")
    res = runner.invoke(app, ["evaluate", "keywords", str(bad)])
    assert res.exit_code == 1 and "unknown label 'nope'" in res.stderr


def test_tune_thresholds_stores_them_in_the_model_dir(tmp_path):
    model = tmp_path / "tfidf"
    shutil.copytree(ROOT / "models" / "baseline-tfidf", model)
    meta = json.loads((model / "lawgov_model.json").read_text(encoding="utf-8"))
    meta["thresholds"]["problem"] = 0.9
    (model / "lawgov_model.json").write_text(json.dumps(meta), encoding="utf-8")
    data, _ = _small(tmp_path, 120)
    res = runner.invoke(app, ["tune-thresholds", str(model), str(data)])
    assert res.exit_code == 0, res.output
    import lawgov_nlp as lg

    tuned = lg.load(str(model)).thresholds.problem
    assert tuned != 0.9 and f"problem threshold {tuned}" in res.stdout
