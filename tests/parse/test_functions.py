r"""User formulas (derive.parse.functions): derive.Loss / derive.Activation from LaTeX and SymPy, domains, TOML files.

The derivations of user pairs are checked against an independent reference: ``sympy.diff`` of the
fully elementary composition L(g(z), y), at random points, to 30 digits.
"""

from __future__ import annotations

import random
import threading

import pytest
import sympy as sp

import derive
from derive import catalog, errors
from derive.engine.notation import a, x_j, y, z
from derive.parse import catalog_file, domains, functions, user_parameters

#: Five user pairs typed as a person writes them, each with parameters: (loss, activation, keywords, values).
#: ``values`` gives each parameter a range of test values inside its domain.
FIVE = {
    "ridge-swish": (
        r"L(a, y) = \frac{1}{2}(a-y)^2 + \lambda a^2",
        r"g(z) = z\sigma(z)",
        {"lambda_"},
        {"lambda": (0.1, 2.0)},
    ),
    "cauchy-tanh": (
        r"L(a, y) = \frac{c^2}{2}\ln\left(1+\frac{(a-y)^2}{c^2}\right)",
        r"g(z) = \tanh(\beta z) \quad (\beta > 0)",
        {"c", "beta"},
        {"c": (0.5, 3.0), "beta": (0.2, 2.0)},
    ),
    "power-softplus": (
        r"L(a, y) = |a-y|^p \quad (p \ge 1)",
        r"g(z) = \frac{1}{\beta}\ln(1+e^{\beta z}) \quad (\beta > 0)",
        {"p", "beta"},
        {"p": (1.2, 3.5), "beta": (0.3, 3.0)},
    ),
    "weighted_bce-sharp_sigmoid": (
        r"L(a, y) = -w y \ln a - (1-y)\ln(1-a)",
        r"g(z) = \sigma(\gamma z) \quad (\gamma > 0)",
        {"w", "gamma"},
        {"w": (0.2, 5.0), "gamma": (0.2, 3.0)},
    ),
    "pseudo_huber-leaky": (
        r"L(a, y) = \delta^2\left(\sqrt{1+\left(\frac{a-y}{\delta}\right)^2}-1\right) \quad (\delta > 0)",
        r"g(z) = \max(0, z) + \alpha\min(0, z) \quad (\alpha > 0)",
        {"delta", "alpha"},
        {"delta_p": (0.3, 3.0), "alpha": (0.01, 0.9)},
    ),
}


@pytest.fixture(scope="module")
def built() -> dict[str, tuple[type, type, derive.Derivation]]:
    """Each pair of FIVE built once: (loss, activation, derivation)."""
    out = {}
    for key, (loss_text, act_text, _, _) in FIVE.items():
        loss, act = derive.Loss.from_latex(loss_text), derive.Activation.from_latex(act_text)
        out[key] = (loss, act, derive.derive(loss, act))
    return out


def _points(symbols: dict[str, tuple[float, float]], seed: int, count: int = 6) -> list[dict[sp.Symbol, sp.Rational]]:
    """Random points, as exact rationals (so that 30-digit evaluation means 30 digits)."""
    rng = random.Random(seed)

    def draw(low: float, high: float) -> sp.Rational:
        return sp.Rational(round(rng.uniform(low, high) * 10**6), 10**6)

    out = []
    for _ in range(count):
        point = {z: draw(-3, 3), y: draw(0.05, 0.95)}
        point.update({sp.Symbol(name): draw(*bounds) for name, bounds in symbols.items()})
        out.append(point)
    return out


def _value(expr: sp.Expr, point: dict[sp.Symbol, sp.Rational]) -> sp.Expr:
    return sp.N(expr.subs(point), 30)


@pytest.mark.parametrize("key", FIVE)
def test_delta_is_sympy_diff_of_the_elementary_composition(key, built):
    loss, act, d = built[key]
    values = FIVE[key][3]
    reference = sp.diff(loss.elementary(act.elementary(z), y).rewrite("elementary"), z)
    mine = d.delta.subs(a, act.elementary(z)).rewrite("elementary")
    assert d.grad_w == x_j * d.delta and d.grad_b == d.delta
    for point in _points(values, seed=len(key)):
        want, got = _value(reference, point), _value(mine, point)
        assert abs(got - want) <= 1e-25 * max(1, abs(want)), (key, point, got, want)


