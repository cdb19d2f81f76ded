"""The Ray engine on a real local Ray runtime (no mocks): the same rows as the local engine for every
sentence of the sample reports, bad files named, and a run killed with SIGKILL and resumed loses and
duplicates nothing. One runtime (loopback only, its own temporary folder, no dashboard) serves the
in-process tests and the killed run, which joins it with ``--address`` (so that path is tested too) and
is killed with its whole session; the resumed run starts its own runtime, as ``lawgov tag --engine ray``
does without ``--address``, in a subprocess whose processes are all killed by pid. Ray's start-up is
paid twice in this module, not three times."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lawgov_nlp.cli import app

ray = pytest.importorskip("ray", reason='the Ray engine needs the extra: pip install -e ".[ray]"')

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()
LABELS = ("dimension", "secondary", "role", "is_problem", "text", "start", "end", "section", "is_heading")


def _rows(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def reports(tmp_path_factory, samples) -> Path:
    """The three sample reports, an empty file and a binary one."""
    f = tmp_path_factory.mktemp("reports")
    for p in samples:
        shutil.copy(p, f / p.name)
    (f / "empty.txt").write_bytes(b"")
    (f / "noise.txt").write_bytes(bytes(range(256)) * 12)
    return f


@pytest.fixture(scope="module")
def local_rows(reports, tmp_path_factory) -> list[dict]:
    out = tmp_path_factory.mktemp("local") / "tags.jsonl"
    res = runner.invoke(app, ["tag", str(reports), "-o", str(out), "--no-progress"])
    assert res.exit_code == 1, res.stderr
    return _rows(out)


@pytest.fixture(scope="module")
def runtime():
    """One local Ray runtime for this module: 127.0.0.1 only, a short temporary folder (Ray's socket
    paths must stay short), three logical CPUs, no dashboard; shut down and removed afterwards."""
    from lawgov_nlp.engines.ray_data import ray_runtime

    tmp = tempfile.mkdtemp(prefix="lgr", dir="/tmp")
    try:
        with ray_runtime(num_cpus=3, temp_dir=tmp) as r:
            yield r
        assert not ray.is_initialized()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _by_sentence(rows):
    return {(Path(r["path"]).name, r["index"]): r for r in rows}


def test_ray_engine_gives_the_local_engines_rows_and_names_bad_files(runtime, reports, local_rows, tmp_path):
    out = tmp_path / "tags.jsonl"
    res = runner.invoke(app, ["tag", str(reports), "-o", str(out), "--engine", "ray", "--no-progress"])
    assert res.exit_code == 1, res.stderr  # two inputs failed, the others are done
    assert "empty.txt: the file is empty" in res.stderr and "noise.txt: binary data" in res.stderr
    rows = _rows(out)
    assert len(rows) == len(local_rows) == 93 + 99 + 116
    assert list(rows[0]) == list(local_rows[0])  # the same columns, in the same order
    ray_s, local_s = _by_sentence(rows), _by_sentence(local_rows)
    assert ray_s.keys() == local_s.keys()
    for k, r in ray_s.items():
        assert {c: r[c] for c in LABELS} == {c: local_s[k][c] for c in LABELS}, k
    for path in {r["path"] for r in rows}:  # each document's rows in order
        idx = [r["index"] for r in rows if r["path"] == path]
        assert idx == list(range(len(idx)))
    errors = _rows(tmp_path / "tags.errors.jsonl")
    assert {Path(e["path"]).name for e in errors} == {"empty.txt", "noise.txt"} and all(e["reason"] for e in errors)
    summary = _rows(tmp_path / "tags.summary.jsonl")
    assert sorted(s["n_sentences"] for s in summary) == [93, 99, 116]
    assert all(sum(s["counts"].values()) == s["n_body"] for s in summary)


def test_library_entry_points_on_a_ray_dataset(runtime, reports, local_rows, tmp_path):
    import lawgov_nlp.distributed as ld

    paths = sorted(str(p) for p in reports.glob("0*.txt"))
    ds = ray.data.from_items([{"path": p} for p in paths + [str(reports / "empty.txt")]])
    rows = ld.tag_dataset(ds, docs_per_batch=2).take_all()
    local_s = _by_sentence(local_rows)
    assert len(rows) == 93 + 99 + 116  # the empty file gives no rows
    assert all({c: r[c] for c in LABELS} == {c: local_s[(Path(r["path"]).name, r["index"])][c] for c in LABELS}
               for r in rows)
    # the callable class on file bytes, as ray.data.read_binary_files gives them
    raw = ray.data.read_binary_files(paths[:1], include_paths=True)
    got = raw.map_batches(ld.TagBatch, batch_format="pandas", compute=ray.data.ActorPoolStrategy(size=1),
                          num_cpus=1).take_all()
    assert [r["dimension"] for r in got] == [r["dimension"] for r in local_rows if r["path"] == paths[0]]


def test_load_options_reach_the_actors(runtime, reports, tmp_path):
    """``--draft`` (and ``--exact``, ``--backend``) load the actors' model as they load the local one: the Ray
    rows' probabilities are the local draft path's, not the default path's (the draft's vectors differ from the
    full encoder's on the sentences it does not hand on), and a model without a draft is refused before Ray runs."""
    import numpy as np

    one = tmp_path / "one"
    one.mkdir()
    shutil.copy(sorted(reports.glob("0*.txt"))[0], one)
    got = {}
    for name, args in (("ray", ["--engine", "ray", "--draft"]), ("draft", ["--draft"]), ("default", ["--no-draft"])):
        out = tmp_path / f"{name}.jsonl"
        res = runner.invoke(app, ["tag", str(one), "-o", str(out), "--no-progress", *args])
        assert res.exit_code == 0, res.stderr
        got[name] = np.array([[v for k, v in r.items() if k.startswith("p_")] for r in _rows(out)])
    assert got["ray"].shape == got["draft"].shape == got["default"].shape
    to_draft = np.abs(got["ray"] - got["draft"]).max(1)
    to_default = np.abs(got["ray"] - got["default"]).max(1)
    # the same path gives the same probabilities (up to batches of another make-up in bfloat16); the default
    # path, whose full encoder reads every sentence, differs on most sentences, by far more on some
    assert np.median(to_draft) * 2 < np.median(to_default), (np.median(to_draft), np.median(to_default))
    assert to_draft.mean() * 2 < to_default.mean(), (to_draft.mean(), to_default.mean())
    res = runner.invoke(app, ["tag", str(one), "-o", str(tmp_path / "x.jsonl"), "--no-progress", "--engine", "ray",
                              "--draft", "--model", "baseline-tfidf"])
    assert res.exit_code == 2 and "has no draft encoder for --draft" in res.stderr, res.stderr
    assert not (tmp_path / "x.jsonl").exists()


