"""The derive command through click's CliRunner, and as an installed program."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from derive import catalog, cli

README = Path(__file__).resolve().parents[1] / "README.md"


def run(*args: str):
    return CliRunner().invoke(cli.main, list(args))


def test_show_bce_sigmoid_ends_in_a_minus_y():
    result = run("show", "bce", "sigmoid")
    assert result.exit_code == 0, result.output
    assert "δ = ∂C/∂z = a - y" in result.output
    assert "cancels: yes" in result.output and "saturates: no" in result.output


def test_show_quadratic_sigmoid_reports_the_slowdown():
    result = run("show", "quadratic", "sigmoid")
    assert result.exit_code == 0
    assert "cancels: no: δ = (a - y)·a*(1 - a); |δ| <= 1/4·|a - y|" in result.output
    assert "saturates: yes" in result.output


def test_show_json_fields():
    result = run("show", "bce", "sigmoid", "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["loss"] == "bce" and data["activation"] == "sigmoid"
    assert data["delta"] == "a - y" and data["grad_w"] == "x_j*(a - y)" and data["grad_b"] == "a - y"
    assert data["cancels"] is True and data["saturates"] is False
    for step in data["steps"]:
        assert {"rule", "expr", "latex"} <= set(step)


def test_show_alias():
    assert json.loads(run("show", "mse", "tanh", "--json").output)["loss"] == "quadratic"


def test_table_lists_every_pair():
    result = run("table")
    assert result.exit_code == 0
    for loss, act in catalog.pairs():
        assert re.search(rf"^{loss}\s+{act}\s", result.output, re.M), (loss, act)
    assert re.search(r"^quadratic\s+sigmoid\s+a\*\(1 - a\)\*\(a - y\)\s+no\s+yes\s+1/4$", result.output, re.M)
    assert re.search(r"^bce\s+relu\s+undefined: bce needs a in \(0, 1\)", result.output, re.M)


def test_table_json():
    rows = json.loads(run("table", "--json").output)
    assert len(rows) == len(catalog.pairs())
    bce = next(r for r in rows if (r["loss"], r["activation"]) == ("bce", "sigmoid"))
    assert bce["delta"] == "a - y" and bce["cancels"] is True and bce["saturates"] is False
    bad = next(r for r in rows if (r["loss"], r["activation"]) == ("bce", "relu"))
    assert bad["delta"] is None and "bce needs a in (0, 1)" in bad["error"]


@pytest.mark.parametrize(
    ("act", "fragment"), [("sigmoid", "bce plus a term in y alone"), ("identity", "exactly quadratic")]
)
def test_match(act, fragment):
    result = run("match", act)
    assert result.exit_code == 0
    assert fragment in result.output


def test_match_json():
    data = json.loads(run("match", "identity", "--json").output)
    assert data == {**data, "activation": "identity", "loss": "(a - y)**2/2", "matches": "quadratic"}


def test_list():
    result = run("list")
    assert result.exit_code == 0
    for name in [*catalog.ACTIVATIONS, *catalog.LOSSES, "mse"]:
        assert name in result.output
    data = json.loads(run("list", "--json").output)
    assert set(data["activations"]) == set(catalog.ACTIVATIONS)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "bce", "relu"], "error: bce needs a in (0, 1), but relu gives a in [0, oo)"),
        (["show", "bce", "sigmod"], "error: unknown activation 'sigmod'. Did you mean 'sigmoid'?"),
        (["show", "crossent", "sigmoid"], "error: unknown loss 'crossent'."),
        (["match", "relu"], "error: relu has no matching loss: relu is not invertible"),
        (["match", "relu", "--json"], "error: relu has no matching loss"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(args, message):
    result = CliRunner().invoke(cli.main, args)
    assert result.exit_code == 2
    assert result.stderr.startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_missing_argument_is_a_usage_error():
    result = run("show", "bce")
    assert result.exit_code == 2 and "Missing argument" in result.output


def _commands():
    return sorted(cli.main.commands)


@pytest.mark.parametrize("command", _commands())
def test_every_command_has_help_with_an_example(command):
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "Example:" in result.output
    assert f"derive {command}" in result.output


@pytest.mark.parametrize("command", _commands())
def test_every_command_is_in_the_readme(command):
    assert f"derive {command}" in README.read_text(encoding="utf-8")


def test_python_dash_m_derive():
    out = subprocess.run(
        [sys.executable, "-m", "derive", "show", "bce", "sigmoid", "--json"],
        capture_output=True,
        text=True,
        check=True,
        cwd=README.parent,
    )
    assert json.loads(out.stdout)["delta"] == "a - y"


def test_installed_console_script():
    """`pip install .` puts a `derive` program next to the interpreter (the README's first command)."""
    script = Path(sys.executable).with_name("derive")
    assert script.exists(), f"{script} missing: install the package first (see README)"
    out = subprocess.run([str(script), "show", "bce", "sigmoid"], capture_output=True, text=True, check=True)
    assert "\nδ = ∂C/∂z = a - y\n" in out.stdout
