"""Checking a person's derivation: ``delimiters`` (where the math of a text is) and ``document`` (its
displays, rows and directives, in LaTeX, Markdown or a notebook), ``stepcheck`` (the decision for one
step), ``worker`` (a child process with a time budget), ``verify`` (chains, definitions), ``report``
(the ``Report``: verdicts and skipped displays) and ``annotate`` (the document marked up with the verdicts)."""
