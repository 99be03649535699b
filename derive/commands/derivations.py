"""The commands that print derivations: ``list``, ``show``, ``table``, ``match``, ``shift``, ``backprop``.

Formulas are pretty-printed for a terminal; ``--json`` prints them for scripts instead.
"""

from __future__ import annotations

from typing import Any

import click
import sympy as sp

from derive import catalog, errors
from derive.commands import basics, options
from derive.derivations import backprop as backprop_module
from derive.derivations import matching, pairs, softmax
from derive.derivations import shift as shift_module
from derive.engine import steps
from derive.parse import catalog_file


def _pretty(expr: sp.Basic) -> str:
    return sp.pretty(expr, use_unicode=True, wrap_line=False)


def _pretty_step(number: int, step: steps.Step) -> str:
    equation = _pretty(sp.Eq(step.lhs, step.expr, evaluate=False))
    body = "\n".join("     " + line for line in equation.splitlines())
    note = f" ({step.note})" if step.note else ""
    return f"{number:3d}. {step.rule}{note}\n{body}"


def _echo_trace(title: str, trace: tuple[steps.Step, ...]) -> None:
    """The title, then every step numbered and pretty-printed, then a blank line."""
    click.echo(f"{title}\n")
    for number, step in enumerate(trace, start=1):
        click.echo(_pretty_step(number, step))
    click.echo("")


@click.command("list")
@basics.json_option("Print JSON instead of a table.")
@options.catalog_option
def list_command(as_json: bool, lab: catalog_file.LabCatalog | None) -> None:
    """List the catalog: activations and losses (and those of --catalog FILE.toml).

    Example:

    \b
        derive list --json
        derive list --catalog my_functions.toml
    """
    acts = {
        name: {"description": cls.description, "range": catalog.interval(cls.output_range)}
        for name, cls in {**catalog.ACTIVATIONS, **(lab.activations if lab else {})}.items()
    }
    losses = {
        name: {
            "description": cls.description,
            "aliases": list(cls.aliases),
            "a_domain": catalog.interval(cls.a_domain),
            "y_domain": catalog.interval(cls.y_domain),
        }
        for name, cls in {**catalog.LOSSES, **(lab.losses if lab else {})}.items()
    }
    if as_json:
        basics.echo_json({"activations": acts, "losses": losses})
        return
    click.echo("activations (a = f(z)):")
    for name, info in acts.items():
        click.echo(f"  {name:<10} a in {info['range']:<10} {info['description']}")
    click.echo("losses (C = L(a, y)):")
    for name, info in losses.items():
        alias = f" (alias {', '.join(info['aliases'])})" if info["aliases"] else ""
        click.echo(f"  {name:<10} a in {info['a_domain']:<10} {info['description']}{alias}")


@click.command()
@options.pair_options()
@basics.json_option()
@click.option(
    "--classes",
    "-K",
    type=int,
    default=None,
    metavar="K",
    help="softmax: an explicit number of classes, everything written out (default: symbolic K).",
)
@click.option(
    "--label-smoothing",
    "label_smoothing",
    is_flag=False,
    flag_value="epsilon",
    default=None,
    metavar="[EPS]",
    help="cross_entropy: smooth the targets, (1 - EPS) y + EPS/K (default EPS: symbolic).",
)
@click.option("--class-weights", is_flag=True, help="cross_entropy: weight class k by omega_k.")
def show(
    loss: str | type,
    activation: str | type,
    lab: catalog_file.LabCatalog | None,
    as_json: bool,
    classes: int | None,
    label_smoothing: str | None,
    class_weights: bool,
) -> None:
    """Show the derivation of LOSS composed with ACTIVATION, step by step.

    Each step is proven equal to the one before it before anything is printed.
    Names are those of `derive list`.  With softmax, the derivation is for a
    symbolic number of classes K unless --classes gives one.  --loss and
    --activation take a name or your own formula in LaTeX, L(a, y) = ... or
    g(z) = ...: every other symbol is a parameter, and a condition such as
    \\quad (\\beta > 0) gives its domain.  --catalog FILE.toml adds a lab's
    own functions by name.

    Example:

    \b
        derive show bce sigmoid
        derive show cross_entropy softmax --classes 3
        derive show --loss 'L(a, y) = \\frac{1}{2}(a-y)^2 + \\lambda a^2' --activation 'g(z) = z\\sigma(z)'
        derive show --catalog my_functions.toml cauchy scaled_tanh
    """
    result = pairs.derive(loss, activation, classes, label_smoothing, class_weights)
    if as_json:
        basics.echo_json(result.as_dict())
        return
    _echo_trace(f"{result.loss} ∘ {result.activation}", result.steps)
    click.echo(_summary(result))


