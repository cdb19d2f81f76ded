"""``python -m lawgov_nlp.cli`` runs the ``lawgov`` command line."""
from . import main

main()
