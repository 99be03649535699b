r"""User formulas on the command line: --loss/--activation (names or LaTeX) and --catalog FILE.toml.

``derive show --loss 'L(a, y) = \frac{1}{2}(a-y)^2 + \lambda a^2' --activation 'g(z) = z\sigma(z)'`` prints
what ``derive.derive(derive.Loss.from_latex(...), derive.Activation.from_latex(...))`` gives; every mistake
is one line on stderr and exit code 2.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy as sp
from click.testing import CliRunner

import derive
from derive import catalog, cli

#: Five user pairs with parameters, typed as on a command line (the same as tests/parse/test_functions.py).
FIVE = {
    "ridge-swish": (r"L(a, y) = \frac{1}{2}(a-y)^2 + \lambda a^2", r"g(z) = z\sigma(z)"),
    "cauchy-tanh": (
        r"L(a, y) = \frac{c^2}{2}\ln\left(1+\frac{(a-y)^2}{c^2}\right)",
        r"g(z) = \tanh(\beta z) \quad (\beta > 0)",
    ),
    "power-softplus": (
        r"L(a, y) = |a-y|^p \quad (p \ge 1)",
        r"g(z) = \frac{1}{\beta}\ln(1+e^{\beta z}) \quad (\beta > 0)",
    ),
    "weighted_bce-sharp_sigmoid": (
        r"L(a, y) = -w y \ln a - (1-y)\ln(1-a)",
        r"g(z) = \sigma(\gamma z) \quad (\gamma > 0)",
    ),
    "pseudo_huber-leaky": (
        r"L(a, y) = \delta^2\left(\sqrt{1+\left(\frac{a-y}{\delta}\right)^2}-1\right) \quad (\delta > 0)",
        r"g(z) = \max(0, z) + \alpha\min(0, z) \quad (\alpha > 0)",
    ),
}

LAB = r"""
[parameters.beta]
default = 1.5
domain = "(0, oo)"
keyword = "slope"

[activations.scaled_tanh]
formula = 'g(z) = \tanh(\beta z)'
latex = '\operatorname{tanh}_\beta'

