"""Training files of the context-model ablations (runs/data/), cut from training/data/train.jsonl:

* ``train_ablation.jsonl``: every training document but the three rectification documents (w13_*)
  added after the ablations were run, so the ablation configs rerun on exactly their data;
* ``train_old.jsonl``: the first corpus only (w1-w6), for the "without the new corpus" ablation.

Dev, test and real stay as they are.  Run from the repository root:
    python training/experiments/context/ablation_data.py
"""
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
rows = [json.loads(x) for x in (ROOT / "training" / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines() if x]
out = ROOT / "runs" / "data"
out.mkdir(parents=True, exist_ok=True)
first = {f"w{i}" for i in range(1, 7)}
for name, keep in (("train_ablation.jsonl", lambda r: not r["doc_id"].startswith("w13_")),
                   ("train_old.jsonl", lambda r: r["doc_id"].split("_")[0] in first)):
    sel = [r for r in rows if keep(r)]
    (out / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in sel), encoding="utf-8")
    print(f"{out / name}: {len(sel)} sentences, {len({r['doc_id'] for r in sel})} documents")
