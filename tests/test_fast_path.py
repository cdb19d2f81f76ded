"""The default path (the fastest that passed parity) against the float32 reference, on the real samples."""
import os
from pathlib import Path

import numpy as np
import pytest

import lawgov_nlp as lg
from lawgov_nlp.data.corpus import load_records
from lawgov_nlp.errors import ModelError
from lawgov_nlp.models.backends import choose_path
from test_context import tiny_context  # noqa: F401 - the module-scoped fixture


def test_path_choice_and_errors(monkeypatch):
    assert choose_path(exact=True) == "fp32"
    assert choose_path(fast=True) == "torch-int8"
    assert choose_path(backend="onnx") == "onnx-int8"
    assert choose_path(backend="onnx", exact=True) == "onnx-fp32"
    monkeypatch.setenv("LAWGOV_PRECISION", "fp32")
    assert choose_path() == "fp32"
    monkeypatch.setenv("LAWGOV_PRECISION", "fp8")
    with pytest.raises(ModelError, match="LAWGOV_PRECISION"):
        choose_path()
    with pytest.raises(ModelError, match="unknown backend 'tpu'"):
        choose_path(backend="tpu")
    with pytest.raises(ModelError, match="exclude each other"):
        choose_path(fast=True, exact=True)


@pytest.mark.parametrize("flags, says", [("fpu avx512f avx512_bf16 amx_bf16 amx_tile", "(AMX)"),
                                         ("fpu avx512f avx512_vnni avx512_bf16", "(AVX-512 BF16, no AMX)"),
                                         ("fpu avx2 fma", "(no native bfloat16)")])
def test_machine_description_names_the_cpu_and_its_bfloat16(monkeypatch, tmp_path, flags, says):
    from lawgov_nlp.models import backends

    info = tmp_path / "cpuinfo"
    info.write_text(f"processor\t: 0\nmodel name\t: Some CPU 9000\nflags\t\t: {flags}\n", encoding="utf-8")
    real_open = open

    def fake_open(path, *a, **k):
        return real_open(info if str(path) == "/proc/cpuinfo" else path, *a, **k)

    monkeypatch.setattr("builtins.open", fake_open)
    assert backends.machine_description().startswith(f"Some CPU 9000 {says}, ")


def test_default_path_matches_the_reference_on_real(tmp_path):
    ref = lg.load("lawgov-zh-small", exact=True, threads=2)
    fast = lg.load("lawgov-zh-small", threads=2)
    assert ref.path_name == "fp32"
    recs = load_records("training/data/real.jsonl", ref.scheme)
    rd, rr = ref.predict_records(recs)
    fd, fr = fast.predict_records(recs)
    dim = float((rd.argmax(1) == fd.argmax(1)).mean())
    role = float((rr.argmax(1) == fr.argmax(1)).mean())
    print(f"\n{fast.path_name} vs fp32 on real ({len(recs)} sentences): identical dimension {dim:.4f}, role {role:.4f}; "
          f"max |Δp| {float(np.abs(rd - fd).max()):.4f}")
    assert dim >= 0.99 and role >= 0.99
    if fast.path_name != "fp32":
        with pytest.raises(ModelError, match="exact=True"):
            fast.save(tmp_path / "m")
    # repeated sentences come from the cache and give the same vectors
    texts = [r["text"] for r in recs[:20]]
    a = fast.sentence_vectors(texts)
    hits = fast.vector_cache.hits
    b = fast.sentence_vectors(texts)
    assert fast.vector_cache.hits == hits + len(texts)
    assert np.array_equal(a, b)


def test_bf16_path_bounds_onednn_kernel_cache(tiny_context, monkeypatch):  # noqa: F811
    import copy

    from lawgov_nlp.models.backends import KERNEL_CACHE, KERNEL_CACHE_ENV, prepare_network

    d, _ = tiny_context
    net = lg.load(d / "model", exact=True, threads=1).net
    monkeypatch.delenv(KERNEL_CACHE_ENV, raising=False)
    prepare_network(copy.deepcopy(net), "fp32")
    assert KERNEL_CACHE_ENV not in os.environ  # only the bfloat16 path runs on oneDNN's kernels
    prepare_network(copy.deepcopy(net), "bf16")
    assert os.environ[KERNEL_CACHE_ENV] == str(KERNEL_CACHE)
    monkeypatch.setenv(KERNEL_CACHE_ENV, "64")  # a user's own setting is kept
    prepare_network(copy.deepcopy(net), "bf16")
    assert os.environ[KERNEL_CACHE_ENV] == "64"


def test_vector_cache_size_from_the_environment(monkeypatch):
    from lawgov_nlp.models.tagger import VectorCache

    assert VectorCache().size == 20000
    assert VectorCache(3).size == 3
    monkeypatch.setenv("LAWGOV_VECTOR_CACHE", "0")
    off = VectorCache()
    off.store(["a"], np.zeros((1, 4), dtype=np.float32))
    assert len(off) == 0 and off.lookup(["a"]) == {}
    monkeypatch.setenv("LAWGOV_VECTOR_CACHE", "lots")
    with pytest.raises(ModelError, match="LAWGOV_VECTOR_CACHE='lots'"):
        VectorCache()


