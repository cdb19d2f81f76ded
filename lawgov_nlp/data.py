"""Annotated data: the corpus format, validation, loading into ``datasets``, and annotation-tool formats.

The format is JSONL, one sentence a line::

    {"doc_id": "w1_city_annual_2022", "sent_id": "w1_city_annual_2022-0007",
     "text": "……", "dimension": "functions", "role": "achievement",
     "secondary": ["digital"], "section": ["一、主要举措和成效", "（一）……"], "source": "written"}

``doc_id``, ``sent_id``, ``text``, ``dimension`` and ``role`` are required;
``secondary``, ``section`` and ``source`` are optional; other keys (``genre``,
``script``, ``annotator`` …) are kept as they are. Labels are checked against
the configured :class:`~lawgov_nlp.scheme.LabelScheme`.

Round trips with the tools annotators use, with label names (never ids):
Label Studio (JSON tasks; gold or model labels go in ``predictions`` so a user
can correct pre-annotations), doccano (text-classification JSONL) and CSV.
"""
from __future__ import annotations

import csv
import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from .errors import LawgovError
from .scheme import LabelScheme, load_scheme

REQUIRED = ("doc_id", "sent_id", "text", "dimension", "role")
OPTIONAL = ("secondary", "section", "source")
FIELD_ORDER = REQUIRED + OPTIONAL


class CorpusError(LawgovError, ValueError):
    """Annotated data that does not follow the format; lists the bad lines."""

    def __init__(self, path: str, problems: Sequence["Problem"]):
        self.path = path
        self.problems = list(problems)
        head = "\n".join(f"  {p}" for p in self.problems[:20])
        more = f"\n  … and {len(self.problems) - 20} more" if len(self.problems) > 20 else ""
        super().__init__(f"{path}: {len(self.problems)} problem(s) in annotated data:\n{head}{more}")


@dataclass(frozen=True)
class Problem:
    """One problem with one line of an annotated file."""

    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.message}"


# --------------------------------------------------------------------------- JSONL
def read_jsonl(path: str | os.PathLike) -> tuple[list[dict], list[Problem]]:
    """Records of a JSONL file, with JSON syntax problems as :class:`Problem` (line numbers 1-based)."""
    records: list[dict] = []
    problems: list[Problem] = []
    with open(path, encoding="utf-8-sig") as fh:
        for n, line in enumerate(fh, 1):
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
    return records, problems


def write_jsonl(records: Iterable[dict], path: str | os.PathLike) -> int:
    """Write records atomically, required fields first; returns the number written."""
    from .io import atomic_write

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
def validate_records(records: Sequence[dict], scheme: LabelScheme | None = None) -> list[Problem]:
    """Every problem in the records: missing ids, empty text, unknown labels, bad types, duplicate ids."""
    scheme = scheme or load_scheme()
    dims, roles = set(scheme.dimension_codes), set(scheme.role_codes)
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for i, r in enumerate(records, 1):
        n = int(r.get("_line", i))
        for key in ("doc_id", "sent_id"):
            v = r.get(key)
            if v is None or (isinstance(v, str) and not v.strip()):
                problems.append(Problem(n, key, f"missing {key.replace('_', ' ')}"))
            elif not isinstance(v, (str, int)):
                problems.append(Problem(n, key, f"must be a string, got {type(v).__name__}"))
        text = r.get("text")
        if not isinstance(text, str):
            problems.append(Problem(n, "text", "missing text" if text is None else f"must be a string, got {type(text).__name__}"))
        elif not text.strip():
            problems.append(Problem(n, "text", "empty text"))
        d = r.get("dimension")
        if d is None or d == "":
            problems.append(Problem(n, "dimension", "missing dimension"))
        elif d not in dims:
            problems.append(Problem(n, "dimension", f"unknown label {d!r} (scheme {scheme.name}: {', '.join(scheme.dimension_codes)})"))
        ro = r.get("role")
        if ro is None or ro == "":
            problems.append(Problem(n, "role", "missing role"))
        elif ro not in roles:
            problems.append(Problem(n, "role", f"unknown label {ro!r} (scheme {scheme.name}: {', '.join(scheme.role_codes)})"))
        sec = r.get("secondary")
        if sec is not None:
            if not isinstance(sec, list) or not all(isinstance(x, str) for x in sec):
                problems.append(Problem(n, "secondary", "must be a list of dimension codes"))
            else:
                for x in sec:
                    if x not in dims:
                        problems.append(Problem(n, "secondary", f"unknown label {x!r}"))
                    elif x == d:
                        problems.append(Problem(n, "secondary", f"repeats the primary dimension {x!r}"))
        section = r.get("section")
        if section is not None and (not isinstance(section, list) or not all(isinstance(x, str) for x in section)):
            problems.append(Problem(n, "section", "must be a list of heading texts"))
        sid = r.get("sent_id")
        if isinstance(sid, (str, int)) and str(sid).strip():
            if str(sid) in seen:
                problems.append(Problem(n, "sent_id", f"duplicate id {sid!r} (first on line {seen[str(sid)]})"))
            else:
                seen[str(sid)] = n
    return problems


