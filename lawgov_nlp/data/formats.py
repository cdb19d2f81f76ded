"""Annotation-tool formats, with label names (never ids): Label Studio (JSON tasks; gold or model
labels go in ``predictions`` so a user can correct pre-annotations), doccano (text-classification
JSONL), CSV, and the rows ``lawgov tag`` writes (so tagged output becomes pre-annotations: its
JSONL or CSV is recognised by :func:`read_any` and converted by :func:`from_tag_rows`).

CSV cells that a spreadsheet would run as formulas (starting with ``= + - @``, tab or CR) are
written with a leading ``'`` (OWASP "CSV Injection"; see :func:`lawgov_nlp.output.neutralise_formula`)
and read back without it, so a round trip keeps the text exactly.
"""
from __future__ import annotations

import csv
import json
import os
from typing import Any, Sequence

from ..errors import CorpusError
from ..scheme import LabelScheme, load_scheme
from .corpus import FIELD_ORDER, Problem, _ordered, read_jsonl, validate_records, write_jsonl


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
    for item, key in zip(res, ("score", "_role_score")):  # a model's confidence in each choice
        if r.get(key) is not None:
            item["score"] = float(r[key])
    if r.get("secondary"):
        res.append({"from_name": "secondary", "to_name": "text", "type": "choices",
                    "value": {"choices": list(r["secondary"])}})
    return res


def to_label_studio(records: Sequence[dict], model_version: str = "gold") -> list[dict]:
    """Label Studio tasks; each record's labels become a prediction the annotator can accept or correct.

    Any ``score`` in a record (e.g. a model's confidence) is passed on as the prediction score;
    records from :func:`from_tag_rows` carry the tagging model's name and scores.
    """
    tasks = []
    for i, r in enumerate(records):
        data = {k: v for k, v in _ordered(r).items() if k not in ("dimension", "role", "secondary", "score")}
        data["section"] = " > ".join(r.get("section") or [])
        data["section_path"] = list(r.get("section") or [])
        task: dict[str, Any] = {"id": i + 1, "data": data}
        if r.get("dimension") and r.get("role"):
            pred: dict[str, Any] = {"model_version": r.get("_model_version") or model_version,
                                    "result": _ls_result(r)}
            if r.get("score") is not None:
                pred["score"] = float(r["score"])
            task["predictions"] = [pred]
        tasks.append(task)
    return tasks


def from_label_studio(tasks: Sequence[dict], use_predictions: bool = True) -> list[dict]:
    """Records from a Label Studio JSON export: the latest non-cancelled annotation wins,
    else (if ``use_predictions``) the first prediction; tasks with neither keep null labels.

    Each record keeps its task id as ``_task`` (so problems name the task) and ``_annotated``
    (whether a person annotated it); neither is written out."""
    out = []
    for pos, t in enumerate(tasks, 1):
        if not isinstance(t, dict):
            raise CorpusError("<Label Studio export>", [Problem(pos, "task", "a task must be a JSON object",
                                                                task=pos)], "a Label Studio export")
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
        rec = _ordered(rec)
        rec["_task"] = t.get("id", pos)
        rec["_line"] = pos
        rec["_annotated"] = bool(anns)
        out.append(rec)
    return out


def read_label_studio(path: str | os.PathLike, use_predictions: bool = True) -> list[dict]:
    """Records of a Label Studio JSON export file (see :func:`from_label_studio`); a file that is not
    one JSON list of tasks is one :class:`CorpusError`, not one error per line."""
    with open(path, encoding="utf-8-sig") as fh:
        text = fh.read()
    try:
        tasks = json.loads(text)
    except json.JSONDecodeError as e:
        hint = ""
        if text.lstrip().startswith("{") and "\n{" in text.strip():
            hint = "; it looks like JSON Lines: use --format jsonl or doccano"
        raise CorpusError(str(path), [Problem(e.lineno, "json", f"not valid JSON ({e.msg} at column {e.colno}){hint}")],
                          "a Label Studio export") from e
    if isinstance(tasks, dict):  # one task exported alone
        tasks = [tasks]
    if not isinstance(tasks, list):
        raise CorpusError(str(path), [Problem(1, "json", "a Label Studio export is a JSON list of tasks")],
                          "a Label Studio export")
    try:
        return from_label_studio(tasks, use_predictions=use_predictions)
    except CorpusError as e:
        raise CorpusError(str(path), e.problems, "a Label Studio export") from None


# --------------------------------------------------------------------------- lawgov tag output
TAG_ROW_DROP = ("dimension_name", "dimension_score")


def is_tag_rows(rows: Sequence[dict]) -> bool:
    """Whether rows are what ``lawgov tag`` writes (JSONL or CSV): per-class probability columns."""
    return bool(rows) and "dimension_score" in rows[0] and any(k.startswith("p_role_") for k in rows[0])


