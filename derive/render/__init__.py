"""Presentation: a ``Derivation`` through the Jinja2 templates as LaTeX or Markdown (``latex``), and
whole documents compiled with pdflatex (``compile``)."""
