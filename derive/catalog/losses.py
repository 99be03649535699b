"""Per-sample losses C = L(a, y) as small SymPy functions of (a, y).

Each loss knows its fully elementary form, its derivative ∂L/∂a in the form
a person writes it (``fdiff``), the values of ``a`` and ``y`` it is defined
for, and prints itself in LaTeX and for NumPy.
"""

from __future__ import annotations

from typing import ClassVar

import sympy as sp
from sympy.core.function import ArgumentIndexError

from derive.catalog.parameters import Parameter


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
    parameters: ClassVar[tuple[Parameter, ...]] = ()  # symbols of the formulas, keywords of exported code
    subgradient: ClassVar[str] = ""  # the value taken for ∂L/∂a where L has a kink, and why
    uses_sum_to_one: ClassVar[bool] = False  # over softmax: the derivation may use Σ_k y_k = 1

    @classmethod
    def labels(cls) -> tuple[sp.Expr, sp.Expr]:
        """The two targets of a neuron saturated and wrong: (y at z → +∞, y at z → −∞), 0 and 1 by default."""
        lo, hi = cls.y_domain.inf, cls.y_domain.sup
        if lo.is_finite and hi.is_finite and lo != hi:
            return lo, hi
        return sp.S.Zero, sp.S.One

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


# -- the wider catalog ---------------------------------------------------------------------------------

KAPPA, BETA, GAMMA, VARIANCE = sp.symbols("kappa beta gamma v")


class huber(Loss):
    """The Huber loss: ½(a − y)² within κ of the target, κ(|a − y| − κ/2) beyond."""

    name = "huber"
    latex_name = r"\operatorname{huber}"
    a_domain = sp.S.Reals
    y_domain = sp.S.Reals
    description = "Huber loss: (a - y)^2/2 for |a - y| <= kappa, kappa (|a - y| - kappa/2) beyond"
    parameters = (Parameter(KAPPA, "delta", 1.0, sp.Interval.open(0, sp.oo), "the threshold kappa (PyTorch's delta)"),)

    @classmethod
    def elementary(cls, a, y):
        r = a - y
        return sp.Piecewise(
            (KAPPA * r - KAPPA**2 / 2, r > KAPPA), (-KAPPA * r - KAPPA**2 / 2, r < -KAPPA), (r**2 / 2, True)
        )

    @classmethod
    def gradient(cls, a, y):
        r = a - y
        return sp.Piecewise((KAPPA, r > KAPPA), (-KAPPA, r < -KAPPA), (r, True))  # a − y clipped to [−κ, κ]


class smooth_l1(Loss):
    """Smooth L1: (a − y)²/(2β) within β of the target, |a − y| − β/2 beyond (Huber divided by β)."""

    name = "smooth_l1"
    latex_name = r"\operatorname{smoothL1}"
    a_domain = sp.S.Reals
    y_domain = sp.S.Reals
    description = "smooth L1: (a - y)^2/(2 beta) for |a - y| <= beta, |a - y| - beta/2 beyond"
    parameters = (Parameter(BETA, "beta", 1.0, sp.Interval.open(0, sp.oo), "the threshold beta"),)

    @classmethod
    def elementary(cls, a, y):
        r = a - y
        return sp.Piecewise((r - BETA / 2, r > BETA), (-r - BETA / 2, r < -BETA), (r**2 / (2 * BETA), True))

    @classmethod
    def gradient(cls, a, y):
        r = a - y
        return sp.Piecewise((1, r > BETA), (-1, r < -BETA), (r / BETA, True))


class log_cosh(Loss):
    """ln cosh(a − y): quadratic near the target, linear far from it."""

    name = "log_cosh"
    latex_name = r"\operatorname{logcosh}"
    a_domain = sp.S.Reals
    y_domain = sp.S.Reals
    description = "log-cosh loss ln cosh(a - y)"

    @classmethod
    def elementary(cls, a, y):
        return sp.log(sp.cosh(a - y))

    @classmethod
    def gradient(cls, a, y):
        return sp.tanh(a - y)

    def _numpycode(self, printer):
        # ln cosh r = |r| + log1p(e^{−2|r|}) − ln 2: no overflow of cosh.
        r = printer._print(self.args[0] - self.args[1])
        absolute, log1p, exp = (printer._module_format(f"numpy.{f}") for f in ("abs", "log1p", "exp"))
        return f"({absolute}({r}) + {log1p}({exp}(-2 * {absolute}({r}))) - {float(sp.log(2))!r})"


