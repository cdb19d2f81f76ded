"""The Ray engine: the local engine's steps as a Ray Data pipeline, for a corpus one machine cannot tag.

::

    documents (path, or path + bytes / text)
      └─ read_segment       Ray tasks: read the file (or the bytes) and segment it; a file that
      │                     cannot be read becomes a row with its reason, never an exception
      └─ TagDocuments       an actor pool: the model loaded once per actor, torch threads =
      │                     the actor's ``num_cpus``; one output row per document (its sentence
      │                     rows, in order, and its coverage numbers)
      └─ explode_sentences  one row per sentence, the columns of the local engine

:func:`tag_documents_dataset` and :func:`tag_dataset` build the pipeline on any Ray Dataset;
:class:`TagBatch` does all three steps in one callable class for ``map_batches``;
:func:`run_files` is what ``lawgov tag --engine ray`` runs: it starts (or joins) a runtime and
hands each finished document to the driver's writer, so the outputs, the errors, ``--resume``
and the exit status are those of the local engine. Ray is imported only here, and only when
used (:func:`require_ray`). Reading and tagging reuse :mod:`.local`.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import pickle
import shutil
import tempfile
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

from ..errors import MissingExtraError, ReadError
from .local import RunStats, describe_exception, document_rows, garbled_warning, read_guarded, read_one, tag_to_writer

RAY_MISSING = 'the Ray engine needs Ray, which is not installed: pip install "lawgov-nlp[ray]"'
#: Ray's own CPU share for the reading tasks, so that they run beside a full actor pool.
READ_CPUS = 0.5


def require_ray():
    """The ``ray`` module with Ray Data, or a :class:`MissingExtraError` that says how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as e:
        raise MissingExtraError(RAY_MISSING) from e
    return ray


# --------------------------------------------------------------------------- the pipeline steps
def _column(batch, name: str, i: int):
    return batch[name].iat[i] if name in batch else None


def read_segment(batch):
    """Ray task (``batch_format="pandas"``): columns ``path`` and optionally ``bytes`` or ``text`` →
    ``path``, ``document`` (the read and segmented document, pickled), ``n_sentences``, ``error``
    (the reason a file could not be read, else ``""``) and ``warning``."""
    import pandas as pd

    from ..text.reading import read_bytes, read_text

    out = []
    for i in range(len(batch)):
        path = _column(batch, "path", i)
        path = str(path) if path is not None else f"document-{i}"
        data, text = _column(batch, "bytes", i), _column(batch, "text", i)
        if data is not None:
            read = lambda: read_bytes(bytes(data), path)  # noqa: E731
        elif text is not None:
            read = lambda: read_text(str(text), path)  # noqa: E731
        else:
            read = lambda: read_one(path)  # noqa: E731
        try:
            doc = read_guarded(path, read)
        except ReadError as e:
            out.append(dict(path=e.path, document=b"", n_sentences=0, error=e.reason, warning=""))
            continue
        out.append(dict(path=doc.path, document=pickle.dumps(doc), n_sentences=len(doc.sentences), error="",
                        warning=garbled_warning(doc) or ""))
    return pd.DataFrame(out, columns=["path", "document", "n_sentences", "error", "warning"])


class TagDocuments:
    """Ray actor (``batch_format="pandas"``) over :func:`read_segment`'s rows: the model is loaded once,
    in the constructor, with ``threads`` torch threads (give the actor as many CPUs); each call tags
    its documents like the local engine (:func:`~lawgov_nlp.engines.local.tag_to_writer`: batches of
    sentences across documents, a failing document found and reported alone) and returns one row per
    document: ``path``, ``doc_id``, ``rows`` (its sentence rows as a JSON list, in order),
    ``summary`` (its coverage numbers as JSON), ``n_sentences``, ``error``, ``warning``."""

    def __init__(self, model: str | None = None, *, threads: int = 1, batch_size: int = 32, fast: bool = False,
                 load_options: dict | None = None):
        from ..models.registry import load

        opts = {"fast": fast, **(load_options or {})}
        self.tagger = load(model, batch_size=batch_size, threads=threads, **opts)
        self.batch_sentences = max(64, 4 * batch_size)

    def __call__(self, batch):
        import pandas as pd

        results: dict[str, list[dict]] = {}
        docs, order = [], list(map(str, batch["path"]))
        warnings = dict(zip(order, batch["warning"]))
        for path, error, document in zip(order, batch["error"], batch["document"]):
            if error:
                results.setdefault(path, []).append(self._row(path, "", error=str(error)))
            else:
                docs.append(pickle.loads(document))

        def write(t) -> None:
            try:
                rows = document_rows(t)
                summary = t.summary(self.tagger.scheme).coverage_numbers()
            except Exception as e:  # noqa: BLE001 - one bad document must not stop the batch
                return on_error(t.path, describe_exception(e))
            results.setdefault(t.path, []).append(self._row(t.path, t.doc_id, rows=rows, summary=summary))

        def on_error(path: str, reason: str) -> None:
            results.setdefault(path, []).append(self._row(path, "", error=reason))

        tag_to_writer(lambda: self.tagger, docs, write, on_error, batch_sentences=self.batch_sentences)
        out = []
        for path in order:
            r = results[path].pop(0)
            r["warning"] = "" if r["error"] else str(warnings[path] or "")
            out.append(r)
        return pd.DataFrame(out, columns=["path", "doc_id", "rows", "summary", "n_sentences", "error", "warning"])

    @staticmethod
    def _row(path: str, doc_id: str, rows: Sequence[dict] = (), summary: dict | None = None, error: str = "") -> dict:
        return dict(path=path, doc_id=doc_id, rows=json.dumps(list(rows), ensure_ascii=False),
                    summary=json.dumps(summary or {}, ensure_ascii=False), n_sentences=len(rows), error=error)


