"""The trace of a derivation: frozen, printable, checked by the engine.

A :class:`Step` is one equation ``lhs = expr`` and the rule that justifies it.
Consecutive steps about the same quantity form a chain ``lhs = e₁ = e₂ = …``.
A :class:`Derivation` is the ordered steps of ``loss ∘ activation`` plus its
results, analysis and the :class:`Options` it was derived with; a :class:`Synthesis` is the trace of a matching loss.
These are plain data: they are built (and proven) in ``derive.derivations.pairs``.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field

import sympy as sp
from sympy.printing.latex import LatexPrinter

from derive.engine import notation

#: The notation (README, Nielsen ch. 3) as LaTeX; symbols not listed print as SymPy prints them.
SYMBOL_LATEX: Mapping[sp.Symbol, str] = {
    notation.C_batch: r"\bar{C}",
    notation.x_j: "x_j",
    notation.w_j: "w_j",
}


class _LatexPrinter(LatexPrinter):
    """SymPy's LaTeX, with |x| as ``\\lvert x \\rvert`` (the bars of an absolute value, not of a divisor)."""

    def _print_Abs(self, expr, exp=None):
        tex = rf"\lvert {self._print(expr.args[0])} \rvert"
        return tex if exp is None else rf"{tex}^{{{exp}}}"


def to_latex(expr: sp.Basic, symbol_names: Mapping[sp.Symbol, str] | None = None) -> str:
    """LaTeX of an expression in derive's notation (``symbol_names`` overrides it)."""
    names = {**SYMBOL_LATEX, **(symbol_names or {})}
    return _LatexPrinter({"symbol_names": names, "ln_notation": True}).doprint(expr)


def _aligned(trace: tuple[Step, ...], last: str = "") -> str:
    """The steps as one ``aligned`` display (``last``: one more row, LaTeX), for Jupyter's MathJax."""
    rows = [rf"{to_latex(s.lhs)} &= {to_latex(s.expr)} && \text{{{s.rule}}}" for s in trace]
    body = r" \\ ".join([*rows, last] if last else rows)
    return rf"$$\begin{{aligned}}{body}\end{{aligned}}$$"


#: The longest expression a ``repr`` shows in full; longer ones end in "…".
REPR_WIDTH = 60


