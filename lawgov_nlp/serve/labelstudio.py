"""A Label Studio ML backend: ``lawgov serve labelstudio`` / :func:`serve`.

It speaks the protocol of ``label-studio-ml-backend`` (what Label Studio calls when a model is
connected under Settings → Model):

``GET /health`` (and ``GET /``)
    ``{"status": "UP", "model_version", "model_dir", "kind", "training", "annotations",
    "pending", "retrain_after", "last_training"}``; a failed retraining is reported under
    ``last_training`` (``status: failed`` and the error), never by stopping the server.
``POST /setup``
    ``{"project", "schema": <labeling config XML>, ...}`` → ``{"model_version"}``. A labeling
    config without ``Choices`` named ``dimension`` and ``role`` over the model's labels is a 422
    that says to use ``lawgov data labelstudio-config``.
``POST /predict``
    ``{"tasks": [{"id", "data": {"text", "section", "doc_id", "sent_id", "index", ...}}], ...}`` →
    ``{"results": [{"model_version", "score", "result": [...]}, ...], "model_version"}``: one
    prediction per task, in task order, whose ``result`` holds ``choices`` items for the
    ``dimension`` and ``role`` controls (and ``secondary`` when a second dimension passes its
    threshold), each with the model's probability as ``score``; the prediction's ``score`` is the
    lower of the two, so Label Studio's low-score-first ordering shows uncertain sentences first.
    Tasks of one document (``doc_id``) are tagged together as one document, in ``index`` order,
    else ``sent_id`` order, else the order they came in, so the context tagger sees their
    neighbours; a task without ``doc_id`` is a document of its own. Label Studio asks for one
    task at a time when an annotator opens it, so the backend remembers the tasks of earlier
    requests (:class:`DocumentMemory`; ``--no-remember`` turns it off) and tags a task with the
    remembered sentences of its document around it.
``POST /webhook``
    Label Studio's webhook events. ``ANNOTATION_CREATED`` / ``ANNOTATION_UPDATED`` /
    ``ANNOTATION_DELETED`` / ``ANNOTATIONS_DELETED`` are appended to ``annotations.jsonl`` in the
    models directory (append-only); after ``retrain_after`` new annotations, or on
    ``START_TRAINING``, retraining starts in a background thread
    (:func:`lawgov_nlp.train.warm.retrain`, warm-started from the model being served) into
    ``<models-dir>/v2``, ``v3`` …, which is then served (its ``model_version`` differs). A
    retraining already running is not started twice. Other events are acknowledged and ignored.

Bad requests (not JSON, no ``tasks``, a task without ``data.text``, wrong types, a body over
:data:`MAX_BODY` bytes) get a 4xx with a message naming the problem.

Authentication: with an API key (``--api-key`` or ``$LAWGOV_API_KEY``) every route, ``/health``
included, needs ``Authorization: Bearer <key>``; ``Token <key>`` and HTTP Basic with the key as
the password (any user name) are accepted too, because Label Studio's ML-backend connection
sends HTTP Basic auth (its "Basic auth user / password" fields) and nothing else. Label Studio
checks ``/health`` when it connects, so it is not exempt.
"""

import base64
import hmac
import json
import logging
import os
import re
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from ..errors import MissingExtraError, UsageError
from ..errors import RequestError as BadRequest

API_KEY_ENV = "LAWGOV_API_KEY"
MAX_BODY = 16 * 1024 * 1024        # bytes of one request
MAX_TASKS = 10_000                 # tasks of one /predict
MAX_TEXT = 20_000                  # characters of one task's text
ANNOTATIONS_NAME = "annotations.jsonl"
ANNOTATION_EVENTS = ("ANNOTATION_CREATED", "ANNOTATION_UPDATED")
DELETE_EVENTS = ("ANNOTATION_DELETED", "ANNOTATIONS_DELETED")
TRAIN_EVENT = "START_TRAINING"
SERVE_MISSING = 'the Label Studio backend needs FastAPI and uvicorn: pip install "lawgov-nlp[serve]"'

logger = logging.getLogger("lawgov_nlp.serve")


