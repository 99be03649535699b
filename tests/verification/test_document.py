"""The document reader of ``derive verify``: every format, every delimiter, never a silent skip."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from derive import errors
from derive.verification import document, verify


def notebook(*cells: tuple[str, str]) -> str:
    """The JSON of a notebook whose cells are (cell_type, source); sources as lists of lines, as Jupyter saves them."""
    return json.dumps(
        {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {},
            "cells": [
                {"cell_type": kind, "metadata": {}, "source": source.splitlines(keepends=True)}
                for kind, source in cells
            ],
        }
    )


def flat(math: str) -> str:
    return " ".join(math.split())


# (format, text) -> number of displays, then each display row as (line, math with spaces collapsed)
READER_CASES = {
    "tex align": (
        "tex",
        "Text.\n\\begin{align}\na &= b \\\\\n  &= c\n\\end{align}\n",
        1,
        [(3, "a = b"), (4, "= c")],
    ),
    "tex note column": ("tex", "\\begin{align*}\na &= b && \\text{why}\n\\end{align*}", 1, [(2, "a = b")]),
    "eqnarray in $$": (
        "markdown",
        "$$\\begin{eqnarray*}\nx &=& y \\\\\n &=& z\n\\end{eqnarray*}$$\n",
        1,
        [(2, "x = y"), (3, "= z")],
    ),
    "equation+split in \\[": (
        "tex",
        "\\[\\begin{equation}\\begin{split} u &= v \\\\ &= w \\end{split}\\end{equation}\\]",
        1,
        [(1, "u = v"), (1, "= w")],
    ),
    "align* in \\[ with spacing": (
        "tex",
        "\\[\n\\begin{align*}\nf &= g \\\\[1em]\n&= h\n\\end{align*}\n\\]",
        1,
        [(3, "f = g"), (4, "= h")],
    ),
    "array rcl in $$": (
        "tex",
        "$$\\begin{array}{rcl} p & = & q \\\\\\\\ & = & r \\end{array}$$",
        1,
        [(1, "p = q"), (1, "= r")],
    ),
    "cases stays in its row": (
        "tex",
        "$$ f = \\begin{cases} 1 & x > 0 \\\\ 0 & x \\le 0 \\end{cases} $$",
        1,
        [(1, "f = \\begin{cases} 1 & x > 0 \\\\ 0 & x \\le 0 \\end{cases}")],
    ),
    "markdown list item": (
        "markdown",
        "- item:\n  $$\n  a = b\n  $$\n- next\n",
        1,
        [(3, "a = b")],
    ),
    "markdown block quote": ("markdown", "> $$ a = b\n> = c $$\n", 1, [(1, "a = b = c")]),
    "mathjax script": (
        "markdown",
        '<script type="math/tex; mode=display">\n\\begin{aligned}\na &= b \\\\\n&= c\n\\end{aligned}\n</script>',
        1,
        [(3, "a = b"), (4, "= c")],
    ),
    "other script is code": ("markdown", "<script>var x = '$$a = b$$';</script>\n", 0, []),
    "gitlab inline holding aligned": (
        "markdown",
        "- $`\\begin{aligned} a &= b \\\\ &= c \\end{aligned}`$\n",
        1,
        [(1, "a = b"), (1, "= c")],
    ),
    "single $ holding align": ("tex", "$\n\\begin{align}\na &= b\n\\end{align}\n$", 1, [(3, "a = b")]),
    "fenced math": ("markdown", "```math\na = b\n```\n", 1, [(2, "a = b")]),
    "fenced code is not math": ("markdown", "```python\nx = '$$a = b$$'\n```\n", 0, []),
    "code span is not math": ("markdown", "Run `echo $$a = b$$` here.\n", 0, []),
    "html comment is not math": ("markdown", "<!-- $$a = b$$ -->\n$$ c = d $$\n", 1, [(2, "c = d")]),
    "tex comment is not math": ("tex", "% $$a = b$$\n$$ c = d $$\n", 1, [(2, "c = d")]),
    "comment inside markdown math": ("markdown", "$$\na = b % c = d\n$$", 1, [(2, "a = b")]),
    "percent in markdown prose": ("markdown", "50% of it: $$ a = b $$", 1, [(1, "a = b")]),
    "label and tag": ("tex", "\\begin{equation} a = b \\label{e1}\\tag{4-2} \\end{equation}", 1, [(1, "a = b")]),
    "rst math block": ("tex", ".. math::\n\tz = w + b\n\t:label: first\n\nText.\n", 1, [(2, "z = w + b")]),
    "line break with spacing is no display": ("tex", "Text \\\\[2pt] more text, $x$.", 0, []),
    "bare formula": ("tex", "a + a = 2a\n", 1, [(1, "a + a = 2a")]),
    "prose without a relation": ("markdown", "hello\n", 0, []),
}


@pytest.mark.parametrize(("fmt", "text", "count", "rows"), READER_CASES.values(), ids=list(READER_CASES))
def test_reader_finds_every_display_row_and_line(fmt, text, count, rows):
    doc = document.read(text, fmt)
    assert len(doc.displays) == count, doc.displays
    assert [(r.line, flat(r.math)) for r in doc.rows if not r.inline] == rows


INLINE_CASES = {
    "dollar": ("markdown", "We have $y_i = a_i + 1$ here.", ["y_i = a_i + 1"]),
    "paren": ("tex", "We have \\(u = v w\\).", ["u = v w"]),
    "escaped paren": ("markdown", "We have \\\\(u = v w\\\\).", ["u = v w"]),
    "gitlab": ("markdown", "We have $`u = v w`$.", ["u = v w"]),
    "script": ("markdown", '<script type="math/tex">u = v w</script>', ["u = v w"]),
    "no relation": ("markdown", "The sum $\\sum_i y_i$ is one.", []),
    "dollar sign in prose": ("markdown", "It costs $5, or $6 = too much.\n\nNext paragraph", []),
}


@pytest.mark.parametrize(("fmt", "text", "inline"), INLINE_CASES.values(), ids=list(INLINE_CASES))
def test_inline_math_with_a_relation_gives_inline_rows(fmt, text, inline):
    doc = document.read(text, fmt)
    assert doc.displays == []
    assert [flat(r.math) for r in doc.rows if r.inline] == inline


def test_notebook_reads_markdown_and_latex_cells_with_cell_line_numbers():
    text = notebook(
        ("markdown", "# Title\n\n$$\na = b\n$$\n"),
        ("code", "x = 1  # $$c = d$$ in code is not math\n"),
        ("code", "%%latex\n\\begin{align}\ne &= f \\\\\n&= g\n\\end{align}\n"),
        ("raw", "$$h = i$$"),
    )
    doc = document.read(text, "ipynb")
    assert [(r.line, flat(r.math)) for r in doc.rows] == [("0:4", "a = b"), ("2:3", "e = f"), ("2:4", "= g")]
    assert [d.line for d in doc.displays] == ["0:3", "2:2"]


@pytest.mark.parametrize("bad", ["{not json", "[]", '{"cells": 3}', '{"nbformat": 4}'])
def test_a_broken_notebook_is_a_user_error(bad):
    with pytest.raises(errors.DocumentError, match="not a Jupyter notebook"):
        document.read(bad, "ipynb")


@pytest.mark.parametrize(
    ("name", "text", "fmt"),
    [
        ("notes.tex", "$$a = b$$", "tex"),
        ("notes.md", "\\documentclass{article}", "markdown"),
        ("notes.MD", "", "markdown"),
        ("book.ipynb", "", "ipynb"),
        (None, '{"cells": [], "nbformat": 4}', "ipynb"),
        (None, "\\documentclass{article}\n# not a heading", "tex"),
        (None, "# Heading\n\n$$a = b$$", "markdown"),
        (None, "- $$a = b$$", "markdown"),
        (None, "<!-- define: a = b -->", "markdown"),
        (None, "\\[ a = b \\]", "tex"),
        ("notes.txt", "| a | $b$ |", "markdown"),
    ],
)
def test_format_by_extension_else_by_content(name, text, fmt):
    assert document.format_for(name, text) == fmt


def test_unknown_format_is_a_user_error():
    with pytest.raises(errors.InvalidOption, match="unknown format 'rst'"):
        verify.verify("a = b", format="rst")


@pytest.mark.parametrize(
    ("fmt", "text", "directives"),
    [
        (
            "tex",
            "% define: a = \\sigma(z)\n%% assume: i \\neq j\n",
            [("define", "a = \\sigma(z)", 1), ("assume", "i \\neq j", 2)],
        ),
        ("markdown", "Text\n<!-- define: a = b c -->\n", [("define", "a = b c", 2)]),
        ("markdown", "% assume: 0 < a < 1\n# Title\n", [("assume", "0 < a < 1", 1)]),
        (
            "ipynb",
            notebook(("code", "x = 1"), ("markdown", "Text\n% define: u = v w\n")),
            [("define", "u = v w", "1:2")],
        ),
    ],
)
def test_directives_in_every_format(fmt, text, directives):
    assert [(d.kind, d.text, d.line) for d in document.read(text, fmt).directives] == directives


# ---- never a silent skip -----------------------------------------------------------------------

SKIP_CASES = {
    "expression only": ("markdown", "Goal:\n$$\n\\frac{d}{dx} \\sigma(x)\n$$\n", [(2, "$$", "no relation")]),
    "empty $$": ("markdown", "$$ $$", [(1, "$$", "empty")]),
    "unclosed $$": ("markdown", "Text $$ a = b\n\nmore", [(1, "$$", "no closing $$ in the text")]),
    "lone $$ in a table cell": ("markdown", "| x | $$ |\n|---|---|\n", [(1, "$$", "no closing $$ in its table cell")]),
    "unclosed \\[": ("tex", "\\[ a = b", [(1, "\\[", "no closing \\]")]),
    "begin without end": ("tex", "\\begin{align} a = b", [(1, "align", "has no \\end{align}")]),
    "empty script": ("markdown", '<script type="math/tex; mode=display"></script>', [(1, "script", "empty")]),
}


@pytest.mark.parametrize(("fmt", "text", "skipped"), SKIP_CASES.values(), ids=list(SKIP_CASES))
def test_displays_without_a_step_are_reported_with_the_reason(fmt, text, skipped):
    report = verify.verify(text, format=fmt)
    assert [(s.line, s.kind) for s in report.skipped] == [(line, kind) for line, kind, _ in skipped]
    for entry, (_, _, reason) in zip(report.skipped, skipped, strict=True):
        assert reason in entry.reason
    assert report.nothing_to_check and report.exit_code == 2
    assert "skipped" in report.text() and "nothing to check" in report.text()
    assert report.as_dict()["skipped"] == [s.as_dict() for s in report.skipped]


@pytest.mark.parametrize(
    ("fmt", "text"),
    [
        ("markdown", ""),
        ("markdown", "hello\n"),
        ("tex", "\\documentclass{article}\\begin{document}Hello.\\end{document}"),
        ("markdown", "# Notes\n\nOnly prose, and $x$ inline.\n"),
        ("tex", "% define: a = b c\n"),
        ("ipynb", notebook(("markdown", "Only prose."))),
    ],
)
def test_nothing_to_check_exits_2(fmt, text):
    report = verify.verify(text, format=fmt)
    assert report.steps == [] and report.nothing_to_check
    assert report.exit_code == 2
    assert "nothing to check" in report.text()


# ---- steps: their lines, inline definitions ----------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "text", "lines"),
    [
        ("markdown", "$$\nu = 2a\n= a + a\n= 2a\n$$", [3, 4]),  # u = 2a defines u
        ("tex", "\\begin{align}\na + a &=\n 2a \\\\\n &= a \\cdot 2\n\\end{align}", [3, 4]),
        ("markdown", "$$ a + a = 2a $$\n\nProse.\n\n$$ = a \\cdot 2 $$", [1, 5]),  # a chain across displays
        ("ipynb", notebook(("markdown", "Text"), ("markdown", "$$\na + a\n= 2a\n$$")), ["1:3"]),
    ],
)
def test_a_steps_line_is_where_its_right_side_starts(fmt, text, lines):
    report = verify.verify(text, format=fmt)
    assert [s.line for s in report.steps] == lines
    assert report.exit_code == 0, report.text()


def test_inline_math_defines_a_name_and_is_never_a_step():
    text = (
        "Let $u = a + b$ and, if $i = k$, note $\\sum_i y_i = 1$ and $a_i = 2$.\n\n"
        "$$\nu - b = a\n$$\n\nand $u = 3b$ (already defined: not a step either).\n"
    )
    report = verify.verify(text, format="markdown")
    assert report.definitions == [("u", "a + b", 1)]
    assert [(s.lhs, s.verdict, s.line) for s in report.steps] == [("u - b", "equal", 4)]


def test_verify_file_takes_the_format_from_the_extension(tmp_path):
    text = "- item\n  $$\\begin{align}a + a &= 2a\\end{align}$$\n"
    (tmp_path / "notes.md").write_text(text)
    (tmp_path / "notes.ipynb").write_text(notebook(("markdown", text)))
    assert [s.line for s in verify.verify_file(tmp_path / "notes.md").steps] == [2]
    assert [s.line for s in verify.verify_file(tmp_path / "notes.ipynb").steps] == ["0:2"]
    with pytest.raises(errors.DocumentError, match="cannot read"):
        verify.verify_file(tmp_path / "missing.md")


# ---- fuzzing: offsets and lines are the source's ------------------------------------------------

PIECES = [
    "$$", "$", "$`", "`$", "`", "```", "```math", "\n", "\n\n", "> ", "- ", "  ", "|", "%", "<!--", "-->",
    "\\[", "\\]", "\\(", "\\)", "\\\\", "\\\\[2pt]", "&", "&=", "=", "a", "b_i", "\\frac{a}{b}", "{", "}",
    "\\begin{align}", "\\end{align}", "\\begin{split}", "\\end{split}", "\\begin{cases}", "\\end{cases}",
    "\\begin{array}{rcl}", "\\end{array}", '<script type="math/tex; mode=display">', "</script>", ".. math::",
    "\\label{x}", "\\text{note}", "\t",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=30), st.sampled_from(["tex", "markdown"]))
def test_fuzz_rows_keep_the_sources_offsets_and_lines(pieces, fmt):
    text = "".join(pieces)
    doc = document.read(text, fmt)
    for row in doc.rows:
        assert row.math.strip() == row.math and row.math
        source = text[row.start : row.start + len(row.math)]
        assert all(m == s or m == " " for m, s in zip(row.math, source, strict=True)), (row, source)
        assert row.first == text.count("\n", 0, row.start) + 1 == row.line
    assert [d.block for d in doc.displays] == list(range(len(doc.displays)))
    assert all(0 <= d.start <= d.end <= d.close <= len(text) for d in doc.displays)
