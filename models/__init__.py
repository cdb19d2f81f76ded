"""Package data: the shipped models (the default tagger, the TF-IDF baseline) and model cards.

Installed as ``lawgov_nlp.shipped`` (see ``pyproject.toml``), so ``lawgov_nlp.load()`` finds
them through ``importlib.resources`` after a plain ``pip install .``, from any directory.
"""
