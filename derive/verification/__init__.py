"""Checking a person's derivation: ``document`` (displays and rows of a document), ``stepcheck`` (the
decision for one step), ``worker`` (a child process with a time budget), ``verify`` (chains, definitions,
the ``Report``) and ``annotate`` (the document marked up with the verdicts)."""
