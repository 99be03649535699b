"""Definitions people write: layer patterns, numeric subscripts, functions, rebinding σ, refused lines.

The unit tables compare with bindings and verdicts worked out by hand; the documents are checked
end to end in the worker, and every expected verdict is the true one (worked out by hand: the
2-class softmax has a_2 = 1 - a_1, so ∂a_1/∂z_1 = a_1(1 - a_1) = a_1 a_2; the rest are BP1–BP4 and
their textbook slips).
"""

from __future__ import annotations

import random

import mpmath
import pytest
import sympy as sp
from click.testing import CliRunner

from derive import catalog, cli, errors
from derive.catalog import activations
from derive.engine import proof
from derive.parse import formula
from derive.verification import context, definitions, patterns, sampling, verify


def term(latex: str) -> sp.Basic:
    row = formula.read_row(latex)
    assert row.error is None and len(row.terms) == 1 and not isinstance(row.terms[0], Exception), latex
    return row.terms[0]


# ---- patterns ----------------------------------------------------------------------------------


Z, A, W, SIG = sp.IndexedBase("z"), sp.IndexedBase("A"), sp.IndexedBase("w"), activations.sigmoid


@pytest.mark.parametrize(
    ("target", "node", "expected"),
    [
        ("z^l_j", Z[3, 2], {"l": 3, "j": 2}),
        ("z^{l+1}_k", Z[4, 2], {"l": 3, "k": 2}),
        ("a_1", sp.IndexedBase("a")[1], {}),
        ("a_1", sp.IndexedBase("a")[2], None),
        ("w^l_{jk}", W[2, 1, 3], {"l": 2, "j": 1, "k": 3}),
        ("z^l_j", sp.IndexedBase("a")[3, 2], None),
        (r"\sigma(A_i)", SIG(A[3]), {"i": 3}),
        (r"\sigma(A_i)", SIG(sp.Symbol("z")), None),
        (r"L(\hat{y}, y)", sp.Function("L")(sp.Symbol("a"), sp.Symbol("b")), {"yhat": "a", "y": "b"}),
        ("C", sp.Symbol("C"), {}),
        ("C", sp.Symbol("D"), None),
    ],
)
def test_pattern_fit(target, node, expected):
    binding = patterns.fit(term(target), node)
    if expected is None:
        assert binding is None
        return
    assert binding is not None
    assert {str(k): v for k, v in binding.symbols.items()} == {k: sp.sympify(v) for k, v in expected.items()}


def test_a_function_whose_argument_does_not_fit_takes_it_as_its_formal_parameter():
    binding = patterns.fit(term(r"h_\theta(x^i)"), term(r"h_\theta(x^{(2)})"))
    assert binding is not None and binding.replace == {term("x^i"): term("x^{(2)}")}


def test_the_most_specific_definition_wins():
    general = context.Definition(term("a_i"), term("2"))
    special = context.Definition(term("a_1"), term("3"))
    found = context.Context(definitions=[general, special]).lookup(term("a_1"))
    assert found.definition is special
    assert context.Context(definitions=[general, special]).lookup(term("a_2")).definition is general


@pytest.mark.parametrize(
    ("latex", "rebind", "expected"),
    [
        ("a_1", False, True),
        ("p_{12}", False, True),
        ("z^l_j", False, True),
        ("z^{l+1}_k", False, True),
        ("a_{ii}", False, False),  # the same index twice is no pattern
        ("a + b", False, False),
        (r"\Sigma", False, True),
        (r"h_\theta(x^i)", False, True),
        (r"\sigma(A_i)", False, False),  # a row \sigma(x) = … is a step about the sigmoid
        (r"\sigma(A_i)", True, True),  # a % define: line rebinds it
        (r"\tanh(x)", True, True),
    ],
)
def test_is_name(latex, rebind, expected):
    assert definitions.is_name(term(latex), rebind=rebind) is expected