class focal(Loss):
    """The focal loss −[y(1 − a)^γ ln a + (1 − y) a^γ ln(1 − a)]; γ = 0 is bce."""

    name = "focal"
    latex_name = r"\operatorname{focal}"
    a_domain = sp.Interval.open(0, 1)
    y_domain = sp.Interval(0, 1)
    description = "focal loss -[y (1 - a)^gamma ln a + (1 - y) a^gamma ln(1 - a)]"
    parameters = (Parameter(GAMMA, "gamma", 2.0, sp.Interval(0, sp.oo), "the focusing parameter gamma"),)

    @classmethod
    def elementary(cls, a, y):
        return -(y * (1 - a) ** GAMMA * sp.log(a) + (1 - y) * a**GAMMA * sp.log(1 - a))

    @classmethod
    def gradient(cls, a, y):
        return sp.diff(cls.elementary(a, y), a)


class hinge(Loss):
    """The hinge loss max(0, 1 − y·a) for labels y = ±1."""

    name = "hinge"
    latex_name = r"\operatorname{hinge}"
    a_domain = sp.S.Reals
    y_domain = sp.FiniteSet(-1, 1)
    description = "hinge loss max(0, 1 - y a), labels y in {-1, 1}"
    subgradient = (
        "hinge has a kink at y a = 1, where any value between -y and 0 is a subgradient; "
        "derive takes H(0) = 1/2, the midpoint -y/2"
    )

    @classmethod
    def elementary(cls, a, y):
        return sp.Max(0, 1 - y * a)

    @classmethod
    def gradient(cls, a, y):
        return -y * sp.Heaviside(1 - y * a)


class squared_hinge(Loss):
    """The squared hinge loss max(0, 1 − y·a)² for labels y = ±1."""

    name = "squared_hinge"
    latex_name = r"\operatorname{sqhinge}"
    a_domain = sp.S.Reals
    y_domain = sp.FiniteSet(-1, 1)
    description = "squared hinge loss max(0, 1 - y a)^2, labels y in {-1, 1}"

    @classmethod
    def elementary(cls, a, y):
        return sp.Max(0, 1 - y * a) ** 2

    @classmethod
    def gradient(cls, a, y):
        return -2 * y * sp.Max(0, 1 - y * a)


class gaussian_nll(Loss):
    """The negative log-likelihood of y under a normal distribution of mean a and variance v."""

    name = "gaussian_nll"
    latex_name = r"\operatorname{GaussNLL}"
    a_domain = sp.S.Reals
    y_domain = sp.S.Reals
    description = "Gaussian negative log-likelihood (ln(2 pi v) + (a - y)^2/v)/2, mean a, variance v"
    parameters = (Parameter(VARIANCE, "var", 1.0, sp.Interval.open(0, sp.oo), "the variance v"),)

    @classmethod
    def elementary(cls, a, y):
        return (sp.log(2 * sp.pi * VARIANCE) + (a - y) ** 2 / VARIANCE) / 2

    @classmethod
    def gradient(cls, a, y):
        return (a - y) / VARIANCE


class kl_div(Loss):
    """The Kullback–Leibler divergence Σ_k y_k ln(y_k/a_k) of the outputs a from the targets y."""

    name = "kl_div"
    scalar = False
    vector = True
    aliases = ("kl",)
    latex_name = r"\operatorname{KL}"
    a_domain = sp.Interval.open(0, 1)
    y_domain = sp.Interval(0, 1)
    description = "Kullback-Leibler divergence sum_k y_k ln(y_k/a_k) (0 ln 0 = 0)"
    uses_sum_to_one = True

    @classmethod
    def elementary(cls, a, y):
        return y * sp.log(y) - y * sp.log(a)

    @classmethod
    def gradient(cls, a, y):
        return -y / a
