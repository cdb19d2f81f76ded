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

# The second batch (documents w7–w12, added for the document-context tagger): a blind pass over a
# random 15% (seed 15) by annotator-B2, who saw each sentence with its section path and its
# neighbouring sentences (rule 9 makes context part of the label).
b2 = here / "batch2"
if (b2 / "second_pass_annotator_b.jsonl").exists():
    a2 = [json.loads(x) for x in (b2 / "second_pass_annotator_a.jsonl").read_text(encoding="utf-8").splitlines()]
    bb = [json.loads(x) for x in (b2 / "second_pass_annotator_b.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [x["sent_id"] for x in a2] == [x["sent_id"] for x in bb]
    print("batch 2 (w7-w12):")
    for key in ("dimension", "role"):
        ka = [x[key] for x in a2]
        kb = [x[key] for x in bb]
        agree = sum(p == q for p, q in zip(ka, kb)) / len(a2)
        print(f"{key}: n={len(a2)}, raw agreement {agree:.3f}, Cohen's kappa {cohen_kappa_score(ka, kb):.3f}")
