#!/usr/bin/env bash
# The annotate-and-retrain loop against a real Label Studio (tests/test_labelstudio_integration.py).
#
# Label Studio pins its own dependencies (Django, ...), so it goes into its own virtualenv, created
# here the first time (about 1-2 minutes; needs PyPI) and reused afterwards:
#   LAWGOV_LS_VENV      where that virtualenv lives (default ~/.cache/lawgov-nlp/label-studio-venv)
#   LAWGOV_LS_VERSION   the label-studio version to install (default: the one this was tested with)
# The test itself starts Label Studio (SQLite, temporary folder) and `lawgov serve labelstudio` on
# 127.0.0.1, runs the loop, and stops both. Extra arguments go to pytest; `--install-only` creates
# the virtualenv and stops (python -m pytest then runs the test, since it finds that virtualenv).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${LAWGOV_LS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/lawgov-nlp/label-studio-venv}"
VERSION="${LAWGOV_LS_VERSION:-1.23.2}"
PY="${PYTHON:-python}"
if [ ! -x "$VENV/bin/label-studio" ]; then
    echo "creating $VENV with label-studio==$VERSION" >&2
    "$PY" -m venv "$VENV"
    "$VENV/bin/pip" install --disable-pip-version-check -q "label-studio==$VERSION"
fi
export LAWGOV_LABEL_STUDIO="$VENV/bin/label-studio"
if [ "${1:-}" = "--install-only" ]; then echo "$LAWGOV_LABEL_STUDIO"; exit 0; fi
# (not `label-studio --version`: in 1.23 that starts a server on 0.0.0.0:8080)
"$VENV/bin/pip" show label-studio 2>/dev/null | grep -m1 '^Version' >&2 || true
exec "$PY" -m pytest tests/test_labelstudio_integration.py -rs "$@"
