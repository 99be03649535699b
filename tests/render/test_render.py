"""LaTeX and Markdown output: golden files, real pdflatex compiles, notation, bad input, the gallery.

The compile tests need pdflatex; CI installs it (.ci/run).  They fail, never
skip, when it is missing.
"""

from __future__ import annotations

import filecmp
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from derive import catalog, cli, errors, gallery, slowdown
from derive.derivations import backprop, pairs, shift
from derive.render import compile, latex

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parents[1] / "golden"
WRAPPER = (
    "\\documentclass{article}\n\\usepackage{amsmath}\n\\allowdisplaybreaks\n\\begin{document}\n%s\n\\end{document}\n"
)


def run(*args: str):
    return CliRunner().invoke(cli.main, list(args))


@pytest.mark.parametrize(("template", "suffix"), [("fragment", "tex"), ("article", "tex"), ("markdown", "md")])
def test_golden(template, suffix):
    got = latex.latex(pairs.derive("bce", "sigmoid"), template)
    assert got == (GOLDEN / f"bce_sigmoid.{template}.{suffix}").read_text(encoding="utf-8")


def test_fragment_is_one_step_per_row_with_its_rule():
    text = latex.latex(pairs.derive("bce", "sigmoid"))
    rows = [line for line in text.splitlines() if "&=" in line]
    assert len(rows) == len(pairs.derive("bce", "sigmoid").steps)
    assert all(r"&& \text{" in row for row in rows)
    assert r"\underbrace{a \left(1 - a\right)}_{\text{cancels}}" in text
    assert "\\usepackage{amsmath}" in text.splitlines()[1]


def test_every_fragment_compiles_with_only_amsmath(tmp_path):
    """The fragments of all the valid pairs in one document whose preamble is only amsmath: one pdflatex
    run (a page each); when it fails, each is compiled alone to name the ones that break.  Every pair's
    article is compiled by test_gallery_is_deterministic (the gallery's PDFs)."""
    fragments = {
        f"{loss}_{act}": latex.latex(pairs.derive(loss, act), "fragment") for loss, act in catalog.pairs(valid=True)
    }
    try:
        pdf = compile.pdf(WRAPPER % "\n\\clearpage\n".join(fragments.values()), tmp_path / "fragments.pdf")
    except errors.LatexError:
        broken = []
        for name, fragment in fragments.items():
            try:
                compile.pdf(WRAPPER % fragment, tmp_path / f"{name}.pdf")
            except errors.LatexError as exc:
                broken.append(f"{name}: {exc}")
        pytest.fail("fragments that do not compile alone:\n" + "\n".join(broken or ["none: only together"]))
    assert pdf.read_bytes().startswith(b"%PDF")


def test_an_article_with_the_table_of_every_pair_compiles(tmp_path):
    table = latex.table_rows([pairs.derive(*p) for p in catalog.pairs(valid=True)], latex.Notation())
    doc = latex.derivation_document(pairs.derive("squared_hinge", "gelu_tanh"), latex.Notation(), table)
    assert compile.pdf(latex.render(doc, "article"), tmp_path / "article.pdf").read_bytes().startswith(b"%PDF")


#: Documents whose second pdflatex run prints something else; uncompressed, so the PDF's text can be searched.
REFERENCES = r"""\pdfcompresslevel=0 \pdfobjcompresslevel=0
\documentclass{article}
\usepackage{amsmath}
\begin{document}
\section{Chain rule}
\begin{equation}\label{eq:delta} \delta = a - y \end{equation}
By \eqref{eq:delta} and Section~\ref{sec:end}, the error is $\delta$.
\section{Last}\label{sec:end}
\end{document}
"""
CONTENTS = r"""\pdfcompresslevel=0 \pdfobjcompresslevel=0
\documentclass{article}
\begin{document}
\tableofcontents
\section{Chain rule}
The error is $\delta = a - y$.
\end{document}
"""


def _counting_runs(monkeypatch) -> list[list[str]]:
    """The pdflatex commands compile.pdf runs from now on (each still runs)."""
    calls: list[list[str]] = []
    real = compile.subprocess.run

    def spy(command, *args, **kwargs):
        calls.append(command)
        return real(command, *args, **kwargs)

    monkeypatch.setattr(compile.subprocess, "run", spy)
    return calls


