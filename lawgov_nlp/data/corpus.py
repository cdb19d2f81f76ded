"""Annotated data: the corpus format, validation, loading into ``datasets``, and annotation-tool formats.

The format is JSONL, one sentence a line::

    {"doc_id": "w1_city_annual_2022", "sent_id": "w1_city_annual_2022-0007",
     "text": "……", "dimension": "functions", "role": "achievement",
     "secondary": ["digital"], "section": ["一、主要举措和成效", "（一）……"], "source": "written"}

``doc_id``, ``sent_id``, ``text``, ``dimension`` and ``role`` are required;
``secondary``, ``section`` and ``source`` are optional; other keys (``genre``,
``script``, ``annotator`` …) are kept as they are. Labels are checked against
the configured :class:`~lawgov_nlp.scheme.LabelScheme`.

Round trips with the tools annotators use are in :mod:`lawgov_nlp.data.formats`.
"""
from __future__ import annotations

import csv
import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from ..errors import CorpusError
from ..scheme import LabelScheme, load_scheme

REQUIRED = ("doc_id", "sent_id", "text", "dimension", "role")
OPTIONAL = ("secondary", "section", "source", "is_heading", "heading_level", "paragraph")
FIELD_ORDER = REQUIRED + OPTIONAL


@dataclass(frozen=True)
class Problem:
    """One problem with one line of an annotated file, one task of a Label Studio export
    (``task`` is its id; then ``line`` is the task's position), or the whole file (``line`` 0)."""

    line: int
    field: str
    message: str
    task: Any = None

    @property
    def where(self) -> str:
        """``line 12``, ``task 17`` or ``file``."""
        if self.task is not None:
            return f"task {self.task}"
        return f"line {self.line}" if self.line else "file"

    def __str__(self) -> str:
        where = self.where
        return f"{self.field}: {self.message}" if where == "file" else f"{where}: {self.field}: {self.message}"


def _where(r: dict, i: int) -> tuple[int, Any]:
    return int(r.get("_line", i)), r.get("_task")


# --------------------------------------------------------------------------- JSONL
def read_jsonl(path: str | os.PathLike) -> tuple[list[dict], list[Problem]]:
    """Records of a JSONL file, with JSON syntax problems as :class:`Problem` (line numbers 1-based)."""
    records: list[dict] = []
    problems: list[Problem] = []
    with open(path, encoding="utf-8-sig") as fh:
        text = fh.read()
    for n, line in enumerate(text.split("\n"), 1):  # not splitlines(): a JSON string may hold U+2028
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            problems.append(Problem(n, "json", f"not valid JSON ({e.msg} at column {e.colno})"))
            continue
        if not isinstance(obj, dict):
            problems.append(Problem(n, "json", "a line must be a JSON object"))
            continue
        obj["_line"] = n
        records.append(obj)
    if problems and (len(problems) > 1 or not records):
        whole = _one_json_document(text)
        if whole is not None:  # e.g. a Label Studio export: one problem, not one per line
            return [], [Problem(1, "json", f"the file is one JSON {whole}, not JSON Lines (one object a line); "
                                           "a Label Studio export is read with --format labelstudio, or converted "
                                           "with: lawgov data convert EXPORT.json OUT.jsonl --from labelstudio")]
    return records, problems


def _one_json_document(text: str) -> str | None:
    """``"array"`` or ``"object"`` when the whole text is one (multi-line) JSON value, else None."""
    try:
        obj = json.loads(text)
    except (json.JSONDecodeError, ValueError):
        return None
    return "array" if isinstance(obj, list) else "object" if isinstance(obj, dict) else None


def write_jsonl(records: Iterable[dict], path: str | os.PathLike) -> int:
    """Write records atomically, required fields first; returns the number written."""
    from ..output import atomic_write

    n = 0
    with atomic_write(path) as fh:
        for r in records:
            fh.write(json.dumps(_ordered(r), ensure_ascii=False) + "\n")
            n += 1
    return n


def _ordered(r: dict) -> dict:
    out = {k: r[k] for k in FIELD_ORDER if k in r}
    out.update({k: v for k, v in r.items() if k not in out and not k.startswith("_")})
    return out