@pytest.mark.parametrize("key", FIVE)
def test_parameters_stay_symbols_and_become_keywords(key, built):
    loss, act, d = built[key]
    keywords = {p.keyword for p in (*loss.parameters, *act.parameters)}
    assert keywords == FIVE[key][2]
    symbols = {p.symbol for p in (*loss.parameters, *act.parameters)}
    in_z = d.delta.subs(a, act.elementary(z)).rewrite("elementary")
    assert symbols <= in_z.free_symbols  # δ holds every parameter as a symbol, for any value of it
    assert all(p.default is None for p in (*loss.parameters, *act.parameters))  # required keywords


@pytest.mark.parametrize("key", FIVE)
def test_a_user_pair_renders_as_latex(key, built):
    loss, act, d = built[key]
    tex = derive.latex(d)
    assert act.latex_name in tex and r"\frac{\partial C}{\partial a}" in tex
    assert "delta_p" not in tex  # a parameter prints as a symbol (δ_p), never as its Python name


def test_the_issue_example_derives_with_its_parameter():
    """The issue's own example: ½(a − y)² + λa² with z σ(z); λ is the keyword lambda_."""
    loss = derive.Loss.from_latex(r"L(a, y) = \frac{1}{2}(a-y)^2 + \lambda a^2")
    lam = sp.Symbol("lambda")
    assert loss.elementary(a, y) == (a - y) ** 2 / 2 + lam * a**2
    assert [(p.symbol, p.keyword) for p in loss.parameters] == [(lam, "lambda_")]
    assert derive.derive(loss, "identity").delta == a - y + 2 * lam * a


def test_bce_over_a_sigmoid_written_by_hand_cancels_to_a_minus_y():
    d = derive.derive("bce", derive.Activation.from_latex(r"g(z) = \frac{1}{2}\left(1 + \tanh\frac{z}{2}\right)"))
    assert d.delta == a - y and d.cancels and d.saturates is False


def test_one_denominator_lets_the_activation_derivative_cancel(built):
    """A weighted bce over σ(γz): ∂L/∂a is written over a(1 − a), which cancels against γa(1 − a)."""
    _, act, d = built["weighted_bce-sharp_sigmoid"]
    gamma, w = sp.symbols("gamma w")
    assert act.derivative_through_output(a) == gamma * a * (1 - a)
    assert sp.expand(d.delta - gamma * (a * (1 - y) - w * y * (1 - a))) == 0
    assert any(step.rule == "cancel" for step in d.steps)


@pytest.mark.parametrize(
    ("text", "through"),
    [
        (r"\tanh(\beta z)", lambda b: b * (1 - a**2)),
        (r"\sigma(\beta z)", lambda b: b * a * (1 - a)),
        (r"\frac{1}{\beta}\ln(1+e^{\beta z}) \quad (\beta > 0)", lambda b: 1 - sp.exp(-b * a)),
        (r"\beta z + 1", lambda b: b),
        (r"\frac{1}{2}(1 + \tanh(z/2))", lambda b: a * (1 - a)),  # the sigmoid, written with tanh
        (r"\arctan z", lambda b: sp.cos(a) ** 2),
        (r"z\sigma(z)", None),
    ],
)
def test_derivative_through_the_output_is_found_and_true(text, through):
    act = derive.Activation.from_latex(text)
    beta = sp.Symbol("beta")
    found = act.derivative_through_output(a)
    if through is None:
        assert found is None and act.not_through_output
        return
    assert sp.simplify(found - through(beta)) == 0
    slope = sp.diff(act.elementary(z).rewrite("elementary"), z)
    for point in _points({"beta": (0.2, 2.5)}, seed=7):
        value = found.subs(a, act.elementary(z)).rewrite("elementary") - slope
        assert abs(_value(value, point)) < 1e-25