def _short(value: object, width: int = REPR_WIDTH) -> str:
    """``str(value)`` on one line, cut to ``width`` characters."""
    text = " ".join(str(value).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _html_math(latex: str) -> str:
    """LaTeX as display math inside HTML: escaped, for the notebook's MathJax."""
    return f"<div>{html.escape(latex)}</div>"


@dataclass(frozen=True)
class Step:
    """One step ``lhs = expr``, justified by ``rule``.

    ``rule`` is a short name (``definition``, ``chain rule``, ``differentiate``,
    ``through output``, ``cancel``, ...); ``note`` says the same in words,
    including any condition the step needs; ``cancelled`` is the factor the
    step cancels, if it cancels one; ``conditions`` are the relations the
    step holds under (``Eq(i, j)``, ``Ne(i, j)``, ``Eq(Sum(y[k], ...), 1)``),
    used by the engine's proof.
    """

    rule: str
    lhs: sp.Expr
    expr: sp.Expr
    note: str = ""
    cancelled: sp.Expr | None = None
    conditions: tuple[sp.Basic, ...] = ()

    def latex(self, symbol_names: Mapping[sp.Symbol, str] | None = None) -> str:
        """``lhs = expr`` as LaTeX."""
        return f"{to_latex(self.lhs, symbol_names)} = {to_latex(self.expr, symbol_names)}"

    def __repr__(self) -> str:
        return f"Step(rule={self.rule!r}, lhs={_short(self.lhs)}, expr={_short(self.expr)})"

    def _repr_latex_(self) -> str:
        """``lhs = expr`` and the rule, for Jupyter's MathJax."""
        return rf"$${self.latex()} \qquad \text{{{self.rule}}}$$"

    def _repr_html_(self) -> str:
        """The rule, the note and ``lhs = expr`` as display math."""
        note = f": {html.escape(self.note)}" if self.note else ""
        return f"<div><b>{html.escape(self.rule)}</b>{note}</div>" + _html_math(f"$${self.latex()}$$")

    def as_dict(self) -> dict[str, str | None]:
        """The step as JSON-ready strings (SymPy ``str()`` and LaTeX)."""
        return {
            "rule": self.rule,
            "lhs": str(self.lhs),
            "expr": str(notation.evaluate_products(self.expr)),
            "latex": self.latex(),
            "note": self.note,
            "cancelled": None if self.cancelled is None else str(self.cancelled),
            "conditions": [str(c) for c in self.conditions],
        }


@dataclass(frozen=True)
class Analysis:
    """What the error δ = ∂C/∂z says about learning.

    ``cancels``: δ = c·(a − y) for a constant c, no activation-derivative factor left.
    ``factor``: δ / (a − y), the factor that scales learning (a(1 − a) for quadratic∘σ).
    ``bound``: the supremum of |factor| over the activation's range, so
    |δ| ≤ bound·|a − y| (1/4 for quadratic∘σ); None when it depends on y or is unknown.
    ``limits``: δ at the wrong end of saturation, {"z->oo, y=0": …, "z->-oo, y=1": …} (hinge: y = −1
    and 1); None for a limit SymPy could not find.
    ``saturates``: one of those limits is 0, so a badly wrong neuron learns slowly; None when unknown.
    """

    cancels: bool
    factor: sp.Expr
    bound: sp.Expr | None
    limits: Mapping[str, sp.Expr | None]
    saturates: bool | None


@dataclass(frozen=True)
class Options:
    """The options a derivation was made with (cross-entropy ∘ softmax has them; the defaults elsewhere).

    ``label_smoothing``: ε of the smoothed targets (1 − ε)·y + ε/K, an exact SymPy
    number, the free symbol ε (a parameter of the exported functions), or None.
    ``class_weights``: the terms of the loss are weighted by ω_k (a parameter of the
    exported functions).  ``classes``: an explicit number of classes K, None for a symbolic K.
    """

    label_smoothing: sp.Expr | None = None
    class_weights: bool = False
    classes: int | None = None

    @property
    def symbolic_smoothing(self) -> bool:
        """True when ε is a free symbol, not a number."""
        return self.label_smoothing is not None and not self.label_smoothing.is_number

    def as_dict(self) -> dict[str, object]:
        """JSON-ready: ε as SymPy ``str()`` (or None), the flag, K (or None)."""
        return {
            "label_smoothing": None if self.label_smoothing is None else str(self.label_smoothing),
            "class_weights": self.class_weights,
            "classes": self.classes,
        }


@dataclass(frozen=True)
class Derivation:
    """The derivation of ∂C/∂z, ∂C/∂w_j and ∂C/∂b for ``loss ∘ activation``.

    Every step has been proven equal to the one before it (and to an
    independent reference) by the engine before this object exists.
    """

    loss: str
    activation: str
    steps: tuple[Step, ...]
    delta: sp.Expr
    grad_w: sp.Expr
    grad_b: sp.Expr
    conditions: tuple[str, ...]
    analysis: Analysis
    classes: sp.Expr | int | None = None  # K for softmax (a symbol, or a number when explicit)
    jacobian: sp.Basic | None = None  # ∂a_i/∂z_j for softmax
    options: Options = field(default=Options())  # what derive(...) was asked for: ε, ω, explicit K
    #: The catalog (or user) classes of the loss and the activation: what export and render look up.
    loss_function: type | None = field(default=None, repr=False, compare=False)
    activation_function: type | None = field(default=None, repr=False, compare=False)

    @property
    def parameters(self) -> tuple:
        """The parameters of the pair (α, κ, γ, ...): symbols in the steps, keywords of exported code."""
        return tuple(
            p for cls in (self.loss_function, self.activation_function) for p in getattr(cls, "parameters", ())
        )

    @property
    def cancels(self) -> bool:
        """True when δ = c·(a − y): the activation's derivative cancels."""
        return self.analysis.cancels

    @property
    def saturates(self) -> bool | None:
        """True when δ → 0 as the neuron saturates at the wrong end (None: a limit could not be found)."""
        return self.analysis.saturates

    def _repr_latex_(self) -> str:
        """The steps as one ``aligned`` display, for Jupyter's MathJax.

        The typeset documents (fragment, article, Markdown) come from ``derive.latex(d)``.
        """
        return _aligned(self.steps)

    def __repr__(self) -> str:
        """One short line: the pair, δ, the verdicts and how many steps (``d.steps`` has them all)."""
        classes = "" if self.classes is None else f", classes={self.classes}"
        return (
            f"Derivation(loss={self.loss!r}, activation={self.activation!r}{classes}, delta={_short(self.delta)}, "
            f"cancels={self.cancels}, saturates={self.saturates}, steps={len(self.steps)})"
        )

    def as_dict(self) -> dict[str, object]:
        """JSON-ready: SymPy ``str()`` of each expression, steps with LaTeX."""
        an = self.analysis
        return {
            "loss": self.loss,
            "activation": self.activation,
            "delta": str(self.delta),
            "grad_w": str(self.grad_w),
            "grad_b": str(self.grad_b),
            "cancels": an.cancels,
            "saturates": an.saturates,
            "slowdown_factor": str(an.factor),
            "slowdown_bound": None if an.bound is None else str(an.bound),
            "saturation_limits": {k: None if v is None else str(v) for k, v in an.limits.items()},
            "conditions": list(self.conditions),
            "options": self.options.as_dict(),
            "parameters": [p.as_dict() for p in self.parameters],
            **({} if self.classes is None else {"classes": str(self.classes), "jacobian": str(self.jacobian)}),
            "steps": [step.as_dict() for step in self.steps],
        }


@dataclass(frozen=True)
class Synthesis:
    """The matching loss of an activation: L(a, y) with ∂L/∂z = a − y.

    ``loss`` is zero at a = y and non-negative; ``closed_form`` is False when it
    stays an integral; ``matches`` names the catalog loss it equals up to
    ``offset``, a term in y alone (so with the same gradient), if any.
    """

    activation: str
    loss: sp.Expr
    steps: tuple[Step, ...]
    closed_form: bool
    matches: str | None = None
    offset: sp.Expr = field(default=sp.S.Zero)
    note: str = ""

    def __repr__(self) -> str:
        return (
            f"Synthesis(activation={self.activation!r}, loss={_short(self.loss)}, matches={self.matches!r}, "
            f"steps={len(self.steps)})"
        )

    def _repr_latex_(self) -> str:
        """The steps as one ``aligned`` display, for Jupyter's MathJax."""
        return _aligned(self.steps)

    def _repr_html_(self) -> str:
        """What the loss is (and which catalog loss it matches), then the steps as display math."""
        title = f"matching loss of {self.activation}: dL/dz = a − y"
        note = f"<div>{html.escape(self.note)}</div>" if self.note else ""
        return f"<div><b>{html.escape(title)}</b></div>{note}" + _html_math(_aligned(self.steps))

    def as_dict(self) -> dict[str, object]:
        return {
            "activation": self.activation,
            "loss": str(self.loss),
            "closed_form": self.closed_form,
            "matches": self.matches,
            "offset": str(self.offset),
            "note": self.note,
            "steps": [step.as_dict() for step in self.steps],
        }


@dataclass(frozen=True)
class Trace:
    """A standalone derivation (shift invariance, backpropagation): titled, proven steps.

    ``results`` names the equations it ends in; ``notes`` says what they are for.
    """

    title: str
    steps: tuple[Step, ...]
    results: Mapping[str, sp.Basic]
    notes: tuple[str, ...] = ()
    symbol_latex: Mapping[sp.Symbol, str] = field(default_factory=dict)  # LaTeX of its own symbols

    def __repr__(self) -> str:
        return f"Trace(title={self.title!r}, steps={len(self.steps)}, results={list(self.results)!r})"

    def _repr_latex_(self) -> str:
        """The steps as one ``aligned`` display, for Jupyter's MathJax."""
        return _aligned(self.steps)

    def as_dict(self) -> dict[str, object]:
        return {
            "title": self.title,
            "results": {name: str(value) for name, value in self.results.items()},
            "notes": list(self.notes),
            "steps": [step.as_dict() for step in self.steps],
        }
