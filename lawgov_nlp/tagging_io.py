"""Writers and readers for tagged output (JSONL, CSV, XLSX), all written atomically."""
from __future__ import annotations

import json
import os
from pathlib import Path

from .io import atomic_write


def write_rows(rows: list[dict], path: str | os.PathLike, fmt: str) -> None:
    """Write flat rows (one per sentence); the file appears only when complete."""
    path = Path(path)
    if fmt == "jsonl":
        with atomic_write(path) as fh:
            for r in rows:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    elif fmt == "csv":
        import pandas as pd

        with atomic_write(path, encoding="utf-8-sig") as fh:
            pd.DataFrame(rows).to_csv(fh, index=False)
    elif fmt == "xlsx":
        import pandas as pd

        with atomic_write(path, mode="wb", encoding=None) as fh:
            with pd.ExcelWriter(fh, engine="openpyxl") as xw:
                pd.DataFrame(rows).to_excel(xw, sheet_name="sentences", index=False)
    else:
        raise ValueError(f"unknown output format {fmt!r}")


def read_rows(path: str | os.PathLike, fmt: str) -> list[dict]:
    """Rows of an earlier output (for --resume)."""
    path = Path(path)
    if fmt == "jsonl":
        return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    import pandas as pd

    df = pd.read_csv(path, encoding="utf-8-sig") if fmt == "csv" else pd.read_excel(path, sheet_name="sentences")
    df = df.astype(object).where(df.notna(), None)
    return df.to_dict("records")
