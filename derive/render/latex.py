"""Derivations as LaTeX and Markdown through Jinja2 templates.

Templates do layout only: every expression becomes a LaTeX string here, and
the templates (``fragment``, ``article``, ``markdown`` in the top-level
``templates/`` folder, shipped inside the wheel as ``derive/templates``)
arrange them.  Their delimiters look like LaTeX: ``\\VAR{x}`` and
``\\BLOCK{for ...}``; a missing variable is an error (``StrictUndefined``).

The step in which a factor cancels is preceded by the product that shows it:
there the factor is marked with ``\\underbrace{…}_{\\text{cancels}}`` in the
numerator and the denominator (amsmath only, no extra package).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import sympy as sp

from derive import _version, catalog, errors
from derive.engine import notation, steps

TEMPLATES = {"fragment": "fragment.tex.j2", "article": "article.tex.j2", "markdown": "markdown.md.j2"}
SUFFIX = {"fragment": ".tex", "article": ".tex", "markdown": ".md"}

#: The symbols a user may pick (Nielsen's notation by default).
CHOICES = {
    "output": ("a", r"\hat{y}"),
    "cost": ("C", "L", "J"),
    "target": ("y", "t"),
    "sigma": (r"\sigma", r"\varsigma"),
}


@dataclass(frozen=True)
class Notation:
    """The symbols used in the rendered derivation."""

    output: str = "a"
    cost: str = "C"
    target: str = "y"
    sigma: str = r"\sigma"

    def __post_init__(self) -> None:
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise errors.InvalidOption(
                    f"{name} symbol must be one of {', '.join(allowed)}, not {getattr(self, name)!r}"
                )

    def symbol_names(self) -> dict[sp.Symbol, str]:
        return {
            notation.a: self.output,
            notation.y: self.target,
            notation.C: self.cost,
            notation.C_batch: rf"\bar{{{self.cost}}}",
        }

    def table(self) -> list[tuple[str, str]]:
        """(symbol, meaning) rows of the article's notation table."""
        return [
            ("x_j,\\ w_j,\\ b", "input $j$, its weight, the bias"),
            ("z = \\sum_k w_k x_k + b", "weighted input"),
            (f"{self.output} = {self.sigma}(z)", "output of the activation"),
            (self.target, "target"),
            (self.cost, "cost of one sample; $\\bar{" + self.cost + "}$ is the mean over a batch of $n$"),
            (f"\\delta = \\partial {self.cost} / \\partial z", "the error of the neuron"),
            ("K,\\ \\delta_{ij}", "number of classes (softmax), Kronecker delta"),
        ]


@dataclass(frozen=True)
class Row:
    lhs: str  # empty when the row continues the chain of the row above
    lhs_full: str
    rhs: str
    why: str  # LaTeX, math mode
    why_text: str  # Markdown text with $…$ math
    end: str = r" \\"  # the row separator of align; empty on the last row


@dataclass(frozen=True)
class Section:
    title: str
    intro: str
    rows: tuple[Row, ...]
    summary: tuple[str, ...] = ()  # LaTeX text lines
    summary_text: tuple[str, ...] = ()  # Markdown lines


@dataclass(frozen=True)
class Figure:
    path: str
    caption: str


@dataclass
class Document:
    """Everything a template needs; built by :func:`document`."""

    title: str
    sections: list[Section]
    table: list[dict[str, str]] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    #: What the parameters are assumed to be, as LaTeX (``\alpha > 0``): ``% assume:`` lines for derive verify.
    assumptions: list[str] = field(default_factory=list)
    #: The user's own functions, ``g(z) = z \sigma(z)``: ``% define:`` lines, as derive verify knows only the catalog.
    definitions: list[str] = field(default_factory=list)


class Underbrace(sp.Expr):
    """A factor that cancels in the next step, shown as an underbrace."""

    is_commutative = True

    def _latex(self, printer) -> str:
        return rf"\underbrace{{{printer._print(self.args[0])}}}_{{\text{{cancels}}}}"