@pytest.mark.parametrize(
    ("target", "value", "expected"),
    [
        ("C", "C + 1", True),
        ("a_i", "a_i^2", True),
        ("a^l_j", r"\sigma(a^{l-1}_j)", False),
        ("z^l_j", r"\sum_k w^l_{jk} a^{l-1}_k + b^l_j", False),
        (r"\sigma(x)", r"\frac{1}{1 + e^{-x}}", False),
        # the layer label L of a^{(L)}_j is an index, not the loss L
        ("L", r"-\sum_j y_j \log a_j^{(L)}", False),
        ("L", r"\sum_{l=1}^{L} x_l", True),
    ],
)
def test_refers_to_itself(target, value, expected):
    assert definitions.refers_to_itself(term(target), term(value)) is expected


NIELSEN = [
    r"z^l_j = \sum_k w^l_{jk} a^{l-1}_k + b^l_j",
    r"a^l_j = \sigma(z^l_j)",
    r"\delta^l_j = \frac{\partial C}{\partial z^l_j}",
]


def _context(lines: list[str]) -> context.Context:
    found = context.Context()
    for line in lines:
        found.definitions.append(definitions.definition(line, None, found))
    return found


@pytest.mark.parametrize(
    ("lines", "recursive", "layers"),
    [
        (NIELSEN, {"z", "a"}, {"z": {0}, "a": {0}, "w": {0}, "b": {0}, "delta": {0}}),
        ([r"a_i = \frac{e^{z_i}}{\sum_k e^{z_k}}"], set(), {}),
        ([r"h_t = \tanh(w h_{t-1} + x_t)"], {"h"}, {"h": {0}, "x": {0}}),
    ],
)
def test_recursive_definitions_and_their_layer_index(lines, recursive, layers):
    found = _context(lines)
    assert {str(key[1]) for key in found.recursive()} == recursive
    assert {str(k): v for k, v in patterns.layer_positions(found.definitions).items()} == layers


# ---- the fast evaluation agrees with the exact one ----------------------------------------------

x, y = sp.symbols("x y")
EXPRESSIONS = [
    sp.exp(x) / (1 + sp.exp(-y)),
    sp.log(x) - sp.log(1 - y),
    activations.sigmoid(x * y) * (1 - activations.sigmoid(x - y)),
    activations.softplus(x) - sp.tanh(y) ** 2,
    sp.sqrt(x) + sp.Abs(y) ** sp.Rational(3, 2),
    1 / (x - y),
    sp.Piecewise((x**2, x < y), (x * y, sp.And(x >= y, y > 0)), (-x, True)),
    sp.Piecewise((sp.log(x), x > 0), (sp.exp(x), True)) + sp.Piecewise((1, sp.Eq(y, 0)), (y, True)),
    catalog.ACTIVATIONS["elu"](x) * y,  # elu's α is a symbol of the point too
]


@pytest.mark.parametrize("expr", EXPRESSIONS, ids=str)
def test_fast_evaluation_agrees_with_exact(expr):
    rng = random.Random(str(expr))
    evaluator = sampling.Evaluator(expr)
    elementary = proof.elementary(expr)  # what the exact evaluation reads
    for _ in range(12):
        point = {s: sp.Rational(rng.randint(-250, 250), 100) for s in (x, y)}
        point[sp.Symbol("alpha")] = sp.Rational(rng.randint(1, 300), 100)
        fast, exact = evaluator(point), sampling.evaluate(elementary, point)
        assert (fast is None) == (exact is None), point
        if exact is not None:
            assert sampling.agree(fast, exact), point


@pytest.mark.parametrize("expr", EXPRESSIONS[-3:], ids=str)
def test_pieces_and_a_catalog_function_with_a_parameter_take_the_fast_path(expr):
    """Piecewise and elu(x) with its α were walked exactly (sympy) at every point: 3 times slower fragments."""
    point = {x: sp.Rational(7, 10), y: sp.Rational(-13, 10), sp.Symbol("alpha"): sp.Rational(3, 2)}
    with mpmath.workdps(sampling.FAST_DIGITS):
        fast = sampling._walk(expr, point, {})
    assert sampling.agree(sp.Float(mpmath.nstr(fast, 40), 30), sampling.evaluate(proof.elementary(expr), point))


