"""The learning-slowdown experiment (Nielsen, ch. 3): one sigmoid neuron trained by gradient descent.

One input x, weight w, bias b, target y; z = w x + b, a = σ(z).  Each epoch
takes δ = ∂C/∂z from the gradient function that derive exports for the cost
(no hand-written gradient) and the chain rule of the derivation,
∂C/∂w = x δ and ∂C/∂b = δ.  With the quadratic cost a badly wrong start
(a ≈ 1 for y = 0) learns slowly, because δ keeps the factor σ′(z); with
cross-entropy it does not.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sympy as sp

from derive import catalog, errors, files
from derive.derivations import pairs
from derive.engine import notation
from derive.export import codegen

DEFAULT_COSTS = ("quadratic", "bce")
DEFAULT_STARTS = ((0.6, 0.9), (2.0, 2.0))  # the book's
BELOW = 0.5
FIGURE = "slowdown"  # the figure's name: FIGURE.png and FIGURE.pdf in the folder given to plot()


@dataclass(frozen=True)
class Run:
    """One training run: the output a and the cost C at every epoch (epoch 0 is the start)."""

    cost: str
    activation: str
    start: tuple[float, float]
    outputs: np.ndarray
    costs: np.ndarray

    def first_below(self, level: float = BELOW) -> int | None:
        """The first epoch at which a < level, or None."""
        below = np.flatnonzero(self.outputs < level)
        return int(below[0]) if below.size else None

    def summary(self) -> dict[str, object]:
        """The run in numbers, for ``derive slowdown --json``: start, first and last a and C, the epoch a < 0.5."""
        return {
            "cost": self.cost,
            "activation": self.activation,
            "start": {"w": self.start[0], "b": self.start[1]},
            "initial_output": float(self.outputs[0]),
            "final_output": float(self.outputs[-1]),
            "initial_cost": float(self.costs[0]),
            "final_cost": float(self.costs[-1]),
            "first_epoch_output_below_0.5": self.first_below(),
        }


def train(
    cost: str,
    activation: str,
    start: tuple[float, float],
    x: float = 1.0,
    y: float = 0.0,
    eta: float = 0.15,
    epochs: int = 300,
) -> Run:
    """Gradient descent on one neuron with derive's exported gradient; records a and C per epoch."""
    d = pairs.derive(cost, activation)
    if d.activation_function.vector:
        raise errors.InvalidOption("slowdown trains one neuron: choose an activation with one output, not softmax")
    if d.grad_w != notation.x_j * d.delta or d.grad_b != d.delta:  # the chain rule the loop below uses
        raise errors.ProofError(f"{d.loss} ∘ {d.activation}: unexpected gradient form")
    if epochs < 1 or eta <= 0:
        raise errors.InvalidOption("epochs must be >= 1 and eta > 0")
    loss_fn, grad_fn = codegen.functions(d)
    defaults = {p.symbol: p.default for p in d.parameters}  # the exported functions' defaults, too
    erf = {"erf": np.vectorize(math.erf), "_erfc": np.vectorize(math.erfc)}  # gelu: NumPy has no erf
    act = d.activation_function
    shape = act.elementary(notation.z).subs(defaults) if defaults else act(notation.z)  # α is in the formula
    output = sp.lambdify(notation.z, shape, [erf, "numpy"])
    w, b = start
    target = np.array([y], dtype=float)
    outputs, costs = np.empty(epochs + 1), np.empty(epochs + 1)
    for epoch in range(epochs + 1):
        z = np.array([w * x + b])
        outputs[epoch] = output(z[0])
        costs[epoch] = loss_fn(z, target, "sum")
        if epoch == epochs:
            break
        delta = grad_fn(z, target, "sum")[0]
        w, b = w - eta * x * delta, b - eta * delta
    return Run(d.loss, d.activation, (float(start[0]), float(start[1])), outputs, costs)


def experiment(
    costs: Sequence[str] = DEFAULT_COSTS,
    starts: Sequence[tuple[float, float]] = DEFAULT_STARTS,
    activation: str = "sigmoid",
    **options,
) -> list[Run]:
    """Every cost from every start."""
    return [train(cost, activation, start, **options) for start in starts for cost in costs]


def parse_start(text: str) -> tuple[float, float]:
    """'W,B' → (w, b); a clear error otherwise."""
    parts = text.split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        return float(parts[0]), float(parts[1])
    except ValueError:
        raise errors.InvalidOption(f"a start is W,B (two numbers), not {text!r}") from None


def table(runs: Sequence[Run]) -> str:
    """The summaries as a text table."""
    header = ("cost", "start (w, b)", "a at start", "a at end", "C at start", "C at end", "a < 0.5 from epoch")
    rows = [header] + [
        (
            r.cost,
            f"({r.start[0]:g}, {r.start[1]:g})",
            f"{r.outputs[0]:.4f}",
            f"{r.outputs[-1]:.4f}",
            f"{r.costs[0]:.4f}",
            f"{r.costs[-1]:.4f}",
            "never" if r.first_below() is None else str(r.first_below()),
        )
        for r in runs
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def plot(runs: Sequence[Run], directory: Path, x: float, y: float, eta: float) -> list[Path]:
    """directory/slowdown.png and .pdf: a and C against epoch, one column per start, every cost in each panel.

    The files are the same bytes on every run (no time stamps); returns their paths.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    starts = list(dict.fromkeys(r.start for r in runs))
    fig, axes = plt.subplots(2, len(starts), figsize=(4.2 * len(starts), 6), sharex=True, squeeze=False)
    symbol = catalog.activation(runs[0].activation).latex_name
    for column, start in enumerate(starts):
        top, bottom = axes[0][column], axes[1][column]
        for run in (r for r in runs if r.start == start):
            label = run.cost
            top.plot(run.outputs, label=label)
            bottom.plot(run.costs, label=label)
        top.set_title(rf"start $(w, b) = ({start[0]:g}, {start[1]:g})$")
        top.set_ylabel(rf"output $a = {symbol}(z)$")
        bottom.set_ylabel(r"cost $C$")
        bottom.set_xlabel("epoch")
        top.axhline(BELOW, color="0.8", lw=0.8, zorder=0)
        top.legend()
    fig.suptitle(rf"one neuron trained by gradient descent: $x = {x:g}$, $y = {y:g}$, $\eta = {eta:g}$", fontsize=10)
    fig.tight_layout()
    written = []
    for suffix, metadata in ((".png", {"Software": None}), (".pdf", {"CreationDate": None, "Producer": None})):
        buffer = io.BytesIO()
        fig.savefig(buffer, format=suffix[1:], dpi=110, metadata=metadata)
        written.append(files.write_bytes(Path(directory) / f"{FIGURE}{suffix}", buffer.getvalue()))
    plt.close(fig)
    return written