# -- domains -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "domain"),
    [
        (r"\ln a", sp.Interval.open(0, sp.oo)),
        (r"a - y \ln a", sp.Interval.open(0, sp.oo)),
        (r"-y\ln a - (1-y)\ln(1-a)", sp.Interval.open(0, 1)),
        (r"\sqrt{a}", sp.Interval(0, sp.oo)),
        (r"(a-y)^2", sp.S.Reals),
        (r"\frac{1}{a} + y", sp.S.Reals - sp.FiniteSet(0)),
        (r"\ln(1 + (a-y)^2/c^2)", sp.S.Reals),
    ],
)
def test_the_domain_of_a_loss_is_inferred(text, domain):
    assert derive.Loss.from_latex(text).a_domain == domain


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"\sigma(z)", sp.Interval.open(0, 1)),
        (r"\tanh(\beta z)", sp.Interval.open(-1, 1)),  # β of either sign (or 0): the union
        (r"e^{-z^2}", sp.Interval.Lopen(0, 1)),
        (r"z^3", sp.S.Reals),
        (r"\max(0, z)", sp.Interval(0, sp.oo)),
        (r"z\sigma(z)", sp.Interval(-sp.LambertW(sp.exp(-1)), sp.oo)),  # swish's minimum, −W(1/e) = −0.2785
        (r"\frac{1}{\beta}\ln(1+e^{\beta z})", sp.S.Reals - sp.FiniteSet(0)),  # β < 0 gives (−∞, 0)
        (r"\frac{1}{\beta}\ln(1+e^{\beta z}) \quad (\beta > 0)", sp.Interval.open(0, sp.oo)),
    ],
)
def test_the_range_of_an_activation_is_inferred(text, expected):
    assert derive.Activation.from_latex(text).output_range == expected


def test_declared_sets_are_used_as_given():
    act = derive.Activation.from_latex(r"z\sigma(z)", range="[-0.28, oo)")
    assert act.output_range == sp.Interval(sp.Rational(-7, 25), sp.oo)
    loss = derive.Loss.from_latex(r"\max(0, 1 - y a)", domain="(-oo, oo)", targets="{-1, 1}")
    assert loss.y_domain == sp.FiniteSet(-1, 1) and loss.a_domain == sp.S.Reals
    assert loss.labels() == (-1, 1)


def test_a_user_domain_mismatch_is_one_line():
    loss = derive.Loss.from_latex(r"L(a, y) = -y\ln a - (1-y)\ln(1-a)", name="my_bce")
    act = derive.Activation.from_latex(r"g(z) = \tanh(z)", name="my_tanh")
    with pytest.raises(errors.DomainError) as raised:
        derive.derive(loss, act)
    assert str(raised.value) == "my_bce needs a in (0, 1), but my_tanh gives a in (-1, 1)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(0, 1)", sp.Interval.open(0, 1)),
        ("[0, oo)", sp.Interval(0, sp.oo)),
        ("(-oo, oo)", sp.S.Reals),
        ("(-inf, 2.5]", sp.Interval(-sp.oo, sp.Rational(5, 2))),
        ("[1/3, 1]", sp.Interval(sp.Rational(1, 3), 1)),
        ("{-1, 1}", sp.FiniteSet(-1, 1)),
        ("  ( 0 , 1 ]  ", sp.Interval.Lopen(0, 1)),
        ("reals", sp.S.Reals),
    ],
)
def test_set_reader(text, expected):
    assert domains.read_set(text, "the domain") == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("(0, 1", "cannot read '(0, 1'"),
        ("[0, oo]", "includes oo"),
        ("(1, 0)", "is empty"),
        ("(0, 0)", "is empty"),
        ("{}", "is empty"),
        ("(a, b)", "'a' in '(a, b)' is not a number"),
        ("(0, 1, 2)", "cannot read"),
        ("__import__('os')", "cannot read"),
        (3, "is written like"),
        ("{oo}", "lists oo"),
    ],
)
def test_bad_sets_are_one_line_invalid_option(text, message):
    with pytest.raises(errors.InvalidOption) as raised:
        domains.read_set(text, "the domain")
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_the_budget_gives_up_instead_of_waiting():
    release = threading.Event()
    assert domains.within(0.05, lambda: release.wait(30) or "late") is None
    release.set()
    assert domains.within(30, lambda: 1 / 0) is None  # a failure is "not inferred" too
    assert domains.within(30, lambda: "done") == "done"


# -- parameters ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "keyword"),
    [("lambda", "lambda_"), ("beta", "beta"), ("reduction", "reduction_"), ("y", "y_"), ("class", "class_")],
)
def test_keywords(name, keyword):
    assert user_parameters.keyword_of(name) == keyword