def test_a_condition_at_its_boundary_is_left_to_the_exact_evaluation():
    expr = sp.Piecewise((x, x < y), (2 * x, True))
    point = {x: sp.Rational(3, 2), y: sp.Rational(3, 2)}
    assert sampling.agree(sampling.Evaluator(expr)(point), sp.Integer(3))


# ---- documents, end to end ---------------------------------------------------------------------

BACKPROP = r"""
% define: z^l_j = \sum_k w^l_{jk} a^{l-1}_k + b^l_j
% define: a^l_j = \sigma(z^l_j)
% define: \delta^l_j = \frac{\partial C}{\partial z^l_j}
Nielsen's four equations, and the chain rule behind BP2; C is any cost.
\begin{align}
\delta^L_j &= \frac{\partial C}{\partial a^L_j}\sigma'(z^L_j) \\
\delta^l_j &= \sum_k w^{l+1}_{kj}\delta^{l+1}_k \sigma'(z^l_j) \\
\frac{\partial C}{\partial b^l_j} &= \delta^l_j \\
\frac{\partial C}{\partial w^l_{jk}} &= a^{l-1}_k\delta^l_j \\
\frac{\partial C}{\partial z^l_j}
  &= \sum_k \frac{\partial C}{\partial z^{l+1}_k}\frac{\partial z^{l+1}_k}{\partial z^l_j} \\
z^{l+1}_k &= \sum_j w^{l+1}_{kj} a^l_j + b^{l+1}_k \\
\frac{\partial z^{l+1}_k}{\partial a^l_j} &= w^{l+1}_{kj}
\end{align}
"""

BACKPROP_SLIPS = r"""
% define: z^l_j = \sum_k w^l_{jk} a^{l-1}_k + b^l_j
% define: a^l_j = \sigma(z^l_j)
% define: \delta^l_j = \frac{\partial C}{\partial z^l_j}
\begin{align}
\delta^L_j &= \frac{\partial C}{\partial a^L_j} \\
\delta^l_j &= \sum_k w^{l+1}_{jk}\delta^{l+1}_k \sigma'(z^l_j) \\
\frac{\partial C}{\partial w^l_{jk}} &= a^{l}_k\delta^l_j \\
\frac{\partial z^l_j}{\partial w^l_{jk}} &= a^{l}_k \\
\frac{\partial z^{l+1}_k}{\partial a^l_j} &= w^{l+1}_{jk}
\end{align}
"""