# -- expressions and text --------------------------------------------------------------------------

_TEXT_ESCAPES = {
    "\\": r"\textbackslash{}",
    "_": r"\_",
    "^": r"\^{}",
    "&": r"\&",
    "%": r"\%",
    "#": r"\#",
    "$": r"\$",
    "{": r"\{",
    "}": r"\}",
    "~": r"\~{}",
}
_UNICODE_MATH = {
    "≠": r"\neq",
    "≤": r"\le",
    "≥": r"\ge",
    "∘": r"\circ",
    "δ": r"\delta",
    "∂": r"\partial",
    "Σ": r"\Sigma",
    "σ": r"\sigma",
    "ε": r"\varepsilon",
    "ω": r"\omega",
    "⊙": r"\odot",
    "′": "'",
    "→": r"\to",
    "·": r"\cdot",
    "∈": r"\in",
    "ỹ": r"\tilde{y}",
    "×": r"\times",
    "−": "-",
    "…": r"\dots",
}


def text(words: str) -> str:
    """Plain words as LaTeX text: specials escaped, symbols as inline math."""
    out = []
    for char in words:
        if char in _TEXT_ESCAPES:
            out.append(_TEXT_ESCAPES[char])
        elif char in _UNICODE_MATH:
            out.append(f"${_UNICODE_MATH[char]}$")
        else:
            out.append(char)
    return "".join(out)


def tex(expr: sp.Basic, style: Notation, names: Mapping[sp.Symbol, str] | None = None) -> str:
    """LaTeX of an expression in the chosen notation (``names``: a derivation's own symbols)."""
    out = steps.to_latex(expr, {**(names or {}), **style.symbol_names()})
    if style.sigma != r"\sigma":
        out = re.sub(r"\\sigma(?![A-Za-z])", lambda _: style.sigma, out)
    return out


def _mark_cancelled(expr: sp.Basic, factor: sp.Expr) -> sp.Basic:
    """In each displayed product, wrap ``factor`` where it divides a numerator and a denominator."""

    def mark(*factors):
        out, marked_num, marked_den = [], False, False
        for f in factors:
            num, den = sp.fraction(f)
            if not marked_den and den != 1 and sp.fraction(sp.cancel(den / factor))[1] == 1:
                f = sp.Mul(num, sp.Pow(sp.Mul(sp.cancel(den / factor), Underbrace(factor)), -1))
                marked_den = True
            elif not marked_num and sp.fraction(sp.cancel(num / factor))[1] == 1:
                f = sp.Mul(sp.cancel(num / factor), Underbrace(factor)) / den
                marked_num = True
            out.append(f)
        return notation.Product(*out) if marked_num and marked_den else notation.Product(*factors)

    return expr.replace(notation.Product, mark)


def _why(step: steps.Step, style: Notation, names: Mapping | None = None) -> tuple[str, str]:
    """The justification of a step: (LaTeX in math mode, Markdown)."""
    extras = [r"\textstyle " + tex(c, style, names) for c in step.conditions]
    latex = r"\text{" + text(step.rule) + "}" + "".join(r",\ " + e for e in extras)
    markdown = step.rule + "".join(f", ${e}$" for e in extras)
    if step.cancelled is not None:
        latex += r"\ " + tex(step.cancelled, style, names)
        markdown += f" ${tex(step.cancelled, style, names)}$"
    return latex, markdown


def rows(trace: Sequence[steps.Step], style: Notation, names: Mapping | None = None) -> tuple[Row, ...]:
    """One row per step; a chain on the same quantity leaves the left side empty."""
    out, previous = [], None
    for number, step in enumerate(trace):
        following = trace[number + 1] if number + 1 < len(trace) else None
        expr = step.expr
        if following is not None and following.rule == "cancel" and following.lhs == step.lhs:
            expr = _mark_cancelled(expr, following.cancelled)
        lhs = tex(step.lhs, style, names)
        why, why_text = _why(step, style, names)
        end = "" if following is None else r" \\"
        out.append(Row("" if step.lhs == previous else lhs, lhs, tex(expr, style, names), why, why_text, end))
        previous = step.lhs
    return tuple(out)


