"""The symbols of derive's notation (Nielsen, ch. 3; see the README) and two small display-only objects.

``a = σ(z)``, ``z = Σ_k w_k x_k + b``, target ``y``, per-sample cost ``C``,
batch cost ``C̄ = (1/n) Σ_x C``, error ``δ = ∂C/∂z``.  Every module uses these
exact objects, so expressions from different modules compare equal.
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.pretty.stringpict import prettyForm

a, y, z, b = sp.symbols("a y z b")
x_j, w_j = sp.symbols("x_j w_j")
x = sp.Symbol("x")
n = sp.Symbol("n")
C = sp.Symbol("C")
C_batch = sp.Symbol("Cbar")  # prints as \bar{C}
delta = sp.Symbol("delta")
u = sp.Symbol("u")  # integration variable

# The weighted input as a sum over the m inputs of the neuron.
k, j = sp.symbols("k j", integer=True, positive=True)
m = sp.Symbol("m", integer=True, positive=True)
w_vec = sp.IndexedBase("w")
x_vec = sp.IndexedBase("x")
z_sum = sp.Sum(w_vec[k] * x_vec[k], (k, 1, m)) + b


class Partial(sp.Expr):
    """The partial derivative ∂num/∂den of two named quantities, as a symbol.

    It stands for a factor of the chain rule before its value is known:
    ``Partial(C, a)`` prints as ``\\frac{\\partial C}{\\partial a}``.
    """

    is_commutative = True

    def __new__(cls, num: sp.Symbol, den: sp.Symbol) -> Partial:
        return sp.Expr.__new__(cls, num, den)

    @property
    def num(self) -> sp.Symbol:
        return self.args[0]

    @property
    def den(self) -> sp.Symbol:
        return self.args[1]

    def _latex(self, printer) -> str:
        num, den = printer._print(self.num), printer._print(self.den)
        return rf"\frac{{\partial {num}}}{{\partial {den}}}"

    def _sympystr(self, printer) -> str:
        return f"Derivative({printer._print(self.num)}, {printer._print(self.den)})"

    def _pretty(self, printer) -> prettyForm:
        num, den = printer._print(self.num), printer._print(self.den)
        return prettyForm(f"∂{num}/∂{den}")


class SampleSum(sp.Expr):
    """Σ_x f: the sum of a per-sample quantity over the n training inputs x."""

    is_commutative = True

    def __new__(cls, summand: sp.Expr) -> SampleSum:
        return sp.Expr.__new__(cls, sp.sympify(summand))

    @property
    def summand(self) -> sp.Expr:
        return self.args[0]

    def _latex(self, printer) -> str:
        inner = printer._print(self.summand)
        if isinstance(self.summand, sp.Add):
            inner = rf"\left({inner}\right)"
        return rf"\sum_{{x}} {inner}"

    def _sympystr(self, printer) -> str:
        return f"Sum({printer._print(self.summand)}, x)"

    def _pretty(self, printer) -> prettyForm:
        inner = printer._print(self.summand)
        if isinstance(self.summand, sp.Add):
            inner = prettyForm(*inner.parens())
        return prettyForm(*inner.left("Σₓ "))


class Product(sp.Expr):
    """An unevaluated product shown factor by factor, ``f₁ · f₂ · …``.

    SymPy's ``Mul`` would cancel a(1 − a) against 1/(a(1 − a)) the moment the
    two meet; a derivation has to show the product before the cancellation.
    ``.doit()`` (or :func:`evaluate_products`) gives the ordinary ``Mul``.
    """

    is_commutative = True

    def __new__(cls, *factors: sp.Expr) -> Product:
        return sp.Expr.__new__(cls, *map(sp.sympify, factors))

    def doit(self, **hints) -> sp.Expr:
        factors = (f.doit(**hints) if hints.get("deep", True) else f for f in self.args)
        return sp.Mul(*factors)

    def _latex(self, printer) -> str:
        parts = []
        for factor in self.args:
            tex = printer._print(factor)
            parts.append(rf"\left({tex}\right)" if isinstance(factor, sp.Add) else tex)
        return r" \cdot ".join(parts)

    def _sympystr(self, printer) -> str:
        return "*".join(printer.parenthesize(f, 50) for f in self.args)  # 50: PRECEDENCE["Mul"]

    def _pretty(self, printer) -> prettyForm:
        parts = []
        for factor in self.args:
            form = printer._print(factor)
            parts.append(prettyForm(*form.parens()) if isinstance(factor, sp.Add) else form)
        return prettyForm.__mul__(*parts)


def evaluate_products(expr: sp.Expr) -> sp.Expr:
    """Replace every display-only :class:`Product` by the ``Mul`` it stands for."""
    return expr.replace(lambda e: isinstance(e, Product), lambda e: sp.Mul(*e.args))