DOCUMENTS = {
    "backprop": (BACKPROP, ["equal"] * 7),
    # a slip that only the unknown ∂C/∂a could hide is undecided; a plain one is not equal
    "backprop slips": (BACKPROP_SLIPS, ["undecided", "undecided", "undecided", "not_equal", "not_equal"]),
    "numeric subscripts": (
        r"""% define: a_1 = \frac{e^{z_1}}{e^{z_1} + e^{z_2}}
% define: a_2 = \frac{e^{z_2}}{e^{z_1} + e^{z_2}}
\[ \frac{\partial a_1}{\partial z_2} = -a_1 a_2 \]
\[ \frac{\partial a_1}{\partial z_1} = a_1 a_2 \]
\[ \frac{\partial a_1}{\partial z_1} = a_1 \]""",
        ["equal", "equal", "not_equal"],
    ),
    "function of a sample": (
        r"""% define: h_\theta(x^i) = \frac{1}{1 + e^{-\theta x^i}}
\[ \frac{\partial h_\theta(x^{(i)})}{\partial \theta} = h_\theta(x^{(i)})(1 - h_\theta(x^{(i)})) x^{(i)} \]
\[ \frac{\partial h_\theta(x^{(i)})}{\partial \theta} = h_\theta(x^{(i)})(1 - h_\theta(x^{(i)})) \]""",
        ["equal", "not_equal"],
    ),
    "sigma rebound as softmax": (
        r"""% define: \sigma(A_i) = \frac{e^{A_i}}{\sum_{j=1}^{C} e^{A_j}}
% assume: i \neq k
\[ \frac{\partial \sigma(A_k)}{\partial A_i} = -\sigma(A_k)\sigma(A_i) \]
\[ \frac{\partial \sigma(A_k)}{\partial A_i} = \sigma(A_k)(1 - \sigma(A_i)) \]""",
        ["equal", "not_equal"],
    ),
    "a Sigma name": (
        r"""% define: \Sigma = \sum_k e^{a_k}
\[ \frac{\partial}{\partial a_j} \frac{e^{a_j}}{\Sigma} = \frac{e^{a_j}\Sigma - e^{a_j}e^{a_j}}{\Sigma^2} \]
\[ \frac{\partial}{\partial a_j} \frac{e^{a_j}}{\Sigma} = \frac{e^{a_j}\Sigma + e^{a_j}e^{a_j}}{\Sigma^2} \]""",
        ["equal", "not_equal"],
    ),
    "an undefined cost through definitions": (
        r"""% define: z = wx + b
% define: a = \sigma(z)
\[ \frac{\partial C}{\partial z} = \frac{\partial C}{\partial a}\sigma'(z) \]
\[ \frac{\partial C}{\partial w} = \frac{\partial C}{\partial z} x \]
\[ \frac{\partial C}{\partial z} = \frac{\partial C}{\partial a} \]""",
        ["equal", "equal", "undecided"],
    ),
    "a function-style name y_i(z_i) defines y_i (it is no product y_i z_i)": (
        r"""\[ y_i(z_i) = \frac{e^{z_i}}{\sum_{k=1}^K e^{z_k}} \]
\[ \frac{\partial y_i}{\partial z_i} = y_i(1 - y_i) \]
\[ \frac{\partial y_i}{\partial z_i} = y_i \]""",
        ["equal", "not_equal"],
    ),
    "a restated function-style name is a step about that name": (
        r"""% define: z_i = \log y_i
% define: y_i = \frac{e^{x_i}}{\sum_j e^{x_j}}
\[ z_i(x) = \log \frac{\exp(x_i - m)}{\sum_j \exp(x_j - m)} \]
\[ z_i(x) = \log \frac{\exp(x_i + m)}{\sum_j \exp(x_j)} \]""",
        ["equal", "not_equal"],
    ),
    "a struck-out term keeps its sign": (
        r"""\[ y - y h - h + y h = y \cancel{- y h} - h \cancel{+ y h} = y - h \]
\[ y \cancel{- y h} - h = y - h \]""",
        ["equal", "equal", "not_equal"],
    ),
    "a bare name means its call definition at plain arguments": (
        r"""% define: J(\hat y) = -y\log\hat y - (1 - y)\log(1 - \hat y)
\[ \frac{dJ}{d\hat y} = -\frac{y}{\hat y} + \frac{1 - y}{1 - \hat y} \]
\[ \frac{dJ}{d\hat y} = -\frac{y}{\hat y} - \frac{1 - y}{1 - \hat y} \]""",
        ["equal", "not_equal"],
    ),
    "a bare name of a call defined at a sample stays unknown": (
        r"""% define: h_\theta(x^{(i)}) = \frac{1}{1 + e^{-\theta_0 - \theta_1 x^{(i)}}}
\[ \frac{\partial h_\theta}{\partial \theta_0} = h_\theta(x)(1 - h_\theta(x)) \]""",
        ["undecided"],
    ),
    "an undefined target depends on no model quantity": (
        r"""\[ \frac{\partial}{\partial \hat y_i}\left(y_i \log \hat y_i\right) = \frac{y_i}{\hat y_i} \]
\[ \frac{\partial}{\partial \hat y_i}\left(y_i \log \hat y_i\right) = \frac{1}{\hat y_i} \]
\[ \frac{\partial y_i}{\partial \hat y_i} = 0 \]
\[ \frac{d y}{d x} = 0 \]""",
        ["equal", "not_equal", "equal", "undecided"],
    ),
    "the loss L also labels the last layer (delta^L_j): L is no index": (
        r"""% define: p_k = \frac{e^{o_k}}{\sum_j e^{o_j}}
% define: L = -\sum_k y_k \log p_k
% define: \delta^L_j = \frac{\partial L}{\partial o_j}
\[ \frac{\partial L}{\partial o_i} = -\sum_k y_k\frac{\partial \log p_k}{\partial o_i} \]
\[ \frac{\partial L}{\partial o_i} = -\sum_k y_k\frac{\partial \log p_i}{\partial o_i} \]""",
        ["equal", "not_equal"],
    ),
    "a derivative by a whole vector is undecided, never 0": (
        r"""% define: a^L_k = \sigma(z^L_k)
% define: C = \sum_{i=1}^n (y_i - a^L_i)^2
\[ \nabla_a C = 2(a^L - y) \]
\[ \frac{\partial C}{\partial a} = 0 \]
\[ \frac{\partial C}{\partial a^L_k} = 2(a^L_k - y_k) \]""",
        ["equal", "undecided", "equal"],  # the gradient is read per component; ∂C/∂a (which layer?) is not
    ),
    "a gradient is read per component when every vector in it is one the definitions use": (
        r"""% define: C = \frac{1}{2}\sum_{i=1}^n (a^L_i - y_i)^2
\[ \nabla_a C = a^L - y \]
\[ \frac{\partial C}{\partial a^L} = 2(a^L - y) \]
\[ \nabla_a C = (a^L)^T - y \]
\[ \frac{\partial C}{\partial a^L} = a^L - y + b \]""",
        ["equal", "not_equal", "undecided", "undecided"],  # a transpose, an unknown b: no per-component reading
    ),
    "a vector defined by a gradient defines its components": (
        r"""% define: z^{l+1}_j = \sum_k w^l_{jk} a^l_k + b^l_j
% define: a^l_j = \sigma(z^l_j)
% define: \delta^l = \frac{\partial C}{\partial z^l}
\[ \frac{\partial C}{\partial z^{l+1}_j} = \delta^{l+1}_j \]
\[ \frac{\partial C}{\partial b^l} = \delta^{l+1} \]
\[ \frac{\partial C}{\partial b^l} = \delta^{l+1} + 1 \]
\[ \frac{\partial C}{\partial w^l} = \delta^{l+1} (a^l)^T \]""",
        ["equal", "equal", "not_equal", "undecided"],  # the last: a matrix and a transpose
    ),
    "a one-hot y told in prose leaves a gradient undecided": (
        r"""% define: p_j = \frac{e^{o_j}}{\sum_i e^{o_i}}
% define: L = -\log(p_k)
\[ \frac{\partial L}{\partial o} = p - y \]
\[ \frac{\partial L}{\partial o_j} = p_j \quad (j \neq k) \]""",
        ["undecided", "equal"],
    ),
    "the shifted layer convention: z^{l+1} from w^l, a^l and b^l": (
        r"""% define: z^{l+1}_j = \sum_k w^l_{jk} a^l_k + b^l_j
% define: a^l_j = \sigma(z^l_j)
\[ \frac{\partial C}{\partial b^l_j} = \sum_i \frac{\partial C}{\partial z^{l+1}_i}
    \frac{\partial z^{l+1}_i}{\partial b^l_j} = \frac{\partial C}{\partial z^{l+1}_j} \]
\[ \frac{\partial C}{\partial w^l_{jk}} = \frac{\partial C}{\partial z^{l+1}_j} a^l_k \]""",
        ["equal", "equal", "equal"],
    ),
    "a double sum written sum_{kl}": (
        r"""% define: C = \sum_{kl} q_{kl}\ln\left(\frac{q_{kl}}{p_{kl}}\right)
\[ \frac{\partial C}{\partial q_{ij}} = \ln\left(\frac{q_{ij}}{p_{ij}}\right) + 1 \]
\[ \frac{\partial C}{\partial q_{ij}} = \ln\left(\frac{p_{ij}}{q_{ij}}\right) + 1 \]""",
        ["equal", "not_equal"],
    ),
    "a row about the sigmoid is a step, not a definition": (
        r"""\[ \sigma(x) = \frac{1}{1 + e^{-x}} \]
\[ \sigma(x) = \frac{1}{1 - e^{-x}} \]""",
        ["equal", "not_equal"],
    ),
    # the loss L and the last layer a^{(L)}: an index is a position, never the loss (was "circular")
    "the loss L labels the last layer, with an activation f the document leaves open": (
        r"""% define: z_j^{(l)} = \sum_k W_{jk}^{(l)} a_k^{(l-1)} + b_j^{(l)}
% define: a_j^{(L)} = f^{(L)}(z_j^{(L)})
% define: L = - \sum_j y_j \log a_j^{(L)}
\[ \frac{\partial z_j^{(L)}}{\partial W_{jk}^{(L)}} = a_k^{(L-1)} \]
\[ \frac{\partial z_j^{(L)}}{\partial b_j^{(L)}} = 0 \]
\[ \frac{\partial L}{\partial W_{jk}^{(L)}}
    = \frac{\partial L}{\partial z_j^{(L)}}\frac{\partial z_j^{(L)}}{\partial W_{jk}^{(L)}} \]
\[ \frac{\partial a_j^{(L)}}{\partial z_j^{(L)}} = f'^{(L)}\bigl(z_j^{(L)}\bigr) \]""",
        ["equal", "not_equal", "equal", "equal"],
    ),
    "a bare f after f(x_i) = ... is that call in a step about the same i": (
        r"""% define: z_i = w x_i + b
\[ \text{Let } f(x_i) = \ln(1 + e^{-z_i}) + (1 - y_i) z_i \]
\[ \frac{df}{dz_i} = -\frac{e^{-z_i}}{1 + e^{-z_i}} + 1 - y_i \]
\[ \frac{df}{dz_i} = \frac{e^{-z_i}}{1 + e^{-z_i}} + 1 - y_i \]
\[ \frac{1}{N}\sum_{i=1}^{N}\frac{d}{dw}f(x_i) = \frac{1}{N}\sum_{i=1}^{N}\frac{df}{dz_i} \cdot \frac{dz_i}{dw} \]""",
        ["equal", "not_equal", "equal"],
    ),
    "a premise before => defines, a justification after because is checked": (
        r"""\[ \text{Let } u = -z \Rightarrow \frac{d}{dz}(1 + e^{-z}) = \frac{d}{dz}e^u \]
\[ \frac{d}{dz}e^{-z} = -e^{-z} \quad \because \frac{d}{dz}e^{z} = e^{z} \]
\[ \frac{d}{dz}e^{-z} = -e^{-z} \quad \because \frac{d}{dz}e^{z} = 2 e^{z} \]""",
        ["equal", "equal", "equal", "equal", "not_equal"],
    ),
    "an assumed equality of two names is one name before anything is differentiated": (
        r"""% assume: \hat y = \hat y_i
\[ \frac{d}{d\hat y_i}\log(1 - \hat y) = -\frac{1}{1 - \hat y_i} \]
\[ \frac{d}{d\hat y_i}\log(1 - \hat y) = \frac{1}{1 - \hat y_i} \]""",
        ["equal", "not_equal"],
    ),
    "a derivative by z of what is a function of z's value alone": (
        r"""% define: z = \sum_{k=1}^{n} x_k w_k + b
% assume: \mathbf{x}\mathbf{w} = \sum_{k=1}^{n} x_k w_k
% define: g(t) = \frac{1}{1 + e^{-t}}
% define: \hat y = g(\mathbf{x}\mathbf{w} + b)
\[ \frac{\partial \hat y}{\partial z} = \hat y (1 - \hat y) \]
\[ \frac{\partial \hat y}{\partial z} = \hat y (1 + \hat y) \]""",
        ["equal", "not_equal"],
    ),
    "a bare sigma beside sigma(z) in the same step is sigma(z)": (
        r"""% define: z = w x + b
\[ \frac{\partial \sigma}{\partial w} = \sigma(z)(1 - \sigma(z)) x \]
\[ \frac{\partial \sigma}{\partial w} = \sigma(z)(1 - \sigma(z)) \]""",
        ["equal", "not_equal"],
    ),
    # a worked example after the general case: its "definition" rows redefine, from there on only
    "a display noted definition redefines a name for a worked example, and reaches no step above it": (
        r"""\begin{align*}
z_j &= \sum_{k=1}^{n} w_{jk} x_k + b_j && \text{definition} \\
\frac{\partial C}{\partial z_j} &= z_j - y_j && \text{for the quadratic cost below?}
\end{align*}
\begin{align*}
z_j &= \sum_{k=1}^{n} W_{jk} u_k + c_j && \text{definition} \\
C &= \frac{1}{2} \sum_{k=1}^{n} (z_k - y_k)^2 && \text{definition} \\
\frac{\partial C}{\partial c_j} &= z_j - y_j && \text{result} \\
\frac{\partial C}{\partial W_{jk}} &= (z_j - y_j) x_k && \text{wrong: } x \text{ is not the input here}
\end{align*}""",
        ["undecided", "equal", "not_equal"],
    ),
    "in its own display a row noted definition restates the definition: a step": (
        r"""\begin{align*}
z_j &= w_j x + b_j && \text{definition} \\
z_j &= w_j x + 2 b_j && \text{definition}
\end{align*}""",
        ["not_equal"],
    ),
    "a '% define:' line holds for the whole document: a row noted definition is checked against it": (
        r"""% define: a_j = \sigma(z_j)
\begin{align*}
a_j &= \tanh(z_j) && \text{definition}
\end{align*}""",
        ["not_equal"],
    ),
    "'= a_i' noted definition at the end of a chain names its result": (
        r"""\begin{align*}
\operatorname{softmax}(z + c)_i &= \frac{e^{z_i + c}}{\sum_{k=1}^{K} e^{z_k + c}} && \text{definition} \\
&= \frac{e^{z_i}}{\sum_{k=1}^{K} e^{z_k}} && \text{cancel } e^c \\
&= a_i && \text{definition} \\
a_i &= \frac{e^{z_i - \max_k z_k}}{\sum_{k=1}^{K} e^{z_k - \max_k z_k}} && \text{max shift} \\
a_i &= \frac{e^{z_i - \max_k z_k}}{\sum_{k=1}^{K} e^{z_k}} && \text{a shift on one side only} \\
\ln a_i &= z_i - \max_k z_k - \ln \sum_{k=1}^{K} e^{z_k - \max_k z_k} && \text{log-softmax}
\end{align*}""",
        ["equal", "equal", "not_equal", "equal"],
    ),
    "an elided sum with the pattern of its terms": (
        r"""% define: p_i = \frac{e^{x_i}}{\sum_{k=1}^{n} e^{x_k}}
\[ \sum_{j=1}^n y_j \frac{\partial p_j}{\partial x_i}
    = y_1 \frac{\partial p_1}{\partial x_i} + y_2 \frac{\partial p_2}{\partial x_i}
    + \dots + y_n \frac{\partial p_n}{\partial x_i} \]""",
        ["equal"],
    ),
}


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_documents(name):
    text, expected = DOCUMENTS[name]
    report = verify.verify(text)
    assert [s.verdict for s in report.steps] == expected, report.text()


