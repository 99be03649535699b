"""How derive's results show in a terminal and in Jupyter: a short ``repr``, and HTML and LaTeX displays.

Issue 13: ``repr(Derivation)`` was one huge line (every step, every expression), and ``Step`` and
``Synthesis`` had no rich display in a notebook.
"""

from __future__ import annotations

import html
import re

import pytest
import sympy as sp

from derive import catalog
from derive.derivations import backprop, matching, pairs
from derive.derivations import shift as shift_module
from derive.engine import steps

#: A repr is one line a reader takes in at a glance: the pair, δ and the verdicts, not the steps.
LONGEST_REPR = 200

DERIVATIONS = [
    *[(loss, act, {}) for loss, act in catalog.pairs(valid=True)],
    ("cross_entropy", "softmax", {"classes": 3, "label_smoothing": True, "class_weights": True}),
]


@pytest.mark.parametrize(("loss", "act", "options"), DERIVATIONS, ids=lambda v: str(v) if v else "")
def test_derivation_repr_is_one_short_line(loss, act, options):
    d = pairs.derive(loss, act, **options)
    shown = repr(d)
    assert "\n" not in shown and len(shown) <= LONGEST_REPR, shown
    assert shown.startswith(f"Derivation(loss={d.loss!r}, activation={d.activation!r}")
    assert f"cancels={d.cancels}" in shown and f"saturates={d.saturates}" in shown
    assert f"steps={len(d.steps)})" in shown


@pytest.mark.parametrize(("loss", "act", "options"), DERIVATIONS, ids=lambda v: str(v) if v else "")
def test_step_repr_is_one_short_line_naming_its_rule(loss, act, options):
    for step in pairs.derive(loss, act, **options).steps:
        shown = repr(step)
        assert "\n" not in shown and len(shown) <= LONGEST_REPR, shown
        assert shown.startswith(f"Step(rule={step.rule!r}, lhs=")


def test_a_long_expression_is_cut_with_an_ellipsis():
    long_sum = sp.Add(*sp.symbols("x0:40"))
    shown = repr(steps.Step("definition", sp.Symbol("C"), long_sum))
    assert shown.endswith("…)") and len(shown) <= LONGEST_REPR
    assert repr(steps.Step("definition", sp.Symbol("C"), sp.Symbol("x"))) == "Step(rule='definition', lhs=C, expr=x)"


def test_step_displays_its_rule_note_and_math_in_a_notebook():
    step = steps.Step("chain rule", sp.Symbol("C"), sp.Symbol("a") * sp.Symbol("b"), note="C <depends> on a & b")
    shown = step._repr_html_()
    assert "<b>chain rule</b>" in shown
    assert html.escape("C <depends> on a & b") in shown and "<depends>" not in shown  # the note is text, escaped
    assert html.escape(f"$${step.latex()}$$") in shown  # the math for MathJax
    assert step._repr_latex_() == rf"$${step.latex()} \qquad \text{{chain rule}}$$"


@pytest.mark.parametrize("activation", ["sigmoid", "identity", "tanh"])
def test_synthesis_displays_its_steps_in_a_notebook(activation):
    result = matching.matching_loss(activation)
    shown = repr(result)
    assert "\n" not in shown and len(shown) <= LONGEST_REPR, shown
    assert shown.startswith(f"Synthesis(activation={activation!r}") and f"matches={result.matches!r}" in shown
    latex = result._repr_latex_()
    assert latex.startswith(r"$$\begin{aligned}") and latex.endswith(r"\end{aligned}$$")
    assert latex.count(r"\\") == len(result.steps) - 1  # one row per step
    for step in result.steps:
        assert rf"\text{{{step.rule}}}" in latex
    page = result._repr_html_()
    assert f"<b>matching loss of {activation}: dL/dz = a − y</b>" in page
    assert html.escape(latex) in page
    if result.note:
        assert html.escape(result.note) in page


@pytest.mark.parametrize("make", [backprop.four_equations, shift_module.shift_invariance])
def test_trace_repr_and_latex(make):
    trace = make()
    shown = repr(trace)
    assert "\n" not in shown and len(shown) <= LONGEST_REPR, shown
    assert re.fullmatch(r"Trace\(title='.+', steps=\d+, results=\[.*\]\)", shown), shown
    assert trace._repr_latex_().count(r"\\") == len(trace.steps) - 1