def explode_sentences(batch):
    """Ray task (``batch_format="pandas"``): :class:`TagDocuments`' rows → one row per sentence (the
    local engine's columns); documents that failed give no rows."""
    import pandas as pd

    rows = [r for s, e in zip(batch["rows"], batch["error"]) if not e for r in json.loads(s)]
    return pd.DataFrame(rows)


class TagBatch(TagDocuments):
    """Read, segment and tag in one callable class, for ``ds.map_batches(TagBatch, compute=...,
    batch_format="pandas", fn_constructor_kwargs={"model": ...})`` on a Dataset with a ``path``
    column (and optionally ``bytes`` or ``text``): one row per sentence, as the local engine writes."""

    def __call__(self, batch):
        return explode_sentences(super().__call__(read_segment(batch)))


# --------------------------------------------------------------------------- building the pipeline
def tag_documents_dataset(ds, model: str | None = None, *, actors: int = 1, threads: int = 1, batch_size: int = 32,
                          docs_per_batch: int = 8, fast: bool = False, load_options: dict | None = None):
    """The document-level pipeline on a Ray Dataset of documents (:func:`read_segment` tasks, then a
    pool of ``actors`` :class:`TagDocuments` actors with ``threads`` CPUs each): one row per document.
    ``load_options`` go to every actor's :func:`~lawgov_nlp.load` (``exact``, ``backend``, ``draft``)."""
    ray = require_ray()
    ds = ds.map_batches(read_segment, batch_format="pandas", batch_size=docs_per_batch, num_cpus=READ_CPUS)
    return ds.map_batches(TagDocuments, batch_format="pandas", batch_size=docs_per_batch,
                          compute=ray.data.ActorPoolStrategy(size=actors), num_cpus=threads,
                          fn_constructor_kwargs=dict(model=model, threads=threads, batch_size=batch_size, fast=fast,
                                                                 load_options=load_options))


def tag_dataset(ds, model: str | None = None, **options):
    """A Ray Dataset of documents (a ``path`` column, and optionally ``bytes`` as from
    ``ray.data.read_binary_files(..., include_paths=True)``, or ``text``) → a Dataset of tagged
    sentences, one row per sentence with the local engine's columns, each document's rows in order.
    Options: ``actors``, ``threads`` (per actor), ``batch_size`` (sentences per forward pass),
    ``docs_per_batch``, ``fast``, ``load_options``. Documents that cannot be read or tagged give no rows; use
    :func:`tag_documents_dataset` to see them (its ``error`` column)."""
    return tag_documents_dataset(ds, model, **options).map_batches(explode_sentences, batch_format="pandas",
                                                                   num_cpus=READ_CPUS)


# --------------------------------------------------------------------------- the runtime
LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def _loopback_only() -> Callable[[], None]:
    """Make a local runtime listen on 127.0.0.1 only, and return what undoes it. Ray replaces
    ``_node_ip_address="127.0.0.1"`` by the machine's routable address and then binds its servers
    to every interface, unless its single-machine mode is on (the switch Ray uses on macOS and
    Windows). The variable reaches the processes Ray starts (they inherit this environment); the
    constant, read when ``ray`` was imported, is set for this process."""
    before = os.environ.get(LOOPBACK_ENV)
    os.environ[LOOPBACK_ENV] = "0"
    try:
        from ray._private import ray_constants
    except ImportError:  # a Ray laid out otherwise: the variable alone
        ray_constants = None
    was = getattr(ray_constants, "ENABLE_RAY_CLUSTER", None)
    if was is not None:
        ray_constants.ENABLE_RAY_CLUSTER = False

    def undo() -> None:
        if before is None:
            os.environ.pop(LOOPBACK_ENV, None)
        else:
            os.environ[LOOPBACK_ENV] = before
        if was is not None:
            ray_constants.ENABLE_RAY_CLUSTER = was
    return undo


