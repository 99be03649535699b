"""Per-sample losses C = L(a, y) as small SymPy functions of (a, y).

Each loss knows its fully elementary form, its derivative ∂L/∂a in the form
a person writes it (``fdiff``), the values of ``a`` and ``y`` it is defined
for, and prints itself in LaTeX and for NumPy.
"""

from __future__ import annotations

from typing import ClassVar

import sympy as sp
from sympy.core.function import ArgumentIndexError


class Loss(sp.Function):
    """Base class: two arguments, the output a and the target y."""

    nargs = 2
    scalar: ClassVar[bool] = True  # a loss of one output a
    vector: ClassVar[bool] = False  # a loss of K outputs a_k: the sum over k of elementary(a_k, y_k)
    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    latex_name: ClassVar[str]
    a_domain: ClassVar[sp.Set]  # where L(·, y) is defined
    y_domain: ClassVar[sp.Set]  # the targets it is meant for
    description: ClassVar[str]

    @classmethod
    def elementary(cls, a: sp.Expr, y: sp.Expr) -> sp.Expr:
        """The fully elementary form L(a, y)."""
        raise NotImplementedError

    @classmethod
    def gradient(cls, a: sp.Expr, y: sp.Expr) -> sp.Expr:
        """∂L/∂a as a person writes it, e.g. (a − y)/(a(1 − a)) for bce."""
        raise NotImplementedError

    @classmethod
    def vector_elementary(cls, a: sp.IndexedBase, y: sp.IndexedBase, k: sp.Symbol, K: sp.Expr) -> sp.Expr:
        """The loss of K outputs: Σ_k elementary(a_k, y_k)."""
        return sp.Sum(cls.elementary(a[k], y[k]), (k, 1, K))

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        a, y = self.args
        if argindex == 1:
            return self.gradient(a, y)
        if argindex == 2:
            return sp.diff(self.elementary(a, y), y)
        raise ArgumentIndexError(self, argindex)

    def _eval_rewrite_as_elementary(self, a, y, **kwargs) -> sp.Expr:
        return self.elementary(a, y)

    def _latex(self, printer, exp=None) -> str:
        args = ", ".join(printer._print(arg) for arg in self.args)
        tex = rf"{self.latex_name}\left({args}\right)"
        return tex if exp is None else rf"{tex}^{{{exp}}}"

    def _numpycode(self, printer) -> str:
        return printer._print(self.elementary(*self.args))


class quadratic(Loss):
    """The quadratic cost ½(a − y)²."""

    name = "quadratic"
    vector = True
    aliases = ("mse",)
    latex_name = r"\operatorname{quadratic}"
    a_domain = sp.S.Reals
    y_domain = sp.S.Reals
    description = "quadratic cost (a - y)^2 / 2"

    @classmethod
    def elementary(cls, a, y):
        return (a - y) ** 2 / 2

    @classmethod
    def gradient(cls, a, y):
        return a - y


class bce(Loss):
    """Binary cross-entropy −[y ln a + (1 − y) ln(1 − a)]."""

    name = "bce"
    latex_name = r"\operatorname{bce}"
    a_domain = sp.Interval.open(0, 1)
    y_domain = sp.Interval(0, 1)
    description = "binary cross-entropy -[y ln a + (1 - y) ln(1 - a)]"

    @classmethod
    def elementary(cls, a, y):
        return -(y * sp.log(a) + (1 - y) * sp.log(1 - a))

    @classmethod
    def gradient(cls, a, y):
        return (a - y) / (a * (1 - a))


class poisson(Loss):
    """The Poisson negative log-likelihood a − y ln a (without the ln y! term)."""

    name = "poisson"
    latex_name = r"\operatorname{poisson}"
    a_domain = sp.Interval.open(0, sp.oo)
    y_domain = sp.Interval(0, sp.oo)
    description = "Poisson negative log-likelihood a - y ln a"

    @classmethod
    def elementary(cls, a, y):
        return a - y * sp.log(a)

    @classmethod
    def gradient(cls, a, y):
        return (a - y) / a


class cross_entropy(Loss):
    """Categorical cross-entropy −Σ_k y_k ln a_k; one term −y ln a per class."""

    name = "cross_entropy"
    scalar = False
    vector = True
    aliases = ("ce",)
    latex_name = r"\operatorname{CE}"
    a_domain = sp.Interval.open(0, 1)
    y_domain = sp.Interval(0, 1)
    description = "categorical cross-entropy -sum_k y_k ln a_k"

    @classmethod
    def elementary(cls, a, y):
        return -y * sp.log(a)

    @classmethod
    def gradient(cls, a, y):
        return -y / a