# --------------------------------------------------------------------------- the backend
class Backend:
    """The model being served, its versions, the stored annotations and the retraining thread."""

    def __init__(self, model: str | os.PathLike | None = None, *, models_dir: str | os.PathLike = "lawgov-backend",
                 retrain_after: int = 0, config: str | os.PathLike | None = None, keep_encoder: bool = False,
                 api_key: str | None = None, retrain_overrides: dict | None = None, remember: bool = True,
                 log: Callable[[str], None] | None = None):
        self.models_dir = Path(models_dir)
        self.models_dir.mkdir(parents=True, exist_ok=True)
        self.retrain_after = int(retrain_after or 0)
        self.config = str(config) if config else None
        self.keep_encoder = keep_encoder
        self.api_key = api_key or None
        self.retrain_overrides = dict(retrain_overrides or {})
        self.memory = DocumentMemory() if remember else None
        self.log = log or logger.info
        self._lock = threading.Lock()        # the model in use
        self._state = threading.Lock()       # counters and the training flag
        self._thread: threading.Thread | None = None
        self.training = False
        self.trainings_started = 0
        self.last_training: dict | None = None
        self.annotations_path = self.models_dir / ANNOTATIONS_NAME
        self.total = self._count_stored()
        self.pending = 0
        newest = self._versions()[-1][1] if self._versions() else None
        if newest is not None:
            self.log(f"serving {newest}: the newest retrained version in {self.models_dir} "
                     "(start with an empty --models-dir to serve --model)")
            self._load(newest)
        else:
            self._load(model)

    # -- models ------------------------------------------------------------------
    def _load(self, model) -> None:
        from ..models.registry import load, resolve
        from ..train.warm import model_fingerprint

        target = resolve(model)
        tagger = load(target)
        if tagger.kind == "keywords" or not isinstance(target, Path):
            version = "keywords"
        else:
            version = f"{target.name}@{model_fingerprint(target)[:8]}"
        with self._lock:
            self.tagger, self.model_dir, self.model_version = tagger, target, version
        self.log(f"model {version} ({tagger.kind}) from {target}")

    def _versions(self) -> list[tuple[int, Path]]:
        out = []
        for p in self.models_dir.iterdir() if self.models_dir.is_dir() else []:
            m = re.fullmatch(r"v(\d+)", p.name)
            if m and (p / "lawgov_model.json").is_file():
                out.append((int(m.group(1)), p))
        return sorted(out)

    def next_version_dir(self) -> Path:
        versions = self._versions()
        return self.models_dir / f"v{(versions[-1][0] if versions else 1) + 1}"

    # -- health and setup -------------------------------------------------------------
    def health(self) -> dict:
        with self._state:
            return {"status": "UP", "model_version": self.model_version, "model_dir": str(self.model_dir),
                    "kind": self.tagger.kind, "training": self.training, "annotations": self.total,
                    "pending": self.pending, "retrain_after": self.retrain_after,
                    "trainings_started": self.trainings_started, "last_training": self.last_training}

    def setup(self, body: dict) -> dict:
        schema = body.get("schema") or body.get("label_config")
        if schema is not None:
            if not isinstance(schema, str):
                raise BadRequest(422, "'schema' must be the project's labeling config (XML text)")
            check_label_config(schema, self.tagger.scheme)
        return {"model_version": self.model_version}

    # -- predict ------------------------------------------------------------------
    def predict(self, body: dict) -> dict:
        tasks = body.get("tasks")
        if tasks is None:
            raise BadRequest(422, "the request has no 'tasks' (a list of Label Studio tasks)")
        if not isinstance(tasks, list):
            raise BadRequest(422, f"'tasks' must be a list of tasks, got {type(tasks).__name__}")
        if len(tasks) > MAX_TASKS:
            raise BadRequest(413, f"{len(tasks)} tasks in one request; at most {MAX_TASKS}")
        records = [task_record(t, i) for i, t in enumerate(tasks)]
        with self._lock:
            tagger, version = self.tagger, self.model_version
            context = self.memory.context_for(records) if self.memory is not None else []
            results = predictions(tagger, records, version, context) if records else []
            if self.memory is not None:
                self.memory.remember(records)
        return {"results": results, "model_version": version}

    # -- webhook ---------------------------------------------------------------------
    def webhook(self, body: dict) -> dict:
        action = body.get("action")
        if not isinstance(action, str) or not action:
            raise BadRequest(422, "a webhook event needs an 'action' (e.g. ANNOTATION_CREATED)")
        if action in ANNOTATION_EVENTS:
            task, ann = body.get("task"), body.get("annotation")
            if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
                raise BadRequest(422, f"{action}: the event needs the 'task' with its 'data'")
            if not isinstance(ann, dict) or not isinstance(ann.get("result"), list):
                raise BadRequest(422, f"{action}: the event needs the 'annotation' with its 'result' list")
            rec = annotation_record(task, ann)
            self._check_labels(rec, action)
        elif action in DELETE_EVENTS:
            pass
        elif action == TRAIN_EVENT:
            started, why = self.start_training("START_TRAINING")
            return {"status": "ok", "action": action, "started": started, "message": why, **self._counts()}
        else:
            return {"status": "ignored", "action": action, "message": f"{action} is not an event this backend uses"}
        self._store(action, body)
        started, why = False, ""
        with self._state:
            if action in ANNOTATION_EVENTS:
                self.total += 1
                self.pending += 1
            due = self.retrain_after > 0 and self.pending >= self.retrain_after
        if due:
            started, why = self.start_training(f"{self.retrain_after} new annotations")
        return {"status": "ok", "action": action, "stored": True, "started": started, "message": why, **self._counts()}

    def _counts(self) -> dict:
        with self._state:
            return {"annotations": self.total, "pending": self.pending, "training": self.training,
                    "model_version": self.model_version}

    def _check_labels(self, rec: dict, action: str) -> None:
        scheme = self.tagger.scheme
        for key, codes in (("dimension", scheme.dimension_codes), ("role", scheme.role_codes)):
            v = rec.get(key)
            if v is not None and v not in codes:
                raise BadRequest(422, f"{action}: {key} {v!r} is not a label of the model's scheme "
                                      f"({', '.join(codes)}); use the labeling config of lawgov data labelstudio-config")
        bad = [x for x in rec.get("secondary") or [] if x not in scheme.dimension_codes]
        if bad:
            raise BadRequest(422, f"{action}: secondary {bad} are not dimensions of the model's scheme")

    def _store(self, action: str, body: dict) -> None:
        row = {"received": datetime.now(timezone.utc).isoformat(timespec="seconds"), "action": action,
               "project": (body.get("project") or {}).get("id") if isinstance(body.get("project"), dict) else body.get("project"),
               "task": body.get("task"), "annotation": body.get("annotation"), "annotations": body.get("annotations")}
        line = json.dumps(row, ensure_ascii=False) + "\n"
        with self._state, open(self.annotations_path, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())

    def _count_stored(self) -> int:
        if not self.annotations_path.is_file():
            return 0
        n = 0
        with open(self.annotations_path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    n += json.loads(line).get("action") in ANNOTATION_EVENTS
                except (ValueError, AttributeError):
                    continue
        return n

    # -- retraining ----------------------------------------------------------------
    def annotated_records(self) -> list[dict]:
        """The stored annotations as records: the latest annotation of each task, deleted ones out."""
        by_task: dict[str, dict] = {}
        if not self.annotations_path.is_file():
            return []
        with open(self.annotations_path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue  # a line cut by a crash
                action = ev.get("action")
                if action in ANNOTATION_EVENTS and isinstance(ev.get("task"), dict):
                    ann = ev.get("annotation") or {}
                    key = _task_key(ev["task"])
                    if ann.get("was_cancelled"):
                        by_task.pop(key, None)
                        continue
                    by_task[key] = annotation_record(ev["task"], ann)
                elif action in DELETE_EVENTS:
                    task = ev.get("task")
                    if isinstance(task, dict):
                        by_task.pop(_task_key(task), None)
                    for a in ev.get("annotations") or []:
                        if isinstance(a, dict) and a.get("task") is not None:
                            by_task.pop(str(a["task"]), None)
        return [r for r in by_task.values() if r.get("dimension") and r.get("role")]

    def start_training(self, why: str) -> tuple[bool, str]:
        with self._state:
            if self.training:
                return False, "a retraining is already running; not started twice"
        records = self.annotated_records()
        if not records:
            return False, "no annotations to train on yet"
        with self._state:
            if self.training:
                return False, "a retraining is already running; not started twice"
            self.training = True
            self.trainings_started += 1
            self.pending = 0
            out = self.next_version_dir()
            self.last_training = {"version": out.name, "status": "running", "reason": why,
                                  "annotations": len(records), "started": _now(), "finished": None, "error": None}
        self._thread = threading.Thread(target=self._retrain, args=(records, out), name=f"retrain-{out.name}",
                                        daemon=True)
        self._thread.start()
        return True, f"retraining into {out} on {len(records)} annotations ({why})"

    def _retrain(self, records: list[dict], out: Path) -> None:
        from ..data.corpus import write_jsonl
        from ..train.warm import retrain

        t0 = time.time()
        log_path = self.models_dir / f"{out.name}.log"
        try:
            snapshot = self.models_dir / f"{out.name}-annotations.jsonl"
            write_jsonl(records, snapshot)
            with open(log_path, "w", encoding="utf-8") as fh:
                def log(msg: str) -> None:
                    fh.write(msg + "\n")
                    fh.flush()

                with self._lock:
                    source = self.model_dir
                log(f"retraining {source} into {out} on {len(records)} annotations ({snapshot})")
                retrain(source, [snapshot], out, config=self.config, log=log, encoder="keep" if self.keep_encoder else "train",
                        overrides=self.retrain_overrides or None, held_out="skip")
            self._load(out)
            status = {"status": "ok", "model_version": self.model_version}
        except Exception as e:  # noqa: BLE001 - a failed retraining is reported, the server goes on
            logger.exception("retraining into %s failed", out)
            status = {"status": "failed", "error": f"{type(e).__name__}: {e}"}
            try:
                with open(log_path, "a", encoding="utf-8") as fh:
                    fh.write(f"failed: {type(e).__name__}: {e}\n")
            except OSError:
                pass
        with self._state:
            self.training = False
            self.last_training = {**(self.last_training or {}), **status, "finished": _now(),
                                  "seconds": round(time.time() - t0, 1), "log": str(log_path)}
        self.log(f"retraining {out.name}: {status['status']}" + (f" ({status.get('error')})" if status.get("error") else ""))

    def wait(self, timeout: float | None = None) -> None:
        """Wait for a running retraining (tests, a clean shutdown)."""
        t = self._thread
        if t is not None:
            t.join(timeout)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _task_key(task: dict) -> str:
    if task.get("id") is not None:
        return str(task["id"])
    data = task.get("data") or {}
    return str(data.get("sent_id") or data.get("text"))


# --------------------------------------------------------------------------- tasks and predictions
def task_record(task: Any, i: int) -> dict:
    """A record (text, section, document and order) from a /predict task; a BadRequest names the task."""
    where = f"task {i + 1}"
    if not isinstance(task, dict):
        raise BadRequest(422, f"{where}: a task must be a JSON object with 'data', got {type(task).__name__}")
    if task.get("id") is not None:
        where = f"task {i + 1} (id {task['id']})"
    data = task.get("data")
    if not isinstance(data, dict):
        raise BadRequest(422, f"{where}: the task has no 'data' object")
    text = data.get("text")
    if not isinstance(text, str):
        raise BadRequest(422, f"{where}: data.text must be the sentence as a string, got "
                              f"{'nothing' if text is None else type(text).__name__}")
    if not text.strip():
        raise BadRequest(422, f"{where}: data.text is empty")
    if len(text) > MAX_TEXT:
        raise BadRequest(413, f"{where}: data.text has {len(text):,} characters; at most {MAX_TEXT:,} (one sentence)")
    rec: dict[str, Any] = {"text": text, "_pos": i}
    section = data.get("section_path", data.get("section"))
    if isinstance(section, str):
        rec["section"] = [x for x in section.split(" > ") if x]
    elif isinstance(section, list) and all(isinstance(x, str) for x in section):
        rec["section"] = list(section)
    elif section is not None:
        raise BadRequest(422, f"{where}: data.section must be a heading path (a string or a list of strings)")
    doc = data.get("doc_id")
    if doc is not None:
        if not isinstance(doc, (str, int)) or isinstance(doc, bool):
            raise BadRequest(422, f"{where}: data.doc_id must be a string")
        rec["doc_id"] = str(doc)
    else:
        rec["doc_id"] = f"__task_{i}"
    for key in ("index", "paragraph", "heading_level"):
        v = data.get(key)
        if v is not None:
            if not isinstance(v, int) or isinstance(v, bool):
                raise BadRequest(422, f"{where}: data.{key} must be a whole number, got {v!r}")
            rec[key] = v
    if data.get("is_heading") is not None:
        if not isinstance(data["is_heading"], bool):
            raise BadRequest(422, f"{where}: data.is_heading must be true or false")
        rec["is_heading"] = data["is_heading"]
    if data.get("sent_id") is not None:
        rec["sent_id"] = str(data["sent_id"])
    return rec


def document_order(records: list[dict]) -> list[dict]:
    """Records grouped by document (in order of first appearance), each document in ``index``
    order when every task of it has one, else ``sent_id`` order, else as given."""
    groups: dict[str, list[dict]] = {}
    for r in records:
        groups.setdefault(r["doc_id"], []).append(r)
    out = []
    for rs in groups.values():
        if all("index" in r for r in rs):
            rs = sorted(rs, key=lambda r: (r["index"], r.get("_pos", -1)))
        elif all("sent_id" in r for r in rs):
            rs = sorted(rs, key=lambda r: (r["sent_id"], r.get("_pos", -1)))
        out += rs
    return out


class DocumentMemory:
    """Sentences of documents seen in earlier /predict requests, so that a task predicted alone
    (Label Studio asks for one task when an annotator opens it) is still tagged in its document.

    Only tasks with a ``doc_id`` and an order (``index`` or ``sent_id``) are kept, per document
    and order kind; the least recently seen documents go first beyond ``max_documents``.
    A request's own tasks always win over remembered ones of the same place.
    """

    def __init__(self, max_documents: int = 2000, max_sentences_per_document: int = 5000):
        from collections import OrderedDict

        self.max_documents = max_documents
        self.max_sentences = max_sentences_per_document
        self._docs: "OrderedDict[tuple[str, str], dict]" = OrderedDict()

    @staticmethod
    def _key(r: dict) -> tuple[str, Any] | None:
        if r["doc_id"].startswith("__task_"):
            return None
        if "index" in r:
            return "index", r["index"]
        if "sent_id" in r:
            return "sent_id", r["sent_id"]
        return None

    def remember(self, records: list[dict]) -> None:
        for r in records:
            k = self._key(r)
            if k is None:
                continue
            doc = self._docs.setdefault((r["doc_id"], k[0]), {})
            if len(doc) < self.max_sentences or k[1] in doc:
                doc[k[1]] = {x: v for x, v in r.items() if x != "_pos"}
            self._docs.move_to_end((r["doc_id"], k[0]))
        while len(self._docs) > self.max_documents:
            self._docs.popitem(last=False)

    def context_for(self, records: list[dict]) -> list[dict]:
        """Remembered sentences of the requests' documents that the request does not carry."""
        by_doc: dict[str, list[dict]] = {}
        for r in records:
            by_doc.setdefault(r["doc_id"], []).append(r)
        out = []
        for doc, rs in by_doc.items():
            keys = [self._key(r) for r in rs]
            kinds = {k[0] for k in keys if k is not None}
            if None in keys or len(kinds) != 1:
                continue  # no order for some task: its neighbours cannot be placed
            kind = kinds.pop()
            have = {k[1] for k in keys}
            for place, r in (self._docs.get((doc, kind)) or {}).items():
                if place not in have:
                    out.append({**r, "_context": True})
        return out


def predictions(tagger, records: list[dict], model_version: str, context: list[dict] | None = None) -> list[dict]:
    """One Label Studio prediction per record, in the records' order (the tagger sees each
    document's records together, in document order, with ``context``: more sentences of the same
    documents, tagged with them but not answered)."""
    from ..data.formats import to_label_studio

    ordered = document_order(list(records) + list(context or []))
    dp, rp = tagger.predict_records(ordered)
    decided = tagger.decide(dp, rp)
    out: list[Any] = [None] * len(records)
    for r, d, pd, pr in zip(ordered, decided, dp, rp):
        if r.get("_context"):
            continue
        ds = float(pd[tagger.dimensions.index(d.dimension)])
        rs = float(pr[tagger.roles.index(d.role)])
        rec = {"text": r["text"], "dimension": d.dimension, "role": d.role, "secondary": list(d.secondary),
               "score": ds, "_role_score": rs, "_model_version": model_version}
        pred = to_label_studio([rec], model_version)[0]["predictions"][0]
        pred["score"] = round(min(ds, rs), 6)
        out[r["_pos"]] = pred
    return out


def annotation_record(task: dict, annotation: dict) -> dict:
    """A training record from a webhook's task and annotation (labels by their names). A task
    without ``doc_id`` / ``sent_id`` in its data is a document of its own, named by its task id."""
    from ..data.formats import from_label_studio

    rec = from_label_studio([{"id": task.get("id"), "data": task.get("data") or {},
                              "annotations": [{**annotation, "was_cancelled": False}]}], use_predictions=False)[0]
    tid = task.get("id")
    if not rec.get("doc_id"):
        rec["doc_id"] = f"labelstudio-task-{tid}"
    if not rec.get("sent_id"):
        rec["sent_id"] = f"labelstudio-task-{tid}"
    for k in ("_task", "_line", "_annotated"):
        rec.pop(k, None)
    rec["source"] = rec.get("source") or "labelstudio"
    return rec


def check_label_config(xml: str, scheme) -> None:
    """The labeling config must have single-choice ``dimension`` and ``role`` controls over the
    model's labels (what ``lawgov data labelstudio-config`` writes); a BadRequest says what differs."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(xml)
    except ET.ParseError as e:
        raise BadRequest(422, f"the labeling config is not valid XML ({e})") from None
    controls = {c.get("name"): c for c in root.iter("Choices")}
    hint = "; use the labeling config of: lawgov data labelstudio-config"
    for name, codes in (("dimension", scheme.dimension_codes), ("role", scheme.role_codes)):
        c = controls.get(name)
        if c is None:
            raise BadRequest(422, f"the labeling config has no <Choices name=\"{name}\">{hint}")
        values = [x.get("value") for x in c.iter("Choice")]
        unknown = [v for v in values if v not in codes]
        if unknown:
            raise BadRequest(422, f"the labeling config's {name} choices {unknown} are not labels of the model "
                                  f"({', '.join(codes)}){hint}")


# --------------------------------------------------------------------------- the web app
def authorised(header: str | None, key: str | None) -> bool:
    """Whether an ``Authorization`` header carries the key: ``Bearer <key>``, ``Token <key>`` or
    HTTP Basic with the key as the password (Label Studio's ML-backend connection sends Basic)."""
    if not key:
        return True
    if not header:
        return False
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() in ("bearer", "token"):
        return hmac.compare_digest(value.encode(), key.encode())
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return hmac.compare_digest(password.encode(), key.encode())
    return False


def create_app(backend: Backend):
    """The FastAPI application of a backend."""
    try:
        from fastapi import FastAPI, Request
        from fastapi.responses import JSONResponse
    except ImportError as e:  # pragma: no cover - without the extra
        raise MissingExtraError(SERVE_MISSING) from e
    from .. import __version__

    app = FastAPI(title="lawgov-nlp Label Studio ML backend", version=__version__, docs_url=None, redoc_url=None,
                  openapi_url=None)

    def error(status: int, message: str, **headers) -> JSONResponse:
        return JSONResponse({"status": "error", "error": message}, status_code=status, headers=headers or None)

    @app.middleware("http")
    async def guard(request: Request, call_next):
        if not authorised(request.headers.get("authorization"), backend.api_key):
            return error(401, "unauthorised: send Authorization: Bearer <key> (or HTTP Basic with the key as the "
                              "password)", **{"WWW-Authenticate": 'Bearer, Basic realm="lawgov"'})
        length = request.headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                return error(400, "Content-Length is not a number")
            if int(length) > MAX_BODY:
                return error(413, f"the request body has {int(length):,} bytes; at most {MAX_BODY:,}")
        try:
            return await call_next(request)
        except Exception as e:  # noqa: BLE001 - an internal error is logged and answered, never a crash
            logger.exception("error answering %s %s", request.method, request.url.path)
            return error(500, f"internal error: {type(e).__name__}: {e}")

    async def body_of(request: Request) -> dict:
        raw = b""
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_BODY:
                raise BadRequest(413, f"the request body is over {MAX_BODY:,} bytes")
        if not raw.strip():
            raise BadRequest(400, "the request has no body; send a JSON object")
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise BadRequest(400, "the request body is not UTF-8 text") from None
        except json.JSONDecodeError as e:
            raise BadRequest(400, f"the request body is not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})") from None
        if not isinstance(data, dict):
            raise BadRequest(422, f"the request body must be a JSON object, got {type(data).__name__}")
        return data

    def run(fn, data):
        try:
            return JSONResponse(fn(data))
        except BadRequest as e:
            return error(e.status, str(e))

    @app.get("/")
    @app.get("/health")
    def health():
        return backend.health()

    @app.post("/setup")
    async def setup(request: Request):
        try:
            data = await body_of(request)
        except BadRequest as e:
            return error(e.status, str(e))
        return run(backend.setup, data)

    async def in_threads(request: Request, handle, status_code: int = 200):
        """A handler that tags or trains runs off the event loop; bad bodies and bad requests get 4xx."""
        from starlette.concurrency import run_in_threadpool

        try:
            data = await body_of(request)
            return JSONResponse(await run_in_threadpool(handle, data), status_code=status_code)
        except BadRequest as e:
            return error(e.status, str(e))

    @app.post("/predict")
    async def predict(request: Request):
        return await in_threads(request, backend.predict)

    @app.post("/webhook")
    async def webhook(request: Request):
        return await in_threads(request, backend.webhook, status_code=201)

    @app.get("/metrics")
    def metrics():
        return {}

    return app


def serve(model: str | os.PathLike | None = None, *, host: str = "127.0.0.1", port: int = 9090,
          api_key: str | None = None, retrain_after: int = 0, models_dir: str | os.PathLike = "lawgov-backend",
          config: str | os.PathLike | None = None, keep_encoder: bool = False, retrain_overrides: dict | None = None,
          remember: bool = True, log: Callable[[str], None] = print) -> None:
    """Run the backend until interrupted (see the module docstring)."""
    try:
        import uvicorn
    except ImportError as e:
        raise MissingExtraError(SERVE_MISSING) from e
    if not isinstance(port, int) or not 0 < port < 65536:
        raise UsageError(f"port must be between 1 and 65535, got {port!r}")
    backend = Backend(model, models_dir=models_dir, retrain_after=retrain_after, config=config,
                      keep_encoder=keep_encoder, api_key=api_key or os.environ.get(API_KEY_ENV) or None,
                      retrain_overrides=retrain_overrides, remember=remember, log=log)
    app = create_app(backend)
    if host not in ("127.0.0.1", "localhost", "::1") and not backend.api_key:
        log(f"warning: listening on {host} without an API key: anyone who reaches it can use the model")
    log(f"Label Studio ML backend on http://{host}:{port} (model {backend.model_version}; "
        f"retrain after {retrain_after or 'START_TRAINING only'} annotations; models in {backend.models_dir}; "
        f"API key {'required' if backend.api_key else 'not required'})")
    uvicorn.run(app, host=host, port=port, log_level="warning", limit_concurrency=64, timeout_keep_alive=30)


__all__ = ["Backend", "BadRequest", "DocumentMemory", "create_app", "serve", "task_record", "document_order", "predictions",
           "annotation_record", "check_label_config", "authorised"]