# -- sections ---------------------------------------------------------------------------------------


def derivation_section(d: steps.Derivation, style: Notation) -> Section:
    """A section for one loss ∘ activation derivation, with the cancellation verdict."""
    an = d.analysis
    delta_name = r"\delta_j" if d.classes is not None else r"\delta"
    delta = f"${delta_name} = {tex(d.delta, style)}$"
    if an.cancels:
        verdict = f"The derivative of {text(d.activation)} cancels: the error is the output minus the target."
    else:
        bound = (
            ""
            if an.bound is None
            else f", and $|\\delta| \\le {tex(an.bound, style)}\\,|{style.output} - {style.target}|$"
        )
        verdict = f"Nothing cancels: the derivative of {text(d.activation)} stays in the error{bound}."
    saturates = {
        True: "It saturates: when the output is saturated at the wrong end, the error tends to 0 and learning "
        "slows down.",
        False: "It does not saturate: a badly wrong output still learns fast.",
        None: "Whether it saturates is not known: derive could not find the limit of the error at a wrong end.",
    }[an.saturates]
    summary = (delta, verdict, saturates)
    intro = (
        f"The cost {text(d.loss)} composed with the activation {text(d.activation)}. "
        "Every step below was proven equal to the one before it by derive."
    )
    return Section(
        title=f"{text(d.loss)} $\\circ$ {text(d.activation)}",
        intro=intro,
        rows=rows(d.steps, style),
        summary=summary,
        summary_text=tuple(_markdown_line(line) for line in summary),
    )


def trace_section(t: steps.Trace, style: Notation) -> Section:
    """A section for a standalone derivation (shift invariance, backpropagation)."""
    names = t.symbol_latex
    summary = tuple(
        f"{text(name)}: ${tex(value.lhs, style, names)} = {tex(value.rhs, style, names)}$"
        if isinstance(value, sp.Eq)
        else f"{text(name)}: ${tex(value, style, names)}$"
        for name, value in t.results.items()
    )
    return Section(
        text(t.title),
        "Every step below was proven by derive.",
        rows(t.steps, style, names),
        summary,
        tuple(_markdown_line(line) for line in summary),
    )


def _markdown_line(latex_line: str) -> str:
    """A summary line written for LaTeX text mode, made readable as Markdown."""
    return latex_line.replace(r"\_", "_").replace(r"\,", " ")


def yes_no(flag: bool | None) -> str:
    """yes, no, or ? when not known."""
    return "?" if flag is None else ("yes" if flag else "no")


def table_rows(derivations: Iterable[steps.Derivation], style: Notation) -> list[dict[str, str]]:
    return [
        {
            "loss": text(d.loss),
            "activation": text(d.activation),
            "cancels": "yes" if d.cancels else "no",
            "saturates": yes_no(d.saturates),
            "delta": tex(d.delta, style),
        }
        for d in derivations
    ]


# -- templates ----------------------------------------------------------------------------------------


def template_dirs(user_dir: Path | None = None) -> list[Path]:
    """Where templates are looked up: the user's folder, then the installed or source ``templates/``.

    The templates live at the top of the repository (``templates/``) and ship inside the wheel as
    ``derive/render/templates``.
    """
    here = Path(__file__).resolve().parent
    found = [p for p in (here / "templates", here.parent.parent / "templates") if p.is_dir()]
    if user_dir is not None:
        if not Path(user_dir).is_dir():
            raise errors.InvalidOption(f"template folder {user_dir} does not exist")
        found.insert(0, Path(user_dir))
    return found