# --------------------------------------------------------------------------- validation
def validate_records(records: Sequence[dict], scheme: LabelScheme | None = None, *,
                     conflicts: bool = True) -> list[Problem]:
    """Every problem in the records: missing ids, empty text, unknown labels, bad types, duplicate ids,
    and (``conflicts``) the same text in the same section labelled differently: an annotation
    conflict (the same heading under "achievements" and under "plans" may differ, so the section
    path is part of it)."""
    scheme = scheme or load_scheme()
    dims, roles = set(scheme.dimension_codes), set(scheme.role_codes)
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    labelled: dict[tuple, tuple[str, tuple]] = {}
    for i, r in enumerate(records, 1):
        n, task = _where(r, i)
        here = f"task {task}" if task is not None else f"line {n}"

        def add(field: str, message: str) -> None:
            problems.append(Problem(n, field, message, task))

        for key in ("doc_id", "sent_id"):
            v = r.get(key)
            if v is None or (isinstance(v, str) and not v.strip()):
                add(key, f"missing {key.replace('_', ' ')}")
            elif not isinstance(v, (str, int)):
                add(key, f"must be a string, got {type(v).__name__}")
        text = r.get("text")
        if not isinstance(text, str):
            add("text", "missing text" if text is None else f"must be a string, got {type(text).__name__}")
        elif not text.strip():
            add("text", "empty text")
        d = r.get("dimension")
        if d is None or d == "":
            add("dimension", "missing dimension")
        elif d not in dims:
            add("dimension", f"unknown label {d!r} (scheme {scheme.name}: {', '.join(scheme.dimension_codes)})")
        ro = r.get("role")
        if ro is None or ro == "":
            add("role", "missing role")
        elif ro not in roles:
            add("role", f"unknown label {ro!r} (scheme {scheme.name}: {', '.join(scheme.role_codes)})")
        sec = r.get("secondary")
        if sec is not None:
            if not isinstance(sec, list) or not all(isinstance(x, str) for x in sec):
                add("secondary", "must be a list of dimension codes")
            else:
                for x in sec:
                    if x not in dims:
                        add("secondary", f"unknown label {x!r}")
                    elif x == d:
                        add("secondary", f"repeats the primary dimension {x!r}")
        section = r.get("section")
        if section is not None and (not isinstance(section, list) or not all(isinstance(x, str) for x in section)):
            add("section", "must be a list of heading texts")
        sid = r.get("sent_id")
        if isinstance(sid, (str, int)) and str(sid).strip():
            if str(sid) in seen:
                add("sent_id", f"duplicate id {sid!r} (first on {seen[str(sid)]})")
            else:
                seen[str(sid)] = here
        key = _text_key(r) if conflicts else None
        if key is not None:
            labels = (d, ro)
            if key in labelled and labelled[key][1] != labels:
                first, (d0, r0) = labelled[key]
                add("dimension" if d != d0 else "role",
                    f"conflicting labels: the same text in the same section is {d0}/{r0} on {first}, {d}/{ro} here")
            labelled.setdefault(key, (here, labels))
    return problems


def _text_key(r: dict) -> tuple | None:
    """What makes two annotated sentences the same one: their document, text and section path.

    The same words in two documents may rightly carry different labels (rule 9 of the
    guidelines: context decides; an imperative heading is a plan in a work plan and an
    achievement in an annual report), so only a conflict inside one document is a problem.
    """
    text, section = r.get("text"), r.get("section")
    if not isinstance(text, str) or not text.strip() or not r.get("dimension") or not r.get("role"):
        return None
    doc = str(r.get("doc_id") or "")
    if isinstance(section, list) and all(isinstance(x, str) for x in section):
        return doc, text.strip(), tuple(section)
    return doc, text.strip(), ()


def validate_file(path: str | os.PathLike, scheme: LabelScheme | None = None) -> tuple[list[dict], list[Problem]]:
    """Read and validate a JSONL file; returns the records and all problems found (an empty file is one)."""
    records, problems = read_jsonl(path)
    if not records and not problems:
        problems.append(Problem(0, "file", "no records: the file is empty"))
    problems += validate_records(records, scheme)
    problems.sort(key=lambda p: p.line)
    return records, problems


def check_splits(splits: Mapping[str, Sequence[dict]]) -> list[Problem]:
    """What leaks between the files of one experiment (``{"train": records, "dev": records, …}``;
    the names are split names or file names).

    * a ``doc_id`` in two splits: the splits must be by document, or dev and test scores
      measure memory (one problem per document and later split, at its first line there);
    * the same text in the same section labelled differently in two splits.

    Each problem's message names both files (its ``line``/``task`` is in the later one).

    Pass each file once: the same file under two names (a smoke test that trains and
    evaluates on one file) is the caller's choice and is not checked here.
    """
    problems: list[Problem] = []
    docs: dict[str, str] = {}        # doc_id -> split where first seen
    labelled: dict[tuple, tuple[str, str, tuple]] = {}
    for name, records in splits.items():
        reported: set[str] = set()
        mine: set[str] = set()
        for i, r in enumerate(records, 1):
            n, task = _where(r, i)
            doc = r.get("doc_id")
            if isinstance(doc, (str, int)) and str(doc).strip():
                doc = str(doc)
                first = docs.get(doc)
                if first is not None and first != name and doc not in reported:
                    reported.add(doc)
                    at = f"task {task}" if task is not None else f"line {n}"
                    problems.append(Problem(n, "doc_id", f"document {doc!r} is in {name} ({at}) and in {first}: "
                                                         "split by document, or the scores on it measure memory",
                                            task))
                mine.add(doc)
            key = _text_key(r)
            if key is not None:
                labels = (r.get("dimension"), r.get("role"))
                seen = labelled.get(key)
                if seen is not None and seen[0] != name and seen[2] != labels:
                    at = f"task {task}" if task is not None else f"line {n}"
                    problems.append(Problem(n, "dimension" if labels[0] != seen[2][0] else "role",
                                            f"conflicting labels: the same text in the same section is "
                                            f"{seen[2][0]}/{seen[2][1]} in {seen[0]} ({seen[1]}) and "
                                            f"{labels[0]}/{labels[1]} in {name} ({at})", task))
                labelled.setdefault(key, (name, f"task {task}" if task is not None else f"line {n}", labels))
        for doc in mine:
            docs.setdefault(doc, name)
    return problems