def _own_processes(marker: str) -> list[int]:
    """Pids of processes whose command line holds ``marker`` (the killed run's temporary folder)."""
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if marker.encode() in (d / "cmdline").read_bytes():
                    pids.append(int(d.name))
            except OSError:
                continue
    return pids


def test_a_killed_run_resumed_loses_and_duplicates_nothing(runtime, reports, local_rows, tmp_path, samples):
    n_docs = 4
    many = tmp_path / "many"
    many.mkdir()
    for i in range(n_docs):
        shutil.copy(samples[i % 3], many / f"r{i}_{samples[i % 3].name}")
    (many / "empty.txt").write_bytes(b"")
    out = tmp_path / "out" / "tags.jsonl"
    tmp = tempfile.mkdtemp(prefix="lgk", dir="/tmp")  # the run's Ray files (and so its processes) are marked by it
    env = {**os.environ, "TMPDIR": tmp, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "lawgov_nlp.cli", "tag", str(many), "-o", str(out), "--engine", "ray",
           "--docs-per-batch", "1", "--no-progress"]
    try:
        address = ray.get_runtime_context().gcs_address  # the killed run joins this module's runtime
        proc = subprocess.Popen(cmd + ["--address", address], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.time() + 240
        while time.time() < deadline and proc.poll() is None:
            if out.exists() and out.read_text(encoding="utf-8").count("\n") >= 1:
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read().decode()
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and everything in its session, at once
        proc.wait(30)
        proc.stderr.close()
        for pid in _own_processes(tmp):  # anything of that run's Ray that left the session
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        first = _rows(out) if out.stat().st_size else []
        assert len(first) < sum((93, 99, 116)[i % 3] for i in range(n_docs)), "the run was meant to be killed part way"
        res = subprocess.run(cmd + ["--resume"], env=env, capture_output=True, text=True, timeout=300)  # own runtime
        assert res.returncode == 1, res.stderr  # empty.txt failed again; every other file is done
        assert "empty.txt: the file is empty" in res.stderr
    finally:
        for pid in _own_processes(tmp):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(tmp, ignore_errors=True)
    rows = _rows(out)
    keys = Counter((r["path"], r["index"]) for r in rows)
    assert max(keys.values()) == 1  # nothing twice
    per_doc = Counter(Path(r["path"]).name for r in rows)
    want = {p.name: n for p, n in zip(samples, (93, 99, 116))}
    assert per_doc == {f"r{i}_{samples[i % 3].name}": want[samples[i % 3].name] for i in range(n_docs)}  # nothing lost
    local_s = _by_sentence(local_rows)
    for r in rows:  # and the labels are still the local engine's
        sample = Path(r["path"]).name.split("_", 1)[1]
        assert r["dimension"] == local_s[(sample, r["index"])]["dimension"]
    summary = _rows(out.with_name("tags.summary.jsonl"))
    assert sorted(Path(s["path"]).name for s in summary) == sorted(per_doc)  # one summary per document


def test_without_ray_one_line_says_how_to_install_it(tmp_path, samples):
    code = ("import sys; sys.modules['ray'] = None; import lawgov_nlp.distributed; "
            "from lawgov_nlp.cli import main; sys.argv = ['lawgov'] + sys.argv[1:]; main()")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    res = subprocess.run([sys.executable, "-c", code, "tag", str(samples[0]), "-o", str(tmp_path / "t.jsonl"),
                          "--engine", "ray"], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == ['error: the Ray engine needs Ray, which is not installed: '
                                               'pip install "lawgov-nlp[ray]"']
    assert not (tmp_path / "t.jsonl").exists()


def test_the_local_runtime_listens_on_loopback_only(runtime):
    """Ray swaps 127.0.0.1 for the machine's address and listens on every interface unless told
    otherwise; every socket this process and the Ray processes it started listen on is loopback."""
    import psutil

    me = psutil.Process()
    listening = []
    for proc in [me, *me.children(recursive=True)]:
        try:
            conns = proc.net_connections(kind="inet")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        listening += [(proc.name(), c.laddr.ip, c.laddr.port) for c in conns if c.status == psutil.CONN_LISTEN]
    assert listening, "found no Ray server sockets to check"
    loopback = ("127.0.0.1", "::ffff:127.0.0.1", "::1")
    assert [s for s in listening if s[1] not in loopback] == []
    assert ray.get_runtime_context().gcs_address.startswith("127.0.0.1:")
