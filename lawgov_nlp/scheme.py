"""The label scheme as data: dimensions and roles loaded from a YAML file.

Nothing in the library hard-codes the label list: every component asks a
:class:`LabelScheme` for codes, names and cue words. The default scheme is
``configs/scheme/zh-2021.yaml`` (shipped in the package as
``lawgov_nlp.configs``, a regular package so that ``importlib.resources`` gives a real path); a user can pass any other file with the same shape.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .errors import SchemeError, UnknownLabelError

DEFAULT_SCHEME = "zh-2021"

_TOP_REQUIRED = {"name", "dimensions", "roles"}
_TOP_OPTIONAL = {"version", "description", "problem_role", "fallback_dimension", "fallback_role"}
_LABEL_REQUIRED = {"code", "name"}
_LABEL_OPTIONAL = {"scope", "cues", "short"}


@dataclass(frozen=True)
class Label:
    """One dimension or role: a code used in data files, a display name, scope and cue words."""

    code: str
    name: str
    scope: str = ""
    cues: tuple[str, ...] = ()
    short: str = ""       # a short display name (table headers, charts); "" = none given

    @property
    def short_name(self) -> str:
        """``short`` where the scheme gives one, else the first four characters of ``name``."""
        return self.short or self.name[:4]


@dataclass(frozen=True)
class LabelScheme:
    """Dimensions and roles of a labelling scheme, in file order."""

    name: str
    dimensions: tuple[Label, ...]
    roles: tuple[Label, ...]
    version: str = ""
    description: str = ""
    problem_role: str = "problem"
    fallback_dimension: str = "other"
    fallback_role: str = "other"
    path: str | None = field(default=None, compare=False)

    # -- lookups -----------------------------------------------------------
    @property
    def dimension_codes(self) -> list[str]:
        return [d.code for d in self.dimensions]

    @property
    def role_codes(self) -> list[str]:
        return [r.code for r in self.roles]

    def dimension(self, code: str) -> Label:
        for d in self.dimensions:
            if d.code == code:
                return d
        raise UnknownLabelError(f"unknown dimension {code!r} in scheme {self.name!r}; known: {', '.join(self.dimension_codes)}")

    def role(self, code: str) -> Label:
        for r in self.roles:
            if r.code == code:
                return r
        raise UnknownLabelError(f"unknown role {code!r} in scheme {self.name!r}; known: {', '.join(self.role_codes)}")

    def to_dict(self) -> dict[str, Any]:
        def lab(x: Label) -> dict[str, Any]:
            d = {"code": x.code, "name": x.name, "scope": x.scope, "cues": list(x.cues)}
            if x.short:
                d["short"] = x.short
            return d

        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "dimensions": [lab(d) for d in self.dimensions],
            "roles": [lab(r) for r in self.roles],
            "problem_role": self.problem_role,
            "fallback_dimension": self.fallback_dimension,
            "fallback_role": self.fallback_role,
        }

    def save(self, path: str | os.PathLike) -> None:
        import yaml

        Path(path).write_text(yaml.safe_dump(self.to_dict(), allow_unicode=True, sort_keys=False), encoding="utf-8")

    # -- construction ------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Any, source: str = "<dict>") -> "LabelScheme":
        if not isinstance(data, dict):
            raise SchemeError(f"{source}: the scheme must be a mapping with keys {sorted(_TOP_REQUIRED)}")
        unknown = set(data) - _TOP_REQUIRED - _TOP_OPTIONAL
        if unknown:
            raise SchemeError(f"{source}: unknown key(s) {sorted(unknown)} at top level; allowed: {sorted(_TOP_REQUIRED | _TOP_OPTIONAL)}")
        missing = _TOP_REQUIRED - set(data)
        if missing:
            raise SchemeError(f"{source}: missing key(s) {sorted(missing)} at top level")
        dims = _labels(data["dimensions"], "dimensions", source)
        roles = _labels(data["roles"], "roles", source)
        scheme = cls(
            name=str(data["name"]),
            dimensions=dims,
            roles=roles,
            version=str(data.get("version", "")),
            description=str(data.get("description", "")),
            problem_role=str(data.get("problem_role", "problem")),
            fallback_dimension=str(data.get("fallback_dimension", "other")),
            fallback_role=str(data.get("fallback_role", "other")),
            path=source,
        )
        for key, value, pool in (
            ("problem_role", scheme.problem_role, scheme.role_codes),
            ("fallback_role", scheme.fallback_role, scheme.role_codes),
            ("fallback_dimension", scheme.fallback_dimension, scheme.dimension_codes),
        ):
            if value not in pool:
                raise SchemeError(f"{source}: key {key!r} is {value!r}, which is not one of the codes {pool}")
        return scheme

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> "LabelScheme":
        """Load a scheme file; ``None`` or a bare name such as ``zh-2021`` means a shipped scheme."""
        return load_scheme(path)


def _labels(items: Any, key: str, source: str) -> tuple[Label, ...]:
    if not isinstance(items, list) or not items:
        raise SchemeError(f"{source}: key {key!r} must be a non-empty list of entries with 'code' and 'name'")
    out: list[Label] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"{source}: {key}[{i}]"
        if not isinstance(item, dict):
            raise SchemeError(f"{where}: must be a mapping with keys 'code' and 'name'")
        unknown = set(item) - _LABEL_REQUIRED - _LABEL_OPTIONAL
        if unknown:
            raise SchemeError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_LABEL_REQUIRED | _LABEL_OPTIONAL)}")
        missing = [k for k in sorted(_LABEL_REQUIRED) if not str(item.get(k) or "").strip()]
        if missing:
            raise SchemeError(f"{where}: missing or empty key(s) {missing}")
        code = str(item["code"]).strip()
        if code in seen:
            raise SchemeError(f"{where}: duplicate code {code!r} in {key!r}")
        seen.add(code)
        cues = item.get("cues") or []
        if not isinstance(cues, list):
            raise SchemeError(f"{where}: key 'cues' must be a list of strings")
        out.append(Label(code=code, name=str(item["name"]).strip(), scope=str(item.get("scope") or ""),
                         cues=tuple(str(c) for c in cues), short=str(item.get("short") or "").strip()))
    return tuple(out)


def scheme_dir() -> Path:
    """Folder of the shipped schemes: package data ``lawgov_nlp.configs/scheme`` (``configs/scheme``
    in the repository), found through :mod:`importlib.resources` in any kind of installation."""
    from importlib import resources

    return Path(os.fspath(resources.files("lawgov_nlp.configs").joinpath("scheme")))


def resolve_scheme_path(path: str | os.PathLike | None) -> Path:
    if path is None:
        path = DEFAULT_SCHEME
    p = Path(path)
    if p.suffix not in (".yaml", ".yml") and not p.exists():
        shipped = scheme_dir() / f"{p.name}.yaml"
        if shipped.exists():
            return shipped
        raise SchemeError(f"{path}: no such scheme file, and no shipped scheme of that name in {scheme_dir()}")
    return p


def load_scheme(path: str | os.PathLike | None = None) -> LabelScheme:
    """Load and validate a label scheme from YAML (or JSON)."""
    p = resolve_scheme_path(path)
    return _load_cached(str(p.resolve()) if p.exists() else str(p))


@lru_cache(maxsize=16)
def _load_cached(path: str) -> LabelScheme:
    import yaml

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise SchemeError(f"{path}: cannot read scheme file ({e.strerror or e})") from e
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise SchemeError(f"{path}: not valid YAML ({e})") from e
    return LabelScheme.from_dict(data, source=path)
