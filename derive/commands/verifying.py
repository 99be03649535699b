"""``derive verify``: hand-written derivations checked step by step.

It imports no more than verify needs (no catalog pairs, no export, no matplotlib), so that a run over
a short file is mostly the check itself.
"""

from __future__ import annotations

import functools
import sys
import threading
from pathlib import Path
from typing import TextIO

import click

from derive import errors, files
from derive.commands import basics
from derive.render import compile
from derive.verification import annotate as annotate_module
from derive.verification import document
from derive.verification import verify as verify_module

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


@click.command("verify")
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
    type=basics.FiniteFloatRange(min=0.1, max=MAX_TIMEOUT),
    default=verify_module.DEFAULT_TIMEOUT,
    show_default=True,
    metavar="S",
    help="Seconds each step may take; a step that runs out is undecided.",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1, max=64),
    default=verify_module.DEFAULT_JOBS,
    show_default=True,
    metavar="N",
    help="Use N worker processes: N files at once, or one file's steps N at a time (the verdicts do not change).",
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
    several files, the largest of theirs.  The steps are checked in worker processes (--jobs, by
    default two on a machine with two cores or more): several files share them, N files at once,
    with a progress bar on a terminal; one file has its steps checked N at a time.

    Example:

    \b
        derive verify notes.tex
        derive verify notes.md --define 'a=\\sigma(z)'
        derive verify notes.tex --annotate checked.tex
        derive verify chapter*.tex --jobs 2
    """
    if annotated is not None and len(files_in) > 1:
        raise errors.InvalidOption("--annotate writes one annotated copy: give it one FILE")
    basics.check_writable(annotated)  # before the work, which may take minutes
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
        basics.echo_json(report.as_dict()) if as_json else click.echo(report.text())
    elif as_json:
        shown = [{"file": name or "-", **r.as_dict()} for name, r in zip(names, reports, strict=True)]
        basics.echo_json({"files": shown, "summary": _total(reports)})
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