[losses.cauchy]
formula = 'L(a, y) = \frac{c^2}{2}\ln\left(1+\frac{(a-y)^2}{c^2}\right)'
description = "Cauchy loss"
"""


def run(*args: str, **kwargs):
    return CliRunner().invoke(cli.main, list(args), **kwargs)


@pytest.fixture()
def lab(tmp_path):
    path = tmp_path / "my_functions.toml"
    path.write_text(LAB, encoding="utf-8")
    return path


@pytest.mark.parametrize("key", FIVE)
def test_show_a_typed_pair_prints_what_the_api_derives(key):
    loss_text, act_text = FIVE[key]
    result = run("show", "--loss", loss_text, "--activation", act_text)
    assert result.exit_code == 0, result.output
    d = derive.derive(derive.Loss.from_latex(loss_text), derive.Activation.from_latex(act_text))
    assert f"δ = ∂C/∂z = {sp.sstr(d.delta)}\n" in result.stdout
    assert result.stdout.startswith("user_loss ∘ user_activation\n")


def test_the_issue_example_json():
    loss_text, act_text = FIVE["ridge-swish"]
    data = json.loads(run("show", "--loss", loss_text, "--activation", act_text, "--json").stdout)
    assert data["loss"] == "user_loss" and data["activation"] == "user_activation"
    assert data["delta"] == "(z*(1 - sigmoid(z))*sigmoid(z) + sigmoid(z))*(2*a*lambda + a - y)"
    assert data["cancels"] is False and data["saturates"] is True


@pytest.mark.parametrize(
    ("args", "delta"),
    [
        (["show", "--loss", r"\frac{1}{2}(a-y)^2 + \lambda a^2", "identity"], "2*a*lambda + a - y"),
        (["show", "quadratic", "--activation", r"\beta z"], "beta*(a - y)"),
        (["show", "--activation", "identity", "--loss", "quadratic"], "a - y"),  # names through the options
    ],
)
def test_positional_names_fill_what_the_options_leave(args, delta):
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert f"δ = ∂C/∂z = {delta}\n" in result.stdout


def test_a_lab_file_by_name(lab):
    result = run("show", "--catalog", str(lab), "cauchy", "scaled_tanh")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("cauchy ∘ scaled_tanh\n")
    assert "δ = ∂C/∂z = beta*c**2*(1 - a**2)*(a - y)/(c**2 + (a - y)**2)" in result.stdout
    mixed = run("show", "--catalog", str(lab), "--loss", "cauchy", "--activation", "sigmoid")
    assert mixed.exit_code == 0 and mixed.stdout.startswith("cauchy ∘ sigmoid\n")


def test_list_and_table_show_the_lab(lab):
    listed = json.loads(run("list", "--catalog", str(lab), "--json").stdout)
    assert listed["activations"]["scaled_tanh"]["range"] == "(-1, 1)"
    assert listed["losses"]["cauchy"]["description"] == "Cauchy loss"
    assert "scaled_tanh" not in run("list").stdout
    rows = json.loads(run("table", "--catalog", str(lab), "--json").stdout)
    assert len(rows) == (len(catalog.LOSSES) + 1) * (len(catalog.ACTIVATIONS) + 1)
    row = next(r for r in rows if (r["loss"], r["activation"]) == ("cauchy", "scaled_tanh"))
    assert row["error"] is None and row["saturates"] is True
    bce = next(r for r in rows if (r["loss"], r["activation"]) == ("bce", "scaled_tanh"))
    assert bce["error"] == "bce needs a in (0, 1), but scaled_tanh gives a in (-1, 1)"


def test_latex_of_a_typed_pair(tmp_path):
    loss_text, act_text = FIVE["cauchy-tanh"]
    target = tmp_path / "cauchy_tanh.tex"
    result = run("latex", "--loss", loss_text, "--activation", act_text, "-o", str(target))
    assert result.exit_code == 0, result.output
    tex = target.read_text(encoding="utf-8")
    assert r"\operatorname{user\_activation}" in tex and r"\beta" in tex and "c^{2}" in tex


@pytest.mark.parametrize("key", list(FIVE))
def test_the_fragment_of_a_typed_pair_verifies_back(key):
    """The fragment defines the user's functions (``% define:``), so derive verify proves every step of it."""
    loss_text, act_text = FIVE[key]
    result = run("latex", "--loss", loss_text, "--activation", act_text)
    assert result.exit_code == 0, result.output
    assert r"% define: \operatorname{user\_activation}\left(z\right) = " in result.stdout
    report = derive.verify(result.stdout, timeout=60)
    assert report.summary["equal"] >= 16
    assert report.summary == {"equal": report.summary["equal"], "not_equal": 0, "undecided": 0, "parse_error": 0}
    assert not report.skipped


#: Values of the parameters of FIVE for the exported functions, inside their domains.
VALUES = {"lambda_": 0.3, "c": 1.7, "beta": 0.8, "p": 1.5, "w": 2.5, "gamma": 1.3, "delta": 0.9, "alpha": 0.2}


@pytest.mark.parametrize("key", list(FIVE))
def test_export_of_a_typed_pair_takes_its_parameters_as_keywords(key, tmp_path):
    """The exported grad(z, y, *, parameters) against sympy.diff of the elementary composition."""
    loss_text, act_text = FIVE[key]
    target = tmp_path / f"{key.replace('-', '_')}.py"
    result = run("export", "--loss", loss_text, "--activation", act_text, "-o", str(target))
    assert result.exit_code == 0, result.output
    namespace: dict = {}
    exec(compile(target.read_text(encoding="utf-8"), str(target), "exec"), namespace)  # our own generated module
    loss, act = derive.Loss.from_latex(loss_text), derive.Activation.from_latex(act_text)
    params = (*loss.parameters, *act.parameters)
    zs, ys = np.array([-1.3, 0.4, 2.1]), np.array([0.2, 0.5, 0.9])
    got = namespace["grad"](zs, ys, reduction="none", **{p.keyword: VALUES[p.keyword] for p in params})
    z, y = sp.symbols("z y")
    reference = sp.diff(loss.elementary(act.elementary(z), y).rewrite("elementary"), z)
    reference = reference.subs({p.symbol: sp.Rational(str(VALUES[p.keyword])) for p in params})
    want = [
        float(reference.subs({z: sp.Rational(str(zv)), y: sp.Rational(str(yv))})) for zv, yv in zip(zs, ys, strict=True)
    ]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("show", ["--loss NAME|FORMULA", "--activation NAME|FORMULA", "--catalog FILE.toml"]),
        ("latex", ["--loss NAME|FORMULA", "--activation NAME|FORMULA", "--catalog FILE.toml"]),
        ("export", ["--loss NAME|FORMULA", "--activation NAME|FORMULA", "--catalog FILE.toml"]),
        ("table", ["--catalog FILE.toml"]),
        ("list", ["--catalog FILE.toml"]),
    ],
)
def test_help_shows_the_new_options(command, options):
    result = CliRunner().invoke(cli.main, [command, "--help"], terminal_width=200)
    assert result.exit_code == 0
    for option in options:
        assert option in result.output, option


