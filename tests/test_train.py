from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lawgov_nlp.errors import ConfigError
from lawgov_nlp.train import TrainConfig, train
from lawgov_nlp.train.loop import length_grouped_batches

from tiny_model import build_tiny_base, tiny_records

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("tiny")
    tr = tiny_records(ROOT / "training" / "data" / "train.jsonl", 64)
    dv = tiny_records(ROOT / "training" / "data" / "dev.jsonl", 32)
    for name, rows in (("train", tr), ("dev", dv)):
        (d / f"{name}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    texts = [r["text"] for r in tr + dv] + [s for r in tr + dv for s in r["section"]]
    base = build_tiny_base(d / "base", texts)
    return d, base


def _cfg(d, base, out, **kw):
    c = dict(base=str(base), train=str(d / "train.jsonl"), dev=str(d / "dev.jsonl"), eval={"dev2": str(d / "dev.jsonl")},
             output_dir=str(out), epochs=4, batch_size=8, learning_rate=3e-3, head_learning_rate=1e-2,
             max_length=64, section_max_tokens=16, seed=7, threads=1, early_stopping_patience=10,
             lora={"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["query", "value", "dense"]})
    c.update(kw)
    return TrainConfig.from_dict(c)


def test_train_loss_falls_and_save_load_round_trips(tiny, tmp_path):
    d, base = tiny
    out = tmp_path / "model"
    res = train(_cfg(d, base, out), progress=False, log=lambda m: None)
    losses = [h["train_loss"] for h in res["history"]]
    assert losses[-1] < losses[0] * 0.95, losses
    saved = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert saved["dev"]["dimension_macro_f1"] == res["dev"]["dimension_macro_f1"]
    # load the directory and predict again: exactly the metrics measured before saving
    import lawgov_nlp as lg
    from lawgov_nlp.data import load_records
    from lawgov_nlp.metrics import tagging_metrics

    tagger = lg.load(out)
    recs = load_records(d / "dev.jsonl")
    dp, rp = tagger.predict_records(recs)
    again = tagging_metrics(recs, tagger.decide(dp, rp), tagger.scheme)
    assert again["dimension"]["per_class"] == res["dev"]["dimension"]["per_class"]
    assert again["role_macro_f1"] == res["dev"]["role_macro_f1"]
    dp2, _ = lg.load(out).predict_records(recs)
    assert np.array_equal(dp, dp2)
    # the model directory holds adapters and heads only, not the base
    files = {p.name for p in out.iterdir()}
    assert {"lawgov_model.json", "weights.safetensors", "scheme.yaml", "metrics.json", "README.md"} <= files
    from safetensors.torch import load_file
    keys = load_file(str(out / "weights.safetensors")).keys()
    assert all("lora_" in k or k.startswith(("dimension_head", "role_head")) for k in keys)


def test_same_config_same_metrics_and_resume_after_interrupt(tiny, tmp_path):
    d, base = tiny
    a = train(_cfg(d, base, tmp_path / "a", epochs=3), progress=False, log=lambda m: None)

    class Stop(Exception):
        pass

    def interrupt(msg):
        if msg.startswith("epoch 2:"):
            raise Stop

    cfg_b = _cfg(d, base, tmp_path / "b", epochs=3)
    with pytest.raises(Stop):
        train(cfg_b, progress=False, log=interrupt)
    logs = []
    b = train(cfg_b, progress=False, log=logs.append)
    assert any(m.startswith("resuming from") for m in logs)
    assert [h["train_loss"] for h in b["history"]] == [h["train_loss"] for h in a["history"]]
    assert b["dev"]["dimension_macro_f1"] == a["dev"]["dimension_macro_f1"]
    assert b["dev2"]["role_macro_f1"] == a["dev2"]["role_macro_f1"]


def test_full_finetune_without_lora_saves_whole_network(tiny, tmp_path):
    d, base = tiny
    out = tmp_path / "full"
    train(_cfg(d, base, out, epochs=1, lora=None, use_section=False), progress=False, log=lambda m: None)
    assert (out / "encoder_config.json").is_file() and (out / "tokenizer").is_dir()
    import lawgov_nlp as lg
    t = lg.load(out)
    recs = t.tag_sentences(["全年办理行政复议案件12件。"])
    assert recs[0].dimension in t.scheme.dimension_codes
    assert abs(sum(recs[0].scores.values()) - 1) < 1e-4


def test_config_errors(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("base: bundled\nlearning_rat: 0.1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown key.*learning_rat"):
        TrainConfig.from_yaml(p)
    with pytest.raises(ConfigError, match="select_metric"):
        TrainConfig.from_dict({"select_metric": "accuracy"})
    encoder = TrainConfig.from_yaml(ROOT / "configs" / "train" / "encoder.yaml")
    assert encoder.base == "bundled" and encoder.class_weighting == "auto"
    # the default config trains the context model; the kind in the file picks its config class
    from lawgov_nlp.train.config import load_config

    assert type(load_config(ROOT / "configs" / "train" / "default.yaml")).__name__ == "ContextConfig"


def test_length_grouped_batches_cover_everything_once():
    lengths = list(np.random.default_rng(0).integers(1, 100, 203))
    b1 = length_grouped_batches(lengths, 8, seed=1)
    assert sorted(i for b in b1 for i in b) == list(range(203))
    assert b1 == length_grouped_batches(lengths, 8, seed=1)
    assert b1 != length_grouped_batches(lengths, 8, seed=2)


def test_smaller_student_keeps_first_layers(tiny, tmp_path):
    d, base = tiny
    out = tmp_path / "student"
    res = train(_cfg(d, base, out, epochs=1, encoder_layers=1), progress=False, log=lambda m: None)
    import lawgov_nlp as lg
    from lawgov_nlp.data import load_records
    from lawgov_nlp.metrics import tagging_metrics

    t = lg.load(out)
    enc = t.net.encoder.get_base_model() if hasattr(t.net.encoder, "get_base_model") else t.net.encoder
    assert len(enc.encoder.layer) == 1 and t.settings.encoder_layers == 1
    recs = load_records(d / "dev.jsonl")
    m = tagging_metrics(recs, t.decide(*t.predict_records(recs)), t.scheme)
    assert m["dimension"]["per_class"] == res["dev"]["dimension"]["per_class"]
