"""Scalar activations a = f(z) as small SymPy functions.

Each activation

* differentiates itself in its own output where the math allows
  (``fdiff`` of σ is σ(1 − σ), of tanh is 1 − tanh²);
* says how its derivative reads through the output ``a``
  (:meth:`Activation.derivative_through_output`), or why it cannot;
* prints itself in LaTeX (``\\sigma\\left(z\\right)``) and for NumPy;
* rewrites to elementary functions: ``expr.rewrite("elementary")``.
"""

from __future__ import annotations

import functools
from typing import ClassVar

import sympy as sp
from sympy.core.function import ArgumentIndexError

from derive.catalog.parameters import Parameter


class Activation(sp.Function):
    """Base class: one argument, the weighted input z."""

    nargs = 1
    vector: ClassVar[bool] = False  # softmax (derive.catalog.softmax) is the vector one
    name: ClassVar[str]
    latex_name: ClassVar[str]  # LaTeX of the function name, applied as name\left(z\right)
    pretty_name: ClassVar[str]  # the name in a terminal, e.g. σ
    output_range: ClassVar[sp.Set]  # the values a = f(z) takes for real z
    description: ClassVar[str]
    not_through_output: ClassVar[str] = ""  # why f' is no function of a, if it is not
    parameters: ClassVar[tuple[Parameter, ...]] = ()  # symbols of the formulas, keywords of exported code
    subgradient: ClassVar[str] = ""  # the value taken for f' where f has a kink, and why
    aliases: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def ends(cls) -> tuple[sp.Expr, sp.Expr]:
        """(lim f as z → −∞, lim f as z → +∞): the ends of the range for a non-decreasing f."""
        return cls.output_range.inf, cls.output_range.sup

    @classmethod
    def monotone(cls) -> bool:
        """True when f is non-decreasing (every catalog activation but gelu and silu)."""
        return True

    @classmethod
    def slope_ends(cls) -> tuple[sp.Expr, sp.Expr] | None:
        """(lim f'(z) as z → −∞, as z → +∞) when stated (the analysis then skips a slow limit), else None."""
        return None

    @classmethod
    def elementary(cls, z: sp.Expr) -> sp.Expr:
        """The fully elementary form f(z), shared by rewrite and tests."""
        raise NotImplementedError

    @classmethod
    def derivative_through_output(cls, a: sp.Expr) -> sp.Expr | None:
        """g with f'(z) = g(f(z)), or None when f' is no function of a."""
        raise NotImplementedError

    def derivative(self) -> sp.Expr:
        """f'(z), written in the function's own output where it can be."""
        raise NotImplementedError

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        if argindex != 1:
            raise ArgumentIndexError(self, argindex)
        return _derivative(self)

    def _eval_rewrite_as_elementary(self, z, **kwargs) -> sp.Expr:
        return _elementary(type(self), z)

    def _latex(self, printer, exp=None) -> str:
        tex = rf"{self.latex_name}\left({printer._print(self.args[0])}\right)"
        return tex if exp is None else rf"{tex}^{{{exp}}}"

    def _pretty(self, printer):
        from sympy.printing.pretty.stringpict import prettyForm

        arg = prettyForm(*printer._print(self.args[0]).parens())
        return prettyForm(*arg.left(self.pretty_name))

    def _numpycode(self, printer) -> str:
        return printer._print(self.elementary(self.args[0]))


@functools.lru_cache(maxsize=4096)
def _derivative(call: Activation) -> sp.Expr:
    """``call.derivative()``, kept: verify differentiates the same call of a long z for every point set."""
    return call.derivative()


@functools.lru_cache(maxsize=4096)
def _elementary(cls: type[Activation], z: sp.Expr) -> sp.Expr:
    """``cls.elementary(z)``, kept: verify rewrites the same calls many times, and a Max(0, z) of a
    long z costs milliseconds to build (SymPy orders its arguments)."""
    return cls.elementary(z)


class sigmoid(Activation):
    """The logistic sigmoid σ(z) = 1 / (1 + e^{−z})."""

    name = "sigmoid"
    pretty_name = "σ"
    latex_name = r"\sigma"
    output_range = sp.Interval.open(0, 1)
    description = "logistic sigmoid 1/(1 + e^-z)"

    @classmethod
    def eval(cls, z):
        if z is sp.S.Zero:
            return sp.S.Half
        if z is sp.S.Infinity:
            return sp.S.One
        if z is sp.S.NegativeInfinity:
            return sp.S.Zero
        return None

    @classmethod
    def elementary(cls, z):
        return 1 / (1 + sp.exp(-z))

    @classmethod
    def derivative_through_output(cls, a):
        return a * (1 - a)

    def derivative(self):
        return self * (1 - self)

    def _eval_rewrite_as_exp(self, z, **kwargs):
        return self.elementary(z)

    def _numpycode(self, printer):
        # σ(z) = exp(−softplus(−z)): no overflow for any z, full relative precision.
        np_exp, logaddexp = (printer._module_format(f"numpy.{f}") for f in ("exp", "logaddexp"))
        return f"{np_exp}(-{logaddexp}(0, -({printer._print(self.args[0])})))"


