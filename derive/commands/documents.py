"""The commands that write documents: ``latex`` (one derivation, or every pair) and ``gallery``.

``-o/--output FILE`` is one file, whose suffix must fit the template; ``-d/--directory DIR`` is the
folder of ``latex --all`` and ``gallery`` (see :mod:`derive.commands.options`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from derive import catalog, errors, gallery
from derive.commands import basics, options
from derive.derivations import pairs
from derive.engine import steps
from derive.parse import catalog_file
from derive.render import compile
from derive.render import latex as render_latex


@click.command()
@options.pair_options(required=False)
@click.option(
    "--all",
    "all_pairs",
    is_flag=True,
    help="Every valid catalog pair (and --catalog pair), one file each, into -d DIR.",
)
@basics.output_file("*.tex; *.md for --template markdown")
@basics.directory(None, "With --all: the folder that gets one file per pair.")
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
@options.notation_options
def latex(
    loss: str | type | None,
    activation: str | type | None,
    lab: catalog_file.LabCatalog | None,
    all_pairs: bool,
    output: Path | None,
    directory: Path | None,
    template: str,
    template_dir: Path | None,
    make_pdf: bool,
    classes: int | None,
    style: render_latex.Notation,
) -> None:
    """Write the derivation of LOSS composed with ACTIVATION as LaTeX or Markdown.

    The fragment needs only amsmath; the article compiles on its own (and
    includes the cancellation table).  With --pdf, the .tex is kept next to the
    PDF, and a LaTeX error is reported with the log's first error line.

    -o FILE is the one file to write; its name must end in .tex (.md for the
    markdown template), so a mistyped option never becomes a stray file.
    --all writes one file per pair into -d DIR.  --loss and --activation take
    your own formulas (see derive show --help), --catalog a lab's file.

    Example:

    \b
        derive latex bce sigmoid --template article --pdf -o outputs/bce_sigmoid.tex
        derive latex --all -d outputs/
        derive latex --loss 'L(a, y) = |a-y|^p \\quad (p \\ge 1)' --activation tanh -o abs_tanh.tex
    """
    if make_pdf and template != "article":
        raise errors.InvalidOption("--pdf compiles a whole document: use it with --template article")
    if all_pairs:
        if output is not None:
            raise errors.InvalidOption("--all writes one file per pair: use -d/--directory DIR, not -o (one file)")
        if loss or activation or directory is None:
            raise errors.InvalidOption("--all takes no LOSS ACTIVATION and needs -d DIR")
        basics.check_writable(directory, folder=True)
        _latex_all(directory, template, template_dir, style, make_pdf, lab)
        return
    if directory is not None:
        raise errors.InvalidOption("-d/--directory is the folder of --all; for one derivation use -o FILE")
    if not (loss and activation):
        raise errors.InvalidOption("give LOSS and ACTIVATION (see `derive list`), or --all")
    if make_pdf and output is None:
        raise errors.InvalidOption("--pdf needs -o FILE.tex")
    options.check_file(output, _suffixes(template), f"--template {template}")
    written = _write_latex(pairs.derive(loss, activation, classes), output, template, template_dir, style, make_pdf)
    if written:
        click.echo(f"wrote {' and '.join(map(str, written))}", err=True)


def _latex_all(
    directory: Path,
    template: str,
    template_dir: Path | None,
    style: render_latex.Notation,
    make_pdf: bool,
    lab: catalog_file.LabCatalog | None = None,
) -> None:
    """One file per valid pair (of the catalog, and of ``lab``) into ``directory``, each path printed as written."""
    for loss, activation in [*catalog.pairs(valid=True), *_lab_pairs(lab)]:
        target = directory / f"{options.name_of(loss)}_{options.name_of(activation)}{_suffixes(template)[0]}"
        _write_latex(pairs.derive(loss, activation), target, template, template_dir, style, make_pdf)
        click.echo(str(target))


def _lab_pairs(lab: catalog_file.LabCatalog | None) -> list[tuple[str | type, str | type]]:
    """The valid pairs with a function of ``lab`` in them (a lab loss with every activation, and so on)."""
    if lab is None:
        return []
    losses = [*catalog.LOSSES.values(), *lab.losses.values()]
    activations = [*catalog.ACTIVATIONS.values(), *lab.activations.values()]
    own = {*lab.losses.values(), *lab.activations.values()}
    return [
        (loss, act) for loss in losses for act in activations if (loss in own or act in own) and catalog.fits(loss, act)
    ]


def _suffixes(template: str) -> tuple[str, ...]:
    """The suffixes a file of ``template`` may have: .tex or .md, or the suffix of a template file's name."""
    if template in render_latex.SUFFIX:
        return (render_latex.SUFFIX[template],)
    own = Path(template.removesuffix(".j2")).suffix  # mine.tex.j2 writes .tex
    return (own.lower(),) if own else (".tex", ".md")


def _write_latex(
    result: steps.Derivation,
    output: Path | None,
    template: str,
    template_dir: Path | None,
    style: render_latex.Notation,
    make_pdf: bool,
) -> list[Path]:
    """The document into ``output`` (and its PDF), or onto standard output; returns the files written."""
    table = gallery.neighbour_table(result, style) if template == "article" else []
    doc = render_latex.derivation_document(result, style, table)
    source = render_latex.render(doc, template, style, template_dir)
    basics.write_or_echo(source, output)
    if output is None:
        return []
    if make_pdf:
        return [output, compile.pdf(source, output.with_suffix(".pdf"))]
    return [output]


@click.command("gallery")
@basics.directory(Path("outputs"), "The folder to fill.")
@basics.no_output_file("gallery", "a folder of files")
@options.notation_options
def gallery_command(directory: Path, style: render_latex.Notation) -> None:
    """Fill -d DIR with every catalog derivation: .tex fragments and articles, compiled PDFs, README.md.

    Needs pdflatex.  The output is deterministic: the same bytes on every run.

    Example:

    \b
        derive gallery -d outputs/
    """
    basics.check_writable(directory, folder=True)
    work = gallery.tasks(directory, style)
    with click.progressbar(work, label="derive gallery", file=sys.stderr, item_show_func=lambda t: t and t[0]) as bar:
        for _label, action in bar:
            action()
    click.echo(f"wrote {len(work)} entries to {directory}/ (index: {directory / 'README.md'})")