@pytest.mark.parametrize(
    "bad",
    [
        "a + b = c",  # no name on the left
        r"\frac{1}{ = 2",  # unreadable
    ],
)
def test_a_refused_define_line_never_aborts_the_file(bad):
    text = f"% define: {bad}\n\\[ e^{{x+y}} = e^x e^y \\]\n\\[ e^{{x+y}} = e^x + e^y \\]\n"
    report = verify.verify(text)
    assert [s.verdict for s in report.steps] == ["equal", "undecided"], report.text()
    assert "not accepted" in report.steps[1].message and "line 1" in report.steps[1].message


def test_a_refused_define_leaves_steps_without_its_name_alone():
    """q_i = q_i + 1 refers to itself: refused, and only the steps that mention q could need it."""
    text = "% define: q_i = q_i + 1\n\\[ e^{x+y} = e^x + e^y \\]\n\\[ q_1 = q_1 + 0 \\]\n"
    report = verify.verify(text)
    assert [s.verdict for s in report.steps] == ["not_equal", "equal"], report.text()


def test_the_command_reports_a_refused_define_and_still_checks():
    text = "% define: a + b = c\n\\[ e^{x+y} = e^x + e^y \\]\n"
    result = CliRunner().invoke(cli.main, ["verify", "-"], input=text)
    assert result.exit_code == 1 and "not accepted" in result.output
    option = CliRunner().invoke(cli.main, ["verify", "-", "--define", "a + b = c"], input=text)
    assert option.exit_code == 2 and option.output.startswith("error:")


