"""derive.parse_latex: the development corpus, errors with positions, safety and state."""

from __future__ import annotations

import builtins
import contextlib
import importlib
import json
import os
import threading
from pathlib import Path

import pytest
import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.functions.elementary.piecewise import ExprCondPair

import derive
from derive.catalog import activations
from derive.catalog import softmax as catalog_softmax
from derive.errors import ParseError
from derive.parse import formula

CORPUS = Path(__file__).parents[1] / "data" / "parse" / "dev.json"  # the parser development corpus
FORMULAS = json.loads(CORPUS.read_text())["formulas"]
NAMESPACE = {
    **{name: getattr(sp, name) for name in dir(sp)},
    "sigmoid": activations.sigmoid,
    "softmax": catalog_softmax.softmax,
    "ExprCondPair": ExprCondPair,
}


def _expected(text: str):
    """The corpus object, with Function('ReLU') read as the catalog's relu (the same meaning)."""
    value = eval(text, NAMESPACE)  # the corpus's own srepr, not user input

    def fix(obj):
        if isinstance(obj, (tuple, list)):
            return type(obj)(fix(o) for o in obj)
        return obj.replace(
            lambda e: isinstance(e, AppliedUndef) and e.func.__name__ == "ReLU", lambda e: activations.relu(*e.args)
        )

    return fix(value)


@pytest.mark.parametrize("case", FORMULAS, ids=[f["id"] for f in FORMULAS])
def test_dev_corpus(case):
    assert formula.parse_latex(case["latex"]) == _expected(case["expected_srepr"]), case["meaning"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"\log_{10} x", sp.log(sp.Symbol("x"), 10)),
        (r"\log x", sp.log(sp.Symbol("x"))),
        (r"C \neq c", sp.Ne(sp.Symbol("C"), sp.Symbol("c"))),
        (r"0 < a < 1", [sp.Lt(0, sp.Symbol("a")), sp.Lt(sp.Symbol("a"), 1)]),
        (r"a = a", sp.Eq(sp.Symbol("a"), sp.Symbol("a"), evaluate=False)),
        (r"A = B = C", [sp.Eq(sp.Symbol("A"), sp.Symbol("B")), sp.Eq(sp.Symbol("B"), sp.Symbol("C"))]),
        (r"\sigma(1-\sigma)", sp.Symbol("sigma") * (1 - sp.Symbol("sigma"))),
        (r"{a^{L}}_{j}", sp.IndexedBase("a")[sp.Symbol("L"), sp.Symbol("j")]),
        (r"\sigma{\left(z \right)}", activations.sigmoid(sp.Symbol("z"))),
        (r"\underbrace{a(1-a)}_{\text{cancels}}", sp.Symbol("a") * (1 - sp.Symbol("a"))),
        (r"p(y \mid x)", sp.Function("p")(sp.Symbol("y"), sp.Symbol("x"))),
        (r"\frac{\partial^2 C}{\partial w \partial b}", sp.Derivative(sp.Symbol("C"), sp.Symbol("w"), sp.Symbol("b"))),
        (r"d\sigma/dz", sp.Derivative(sp.Symbol("sigma"), sp.Symbol("z"))),
        (r"\delta_{ij} y_j", sp.KroneckerDelta(sp.Symbol("i"), sp.Symbol("j")) * sp.IndexedBase("y")[sp.Symbol("j")]),
    ],
)
def test_more_notation(text, expected):
    assert formula.parse_latex(text) == expected


@pytest.mark.parametrize(
    ("text", "reason", "position"),
    [
        (r"\frac{1}{", "never closed", 8),
        (r"\sigma(z", "never closed", 6),
        (r"a + \foo", r"unknown command \foo", 4),
        (r"a +", "ends with an operator", 2),
        (r"\sum_i", "nothing to sum", 0),
        (r"\sum y_i t_j", "ambiguous", 0),
        (r"\frac{\partial C}{\partial 2}", "expected a name", 27),
        (r"x^", "missing its argument", 1),
        (r"a )", "unbalanced ')'", 2),
        (r"\begin{cases} a & i=j \end{array}", "does not close", 22),
        (r"\partial C", r"\partial outside", 0),
        ("", "empty", None),
    ],
)
def test_errors_say_where_and_why(text, reason, position):
    with pytest.raises(ParseError) as caught:
        formula.parse_latex(text)
    assert reason in str(caught.value)
    assert caught.value.position == position


def test_parse_error_is_a_derive_error():
    assert issubclass(ParseError, derive.DeriveError)
    with pytest.raises(derive.ParseError):
        derive.parse_latex(r"\frac{")


def test_a_derivative_of_an_undefined_quantity_stays_unevaluated():
    value = formula.parse_latex(r"\frac{\partial C}{\partial a_j}")
    assert isinstance(value, sp.Derivative) and value != 0


def test_user_text_is_never_evaluated_as_python(monkeypatch):
    """Only the LaTeX grammar reads the text: no eval, exec, sympify or parse_expr on strings."""

    def refuse(name, real):
        def guarded(*args, **kwargs):
            if args and isinstance(args[0], str):
                raise AssertionError(f"{name} called on a string: {args[0]!r}")
            return real(*args, **kwargs)

        return guarded

    formula.backend()  # its import defines dataclasses (exec of generated code): before the guard, not text
    monkeypatch.setattr(builtins, "eval", refuse("eval", builtins.eval))
    monkeypatch.setattr(builtins, "exec", refuse("exec", builtins.exec))
    monkeypatch.setattr(sp, "sympify", refuse("sympify", sp.sympify))
    sympify_module = importlib.import_module("sympy.core.sympify")
    monkeypatch.setattr(sympify_module, "sympify", refuse("sympify", sympify_module.sympify))
    import sympy.parsing.sympy_parser as sympy_parser

    monkeypatch.setattr(sympy_parser, "parse_expr", refuse("parse_expr", sympy_parser.parse_expr))
    name, _ = formula.backend()
    backend_module = __import__(name)
    if hasattr(backend_module, "parse_expr"):
        monkeypatch.setattr(backend_module, "parse_expr", refuse("parse_expr", backend_module.parse_expr))
    for case in FORMULAS:
        formula.parse_latex(case["latex"])
    for hostile in [r"__import__('os').system('true')", r"\variable{x}", r"\mathrm{exec}(1)", "x.__class__"]:
        with contextlib.suppress(ParseError):
            formula.parse_latex(hostile)


def test_repeated_and_concurrent_calls_agree():
    """latex2sympy2's module state (a bare dz corrupts it) is saved and restored around each call."""
    with pytest.raises(ParseError):
        formula.parse_latex(r"dz = \int")
    formula.parse_latex(r"x = dz")
    texts = [f["latex"] for f in FORMULAS]
    expected = [formula.parse_latex(t) for t in texts]
    results: dict[int, list] = {}

    def work(worker: int) -> None:
        results[worker] = [formula.parse_latex(t) for t in texts]

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(results[w] == expected for w in range(4))


def test_the_backend_is_the_one_asked_for():
    """CI runs these tests twice: with latex2sympy2 and with DERIVE_LATEX_BACKEND=latex2sympy2_extended."""
    name, _ = formula.backend()
    assert name == (os.environ.get("DERIVE_LATEX_BACKEND") or name)
    assert name in formula.BACKENDS