def validate_file(path: str | os.PathLike, scheme: LabelScheme | None = None) -> tuple[list[dict], list[Problem]]:
    """Read and validate a JSONL file; returns the records and all problems found."""
    records, problems = read_jsonl(path)
    problems += validate_records(records, scheme)
    problems.sort(key=lambda p: p.line)
    return records, problems


def load_records(paths: str | os.PathLike | Sequence[str | os.PathLike], scheme: LabelScheme | None = None) -> list[dict]:
    """Validated records of one or more JSONL files; raises :class:`CorpusError` listing every bad line."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out: list[dict] = []
    for p in paths:
        records, problems = validate_file(p, scheme)
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


# --------------------------------------------------------------------------- Label Studio
def label_studio_config(scheme: LabelScheme | None = None) -> str:
    """Labeling-interface XML for a Label Studio project using the scheme's label names."""
    from xml.sax.saxutils import quoteattr

    scheme = scheme or load_scheme()

    def choices(name: str, labels, multiple: bool = False) -> str:
        attrs = ' choice="multiple"' if multiple else ' choice="single" required="true"'
        inner = "\n".join(f"    <Choice value={quoteattr(x.code)} hint={quoteattr(x.name)}/>" for x in labels)
        return f'  <Choices name="{name}" toName="text"{attrs}>\n{inner}\n  </Choices>'

    return "\n".join([
        "<View>",
        '  <Header value="$section"/>',
        '  <Text name="text" value="$text"/>',
        choices("dimension", scheme.dimensions),
        choices("role", scheme.roles),
        choices("secondary", [d for d in scheme.dimensions if d.code != scheme.fallback_dimension], multiple=True),
        "</View>",
    ])


def _ls_result(r: dict) -> list[dict]:
    res = [
        {"from_name": "dimension", "to_name": "text", "type": "choices", "value": {"choices": [r["dimension"]]}},
        {"from_name": "role", "to_name": "text", "type": "choices", "value": {"choices": [r["role"]]}},
    ]
    if r.get("secondary"):
        res.append({"from_name": "secondary", "to_name": "text", "type": "choices",
                    "value": {"choices": list(r["secondary"])}})
    return res


def to_label_studio(records: Sequence[dict], model_version: str = "gold") -> list[dict]:
    """Label Studio tasks; each record's labels become a prediction the annotator can accept or correct.

    Any ``score`` in a record (e.g. a model's confidence) is passed on as the prediction score.
    """
    tasks = []
    for i, r in enumerate(records):
        data = {k: v for k, v in _ordered(r).items() if k not in ("dimension", "role", "secondary", "score")}
        data["section"] = " > ".join(r.get("section") or [])
        data["section_path"] = list(r.get("section") or [])
        task: dict[str, Any] = {"id": i + 1, "data": data}
        if r.get("dimension") and r.get("role"):
            pred: dict[str, Any] = {"model_version": model_version, "result": _ls_result(r)}
            if r.get("score") is not None:
                pred["score"] = float(r["score"])
            task["predictions"] = [pred]
        tasks.append(task)
    return tasks


def from_label_studio(tasks: Sequence[dict], use_predictions: bool = True) -> list[dict]:
    """Records from a Label Studio JSON export: the latest non-cancelled annotation wins,
    else (if ``use_predictions``) the first prediction; tasks with neither keep null labels."""
    out = []
    for t in tasks:
        data = dict(t.get("data") or {})
        section = data.pop("section_path", None)
        section_str = data.pop("section", "")
        rec = {k: v for k, v in data.items()}
        rec["section"] = list(section) if section is not None else ([x for x in section_str.split(" > ") if x] if section_str else [])
        results = None
        anns = [a for a in (t.get("annotations") or []) if not a.get("was_cancelled")]
        if anns:
            anns.sort(key=lambda a: (a.get("updated_at") or a.get("created_at") or "", a.get("id") or 0))
            results = anns[-1].get("result") or []
        elif use_predictions and t.get("predictions"):
            results = t["predictions"][0].get("result") or []
        rec["dimension"] = rec["role"] = None
        rec["secondary"] = []
        for item in results or []:
            name = item.get("from_name")
            ch = (item.get("value") or {}).get("choices") or []
            if name == "dimension" and ch:
                rec["dimension"] = ch[0]
            elif name == "role" and ch:
                rec["role"] = ch[0]
            elif name == "secondary":
                rec["secondary"] = list(ch)
        out.append(_ordered(rec))
    return out


# --------------------------------------------------------------------------- doccano
DOCCANO_PREFIX = {"dimension": "dimension:", "role": "role:", "secondary": "secondary:"}