def _summary(result: steps.Derivation) -> str:
    if result.classes is not None:
        return _vector_summary(result)
    an = result.analysis
    lines = [
        f"δ = ∂C/∂z = {sp.sstr(result.delta)}",
        f"∂C/∂w_j = {sp.sstr(result.grad_w)}",
        f"∂C/∂b = {sp.sstr(result.grad_b)}",
    ]
    if an.cancels:
        lines.append(f"cancels: yes: {result.activation}'(z) cancels, δ is proportional to a - y")
    else:
        bound = f"; |δ| <= {an.bound}·|a - y|" if an.bound is not None else ""
        a, y = sp.symbols("a y")
        if sp.fraction(sp.together(an.factor))[1].has(a - y, y - a):  # δ is no multiple of a − y
            lines.append("cancels: no: δ is not (a - y) times a factor")
        else:
            lines.append(f"cancels: no: δ = (a - y)·{sp.sstr(an.factor)}{bound}")
    ends = ", ".join(f"{end}: δ -> {_limit(value)}" for end, value in an.limits.items())
    verdict = {True: "yes: learning slows when the neuron is saturated and wrong", False: "no", None: "unknown"}[
        an.saturates
    ]
    lines.append(f"saturates: {verdict} ({ends})")
    lines.append("conditions: " + "; ".join(result.conditions))
    return "\n".join(lines)


def _vector_summary(result: steps.Derivation) -> str:
    an = result.analysis
    lines = [
        f"K = {result.classes}" if result.classes != softmax.K else "K: symbolic (any number of classes)",
        f"∂a_i/∂z_j = {sp.sstr(result.jacobian)}",
        f"δ_j = ∂C/∂z_j = {sp.sstr(result.delta)}",
        f"∂C/∂w_jl = {sp.sstr(result.grad_w)}",
        f"∂C/∂b_j = {sp.sstr(result.grad_b)}",
        "cancels: "
        + (
            "yes: the softmax Jacobian cancels, δ is affine in a"
            if an.cancels
            else "no: the softmax Jacobian stays in δ"
        ),
    ]
    ends = ", ".join(f"{end}: δ_1 -> {sp.sstr(value)}" for end, value in an.limits.items())
    verdict = "yes: learning slows when the output is saturated and wrong" if an.saturates else "no"
    lines.append(f"saturates: {verdict} ({ends})")
    lines.append("conditions: " + "; ".join(result.conditions))
    return "\n".join(lines)


def _with_lab(names: dict[str, type], own: dict[str, type] | None) -> list[str | type]:
    """The catalog's names, then the lab's ``own`` classes (their names never clash: the lab's are checked)."""
    return [*names, *(own or {}).values()]


