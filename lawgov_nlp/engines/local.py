"""The local engine: read, segment and tag files in this process, one finished document at a time.

:func:`read_documents` turns input files into documents and reports every file that fails
(a :class:`~lawgov_nlp.errors.ReadError`, or any unexpected exception) without stopping;
:func:`tag_to_writer` tags them in batches and hands each finished document to a
:class:`~lawgov_nlp.output.RowWriter`, so an interrupt or a crash never loses finished work.
The model is loaded only when the first document needs it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from ..errors import ReadError
from ..text.reading import Document, read_file

OnError = Callable[[str, str], None]


@dataclass
class RunStats:
    documents: int = 0
    sentences: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: int = 0


def describe_exception(e: BaseException) -> str:
    return f"unexpected error while processing this file ({type(e).__name__}: {e}); the other files go on"


def read_guarded(path: str | os.PathLike, read: Callable[[], Document]) -> Document:
    """``read()``, with any failure turned into a :class:`ReadError` naming ``path`` (every engine reads through this)."""
    try:
        return read()
    except ReadError:
        raise
    except (KeyboardInterrupt, SystemExit):
        raise
    except RecursionError as e:
        raise ReadError(path, "the document is nested too deeply to read") from e
    except MemoryError as e:
        raise ReadError(path, "not enough memory to read this file") from e
    except Exception as e:  # noqa: BLE001 - one bad file must not stop the batch
        raise ReadError(path, describe_exception(e)) from e


def read_one(path: str | os.PathLike, **kwargs) -> Document:
    """Read one file; any failure becomes a :class:`ReadError` naming the file."""
    return read_guarded(path, lambda: read_file(path, **kwargs))


def garbled_warning(doc: Document) -> str | None:
    """The warning a document with garbled spans (mojibake) gets, or None."""
    if not doc.suspicious:
        return None
    return f"{doc.path}: {len(doc.suspicious)} garbled span(s), e.g. offset {doc.suspicious[0].start}"


def document_rows(tagged) -> list[dict]:
    """The output rows of one tagged document: one per sentence, with the file's path (every engine writes these)."""
    rows = tagged.to_records()
    for r in rows:
        r["path"] = tagged.path
    return rows


def read_documents(files: Iterable[str | os.PathLike], on_error: OnError, **kwargs) -> Iterator[Document]:
    """Documents of the files that can be read; every other file goes to ``on_error(path, reason)``."""
    for f in files:
        try:
            yield read_one(f, **kwargs)
        except ReadError as e:
            on_error(e.path, e.reason)


def tag_to_writer(load_tagger: Callable[[], object], docs: Iterable[Document], write: Callable[[object], None],
                  on_error: OnError, *, batch_sentences: int = 256, progress: Callable[[int], None] | None = None,
                  on_document: Callable[[object], None] | None = None) -> RunStats:
    """Tag documents in batches of about ``batch_sentences`` sentences; ``write(tagged_doc)`` is called
    for each finished document, in input order. A document whose tagging fails is reported and
    skipped; the others go on. ``load_tagger`` is called once, when the first document arrives."""
    stats = RunStats()
    tagger = None
    batch: list[Document] = []
    n_batch = 0

    def flush() -> None:
        nonlocal tagger, n_batch
        if not batch:
            return
        if tagger is None:
            tagger = load_tagger()
        try:
            tagged = tagger.tag_documents(batch, progress=progress)
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception:  # noqa: BLE001 - find the one document that fails, keep the rest
            tagged = []
            for d in batch:
                try:
                    tagged.extend(tagger.tag_documents([d], progress=progress))
                except (KeyboardInterrupt, SystemExit):
                    raise
                except Exception as e:  # noqa: BLE001
                    on_error(d.path or d.doc_id, describe_exception(e))
                    stats.failed.append((d.path or d.doc_id, str(e)))
        for t in tagged:
            write(t)
            stats.documents += 1
            stats.sentences += len(t.sentences)
            if on_document:
                on_document(t)
        batch.clear()
        n_batch = 0

    for d in docs:
        batch.append(d)
        n_batch += len(d.sentences)
        if n_batch >= batch_sentences:
            flush()
    flush()
    return stats


def same_file_key(path: str | os.PathLike) -> str:
    """How resume matches a document: its resolved path, so ``reports/a.txt`` and ``/abs/reports/a.txt`` agree."""
    return str(Path(path).expanduser().resolve())


def completed_documents(rows: Sequence[dict], sentences_in: Callable[[str], int | None]) -> tuple[list[dict], set[str]]:
    """Rows of the documents an earlier run finished, and their resolved paths.

    Documents are appended one at a time, so only the last one in the output can be cut
    off; it counts as finished when its rows match the sentences the file has now
    (``sentences_in(path)``), and is dropped to be tagged again otherwise.
    """
    order: list[str] = []
    by_doc: dict[str, list[dict]] = {}
    for r in rows:
        key = same_file_key(r.get("path") or r.get("doc_id") or "")
        if key not in by_doc:
            by_doc[key] = []
            order.append(key)
        by_doc[key].append(r)
    if order:
        last = order[-1]
        n = sentences_in(by_doc[last][0].get("path") or "")
        if n is None or len(by_doc[last]) != n:
            order.pop()
            del by_doc[last]
    kept = [r for k in order for r in by_doc[k]]
    return kept, set(order)