def load_records(paths: str | os.PathLike | Sequence[str | os.PathLike], scheme: LabelScheme | None = None) -> list[dict]:
    """Validated records of one or more JSONL files; raises :class:`CorpusError` listing every bad line
    (an empty or unreadable file is one problem)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out: list[dict] = []
    for p in paths:
        try:
            records, problems = validate_file(p, scheme)
        except OSError as e:
            raise CorpusError(str(p), [Problem(0, "file", f"cannot read it ({e.strerror or e})")]) from e
        except UnicodeDecodeError as e:
            raise CorpusError(str(p), [Problem(0, "file", f"not UTF-8 text ({e.reason} at byte {e.start})")]) from e
        if problems:
            raise CorpusError(str(p), problems)
        out.extend(records)
    return out


# --------------------------------------------------------------------------- datasets
def to_dataset(records: Sequence[dict], scheme: LabelScheme | None = None):
    """A ``datasets.Dataset`` with string labels plus integer ``dimension_id``/``role_id`` columns."""
    import datasets

    scheme = scheme or load_scheme()
    dims, roles = scheme.dimension_codes, scheme.role_codes
    cols: dict[str, list[Any]] = {k: [] for k in ("doc_id", "sent_id", "text", "dimension", "role", "secondary",
                                                   "section", "source", "dimension_id", "role_id")}
    for r in records:
        cols["doc_id"].append(str(r["doc_id"]))
        cols["sent_id"].append(str(r["sent_id"]))
        cols["text"].append(r["text"])
        cols["dimension"].append(r["dimension"])
        cols["role"].append(r["role"])
        cols["secondary"].append(list(r.get("secondary") or []))
        cols["section"].append(list(r.get("section") or []))
        cols["source"].append(str(r.get("source") or ""))
        cols["dimension_id"].append(dims.index(r["dimension"]))
        cols["role_id"].append(roles.index(r["role"]))
    features = datasets.Features({
        "doc_id": datasets.Value("string"), "sent_id": datasets.Value("string"), "text": datasets.Value("string"),
        "dimension": datasets.Value("string"), "role": datasets.Value("string"),
        "secondary": datasets.Sequence(datasets.Value("string")), "section": datasets.Sequence(datasets.Value("string")),
        "source": datasets.Value("string"),
        "dimension_id": datasets.ClassLabel(names=dims), "role_id": datasets.ClassLabel(names=roles),
    })
    return datasets.Dataset.from_dict(cols, features=features)


def load_dataset(paths, scheme: LabelScheme | None = None):
    """Load annotated JSONL file(s) into a validated ``datasets.Dataset``."""
    scheme = scheme or load_scheme()
    return to_dataset(load_records(paths, scheme), scheme)


def load_splits(files: dict[str, str | os.PathLike] | str | os.PathLike, scheme: LabelScheme | None = None):
    """A ``datasets.DatasetDict`` from ``{"train": path, ...}`` or a folder holding ``<split>.jsonl`` files."""
    import datasets

    scheme = scheme or load_scheme()
    if not isinstance(files, dict):
        folder = Path(files)
        files = {p.stem: p for p in sorted(folder.glob("*.jsonl")) if p.stem in ("train", "dev", "test", "real")}
        if not files:
            raise CorpusError(str(folder), [Problem(0, "folder", "no train/dev/test/real .jsonl files")])
    return datasets.DatasetDict({k: load_dataset(v, scheme) for k, v in files.items()})


# --------------------------------------------------------------------------- stats
def label_counts(records: Sequence[dict], scheme: LabelScheme | None = None) -> "Any":
    """A pandas DataFrame of dimension × role counts with totals, rows and columns in scheme order."""
    import pandas as pd

    scheme = scheme or load_scheme()
    c = Counter((r.get("dimension"), r.get("role")) for r in records)
    rows = scheme.dimension_codes + sorted({d for d, _ in c if d not in scheme.dimension_codes and d is not None})
    cols = scheme.role_codes + sorted({r for _, r in c if r not in scheme.role_codes and r is not None})
    df = pd.DataFrame([[c.get((d, r), 0) for r in cols] for d in rows], index=rows, columns=cols)
    df["total"] = df.sum(axis=1)
    df.loc["total"] = df.sum(axis=0)
    return df
