"""Package data: label schemes (``scheme/``) and training configs (``train/``).

Installed as ``lawgov_nlp.configs`` (see ``pyproject.toml``); a regular package, so that
``importlib.resources.files("lawgov_nlp.configs")`` is a real directory in a wheel install and
in an editable one alike.
"""
