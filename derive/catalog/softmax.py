"""softmax over K classes, a_i = e^{z_i} / Σ_k e^{z_k}, in index notation.

``softmax(z, i, K)`` is one component of the vector; ``z`` is an
``IndexedBase``, ``i`` an index (a symbol, or a number for an explicit K) and
``K`` the number of classes (a symbol, or a number).  Its Jacobian written
through its own outputs is ∂a_i/∂z_j = a_i(δ_ij − a_j).
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.pretty.stringpict import prettyForm


class softmax(sp.Function):
    """Component i of the softmax of the vector z over K classes."""

    nargs = 3
    name = "softmax"
    vector = True
    latex_name = r"\operatorname{softmax}"
    pretty_name = "softmax"
    output_range = sp.Interval.open(0, 1)  # each component; they sum to 1
    description = "softmax over K classes e^{z_i} / sum_k e^{z_k}"

    @classmethod
    def elementary(cls, z: sp.IndexedBase, i: sp.Expr, K: sp.Expr) -> sp.Expr:
        """e^{z_i} / Σ_k e^{z_k}, with a summation index distinct from i."""
        k = sp.Symbol("k", integer=True, positive=True)
        if k in sp.sympify(i).free_symbols:
            k = sp.Symbol("l", integer=True, positive=True)
        return sp.exp(z[i]) / sp.Sum(sp.exp(z[k]), (k, 1, K))

    @classmethod
    def jacobian_through_output(cls, a: sp.IndexedBase, i: sp.Expr, j: sp.Expr) -> sp.Expr:
        """∂a_i/∂z_j = a_i(δ_ij − a_j)."""
        return a[i] * (sp.KroneckerDelta(i, j) - a[j])

    def _eval_rewrite_as_elementary(self, z, i, K, **kwargs):
        return self.elementary(z, i, K)

    def _latex(self, printer, exp=None) -> str:
        z, i, _ = self.args
        tex = rf"{self.latex_name}\left({printer._print(z)}\right)_{{{printer._print(i)}}}"
        return tex if exp is None else rf"\left({tex}\right)^{{{exp}}}"

    def _pretty(self, printer):
        z, i, _ = self.args
        return prettyForm(f"softmax({printer._print(z).render()})[{printer._print(i).render()}]")

    def _sympystr(self, printer) -> str:
        z, i, K = self.args
        return f"softmax({printer._print(z)}, {printer._print(i)}, {printer._print(K)})"
