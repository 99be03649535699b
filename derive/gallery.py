"""The gallery in outputs/: every catalog derivation as a LaTeX fragment and a compiled PDF.

For every valid loss ∘ activation pair, ``<loss>_<activation>.fragment.tex``
is the fragment (for ``\\input``), ``<loss>_<activation>.tex`` the article
(with the cancellation table of the pairs that share its loss or its activation)
and ``<loss>_<activation>.pdf`` the article compiled; the shift-invariance and backpropagation derivations get the same;
``README.md`` indexes them with the cancellation table in Markdown.  The
output is deterministic: the same bytes on every run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from derive import _version, catalog, files, slowdown
from derive.derivations import backprop, pairs, shift
from derive.engine import steps
from derive.render import compile, latex

Task = tuple[str, Callable[[], object]]

#: The articles that show the learning-slowdown figure, and its caption.
WITH_FIGURE = {("quadratic", "sigmoid"), ("bce", "sigmoid")}
FIGURE_CAPTION = (
    r"One sigmoid neuron trained by gradient descent ($x = 1$, $y = 0$, $\eta = 0.15$) with derive's exported "
    r"gradients: from the badly wrong start $(w, b) = (2, 2)$ the quadratic cost learns slowly, because $\delta$ "
    r"keeps the factor $\sigma'(z)$; cross-entropy does not."
)


def neighbour_table(d: steps.Derivation, style: latex.Notation) -> list[dict[str, str]]:
    """The cancellation table of an article: the pairs that share its loss or its activation."""
    if d.loss_function is None or d.activation_function is None:
        return latex.table_rows([d], style)
    related = catalog.neighbours(d.loss_function, d.activation_function)
    return latex.table_rows([pairs.derive(*pair) for pair in related], style)


def document(loss: str, activation: str, style: latex.Notation) -> latex.Document:
    """The document of one catalog pair, with the table of its neighbours (and the slowdown figure for two)."""
    d = pairs.derive(loss, activation)
    figures = [latex.Figure(f"{slowdown.FIGURE}.pdf", FIGURE_CAPTION)] if (d.loss, d.activation) in WITH_FIGURE else []
    return latex.derivation_document(d, style, neighbour_table(d, style), figures)


def documents(style: latex.Notation) -> dict[str, latex.Document]:
    """The document of every valid pair, named <loss>_<activation> (see :func:`document`)."""
    return {f"{loss}_{act}": document(loss, act, style) for loss, act in catalog.pairs(valid=True)}


def tasks(out_dir: Path, style: latex.Notation | None = None) -> list[Task]:
    """The gallery as (label, action) pairs, so a caller can show progress; the figure comes first."""
    style = style or latex.Notation()
    runs = slowdown.experiment()
    out: list[Task] = [("slowdown", lambda: slowdown.plot(runs, out_dir, 1.0, 0.0, 0.15))]
    for loss, act in catalog.pairs(valid=True):  # each derived when its turn comes: the first files appear at once
        name = f"{loss}_{act}"
        out.append((name, _pair_writer(out_dir / name, loss, act, style)))
    for name in STANDALONE:
        out.append((name, _standalone_writer(out_dir / name, name, style)))
    derivations = [pairs.derive(loss, act) for loss, act in catalog.pairs(valid=True)]  # cached: no rework
    out.append(("README.md", lambda: files.write_text(out_dir / "README.md", index(derivations, style, runs))))
    return out


def build(out_dir: Path, style: latex.Notation | None = None) -> Iterator[str]:
    """Write the whole gallery, yielding each label as it is done."""
    for label, action in tasks(Path(out_dir), style):
        action()
        yield label


def _backprop() -> tuple[steps.Trace, steps.Trace]:
    return backprop.four_equations(), backprop.worked_network()


#: The derivations of the gallery that are no catalog pair: name → the traces of its document.
STANDALONE: dict[str, Callable[[], tuple[steps.Trace, ...]]] = {
    "shift_invariance": lambda: (shift.shift_invariance(),),
    "backprop": _backprop,
}


def standalone_document(name: str, style: latex.Notation) -> latex.Document:
    """The document of a :data:`STANDALONE` derivation: a section per trace."""
    traces = STANDALONE[name]()
    sections = [latex.trace_section(t, style) for t in traces]
    return latex.Document(latex.text(traces[0].title.capitalize()), sections)


def _pair_writer(stem: Path, loss: str, activation: str, style: latex.Notation) -> Callable[[], None]:
    return lambda: _write_document(stem, document(loss, activation, style), style)


def _standalone_writer(stem: Path, name: str, style: latex.Notation) -> Callable[[], None]:
    return lambda: _write_document(stem, standalone_document(name, style), style)


def _write_document(stem: Path, doc: latex.Document, style: latex.Notation) -> None:
    """stem.fragment.tex, stem.tex (the article) and stem.pdf (the article compiled)."""
    files.write_text(stem.parent / f"{stem.name}.fragment.tex", latex.render(doc, "fragment", style))
    article = latex.render(doc, "article", style)
    files.write_text(stem.parent / f"{stem.name}.tex", article)
    compile.pdf(article, stem.parent / f"{stem.name}.pdf")


def index(derivations: Sequence[steps.Derivation], style: latex.Notation, runs: Sequence[slowdown.Run] = ()) -> str:
    """outputs/README.md: links to every file, the cancellation table, and the slowdown runs if given."""

    lines = [
        "# derive gallery",
        "",
        f"Written by `derive gallery` (derive {_version.__version__}); every step of every derivation was proven equal",
        "to the step before it. Each `.fragment.tex` is an `align*` block for `\\input{}` (needs only amsmath);",
        "each `.tex` is the whole article (with the cancellation table of the pairs that share its loss or its",
        "activation) and `.pdf` that article compiled.",
        "",
        "| loss | activation | δ | cancels | saturates | files |",
        "|---|---|---|---|---|---|",
    ]
    for d in derivations:
        name = f"{d.loss}_{d.activation}"
        delta = latex.tex(d.delta, style)
        lines.append(
            f"| {d.loss} | {d.activation} | ${delta}$ | {'yes' if d.cancels else 'no'} | "
            f"{latex.yes_no(d.saturates)} | [fragment]({name}.fragment.tex), [article]({name}.tex), "
            f"[pdf]({name}.pdf) |"
        )
    lines += [
        "",
        "Standalone derivations:",
        "",
        "- softmax shift invariance and the max shift: [fragment](shift_invariance.fragment.tex), "
        "[article](shift_invariance.tex), [pdf](shift_invariance.pdf)",
        "- the four equations of backpropagation and a worked network: [fragment](backprop.fragment.tex), "
        "[article](backprop.tex), [pdf](backprop.pdf)",
        "",
    ]
    if runs:
        lines += [
            "## The learning slowdown",
            "",
            "One sigmoid neuron, x = 1, y = 0, η = 0.15, trained with the gradients derive exports "
            "(`derive slowdown`; [pdf](slowdown.pdf)):",
            "",
            "![a and C against epoch for the quadratic cost and cross-entropy](slowdown.png)",
            "",
            "```",
            slowdown.table(runs),
            "```",
            "",
        ]
    return "\n".join(lines)
