"""LaTeX in ML notation → SymPy: ``scanner`` (tokens and groups), ``dialect`` (the ML-notation reader),
``formula`` (relations, chains, side conditions and the latex2sympy2 backend; ``parse_latex``)."""
