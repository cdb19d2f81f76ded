"""Check authored pseudo-reports (see AUTHORING.md) and print label counts.

Usage: python training/corpus/check_authored.py training/corpus/written/*.txt
Exits non-zero when a file has an unknown label, a missing tag or a bad header.
This is a quick authoring aid; training/build_corpus.py does the real build.
"""
from __future__ import annotations

import collections
import re
import sys

DIMS = {"functions", "rules", "decisions", "enforcement", "emergency", "disputes",
        "oversight", "digital", "leadership", "other"}
ROLES = {"achievement", "problem", "plan", "other"}
TAG = re.compile(r"\{\{([a-z]+)/([a-z]+)(?:\+([a-z,]+))?\}\}")
HEADERS = {"doc_id", "genre", "script", "chrome", "author"}


def parse(path):
    errors, sents, header = [], [], {}
    with open(path, encoding="utf-8") as fh:
        lines = fh.read().split("\n")
    for n, line in enumerate(lines, 1):
        if line.startswith("#") and not sents:
            k, _, v = line[1:].partition(":")
            if k.strip() not in HEADERS:
                errors.append(f"{path}:{n}: unknown header {k!r}")
            header[k.strip()] = v.split("(")[0].strip()
            continue
        if not line.strip():
            continue
        pos = 0
        for m in TAG.finditer(line):
            text = line[pos:m.start()].strip()
            dim, role, sec = m.group(1), m.group(2), m.group(3)
            if not text:
                errors.append(f"{path}:{n}: tag with no sentence before it")
            if dim not in DIMS:
                errors.append(f"{path}:{n}: unknown dimension {dim!r}")
            if role not in ROLES:
                errors.append(f"{path}:{n}: unknown role {role!r}")
            for s in (sec or "").split(","):
                if s and s not in DIMS:
                    errors.append(f"{path}:{n}: unknown secondary {s!r}")
            sents.append((text, dim, role))
            pos = m.end()
        rest = line[pos:].strip()
        if rest:
            errors.append(f"{path}:{n}: text after the last tag is untagged: {rest[:30]!r}")
        if "{{" in line.replace("{{", "", 0) and not TAG.search(line):
            errors.append(f"{path}:{n}: malformed tag")
    for k in ("doc_id", "genre", "script"):
        if k not in header:
            errors.append(f"{path}: missing header #{k}")
    return header, sents, errors


def main(paths):
    dims, roles, total, bad = collections.Counter(), collections.Counter(), 0, False
    for p in paths:
        header, sents, errors = parse(p)
        for e in errors:
            print(e)
        bad |= bool(errors)
        total += len(sents)
        print(f"{p}: {len(sents)} sentences ({header.get('genre')}, {header.get('script')})")
        for _, d, r in sents:
            dims[d] += 1
            roles[r] += 1
    print(f"total {total}")
    print("dimensions:", dict(dims.most_common()))
    print("roles:", dict(roles.most_common()))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