BAD_TOML = "[activations.sigmoid]\nformula = 'g(z) = z'\n"

MISTAKES = [
    # (arguments, the start of the one line on stderr); {bad} is a TOML file with a name clash
    (
        ["show", "--loss", r"L(a, y) = \frac{1}{2}(a-y", "--activation", "sigmoid"],
        "error: cannot read the loss formula",
    ),
    (["show", "--loss", "L(y, a) = a", "--activation", "sigmoid"], "error: the left side of the loss formula"),
    (["show", "--loss", "(z-y)^2", "--activation", "sigmoid"], "error: the loss formula '(z-y)^2' is in z"),
    (["show", "--loss", "bce", "--activation", "g(z) = a z"], "error: the activation formula 'g(z) = a z' is in a"),
    (["show", "--loss", "bce", "--activation", "g(z) = 3"], "error: the activation formula 'g(z) = 3' is constant"),
    (["show", "--loss", r"\operatorname{foo}(a)", "sigmoid"], "error: the loss formula"),
    (
        ["show", "--loss", r"-y\ln a - (1-y)\ln(1-a)", "--activation", r"\tanh(z)"],
        "error: user_loss needs a in (0, 1), but user_activation gives a in (-1, 1)",
    ),
    (["show", "--loss", "bce", "--activation", r"z\tanh(\ln(1+e^z))"], "error: cannot infer the range of"),
    (["show", "--loss", "bce", "--activation", r"\operatorname{relu}(z) = z"], "error: relu is a catalog name"),
    (["show", "--catalog", "{bad}", "bce", "sigmoid"], "error: {bad}: [activations.sigmoid]: the name 'sigmoid'"),
    (["show", "--catalog", "{bad}", "--loss", "bce", "--activation", "x"], "error: {bad}: [activations.sigmoid]"),
    (["table", "--catalog", "{bad}"], "error: {bad}: [activations.sigmoid]"),
    (["list", "--catalog", "{bad}"], "error: {bad}: [activations.sigmoid]"),
    (["latex", "--loss", r"\ln a", "--activation", "tanh"], "error: user_loss needs a in (0, oo)"),
    (["export", "--loss", "F(a) = a", "--activation", "sigmoid"], "error: the left side of the loss formula"),
    (["export", "--loss", "bce", "--activation", "g(z) = z", "-o", "x.txt"], "error: -o/--output is one file"),
]


@pytest.mark.parametrize(("args", "message"), MISTAKES)
def test_mistakes_are_one_line_and_exit_2(args, message, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(BAD_TOML, encoding="utf-8")
    args = [arg.replace("{bad}", str(bad)) for arg in args]
    result = CliRunner().invoke(cli.main, args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(message.replace("{bad}", str(bad))), result.stderr
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.output
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "bce", "sigmoid", "--loss", "mse"], "got 'sigmoid' besides --loss and --activation"),
        (["show", "--activation", "sigmoid"], "Missing argument 'LOSS'"),
        (["show", "--loss", "bce"], "Missing argument 'ACTIVATION'"),
        (["show", "--catalog", "missing.toml", "bce", "sigmoid"], "'missing.toml' does not exist"),
        (["export", "--loss", "bce"], "Missing argument 'ACTIVATION'"),
    ],
)
def test_usage_errors_are_clicks(args, message):
    result = run(*args)
    assert result.exit_code == 2 and "\nError: " in result.stderr and message in result.stderr, result.stderr
    assert result.stdout == ""
