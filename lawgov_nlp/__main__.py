"""``python -m lawgov_nlp`` runs the ``lawgov`` command line."""
from .cli import main

main()
