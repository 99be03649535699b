"""The skeleton reader builds the LaTeX backend's own tree, without the backend (derive.parse.skeleton).

The reference is the backend itself (latex2sympy2, or latex2sympy2_extended in CI's second run):
the same ``srepr``, unevaluated as the backend leaves it, so that the dialect's ``restore`` gives
the same expression whichever reads the skeleton.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sympy as sp

from derive.parse import formula, skeleton

SKELETONS = json.loads((Path(__file__).parents[1] / "data" / "parse" / "skeletons.json").read_text(encoding="utf-8"))

HAND = [
    r"-Q_{1}^{2}",
    r"- 2",
    r"Q_{1} - 3",
    r"Q_{1} / Q_{2} \cdot Q_{3}",
    r"Q_{1} \times Q_{2}",
    r"2 Q_{1} Q_{2}",
    r"(Q_{1})(Q_{2} + 1)",
    r"\frac{- Q_{1}}{Q_{2} - Q_{3}} + {Q_{4}}",
    r"Q_{1}^{- Q_{2} + 1} - (Q_{3} - (Q_{4} - Q_{5}))",
    r"+ Q_{1} - - Q_{2}",
    r"Q_{1}^2",
    # a piece of gelu_tanh
    r"\frac{\sqrt{Q_{13}}  \cdot  (\frac{Q_{14}  \cdot  Q_{15}^{Q_{16}}}{Q_{17}} + Q_{18})}{\sqrt{Q_{19}}}",
    r"\sqrt{Q_{10} + 1}^{2} - \sqrt{2}",
]


@pytest.mark.parametrize("text", SKELETONS["skeletons"] + HAND)
def test_the_skeleton_tree_is_the_backends(text):
    assert sp.srepr(skeleton.read(text)) == sp.srepr(formula.backend().parse(text))


@pytest.mark.parametrize(
    "text",
    [
        "Q_{1}^23",  # x^23 is x^2 times 3 in TeX
        "Q_{1}^(2)",  # the backend's syntax error, said by the backend
        "Q_{1}^-1",
        "Q_{1}^{2}^{3}",
        r"\sqrt[3]{Q_{1}}",
        r"2 \sqrt{Q_{1}}",
        "2.5 Q_{1}",
        r"\frac12",
        "x + 1",
        r"\sin(Q_{1})",
        "Q_{1} +",
        "(Q_{1}",
        "",
    ],
)
def test_anything_else_goes_to_the_backend(text):
    with pytest.raises(skeleton.NotSkeleton):
        skeleton.read(text)


x = sp.Symbol("x")


@pytest.mark.parametrize(
    ("latex", "expected"),
    [
        (r"2.5 x", sp.Rational(5, 2) * x),  # a decimal point: the backend reads the skeleton
        (r"\frac12 x", x / 2),  # as in TeX, a digit is one token: \frac12 is 1/2 (it was read 12/x)
        (r"\frac 12", sp.Rational(1, 2)),
        (r"\frac123", sp.Rational(3, 2)),
        (r"\frac1x", 1 / x),
    ],
)
def test_formulas_outside_the_skeleton_and_tex_arguments(latex, expected):
    assert formula.parse_latex(latex) == expected