class tanh(Activation):
    """The hyperbolic tangent."""

    name = "tanh"
    pretty_name = "tanh"
    latex_name = r"\tanh"
    output_range = sp.Interval.open(-1, 1)
    description = "hyperbolic tangent"

    @classmethod
    def eval(cls, z):
        if z is sp.S.Zero:
            return sp.S.Zero
        return None

    @classmethod
    def elementary(cls, z):
        return sp.tanh(z)

    @classmethod
    def derivative_through_output(cls, a):
        return 1 - a**2

    def derivative(self):
        return 1 - self**2

    def _eval_rewrite_as_exp(self, z, **kwargs):
        return sp.tanh(z).rewrite(sp.exp)


class identity(Activation):
    """The identity (a linear output unit): f(z) = z."""

    name = "identity"
    pretty_name = "id"
    latex_name = r"\operatorname{id}"
    output_range = sp.S.Reals
    description = "identity (linear output)"

    @classmethod
    def elementary(cls, z):
        return z

    @classmethod
    def derivative_through_output(cls, a):
        return sp.S.One

    def derivative(self):
        return sp.S.One


class exp(Activation):
    """The exponential, the inverse link of Poisson regression."""

    name = "exp"
    pretty_name = "exp"
    latex_name = r"\exp"
    output_range = sp.Interval.open(0, sp.oo)
    description = "exponential e^z"

    @classmethod
    def elementary(cls, z):
        return sp.exp(z)

    @classmethod
    def derivative_through_output(cls, a):
        return a

    def derivative(self):
        return self


class softplus(Activation):
    """softplus(z) = ln(1 + e^z); its derivative is the sigmoid."""

    name = "softplus"
    pretty_name = "softplus"
    latex_name = r"\operatorname{softplus}"
    output_range = sp.Interval.open(0, sp.oo)
    description = "ln(1 + e^z), a smooth ReLU"

    @classmethod
    def elementary(cls, z):
        return sp.log(1 + sp.exp(z))

    @classmethod
    def derivative_through_output(cls, a):
        # e^a = 1 + e^z, so σ(z) = e^z / (1 + e^z) = 1 − e^{−a}.
        return 1 - sp.exp(-a)

    def derivative(self):
        return sigmoid(self.args[0])

    def _numpycode(self, printer):
        logaddexp = printer._module_format("numpy.logaddexp")
        return f"{logaddexp}(0, {printer._print(self.args[0])})"


class relu(Activation):
    """The rectified linear unit max(0, z); its derivative is the Heaviside step."""

    name = "relu"
    pretty_name = "ReLU"
    latex_name = r"\operatorname{ReLU}"
    output_range = sp.Interval(0, sp.oo)
    description = "rectified linear unit max(0, z)"
    not_through_output = (
        "relu is not invertible: every z < 0 gives a = 0, and its derivative "
        "H(z) is 0 there, so dC/dz = dC/da * H(z) = 0 for z < 0 whatever the loss, "
        "while a - y = -y is not 0 for y != 0"
    )

    @classmethod
    def elementary(cls, z):
        return sp.Max(0, z)

    @classmethod
    def derivative_through_output(cls, a):
        return None

    def derivative(self):
        return sp.Heaviside(self.args[0])

    def _numpycode(self, printer):
        maximum = printer._module_format("numpy.maximum")
        return f"{maximum}({printer._print(self.args[0])}, 0)"


# -- the wider catalog: activations of current networks ----------------------------------------------

ALPHA = sp.Symbol("alpha")