def test_a_define_option_is_still_a_usage_error():
    with pytest.raises(errors.DirectiveError):
        verify.verify(r"\[ a = b \]", defines=["a + b = c"])


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (r"w_{j} = w_{j} + \alpha(y - \hat{y})x_{i}", True),
        (r"b = b - \alpha \frac{\partial J}{\partial b}", True),
        (r"\theta_j = \theta_j - \alpha (h - y) x_j", True),
        (r"C = a + b", False),
        (r"x = x + x^2", False),  # the other term holds x: an equation, not an update
        (r"a = a\sigma(z)", False),
    ],
)
def test_update_rule(row, expected):
    assert definitions.update_rule(formula.read_row(row)) is expected


def test_an_update_rule_is_reported_as_no_step():
    report = verify.verify(
        r"""\[ w_{j} = w_{j} + \alpha(y - \hat{y})x_{i} \]
\[ \sigma'(z) = \sigma(z)(1 - \sigma(z)) \]"""
    )
    assert [s.verdict for s in report.steps] == ["equal"]
    assert [s.reason for s in report.skipped] == [
        "an update rule (the same name on both sides: an assignment), not a step"
    ]


def test_a_justification_that_cannot_be_read_is_reported_and_the_row_still_checked():
    report = verify.verify(
        r"""\[ a = \sigma(z) \]
\[ \frac{da}{dz} = a(1-a) \quad \because y_i \in \{0, 1\} \]
\[ \frac{da}{dz} = a(1+a) \quad \because \sigma(-z) = 1 - \sigma(z) \]"""
    )
    assert [s.verdict for s in report.steps] == ["equal", "not_equal", "equal"]
    assert [(s.line, s.kind) for s in report.skipped] == [(2, "row")]
    assert report.skipped[0].reason.startswith("a justification that cannot be read: unknown command \\in")
    assert report.text().endswith("2 equal, 1 not equal, 0 undecided, 0 parse errors, 1 row skipped")