@click.command()
@basics.json_option("Print a JSON list instead of a table.")
@options.catalog_option
def table(as_json: bool, lab: catalog_file.LabCatalog | None) -> None:
    """Print every loss × activation: δ, whether σ' cancels, whether it saturates.

    Pairs whose loss is undefined for the activation's outputs say why.  With
    --catalog FILE.toml the lab's own losses and activations join the rows.

    Example:

    \b
        derive table
        derive table --catalog my_functions.toml
    """
    losses = _with_lab(catalog.LOSSES, lab and lab.losses)
    activations = _with_lab(catalog.ACTIVATIONS, lab and lab.activations)
    rows = [table_row(loss, act) for loss in losses for act in activations]
    if as_json:
        basics.echo_json(rows)
        return
    header = ("loss", "activation", "delta", "cancels", "saturates", "|δ|/|a-y| <=")
    cells = [header] + [
        (
            r["loss"],
            r["activation"],
            r["delta"],
            _yes_no(r["cancels"]),
            _yes_no(r["saturates"]),
            r["slowdown_bound"] or ("n/a" if r["activation"] == "softmax" else "?"),
        )
        if r["error"] is None
        else (r["loss"], r["activation"], f"undefined: {r['error']}", "", "", "")
        for r in rows
    ]
    widths = [max(len(row[i]) for row in cells if not row[2].startswith("undefined")) for i in range(len(header))]
    for row in cells:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def table_row(loss: str | type, act: str | type) -> dict[str, Any]:
    """One row of ``derive table --json``: δ, cancels, saturates and the bound, or why the pair is undefined.

    ``loss`` and ``act`` are names or classes (a catalog's, or a lab's from --catalog).
    """
    caught = errors.DomainError if isinstance(loss, str) and isinstance(act, str) else errors.DeriveError
    try:
        result = pairs.derive(loss, act)
    except caught as exc:  # a pair of the lab's that fails is a row too, with the reason
        return {
            "loss": options.name_of(loss),
            "activation": options.name_of(act),
            "delta": None,
            "cancels": None,
            "saturates": None,
            "slowdown_bound": None,
            "error": str(exc),
        }
    bound = result.analysis.bound
    return {
        "loss": options.name_of(loss),
        "activation": options.name_of(act),
        "delta": str(result.delta),
        "cancels": result.cancels,
        "saturates": result.saturates,
        "slowdown_bound": None if bound is None else str(bound),
        "error": None,
    }


def _yes_no(flag: bool | None) -> str:
    return "?" if flag is None else ("yes" if flag else "no")


def _limit(value: sp.Expr | None) -> str:
    return "? (limit not found)" if value is None else sp.sstr(value)


@click.command()
@click.argument("activation", shell_complete=options.complete_activation)
@basics.json_option()
def match(activation: str, as_json: bool) -> None:
    """Find the loss whose error is exactly a - y for ACTIVATION (its matching loss).

    Integrates (a - y)/g(a), where the activation's derivative is g(a), from
    a = y, so the loss is 0 at a = y and never negative.

    Example:

    \b
        derive match sigmoid
    """
    result = matching.matching_loss(activation)
    if as_json:
        basics.echo_json(result.as_dict())
        return
    _echo_trace(f"matching loss of {result.activation}: dL/dz = a - y", result.steps)
    click.echo(f"L(a, y) = {sp.sstr(result.loss)}")
    click.echo(result.note)


def _echo_standalone(result: steps.Trace, as_json: bool) -> None:
    if as_json:
        basics.echo_json(result.as_dict())
        return
    _echo_trace(result.title, result.steps)
    for name, value in result.results.items():
        text = f"{sp.sstr(value.lhs)} = {sp.sstr(value.rhs)}" if isinstance(value, sp.Eq) else sp.sstr(value)
        click.echo(f"{name}: {text}")
    for note in result.notes:
        click.echo(note)


@click.command()
@basics.json_option()
def shift(as_json: bool) -> None:
    """Derive softmax(z + c) = softmax(z), and the max-subtraction rule of stable softmax.

    Example:

    \b
        derive shift
    """
    _echo_standalone(shift_module.shift_invariance(), as_json)


@click.command()
@basics.json_option("Print one JSON list of two objects instead of formulas.")
def backprop(as_json: bool) -> None:
    """Derive the four equations of backpropagation, then a worked two-layer network.

    The network is dense, sigmoid, dense, softmax, cross-entropy; it gets dC/dW and
    dC/db of both layers, proven against sympy.diff of the whole network.

    Example:

    \b
        derive backprop
    """
    results = [backprop_module.four_equations(), backprop_module.worked_network()]
    if as_json:
        basics.echo_json([r.as_dict() for r in results])
        return
    for result in results:
        _echo_standalone(result, as_json=False)
        click.echo("")
