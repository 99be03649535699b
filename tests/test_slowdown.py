"""The learning-slowdown experiment: the book's behaviour, its numbers, the CLI and the figure."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from derive import cli, errors, slowdown
from derive.derivations import pairs
from derive.export import codegen


def test_the_books_behaviour():
    """Quadratic cost from (2, 2) stays near its start for well over 100 epochs; cross-entropy does not."""
    quadratic = slowdown.train("quadratic", "sigmoid", (2.0, 2.0))
    bce = slowdown.train("bce", "sigmoid", (2.0, 2.0))
    assert quadratic.outputs[0] == pytest.approx(1 / (1 + np.exp(-4.0)))
    assert np.all(quadratic.outputs[:150] > 0.9)
    assert quadratic.first_below() > 200
    assert bce.first_below() < 30
    assert bce.outputs[-1] < quadratic.outputs[-1]


def test_the_gradient_is_derives_export():
    """One step by hand from the exported δ: w ← w − η x δ, b ← b − η δ."""
    _, grad = codegen.functions(pairs.derive("quadratic", "sigmoid"))
    x, w, b, eta = 1.0, 2.0, 2.0, 0.15
    delta = grad(np.array([w * x + b]), np.array([0.0]), "sum")[0]
    run = slowdown.train("quadratic", "sigmoid", (w, b), epochs=1)
    z1 = (w - eta * x * delta) * x + (b - eta * delta)
    assert run.outputs[1] == pytest.approx(1 / (1 + np.exp(-z1)), rel=1e-14)


def test_summary_fields():
    run = slowdown.train("bce", "sigmoid", (0.6, 0.9))
    summary = run.summary()
    assert summary["start"] == {"w": 0.6, "b": 0.9}
    assert summary["first_epoch_output_below_0.5"] == run.first_below()
    assert summary["initial_output"] > 0.5 > summary["final_output"]


def test_never_below_half_is_none():
    run = slowdown.train("quadratic", "sigmoid", (2.0, 2.0), epochs=20)
    assert run.first_below() is None and run.summary()["first_epoch_output_below_0.5"] is None


def test_cli_json_and_table(tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli.main, ["slowdown", "--json", "-d", str(tmp_path / "figures")])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert [(r["cost"], r["start"]["w"], r["start"]["b"]) for r in data] == [
        ("quadratic", 0.6, 0.9),
        ("bce", 0.6, 0.9),
        ("quadratic", 2.0, 2.0),
        ("bce", 2.0, 2.0),
    ]
    assert (tmp_path / "figures" / "slowdown.png").read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "figures" / "slowdown.pdf").read_bytes().startswith(b"%PDF")
    assert result.stderr.splitlines() == [
        f"wrote {tmp_path / 'figures' / name}" for name in ("slowdown.png", "slowdown.pdf")
    ]
    table = runner.invoke(cli.main, ["slowdown", "--no-plot"]).stdout
    assert table.splitlines()[0].startswith("cost") and "232" in table


def test_cli_options():
    result = CliRunner().invoke(
        cli.main,
        [
            "slowdown",
            "--no-plot",
            "--json",
            "--cost",
            "quadratic",
            "--start",
            "1,1",
            "--eta",
            "0.5",
            "--epochs",
            "10",
            "--x",
            "2",
            "--y",
            "1",
            "--activation",
            "tanh",
        ],
    )
    assert result.exit_code == 0
    (run,) = json.loads(result.stdout)
    assert run["activation"] == "tanh" and run["initial_output"] == pytest.approx(np.tanh(3.0))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2"], "error: a start is W,B (two numbers), not '2'"),
        (["--start", "a,b"], "error: a start is W,B"),
        (["--activation", "softmax"], "Usage: main slowdown"),  # click's choice: sigmoid, tanh, ... (one output)
        (["--cost", "bce", "--activation", "tanh"], "error: bce needs a in (0, 1)"),
        (["--epochs", "0"], "error: epochs must be >= 1"),
    ],
)
def test_cli_bad_input(args, message):
    result = CliRunner().invoke(cli.main, ["slowdown", "--no-plot", *args])
    assert result.exit_code == 2 and result.stderr.startswith(message)


def test_invalid_option_error_type():
    with pytest.raises(errors.InvalidOption):
        slowdown.parse_start("1;2")


def test_softmax_is_refused_by_the_api_with_the_reason():
    with pytest.raises(errors.InvalidOption, match="slowdown trains one neuron"):
        slowdown.train("quadratic", "softmax", (0.6, 0.9))