def test_parameter_settings_and_notation_names():
    loss = derive.Loss.from_latex(
        r"\delta^2 (a-y)^2 + \lambda a^2",
        parameters={"lambda": {"default": 0.1, "domain": "[0, oo)", "keyword": "lam"}, "delta": {"default": 2}},
    )
    by_keyword = {p.keyword: p for p in loss.parameters}
    assert by_keyword["lam"].default == 0.1 and by_keyword["lam"].domain == sp.Interval(0, sp.oo)
    assert by_keyword["delta"].symbol == sp.Symbol("delta_p")  # δ is derive's ∂C/∂z: the parameter is δ_p
    assert sp.Symbol("delta") not in loss.elementary(a, y).free_symbols
    assert by_keyword["delta"].domain == sp.S.Reals and by_keyword["delta"].default == 2.0


def test_a_side_condition_gives_parameter_domains():
    act = derive.Activation.from_latex(r"g(z) = \tanh(\beta z) + c z \quad (\beta, c > 0)")
    assert {p.keyword: p.domain for p in act.parameters} == {
        "beta": sp.Interval.open(0, sp.oo),
        "c": sp.Interval.open(0, sp.oo),
    }
    loss = derive.Loss.from_latex(r"|a - y|^p \quad (p \neq 0)")
    assert loss.parameters[0].domain == sp.S.Reals - sp.FiniteSet(0)


SAME_CLASS = [
    # (first call, second call, the same class?)
    (
        lambda: derive.Loss.from_latex(r"(a-y)^2 + \lambda a^2"),
        lambda: derive.Loss.from_latex(r"(a-y)^2 + \lambda a^2"),
        True,
    ),
    (lambda: derive.Loss.from_latex(r"(a-y)^2"), lambda: derive.Loss.from_latex(r"(a-y)^2", name="other"), False),
    (lambda: derive.Loss.from_latex(r"(a-y)^2"), lambda: derive.Loss.from_latex(r"(a-y)^2 "), False),  # the source
    (
        lambda: derive.Loss.from_latex(r"\lambda a^2 + a y", parameters={"lambda": {"default": 1}}),
        lambda: derive.Loss.from_latex(r"\lambda a^2 + a y", parameters={"lambda": {"default": 1}}),
        True,
    ),
    (  # 1 and 1.0 are equal in Python, but not the same option
        lambda: derive.Loss.from_latex(r"\lambda a^2 + a y", parameters={"lambda": {"default": 1}}),
        lambda: derive.Loss.from_latex(r"\lambda a^2 + a y", parameters={"lambda": {"default": 1.0}}),
        False,
    ),
    (
        lambda: derive.Activation.from_latex(r"\tanh(\beta z)", range="(-1, 1)"),
        lambda: derive.Activation.from_latex(r"\tanh(\beta z)", range=sp.Interval.open(-1, 1)),
        False,
    ),
    (
        lambda: derive.Activation.from_sympy(sp.tanh(sp.Symbol("beta", positive=True) * z)),
        lambda: derive.Activation.from_sympy(sp.tanh(sp.Symbol("beta", positive=True) * z)),
        True,
    ),
    (  # the assumptions are part of the expression
        lambda: derive.Activation.from_sympy(sp.tanh(sp.Symbol("beta", positive=True) * z)),
        lambda: derive.Activation.from_sympy(sp.tanh(sp.Symbol("beta") * z)),
        False,
    ),
]


@pytest.mark.parametrize(("first", "second", "same"), SAME_CLASS)
def test_the_same_formula_and_options_give_the_same_class(first, second, same):
    """Built once: SymPy sees one function, and derive.derive's cache serves the second call."""
    assert (first() is second()) is same


def test_options_that_cannot_be_kept_build_a_new_class_each_time():
    settings = {"lambda": {"default": 0.5, "domain": "[0, oo)"}}
    listed = {"lambda": {"default": 0.5, "domain": "[0, oo)", "note": ["a list"]}}
    kept = derive.Loss.from_latex(r"\lambda a^2 + a y", parameters=settings)
    settings["lambda"]["default"] = 0.7  # the caller's dict changed after the call: not the class kept
    changed = derive.Loss.from_latex(r"\lambda a^2 + a y", parameters=settings)
    assert kept is not changed and (kept.parameters[0].default, changed.parameters[0].default) == (0.5, 0.7)
    with pytest.raises(errors.InvalidOption):  # a list is not hashed: the call builds, and refuses the key
        derive.Loss.from_latex(r"\lambda a^2 + a y", parameters=listed)


# -- from_sympy ----------------------------------------------------------------------------------------


