"""End to end against a real Label Studio: the annotate-and-retrain loop of the README.

Label Studio pins its own dependencies, so it lives in its own virtualenv; this test finds its
``label-studio`` executable through ``LAWGOV_LABEL_STUDIO`` or the default venv that
``training/labelstudio_e2e.sh`` creates, and is skipped when there is none.

Both servers run on loopback (127.0.0.1) on free ports: Label Studio with SQLite in a temporary
data folder, and ``lawgov serve labelstudio`` (with an API key) serving a tiny model built here.
Through Label Studio's REST API the test creates a project with ``lawgov data labelstudio-config``,
imports the tasks of ``lawgov data suggest``, connects the backend (Basic auth, the key as the
password), has Label Studio fetch predictions from it, posts annotations (Label Studio's webhook
brings them to the backend, which retrains into v2 after them and into v3 on Start Training),
exports them, converts them back with ``lawgov data convert --from labelstudio`` and trains a tiny
model with ``lawgov train CONFIG --from MODEL --add``. Both servers are stopped by PID at
the end, whatever happened.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
DEFAULT_VENV = Path(os.environ.get("LAWGOV_LS_VENV") or
                    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lawgov-nlp" / "label-studio-venv")


def _label_studio_exe() -> Path | None:
    env = os.environ.get("LAWGOV_LABEL_STUDIO")
    exe = Path(env) if env else DEFAULT_VENV / "bin" / "label-studio"
    return exe if exe.is_file() and os.access(exe, os.X_OK) else None


LS_EXE = _label_studio_exe()
pytestmark = pytest.mark.skipif(
    LS_EXE is None,
    reason=f"no Label Studio executable: set LAWGOV_LABEL_STUDIO to a label-studio executable or run "
           f"training/labelstudio_e2e.sh (it creates {DEFAULT_VENV})")

TOKEN = "lawgov-e2e-token-0123456789"
N_TASKS = 6  # tasks suggested, annotated, and the backend's --retrain-after
BACKEND_KEY = "lawgov-e2e-backend-key"  # the backend's --api-key (LAWGOV_API_KEY)  # a legacy API token given to the user Label Studio creates


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """``lawgov ARGS`` from this checkout (not whatever ``lawgov`` is installed)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-m", "lawgov_nlp", *args], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"lawgov {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    return r


class Server:
    """A subprocess in its own session (so it and its children stop together, by its PID)."""

    def __init__(self, name: str, cmd: list[str], log: Path, env: dict | None = None, cwd: Path | None = None):
        self.name, self.log = name, log
        self._fh = open(log, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self._fh, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                     start_new_session=True)

    def wait_http(self, url: str, timeout: float, headers: dict | None = None) -> float:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=5) as r:
                    if r.status == 200:
                        return time.monotonic() - t0
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.5)
        raise AssertionError(f"{self.name} did not answer {url} within {timeout:.0f} s:\n{self.tail()}")

    def tail(self, n: int = 4000) -> str:
        self._fh.flush()
        return self.log.read_bytes()[-n:].decode("utf-8", "replace")

    def _group_alive(self) -> bool:
        try:
            os.killpg(self.proc.pid, 0)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:
            return True

    def stop(self) -> None:
        """SIGTERM to the process group led by our PID, SIGKILL after 20 s. The whole group: Label
        Studio 1.23 serves from a child process that outlives its parent."""
        for sig, grace in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 10.0)):
            if not self._group_alive():
                break
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            t0 = time.monotonic()
            while time.monotonic() - t0 < grace and self._group_alive():
                self.proc.poll()  # reap the leader so the group can empty
                time.sleep(0.2)
        self.proc.poll()
        self._fh.close()


class LabelStudio:
    """The few REST calls the loop needs (``Authorization: Token``, the legacy token)."""

    def __init__(self, url: str, token: str):
        self.url, self.token = url.rstrip("/"), token

    def call(self, method: str, path: str, body=None, expect: tuple[int, ...] = (200, 201)):
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Authorization": f"Token {self.token}",
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=300) as r:
                status, text = r.status, r.read().decode("utf-8")
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode("utf-8", "replace")
        assert status in expect, f"{method} {path} -> {status}: {text[:2000]}"
        return json.loads(text) if text.strip() else None