class leaky_relu(Activation):
    """Leaky ReLU: z for z ≥ 0 and αz below, written αz + (1 − α)·max(0, z)."""

    name = "leaky_relu"
    pretty_name = "LeakyReLU"
    latex_name = r"\operatorname{LeakyReLU}"
    output_range = sp.S.Reals
    description = "leaky ReLU: z for z >= 0, alpha*z below"
    parameters = (Parameter(ALPHA, "negative_slope", 0.01, sp.Interval.open(0, sp.oo), "the slope alpha for z < 0"),)
    subgradient = (
        "leaky_relu has a kink at z = 0, where any slope in [alpha, 1] is a subgradient; "
        "derive takes H(0) = 1/2, the midpoint (alpha + 1)/2, as for relu"
    )

    @classmethod
    def slope_ends(cls):
        return (ALPHA, sp.S.One)

    @classmethod
    def elementary(cls, z):
        return ALPHA * z + (1 - ALPHA) * sp.Max(0, z)

    @classmethod
    def derivative_through_output(cls, a):
        return ALPHA + (1 - ALPHA) * sp.Heaviside(a)  # a ≥ 0 exactly when z ≥ 0 (alpha > 0)

    def derivative(self):
        return ALPHA + (1 - ALPHA) * sp.Heaviside(self.args[0])

    def _numpycode(self, printer):
        z = printer._print(self.args[0])
        where = printer._module_format("numpy.where")
        return f"{where}({z} >= 0, {z}, {printer._print(ALPHA)} * {z})"


class elu(Activation):
    """The exponential linear unit: z for z > 0, α(e^z − 1) below."""

    name = "elu"
    pretty_name = "ELU"
    latex_name = r"\operatorname{ELU}"
    output_range = sp.Interval.open(-ALPHA, sp.oo)
    description = "exponential linear unit: z for z > 0, alpha*(e^z - 1) below"
    parameters = (Parameter(ALPHA, "alpha", 1.0, sp.Interval.open(0, sp.oo), "the scale alpha of the negative part"),)
    subgradient = (
        "elu's slope jumps from alpha to 1 at z = 0 unless alpha = 1; derive takes H(0) = 1/2, "
        "the midpoint (alpha + 1)/2"
    )

    @classmethod
    def slope_ends(cls):
        return (sp.S.Zero, sp.S.One)

    @classmethod
    def elementary(cls, z):
        return sp.Max(0, z) + ALPHA * (sp.exp(sp.Min(0, z)) - 1)

    @classmethod
    def derivative_through_output(cls, a):
        return sp.Heaviside(a) + (a + ALPHA) * sp.Heaviside(-a)  # for z < 0: alpha*e^z = a + alpha

    def derivative(self):
        z = self.args[0]
        return sp.Heaviside(z) + ALPHA * sp.exp(sp.Min(0, z)) * sp.Heaviside(-z)

    def _numpycode(self, printer):
        z = printer._print(self.args[0])
        where, expm1, minimum = (printer._module_format(f"numpy.{f}") for f in ("where", "expm1", "minimum"))
        return f"{where}({z} > 0, {z}, {printer._print(ALPHA)} * {expm1}({minimum}({z}, 0)))"


def _normal_cdf(z: sp.Expr) -> sp.Expr:
    """Φ(z) = (1 + erf(z/√2))/2."""
    return (1 + sp.erf(z / sp.sqrt(2))) / 2


#: GELU's minimum is −0.16997… at z = −0.7518; a rational just below it bounds the range.
GELU_LOWER = sp.Rational(-17, 100)


class _SelfGated(Activation):
    """z times a gate that rises from 0 to 1 (GELU, its tanh form, SiLU): not monotone, 0 at −∞, slope 0 and 1.

    Not monotone, so no derivative through the output a (one a comes from two z).
    """

    @classmethod
    def ends(cls):
        return sp.S.Zero, sp.oo

    @classmethod
    def monotone(cls):
        return False

    @classmethod
    def slope_ends(cls):
        return (sp.S.Zero, sp.S.One)

    @classmethod
    def derivative_through_output(cls, a):
        return None


class gelu(_SelfGated):
    """The Gaussian error linear unit z·Φ(z), Φ the standard normal distribution function."""

    name = "gelu"
    pretty_name = "GELU"
    latex_name = r"\operatorname{GELU}"
    output_range = sp.Interval(GELU_LOWER, sp.oo)
    description = "Gaussian error linear unit z*Phi(z) (erf form); a >= -0.17"
    not_through_output = (
        "gelu is not monotone (its minimum is at z = -0.7518), so one a comes from two z with different slopes"
    )

    @classmethod
    def elementary(cls, z):
        return z * _normal_cdf(z)

    def derivative(self):
        z = self.args[0]
        return _normal_cdf(z) + z * sp.exp(-(z**2) / 2) / sp.sqrt(2 * sp.pi)

    def _numpycode(self, printer):
        # Φ(z) = erfc(−z/√2)/2: no cancellation for z < 0 (erf form loses every digit there).
        z = printer._print(self.args[0])
        return f"{z} * _erfc(-{z} * {1 / 2**0.5!r}) / 2"


GELU_TANH_C = sp.Rational(44715, 10**6)


