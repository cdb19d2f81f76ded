"""The document-context tagger: trained tiny on tiny data, saved, loaded, tagging whole documents."""
from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from tiny_model import build_tiny_base

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "training" / "data"


def _docs(split: str, n: int) -> list[dict]:
    rows = [json.loads(x) for x in (DATA / f"{split}.jsonl").read_text(encoding="utf-8").splitlines() if x]
    ids = list(dict.fromkeys(r["doc_id"] for r in rows))[:n]
    return [r for r in rows if r["doc_id"] in ids]


@pytest.fixture(scope="module")
def tiny_context(tmp_path_factory, samples):
    from lawgov_nlp.train import ContextConfig, run

    d = tmp_path_factory.mktemp("ctx")
    tr, dv = _docs("train", 3), _docs("dev", 1)
    for name, rows in (("train", tr), ("dev", dv)):
        (d / f"{name}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    real = [json.loads(x) for x in (DATA / "real.jsonl").read_text(encoding="utf-8").splitlines() if x][:60]
    (d / "loro.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in real), encoding="utf-8")
    texts = [r["text"] for r in tr + dv + real] + [p.read_text(encoding="utf-8") for p in samples]
    base = build_tiny_base(d / "base", texts)
    cfg = ContextConfig(train=str(d / "train.jsonl"), dev=str(d / "dev.jsonl"), eval={"again": str(d / "dev.jsonl")},
                        output_dir=str(d / "model"), encoder_dir=str(d / "encoder"),
                        encoder={"base": str(base), "epochs": 1, "batch_size": 16, "max_length": 64,
                                 "lora": {"r": 2, "alpha": 4, "dropout": 0.0, "target_modules": ["query", "value"]}},
                        context={"hidden": 32}, epochs=3, threads=1, loro_train={"loro": str(d / "loro.jsonl")})
    res = run(cfg, progress=False, log=lambda m: None)
    return d, res


def test_trains_saves_and_reloads_to_the_same_predictions(tiny_context):
    import lawgov_nlp as lg
    from lawgov_nlp.data import load_records
    from lawgov_nlp.metrics import tagging_metrics

    d, res = tiny_context
    t = lg.load(d / "model")
    assert t.kind == "context"
    man = json.loads((d / "model" / "lawgov_model.json").read_text(encoding="utf-8"))
    assert set(man["config"]) >= {"encoder", "context"} and man["config"]["encoder"]["use_section"] is False
    recs = load_records(d / "dev.jsonl")
    m = tagging_metrics(recs, t.decide(*t.predict_records(recs)), t.scheme)
    assert m["dimension"]["per_class"] == res["again"]["dimension"]["per_class"]
    assert m["role_macro_f1"] == res["again"]["role_macro_f1"]
    dp1, _ = t.predict_records(recs)
    dp2, _ = lg.load(d / "model").predict_records(recs)
    assert np.array_equal(dp1, dp2)
    # the documents trained leave-one-document-out are reported that way
    assert res["loro"]["protocol"] == "leave-one-document-out" and res["loro"]["documents"] == 1
    assert res["stage2_training_documents"] == 3 + 1


def test_tags_a_whole_document_and_isolated_sentences(tiny_context, samples):
    import lawgov_nlp as lg

    d, _ = tiny_context
    t = lg.load(d / "model")
    doc = t.tag_file(samples[2])
    assert len(doc.sentences) == 116
    assert all(abs(sum(s.scores.values()) - 1) < 1e-4 for s in doc.sentences)
    assert doc.sentences[7].section[-1] == "存在问题1"
    # a sentence alone is a one-sentence document
    one = t.tag_sentences(["下一步，将进一步规范行政执法行为。", "全年办理行政复议案件56件。"])
    assert len(one) == 2 and one[0].dimension in t.dimensions
    # neighbours change what the model sees: the same sentence in its document and alone
    inside = t.tag_documents([lg.read_file(samples[2])])[0].sentences[7].scores
    alone = t.tag_sentences([doc.sentences[7].text])[0].scores
    assert inside != alone
    # identical sentences are encoded once and get the same vector
    v = t.sentence_vectors(["同一句话。", "另一句话。", "同一句话。"])
    assert np.array_equal(v[0], v[2]) and not np.array_equal(v[0], v[1])


def test_cli_tags_with_a_context_model(tiny_context, samples, tmp_path):
    from typer.testing import CliRunner

    from lawgov_nlp.cli import app

    d, _ = tiny_context
    out = tmp_path / "t.jsonl"
    res = CliRunner().invoke(app, ["tag", *map(str, samples), "-o", str(out), "--model", str(d / "model"), "-q"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 93 + 99 + 116


def test_transformer_layer_handles_documents_longer_than_its_window():
    import torch

    from lawgov_nlp.models.context_net import ContextNetwork
    from lawgov_nlp.models.settings import ContextSettings

    s = ContextSettings(layer="transformer", hidden=16, heads=2, window=8, overlap=2, dropout=0.0, input_dropout=0.0)
    net = ContextNetwork(12, 5, 4, 3, s).eval()
    v, f = torch.randn(1, 30, 12), torch.randn(1, 30, 5)
    m = torch.ones(1, 30, dtype=torch.bool)
    dl, rl = net(v, f, m)
    assert dl.shape == (1, 30, 4) and rl.shape == (1, 30, 3) and torch.isfinite(dl).all()


def test_structure_features():
    from lawgov_nlp import read_text
    from lawgov_nlp.models.features import FEATURE_NAMES, structure_features

    doc = read_text("一、总体情况\n全年办结案件12件。二是加强培训。\n二、存在问题\n问题：人员不足。\n")
    f = structure_features(doc.sentences)
    assert f.shape == (len(doc.sentences), len(FEATURE_NAMES))
    col = {n: i for i, n in enumerate(FEATURE_NAMES)}
    assert f[0, col["is_heading"]] == 1 and f[0, col["level_1"]] == 1 and f[1, col["is_heading"]] == 0
    assert f[1, col["first_in_paragraph"]] == 1 and f[2, col["first_in_paragraph"]] == 0
    assert f[0, col["position"]] == 0 and f[-1, col["position"]] == 1
    assert structure_features([]).shape == (0, len(FEATURE_NAMES))


def test_stale_section_augmentation_moves_problem_paragraphs_under_the_previous_heading():
    from lawgov_nlp import read_text
    from lawgov_nlp.models.tagger import SentenceInput
    from lawgov_nlp.train.context import augment_document

    doc = read_text("一、主要成效\n（一）政务公开\n全年公开信息120条。\n二、存在问题\n人员不足。\n经费短缺。\n")
    sents = [SentenceInput(s.text, s.section, s.is_heading, s.heading_level, s.paragraph, s.index) for s in doc.sentences]
    roles = [3, 0, 0, 3, 1, 1]  # other, achievement, achievement, other, problem, problem
    vec = np.arange(len(sents) * 4, dtype=np.float32).reshape(len(sents), 4)
    view, v, _, r, mask, _ = augment_document(sents, vec, [0] * 6, roles, None, {"stale_section": 1.0},
                                              random.Random(0), [], {1, 2})
    texts = [s.text for s in view]
    assert "二、存在问题" not in texts and texts[-2:] == ["人员不足。", "经费短缺。"]
    assert view[-1].section == ("一、主要成效", "（一）政务公开")  # a stale heading path
    assert list(r[-2:]) == [1, 1] and mask.all() and v.shape == (5, 4)
    # crops are contiguous excerpts
    rng = random.Random(3)
    for _ in range(20):
        view, v, *_ = augment_document(sents, vec, [0] * 6, roles, None, {"crop": 1.0}, rng, [], {1, 2})
        idx = [int(x[0] // 4) for x in v]
        assert idx == list(range(idx[0], idx[0] + len(idx)))


def test_default_config_is_the_context_model():
    from lawgov_nlp.train import ContextConfig, load_config

    cfg = load_config(ROOT / "configs" / "train" / "default.yaml")
    assert isinstance(cfg, ContextConfig) and cfg.output_dir == "models/lawgov-zh-small"
    assert cfg.stage1_config().use_section is False


def test_partial_labels_unlabelled_sentences_are_context_without_loss(tiny_context, tmp_path):
    """A document where only some sentences are labelled (active learning, partial annotation):
    the others are in the sequence but carry no loss; anything else wrong is still refused."""
    import torch

    from lawgov_nlp.errors import ConfigError, CorpusError
    from lawgov_nlp.models.tagger import SentenceInput
    from lawgov_nlp.scheme import load_scheme
    from lawgov_nlp.train import ContextConfig
    from lawgov_nlp.train.context import augment_document, load_partially_labelled, train_context

    d, _ = tiny_context
    # the loss mask: -1 (unlabelled) sentences are masked, the others are not
    sents = [SentenceInput(f"第{i}句。", index=i) for i in range(4)]
    _, _, _, _, mask, _ = augment_document(sents, np.zeros((4, 3), np.float32), [0, -1, 2, -1], [1, -1, 0, -1], None,
                                           {}, random.Random(0), [], set())
    assert list(mask) == [True, False, True, False]

    rows = [json.loads(x) for x in (d / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    partial = [r if i % 3 == 0 else {**r, "dimension": None, "role": None, "secondary": []} for i, r in enumerate(rows)]
    src = tmp_path / "partial.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in partial), encoding="utf-8")
    scheme = load_scheme()
    assert len(load_partially_labelled(src, scheme)) == len(rows)
    # one label of two, or an unknown label, is still a problem; so is a file with no label at all
    for bad_rows, message in (([{**partial[1], "dimension": "functions"}] + partial[2:], "missing role"),
                              ([{**partial[0], "role": "bogus"}] + partial[1:], "unknown label"),
                              ([{**r, "dimension": None, "role": None} for r in partial], "no sentence is labelled")):
        bad = tmp_path / "bad.jsonl"
        bad.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in bad_rows), encoding="utf-8")
        with pytest.raises(CorpusError, match=message):
            load_partially_labelled(bad, scheme)
    common = dict(train=str(src), dev=str(d / "dev.jsonl"), output_dir=str(tmp_path / "model"), context={"hidden": 32},
                  epochs=2, threads=1)
    with pytest.raises(ConfigError, match="encoder_from"):
        ContextConfig(partial_labels=True, **common)
    # without the switch, unlabelled sentences are refused as before
    with pytest.raises(CorpusError, match="missing dimension"):
        train_context(ContextConfig(encoder_from=str(d / "encoder"), **common), log=lambda m: None, progress=False)
    logs: list[str] = []
    torch.manual_seed(0)
    res = train_context(ContextConfig(encoder_from=str(d / "encoder"), partial_labels=True, **common),
                        log=logs.append, progress=False)
    n_unlabelled = sum(r["dimension"] is None for r in partial)
    assert any(f"{n_unlabelled} of {len(rows)} training sentences are unlabelled" in m for m in logs)
    assert 0 <= res["dev"]["dimension_macro_f1"] <= 1 and (tmp_path / "model" / "lawgov_model.json").is_file()


def test_documents_batched_through_the_context_layer_match_one_at_a_time(tiny_context, samples, monkeypatch):
    import lawgov_nlp as lg
    from lawgov_nlp.models import context
    from lawgov_nlp.models.tagger import _as_input

    d, _ = tiny_context
    t = lg.load(d / "model")
    docs = [[_as_input(s) for s in lg.read_file(p).sentences] for p in samples]
    docs += [[s] for s in docs[0][:20]] + [[]]  # one-sentence documents and an empty one among them
    together = t.predict_documents(docs)
    monkeypatch.setattr(context, "CONTEXT_BATCH_DOCS", 1)
    alone = t.predict_documents(docs)
    assert [len(a[0]) for a in together] == [len(d) for d in docs]
    for (d1, r1), (d2, r2) in zip(together, alone):
        assert np.allclose(d1, d2, atol=1e-5) and np.allclose(r1, r2, atol=1e-5)
    # the padding of a group reaches no document: a document's probabilities do not depend on its company
    first = t.predict_documents(docs[:1])[0]
    assert np.allclose(first[0], together[0][0], atol=1e-5)


@pytest.mark.parametrize("lengths,slots,most", [([1] * 10, 4, 64), ([1, 2, 3, 50, 60], 100, 64),
                                                ([5, 5, 5, 5], 100, 3), ([200], 100, 64), ([], 10, 2)])
def test_context_groups_keep_within_their_bounds(lengths, slots, most):
    from lawgov_nlp.models.context import _groups

    groups = _groups(lengths, slots, most)
    assert [i for g in groups for i in g] == list(range(len(lengths)))  # every document once, in order
    for g in groups:
        assert len(g) <= most
        assert len(g) == 1 or len(g) * max(lengths[i] for i in g) <= slots


def test_context_model_as_encoder_from_and_fold_hook(tiny_context, tmp_path):
    """Stage 2 trained again on a context model's own encoder (as lopo_paths.py does): the vectors are
    that encoder's, each leave-one-out fold reaches the hook once, and tagging the left-out document
    with the fold's layers reproduces training's own leave-one-out figures."""
    import lawgov_nlp as lg
    from lawgov_nlp.data import load_records
    from lawgov_nlp.errors import LawgovError
    from lawgov_nlp.metrics import tagging_metrics
    from lawgov_nlp.train import ContextConfig
    from lawgov_nlp.train.context import train_context

    d, _ = tiny_context
    t = lg.load(d / "model", exact=True, threads=1)
    loro = load_records(d / "loro.jsonl")
    decided = [None] * len(loro)
    seen = []

    def hook(name, k, net, thresholds, rows):
        seen.append((name, k, len(rows)))
        t.context_net, t.thresholds = net, thresholds
        t.clear_caches()
        recs = [loro[i] for i in rows]
        for i, dec in zip(rows, t.decide(*t.predict_records(recs))):
            decided[i] = dec

    cfg = ContextConfig(train=str(d / "train.jsonl"), dev=str(d / "dev.jsonl"), output_dir=str(tmp_path / "again"),
                        encoder_from=str(d / "model"), context={"hidden": 32}, epochs=2, threads=1,
                        loro_train={"loro": str(d / "loro.jsonl")})
    res = train_context(cfg, log=lambda m: None, progress=False, fold_hook=hook)
    n_docs = len({r["doc_id"] for r in loro})
    assert [(n, k) for n, k, _ in seen] == [("loro", k) for k in range(n_docs)]
    assert sum(n for _, _, n in seen) == len(loro) and None not in decided
    m = tagging_metrics(loro, decided, t.scheme)
    assert abs(m["dimension_macro_f1"] - res["loro"]["dimension_macro_f1"]) < 0.02
    assert abs(m["role_macro_f1"] - res["loro"]["role_macro_f1"]) < 0.02
    assert list((tmp_path / ".again.vectors").glob("vectors-*.npz"))  # cached beside this run's output
    assert not (d / ".model.vectors").exists()  # not beside the model it read
    # a tagger of another kind is still refused as stage 1
    with pytest.raises(LawgovError, match="stage 1 must be an encoder model"):
        train_context(ContextConfig(train=str(d / "train.jsonl"), dev=str(d / "dev.jsonl"), output_dir=str(tmp_path / "x"),
                                    encoder_from="keywords", context={"hidden": 32}, epochs=1, threads=1),
                      log=lambda m: None, progress=False)