def _get_json(url: str, key: str | None = BACKEND_KEY):
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read().decode("utf-8"))


def _labels(ls_result: list[dict]) -> dict[str, list[str]]:
    return {r["from_name"]: r["value"]["choices"] for r in ls_result if r.get("type") == "choices"}


def _snapshot(d: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(d)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(d.rglob("*")) if p.is_file()}


def _write_yaml(path: Path, cfg: dict) -> None:
    import yaml

    path.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_annotate_and_retrain_through_label_studio(tmp_path, tiny_model, samples):
    from lawgov_nlp.scheme import load_scheme

    scheme = load_scheme()
    dims, roles = [d.code for d in scheme.dimensions], [r.code for r in scheme.roles]
    times: dict[str, float] = {}
    t_all = time.monotonic()
    servers: list[Server] = []
    before = _snapshot(tiny_model)  # shared with other tests: the loop must leave it as it is
    try:
        # ---- Label Studio: loopback, SQLite in a temporary folder, one user with a legacy token
        ls_port, be_port = _free_port(), _free_port()
        ls_env = dict(os.environ,
                      LABEL_STUDIO_BASE_DATA_DIR=str(tmp_path / "ls"), DJANGO_DB="sqlite",
                      DATABASE_NAME=str(tmp_path / "ls" / "label_studio.sqlite3"),
                      # the backend runs on 127.0.0.1: allow Label Studio to call it and its webhook
                      ML_BLOCK_LOCAL_IP="false", SSRF_PROTECTION_ENABLED="false",
                      # offline and quiet: no PyPI version check, no analytics, no Sentry error reports
                      LATEST_VERSION_CHECK="false", COLLECT_ANALYTICS="false", SENTRY_DSN="", FRONTEND_SENTRY_DSN="",
                      HOME=str(tmp_path / "home"))
        for k in ("USERNAME", "PASSWORD", "USER_TOKEN", "HOST", "PORT"):  # Label Studio reads these too
            ls_env.pop(k, None)
            ls_env.pop("LABEL_STUDIO_" + k, None)
        ls = Server("Label Studio", [str(LS_EXE), "start", "--no-browser", "--internal-host", "127.0.0.1",
                                     "--port", str(ls_port), "--data-dir", str(tmp_path / "ls"),
                                     "--username", "e2e@example.com", "--password", "e2e-password-123",
                                     "--user-token", TOKEN, "--enable-legacy-api-token"],
                    tmp_path / "label-studio.log", env=ls_env, cwd=tmp_path)
        servers.append(ls)

        # ---- the backend under test, on loopback, serving the tiny model
        be_env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        be_env["LAWGOV_API_KEY"] = BACKEND_KEY  # every route of the backend needs it
        be = Server("lawgov serve labelstudio",
                    [sys.executable, "-m", "lawgov_nlp", "serve", "labelstudio", "--model", str(tiny_model),
                     "--host", "127.0.0.1", "--port", str(be_port), "--models-dir", str(tmp_path / "backend"),
                     "--retrain-after", str(N_TASKS)],
                    tmp_path / "backend.log", env=be_env, cwd=ROOT)
        servers.append(be)
        be_url = f"http://127.0.0.1:{be_port}"
        times["backend start"] = be.wait_http(be_url + "/health", 180, {"Authorization": f"Bearer {BACKEND_KEY}"})
        with pytest.raises(urllib.error.HTTPError) as e:
            _get_json(be_url + "/health", key=None)
        assert e.value.code == 401
        times["Label Studio start"] = ls.wait_http(f"http://127.0.0.1:{ls_port}/health", 300)
        api = LabelStudio(f"http://127.0.0.1:{ls_port}", TOKEN)
        assert api.call("GET", "/api/version")["release"]

        # ---- a project with the project's labeling config
        config = _cli("data", "labelstudio-config").stdout
        project = api.call("POST", "/api/projects", {"title": "lawgov e2e", "label_config": config})
        pid = project["id"]
        assert '<Choices name="dimension"' in api.call("GET", f"/api/projects/{pid}")["label_config"]

        # ---- tasks chosen by suggest, with its predictions, imported into the project
        n = N_TASKS
        tasks_file = tmp_path / "tasks.json"
        _cli("data", "suggest", "--model", str(tiny_model), *map(str, samples), "-n", str(n), "-o", str(tasks_file))
        suggested = json.loads(tasks_file.read_text(encoding="utf-8"))
        assert len(suggested) == n
        imported = api.call("POST", f"/api/projects/{pid}/import", suggested)
        assert imported["task_count"] == n, imported
        tasks = api.call("GET", f"/api/tasks?project={pid}&page_size=100&fields=all")["tasks"]
        assert sorted(t["data"]["text"] for t in tasks) == sorted(t["data"]["text"] for t in suggested)
        for t in tasks:  # suggest's pre-annotations arrived as predictions with the scheme's labels
            assert t["predictions"], t
            lab = _labels(t["predictions"][0]["result"])
            assert lab["dimension"][0] in dims and lab["role"][0] in roles

        # ---- connect the backend: Label Studio checks it with /health and /setup. Its ML connection
        # sends HTTP Basic auth only, which the backend takes with the key as the password.
        refused = api.call("POST", "/api/ml", {"url": be_url, "project": pid, "title": "lawgov"}, expect=(400,))
        assert "authentication" in json.dumps(refused).lower(), refused
        ml = api.call("POST", "/api/ml", {"url": be_url, "project": pid, "title": "lawgov", "auth_method": "BASIC_AUTH",
                                          "basic_auth_user": "labelstudio", "basic_auth_pass": BACKEND_KEY})
        ml = api.call("GET", f"/api/ml/{ml['id']}")
        assert ml["state"] == "CO", f"backend not connected: {ml}"  # CO = connected
        # Label Studio registered the backend's /webhook for the project, without credentials: add them
        hooks = [w for w in api.call("GET", f"/api/webhooks?project={pid}") if w["url"] == be_url + "/webhook"]
        assert len(hooks) == 1, hooks
        api.call("PATCH", f"/api/webhooks/{hooks[0]['id']}", {"headers": {"Authorization": f"Bearer {BACKEND_KEY}"}})

        first_version = _get_json(be_url + "/health")["model_version"]

        # ---- predictions fetched by Label Studio from the backend (after dropping suggest's)
        sel = {"selectedItems": {"all": True, "excluded": []}}
        api.call("POST", f"/api/dm/actions?id=delete_tasks_predictions&project={pid}", sel)
        assert all(not t["predictions"] for t in
                   api.call("GET", f"/api/tasks?project={pid}&page_size=100&fields=all")["tasks"])
        t0 = time.monotonic()
        api.call("POST", f"/api/dm/actions?id=retrieve_tasks_predictions&project={pid}", sel)
        times["predictions through Label Studio"] = time.monotonic() - t0
        tasks = api.call("GET", f"/api/tasks?project={pid}&page_size=100&fields=all")["tasks"]
        assert len(tasks) == n
        for t in tasks:
            assert len(t["predictions"]) == 1, f"no prediction from the backend for task {t['id']}:\n{be.tail()}"
            p = t["predictions"][0]
            lab = _labels(p["result"])
            assert lab["dimension"][0] in dims and lab["role"][0] in roles, p
            assert p["model_version"] == first_version, (p["model_version"], first_version)
            assert 0.0 <= float(p["score"]) <= 1.0, p

        # ---- annotations posted as a person would (different labels from the predictions where possible)
        posted: dict[str, tuple[str, str]] = {}
        for i, t in enumerate(sorted(tasks, key=lambda t: t["id"])):
            pred = _labels(t["predictions"][0]["result"])
            dim = next(d for d in dims[i % len(dims):] + dims if d != pred["dimension"][0])
            role = roles[i % len(roles)]
            result = [{"from_name": "dimension", "to_name": "text", "type": "choices", "value": {"choices": [dim]}},
                      {"from_name": "role", "to_name": "text", "type": "choices", "value": {"choices": [role]}}]
            api.call("POST", f"/api/tasks/{t['id']}/annotations", {"result": result, "ground_truth": False})
            posted[t["data"]["text"]] = (dim, role)

        # ---- Label Studio's webhook brought each annotation to the backend, which retrained after n
        t0 = time.monotonic()
        while time.monotonic() - t0 < 300:
            h = _get_json(be_url + "/health")
            if h["annotations"] >= n and not h["training"] and h.get("last_training"):
                break
            time.sleep(1)
        times["backend retraining after the webhooks"] = time.monotonic() - t0
        assert h["annotations"] == n, f"the backend got {h['annotations']} of {n} annotations:\n{be.tail()}"
        stored = [json.loads(x) for x in (tmp_path / "backend" / "annotations.jsonl").read_text(
            encoding="utf-8").splitlines() if x.strip()]
        assert {e["task"]["data"]["text"] for e in stored} == set(posted)
        assert h["last_training"].get("status") not in (None, "failed"), h["last_training"]
        assert h["model_version"] != first_version and Path(h["model_dir"]).name == "v2", h
        # the retrained model's predictions, again through Label Studio
        api.call("POST", f"/api/dm/actions?id=retrieve_tasks_predictions&project={pid}", sel)
        versions = {p["model_version"] for t in api.call("GET", f"/api/tasks?project={pid}&page_size=100&fields=all")["tasks"]
                    for p in t["predictions"]}
        assert h["model_version"] in versions, (versions, h)
        # "Start Training" in Label Studio (its API: /api/ml/{id}/train) sends START_TRAINING: one more version
        api.call("POST", f"/api/ml/{ml['id']}/train", {})
        t0 = time.monotonic()
        while time.monotonic() - t0 < 300:
            h = _get_json(be_url + "/health")
            if h["trainings_started"] >= 2 and not h["training"]:
                break
            time.sleep(1)
        assert Path(h["model_dir"]).name == "v3" and h["last_training"].get("status") != "failed", h

        # ---- export, convert back, and check the labels round-trip
        export = api.call("GET", f"/api/projects/{pid}/export?exportType=JSON&download_all_tasks=true")
        assert len(export) == n and all(t["annotations"] for t in export)
        export_file = tmp_path / "export.json"
        export_file.write_text(json.dumps(export, ensure_ascii=False), encoding="utf-8")
        new_jsonl = tmp_path / "annotated.jsonl"
        _cli("data", "convert", str(export_file), str(new_jsonl), "--from", "labelstudio", "--to", "jsonl")
        back = [json.loads(x) for x in new_jsonl.read_text(encoding="utf-8").splitlines() if x.strip()]
        assert {r["text"]: (r["dimension"], r["role"]) for r in back} == posted
        assert all(r.get("doc_id") and r.get("sent_id") for r in back), back[0]

        # ---- retrain from the served model with the converted annotations merged in
        cfg_file = tmp_path / "retrain.yaml"
        _write_yaml(cfg_file, dict(
            base=str(tiny_model.parent / "base"), train=str(tiny_model.parent / "train.jsonl"),
            dev=str(tiny_model.parent / "train.jsonl"), output_dir=str(tmp_path / "unused"),
            epochs=1, batch_size=16, max_length=64, section_max_tokens=16, threads=1,
            lora={"r": 2, "alpha": 4, "dropout": 0.0, "target_modules": ["query", "value"]}))
        new_model = tmp_path / "model-v2"
        t0 = time.monotonic()
        _cli("train", str(cfg_file), "--from", str(tiny_model), "--add", str(new_jsonl), "-o", str(new_model), "-q")
        times["lawgov train --from"] = time.monotonic() - t0
        from lawgov_nlp.train.warm import model_fingerprint

        manifest = json.loads((new_model / "lawgov_model.json").read_text(encoding="utf-8"))
        warm = manifest["trained_from"]["warm_start"]
        assert Path(warm["model"]) == tiny_model.resolve() and warm["fingerprint"] == model_fingerprint(tiny_model)
        assert manifest["trained_from"]["added_sentences"] == n, manifest["trained_from"]
        merged = [json.loads(x) for x in Path(manifest["trained_from"]["training_data"]["merged"]).read_text(
            encoding="utf-8").splitlines() if x.strip()]
        assert {r["text"]: (r["dimension"], r["role"]) for r in merged if r["text"] in posted} == posted
        # and the new model tags
        import lawgov_nlp as lg

        tags = lg.load(str(new_model)).tag_sentences(list(posted)[:2])
        assert len(tags) == 2 and all(t.dimension in dims and t.role in roles for t in tags)
        assert _snapshot(tiny_model) == before, "the served model's directory was changed"
    finally:
        for s in reversed(servers):
            s.stop()
        times["whole test"] = time.monotonic() - t_all
        print("timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in times.items()))