def environment(user_dir: Path | None = None) -> jinja2.Environment:
    """Jinja2 with LaTeX-looking delimiters and StrictUndefined."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(p) for p in template_dirs(user_dir)]),
        block_start_string=r"\BLOCK{",
        block_end_string="}",
        variable_start_string=r"\VAR{",
        variable_end_string="}",
        comment_start_string=r"\#{",
        comment_end_string="}",
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )


def render(
    doc: Document, template: str = "fragment", style: Notation | None = None, template_dir: Path | None = None
) -> str:
    """The document through one template; unknown template names raise InvalidOption."""

    style = style or Notation()
    name = TEMPLATES.get(template, template if template_dir is not None else None)
    if name is None:
        raise errors.InvalidOption(f"unknown template {template!r}; choose one of {', '.join(TEMPLATES)}")
    try:
        tmpl = environment(template_dir).get_template(name)
    except jinja2.TemplateNotFound as exc:
        raise errors.InvalidOption(f"template {template!r} not found in {template_dir}") from exc
    except jinja2.TemplateSyntaxError as exc:
        raise errors.InvalidOption(f"template {exc.filename}, line {exc.lineno}: {exc.message}") from exc
    try:
        return tmpl.render(
            title=doc.title,
            sections=doc.sections,
            table=doc.table,
            figures=doc.figures,
            assumptions=doc.assumptions,
            definitions=doc.definitions,
            notation=style.table(),
            cost=style.cost,
            version=_version.__version__,
        )
    except jinja2.UndefinedError as exc:
        raise errors.InvalidOption(f"template {template!r} uses an unknown variable: {exc}") from exc


def derivation_document(
    d: steps.Derivation,
    style: Notation,
    table: list[dict[str, str]] | None = None,
    figures: Sequence[Figure] = (),
) -> Document:
    title = f"The gradient of {text(d.loss)} $\\circ$ {text(d.activation)}"
    return Document(
        title,
        [derivation_section(d, style)],
        list(table or []),
        list(figures),
        parameter_assumptions(d, style),
        function_definitions(d, style),
    )


def function_definitions(d: steps.Derivation, style: Notation) -> list[str]:
    r"""``f(z) = …`` for each user function of the derivation (a formula of the user's, not the catalog's).

    The steps name such a function (``\operatorname{mish}(z)``); these lines tell ``derive verify``
    what it is, as it knows the catalog's functions only.
    """
    out = []
    loss, act = d.loss_function, d.activation_function
    if act is not None and not catalog.built_in(act) and not getattr(act, "vector", False):
        out.append(f"{tex(act(notation.z), style)} = {tex(act.elementary(notation.z), style)}")
    if loss is not None and not catalog.built_in(loss) and not getattr(loss, "vector", False):
        args = (notation.a, notation.y)
        out.append(f"{tex(loss(*args), style)} = {tex(loss.elementary(*args), style)}")
    return out


def parameter_assumptions(d: steps.Derivation, style: Notation) -> list[str]:
    """``\\alpha > 0``, ``\\gamma \\ge 0``, ...: each parameter's domain as relations in LaTeX."""
    out = []
    for p in d.parameters:
        symbol, domain = tex(p.symbol, style), p.domain
        if not isinstance(domain, sp.Interval):
            continue
        if domain.inf.is_finite:
            relation = ">" if domain.left_open else r"\ge"
            out.append(f"{symbol} {relation} {tex(domain.inf, style)}")
        if domain.sup.is_finite:
            relation = "<" if domain.right_open else r"\le"
            out.append(f"{symbol} {relation} {tex(domain.sup, style)}")
    return out


def latex(d: steps.Derivation, template: str = "fragment", **symbols: str) -> str:
    """``Derivation.latex``: the derivation through a template in the chosen notation."""
    if not isinstance(d, steps.Derivation):
        raise errors.InvalidOption(f"latex renders a Derivation (derive.derive(loss, activation)), not {d!r}")
    style = Notation(**symbols)
    return render(derivation_document(d, style), template, style)
