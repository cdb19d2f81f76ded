"""Build the annotated corpus from the authored pseudo-reports and the annotated real samples.

Usage:
    python training/build_corpus.py            # build training/data/*.jsonl and training/corpus/docs/
    python training/build_corpus.py --check F  # only parse authored files and print label counts

Steps (see training/DATASHEET.md):
1. parse each ``training/corpus/written/*.txt`` (format: training/corpus/AUTHORING.md) into
   authored sentences with labels;
2. rebuild the document text; documents marked ``#script: traditional`` are converted
   sentence by sentence with OpenCC s2tw; the documents listed in ``MOJIBAKE_DOCS`` get
   garbled characters injected the way real saved pages have them (labels unchanged);
3. read the text with the library (page chrome is found and left out, as for any user
   file) and segment it with the project's own segmenter; every segmented sentence takes
   the label of the authored sentence it overlaps most;
4. apply adjudicated labels from ``training/corpus/adjudication.jsonl`` (the resolved
   disagreements of the second annotation pass), keyed by document and text;
5. check near-duplicates (character 3-gram Jaccard on text normalised to simplified
   script without digits, Latin letters and punctuation, threshold ``DUP_THRESHOLD``) and
   fail if any pair of substantive sentences (dimension other than ``other``, at least
   ``DUP_MIN_CHARS`` characters) is at or above it;
6. split by document, stratified by genre group and script, with a fixed seed, into
   train/dev/test; the three real reports form the separate ``real`` split.
"""
from __future__ import annotations

import argparse
import collections
import json
import random
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WRITTEN = ROOT / "training" / "corpus" / "written"
REAL = ROOT / "training" / "corpus" / "real" / "real.jsonl"
ADJUDICATION = ROOT / "training" / "corpus" / "adjudication.jsonl"
DOCS_OUT = ROOT / "training" / "corpus" / "docs"
DATA_OUT = ROOT / "training" / "data"

SEED = 20240601
DUP_THRESHOLD = 0.6      # character 3-gram Jaccard on normalised text
DUP_MIN_CHARS = 15       # shorter lines (headings, 牵头单位/完成时限 lines) are formulaic by genre
MOJIBAKE_DOCS = ("w4_county_annual_2020", "w6_county_annual_2022_web", "w7_city_annual_2022_noheads_trad")
GENRE_GROUP = {
    "annual_city": "annual", "annual_county": "annual", "annual_district": "annual",
    "annual_township": "annual", "annual_department": "department",
    "rectification": "rectification", "measures": "rectification", "news": "news",
    # added with the document-context corpus (issue 12)
    "work_points": "plans", "inspection_notice": "rectification", "case_review": "news",
    "explainer": "plans", "excerpt": "annual",
}

TAG = re.compile(r"\{\{([a-z_]+)/([a-z_]+)(?:\+([a-z_,]+))?\}\}")
HEADERS = {"doc_id", "genre", "script", "chrome", "author"}


@dataclass
class Authored:
    text: str
    dimension: str
    role: str
    secondary: list[str]
    start: int = 0
    end: int = 0


