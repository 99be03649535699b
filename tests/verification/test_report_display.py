"""The report of ``derive verify`` in a terminal and in Jupyter: text, a short ``repr``, HTML and LaTeX.

Issue 13: a Report had no rich display in a notebook, and a step that did not parse
(``\\frac{a}{ = b``) was shown as ``\\frac{a}{ = b = ``.  The reports here are built by hand,
so that what is shown is tested apart from how verify decides.
"""

from __future__ import annotations

import html

import pytest

from derive.verification import report as report_module

StepResult = report_module.StepResult

EQUAL = StepResult("a + a", "2a", "equal", 2)
WRONG = StepResult(
    "2a",
    "3a",
    "not_equal",
    3,
    message="the sides differ",
    hint="the sides differ by a constant factor 2/3",
    counterexample={"point": {"a": 0.19, "k": 2}, "lhs": 0.38, "rhs": 0.57},
)
UNPARSED = StepResult(r"\frac{a}{ = b", "", "parse_error", 4, message="'{' is never closed at position 8")
UNDECIDED = StepResult(r"\frac{\partial C}{\partial w}", "x_j \\delta", "undecided", 5, message="a derivative <of> C")
HOSTILE = StepResult("<script>alert(1)</script>", "x & y", "not_equal", 6, message="<b>bold</b>")
SKIPPED = report_module.Skipped(7, "$$", "no relation (=, <, …)", r"\frac{x}{y} <i>")


def _report(*steps: StepResult, skipped: tuple = ()) -> report_module.Report:
    return report_module.Report(chains=[report_module.Chain(list(steps))], skipped=list(skipped))


def test_a_step_that_did_not_parse_is_shown_as_written():
    """Its text is all in lhs (never split at a relation): no dangling ' = ' after it."""
    text = _report(UNPARSED).text()
    assert "  ! \\frac{a}{ = b  (line 4)\n      '{' is never closed at position 8" in text
    assert "= b = " not in text


@pytest.mark.parametrize(
    ("report", "shown"),
    [
        (
            _report(EQUAL, WRONG, UNPARSED, skipped=[SKIPPED]),
            "Report(format='tex', chains=1, equal=1, not_equal=1, undecided=0, parse_error=1, skipped=1)",
        ),
        (
            report_module.Report(),
            "Report(format='tex', chains=0, equal=0, not_equal=0, undecided=0, parse_error=0, skipped=0)",
        ),
    ],
)
def test_repr_is_one_line_of_counts(report, shown):
    assert repr(report) == shown


def _rows(page: str) -> list[str]:
    return [row.split("</tr>")[0] for row in page.split("<tr>")[1:]]


def test_html_marks_each_step_and_gives_the_counterexample():
    page = _report(EQUAL, WRONG, UNPARSED, UNDECIDED, skipped=[SKIPPED])._repr_html_()
    assert page.startswith('<div class="derive-report"><table>')
    rows = _rows(page)
    assert rows[0] == '<th colspan="4" style="text-align:left">chain 1</th>'
    marks = {"equal": '"color:green">✓', "not_equal": '"color:red">✗', "undecided": '"color:orange">?'}
    assert marks["equal"] in rows[1] and html.escape(r"\(a + a = 2a\)") in rows[1] and "line 2" in rows[1]
    assert marks["not_equal"] in rows[2]
    assert "counterexample: a = 0.19, k = 2: left = 0.38, right = 0.57" in rows[2]
    assert "hint: the sides differ by a constant factor 2/3" in rows[2]
    assert '"color:red">!' in rows[3] and html.escape(r"<code>\frac{a}{ = b</code>") not in rows[3]
    assert r"<code>\frac{a}{ = b</code>" in rows[3]  # as written, as code: it is not math
    assert marks["undecided"] in rows[4] and "a derivative &lt;of&gt; C" in rows[4]
    assert "skipped: no relation (=, &lt;, …)" in rows[5] and r"<code>\frac{x}{y} &lt;i&gt;</code>" in rows[5]
    assert page.endswith("<p>1 equal, 1 not equal, 1 undecided, 1 parse errors, 1 display skipped</p></div>")


def test_html_escapes_everything_from_the_document():
    page = _report(HOSTILE)._repr_html_()
    assert "<script>" not in page and "<b>bold" not in page
    assert html.escape("\\(<script>alert(1)</script> = x & y\\)") in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page


def test_latex_marks_each_step_in_colour_and_writes_the_rest_as_text():
    latex = _report(EQUAL, WRONG, UNPARSED, UNDECIDED)._repr_latex_()
    assert latex.startswith(r"$$\begin{array}{rcl}") and latex.endswith(r"\end{array}$$")
    rows = latex.removeprefix(r"$$\begin{array}{rcl}").removesuffix(r"\end{array}$$").split(r" \\ ")
    assert rows[0] == r"{\color{green}\checkmark}\ a + a &=& 2a"
    assert rows[1] == (
        r"{\color{red}\times}\ 2a &=& 3a\quad \text{the sides differ; counterexample: a = 0.19, k = 2: "
        r"left = 0.38, right = 0.57; hint: the sides differ by a constant factor 2/3}"
    )
    # the unparsed step as text: its backslash and braces cannot start a command or a group
    assert rows[2].startswith(r"{\color{red}!} & & \backslash \text{frac}\{\text{a}\}\{\text{ = b}")
    assert rows[3].startswith(r"{\color{orange}?}\ \frac{\partial C}{\partial w} &=& x_j \delta\quad \text{")
    assert rows[4] == r"& & \text{1 equal, 1 not equal, 1 undecided, 1 parse errors}"


@pytest.mark.parametrize(
    ("words", "latex"),
    [
        ("plain words", r"\text{plain words}"),
        (r"\input{/etc/passwd}", r"\backslash \text{input}\{\text{/etc/passwd}\}"),
        (
            "50% & $x_1$ # ~ ^",
            r"\text{50}\%\text{ }\&\text{ }\$\text{x}\_\text{1}\$\text{ }\#\text{ }\sim \text{ }\hat{}",
        ),
    ],
)
def test_latex_text_escapes_every_special_character(words, latex):
    assert report_module._latex_text(words) == latex