def from_tag_rows(rows: Sequence[dict], model_version: str = "lawgov tag") -> list[dict]:
    """Records (pre-annotations) from the rows ``lawgov tag`` writes: sentence ids from the document
    and index, the section path and secondary dimensions as lists, and the model's confidence in
    its dimension (``score``) and role kept for the Label Studio prediction. The per-class
    probability columns are left out."""
    out = []
    for n, row in enumerate(rows, 1):
        rec = {k: v for k, v in row.items()
               if k is not None and not k.startswith("p_") and k not in TAG_ROW_DROP and not k.startswith("_")}
        doc = row.get("doc_id") or (os.path.splitext(os.path.basename(str(row.get("path") or "")))[0] or "document")
        rec["doc_id"] = doc
        idx = row.get("index")
        try:
            idx = int(idx)
        except (TypeError, ValueError):
            idx = n - 1
        rec["index"] = idx
        if not rec.get("sent_id"):
            rec["sent_id"] = f"{doc}-{idx:04d}"
        for key, sep in (("section", SECTION_SEP), ("secondary", "|")):
            v = row.get(key)
            rec[key] = list(v) if isinstance(v, list) else [x for x in str(v or "").split(sep) if x]
        for key in ("is_heading", "is_problem"):
            if isinstance(row.get(key), str):
                rec[key] = row[key].strip().lower() in ("true", "1", "yes")
        for key in ("start", "end"):
            if isinstance(row.get(key), str) and row[key].strip().lstrip("-").isdigit():
                rec[key] = int(row[key])
        if isinstance(row.get("problem_probability"), str):
            rec["problem_probability"] = _float(row["problem_probability"])
        rec["score"] = _float(row.get("dimension_score"))
        rec["_role_score"] = _float(row.get(f"p_role_{row.get('role')}"))
        rec["_model_version"] = model_version
        rec["_line"] = row.get("_line", n)
        out.append(rec)
    return out


def _float(v):
    try:
        return None if v in (None, "") else float(v)
    except (TypeError, ValueError):
        return None


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
    """CSV for spreadsheet users (UTF-8 with BOM so Excel shows Chinese): lists joined by '|' and ' > ';
    a cell a spreadsheet would run as a formula gets a leading ``'`` (see the module docstring)."""
    from ..output import atomic_write, neutralise_formula

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
            w.writerow({k: neutralise_formula(v) for k, v in row.items()})


def from_csv(path: str | os.PathLike) -> list[dict]:
    """Records from a CSV written by :func:`to_csv` (or by ``lawgov tag``, or by hand) with the same
    column names; the formula guard's leading ``'`` is removed."""
    from ..output import restore_formula

    out = []
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for n, raw in enumerate(csv.DictReader(fh), 2):
            row = {restore_formula(k): restore_formula(v) for k, v in raw.items()}
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
    """Records from a file in any supported format (guessed from the extension when ``fmt`` is None).

    The JSONL or CSV that ``lawgov tag`` writes is recognised and read as pre-annotations
    (:func:`from_tag_rows`). A file that cannot be read is a :class:`CorpusError`."""
    fmt = fmt or guess_format(path)
    try:
        if fmt == "csv":
            rows = from_csv(path)
            return from_tag_rows(rows) if is_tag_rows(rows) else rows
        if fmt == "labelstudio":
            return read_label_studio(path)
        rows, problems = read_jsonl(path)
    except OSError as e:
        raise CorpusError(str(path), [Problem(0, "file", f"cannot read it ({e.strerror or e})")]) from e
    except UnicodeDecodeError as e:
        raise CorpusError(str(path), [Problem(0, "file", f"not UTF-8 text ({e.reason} at byte {e.start})")]) from e
    if problems:
        raise CorpusError(str(path), problems)
    if fmt == "doccano":
        return from_doccano(rows)
    return from_tag_rows(rows) if is_tag_rows(rows) else rows


def validate_any(path: str | os.PathLike, scheme: LabelScheme | None = None,
                 fmt: str | None = None) -> tuple[list[dict], list[Problem]]:
    """Read and validate an annotated file of any format as gold data: every problem, by line (by
    task id for Label Studio, where a task no person annotated is a problem: its prediction is
    not a label). An empty file is a problem; a file that cannot be read is a :class:`CorpusError`."""
    from .corpus import validate_file

    fmt = fmt or guess_format(path)
    if fmt == "jsonl":
        try:
            return validate_file(path, scheme)
        except OSError as e:
            raise CorpusError(str(path), [Problem(0, "file", f"cannot read it ({e.strerror or e})")]) from e
        except UnicodeDecodeError as e:
            raise CorpusError(str(path), [Problem(0, "file", f"not UTF-8 text ({e.reason} at byte {e.start})")]) from e
    problems: list[Problem] = []
    if fmt == "labelstudio":
        try:
            records = read_label_studio(path, use_predictions=False)
        except OSError as e:
            raise CorpusError(str(path), [Problem(0, "file", f"cannot read it ({e.strerror or e})")]) from e
        for r in records:
            if not r.get("_annotated"):
                problems.append(Problem(r["_line"], "annotation", "no annotation (a prediction is not a label; "
                                                                  "annotate or skip the task)", r["_task"]))
        unannotated = {id(r) for r in records if not r.get("_annotated")}
        problems += validate_records([r for r in records if id(r) not in unannotated], scheme)
    else:
        records = read_any(path, fmt)
        problems += validate_records(records, scheme)
    if not records:
        problems.append(Problem(0, "file", "no records: the file is empty"))
    problems.sort(key=lambda p: p.line)
    return records, problems


def write_any(records: Sequence[dict], path: str | os.PathLike, fmt: str | None = None) -> None:
    """Write records in any supported format (atomically)."""
    from ..output import atomic_write

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