def test_references_settle(tmp_path, monkeypatch):
    """LaTeX says the references were undefined: pdflatex runs again, and the PDF has no "??"."""
    calls = _counting_runs(monkeypatch)
    text = compile.pdf(REFERENCES, tmp_path / "refs.pdf").read_bytes()
    assert len(calls) == 2
    assert b"[(??)]TJ" not in text and rb"[(By)-347(\0501\051)-334(and)-333(Section)-333(2,)" in text


def test_the_table_of_contents_is_filled(tmp_path, monkeypatch):
    """No warning in the log, but the .toc the next run reads changed: pdflatex runs again."""
    calls = _counting_runs(monkeypatch)
    text = compile.pdf(CONTENTS, tmp_path / "contents.pdf").read_bytes()
    assert len(calls) == 2
    assert text.count(b"(Chain)") == 2  # in the contents and as the heading


def test_an_article_without_references_compiles_in_one_run(tmp_path, monkeypatch):
    """derive's article has nothing a second run reads back: one run, the same bytes as two."""
    source = latex.render(gallery.document("cross_entropy", "softmax", latex.Notation()), "article")
    calls = _counting_runs(monkeypatch)
    once = compile.pdf(source, tmp_path / "once.pdf").read_bytes()
    assert len(calls) == 1
    monkeypatch.setattr(compile, "needs_rerun", lambda log, before, after: len(calls) < 3)
    assert compile.pdf(source, tmp_path / "twice.pdf").read_bytes() == once and len(calls) == 3


@pytest.mark.parametrize("classes", [2, 3])
def test_explicit_k_compiles(classes, tmp_path):
    d = pairs.derive("cross_entropy", "softmax", classes)
    compile.pdf(WRAPPER % latex.latex(d, "fragment"), tmp_path / "k.pdf")


@pytest.mark.parametrize("build", [shift.shift_invariance, backprop.four_equations, backprop.worked_network])
def test_standalone_derivations_compile(build, tmp_path):
    doc = latex.Document("t", [latex.trace_section(build(), latex.Notation())])
    compile.pdf(latex.render(doc, "article"), tmp_path / "t.pdf")
    assert r"\operatorname{sigma" not in latex.render(doc, "fragment")


def test_other_notation_is_used_consistently(tmp_path):
    text = latex.latex(pairs.derive("bce", "sigmoid"), output=r"\hat{y}", cost="J", target="t", sigma=r"\varsigma")
    assert r"\partial J" in text and r"\hat{y}" in text and r"\varsigma" in text
    body = text.split("\n", 2)[2].replace(r"\hat{y}", "OUT")  # every a became \hat{y}, every y became t
    assert not re.search(r"\\partial C\b|\\sigma\b|\ba\b|\by\b", body)
    compile.pdf(WRAPPER % text, tmp_path / "n.pdf")


def test_unknown_symbol_choice():
    with pytest.raises(errors.InvalidOption, match="cost symbol must be one of C, L, J"):
        latex.latex(pairs.derive("bce", "sigmoid"), cost="Q")


def test_repr_latex_for_jupyter():
    d = pairs.derive("bce", "sigmoid")
    out = d._repr_latex_()
    assert out.startswith(r"$$\begin{aligned}") and out.endswith(r"\end{aligned}$$")
    assert out.count("&=") == len(d.steps) and r"\text{cancel}" in out


def test_user_template_dir(tmp_path):
    (tmp_path / "mine.tex.j2").write_text(r"\BLOCK{for s in sections}\VAR{s.rows|length} rows\BLOCK{endfor}")
    result = run("latex", "bce", "sigmoid", "--template-dir", str(tmp_path), "--template", "mine.tex.j2")
    assert result.exit_code == 0 and result.output == "23 rows"


def test_missing_variable_fails_loudly(tmp_path):
    (tmp_path / "bad.tex.j2").write_text(r"\VAR{nonexistent}")
    result = run("latex", "bce", "sigmoid", "--template-dir", str(tmp_path), "--template", "bad.tex.j2")
    assert result.exit_code == 2 and "unknown variable" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["latex", "bce", "sigmoid", "--template", "poster"], "error: unknown template 'poster'"),
        (["latex", "bce", "sigmoid", "-o", "/proc/derive-nope/x.tex"], "error: cannot write /proc/derive-nope/x.tex"),
        (["latex", "bce", "sigmoid", "--pdf", "-o", "x.tex"], "error: --pdf compiles a whole document"),
        (["latex", "bce"], "error: give LOSS and ACTIVATION"),
        (["latex", "--all"], "error: --all takes no LOSS ACTIVATION and needs -d DIR"),
        (["latex", "bce", "sigmoid", "--template-dir", "/nonexistent-derive"], "error: template folder"),
    ],
)
def test_bad_input_is_one_line_exit_2(args, message):
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(message) and len(result.stderr.strip().splitlines()) == 1


