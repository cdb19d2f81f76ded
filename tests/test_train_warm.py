"""Warm-started retraining (``lawgov train CONFIG --from MODEL --add FILE``, lawgov_nlp.train.retrain):
tiny models built here, trained for real."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tiny_model import build_tiny_base

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "training" / "data"
LORA = {"r": 2, "alpha": 4, "dropout": 0.0, "target_modules": ["query", "value"]}


def _rows(split: str) -> list[dict]:
    return [json.loads(x) for x in (DATA / f"{split}.jsonl").read_text(encoding="utf-8").splitlines() if x]


def _docs(split: str, first: int, n: int) -> list[dict]:
    rows = _rows(split)
    ids = list(dict.fromkeys(r["doc_id"] for r in rows))[first:first + n]
    return [r for r in rows if r["doc_id"] in ids]


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, samples):
    d = tmp_path_factory.mktemp("warm")
    tr, new, dv = _docs("train", 0, 2), _docs("train", 2, 1), _docs("dev", 0, 1)
    _write(d / "train.jsonl", tr)
    _write(d / "dev.jsonl", dv)
    _write(d / "new.jsonl", new)
    texts = [r["text"] for r in tr + new + dv] + [s for r in tr + new + dv for s in r["section"]]
    texts += [p.read_text(encoding="utf-8") for p in samples]
    base = build_tiny_base(d / "base", texts)
    return d, base


@pytest.fixture(scope="module")
def encoder_model(corpus):
    from lawgov_nlp.train import TrainConfig, train

    d, base = corpus
    cfg = TrainConfig.from_dict(dict(base=str(base), train=str(d / "train.jsonl"), dev=str(d / "dev.jsonl"),
                                     output_dir=str(d / "enc-v1"), epochs=1, batch_size=16, max_length=64,
                                     section_max_tokens=16, threads=1, lora=LORA))
    train(cfg, progress=False, log=lambda m: None)
    return d / "enc-v1"


@pytest.fixture(scope="module")
def context_model(corpus):
    from lawgov_nlp.train import ContextConfig, run

    d, base = corpus
    cfg = ContextConfig(train=str(d / "train.jsonl"), dev=str(d / "dev.jsonl"), output_dir=str(d / "ctx-v1"),
                        encoder_dir=str(d / "ctx-enc"),
                        encoder={"base": str(base), "epochs": 1, "batch_size": 16, "max_length": 64, "lora": LORA},
                        context={"hidden": 16}, epochs=2, threads=1)
    run(cfg, progress=False, log=lambda m: None)
    return d / "ctx-v1"


def _probs(model_dir: Path, recs: list[dict]):
    import lawgov_nlp as lg

    return lg.load(model_dir, exact=True, threads=1).predict_records(recs)


def test_encoder_warm_start_starts_from_the_old_weights(corpus, encoder_model, tmp_path):
    from lawgov_nlp.data import load_records
    from lawgov_nlp.train import retrain

    d, _ = corpus
    recs = load_records(d / "dev.jsonl")
    out = retrain(encoder_model, [d / "new.jsonl"], tmp_path / "v2", log=lambda m: None,
                  overrides={"learning_rate": 0.0, "head_learning_rate": 0.0, "epochs": 1})
    # with nothing learnt, the new model is the old one: its adapters and heads were the start
    for a, b in zip(_probs(encoder_model, recs), _probs(out, recs)):
        assert np.array_equal(a, b)
    # trained for real, it moves away from them
    out3 = retrain(encoder_model, [d / "new.jsonl"], tmp_path / "v3", log=lambda m: None,
                   overrides={"epochs": 1, "learning_rate": 3e-3, "head_learning_rate": 1e-2})
    assert not np.array_equal(_probs(encoder_model, recs)[0], _probs(out3, recs)[0])


def test_provenance_is_recorded_in_the_manifest_and_card(corpus, encoder_model, tmp_path):
    from lawgov_nlp.train import retrain
    from lawgov_nlp.train.warm import model_fingerprint

    d, _ = corpus
    new = [json.loads(x) for x in (d / "new.jsonl").read_text(encoding="utf-8").splitlines()]
    old = [json.loads(x) for x in (d / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    relabel = dict(old[5], dimension="leadership" if old[5]["dimension"] != "leadership" else "other")
    _write(tmp_path / "more.jsonl", [relabel])
    logs: list[str] = []
    out = retrain(encoder_model, [d / "new.jsonl", tmp_path / "more.jsonl"], tmp_path / "v2", log=logs.append)
    man = json.loads((out / "lawgov_model.json").read_text(encoding="utf-8"))
    tf = man["trained_from"]
    assert tf["warm_start"]["model"] == str(encoder_model.resolve())
    assert tf["warm_start"]["fingerprint"] == model_fingerprint(encoder_model) and len(tf["warm_start"]["fingerprint"]) == 16
    assert tf["warm_start"]["lawgov_nlp"] and tf["warm_start"]["kind"] == "encoder"
    assert [Path(f["file"]).name for f in tf["added"]] == ["new.jsonl", "more.jsonl"]
    assert tf["added"][0]["sentences"] == len(new) and tf["added"][0]["documents"] == 1
    assert len(tf["added"][1]["sha256"]) == 64
    assert tf["relabelled"] == 1 and tf["new_sentences"] == len(new) and tf["new_documents"] == 1
    assert tf["training_data"]["sentences"] == len(old) + len(new)
    merged = [json.loads(x) for x in Path(tf["training_data"]["merged"]).read_text(encoding="utf-8").splitlines()]
    assert len(merged) == len(old) + len(new)
    assert merged[5]["dimension"] == relabel["dimension"] and merged[5]["sent_id"] == old[5]["sent_id"]
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "## Trained from" in card and str(encoder_model.resolve()) in card and "new.jsonl" in card
    cfg = json.loads((out / "metrics.json").read_text(encoding="utf-8"))["config"]
    assert cfg["init_from"] == str(encoder_model) and cfg["train"] == tf["training_data"]["merged"]
    # the new model loads and tags; a model trained from it chains (its recorded config is the merged data)
    import lawgov_nlp as lg

    assert lg.load(out).tag_sentences(["全年办理行政复议案件12件。"])[0].dimension in man["dimensions"]
    v3 = retrain(out, [], tmp_path / "v3", log=lambda m: None, overrides={"epochs": 1})
    tf3 = json.loads((v3 / "lawgov_model.json").read_text(encoding="utf-8"))["trained_from"]
    assert tf3["warm_start"]["model"] == str(out.resolve()) and tf3["training_data"]["sentences"] == len(merged)


def test_annotations_of_dev_documents_are_refused(corpus, encoder_model, tmp_path):
    from lawgov_nlp.errors import CorpusError
    from lawgov_nlp.train import retrain

    d, _ = corpus
    dev = [json.loads(x) for x in (d / "dev.jsonl").read_text(encoding="utf-8").splitlines()]
    bad = _write(tmp_path / "leak.jsonl", dev[:3])
    with pytest.raises(CorpusError) as e:
        retrain(encoder_model, [d / "new.jsonl", bad], tmp_path / "v2", log=lambda m: None)
    msg = str(e.value)
    assert "leak.jsonl" in msg and dev[0]["doc_id"] in msg and "dev" in msg and "refused" in msg
    assert not (tmp_path / "v2").exists()
    # the same in a Label Studio export (only annotated tasks count) and through the command line
    from lawgov_nlp.data import to_label_studio

    tasks = to_label_studio(dev[:2])
    tasks[0]["annotations"] = [{"id": 1, "result": tasks[0].pop("predictions")[0]["result"]}]
    (tmp_path / "leak.json").write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(CorpusError, match="leak.json.*held out"):
        retrain(encoder_model, [tmp_path / "leak.json"], tmp_path / "v2", log=lambda m: None)


def test_a_label_scheme_other_than_the_models_is_refused(corpus, encoder_model, tmp_path):
    import yaml

    from lawgov_nlp.errors import ConfigError
    from lawgov_nlp.train import retrain

    d, _ = corpus
    scheme = yaml.safe_load((encoder_model / "scheme.yaml").read_text(encoding="utf-8"))
    scheme["roles"] = [scheme["roles"][1], scheme["roles"][0], *scheme["roles"][2:]]  # same labels, other order
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(scheme, allow_unicode=True), encoding="utf-8")
    cfg = json.loads((encoder_model / "metrics.json").read_text(encoding="utf-8"))["config"]
    with pytest.raises(ConfigError, match="label scheme"):
        retrain(encoder_model, [], tmp_path / "v2", config={**cfg, "scheme": str(tmp_path / "s.yaml")},
                log=lambda m: None)
    with pytest.raises(ConfigError, match="output directory is the model"):
        retrain(encoder_model, [], encoder_model, log=lambda m: None)


def test_context_warm_start_starts_from_the_old_encoder_and_context_layers(corpus, context_model, tmp_path):
    from lawgov_nlp.data import load_records
    from lawgov_nlp.train import retrain

    d, _ = corpus
    recs = load_records(d / "dev.jsonl")
    zero = {"learning_rate": 0.0, "epochs": 1,
            "encoder": {"epochs": 1, "learning_rate": 0.0, "head_learning_rate": 0.0, "batch_size": 16}}
    before = _probs(context_model, recs)
    out = retrain(context_model, [d / "new.jsonl"], tmp_path / "v2", log=lambda m: None, overrides=zero)
    for a, b in zip(before, _probs(out, recs)):
        assert np.array_equal(a, b)
    kept = retrain(context_model, [d / "new.jsonl"], tmp_path / "v2k", log=lambda m: None, overrides=zero,
                   encoder="keep")
    for a, b in zip(before, _probs(kept, recs)):
        assert np.array_equal(a, b)
    tf = json.loads((kept / "lawgov_model.json").read_text(encoding="utf-8"))["trained_from"]
    assert "encoder kept" in tf["warm_start"]["how"] and tf["new_documents"] == 1


def test_cli_train_from_a_tfidf_model(corpus, tmp_path):
    from typer.testing import CliRunner

    from lawgov_nlp.cli import app

    d, _ = corpus
    cfg = tmp_path / "tfidf.yaml"
    cfg.write_text(f"kind: tfidf\ntrain: {d / 'train.jsonl'}\ndev: {d / 'dev.jsonl'}\noutput_dir: {tmp_path / 'v1'}\n",
                   encoding="utf-8")
    r = CliRunner().invoke(app, ["train", str(cfg), "-q"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, ["train", str(cfg), "--from", str(tmp_path / "v1"), "--add", str(d / "new.jsonl"),
                                 "--output-dir", str(tmp_path / "v2"), "-q"])
    assert r.exit_code == 0, r.output
    tf = json.loads((tmp_path / "v2" / "lawgov_model.json").read_text(encoding="utf-8"))["trained_from"]
    assert tf["warm_start"]["kind"] == "tfidf" and "refitted" in tf["warm_start"]["how"]
    dev = _write(tmp_path / "devdoc.jsonl", [json.loads(x) for x in (d / "dev.jsonl").read_text(encoding="utf-8").splitlines()][:1])
    r = CliRunner().invoke(app, ["train", str(cfg), "--from", str(tmp_path / "v1"), "--add", str(dev),
                                 "--output-dir", str(tmp_path / "v3"), "-q"])
    assert r.exit_code == 1 and "devdoc.jsonl" in r.output and "held out" in r.output
    r = CliRunner().invoke(app, ["train", str(cfg), "--add", str(dev)])
    assert r.exit_code != 0 and "--from" in r.output
