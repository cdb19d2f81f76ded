"""Model kinds behind one contract: load any of them with :func:`load`.

* :mod:`.contract` — the model directory: manifest, checks, atomic writing;
* :mod:`.registry` — kind → class, and :func:`load`;
* :mod:`.tagger` — what every kind does (:class:`Tagger`, :class:`SentenceTagger`);
* kinds: :mod:`.encoder` (fine-tuned encoder), :mod:`.baselines` (TF-IDF, keywords);
* :mod:`.base` (the bundled base encoder), :mod:`.network` (the torch modules),
  :mod:`.settings`, :mod:`.quantize`, :mod:`.card`.

Nothing heavy is imported here: torch loads with the first neural model.
"""
from __future__ import annotations

from .contract import FORMAT_VERSION, MANIFEST_NAME, Manifest, Thresholds, read_manifest
from .registry import DEFAULT_MODEL, KINDS, kinds, load, shipped_models
from .tagger import SentenceTagger, Tagger

__all__ = ["load", "kinds", "KINDS", "DEFAULT_MODEL", "shipped_models", "Tagger", "SentenceTagger", "Manifest",
           "Thresholds", "read_manifest", "FORMAT_VERSION", "MANIFEST_NAME"]
