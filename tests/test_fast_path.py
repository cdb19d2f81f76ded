"""The default path (the fastest that passed parity) against the float32 reference, on the real samples."""
import numpy as np
import pytest

import lawgov_nlp as lg
from lawgov_nlp.data.corpus import load_records
from lawgov_nlp.errors import ModelError
from lawgov_nlp.models.backends import choose_path


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
