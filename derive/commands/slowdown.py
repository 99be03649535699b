"""The ``slowdown`` command: the learning-slowdown experiment, as a table and a figure in -d DIR."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import click
import sympy as sp
from click.core import ParameterSource

from derive import catalog, errors
from derive import slowdown as experiment
from derive.commands import basics

#: The costs and activations of one neuron (one output): softmax and cross_entropy need K outputs, and the
#: experiment's target is y = 0, which the hinge losses (labels ±1) do not take.
COSTS = tuple(
    name
    for name, cls in catalog.LOSSES.items()
    if cls.scalar and cls.y_domain.contains(0) is sp.true
    for name in (name, *cls.aliases)
)  # fmt: skip
ACTIVATIONS = tuple(name for name, cls in catalog.ACTIVATIONS.items() if not cls.vector)
#: The most epochs one run may train: a and C are kept for every epoch (8 bytes each, per run).
MAX_EPOCHS = 1_000_000


@click.command("slowdown")
@click.option(
    "--cost",
    "costs",
    multiple=True,
    type=click.Choice(COSTS, case_sensitive=False),
    default=experiment.DEFAULT_COSTS,
    show_default=True,
    help="A cost to train with (repeat for several).",
)
@click.option(
    "--start",
    "starts",
    multiple=True,
    default=("0.6,0.9", "2.0,2.0"),
    show_default=True,
    metavar="W,B",
    help="A starting weight and bias (repeat for several).",
)
@click.option(
    "--activation",
    type=click.Choice(ACTIVATIONS, case_sensitive=False),
    default="sigmoid",
    show_default=True,
    help="Any catalog activation with one output.",
)
@click.option("--eta", type=basics.FiniteFloat(), default=0.15, show_default=True, help="Learning rate.")
@click.option(
    "--epochs",
    type=click.IntRange(max=MAX_EPOCHS),
    default=300,
    show_default=True,
    help=f"Number of epochs (at most {MAX_EPOCHS}).",
)
@click.option("--x", "x_value", type=basics.FiniteFloat(), default=1.0, show_default=True, help="The input x.")
@click.option("--y", "y_value", type=basics.FiniteFloat(), default=0.0, show_default=True, help="The target y.")
@basics.directory(
    Path("outputs"),
    f"The folder of the figure: writes DIR/{experiment.FIGURE}.png and .pdf (with --json only when -d is given).",
)
@basics.no_output_file("slowdown", f"two files, {experiment.FIGURE}.png and {experiment.FIGURE}.pdf")
@click.option("--no-plot", is_flag=True, help="Print the numbers only; write no figure.")
@basics.json_option("Print one JSON list of the runs instead of a table; no figure unless -d DIR is given.")
def slowdown(
    costs: Sequence[str],
    starts: Sequence[str],
    activation: str,
    eta: float,
    epochs: int,
    x_value: float,
    y_value: float,
    directory: Path,
    no_plot: bool,
    as_json: bool,
) -> None:
    """Train one neuron with each cost and show the learning slowdown of the quadratic cost.

    Gradient descent on z = w x + b, a = activation(z), with the gradient that
    derive exports for each cost.  Defaults are Nielsen's (ch. 3): x = 1, y = 0,
    starts (0.6, 0.9) and (2, 2), eta = 0.15, 300 epochs.  The figure (a and C
    against epoch) goes to -d DIR as slowdown.png and slowdown.pdf; --json prints
    the numbers only, and writes the figure only when -d DIR is given.

    Example:

    \b
        derive slowdown --start 2,2 --epochs 300 -d outputs/
    """
    parsed = [_start(text) for text in starts]
    chosen = click.get_current_context().get_parameter_source("directory") is not ParameterSource.DEFAULT
    plot = not no_plot and (chosen or not as_json)  # --json is for scripts: no files they did not ask for
    if plot:
        basics.check_writable(directory, folder=True)
    try:
        runs = experiment.experiment(costs, parsed, activation, x=x_value, y=y_value, eta=eta, epochs=epochs)
    except ValueError as exc:  # the exported gradient refuses a z that is no longer finite
        if isinstance(exc, errors.DeriveError) or "must be finite" not in str(exc):
            raise
        raise errors.InvalidOption(f"gradient descent diverged ({exc}): try a smaller --eta, --x or --start") from None
    written = experiment.plot(runs, directory, x_value, y_value, eta) if plot else []
    if as_json:
        basics.echo_json([run.summary() for run in runs])
    else:
        click.echo(experiment.table(runs))
    for path in written:
        click.echo(f"wrote {path}", err=True)


def _start(text: str) -> tuple[float, float]:
    """``--start W,B`` as two finite numbers."""
    start = experiment.parse_start(text)
    if not all(math.isfinite(value) for value in start):
        raise errors.InvalidOption(f"a start is W,B (two finite numbers), not {text!r}")
    return start