def test_pdflatex_missing_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(compile.shutil, "which", lambda name: None)
    result = run("latex", "bce", "sigmoid", "--template", "article", "--pdf", "-o", str(tmp_path / "x.tex"))
    assert result.exit_code == 2 and result.stderr.startswith("error: pdflatex not found")


def test_failed_compile_reports_the_first_error_and_keeps_the_tex(tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "article.tex.j2").write_text(
        "\\documentclass{article}\\begin{document}\n\\nosuchmacro\n\\end{document}\n"
    )
    target = tmp_path / "out" / "x.tex"
    result = run(
        "latex", "bce", "sigmoid", "--template", "article", "--template-dir", str(templates), "--pdf", "-o", str(target)
    )
    assert result.exit_code == 2
    assert result.stderr.startswith("error: x.tex: LaTeX error: Undefined control sequence. (l.2 \\nosuchmacro)")
    assert target.exists() and not target.with_suffix(".pdf").exists()


def test_cli_article_pdf(tmp_path):
    target = tmp_path / "bce_sigmoid.tex"
    result = run("latex", "bce", "sigmoid", "--template", "article", "--pdf", "-o", str(target))
    assert result.exit_code == 0, result.output
    assert target.with_suffix(".pdf").read_bytes().startswith(b"%PDF")
    assert "Which losses cancel which activation derivatives" in target.read_text()


def test_latex_all(tmp_path):
    result = run("latex", "--all", "-d", str(tmp_path), "--template", "markdown")
    assert result.exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{lo}_{a}.md" for lo, a in catalog.pairs(valid=True))


def test_gallery_is_deterministic(tmp_path):
    """Two builds write the same bytes: the whole gallery through the CLI, then again a sample of it (the
    figure, the index, the standalone documents, the pairs with the figure and every seventh pair; every
    PDF is compiled the same way, so a sample shows what a second full build would)."""
    first, second = tmp_path / "one", tmp_path / "two"
    assert run("gallery", "-d", str(first)).exit_code == 0
    names = sorted(p.name for p in first.iterdir())
    assert len([n for n in names if n.endswith(".pdf")]) == len(catalog.pairs(valid=True)) + 3  # + 2 traces, figure
    pair_names = [f"{loss}_{act}" for loss, act in catalog.pairs(valid=True)]
    sample = {"slowdown", "README.md", *gallery.STANDALONE, *pair_names[::7]}
    sample |= {f"{loss}_{act}" for loss, act in gallery.WITH_FIGURE}
    second.mkdir()
    for label, action in gallery.tasks(second):
        if label in sample:
            action()
    written = sorted(p.name for p in second.iterdir())
    assert len(written) >= 3 * (len(sample) - 2)  # .fragment.tex, .tex and .pdf of each document
    match, mismatch, errors_ = filecmp.cmpfiles(first, second, written, shallow=False)
    assert mismatch == [] and errors_ == [] and len(match) == len(written)


def test_committed_gallery_is_fresh():
    """outputs/ holds what `derive gallery` writes now (the .tex files, the index, the figure).

    `derive latex bce sigmoid --template article --pdf -o outputs/bce_sigmoid.tex` writes the same bytes
    for the pairs without the figure.
    """
    outputs = ROOT / "outputs"
    style = latex.Notation()
    for name, doc in gallery.documents(style).items():
        assert (outputs / f"{name}.fragment.tex").read_text(encoding="utf-8") == latex.render(doc, "fragment"), name
        assert (outputs / f"{name}.tex").read_text(encoding="utf-8") == latex.render(doc, "article"), name
        assert (outputs / f"{name}.pdf").exists()
    ds = [pairs.derive(*p) for p in catalog.pairs(valid=True)]
    assert (outputs / "README.md").read_text(encoding="utf-8") == gallery.index(ds, style, slowdown.experiment())
    assert (outputs / "slowdown.png").read_bytes().startswith(b"\x89PNG")
