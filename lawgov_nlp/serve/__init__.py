"""Services that wrap a loaded model: :mod:`.labelstudio`, a Label Studio ML backend
(``lawgov serve labelstudio``; needs the ``serve`` extra: ``pip install "lawgov-nlp[serve]"``).

Nothing heavy is imported here: FastAPI, uvicorn and torch load when a server starts.
"""
from __future__ import annotations
