"""Cohen's kappa between the two annotation passes of the QA sample.

Usage: python training/corpus/qa/kappa.py
Annotator A is the author of each document (labels as written, before adjudication);
annotator B labelled a random 15% of the corpus (seed 15) blind, from text and
section path only. Disagreements were resolved in training/corpus/adjudication.jsonl.
"""
import json
from collections import Counter
from pathlib import Path

from sklearn.metrics import cohen_kappa_score

here = Path(__file__).parent
a = [json.loads(x) for x in (here / "second_pass_annotator_a.jsonl").read_text(encoding="utf-8").splitlines()]
b = [json.loads(x) for x in (here / "second_pass_annotator_b.jsonl").read_text(encoding="utf-8").splitlines()]
assert [x["sent_id"] for x in a] == [x["sent_id"] for x in b]
for key in ("dimension", "role"):
    ka = [x[key] for x in a]
    kb = [x[key] for x in b]
    agree = sum(p == q for p, q in zip(ka, kb)) / len(a)
    print(f"{key}: n={len(a)}, raw agreement {agree:.3f}, Cohen's kappa {cohen_kappa_score(ka, kb):.3f}")
pairs = Counter((x["dimension"], y["dimension"]) for x, y in zip(a, b) if x["dimension"] != y["dimension"])
print("dimension disagreements (A, B):", dict(pairs))
