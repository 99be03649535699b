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

from typing import ClassVar

import sympy as sp
from sympy.core.function import ArgumentIndexError


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
        return self.derivative()

    def _eval_rewrite_as_elementary(self, z, **kwargs) -> sp.Expr:
        return self.elementary(z)

    def _latex(self, printer, exp=None) -> str:
        tex = rf"{self.latex_name}\left({printer._print(self.args[0])}\right)"
        return tex if exp is None else rf"{tex}^{{{exp}}}"

    def _pretty(self, printer):
        from sympy.printing.pretty.stringpict import prettyForm

        arg = prettyForm(*printer._print(self.args[0]).parens())
        return prettyForm(*arg.left(self.pretty_name))

    def _numpycode(self, printer) -> str:
        return printer._print(self.elementary(self.args[0]))


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
