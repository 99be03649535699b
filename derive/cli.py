"""The ``derive`` command: a thin layer that prints results and turns errors into messages.

Every command has ``--json`` for scripts; without it, formulas are
pretty-printed for a terminal.  A :class:`~derive.errors.DeriveError` (unknown
name, domain mismatch, no matching loss) becomes one line on stderr and exit
code 2, like click's own usage errors.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import sympy as sp

from derive import catalog, errors, files, gallery
from derive import slowdown as slowdown_module
from derive.derivations import backprop as backprop_module
from derive.derivations import matching, pairs, softmax
from derive.derivations import shift as shift_module
from derive.engine import steps
from derive.export import codegen, gradcheck
from derive.render import compile
from derive.render import latex as render_latex
from derive.verification import annotate as annotate_module
from derive.verification import verify as verify_module

EXIT_USER_ERROR = 2


def _user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a DeriveError into ``error: …`` on stderr and exit code 2."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except errors.DeriveError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_USER_ERROR)

    return wrapper


def _echo_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="derive")
def main() -> None:
    """Symbolic chain-rule derivations of machine-learning losses.

    Derives dC/dz, dC/dw_j and dC/db of a loss composed with an activation,
    step by step, and shows whether the activation's derivative cancels.

    Example:

        derive show bce sigmoid
    """


@main.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(as_json: bool) -> None:
    """List the catalog: activations and losses.

    Example:

        derive list --json
    """
    acts = {
        name: {"description": cls.description, "range": catalog.interval(cls.output_range)}
        for name, cls in catalog.ACTIVATIONS.items()
    }
    losses = {
        name: {
            "description": cls.description,
            "aliases": list(cls.aliases),
            "a_domain": catalog.interval(cls.a_domain),
            "y_domain": catalog.interval(cls.y_domain),
        }
        for name, cls in catalog.LOSSES.items()
    }
    if as_json:
        _echo_json({"activations": acts, "losses": losses})
        return
    click.echo("activations (a = f(z)):")
    for name, info in acts.items():
        click.echo(f"  {name:<10} a in {info['range']:<10} {info['description']}")
    click.echo("losses (C = L(a, y)):")
    for name, info in losses.items():
        alias = f" (alias {', '.join(info['aliases'])})" if info["aliases"] else ""
        click.echo(f"  {name:<10} a in {info['a_domain']:<10} {info['description']}{alias}")


@main.command()
@click.argument("loss")
@click.argument("activation")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of formulas.")
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
@_user_errors
def show(
    loss: str, activation: str, as_json: bool, classes: int | None, label_smoothing: str | None, class_weights: bool
) -> None:
    """Show the derivation of LOSS composed with ACTIVATION, step by step.

    Each step is proven equal to the one before it before anything is printed.
    Names are those of `derive list`.  With softmax, the derivation is for a
    symbolic number of classes K unless --classes gives one.

    Example:

        derive show bce sigmoid

        derive show cross_entropy softmax --classes 3
    """
    result = pairs.derive(loss, activation, classes, label_smoothing, class_weights)
    if as_json:
        _echo_json(result.as_dict())
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
        lines.append(f"cancels: no: δ = (a - y)·{sp.sstr(an.factor)}{bound}")
    ends = ", ".join(f"{end}: δ -> {sp.sstr(value)}" for end, value in an.limits.items())
    verdict = "yes: learning slows when the neuron is saturated and wrong" if an.saturates else "no"
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


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
def table(as_json: bool) -> None:
    """Print every loss × activation: δ, whether σ' cancels, whether it saturates.

    Pairs whose loss is undefined for the activation's outputs say why.

    Example:

        derive table
    """
    rows = [_table_row(loss, act) for loss in catalog.LOSSES for act in catalog.ACTIVATIONS]
    if as_json:
        _echo_json(rows)
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


def _table_row(loss: str, act: str) -> dict[str, Any]:
    try:
        result = pairs.derive(loss, act)
    except errors.DomainError as exc:
        return {
            "loss": loss,
            "activation": act,
            "delta": None,
            "cancels": None,
            "saturates": None,
            "slowdown_bound": None,
            "error": str(exc),
        }
    bound = result.analysis.bound
    return {
        "loss": loss,
        "activation": act,
        "delta": str(result.delta),
        "cancels": result.cancels,
        "saturates": result.saturates,
        "slowdown_bound": None if bound is None else str(bound),
        "error": None,
    }


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


@main.command()
@click.argument("activation")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of formulas.")
@_user_errors
def match(activation: str, as_json: bool) -> None:
    """Find the loss whose error is exactly a - y for ACTIVATION (its matching loss).

    Integrates (a - y)/g(a), where the activation's derivative is g(a), from
    a = y, so the loss is 0 at a = y and never negative.

    Example:

        derive match sigmoid
    """
    result = matching.matching_loss(activation)
    if as_json:
        _echo_json(result.as_dict())
        return
    _echo_trace(f"matching loss of {result.activation}: dL/dz = a - y", result.steps)
    click.echo(f"L(a, y) = {sp.sstr(result.loss)}")
    click.echo(result.note)


def _echo_standalone(result: steps.Trace, as_json: bool) -> None:
    if as_json:
        _echo_json(result.as_dict())
        return
    _echo_trace(result.title, result.steps)
    for name, value in result.results.items():
        text = f"{sp.sstr(value.lhs)} = {sp.sstr(value.rhs)}" if isinstance(value, sp.Eq) else sp.sstr(value)
        click.echo(f"{name}: {text}")
    for note in result.notes:
        click.echo(note)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of formulas.")
def shift(as_json: bool) -> None:
    """Derive softmax(z + c) = softmax(z), and the max-subtraction rule of stable softmax.

    Example:

        derive shift
    """
    _echo_standalone(shift_module.shift_invariance(), as_json)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON list of two objects instead of formulas.")
def backprop(as_json: bool) -> None:
    """Derive the four equations of backpropagation, then a worked two-layer network.

    The network is dense, sigmoid, dense, softmax, cross-entropy; it gets dC/dW and
    dC/db of both layers, proven against sympy.diff of the whole network.

    Example:

        derive backprop
    """
    results = [backprop_module.four_equations(), backprop_module.worked_network()]
    if as_json:
        _echo_json([r.as_dict() for r in results])
        return
    for result in results:
        _echo_standalone(result, as_json=False)
        click.echo("")


def _notation(symbols: dict[str, str]) -> render_latex.Notation:
    """The Notation from the --*-symbol options."""
    return render_latex.Notation(**{name.removesuffix("_symbol"): value for name, value in symbols.items()})


def _notation_options(command):
    """--output-symbol, --cost-symbol, --target-symbol, --sigma-symbol."""
    for name, allowed in reversed(render_latex.CHOICES.items()):
        command = click.option(
            f"--{name}-symbol",
            f"{name}_symbol",
            type=click.Choice(allowed),
            default=allowed[0],
            show_default=True,
            help=f"LaTeX symbol for the {name}.",
        )(command)
    return command


@main.command()
@click.argument("loss", required=False)
@click.argument("activation", required=False)
@click.option("--all", "all_pairs", is_flag=True, help="Every valid catalog pair, one file each, into -o FOLDER.")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="File to write (a folder with --all); default: standard output.",
)
@click.option(
    "--template",
    "-t",
    default="fragment",
    show_default=True,
    metavar="NAME",
    help="fragment (align* block for \\input), article (whole document) or markdown.",
)
@click.option(
    "--template-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="A folder of your own templates, looked up before derive's.",
)
@click.option("--pdf", "make_pdf", is_flag=True, help="Also compile the article to PDF with pdflatex.")
@click.option("--classes", "-K", type=int, default=None, metavar="K", help="softmax: an explicit number of classes.")
@_notation_options
@_user_errors
def latex(loss, activation, all_pairs, output, template, template_dir, make_pdf, classes, **symbols) -> None:
    """Write the derivation of LOSS composed with ACTIVATION as LaTeX or Markdown.

    The fragment needs only amsmath; the article compiles on its own (and
    includes the cancellation table).  With --pdf, the .tex is kept next to the
    PDF, and a LaTeX error is reported with the log's first error line.

    Example:

        derive latex bce sigmoid --template article --pdf -o outputs/bce_sigmoid.tex

        derive latex --all -o outputs/
    """
    style = _notation(symbols)
    if make_pdf and template != "article":
        raise errors.InvalidOption("--pdf compiles a whole document: use it with --template article")
    if all_pairs:
        if loss or activation or output is None:
            raise errors.InvalidOption("--all takes no LOSS ACTIVATION and needs -o FOLDER")
        for pair_loss, pair_act in catalog.pairs(valid=True):
            target = output / f"{pair_loss}_{pair_act}{render_latex.SUFFIX.get(template, '.tex')}"
            _write_latex(pairs.derive(pair_loss, pair_act), target, template, template_dir, style, make_pdf)
            click.echo(str(target))
        return
    if not (loss and activation):
        raise errors.InvalidOption("give LOSS and ACTIVATION (see `derive list`), or --all")
    if make_pdf and output is None:
        raise errors.InvalidOption("--pdf needs -o FILE.tex")
    _write_latex(pairs.derive(loss, activation, classes), output, template, template_dir, style, make_pdf)


def _write_latex(result, output, template, template_dir, style, make_pdf) -> None:
    table = render_latex.table_rows([pairs.derive(*pair) for pair in catalog.pairs(valid=True)], style)
    doc = render_latex.derivation_document(result, style, table if template == "article" else [])
    source = render_latex.render(doc, template, style, template_dir)
    if output is None:
        click.echo(source, nl=False)
        return
    files.write_text(output, source)
    if make_pdf:
        compile.pdf(source, output.with_suffix(".pdf"))


@main.command("gallery")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=Path("outputs"),
    show_default=True,
    help="The folder to fill.",
)
@_notation_options
@_user_errors
def gallery_command(output: Path, **symbols) -> None:
    """Fill a folder with every catalog derivation: .tex fragments, compiled PDFs, README.md.

    Needs pdflatex.  The output is deterministic: the same bytes on every run.

    Example:

        derive gallery -o outputs/
    """
    style = _notation(symbols)
    work = gallery.tasks(output, style)
    with click.progressbar(work, label="derive gallery", file=sys.stderr, item_show_func=lambda t: t and t[0]) as bar:
        for _label, action in bar:
            action()
    click.echo(f"wrote {len(work)} entries to {output}/ (index: {output / 'README.md'})")


@main.command()
@click.argument("loss")
@click.argument("activation")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="The .py file to write; default: standard output.",
)
@click.option("--backend", default="numpy", show_default=True, help="numpy, or jax (jit-compiled; needs jax).")
@click.option("--check", is_flag=True, help="Also check the gradient: finite differences and mpmath at 50 digits.")
@_user_errors
def export(loss: str, activation: str, output: Path | None, backend: str, check: bool) -> None:
    """Write LOSS of ACTIVATION as a standalone, numerically stable Python module.

    The module imports only numpy (or only jax) and defines loss(z, y, reduction="mean"),
    grad(z, y, reduction="mean") and loss_and_grad, printed from stable forms proven
    equal to the derivation.  --check prints the largest errors against mpmath and finite
    differences, and fails (exit 1) above tolerance.

    Example:

        derive export bce sigmoid -o bce_sigmoid.py --check
    """
    source = codegen.module_source(loss, activation, backend)
    if output is None:
        click.echo(source, nl=False)
    else:
        files.write_text(output, source)
        click.echo(f"wrote {output}", err=True)
    if check:
        try:
            report = gradcheck.check_gradient(loss, activation)
        except errors.GradientCheckError as exc:
            click.echo(f"gradient check FAILED: {exc}", err=True)
            sys.exit(1)
        click.echo(
            f"gradient check passed for {report['pair']}: vs mpmath max relative error "
            f"{report['max_rel_error_mpmath']:.1e}, max absolute error {report['max_abs_error_mpmath']:.1e}; "
            f"vs finite differences max error {report['max_error_finite_differences']:.1e}",
            err=True,
        )


@main.command("slowdown")
@click.option(
    "--cost",
    "costs",
    multiple=True,
    default=slowdown_module.DEFAULT_COSTS,
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
@click.option("--activation", default="sigmoid", show_default=True, help="Any catalog activation with one output.")
@click.option("--eta", type=float, default=0.15, show_default=True, help="Learning rate.")
@click.option("--epochs", type=int, default=300, show_default=True, help="Number of epochs.")
@click.option("--x", "x_value", type=float, default=1.0, show_default=True, help="The input x.")
@click.option("--y", "y_value", type=float, default=0.0, show_default=True, help="The target y.")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=Path("outputs/slowdown"),
    show_default=True,
    help="Stem of the figure: writes STEM.png and STEM.pdf.",
)
@click.option("--no-plot", is_flag=True, help="Print the numbers only.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON list of the runs instead of a table.")
@_user_errors
def slowdown(costs, starts, activation, eta, epochs, x_value, y_value, output, no_plot, as_json) -> None:
    """Train one neuron with each cost and show the learning slowdown of the quadratic cost.

    Gradient descent on z = w x + b, a = activation(z), with the gradient that
    derive exports for each cost.  Defaults are Nielsen's (ch. 3): x = 1, y = 0,
    starts (0.6, 0.9) and (2, 2), eta = 0.15, 300 epochs.

    Example:

        derive slowdown --start 2,2 --epochs 300 -o outputs/slowdown
    """
    parsed = [slowdown_module.parse_start(text) for text in starts]
    runs = slowdown_module.experiment(costs, parsed, activation, x=x_value, y=y_value, eta=eta, epochs=epochs)
    written = [] if no_plot else slowdown_module.plot(runs, output, x_value, y_value, eta)
    if as_json:
        _echo_json([run.summary() for run in runs])
    else:
        click.echo(slowdown_module.table(runs))
    for path in written:
        click.echo(f"wrote {path}", err=True)


@main.command("verify")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: chains, steps, summary.")
@click.option(
    "--define",
    "defines",
    multiple=True,
    metavar="'NAME=EXPR'",
    help="A definition, as '% define:' gives it, e.g. 'a=\\sigma(z)' (repeat for several).",
)
@click.option(
    "--assume",
    "assumptions",
    multiple=True,
    metavar="'REL'",
    help="An assumption, e.g. 'i \\neq j' or '0 < a < 1' (repeat for several).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=verify_module.DEFAULT_TIMEOUT,
    show_default=True,
    metavar="S",
    help="Seconds each step may take; a step that runs out is undecided.",
)
@click.option(
    "--annotate",
    "annotated",
    type=click.Path(path_type=Path),
    default=None,
    metavar="OUT.tex",
    help="Also write the input with every step marked, and compile it to OUT.pdf with pdflatex.",
)
@_user_errors
def verify_command(file, as_json, defines, assumptions, timeout, annotated) -> None:
    """Check a hand-written derivation in FILE (.tex, or - for standard input) step by step.

    Math is read from align, equation, eqnarray, gather, \\[ \\] and $$ $$.  A row
    'A &= B = C' and the rows after it starting with '&=' form one chain of steps.
    Each step is marked ✓ (equal), ✗ (not equal, with a counterexample), ?
    (undecided) or ! (parse error).  Exit code: 0 when every step is equal, 1 when
    one is not equal or undecided, 2 for parse and usage errors.

    Example:

        derive verify notes.tex

        derive verify notes.tex --define 'a=\\sigma(z)' --annotate checked.tex
    """
    text = file.read()
    report = verify_module.verify(text, defines=defines, assumptions=assumptions, timeout=timeout)
    if as_json:
        _echo_json(report.as_dict())
    else:
        click.echo(report.text())
    if annotated is not None:
        source = annotate_module.annotate(text, report)
        files.write_text(annotated, source)
        compile.pdf(source, annotated.with_suffix(".pdf"))
        click.echo(f"wrote {annotated} and {annotated.with_suffix('.pdf')}", err=True)
    sys.exit(report.exit_code)
