"""The ``derive`` command: a thin layer that prints results and turns errors into messages.

The commands live in :mod:`derive.commands` (by what they do) and here (``export``, ``verify``);
this module gathers them into one program.  Every command has ``--json`` for scripts; without
it, formulas are pretty-printed for a terminal.  ``-o/--output FILE`` is always one file and
``-d/--directory DIR`` a folder for commands that write several.  A
:class:`~derive.errors.DeriveError` (unknown name, domain mismatch, an option that does not
apply) becomes one line on stderr and exit code 2, like click's own usage errors.
"""

from __future__ import annotations

import functools
import sys
import threading
from pathlib import Path
from typing import TextIO

import click

from derive import errors, files
from derive.commands import derivations, documents, options
from derive.commands import slowdown as slowdown_command
from derive.derivations import pairs
from derive.export import codegen, gradcheck
from derive.parse import catalog_file
from derive.render import compile
from derive.verification import annotate as annotate_module
from derive.verification import document, worker
from derive.verification import verify as verify_module


@click.group(cls=options.Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(None, "-V", "--version", package_name="derive")
def main() -> None:
    """Symbolic chain-rule derivations of machine-learning losses.

    Derives dC/dz, dC/dw_j and dC/db of a loss composed with an activation,
    step by step, and shows whether the activation's derivative cancels.

    -o/--output FILE always writes one file; -d/--directory DIR is the folder
    of the commands that write several (gallery, latex --all, slowdown).

    Example:

    \b
        derive show bce sigmoid
    """


main.on_exit = (worker.stop,)  # the worker of derive verify would finish its step first


#: The commands of derive.commands, in the order of the README's tour (export and verify follow).
COMMANDS = (
    derivations.list_command,
    derivations.show,
    derivations.table,
    derivations.match,
    derivations.shift,
    derivations.backprop,
    documents.latex,
    documents.gallery_command,
    slowdown_command.slowdown,
)
for command in COMMANDS:
    main.add_command(command)


@main.command()
@options.pair_options()
@options.output_file("*.py")
@click.option(
    "--backend",
    type=click.Choice(codegen.BACKENDS),
    default="numpy",
    show_default=True,
    help="numpy, or jax (jit-compiled; needs jax to run, and to --check).",
)
@click.option(
    "--check",
    is_flag=True,
    help="Also check the gradient of the module written (numpy or jax): finite differences and mpmath at 50 digits.",
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

    The module imports only numpy (or only jax) and defines loss(z, y, reduction="mean"),
    grad(z, y, reduction="mean") and loss_and_grad, printed from stable forms proven
    equal to the derivation.  --check runs that module (the JAX one in float64 with
    --backend jax, which then needs jax installed), prints the largest errors against
    mpmath and finite differences, and fails (exit 1) above tolerance.  --loss and
    --activation take your own formulas (see derive show --help): their parameters
    become keyword arguments; --catalog a lab's file.

    Example:

    \b
        derive export bce sigmoid -o bce_sigmoid.py --check
        derive export --loss 'L(a, y) = \\frac{1}{2}(a-y)^2 + \\lambda a^2' --activation sigmoid -o ridge.py
    """
    options.check_file(output, (".py",), "derive export")
    if check and backend == "jax":
        gradcheck.require_jax()  # before anything is written
    d = pairs.derive(loss, activation)
    source = codegen.module_source(d, backend)
    if output is None:
        click.echo(source, nl=False)
    else:
        files.write_text(output, source)
        click.echo(f"wrote {output}", err=True)
    if check:
        try:
            report = gradcheck.check_derivation(d, backend=backend)
        except errors.GradientCheckError as exc:
            click.echo(f"gradient check FAILED ({backend}): {exc}", err=True)
            sys.exit(1)
        click.echo(
            f"gradient check passed for {report['pair']} ({backend} module): vs mpmath max relative error "
            f"{report['max_rel_error_mpmath']:.1e}, max absolute error {report['max_abs_error_mpmath']:.1e}; "
            f"vs finite differences max error {report['max_error_finite_differences']:.1e}",
            err=True,
        )


#: The longest time budget of one step that ``derive verify --timeout`` takes, in seconds (an hour).
MAX_TIMEOUT = 3600.0


def _read(file: TextIO) -> str:
    """The text of ``file`` (UTF-8); errors.DocumentError for bytes that are not UTF-8 (a PDF, a UTF-16 file)."""
    try:
        return file.read()
    except UnicodeDecodeError as exc:
        name = "standard input" if file.name == "<stdin>" else file.name
        raise errors.DocumentError(
            f"{name} is not UTF-8 text: byte {exc.start} is {exc.object[exc.start : exc.start + 1]!r} "
            "(derive verify reads .tex, .md and .ipynb files saved as UTF-8)"
        ) from None


@main.command("verify")
@click.argument("files_in", metavar="FILE...", nargs=-1, required=True, type=click.File("r", encoding="utf-8"))
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object: chains, steps, skipped displays, summary."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(document.FORMATS),
    default=None,
    help="How to read FILE; default: by its extension (.tex, .md, .ipynb), else (and for -) by its content.",
)
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
    type=options.FiniteFloatRange(min=0.1, max=MAX_TIMEOUT),
    default=verify_module.DEFAULT_TIMEOUT,
    show_default=True,
    metavar="S",
    help="Seconds each step may take; a step that runs out is undecided.",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1, max=64),
    default=1,
    show_default=True,
    metavar="N",
    help="Check N files at once, each in a worker process of its own (the verdicts do not change).",
)
@click.option(
    "--annotate",
    "annotated",
    type=click.Path(path_type=Path),
    default=None,
    metavar="OUT.tex",
    help="Also write the (LaTeX) input with every step marked, and compile it to OUT.pdf with pdflatex.",
)
def verify_command(files_in, as_json, fmt, defines, assumptions, timeout, jobs, annotated) -> None:
    """Check hand-written derivations (.tex, .md, .ipynb, or - for standard input) step by step.

    Math is read from align, equation, eqnarray, gather, aligned, \\[ \\], $$ $$ (environments
    inside them too), MathJax script blocks, GitLab $`…`$, and the markdown and %%latex cells of a
    notebook (lines CELL:LINE).  A row 'A &= B = C' and the rows after it starting with '&='
    form one chain of steps.  Each step is marked ✓ (equal), ✗ (not equal, with a
    counterexample), ? (undecided) or ! (parse error); a display that gives no step is listed
    as skipped, with the reason.  Exit code: 0 when every step is equal, 1 when one is not
    equal or undecided, 2 for parse and usage errors and when there is nothing to check; with
    several files, the largest of theirs.  Several files share the worker processes; --jobs N
    checks N at once, with a progress bar on a terminal.

    Example:

    \b
        derive verify notes.tex
        derive verify notes.md --define 'a=\\sigma(z)'
        derive verify notes.tex --annotate checked.tex
        derive verify chapter*.tex --jobs 2
    """
    if annotated is not None and len(files_in) > 1:
        raise errors.InvalidOption("--annotate writes one annotated copy: give it one FILE")
    options.check_writable(annotated)  # before the work, which may take minutes
    texts = [_read(file) for file in files_in]
    names = [None if file.name == "<stdin>" else file.name for file in files_in]
    formats = [fmt or document.format_for(name, text) for name, text in zip(names, texts, strict=True)]
    if annotated is not None and formats[0] != "tex":
        raise errors.InvalidOption(
            f"--annotate writes LaTeX: it needs a LaTeX input, not {formats[0]} (use --format tex)"
        )
    reports = _verify_files(texts, formats, defines, assumptions, timeout, jobs, show_bar=not as_json)
    if len(reports) == 1:
        report = reports[0]
        options.echo_json(report.as_dict()) if as_json else click.echo(report.text())
    elif as_json:
        shown = [{"file": name or "-", **r.as_dict()} for name, r in zip(names, reports, strict=True)]
        options.echo_json({"files": shown, "summary": _total(reports)})
    else:
        for name, r in zip(names, reports, strict=True):
            click.echo(f"== {name or '-'} ==\n{r.text()}\n")
        total = _total(reports)
        click.echo(
            f"{len(reports)} files: {total['equal']} equal, {total['not_equal']} not equal, "
            f"{total['undecided']} undecided, {total['parse_error']} parse errors"
        )
    if annotated is not None:
        source = annotate_module.annotate(texts[0], reports[0])
        files.write_text(annotated, source)
        compile.pdf(source, annotated.with_suffix(".pdf"))
        click.echo(f"wrote {annotated} and {annotated.with_suffix('.pdf')}", err=True)
    sys.exit(max(r.exit_code for r in reports))


def _verify_files(texts, formats, defines, assumptions, timeout, jobs, show_bar: bool) -> list:
    """verify of each text in its format, ``jobs`` at once; a progress bar on a terminal for several files."""
    run = functools.partial(verify_module.verify_many, texts, defines, assumptions, timeout, formats, jobs)
    if not (show_bar and len(texts) > 1 and sys.stderr.isatty()):
        return run()
    lock = threading.Lock()
    with click.progressbar(length=len(texts), label="derive verify", file=sys.stderr) as bar:

        def advance(_i: int) -> None:
            with lock:  # called from the threads of --jobs
                bar.update(1)

        return run(advance)


def _total(reports: list) -> dict[str, int]:
    return {key: sum(r.summary[key] for r in reports) for key in reports[0].summary}
