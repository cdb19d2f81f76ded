"""Annotation-tool formats, with label names (never ids): Label Studio (JSON tasks; gold or model
labels go in ``predictions`` so a user can correct pre-annotations), doccano (text-classification
JSONL), CSV, and the rows ``lawgov tag`` writes (so tagged output becomes pre-annotations).
"""
from __future__ import annotations

import csv
import json
import os
from typing import Any, Sequence

from ..errors import CorpusError
from ..scheme import LabelScheme, load_scheme
from .corpus import FIELD_ORDER, Problem, _ordered, read_jsonl, write_jsonl


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
    from ..output import atomic_write

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
