"""Write runs/data/train_old.jsonl: the training split restricted to the first corpus (documents w1-w6),
for the "without the new corpus" ablation (stage1-old.yaml, gru-old.yaml). Dev, test and real stay as they are."""
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
rows = [json.loads(x) for x in (ROOT / "training" / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines() if x]
old = [r for r in rows if r["doc_id"].split("_")[0] in {f"w{i}" for i in range(1, 7)}]
out = ROOT / "runs" / "data" / "train_old.jsonl"
out.parent.mkdir(parents=True, exist_ok=True)
out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in old), encoding="utf-8")
print(f"{out}: {len(old)} sentences, {len({r['doc_id'] for r in old})} documents")