def test_a_step_is_read_with_real_symbols_and_the_catalog_parameters_as_they_are():
    """readings.real_symbols: every plain name real, in the step, its definitions and conditions alike;
    α of ELU stays the catalog's own symbol, so that ``\\operatorname{ELU}(z)`` rewritten later is the
    document's α (a new real α would have been another variable: 7 wrong ✗ on huber ∘ ELU's fragment)."""
    from derive.verification import readings

    a, z, w, alpha = sp.symbols("a z w alpha")
    x = sp.IndexedBase("x")
    k = sp.Symbol("k", integer=True)
    t = sp.Dummy("t")
    ctx = context.Context([context.Definition(a, activations.elu(z) + w * x[k] + t)], [sp.Gt(w, 0)])
    lhs, rhs, ctx, conditions = readings.real_symbols(a, alpha * z, ctx, [sp.Ne(z, 0)])
    symbols = lhs.free_symbols | rhs.free_symbols | ctx.definitions[0].value.free_symbols | conditions[0].free_symbols
    assert {s for s in symbols if not s.is_real} == {alpha, t}
    assert alpha in rhs.free_symbols and alpha == activations.ALPHA  # untouched (the same symbol)
    assert t in ctx.definitions[0].value.free_symbols  # a Dummy of derive's own is left alone
    assert ctx.definitions[0].target == lhs  # the same real a on both
    assert ctx.assumptions[0].free_symbols <= symbols
    assert all(node.is_real for node in ctx.definitions[0].value.atoms(sp.Indexed))  # x real makes x_k real
