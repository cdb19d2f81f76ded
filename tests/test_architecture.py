"""The layout's rules, checked on the source: no import cycles (imports inside functions count),
no module named like the standard library or a dependency, every user-facing exception in
errors.py, configs validated on construction, one set of LoRA defaults, loading without side
effects, decisions as records."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "lawgov_nlp"


def _modules() -> dict[str, Path]:
    out = {}
    for p in PKG.rglob("*.py"):
        rel = p.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def _is_package(name: str, mods: dict[str, Path]) -> bool:
    return mods[name].name == "__init__.py"


def _imports(name: str, path: Path, mods: dict[str, Path]) -> set[str]:
    """Every lawgov_nlp module this one imports, anywhere in its body."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if _is_package(name, mods) else name.rsplit(".", 1)[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("lawgov_nlp"):
                    out.add(a.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("lawgov_nlp"):
                continue
            for a in node.names:  # from pkg import submodule
                sub = f"{target}.{a.name}"
                out.add(sub if sub in mods else target)
    return {m for m in out if m in mods and m != name}


def test_no_import_cycles_even_inside_functions():
    mods = _modules()
    graph = {m: _imports(m, p, mods) for m, p in mods.items()}
    # a package's __init__ importing its own submodules is how re-exports work; a submodule
    # importing its package back (or any longer loop) is a cycle
    cycles = []
    state: dict[str, int] = {}

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                cycles.append(stack[stack.index(n):] + [n])
            elif n not in state:
                visit(n, stack)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [])
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles[:10])


def test_no_module_named_like_the_standard_library_or_a_dependency():
    from importlib import metadata

    deps = set()
    dist = metadata.distribution("lawgov-nlp")
    req_names = {r.split(";")[0].split("[")[0].split("=")[0].split(">")[0].split("<")[0].strip().lower().replace("_", "-")
                 for r in dist.requires or []}
    for top, dists in metadata.packages_distributions().items():
        if any(d.lower().replace("_", "-") in req_names for d in dists):
            deps.add(top)
    clashes = []
    for name in _modules():
        leaf = name.rsplit(".", 1)[-1]
        if leaf in sys.stdlib_module_names or leaf in deps:
            clashes.append(name)
    assert not clashes, clashes


def test_every_exception_is_defined_in_errors_py():
    offenders = []
    builtin_raises = []
    for name, path in _modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and name != "lawgov_nlp.errors":
                bases = {getattr(b, "id", getattr(b, "attr", "")) for b in node.bases}
                if any(b.endswith(("Error", "Exception")) for b in bases):
                    offenders.append(f"{name}.{node.name}")
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                fn = node.exc.func
                fname = getattr(fn, "id", None)
                if fname in ("ValueError", "TypeError", "RuntimeError", "KeyError", "OSError", "Exception", "IOError"):
                    builtin_raises.append(f"{name}:{node.lineno} raises {fname}")
    assert not offenders, offenders
    assert not builtin_raises, builtin_raises
    import lawgov_nlp.errors as errors

    for obj in vars(errors).values():
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, errors.LawgovError), obj


def test_configs_are_validated_on_construction():
    from lawgov_nlp.errors import ConfigError
    from lawgov_nlp.models.settings import ContextSettings, EncoderSettings, LoraSettings
    from lawgov_nlp.train import ContextConfig, TfidfConfig, TrainConfig

    for make in (lambda: TrainConfig(pooling="max"), lambda: TrainConfig(epochs=0), lambda: TrainConfig(lora={"r": 0}),
                 lambda: TrainConfig(lora={"rank": 8}), lambda: EncoderSettings(dropout=1.5),
                 lambda: LoraSettings(target_modules=[]), lambda: ContextSettings(layer="lstm"),
                 lambda: ContextConfig(augment={"shuffle": 0.5}), lambda: ContextConfig(encoder={"use_section": True}),
                 lambda: TfidfConfig(params={"C": 1, "bogus": 2}), lambda: TrainConfig(select_metric="accuracy")):
        with pytest.raises(ConfigError):
            make()


def test_lora_defaults_are_written_once():
    hits = []
    for name, path in _modules().items():
        text = path.read_text(encoding="utf-8")
        if '"query", "key", "value", "dense"' in text:
            hits.append(name)
    assert hits == ["lawgov_nlp.models.settings"], hits
    from lawgov_nlp.models.settings import EncoderSettings, LoraSettings
    from lawgov_nlp.train import TrainConfig

    assert TrainConfig().lora == LoraSettings() == EncoderSettings().lora


def test_the_package_has_the_layout_of_the_data_flow():
    for sub in ("text", "models", "train", "data", "report", "cli", "engines"):
        assert (PKG / sub / "__init__.py").is_file(), sub
    for f in ("records.py", "metrics.py", "errors.py", "output.py"):
        assert (PKG / f).is_file(), f
    flat = [p.name for p in PKG.glob("*.py")]
    assert len(flat) <= 10, flat
    assert not (PKG / "io.py").exists() and not (PKG / "evaluate.py").exists()


def test_loading_a_model_does_not_touch_the_callers_rngs(tiny_model):
    import random

    import numpy as np
    import torch

    import lawgov_nlp as lg

    torch.manual_seed(123)
    random.seed(5)
    np.random.seed(7)
    expected = (torch.rand(3), random.random(), np.random.rand())
    torch.manual_seed(123)
    random.seed(5)
    np.random.seed(7)
    lg.load(tiny_model)
    got = (torch.rand(3), random.random(), np.random.rand())
    assert torch.equal(expected[0], got[0]) and expected[1:] == got[1:]


def test_the_network_is_an_importable_module_that_initialises_its_heads(tiny_model):
    import torch

    import lawgov_nlp as lg
    from lawgov_nlp.models.network import TwoHeadNetwork

    t = lg.load(tiny_model)
    assert isinstance(t.net, TwoHeadNetwork) and isinstance(t.net, torch.nn.Module)
    enc = t.net.encoder
    a = TwoHeadNetwork(enc, 10, 4, seed=1)
    b = TwoHeadNetwork(enc, 10, 4, seed=1)
    assert torch.equal(a.dimension_head.weight, b.dimension_head.weight)
    assert not torch.equal(a.dimension_head.weight, TwoHeadNetwork(enc, 10, 4, seed=2).dimension_head.weight)


def test_decisions_are_records():
    import numpy as np

    import lawgov_nlp as lg
    from lawgov_nlp.records import Decision

    kw = lg.load("keywords")
    dp, rp = kw.predict_proba(["全年办理行政复议案件56件。"])
    d = kw.decide(dp, rp)[0]
    assert isinstance(d, Decision) and d.dimension == "disputes" and isinstance(d.secondary, tuple)
    assert not isinstance(d, tuple)
    assert np.isclose(d.problem_probability, rp[0][kw.roles.index("problem")])