def test_from_sympy_takes_expressions_equations_and_lambdas():
    lam = sp.Symbol("lam", positive=True)
    real_a, real_y = sp.symbols("a y", real=True)
    loss = derive.Loss.from_sympy((real_a - real_y) ** 2 / 2 + lam * real_a**2, name="ridge_sympy")
    assert loss.elementary(a, y) == (a - y) ** 2 / 2 + sp.Symbol("lam") * a**2  # plain symbols, as derive's
    assert loss.parameters[0].domain == sp.Interval.open(0, sp.oo)  # positive=True is the domain (0, oo)
    u, v = sp.symbols("u v")
    by_lambda = derive.Loss.from_sympy(sp.Lambda((u, v), (u - v) ** 2))
    assert by_lambda.elementary(a, y) == (a - y) ** 2
    g = sp.Function("g")
    act = derive.Activation.from_sympy(sp.Eq(g(z), sp.tanh(2 * z)))
    assert act.output_range == sp.Interval.open(-1, 1) and act.derivative_through_output(a) == 2 - 2 * a**2
    assert derive.derive(loss, act).delta.free_symbols == {a, y, sp.Symbol("lam")}


@pytest.mark.parametrize("value", ["z**2", 3, None, lambda t: t, sp.Interval(0, 1)])
def test_from_sympy_refuses_anything_but_sympy_expressions(value):
    with pytest.raises(errors.InvalidOption):
        derive.Activation.from_sympy(value)


# -- every mistake: one line, a DeriveError --------------------------------------------------------------

L, G = functions.Loss, functions.Activation

