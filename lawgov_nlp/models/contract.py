"""The model directory: one contract for every kind of model.

A model directory is the whole model, as in sentence-transformers::

    lawgov_model.json   the manifest: kind, format version, the library versions that wrote it,
                        the label lists the heads predict, the scheme file, thresholds, the
                        kind's own settings, and size + SHA-256 of every weights file
    scheme.yaml         the label scheme the model was trained with
    <weights>           whatever the kind needs (safetensors, joblib …), listed in the manifest
    metrics.json        measured metrics (written by training and evaluation), optional
    README.md           the model card, written at save time

:func:`read_manifest` checks, in this order, so that each problem gets its own message:
the directory, the manifest's JSON, its format version (a newer one is refused *before*
its keys are looked at), its keys, the kind, the scheme against the heads' label lists,
and every weights file's presence, size and checksum.

Directories written by lawgov-nlp 0.1 (``tagger_config.json`` or ``baseline.json``, format 1)
are read through :func:`_legacy_manifest`.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from .._version import __version__
from ..errors import ModelError, SchemeError

MANIFEST_NAME = "lawgov_model.json"
SCHEME_NAME = "scheme.yaml"
METRICS_NAME = "metrics.json"
CARD_NAME = "README.md"
FORMAT_VERSION = 2

_REQUIRED = ("kind", "format_version", "dimensions", "roles")
_OPTIONAL = ("scheme", "thresholds", "config", "weights", "versions", "trained_from", "description")


@dataclass
class Thresholds:
    """Decision thresholds: the problem flag and secondary dimensions (both probabilities)."""

    problem: float = 0.5
    secondary: float = 0.35

    def __post_init__(self) -> None:
        for name in ("problem", "secondary"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0.0 <= float(v) <= 1.0:
                raise ModelError(f"threshold {name!r} must be a probability between 0 and 1, got {v!r}")
            setattr(self, name, float(v))

    @classmethod
    def from_dict(cls, d: dict | None, where: str = "") -> "Thresholds":
        d = dict(d or {})
        unknown = set(d) - {"problem", "secondary"}
        if unknown:
            raise ModelError(f"{where}: unknown threshold(s) {sorted(unknown)}; known: problem, secondary")
        try:
            return cls(**d)
        except ModelError as e:
            raise ModelError(f"{where}: {e}") from None


@dataclass
class Manifest:
    """What ``lawgov_model.json`` holds (see the module docstring)."""

    kind: str
    dimensions: list[str]
    roles: list[str]
    format_version: int = FORMAT_VERSION
    scheme: str = SCHEME_NAME
    thresholds: dict = field(default_factory=lambda: asdict(Thresholds()))
    config: dict = field(default_factory=dict)
    weights: dict = field(default_factory=dict)   # file name -> {"bytes": n, "sha256": hex}
    versions: dict = field(default_factory=dict)
    trained_from: dict | None = None
    description: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def library_versions() -> dict[str, str]:
    """Versions of lawgov-nlp and of the libraries whose files a model directory holds."""
    from importlib import metadata

    out = {"lawgov_nlp": __version__}
    for dist in ("torch", "transformers", "peft", "scikit-learn", "onnxruntime"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def file_digest(path: Path) -> dict:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return {"bytes": path.stat().st_size, "sha256": h.hexdigest()}


# --------------------------------------------------------------------------- reading
def is_model_dir(path: str | os.PathLike) -> bool:
    d = Path(path)
    return d.is_dir() and any((d / n).is_file() for n in (MANIFEST_NAME, *_LEGACY_NAMES))


def read_manifest(model_dir: str | os.PathLike, *, check_weights: bool = True) -> tuple[Manifest, Any]:
    """(manifest, label scheme) of a model directory, checked; raises :class:`ModelError` naming the file."""
    d = Path(model_dir)
    if not d.exists():
        raise ModelError(f"{d}: no such model directory")
    if not d.is_dir():
        raise ModelError(f"{d}: is a file; a model is a directory holding {MANIFEST_NAME}")
    p = d / MANIFEST_NAME
    if not p.is_file():
        legacy = _legacy_manifest(d)
        if legacy is None:
            raise ModelError(f"{d}: not a lawgov model directory (no {MANIFEST_NAME})")
        data, where = legacy, d / _legacy_file(d)
    else:
        where = p
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except UnicodeDecodeError as e:
            raise ModelError(f"{p}: garbled manifest (not UTF-8 text: {e.reason} at byte {e.start})") from e
        except json.JSONDecodeError as e:
            raise ModelError(f"{p}: garbled manifest (not valid JSON: {e.msg} at line {e.lineno}, column {e.colno})") from e
        except OSError as e:
            raise ModelError(f"{p}: cannot read the manifest ({e.strerror or e})") from e
    if not isinstance(data, dict):
        raise ModelError(f"{where}: garbled manifest (a JSON object is expected, got {type(data).__name__})")
    # the format version first: a newer format may have keys this version does not know
    fv = data.get("format_version")
    if not isinstance(fv, int) or isinstance(fv, bool) or fv < 1:
        raise ModelError(f"{where}: garbled manifest ('format_version' must be a positive integer, got {fv!r})")
    if fv > FORMAT_VERSION:
        made = (data.get("versions") or {}).get("lawgov_nlp") if isinstance(data.get("versions"), dict) else None
        raise ModelError(f"{where}: made by a newer lawgov-nlp (format {fv}{', version ' + str(made) if made else ''}); "
                         f"upgrade the package (this lawgov-nlp {__version__} reads formats up to {FORMAT_VERSION})")
    unknown = sorted(set(data) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise ModelError(f"{where}: unknown key(s) {unknown} in the manifest; known: {', '.join(_REQUIRED + _OPTIONAL)}")
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise ModelError(f"{where}: the manifest lacks key(s) {missing}")
    for k in ("dimensions", "roles"):
        v = data[k]
        if not isinstance(v, list) or not v or not all(isinstance(x, str) for x in v):
            raise ModelError(f"{where}: {k!r} must be a non-empty list of label codes")
    for k in ("config", "weights", "versions", "thresholds"):
        if k in data and not isinstance(data[k], dict):
            raise ModelError(f"{where}: {k!r} must be a JSON object")
    data = dict(data)
    data["format_version"] = FORMAT_VERSION if fv == 1 else fv
    man = Manifest(**data)
    Thresholds.from_dict(man.thresholds, str(where))
    if not isinstance(man.kind, str) or not man.kind:
        raise ModelError(f"{where}: 'kind' must name a model kind")
    scheme = _check_scheme(d, man)
    if check_weights:
        check_weights_files(d, man)
    return man, scheme


def _check_scheme(d: Path, man: Manifest):
    from ..scheme import load_scheme

    sp = d / man.scheme
    if not sp.is_file():
        raise ModelError(f"{sp}: missing; a model directory carries the label scheme it was trained with")
    try:
        scheme = load_scheme(sp)
    except SchemeError as e:
        raise ModelError(f"{sp}: the model's label scheme is broken ({e})") from e
    for what, heads, codes in (("dimensions", man.dimensions, scheme.dimension_codes),
                               ("roles", man.roles, scheme.role_codes)):
        if list(heads) != list(codes):
            lacking = [c for c in heads if c not in codes]
            extra = [c for c in codes if c not in heads]
            detail = (f"the heads predict {lacking} which the scheme lacks" if lacking else
                      f"the scheme has {extra} which the heads do not predict" if extra else
                      "the order differs from the heads'")
            raise ModelError(f"{sp}: the scheme's {what} disagree with the model's heads: {detail} "
                             f"(heads: {', '.join(heads)}; scheme: {', '.join(codes)})")
    return scheme


def check_weights_files(d: Path, man: Manifest) -> None:
    """Every weights file listed in the manifest is there, whole, and unchanged."""
    for name, meta in sorted(man.weights.items()):
        f = d / name
        if not f.is_file():
            raise ModelError(f"{f}: weights file missing (the manifest lists it)")
        if not isinstance(meta, dict):
            continue
        want = meta.get("bytes")
        have = f.stat().st_size
        if isinstance(want, int) and have != want:
            how = "truncated" if have < want else "longer than written"
            raise ModelError(f"{f}: weights file {how}: {have:,} bytes, the manifest says {want:,}; "
                             "copy the model directory again")
        if meta.get("sha256") and file_digest(f)["sha256"] != meta["sha256"]:
            raise ModelError(f"{f}: weights file corrupted (its SHA-256 differs from the manifest's); "
                             "copy the model directory again")


def read_weights(path: Path) -> dict:
    """A safetensors file as tensors; a missing, truncated or foreign file is a :class:`ModelError` naming it."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not path.is_file():
        raise ModelError(f"{path}: weights file missing")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise ModelError(f"{path}: cannot read the weights (truncated or not a safetensors file: {e})") from e


