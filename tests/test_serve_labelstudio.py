"""The Label Studio ML backend, started for real (``python -m lawgov_nlp serve labelstudio``) on
loopback with a tiny model, spoken to over HTTP, stopped by its PID."""
from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "training" / "data"
KEY = "s3cret-key"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rows(n_docs: int, first: int = 0) -> list[dict]:
    rows = [json.loads(x) for x in (DATA / "train.jsonl").read_text(encoding="utf-8").splitlines() if x]
    ids = list(dict.fromkeys(r["doc_id"] for r in rows))[first:first + n_docs]
    return [r for r in rows if r["doc_id"] in ids]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny encoder model with its own training and dev files (one document each)."""
    from tiny_model import build_tiny_base

    from lawgov_nlp.train import TrainConfig, train

    d = tmp_path_factory.mktemp("serve")
    tr, dv, extra = _rows(1, 0), _rows(1, 1), _rows(1, 2)
    for name, rows in (("train", tr), ("dev", dv), ("extra", extra)):
        (d / f"{name}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    base = build_tiny_base(d / "base", [r["text"] for r in tr + dv + extra] + [s for r in tr + dv + extra for s in r["section"]])
    cfg = TrainConfig.from_dict(dict(base=str(base), train=str(d / "train.jsonl"), dev=str(d / "dev.jsonl"),
                                     output_dir=str(d / "model"), epochs=1, batch_size=16, max_length=48,
                                     section_max_tokens=12, threads=1,
                                     lora={"r": 2, "alpha": 4, "dropout": 0.0, "target_modules": ["query", "value"]}))
    train(cfg, progress=False, log=lambda m: None)
    return d


@pytest.fixture(scope="module")
def server(tiny):
    port = _free_port()
    models = tiny / "backend"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LAWGOV_THREADS": "1"}
    env.pop("LAWGOV_API_KEY", None)
    log = open(tiny / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "lawgov_nlp", "serve", "labelstudio", "--host", "127.0.0.1",
                             "--port", str(port), "--model", str(tiny / "model"), "--models-dir", str(models),
                             "--retrain-after", "3", "--api-key", KEY], cwd=str(tiny), env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=30)
    try:
        for _ in range(300):
            if proc.poll() is not None:
                raise AssertionError("the server stopped: " + (tiny / "server.log").read_text())
            try:
                if client.get("/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise AssertionError("the server did not come up: " + (tiny / "server.log").read_text())
        yield client, url, models, proc
    finally:
        client.close()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


def _task(r: dict, i: int, **data) -> dict:
    return {"id": i, "data": {"text": r["text"], "section": " > ".join(r.get("section") or []),
                              "doc_id": r["doc_id"], "sent_id": r["sent_id"], **data}}


def test_health_and_setup(server, tiny):
    from lawgov_nlp.data import label_studio_config

    client, *_ = server
    h = client.get("/health").json()
    assert h["status"] == "UP" and h["model_version"].startswith("model@") and h["kind"] == "encoder"
    assert h["training"] is False and h["retrain_after"] == 3
    r = client.post("/setup", json={"project": "1.1700000000", "schema": label_studio_config(),
                                    "model_version": "x"})
    assert r.status_code == 200 and r.json()["model_version"] == h["model_version"]
    r = client.post("/setup", json={"project": "1", "schema": "<View><Text name='text' value='$text'/></View>"})
    assert r.status_code == 422 and "labelstudio-config" in r.json()["error"]


def test_predict_answers_one_prediction_per_task(server):
    import lawgov_nlp as lg

    client, *_ = server
    rows = _rows(1, 3)[:6]
    scheme = lg.load_scheme()
    r = client.post("/predict", json={"tasks": [_task(x, i + 1) for i, x in enumerate(rows)], "project": "1.2",
                                      "label_config": "", "params": {"context": {}}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["results"]) == len(rows) and body["model_version"].startswith("model@")
    for p in body["results"]:
        assert p["model_version"] == body["model_version"] and 0.0 <= p["score"] <= 1.0
        items = {x["from_name"]: x for x in p["result"]}
        assert items["dimension"]["type"] == "choices" and items["dimension"]["to_name"] == "text"
        assert items["dimension"]["value"]["choices"][0] in scheme.dimension_codes
        assert items["role"]["value"]["choices"][0] in scheme.role_codes
        assert 0.0 <= items["dimension"]["score"] <= 1.0 and 0.0 <= items["role"]["score"] <= 1.0
        assert p["score"] == pytest.approx(min(items["dimension"]["score"], items["role"]["score"]), abs=1e-6)
    assert client.post("/predict", json={"tasks": []}).json()["results"] == []


def test_predict_tags_each_document_together_and_in_order(server):
    """With the encoder kind, context changes nothing; with any kind, other documents and the order of
    tasks in the request change nothing; the answers come back in task order."""
    client, *_ = server
    a, b = _rows(1, 3)[:5], _rows(1, 4)[:4]
    alone = client.post("/predict", json={"tasks": [_task(x, i) for i, x in enumerate(a)]}).json()["results"]
    mixed_tasks = [_task(x, 100 + i) for i, x in enumerate(b)] + [_task(x, i) for i, x in enumerate(a)]
    mixed_tasks = mixed_tasks[::-1]  # reversed: the backend puts each document back in sent_id order
    mixed = client.post("/predict", json={"tasks": mixed_tasks}).json()["results"]
    by_id = {t["id"]: p for t, p in zip(mixed_tasks, mixed)}
    for i, p in enumerate(alone):
        assert by_id[i]["result"] == p["result"] and by_id[i]["score"] == p["score"]


def test_document_order_groups_and_sorts(server):
    from lawgov_nlp.serve.labelstudio import document_order, task_record

    recs = [task_record({"data": {"text": t, "doc_id": d, "index": k}}, i)
            for i, (t, d, k) in enumerate([("c", "A", 2), ("x", "B", 0), ("a", "A", 0), ("b", "A", 1)])]
    assert [r["text"] for r in document_order(recs)] == ["a", "b", "c", "x"]
    loose = [task_record({"data": {"text": t}}, i) for i, t in enumerate("pq")]
    assert [r["doc_id"] for r in document_order(loose)] == ["__task_0", "__task_1"]


def test_document_memory_puts_a_lone_task_back_in_its_document():
    from lawgov_nlp.serve.labelstudio import DocumentMemory, document_order, task_record

    mem = DocumentMemory(max_documents=2)
    seen = [task_record({"data": {"text": t, "doc_id": "A", "sent_id": f"A-{k}"}}, k) for k, t in enumerate("abc")]
    mem.remember(seen)
    lone = [task_record({"data": {"text": "B!", "doc_id": "A", "sent_id": "A-1"}}, 0)]  # a newer text of A-1
    ctx = mem.context_for(lone)
    assert sorted(r["text"] for r in ctx) == ["a", "c"] and all(r["_context"] for r in ctx)
    assert [r["text"] for r in document_order(lone + ctx)] == ["a", "B!", "c"]
    # tasks without a document or an order get no neighbours; old documents are forgotten
    assert mem.context_for([task_record({"data": {"text": "x"}}, 0)]) == []
    assert mem.context_for([task_record({"data": {"text": "x", "doc_id": "A"}}, 0)]) == []
    for d in ("B", "C"):
        mem.remember([task_record({"data": {"text": "y", "doc_id": d, "sent_id": f"{d}-0"}}, 0)])
    assert mem.context_for(lone) == []


@pytest.mark.parametrize("body,status,words", [
    (b"{not json", 400, "not valid JSON"),
    (b"", 400, "no body"),
    (b"[1, 2]", 422, "JSON object"),
    (b'{"tasks": 5}', 422, "must be a list"),
    (b'{"nothing": 1}', 422, "no 'tasks'"),
    (b'{"tasks": [{"id": 1}]}', 422, "no 'data'"),
    (b'{"tasks": [{"id": 7, "data": {"txt": "x"}}]}', 422, "id 7"),
    (b'{"tasks": [{"data": {"text": 12}}]}', 422, "data.text"),
    (b'{"tasks": [{"data": {"text": "   "}}]}', 422, "empty"),
    (b'{"tasks": [{"data": {"text": "a", "index": "x"}}]}', 422, "data.index"),
    (b'{"tasks": [{"data": {"text": "a", "section": 3}}]}', 422, "data.section"),
    (b'{"tasks": [3]}', 422, "JSON object"),
    ('{"tasks": [{"data": {"text": "' .encode() + b"\xff\xfe" + b'"}}]}', 400, "UTF-8"),
])
def test_bad_predict_requests_get_a_4xx_with_a_message(server, body, status, words):
    client, *_ = server
    r = client.post("/predict", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == status, r.text
    assert words in r.json()["error"]


def test_huge_bodies_and_unknown_routes_are_refused(server):
    client, *_ = server
    from lawgov_nlp.serve.labelstudio import MAX_BODY, MAX_TEXT

    r = client.post("/predict", content=b" " * (MAX_BODY + 10), headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "at most" in r.json()["error"]
    r = client.post("/predict", json={"tasks": [{"data": {"text": "长" * (MAX_TEXT + 1)}}]})
    assert r.status_code == 413
    assert client.get("/nowhere").status_code == 404
    assert client.get("/predict").status_code == 405
    r = client.post("/webhook", content=b"{}", headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and "action" in r.json()["error"]
    assert client.get("/health").json()["status"] == "UP"  # still serving


def test_the_api_key_is_required_on_every_route(server):
    _, url, *_ = server
    with httpx.Client(base_url=url, timeout=10) as anon:
        for method, path in (("GET", "/health"), ("POST", "/predict"), ("POST", "/setup"), ("POST", "/webhook")):
            r = anon.request(method, path, json={"tasks": []})
            assert r.status_code == 401 and "Bearer" in r.json()["error"], (path, r.text)
        assert anon.get("/health", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert anon.get("/health", headers={"Authorization": f"Token {KEY}"}).status_code == 200
        basic = base64.b64encode(f"labelstudio:{KEY}".encode()).decode()
        assert anon.get("/health", headers={"Authorization": f"Basic {basic}"}).status_code == 200
        bad = base64.b64encode(b"labelstudio:nope").decode()
        assert anon.get("/health", headers={"Authorization": f"Basic {bad}"}).status_code == 401


def test_webhook_annotations_retrain_into_a_new_version_that_is_served(server, tiny):
    client, _, models, proc = server
    before = client.get("/health").json()["model_version"]
    new = [json.loads(x) for x in (tiny / "extra.jsonl").read_text(encoding="utf-8").splitlines()][:3]
    assert client.post("/webhook", json={"action": "PROJECT_UPDATED", "project": {"id": 1}}).json()["status"] == "ignored"
    bad = {"action": "ANNOTATION_CREATED", "project": {"id": 1}, "task": _task(new[0], 900),
           "annotation": {"id": 1, "result": [{"from_name": "dimension", "to_name": "text", "type": "choices",
                                               "value": {"choices": ["bogus"]}}]}}
    r = client.post("/webhook", json=bad)
    assert r.status_code == 422 and "bogus" in r.json()["error"]
    answers = []
    for i, row in enumerate(new):
        ev = {"action": "ANNOTATION_CREATED", "project": {"id": 1, "label_config": ""}, "task": _task(row, 10 + i),
              "annotation": {"id": 50 + i, "result": [
                  {"from_name": "dimension", "to_name": "text", "type": "choices", "value": {"choices": [row["dimension"]]}},
                  {"from_name": "role", "to_name": "text", "type": "choices", "value": {"choices": [row["role"]]}}]}}
        r = client.post("/webhook", json=ev)
        assert r.status_code == 201, r.text
        answers.append(r.json())
    assert answers[-1]["started"] is True and "v2" in answers[-1]["message"]
    again = client.post("/webhook", json={"action": "START_TRAINING", "project": {"id": 1}}).json()
    assert again["started"] is False and "already running" in again["message"]
    # predictions go on while it trains
    assert client.post("/predict", json={"tasks": [_task(new[0], 1)]}).status_code == 200
    stored = [json.loads(x) for x in (models / "annotations.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [e["action"] for e in stored] == ["ANNOTATION_CREATED"] * 3
    for _ in range(600):
        h = client.get("/health").json()
        if not h["training"]:
            break
        time.sleep(0.1)
    assert h["last_training"]["status"] == "ok", h
    assert h["model_version"] != before and h["model_version"].startswith("v2@") and h["trainings_started"] == 1
    r = client.post("/predict", json={"tasks": [_task(new[0], 1)]}).json()
    assert r["model_version"] == h["model_version"] and r["results"][0]["model_version"] == h["model_version"]
    tf = json.loads((models / "v2" / "lawgov_model.json").read_text(encoding="utf-8"))["trained_from"]
    assert tf["warm_start"]["model"] == str((tiny / "model").resolve()) and tf["added_sentences"] == 3
    assert proc.poll() is None


def test_a_failed_retraining_is_reported_and_the_server_goes_on(server, tiny):
    client, _, models, proc = server
    served = client.get("/health").json()["model_version"]
    train = Path(json.loads((models / "v2" / "metrics.json").read_text(encoding="utf-8"))["config"]["train"])
    hidden = train.with_name("gone.jsonl")
    train.rename(hidden)  # the next retraining cannot read its training data
    try:
        r = client.post("/webhook", json={"action": "START_TRAINING", "project": {"id": 1}}).json()
        assert r["started"] is True
        for _ in range(300):
            h = client.get("/health").json()
            if not h["training"]:
                break
            time.sleep(0.1)
        assert h["last_training"]["status"] == "failed" and "does not exist" in h["last_training"]["error"]
        assert h["model_version"] == served and proc.poll() is None
        assert client.post("/predict", json={"tasks": [{"data": {"text": "全年办结案件12件。"}}]}).status_code == 200
    finally:
        hidden.rename(train)
