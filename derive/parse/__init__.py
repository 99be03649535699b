"""LaTeX in ML notation → SymPy.

``scanner`` (tokens, Unicode math characters and groups), ``vocabulary`` (the dialect's words and the
small shared types), the reader ``dialect.Reader`` put together from ``names`` (names and indices),
``calls`` (calls, primes, vector components), ``derivatives``, ``sums`` (sums, products, cases) and
``informal`` (indicators, primes on expressions, ``\\over``, ``\\color``, norms, evaluation bars);
``conditions`` (side conditions, remarks, prose) and ``formula`` (relations, chains, the backend;
``parse_latex``, ``read_row``, ``is_prose``).
"""