def check_head_sizes(state: dict, heads: dict[str, int], wpath: Path, scheme_path: Path) -> None:
    """Each head (tensor name → the scheme's number of classes) predicts as many classes as the scheme lists."""
    for name, n in heads.items():
        if name in state and state[name].shape[0] != n:
            what = "dimension" if "dim" in name else "role"
            raise ModelError(f"{wpath}: the {what} head predicts {state[name].shape[0]} classes but "
                             f"{scheme_path} lists {n}")


# --------------------------------------------------------------------------- writing
def write_model_dir(out_dir: str | os.PathLike, manifest: Manifest, scheme, write_files: Callable[[Path], None],
                    *, metrics: dict | None = None, card: "str | Callable[[Manifest], str] | None" = None,
                    replaced: tuple[str, ...] = ()) -> Path:
    """Write a model directory atomically: the kind writes its files into a temporary directory
    (``write_files(tmp)``), then the manifest (with sizes and checksums of ``manifest.weights``),
    scheme, metrics and card are added and the directory is swapped into place.

    Files of an existing directory that this save does not write (a hand-edited card, extra
    metrics) are kept, except the names in ``replaced`` and any old manifest or weights.
    """
    from ..output import atomic_directory

    old_weights: tuple[str, ...] = ()
    try:
        if (Path(out_dir) / MANIFEST_NAME).is_file():
            old = json.loads((Path(out_dir) / MANIFEST_NAME).read_text(encoding="utf-8"))
            old_weights = tuple((old.get("weights") or {}).keys())
    except (OSError, ValueError, AttributeError):
        pass
    with atomic_directory(out_dir, replaced=(MANIFEST_NAME, *_LEGACY_NAMES, *old_weights, *replaced)) as tmp:
        write_files(tmp)
        manifest.weights = {name: file_digest(tmp / name) for name in sorted(manifest.weights or {})}
        manifest.versions = library_versions()
        manifest.format_version = FORMAT_VERSION
        scheme.save(tmp / manifest.scheme)
        if metrics is not None:
            (tmp / METRICS_NAME).write_text(json.dumps(metrics, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        (tmp / MANIFEST_NAME).write_text(manifest.to_json(), encoding="utf-8")
        if callable(card):
            card = card(manifest)
        if card is not None:
            (tmp / CARD_NAME).write_text(card, encoding="utf-8")
    return Path(out_dir)


def set_thresholds(model_dir: str | os.PathLike, thresholds: Thresholds) -> Path:
    """Store new decision thresholds in a model directory's manifest (atomically)."""
    from ..output import atomic_write

    d = Path(model_dir)
    man, _ = read_manifest(d)
    if not (d / MANIFEST_NAME).is_file():
        raise ModelError(f"{d}: written by lawgov-nlp 0.1 (format 1); save it again with this version "
                         "(lg.load(path).save(new_path)) before changing its thresholds")
    man.thresholds = asdict(thresholds)
    with atomic_write(d / MANIFEST_NAME) as fh:
        fh.write(man.to_json())
    return d / MANIFEST_NAME


def read_metrics(model_dir: str | os.PathLike) -> dict:
    p = Path(model_dir) / METRICS_NAME
    if not p.is_file():
        return {}
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


# --------------------------------------------------------------------------- format 1 (lawgov-nlp 0.1)
_LEGACY_NAMES = ("tagger_config.json", "baseline.json")
_LEGACY_ENCODER_KEYS = ("base", "max_length", "use_section", "section_max_tokens", "pooling", "dropout", "lora",
                        "encoder_layers", "save_full", "hidden_size", "base_info")


def _legacy_file(d: Path) -> str:
    return next(n for n in _LEGACY_NAMES if (d / n).is_file())


def _legacy_manifest(d: Path) -> dict | None:
    """A format-1 directory's settings as a manifest dict (``None`` when there is none)."""
    for name in _LEGACY_NAMES:
        p = d / name
        if not p.is_file():
            continue
        try:
            old = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ModelError(f"{p}: garbled model config ({e})") from e
        if not isinstance(old, dict):
            raise ModelError(f"{p}: garbled model config (a JSON object is expected)")
        if int(old.get("format_version", 1) or 1) > 1:
            return {"format_version": int(old["format_version"]), "kind": "?", "dimensions": [], "roles": []}
        if name == "tagger_config.json":
            return {"kind": "encoder", "format_version": 1, "dimensions": old.get("dimensions") or [],
                    "roles": old.get("roles") or [],
                    "thresholds": {"problem": old.get("problem_threshold", 0.5),
                                   "secondary": old.get("secondary_threshold", 0.35)},
                    "config": {k: old[k] for k in _LEGACY_ENCODER_KEYS if k in old},
                    "weights": {"weights.safetensors": {}}}
        th = old.get("thresholds") or {}
        kind = {"tfidf-lr": "tfidf"}.get(old.get("kind"), old.get("kind"))
        return {"kind": kind, "format_version": 1, "dimensions": old.get("dimensions") or [],
                "roles": old.get("roles") or [],
                "thresholds": {"problem": th.get("problem_threshold", 0.5),
                               "secondary": th.get("secondary_threshold", 0.35)},
                "config": {"params": old.get("params") or {}, "tuning": old.get("tuning") or {}},
                "weights": {"model.joblib": {}} if kind == "tfidf" else {}}
    return None
