"""``derive export``: a loss and its gradient as a standalone, numerically stable Python module."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click

from derive import errors, files
from derive.commands import basics, options
from derive.derivations import pairs
from derive.export import codegen, gradcheck
from derive.parse import catalog_file


@click.command()
@options.pair_options()
@basics.output_file("*.py")
@click.option(
    "--backend",
    type=click.Choice(codegen.BACKENDS),
    default="numpy",
    show_default=True,
    help="numpy; jax (jit-compiled, with a custom_vjp); torch (a torch.autograd.Function). "
    "jax and torch need their framework to run, and to --check.",
)
@click.option(
    "--check",
    is_flag=True,
    help="Also check the gradient of the module written (its backend): finite differences and mpmath at 50 digits.",
)
def export(
    loss: str | type,
    activation: str | type,
    lab: catalog_file.LabCatalog | None,
    output: Path | None,
    backend: str,
    check: bool,
) -> None:
    """Write LOSS of ACTIVATION as a standalone, numerically stable Python module (-o FILE.py, or stdout).

    The module imports only numpy (or only jax, or only torch) and defines loss(z, y,
    reduction="mean"), grad(z, y, reduction="mean") and loss_and_grad, printed from stable
    forms proven equal to the derivation; with jax and torch, autodiff of code that calls
    loss takes derive's closed-form gradient.  --check runs that module (the JAX one in
    float64, which then needs jax installed; the torch one needs torch), prints the largest errors against
    mpmath and finite differences, and fails (exit 1) above tolerance.  --loss and
    --activation take your own formulas (see derive show --help): their parameters
    become keyword arguments; --catalog a lab's file.

    Example:

    \b
        derive export bce sigmoid -o bce_sigmoid.py --check
        derive export huber leaky_relu --backend torch -o huber_leaky.py --check
        derive export --loss 'L(a, y) = \\frac{1}{2}(a-y)^2 + \\lambda a^2' --activation sigmoid -o ridge.py
    """
    options.check_file(output, (".py",), "derive export")
    if check and backend != "numpy":
        gradcheck.require_framework(backend)  # before anything is written
    d = pairs.derive(loss, activation)
    source = codegen.module_source(d, backend)
    if output is None:
        click.echo(source, nl=False)
    else:
        files.write_text(output, source)
        click.echo(f"wrote {output}", err=True)
    if check:
        try:
            report = _check_file(d, backend, source, output)
        except errors.GradientCheckError as exc:
            click.echo(f"gradient check FAILED ({backend}): {exc}", err=True)
            sys.exit(1)
        click.echo(
            f"gradient check passed for {report['pair']} ({backend} module, run alone): vs mpmath max relative error "
            f"{report['max_rel_error_mpmath']:.1e}, max absolute error {report['max_abs_error_mpmath']:.1e}; "
            f"vs finite differences max error {report['max_error_finite_differences']:.1e}",
            err=True,
        )


def _check_file(d, backend: str, source: str, output: str | None) -> dict:
    """The gradient check of the module written (a temporary copy when it went to standard output), run
    in a process where only its framework can be imported."""
    if output is not None:
        return gradcheck.check_derivation(d, backend=backend, path=output)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, f"{d.loss}_{d.activation}.py")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(source)
        return gradcheck.check_derivation(d, backend=backend, path=path)
