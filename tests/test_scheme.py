from __future__ import annotations

import pytest
import yaml

from lawgov_nlp import LabelScheme, SchemeError, load_scheme
from lawgov_nlp.scheme import scheme_dir


def test_default_scheme_matches_guidelines():
    sc = load_scheme()
    assert sc.dimension_codes == ["functions", "rules", "decisions", "enforcement", "emergency",
                                  "disputes", "oversight", "digital", "leadership", "other"]
    assert sc.role_codes == ["achievement", "problem", "plan", "other"]
    assert sc.dimension("emergency").name == "突发事件应对"
    assert "12345" in sc.dimension("oversight").cues and "12348" in sc.dimension("disputes").cues
    assert all(d.scope for d in sc.dimensions)


def test_shipped_scheme_is_the_configs_file():
    assert (scheme_dir() / "zh-2021.yaml").exists()


def _write(tmp_path, data):
    p = tmp_path / "scheme.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return p


def _base():
    return load_scheme().to_dict()


def test_custom_scheme_with_more_dimensions(tmp_path):
    data = _base()
    data["name"] = "fzzf-2024"
    data["dimensions"].insert(8, {"code": "foreign", "name": "涉外法治", "scope": "涉外法律服务", "cues": ["涉外"]})
    sc = load_scheme(_write(tmp_path, data))
    assert len(sc.dimensions) == 11 and "foreign" in sc.dimension_codes
    # round trip through save
    out = tmp_path / "saved.yaml"
    sc.save(out)
    assert load_scheme(out) == sc


@pytest.mark.parametrize("mutate, words", [
    (lambda d: d.update(colour="red"), ["unknown key", "colour"]),
    (lambda d: d["dimensions"].append(dict(d["dimensions"][0])), ["duplicate code", "functions"]),
    (lambda d: d["dimensions"][2].pop("name"), ["dimensions[2]", "name"]),
    (lambda d: d["roles"][1].update(weight=2), ["roles[1]", "weight"]),
    (lambda d: d.pop("roles"), ["missing", "roles"]),
    (lambda d: d.update(problem_role="issue"), ["problem_role", "issue"]),
    (lambda d: d.update(dimensions=[]), ["dimensions", "non-empty"]),
])
def test_bad_scheme_errors_name_file_and_key(tmp_path, mutate, words):
    data = _base()
    mutate(data)
    p = _write(tmp_path, data)
    with pytest.raises(SchemeError) as ei:
        load_scheme(p)
    msg = str(ei.value)
    assert str(p) in msg
    for w in words:
        assert w in msg


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(SchemeError, match="no such scheme"):
        load_scheme(tmp_path / "nope")
    bad = tmp_path / "bad.yaml"
    bad.write_text("dimensions: [\n", encoding="utf-8")
    with pytest.raises(SchemeError, match="not valid YAML"):
        load_scheme(bad)


def test_from_dict_rejects_non_mapping():
    with pytest.raises(SchemeError):
        LabelScheme.from_dict(["a"], "x.yaml")
