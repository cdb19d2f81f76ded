from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from lawgov_nlp.cli import app

runner = CliRunner()


def test_split_folder_with_bad_files(tmp_path, samples):
    folder = tmp_path / "reports"
    folder.mkdir()
    for p in samples:
        (folder / p.name).write_bytes(p.read_bytes())
    (folder / "empty.txt").write_bytes(b"")
    (folder / "image.pdf").write_bytes(b"%PDF-1.4 garbage that is not a pdf")
    out = tmp_path / "out.jsonl"
    res = runner.invoke(app, ["split", str(folder), str(tmp_path / "missing.txt"), "-o", str(out)])
    assert res.exit_code == 1
    err = res.stderr
    assert "empty.txt: the file is empty" in err
    assert "image.pdf: not a readable PDF" in err
    assert "missing.txt: no such file or folder" in err
    assert "3 of 6 input(s) failed" in err
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 93 + 99 + 116
    assert {r["doc"].rsplit("/", 1)[-1] for r in rows} == {p.name for p in samples}
    r = rows[2]
    assert r["text"] == "一、工作开展情况" and r["is_heading"] and r["heading_level"] == 1
    src = samples[0].read_text(encoding="utf-8")
    assert all(src[x["start"]:x["end"]] == x["text"] for x in rows if x["doc"].endswith(samples[0].name))


def test_split_formats_and_success_exit(samples, tmp_path):
    res = runner.invoke(app, ["split", str(samples[2]), "--format", "text"])
    assert res.exit_code == 0
    lines = res.stdout.splitlines()
    assert len(lines) == 116
    assert lines[6].startswith("H1 [")
    assert "存在问题1 | 存在问题1:" in lines[7]
    out = tmp_path / "s.csv"
    res = runner.invoke(app, ["split", str(samples[0]), "-f", "csv", "-o", str(out), "--simplified"])
    assert res.exit_code == 0
    import csv
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == 93 and rows[4]["section"].startswith("一、工作开展情况 / (一)")
    assert rows[0]["simplified"] == rows[0]["text"]


def test_split_glob_pattern(samples):
    pattern = str(samples[0].parent / "00[04]_*.txt")
    res = runner.invoke(app, ["split", pattern, "-f", "text"])
    assert res.exit_code == 0
    assert len(res.stdout.splitlines()) == 93 + 116


def test_console_script_help_is_fast_and_light():
    code = ("import sys, time; t=time.time(); import lawgov_nlp.cli, lawgov_nlp;"
            "print(int('torch' in sys.modules), int('transformers' in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["0", "0"]


def test_scheme_command(tmp_path):
    res = runner.invoke(app, ["scheme"])
    assert res.exit_code == 0 and "emergency" in res.stdout and "突发事件应对" in res.stdout
    bad = tmp_path / "s.yaml"
    bad.write_text("name: x\ndimensions: []\nroles: []\n", encoding="utf-8")
    res = runner.invoke(app, ["scheme", str(bad)])
    assert res.exit_code == 1 and str(bad) in res.stderr