def to_doccano(records: Sequence[dict]) -> list[dict]:
    """doccano text-classification JSONL rows: ``label`` holds names such as ``dimension:functions``."""
    rows = []
    for r in records:
        labels = []
        if r.get("dimension"):
            labels.append(DOCCANO_PREFIX["dimension"] + r["dimension"])
        if r.get("role"):
            labels.append(DOCCANO_PREFIX["role"] + r["role"])
        labels += [DOCCANO_PREFIX["secondary"] + s for s in r.get("secondary") or []]
        row = {"text": r["text"], "label": labels}
        row.update({k: v for k, v in _ordered(r).items() if k not in ("text", "dimension", "role", "secondary")})
        rows.append(row)
    return rows


def from_doccano(rows: Sequence[dict]) -> list[dict]:
    """Records from doccano JSONL (``label`` or ``labels``; names with the prefixes used by :func:`to_doccano`)."""
    out = []
    for row in rows:
        rec = {k: v for k, v in row.items() if k not in ("label", "labels", "id")}
        rec["dimension"] = rec["role"] = None
        rec["secondary"] = []
        for lab in row.get("label", row.get("labels")) or []:
            lab = lab if isinstance(lab, str) else str(lab[-1])
            for key, pre in DOCCANO_PREFIX.items():
                if lab.startswith(pre):
                    v = lab[len(pre):]
                    if key == "secondary":
                        rec["secondary"].append(v)
                    else:
                        rec[key] = v
        out.append(_ordered(rec))
    return out


# --------------------------------------------------------------------------- CSV
SECTION_SEP = " > "


def to_csv(records: Sequence[dict], path: str | os.PathLike) -> None:
    """CSV for spreadsheet users (UTF-8 with BOM so Excel shows Chinese): lists joined by '|' and ' > '."""
    from .io import atomic_write

    extra = sorted({k for r in records for k in r if k not in FIELD_ORDER and not k.startswith("_")})
    fields = list(FIELD_ORDER) + extra
    with atomic_write(path, encoding="utf-8-sig") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        for r in records:
            row = {k: r.get(k) for k in fields}
            row["secondary"] = "|".join(r.get("secondary") or [])
            sec = list(r.get("section") or [])
            row["section"] = (json.dumps(sec, ensure_ascii=False) if any(SECTION_SEP in s or s.startswith("[") for s in sec)
                              else SECTION_SEP.join(sec))
            for k in extra:
                if isinstance(row[k], (list, dict)):
                    row[k] = json.dumps(row[k], ensure_ascii=False)
            w.writerow(row)


def from_csv(path: str | os.PathLike) -> list[dict]:
    """Records from a CSV written by :func:`to_csv` or by hand with the same column names."""
    out = []
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for n, row in enumerate(csv.DictReader(fh), 2):
            rec: dict[str, Any] = {k: (v if v != "" else None) for k, v in row.items() if k is not None}
            rec["secondary"] = [x for x in (row.get("secondary") or "").split("|") if x]
            sec = row.get("section") or ""
            if sec.startswith("["):
                try:
                    rec["section"] = json.loads(sec)
                except json.JSONDecodeError:
                    rec["section"] = [x for x in sec.split(SECTION_SEP) if x]
            else:
                rec["section"] = [x for x in sec.split(SECTION_SEP) if x]
            if rec.get("text") is None:
                rec["text"] = ""
            rec["_line"] = n
            out.append(rec)
    return out


# --------------------------------------------------------------------------- file-level convert
FORMATS = ("jsonl", "labelstudio", "doccano", "csv")


def guess_format(path: str | os.PathLike) -> str:
    p = str(path).lower()
    if p.endswith(".csv"):
        return "csv"
    if p.endswith(".json"):
        return "labelstudio"
    return "jsonl"


def read_any(path: str | os.PathLike, fmt: str | None = None) -> list[dict]:
    """Records from a file in any supported format (guessed from the extension when ``fmt`` is None)."""
    fmt = fmt or guess_format(path)
    if fmt == "csv":
        return from_csv(path)
    if fmt == "labelstudio":
        with open(path, encoding="utf-8-sig") as fh:
            return from_label_studio(json.load(fh))
    rows, problems = read_jsonl(path)
    if problems:
        raise CorpusError(str(path), problems)
    if fmt == "doccano":
        return from_doccano(rows)
    return rows


def write_any(records: Sequence[dict], path: str | os.PathLike, fmt: str | None = None) -> None:
    """Write records in any supported format (atomically)."""
    from .io import atomic_write

    fmt = fmt or guess_format(path)
    if fmt == "csv":
        to_csv(records, path)
    elif fmt == "labelstudio":
        with atomic_write(path) as fh:
            json.dump(to_label_studio(records), fh, ensure_ascii=False, indent=1)
    elif fmt == "doccano":
        with atomic_write(path) as fh:
            for row in to_doccano(records):
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    else:
        write_jsonl(records, path)
