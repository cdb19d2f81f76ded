"""The model directory contract: one manifest for every kind, one loader, clear errors."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import lawgov_nlp as lg
from lawgov_nlp.errors import ModelError
from lawgov_nlp.models.contract import MANIFEST_NAME, read_manifest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def kw_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("kw") / "kw"
    lg.load("keywords").save(d)
    return d


def _copy(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / src.name
    shutil.copytree(src, dst)
    return dst


def test_every_kind_writes_the_same_manifest(tiny_model, kw_dir):
    for d, kind in ((tiny_model, "encoder"), (kw_dir, "keywords"), (ROOT / "models" / "baseline-tfidf", "tfidf")):
        man = json.loads((Path(d) / MANIFEST_NAME).read_text(encoding="utf-8"))
        assert man["kind"] == kind and man["format_version"] == 2
        assert {"lawgov_nlp"} <= set(man["versions"]) and man["scheme"] == "scheme.yaml"
        assert set(man["thresholds"]) == {"problem", "secondary"}
        for name, meta in man["weights"].items():
            assert (Path(d) / name).stat().st_size == meta["bytes"] and len(meta["sha256"]) == 64
        assert (Path(d) / "README.md").is_file()  # the card is written at save time


def test_one_loader_for_names_paths_and_kinds(tiny_model, kw_dir):
    assert lg.load(kw_dir).kind == "keywords"
    assert lg.load("keywords").kind == "keywords"
    assert lg.load("baseline-tfidf").kind == "tfidf"
    assert lg.load(str(ROOT / "models" / "baseline-tfidf")).kind == "tfidf"
    assert lg.load(tiny_model).kind == "encoder"
    with pytest.raises(ModelError, match="no such model directory, and not the name of a shipped model"):
        lg.load("no-such-model")


def test_a_newer_format_is_refused_before_its_keys_are_read(kw_dir, tmp_path):
    d = _copy(kw_dir, tmp_path)
    man = json.loads((d / MANIFEST_NAME).read_text(encoding="utf-8"))
    man["format_version"] = 9
    man["a_key_from_the_future"] = {"x": 1}
    (d / MANIFEST_NAME).write_text(json.dumps(man), encoding="utf-8")
    with pytest.raises(ModelError, match=r"made by a newer lawgov-nlp \(format 9.*upgrade the package"):
        lg.load(d)


def test_garbled_manifest_names_the_file(kw_dir, tmp_path):
    d = _copy(kw_dir, tmp_path)
    (d / MANIFEST_NAME).write_text('{"kind": "keywords", "format_version": 2,', encoding="utf-8")
    with pytest.raises(ModelError, match=rf"{MANIFEST_NAME}: garbled manifest \(not valid JSON"):
        lg.load(d)
    (d / MANIFEST_NAME).write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ModelError, match="garbled manifest"):
        lg.load(d)
    (d / MANIFEST_NAME).write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ModelError, match="garbled manifest"):
        lg.load(d)


def test_truncated_or_missing_weights_name_the_file(tiny_model, tmp_path):
    d = _copy(Path(tiny_model), tmp_path)
    w = d / "weights.safetensors"
    data = w.read_bytes()
    w.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match=r"weights\.safetensors: weights file truncated"):
        lg.load(d)
    w.write_bytes(data[:-8] + b"\0" * 8)
    with pytest.raises(ModelError, match=r"weights\.safetensors: weights file corrupted"):
        lg.load(d)
    w.unlink()
    with pytest.raises(ModelError, match=r"weights\.safetensors: weights file missing"):
        lg.load(d)


def test_a_scheme_that_disagrees_with_the_heads_is_refused(tiny_model, tmp_path):
    import yaml

    d = _copy(Path(tiny_model), tmp_path)
    sc = yaml.safe_load((d / "scheme.yaml").read_text(encoding="utf-8"))
    sc["dimensions"] = [x for x in sc["dimensions"] if x["code"] != "digital"]
    (d / "scheme.yaml").write_text(yaml.safe_dump(sc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ModelError, match=r"scheme\.yaml: the scheme's dimensions disagree with the model's heads: "
                                         r"the heads predict \['digital'\] which the scheme lacks"):
        lg.load(d)


def test_tune_thresholds_goes_through_the_contract(kw_dir, tmp_path):
    from typer.testing import CliRunner

    from lawgov_nlp.cli import app

    d = _copy(kw_dir, tmp_path)
    data = tmp_path / "dev.jsonl"
    rows = (ROOT / "training" / "data" / "dev.jsonl").read_text(encoding="utf-8").splitlines()[:150]
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    before = json.loads((d / MANIFEST_NAME).read_text(encoding="utf-8"))
    res = CliRunner().invoke(app, ["tune-thresholds", str(d), str(data)])
    assert res.exit_code == 0, res.output
    man, _ = read_manifest(d)  # still a valid manifest, checksums included
    assert set(man.thresholds) == {"problem", "secondary"}
    assert {k: v for k, v in before.items() if k != "thresholds"} == \
        {k: v for k, v in json.loads((d / MANIFEST_NAME).read_text(encoding="utf-8")).items() if k != "thresholds"}


def test_directories_of_version_0_1_still_load(tiny_model, tmp_path):
    """A format-1 encoder directory (tagger_config.json) loads through the legacy reader."""
    d = _copy(Path(tiny_model), tmp_path)
    man = json.loads((d / MANIFEST_NAME).read_text(encoding="utf-8"))
    cfg = {**man["config"], "dimensions": man["dimensions"], "roles": man["roles"], "problem_role": "problem",
           "problem_threshold": man["thresholds"]["problem"], "secondary_threshold": man["thresholds"]["secondary"],
           "format_version": 1}
    (d / MANIFEST_NAME).unlink()
    (d / "tagger_config.json").write_text(json.dumps(cfg), encoding="utf-8")
    t = lg.load(d)
    assert t.kind == "encoder" and t.thresholds.problem == man["thresholds"]["problem"]
    assert t.tag_sentences(["全年办理行政复议案件12件。"])[0].dimension in t.dimensions


def test_the_cli_takes_any_kind(kw_dir, tmp_path, samples):
    from typer.testing import CliRunner

    from lawgov_nlp.cli import app

    for model in ("keywords", "baseline-tfidf", str(kw_dir)):
        out = tmp_path / f"{Path(model).name}.jsonl"
        res = CliRunner().invoke(app, ["tag", str(samples[0]), "-o", str(out), "--model", model, "--no-progress"])
        assert res.exit_code == 0, res.output
        assert len(out.read_text(encoding="utf-8").splitlines()) == 93


def test_the_card_quotes_a_recorded_speed_table(kw_dir):
    from lawgov_nlp.models.card import model_card

    man, _ = read_manifest(kw_dir)
    assert "## Speed" not in model_card(man, {})
    speed = {"command": "python training/benchmarks/tag_speed.py --repeat 3", "measured": "2026-12-02", "threads": 2,
             "repeat": 3, "what": "the samples", "machine": "a test CPU",
             "rows": [{"variant": "naive", "run": "fp32", "median_sps": 26.4, "min_sps": 25.0, "max_sps": 27.2,
                       "peak_rss_mb": 591.0, "ratio": 1.0},
                      {"variant": "default", "run": "bf16", "median_sps": 120.2, "min_sps": 119.0, "max_sps": 121.0,
                       "peak_rss_mb": 621.4, "ratio": 4.55}]}
    card = model_card(man, {"speed": speed})
    assert "`python training/benchmarks/tag_speed.py --repeat 3` on 2026-12-02" in card
    assert "| default | bf16 | 120 | 119–121 | 621 | 4.5× |" in card