@contextlib.contextmanager
def ray_runtime(address: str | None = None, *, num_cpus: int | None = None, temp_dir: str | None = None,
                quiet: bool = True) -> Iterator[object]:
    """Connected to Ray while inside: to the cluster at ``address`` (``auto``: the one ``ray start``
    made on this machine), else to a new local runtime on the loopback interface only (no
    dashboard, ``num_cpus`` CPUs, its files in ``temp_dir`` or a new temporary folder, removed
    afterwards). What this started is shut down on the way out; a connection the caller made
    (``ray.init`` before) is used and left open."""
    ray = require_ray()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if ray.is_initialized():
        yield ray
        return
    made, undo = None, (lambda: None)
    common = dict(include_dashboard=False, log_to_driver=not quiet, logging_level="warning" if quiet else "info")
    if address:
        ray.init(address=address, **common)
    else:
        made = None if temp_dir else tempfile.mkdtemp(prefix="lawgov-ray-")
        undo = _loopback_only()
        try:
            ray.init(num_cpus=num_cpus, _temp_dir=temp_dir or made, _node_ip_address="127.0.0.1", **common)
        except BaseException:
            undo()
            raise
    ctx = ray.data.DataContext.get_current()
    if quiet:
        import logging

        logging.getLogger("ray.data").setLevel(logging.WARNING)
        ctx.enable_progress_bars = False
        ctx.print_on_execution_start = False
        ctx.enable_auto_log_stats = False
    try:
        yield ray
    finally:
        ray.shutdown()
        undo()
        if made:
            shutil.rmtree(made, ignore_errors=True)


# --------------------------------------------------------------------------- what the CLI runs
@dataclass
class Finished:
    """One document as it reaches the driver."""

    path: str
    rows: list[dict]
    summary: dict


def run_files(files: Sequence[str | os.PathLike], write: Callable[[Finished], None],
              on_error: Callable[[str, str], None], *, model: str | None = None, address: str | None = None,
              actors: int = 1, threads: int = 1, batch_size: int = 32, docs_per_batch: int = 8, fast: bool = False,
              load_options: dict | None = None, on_warning: Callable[[str], None] | None = None, temp_dir: str | None = None,
              quiet: bool = True) -> RunStats:
    """Tag ``files`` on Ray; ``write(finished)`` gets each finished document on this (the driver's)
    machine as soon as it is done, ``on_error(path, reason)`` each file that failed. With no files
    nothing is started. The files must be readable at the same paths on every node."""
    stats = RunStats()
    if not files:
        return stats
    with ray_runtime(address, num_cpus=None if address else actors * threads + 1, temp_dir=temp_dir,
                     quiet=quiet) as ray:
        items = [{"path": str(f)} for f in files]
        ds = ray.data.from_items(items, override_num_blocks=max(1, math.ceil(len(items) / docs_per_batch)))
        docs = tag_documents_dataset(ds, model, actors=actors, threads=threads, batch_size=batch_size,
                                     docs_per_batch=docs_per_batch, fast=fast, load_options=load_options)
        for batch in docs.iter_batches(batch_format="pandas", batch_size=None, prefetch_batches=1):
            for r in batch.itertuples(index=False):
                if r.error:
                    on_error(r.path, r.error)
                    stats.failed.append((r.path, r.error))
                    continue
                if r.warning and on_warning:
                    on_warning(r.warning)
                rows = json.loads(r.rows)
                write(Finished(r.path, rows, json.loads(r.summary)))
                stats.documents += 1
                stats.sentences += len(rows)
    return stats


# --------------------------------------------------------------------------- resuming a folder of shards
def resume_shards(folder, sentences_in: Callable[[str], int | None]) -> set[str]:
    """The documents finished in a folder of shards (their resolved paths), after making every shard
    whole: a JSONL shard (or a Parquet shard's journal) whose last document was cut off by a kill
    is rewritten without it, atomically, and a journal left by a kill becomes its Parquet shard."""
    import pyarrow.parquet as pq

    from ..output import SHARD_PREFIX, Output, RowWriter, build_parquet_shard, read_jsonl_rows
    from .local import completed_documents, same_file_key

    done: set[str] = set()
    journals = sorted(folder.glob(f".{SHARD_PREFIX}*.parquet.journal.jsonl"))
    for shard in sorted(folder.glob(f"{SHARD_PREFIX}*.jsonl")) + journals:
        rows = read_jsonl_rows(shard)
        kept, finished = completed_documents(rows, sentences_in)
        if len(kept) != len(rows):
            RowWriter(Output(shard, "file", str(shard)), "jsonl", existing=kept).close()
        if shard in journals:
            build_parquet_shard(shard.with_name(shard.name[1:-len(".journal.jsonl")]))
        done |= finished
    for shard in sorted(folder.glob(f"{SHARD_PREFIX}*.parquet")):  # built whole, from finished documents only
        done |= {same_file_key(p) for p in pq.read_table(shard, columns=["path"]).column("path").to_pylist()}
    return done