class gelu_tanh(_SelfGated):
    """GELU's tanh approximation z/2·(1 + tanh(√(2/π)(z + 0.044715 z³)))."""

    name = "gelu_tanh"
    pretty_name = "GELU_tanh"
    latex_name = r"\operatorname{GELUtanh}"
    output_range = sp.Interval(GELU_LOWER - sp.Rational(1, 1000), sp.oo)
    description = "tanh approximation of GELU, z/2 (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3))); a >= -0.171"
    not_through_output = "gelu_tanh is not monotone (its minimum is at z = -0.7525)"

    @classmethod
    def inner(cls, z):
        return sp.sqrt(2 / sp.pi) * (z + GELU_TANH_C * z**3)

    @classmethod
    def elementary(cls, z):
        return z * (1 + sp.tanh(cls.inner(z))) / 2

    def derivative(self):
        t = sp.Dummy("t", real=True)  # real: SymPy asks no imaginary parts; the argument may be z = Σ w x + b
        return sp.diff(self.elementary(t), t).xreplace({t: self.args[0]})

    def _eval_rewrite_as_exp(self, z, **kwargs):
        return self.elementary(z).rewrite(sp.exp)

    def _numpycode(self, printer):
        # (1 + tanh u)/2 = σ(2u), printed in its stable form.
        return printer._print(self.args[0] * sigmoid(2 * self.inner(self.args[0])))


class silu(_SelfGated):
    """SiLU (swish with β = 1): z·σ(z)."""

    name = "silu"
    aliases = ("swish",)
    pretty_name = "SiLU"
    latex_name = r"\operatorname{SiLU}"
    output_range = sp.Interval(sp.Rational(-279, 1000), sp.oo)
    description = "sigmoid linear unit (swish) z*sigmoid(z); a >= -0.2785"
    not_through_output = "silu is not monotone (its minimum is at z = -1.2785)"

    @classmethod
    def elementary(cls, z):
        return z / (1 + sp.exp(-z))

    def derivative(self):
        z = self.args[0]
        return sigmoid(z) * (1 + z * (1 - sigmoid(z)))

    def _numpycode(self, printer):
        return printer._print(self.args[0] * sigmoid(self.args[0]))


class softsign(Activation):
    """softsign z/(1 + |z|)."""

    name = "softsign"
    pretty_name = "softsign"
    latex_name = r"\operatorname{softsign}"
    output_range = sp.Interval.open(-1, 1)
    description = "softsign z/(1 + |z|)"

    @classmethod
    def slope_ends(cls):
        return (sp.S.Zero, sp.S.Zero)

    @classmethod
    def elementary(cls, z):
        return z / (1 + sp.Max(z, -z))  # |z| as max(z, −z): sympy.diff of Abs assumes a complex z

    @classmethod
    def derivative_through_output(cls, a):
        return (1 - sp.Abs(a)) ** 2  # 1 − |a| = 1/(1 + |z|)

    def derivative(self):
        return 1 / (1 + sp.Abs(self.args[0])) ** 2

    def _numpycode(self, printer):
        z = printer._print(self.args[0])
        return f"{z} / (1 + {printer._module_format('numpy.abs')}({z}))"


class hard_sigmoid(Activation):
    """The hard sigmoid min(max(z/6 + 1/2, 0), 1), as in PyTorch."""

    name = "hard_sigmoid"
    pretty_name = "hardsigmoid"
    latex_name = r"\operatorname{hardsigmoid}"
    output_range = sp.Interval(0, 1)
    description = "hard sigmoid min(max(z/6 + 1/2, 0), 1)"
    not_through_output = (
        "hard_sigmoid is flat for |z| > 3: a = 0 and a = 1 each come from a half-line of z where its "
        "derivative is 0, so dC/dz = 0 there whatever the loss"
    )
    subgradient = (
        "hard_sigmoid has kinks at z = -3 and z = 3; derive takes H(0) = 1/2 there, the midpoint 1/12 of its slopes"
    )

    @classmethod
    def slope_ends(cls):
        return (sp.S.Zero, sp.S.Zero)

    @classmethod
    def elementary(cls, z):
        return sp.Min(sp.Max(0, z / 6 + sp.S.Half), 1)

    @classmethod
    def derivative_through_output(cls, a):
        return None

    def derivative(self):
        z = self.args[0]
        return (sp.Heaviside(z + 3) - sp.Heaviside(z - 3)) / 6

    def _numpycode(self, printer):
        z = printer._print(self.args[0])
        return f"{printer._module_format('numpy.clip')}({z} / 6 + 0.5, 0, 1)"
