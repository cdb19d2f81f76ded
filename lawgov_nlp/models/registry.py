"""One registry of model kinds and one :func:`load` for the API and every CLI command.

``load(name_or_path)`` accepts:

* ``None``: the shipped default model (``$LAWGOV_MODEL`` overrides it);
* ``"keywords"``: keyword rules on the shipped scheme (no directory needed);
* the name of a shipped model (``lawgov-zh-small``, ``baseline-tfidf`` …), found as package data
  through :mod:`importlib.resources`, so it works from any directory after a plain install;
* a model directory: its manifest names the kind, the registry names the class;
* a Hugging Face hub id of a lawgov model directory, where a hub is reachable.

Adding a kind: write a :class:`~lawgov_nlp.models.tagger.Tagger` subclass with ``kind``,
``from_dir`` and ``save``, and add one line to ``KINDS`` (module, class name); nothing else
changes (see ``ARCHITECTURE.md``).
"""
from __future__ import annotations

import importlib
import os
from pathlib import Path

from ..errors import ModelError
from .contract import is_model_dir, read_manifest

#: kind -> (module, class); imported only when a model of that kind is loaded
KINDS: dict[str, tuple[str, str]] = {
    "keywords": ("lawgov_nlp.models.baselines", "KeywordTagger"),
    "tfidf": ("lawgov_nlp.models.baselines", "TfidfTagger"),
    "encoder": ("lawgov_nlp.models.encoder", "EncoderTagger"),
    "context": ("lawgov_nlp.models.context", "ContextTagger"),
}

DEFAULT_MODEL = "lawgov-zh-small"
DEFAULT_MODEL_ENV = "LAWGOV_MODEL"
SHIPPED_PACKAGE = "lawgov_nlp.shipped"


def kinds() -> list[str]:
    return list(KINDS)


def tagger_class(kind: str, where: str = ""):
    try:
        module, name = KINDS[kind]
    except KeyError:
        raise ModelError(f"{where + ': ' if where else ''}unknown model kind {kind!r}; "
                         f"this lawgov-nlp knows {', '.join(KINDS)}") from None
    return getattr(importlib.import_module(module), name)


def shipped_dir(name: str) -> Path | None:
    """The directory of a model shipped with the package (package data), or None."""
    from importlib import resources

    try:
        root = resources.files(SHIPPED_PACKAGE)
    except ModuleNotFoundError:  # pragma: no cover - a broken install
        return None
    cand = root.joinpath(name)
    if not cand.is_dir():
        return None
    # package data of a regular package lives on the file system (wheel or editable install)
    return Path(os.fspath(cand))


def shipped_models() -> list[str]:
    from importlib import resources

    try:
        root = resources.files(SHIPPED_PACKAGE)
    except ModuleNotFoundError:  # pragma: no cover
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and is_model_dir(os.fspath(p)))


def resolve(name_or_path: str | os.PathLike | None = None) -> Path | str:
    """The model directory for a name or path ("keywords" stays a name)."""
    if name_or_path is None:
        env = os.environ.get(DEFAULT_MODEL_ENV)
        if env:
            return Path(env)
        d = shipped_dir(DEFAULT_MODEL)
        if d is None:
            raise ModelError(f"the shipped default model {DEFAULT_MODEL!r} is not in this installation "
                             f"(package data {SHIPPED_PACKAGE}); reinstall lawgov-nlp, or pass a model "
                             f"directory (--model DIR / load(path)) or set {DEFAULT_MODEL_ENV}")
        return d
    s = os.fspath(name_or_path)
    p = Path(s).expanduser()
    if p.exists():
        return p
    if s == "keywords":
        return s
    d = shipped_dir(s)
    if d is not None:
        return d
    if s.count("/") == 1 and not s.startswith((".", "/", "~")):
        return _from_hub(s)
    known = ", ".join(["keywords", *shipped_models()])
    raise ModelError(f"{s}: no such model directory, and not the name of a shipped model ({known})")


def _from_hub(repo_id: str) -> Path:
    try:
        from huggingface_hub import snapshot_download
    except ImportError:  # pragma: no cover - a dependency of transformers
        raise ModelError(f"{repo_id}: no such model directory (and huggingface_hub is not installed)") from None
    try:
        return Path(snapshot_download(repo_id))
    except Exception as e:  # noqa: BLE001 - offline, unknown repo, no access
        raise ModelError(f"{repo_id}: no such model directory, and it could not be fetched from the Hugging Face "
                         f"hub ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from e


def load(name_or_path: str | os.PathLike | None = None, *, fast: bool = False, exact: bool = False,
         backend: str = "torch", **options):
    """Load any model kind (see the module docstring).

    For the neural kinds the default is the fastest path that passed the parity check against the
    float32 reference (bfloat16 on CPUs that compute it natively); ``exact=True`` gives the float32
    reference, ``backend="onnx"`` the ONNX Runtime int8 encoder, ``fast=True`` PyTorch dynamic int8
    (see :mod:`lawgov_nlp.models.backends`). Other options (``base=``, ``batch_size=``,
    ``threads=``) go to the kind; a kind ignores the ones it has no use for.
    """
    target = resolve(name_or_path)
    if target == "keywords":
        return tagger_class("keywords")(options.get("scheme"))
    man, scheme = read_manifest(target)
    cls = tagger_class(man.kind, str(target))
    if backend != "torch" or exact:
        options.update(backend=backend, exact=exact)
    return cls.from_dir(Path(target), man, scheme, fast=fast, **options)