MISTAKES = [
    # (call, error, the start of its message)
    (lambda: L.from_latex(r"L(a, y) = \frac{1}{2}(a-y"), errors.ParseError, "cannot read the loss formula"),
    (lambda: L.from_latex(r"\frac{a}{"), errors.ParseError, "cannot read the loss formula"),
    (lambda: L.from_latex(r"L(y, a) = a"), errors.ParseError, "the left side of the loss formula"),
    (lambda: L.from_latex(r"F(a) = a"), errors.ParseError, "the left side of the loss formula"),
    (lambda: G.from_latex(r"g(a) = a"), errors.ParseError, "the left side of the activation formula"),
    (lambda: L.from_latex(r"L(a, y) = a = y"), errors.ParseError, "the loss formula 'L(a, y) = a = y' is a chain"),
    (lambda: L.from_latex(r"L(a, y) \le a"), errors.ParseError, "the loss formula 'L(a, y) \\le a' is no formula"),
    (lambda: G.from_latex(r"g(z) = a z"), errors.InvalidOption, "the activation formula 'g(z) = a z' is in a"),
    (lambda: G.from_latex(r"y z"), errors.InvalidOption, "the activation formula 'y z' is in y"),
    (lambda: L.from_latex(r"L(a, y) = (z-y)^2"), errors.InvalidOption, "the loss formula 'L(a, y) = (z-y)^2' is in z"),
    (lambda: L.from_latex(r"L(a, y) = y^2"), errors.InvalidOption, "the loss formula 'L(a, y) = y^2' does not depend"),
    (lambda: G.from_latex(r"g(z) = 3"), errors.InvalidOption, "the activation formula 'g(z) = 3' is constant in z"),
    (lambda: G.from_latex(r"g(z) = z - z"), errors.InvalidOption, "the activation formula 'g(z) = z - z' is constant"),
    (lambda: G.from_latex(r"z", name="sigmoid"), errors.InvalidOption, "the name 'sigmoid' is taken"),
    (lambda: L.from_latex(r"(a-y)^2", name="MSE"), errors.InvalidOption, "the name 'MSE' is taken"),
    (lambda: G.from_latex(r"\operatorname{relu}(z) = z"), errors.InvalidOption, "relu is a catalog name"),
    (lambda: L.from_latex(r"(a-y)^2", name="my loss"), errors.InvalidOption, "the name of a loss is a Python"),
    (lambda: L.from_latex(r"(a-y)^2", name="lambda"), errors.InvalidOption, "the name of a loss is a Python"),
    (lambda: G.from_latex(r"z", range="(0, 1"), errors.InvalidOption, "the range of user_activation: cannot read"),
    (lambda: L.from_latex(r"\ln a", domain="[0, oo]"), errors.InvalidOption, "the domain of user_loss: '[0, oo]'"),
    (lambda: L.from_latex(r"\ln a", targets="(1, 0)"), errors.InvalidOption, "the targets of user_loss: '(1, 0)'"),
    (lambda: G.from_latex(r"\operatorname{foo}(z)"), errors.InvalidOption, "the activation formula"),
    (lambda: G.from_latex(r"\frac{d}{dz} z^2"), errors.InvalidOption, "the activation formula"),
    (lambda: G.from_latex(r"\sum_k z"), errors.InvalidOption, "the activation formula '\\sum_k z' holds a sum"),
    (lambda: G.from_latex(r"\theta_1 z"), errors.InvalidOption, "the activation formula '\\theta_1 z' holds an index"),
    (lambda: G.from_latex(r"g(z) = z\tanh(\ln(1+e^z))"), errors.InvalidOption, "cannot infer the range of"),
    (lambda: G.from_latex(r"\sqrt{z}"), errors.InvalidOption, "user_activation(z) = sqrt(z) is defined only for z"),
    (lambda: G.from_latex(r"\frac{1}{z}", range="(-oo, oo)"), errors.InvalidOption, "user_activation(z) = 1/z is"),
    (lambda: L.from_latex(r"\ln(a - y)"), errors.InvalidOption, "cannot infer where user_loss is defined in a"),
    (lambda: G.from_latex(r"\tanh(z) \quad (z > 0)"), errors.InvalidOption, "the condition of"),
    (lambda: G.from_latex(r"\tanh(\beta z) \quad (\beta > c)"), errors.InvalidOption, "cannot use the condition"),
    (lambda: L.from_latex(r"\lambda a^2", parameters={"mu": {}}), errors.InvalidOption, "parameters: 'mu' is not"),
    (
        lambda: L.from_latex(r"\lambda a^2", parameters={"lambda": {"default": -1, "domain": "[0, oo)"}}),
        errors.InvalidOption,
        "the default -1.0 of lambda is outside its domain [0, oo)",
    ),
    (lambda: L.from_latex(r"\lambda a^2", parameters={"lambda": {"x": 1}}), errors.InvalidOption, "parameters['lam"),
    (lambda: L.from_latex(r"\lambda a^2", parameters={"lambda": {"keyword": "z"}}), errors.InvalidOption, "the keyw"),
    (
        lambda: L.from_latex(r"\lambda a^2 \quad (\lambda > 0)", parameters={"lambda": {"domain": "(0, 1)"}}),
        errors.InvalidOption,
        "the domain of lambda is given twice",
    ),
    (lambda: L.from_latex(None), errors.InvalidOption, "the loss formula is LaTeX text, not NoneType"),
    (lambda: derive.derive("bce", derive.Activation), errors.InvalidOption, "derive.Activation is the base"),
    (lambda: derive.derive(derive.Loss, "sigmoid"), errors.InvalidOption, "derive.Loss is the base"),
    (
        lambda: derive.derive(L.from_latex(r"\alpha (a-y)^2"), "leaky_relu"),
        errors.DomainError,
        "user_loss and leaky_relu both have a parameter alpha",
    ),
]


@pytest.mark.parametrize(("call", "error", "message"), MISTAKES)
def test_every_mistake_is_one_line(call, error, message):
    with pytest.raises(error) as raised:
        call()
    assert isinstance(raised.value, errors.DeriveError)
    assert str(raised.value).startswith(message), str(raised.value)
    assert "\n" not in str(raised.value)


def test_the_bases_are_not_functions_but_their_subclasses_are():
    assert not hasattr(derive.Loss, "a_domain") and not hasattr(derive.Activation, "output_range")
    act = derive.Activation.from_latex(r"g(z) = 2z")
    assert issubclass(act, derive.Activation) and issubclass(act, catalog.Activation)
    assert catalog.as_activation(act) is act and act.name == "user_activation"
    assert act.latex_name == r"\operatorname{user\_activation}"


# -- a lab's TOML file -----------------------------------------------------------------------------------

LAB = r"""
[parameters.beta]
default = 1.5
domain = "(0, oo)"
keyword = "slope"

[parameters.c]
default = 1
domain = "(0, oo)"

[activations.scaled_tanh]
formula = 'g(z) = \tanh(\beta z)'
latex = '\operatorname{tanh}_\beta'
description = "tanh with the slope beta"

[activations.sharp_softplus]
formula = 'g(z) = \frac{1}{\beta}\ln(1+e^{\beta z})'
range = "(0, oo)"

[losses.cauchy]
formula = 'L(a, y) = \frac{c^2}{2}\ln\left(1+\frac{(a-y)^2}{c^2}\right)'
targets = "[0, 1]"
description = "Cauchy loss"
"""


