"""A plain (non-editable) install works from any directory: the wheel carries the shipped models,
the schemes and the report's static files, found through importlib.resources."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tests" / "data" / "samples" / "000_24fa52f216146201.txt"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    d = tmp_path_factory.mktemp("wheel")
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(d / "dist"),
                        str(ROOT)], capture_output=True, text=True, cwd=d)
    assert r.returncode == 0, r.stdout + r.stderr
    wheel = next((d / "dist").glob("lawgov_nlp-*.whl"))
    target = d / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                       capture_output=True, text=True, cwd=d)
    assert r.returncode == 0, r.stdout + r.stderr
    return wheel, target


def _run(target: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    code = ("import sys, lawgov_nlp; assert lawgov_nlp.__file__.startswith(sys.argv[1]), lawgov_nlp.__file__; "
            "from lawgov_nlp.cli import main; sys.argv = ['lawgov'] + sys.argv[2:]; main()")
    env = {**os.environ, "PYTHONPATH": str(target), "HF_HUB_OFFLINE": "1"}
    env.pop("LAWGOV_MODEL", None)
    return subprocess.run([sys.executable, "-c", code, str(target), *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=600)


def test_wheel_carries_models_schemes_and_static_files(installed):
    wheel, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    for must in ("lawgov_nlp/configs/scheme/zh-2021.yaml", "lawgov_nlp/shipped/lawgov-zh-small/lawgov_model.json",
                 "lawgov_nlp/shipped/baseline-tfidf/lawgov_model.json", "lawgov_nlp/report/static/report.css",
                 "lawgov_nlp/metric/lawgov_tagging.py"):
        assert must in names, must
    assert not any("/." in n for n in names), [n for n in names if "/." in n]  # no checkpoints or hidden files


def test_plain_install_tags_a_report_from_another_directory(installed, tmp_path):
    _, target = installed
    work = tmp_path / "elsewhere"
    work.mkdir()
    (work / "report.txt").write_bytes(SAMPLE.read_bytes())
    r = _run(target, work, "tag", "report.txt", "-o", "tags.csv", "--no-progress")
    assert r.returncode == 0, r.stderr
    import pandas as pd

    df = pd.read_csv(work / "tags.csv", encoding="utf-8-sig")
    assert len(df) == 93 and df["dimension"].notna().all()


def test_plain_install_finds_its_scheme_and_baselines(installed, tmp_path):
    _, target = installed
    data = tmp_path / "small.jsonl"
    rows = [json.loads(x) for x in (ROOT / "training" / "data" / "real.jsonl").read_text(encoding="utf-8").splitlines()[:30]]
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    r = _run(target, tmp_path, "scheme")
    assert r.returncode == 0 and "functions" in r.stdout, r.stderr
    assert str(target) in r.stdout  # the shipped scheme came from the installed package
    r = _run(target, tmp_path, "data", "validate", str(data))
    assert r.returncode == 0, r.stdout + r.stderr
    r = _run(target, tmp_path, "data", "stats", str(data))
    assert r.returncode == 0 and "total" in r.stdout, r.stderr
    r = _run(target, tmp_path, "evaluate", "keywords", str(data))
    assert r.returncode == 0 and "macro-F1" in r.stdout, r.stderr
    r = _run(target, tmp_path, "tag", str(data.with_suffix(".txt")), "-o", "x.csv", "--model", "nope-model")
    assert r.returncode != 0
    (tmp_path / "r.txt").write_bytes(SAMPLE.read_bytes())
    r = _run(target, tmp_path, "tag", "r.txt", "-o", "t.jsonl", "--model", "baseline-tfidf", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert len((tmp_path / "t.jsonl").read_text(encoding="utf-8").splitlines()) == 93