def test_onnx_backend_on_a_tiny_model_is_built_once_and_kept_across_manifest_edits(tiny_context, tmp_path):
    import json
    import shutil

    pytest.importorskip("onnxruntime")
    d, _ = tiny_context
    m = tmp_path / "model"
    shutil.copytree(d / "model", m, ignore=shutil.ignore_patterns("onnx"))
    recs = load_records(d / "dev.jsonl")
    ref = lg.load(m, exact=True, threads=1)
    o = lg.load(m, backend="onnx", exact=True, threads=1)
    assert o.path_name == "onnx-fp32"
    built = sorted((m / "onnx").glob("*.onnx"))
    assert len(built) == 1
    a, b = ref.sentence_vectors([r["text"] for r in recs]), o.sentence_vectors([r["text"] for r in recs])
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    assert cos.min() > 0.999, cos.min()
    # editing the manifest without touching the encoder (thresholds, a draft, a benchmark) keeps the file
    mf = m / "lawgov_model.json"
    man = json.loads(mf.read_text(encoding="utf-8"))
    man["thresholds"]["problem"] = 0.65
    mf.write_text(json.dumps(man), encoding="utf-8")
    stamp = built[0].stat().st_mtime_ns
    lg.load(m, backend="onnx", exact=True, threads=1)
    assert sorted((m / "onnx").glob("*.onnx")) == built and built[0].stat().st_mtime_ns == stamp
    # a truncated cached file is named, with what to do
    built[0].write_bytes(built[0].read_bytes()[:100])
    with pytest.raises(ModelError, match="delete it and it is rebuilt"):
        lg.load(m, backend="onnx", exact=True, threads=1)


def test_shipped_draft_on_real_matches_its_recorded_parity(capsys):
    """The shipped draft path (opt-in unless its recorded verdict passed) against the reference on real:
    the figures are printed, and they are the ones recorded in the manifest, whose verdict decides the default."""
    ref = lg.load("lawgov-zh-small", exact=True, threads=2)
    if ref.draft is None:
        pytest.skip("the shipped model has no draft encoder")
    fast = lg.load("lawgov-zh-small", threads=2, draft=True)
    if fast.draft.net is None:
        pytest.skip(f"the draft does not run on this path ({fast.path_name})")
    recs = load_records("training/data/real.jsonl", ref.scheme)
    a = ref.decide(*ref.predict_records(recs))
    b = fast.decide(*fast.predict_records(recs))
    dim = sum(x.dimension == y.dimension for x, y in zip(a, b)) / len(a)
    role = sum(x.role == y.role for x, y in zip(a, b)) / len(a)
    reread = fast.draft_stats["reread"] / fast.draft_stats["sentences"]
    with capsys.disabled():
        print(f"\n{fast.path_name} vs fp32 on real ({len(recs)} sentences): same dimension {dim:.4f}, role {role:.4f}; "
              f"the full encoder re-read {reread:.1%}")
    parity = ref.draft.info["parity"]
    row = next(r for r in parity["rows"] if r["split"] == "real")
    assert abs(dim - row["same_dimension"]) <= 0.01 and abs(role - row["same_role"]) <= 0.01, (dim, role, row)
    assert dim >= 0.98 and role >= 0.98 and reread < 0.3
    # the verdict decides the default path
    assert lg.load("lawgov-zh-small", threads=2).path_name.startswith("draft+") == bool(parity["passed"])


def test_batches_built_from_kept_ids_equal_the_tokenizers(monkeypatch):
    """The encoder's batches reuse the ids found while windowing: the same tensors as tokenizing again,
    for short, long (windowed), mixed-script and traditional-script sentences and a heading pair."""
    import json

    import torch

    from lawgov_nlp.models import encoder
    from lawgov_nlp.models.base import load_base_tokenizer
    from lawgov_nlp.models.settings import EncoderSettings

    tok = load_base_tokenizer("bundled")
    rows = (Path(__file__).resolve().parents[1] / "training" / "data" / "real.jsonl").read_text(encoding="utf-8").splitlines()
    texts = [json.loads(x)["text"] for x in rows if x][:120]
    texts += ["依法行政" * 80, "2024年全市办理行政复议案件1,234件，ABC app上线。", "推進法治政府建設。", "。"]
    for use_section in (False, True):
        s = EncoderSettings(max_length=64, use_section=use_section)
        items, _, _ = encoder.encode_items(tok, s, texts, [("一、基本情况",)] * len(texts))
        kept = sum(x[3] is not None for x in items)
        assert (kept == 0) if use_section else (0 < kept < len(items))  # windows and headings tokenize again
        for a in range(0, len(items), 16):
            got = encoder.tokenize_items(tok, s, items[a:a + 16])
            want = encoder.tokenize_items(tok, s, [x[:3] for x in items[a:a + 16]])
            assert set(got) == set(want) and all(torch.equal(got[k], want[k]) for k in want)
    # a tokenizer whose template is not [first] + ids + [last] is asked again
    tok = load_base_tokenizer("bundled")
    assert encoder._template(tok) is not None
    monkeypatch.setattr(tok, "padding_side", "left")
    del tok._lawgov_template
    assert encoder._template(tok) is None
    items, _, _ = encoder.encode_items(tok, EncoderSettings(max_length=64), ["依法行政。", "推进法治政府建设。"], None)
    assert encoder.tokenize_items(tok, EncoderSettings(max_length=64), items)["input_ids"][0, 0] == tok.pad_token_id
    del tok._lawgov_template  # probed again after the padding side is restored