@dataclass
class AuthoredDoc:
    path: Path
    header: dict
    lines: list[list[Authored]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def sentences(self) -> list[Authored]:
        return [s for line in self.lines for s in line]


def parse_authored(path: Path, scheme) -> AuthoredDoc:
    dims, roles = set(scheme.dimension_codes), set(scheme.role_codes)
    doc = AuthoredDoc(path, {})
    for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        if line.startswith("#") and not doc.lines:
            k, _, v = line[1:].partition(":")
            if k.strip() not in HEADERS:
                doc.errors.append(f"{path}:{n}: unknown header {k.strip()!r}")
            doc.header[k.strip()] = v.split("(")[0].strip()
            continue
        if not line.strip():
            continue
        pos, items = 0, []
        for m in TAG.finditer(line):
            text = line[pos:m.start()].strip()
            dim, role, sec = m.group(1), m.group(2), [x for x in (m.group(3) or "").split(",") if x]
            if not text:
                doc.errors.append(f"{path}:{n}: a tag with no sentence before it")
            if dim not in dims:
                doc.errors.append(f"{path}:{n}: unknown dimension {dim!r}")
            if role not in roles:
                doc.errors.append(f"{path}:{n}: unknown role {role!r}")
            for x in sec:
                if x not in dims:
                    doc.errors.append(f"{path}:{n}: unknown secondary {x!r}")
            sec = [x for x in sec if x != dim]
            if text:
                items.append(Authored(text, dim, role, sec))
            pos = m.end()
        rest = line[pos:].strip()
        if rest:
            doc.errors.append(f"{path}:{n}: text after the last tag is untagged: {rest[:30]!r}")
        if "{{" in rest or "}}" in rest:
            doc.errors.append(f"{path}:{n}: malformed tag")
        if items:
            doc.lines.append(items)
    for k in ("doc_id", "genre", "script"):
        if k not in doc.header:
            doc.errors.append(f"{path}: missing header #{k}")
    if doc.header.get("doc_id") and doc.header["doc_id"] != path.stem:
        doc.errors.append(f"{path}: #doc_id {doc.header['doc_id']!r} differs from the file name")
    if doc.header.get("genre") and doc.header["genre"] not in GENRE_GROUP:
        doc.errors.append(f"{path}: unknown genre {doc.header['genre']!r}")
    return doc


def inject_mojibake(text: str, rng: random.Random) -> str:
    """Garble a sentence the way mis-decoded saved pages are garbled: eaten characters, 锟斤拷, U+FFFD."""
    cjk = [i for i, ch in enumerate(text) if "\u4e00" <= ch <= "\u9fff"]
    if len(cjk) < 8:
        return text
    i = rng.choice(cjk[2:-2])
    kind = rng.randrange(3)
    if kind == 0:
        return text[:i] + "?" + rng.choice(",.F:;=") + text[i + 1:]
    if kind == 1:
        return text[:i] + "锟斤拷" + text[i + 2:]
    return text[:i] + "\ufffd\ufffd" + text[i + 1:]


def render(doc: AuthoredDoc) -> str:
    """Document text with each authored sentence's span recorded (script conversion, mojibake applied)."""
    from lawgov_nlp.text.chars import to_traditional

    trad = doc.header.get("script") == "traditional"
    rng = random.Random(f"{SEED}-{doc.path.stem}")
    garble = doc.path.stem in MOJIBAKE_DOCS
    parts, pos = [], 0
    for k, line in enumerate(doc.lines):
        if k:
            parts.append("\n")
            pos += 1
        for s in line:
            t = to_traditional(s.text) if trad else s.text
            if garble and rng.random() < 0.06:
                t = inject_mojibake(t, rng)
            s.start, s.end = pos, pos + len(t)
            parts.append(t)
            pos += len(t)
    return "".join(parts) + "\n"


def align(doc: AuthoredDoc, text: str):
    """Segment the text as the library does and label each sentence by its largest-overlap authored sentence."""
    from lawgov_nlp.text.reading import read_text

    read = read_text(text, path=doc.path.stem)
    auth = doc.sentences
    out, exact = [], 0
    j = 0
    for s in read.sentences:
        while j < len(auth) and auth[j].end <= s.start:
            j += 1
        best, best_ov = None, 0
        k = j
        while k < len(auth) and auth[k].start < s.end:
            ov = min(s.end, auth[k].end) - max(s.start, auth[k].start)
            if ov > best_ov:
                best, best_ov = auth[k], ov
            k += 1
        if best is None:
            raise SystemExit(f"{doc.path}: segmented sentence {s.text[:30]!r} overlaps no authored sentence")
        if text[best.start:best.end].strip() == s.text:
            exact += 1
        out.append((s, best))
    return read, out, exact


def near_duplicates(records: list[dict], threshold: float = DUP_THRESHOLD, min_chars: int = DUP_MIN_CHARS):
    """Pairs of sentences whose normalised character 3-gram sets have Jaccard ≥ threshold."""
    import numpy as np
    from sklearn.feature_extraction.text import CountVectorizer

    from lawgov_nlp.text.chars import to_simplified

    def norm(t: str) -> str:
        t = to_simplified(t)
        return re.sub(r"[\W\d_a-zA-Z]+", "", t)

    texts = [norm(r["text"]) for r in records]
    idx = [i for i, t in enumerate(texts) if len(t) >= min_chars]
    vec = CountVectorizer(analyzer="char", ngram_range=(3, 3), binary=True, lowercase=False)
    X = vec.fit_transform([texts[i] for i in idx]).astype(np.float32)
    sizes = np.asarray(X.sum(axis=1)).ravel()
    inter = (X @ X.T).tocoo()
    pairs = []
    for a, b, v in zip(inter.row, inter.col, inter.data):
        if a < b:
            j = v / (sizes[a] + sizes[b] - v)
            if j >= threshold:
                pairs.append((float(j), records[idx[a]], records[idx[b]]))
    pairs.sort(key=lambda x: -x[0])
    return pairs, len(idx)


def stratified_split(docs: dict[str, dict], seed: int = SEED) -> dict[str, str]:
    """doc_id → split, by document, stratified by script and genre group; deterministic for a seed.

    Documents are ordered by stratum (script, then genre group; shuffled with the seed
    inside each stratum) and dealt out in a repeating pattern of seven — one to test,
    one to dev, five to train — so every stratum of seven or more documents, and every
    run of seven consecutive ones, reaches each split (about 15% / 15% / 70%).
    """
    strata: dict[tuple, list[str]] = collections.defaultdict(list)
    for doc_id, h in sorted(docs.items()):
        strata[(h["script"], GENRE_GROUP[h["genre"]])].append(doc_id)
    rng = random.Random(seed)
    ordered: list[str] = []
    for key in sorted(strata):
        ids = strata[key][:]
        rng.shuffle(ids)
        ordered.extend(ids)
    pattern = {3: "test", 6: "dev"}
    return {doc_id: pattern.get(i % 7, "train") for i, doc_id in enumerate(ordered)}


def keep_splits(docs: dict[str, dict]) -> tuple[dict[str, str], list[list[str]]]:
    """(doc_id → split, rounds): documents already in ``splits.json`` keep their split (so dev and
    test never move into training); documents new since then are dealt out by
    :func:`stratified_split` among themselves, as one more round. ``rounds`` lists the documents
    of every round in the order they were dealt, so anyone can replay the split."""
    old: dict[str, str] = {}
    rounds: list[list[str]] = []
    p = DATA_OUT / "splits.json"
    if p.exists():
        data = json.loads(p.read_text(encoding="utf-8"))
        old = {d: s for s in ("train", "dev", "test") for d in data.get(s, [])}
        rounds = [[d for d in r if d in docs] for r in data.get("rounds", [sorted(old)])]
        rounds = [r for r in rounds if r]
    new = {d: h for d, h in docs.items() if d not in old}
    assign = {d: s for d, s in old.items() if d in docs}
    if new:
        assign.update(stratified_split(new))
        rounds.append(sorted(new))
    return assign, rounds


def real_records() -> list[dict]:
    """The annotated real samples with the heading fields the segmenter gives them (is_heading, level, paragraph)."""
    from lawgov_nlp.text.reading import read_file

    recs = [json.loads(x) for x in REAL.read_text(encoding="utf-8").splitlines() if x.strip()]
    samples = ROOT / "tests" / "data" / "samples"
    by_doc: dict[str, list] = {}
    for r in recs:
        doc = r["doc_id"]
        if doc not in by_doc:
            by_doc[doc] = read_file(samples / f"{doc.removeprefix('real_')}.txt").sentences
        sents = by_doc[doc]
        k = int(r["sent_id"].rsplit("-", 1)[1])
        s = sents[k]
        if s.text != r["text"]:
            raise SystemExit(f"{r['sent_id']}: the sample's sentence {k} is {s.text[:30]!r}, the annotation has "
                             f"{r['text'][:30]!r}; re-annotate after a segmentation change")
        r.update({"section": list(s.section), "is_heading": s.is_heading, "heading_level": s.heading_level,
                  "paragraph": s.paragraph})
    return recs


def load_adjudication() -> dict[tuple[str, str], dict]:
    if not ADJUDICATION.exists():
        return {}
    out = {}
    for line in ADJUDICATION.read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            out[(r["doc_id"], r["text"])] = r
    return out


def build(check_only: list[str] | None = None) -> int:
    from lawgov_nlp.data import validate_records, write_jsonl
    from lawgov_nlp.scheme import load_scheme

    scheme = load_scheme()
    paths = [Path(p) for p in check_only] if check_only else sorted(WRITTEN.glob("*.txt"))
    authored = [parse_authored(p, scheme) for p in paths]
    errors = [e for d in authored for e in d.errors]
    for e in errors:
        print(e)
    if check_only is not None:
        total = collections.Counter()
        for d in authored:
            c = collections.Counter((s.dimension, s.role) for s in d.sentences)
            total.update(c)
            print(f"{d.path.name}: {len(d.sentences)} sentences ({d.header.get('genre')}, {d.header.get('script')})")
        print("dimensions:", dict(collections.Counter(k[0] for k in total.elements()).most_common()))
        print("roles:", dict(collections.Counter(k[1] for k in total.elements()).most_common()))
        # near-duplicates of the checked files against each other and the rest of the written corpus
        checked = {d.path.resolve() for d in authored}
        others = [parse_authored(p, scheme) for p in sorted(WRITTEN.glob("*.txt")) if p.resolve() not in checked]
        recs = [{"sent_id": f"{d.path.stem}:{i}", "text": s.text, "mine": d.path.resolve() in checked}
                for d in authored + others for i, s in enumerate(d.sentences) if s.dimension != scheme.fallback_dimension]
        pairs, _ = near_duplicates(recs)
        pairs = [(j, a, b) for j, a, b in pairs if a["mine"] or b["mine"]]
        for j, a, b in pairs[:40]:
            print(f"near-duplicate J={j:.2f}: {a['sent_id']} {a['text'][:40]!r} ~ {b['sent_id']} {b['text'][:40]!r}")
        if pairs:
            print(f"error: {len(pairs)} near-duplicate pair(s) at Jaccard >= {DUP_THRESHOLD}; rewrite one side")
        return 1 if errors or pairs else 0
    if errors:
        return 1

    adjud = load_adjudication()
    used_adjud = set()
    DOCS_OUT.mkdir(parents=True, exist_ok=True)
    records: list[dict] = []
    headers: dict[str, dict] = {}
    n_auth = n_exact = n_chrome = 0
    for d in authored:
        doc_id = d.path.stem
        headers[doc_id] = d.header
        text = render(d)
        (DOCS_OUT / f"{doc_id}.txt").write_text(text, encoding="utf-8")
        read, pairs, exact = align(d, text)
        n_auth += len(d.sentences)
        n_exact += exact
        n_chrome += len(read.chrome)
        for i, (s, a) in enumerate(pairs):
            rec = {"doc_id": doc_id, "sent_id": f"{doc_id}-{i:04d}", "text": s.text, "dimension": a.dimension,
                   "role": a.role, "secondary": list(a.secondary), "section": list(s.section),
                   "is_heading": s.is_heading, "heading_level": s.heading_level, "paragraph": s.paragraph,
                   "source": "written", "genre": d.header["genre"], "script": d.header["script"],
                   "annotator": d.header.get("author", "")}
            adj = adjud.get((doc_id, s.text))
            if adj:
                used_adjud.add((doc_id, s.text))
                rec["dimension"], rec["role"] = adj["dimension"], adj["role"]
                rec["secondary"] = [x for x in adj.get("secondary", rec["secondary"]) if x != adj["dimension"]]
                rec["adjudicated"] = True
            records.append(rec)
    stale = set(adjud) - used_adjud
    if stale:
        print(f"error: {len(stale)} adjudication entries match no sentence, e.g. {sorted(stale)[0]}")
        return 1

    problems = validate_records(records, scheme)
    if problems:
        for p in problems[:20]:
            print("error:", p)
        return 1
    # structural lines (dimension "other": titles, 一、主要举措和成效, 责任单位/完成时限 lines) are formulaic by genre
    pairs, n_checked = near_duplicates([r for r in records if r["dimension"] != scheme.fallback_dimension])
    for j, a, b in pairs[:30]:
        print(f"near-duplicate J={j:.2f}: {a['sent_id']} {a['text'][:40]!r} ~ {b['sent_id']} {b['text'][:40]!r}")
    if pairs:
        print(f"error: {len(pairs)} near-duplicate pair(s) at Jaccard >= {DUP_THRESHOLD}")
        return 1

    assign, rounds = keep_splits(headers)
    DATA_OUT.mkdir(parents=True, exist_ok=True)
    for split in ("train", "dev", "test"):
        write_jsonl([r for r in records if assign[r["doc_id"]] == split], DATA_OUT / f"{split}.jsonl")
    if REAL.exists():
        write_jsonl(real_records(), DATA_OUT / "real.jsonl")
    splits = {s: sorted(d for d, v in assign.items() if v == s) for s in ("train", "dev", "test")}
    splits["real"] = sorted({json.loads(x)["doc_id"] for x in REAL.read_text(encoding="utf-8").splitlines() if x.strip()}) if REAL.exists() else []
    splits["rounds"] = rounds
    (DATA_OUT / "splits.json").write_text(json.dumps({"seed": SEED, **splits}, ensure_ascii=False, indent=1) + "\n",
                                          encoding="utf-8")
    print(f"documents: {len(authored)}; authored sentences: {n_auth}; segmented sentences: {len(records)}; "
          f"boundaries identical to the authored ones: {n_exact}/{len(records)}; chrome lines left out: {n_chrome}")
    print(f"near-duplicates: 0 pairs at char-3-gram Jaccard >= {DUP_THRESHOLD} among the {n_checked} sentences "
          f"with a substantive dimension and >= {DUP_MIN_CHARS} normalised characters")
    print(f"adjudicated labels applied: {len(used_adjud)}")
    counts = collections.Counter(assign[r["doc_id"]] for r in records)
    print("sentences: " + ", ".join(f"{k} {counts[k]}" for k in ("train", "dev", "test")))
    for s in ("train", "dev", "test", "real"):
        print(f"{s}: {len(splits[s])} documents")
    print("dealt in rounds of " + ", ".join(str(len(r)) for r in rounds) + " documents")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", nargs="+", metavar="FILE", help="only parse these authored files and print counts")
    a = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    return build(a.check)


if __name__ == "__main__":
    sys.exit(main())