def test_a_lab_file_round_trip(tmp_path):
    path = tmp_path / "lab.toml"
    path.write_text(LAB, encoding="utf-8")
    lab = catalog_file.load(path)
    assert set(lab.activations) == {"scaled_tanh", "sharp_softplus"} and set(lab.losses) == {"cauchy"}
    tanh_ = lab.activations["scaled_tanh"]
    assert tanh_.latex_name == r"\operatorname{tanh}_\beta" and tanh_.description == "tanh with the slope beta"
    assert [(p.keyword, p.default, p.domain) for p in tanh_.parameters] == [("slope", 1.5, sp.Interval.open(0, sp.oo))]
    same = derive.Activation.from_latex(
        r"g(z) = \tanh(\beta z)", parameters={"beta": {"default": 1.5, "domain": "(0, oo)", "keyword": "slope"}}
    )
    assert tanh_.formula == same.formula and tanh_.output_range == same.output_range == sp.Interval.open(-1, 1)
    cauchy = lab.losses["cauchy"]
    assert cauchy.y_domain == sp.Interval(0, 1) and cauchy.a_domain == sp.S.Reals
    assert [(p.keyword, p.default) for p in cauchy.parameters] == [("c", 1.0)]
    d = derive.derive(cauchy, tanh_)
    c, beta = sp.symbols("c beta")
    assert sp.simplify(d.delta - beta * c**2 * (1 - a**2) * (a - y) / (c**2 + (a - y) ** 2)) == 0
    assert d.saturates is True  # tanh' = β(1 − a²) → 0 at a = ±1
    assert lab.activations["sharp_softplus"].output_range == sp.Interval.open(0, sp.oo)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("x\n", "not valid TOML"),
        ("[models.t]\nformula = 'g(z) = z'\n", "unknown table [models]"),
        ("[losses.cauchy]\nformla = 'a'\n", "[losses.cauchy]: unknown key 'formla'"),
        ("[losses.cauchy]\nlatex = 'a'\n", "[losses.cauchy]: the key formula is missing"),
        ("[losses.cauchy]\nformula = 3\n", "[losses.cauchy]: formula is text"),
        ("[activations.sigmoid]\nformula = 'g(z) = z'\n", "[activations.sigmoid]: the name 'sigmoid' is taken"),
        ("[activations.lin]\nformula = 'g(z) = z'\nrange = '(0, 1'\n", "[activations.lin]: the range of lin"),
        ("[losses.bad]\nformula = 'L(a, y) = (a-y'\n", "[losses.bad]: cannot read the formula"),
        ("[losses.bad]\nformula = 'g(z) = z'\n", "[losses.bad]: the left side of the loss formula"),
        ("[parameters.beta]\ndefault = 'one'\n", "[parameters.beta]: default must be a number"),
        ("[parameters.beta]\ndomain = '[0, oo]'\n", "[parameters.beta]: domain"),
        ("[parameters.beta]\nshape = 2\n", "[parameters.beta]: unknown key 'shape'"),
        ("activations = 3\n", "activations must be tables"),
        (
            "[activations.t]\nformula = 'g(z) = z'\n[losses.T]\nformula = 'L(a, y) = a'\n",
            "[losses.T]: the name 'T' is used twice",
        ),
    ],
)
def test_lab_file_mistakes_name_the_file_and_the_key(content, message, tmp_path):
    path = tmp_path / "lab.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(errors.DeriveError) as raised:
        catalog_file.load(path)
    text = str(raised.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text, text


def test_a_missing_or_unreadable_lab_file(tmp_path):
    with pytest.raises(errors.InvalidOption, match="no such file"):
        catalog_file.load(tmp_path / "missing.toml")
    with pytest.raises(errors.InvalidOption, match="is a folder"):
        catalog_file.load(tmp_path)
    (tmp_path / "binary.toml").write_bytes(b"\xff\xfe[losses]")
    with pytest.raises(errors.InvalidOption, match="not UTF-8"):
        catalog_file.load(tmp_path / "binary.toml")
