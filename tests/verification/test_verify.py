"""derive verify: the corpus of hand derivations, the round trip, the CLI, robustness."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import derive
from derive import catalog, cli, errors, gallery
from derive.derivations import pairs
from derive.render import latex
from derive.verification import verify

DATA = Path(__file__).parents[1] / "data" / "verify"
EXPECTED = json.loads((DATA / "expected.json").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus(name):
    """Each derivation of tests/data/verify gets the verdicts written in expected.json."""
    expected = EXPECTED[name]
    report = verify.verify((DATA / name).read_text())
    assert [s.verdict for s in report.steps] == expected["steps"], report.text()
    for index, keyword in expected.get("hints", {}).items():
        step = report.steps[int(index)]
        assert step.hint and keyword in step.hint.lower(), report.text()
    for step in report.steps:
        if step.verdict == "not_equal":
            point = step.counterexample["point"]
            assert point and step.counterexample["lhs"] != pytest.approx(step.counterexample["rhs"])


CLASSIC = {"quadratic", "bce", "poisson", "cross_entropy", "sigmoid", "tanh", "identity", "exp", "softplus", "relu"}
#: Every classic pair, and each function of the wider catalog in at least one pair (benchmarks/round_trip.py
#: verifies every one of the 99 pairs; here the suite keeps to about one pair per function for time).
ROUND_TRIP = [(lo, act) for lo, act in catalog.pairs(valid=True) if {lo, act} <= CLASSIC or act == "softmax"] + [
    ("quadratic", "leaky_relu"),
    ("huber", "elu"),
    ("hinge", "gelu"),
    ("gaussian_nll", "gelu_tanh"),
    ("squared_hinge", "relu"),
    ("log_cosh", "silu"),
    ("smooth_l1", "softsign"),
    ("gaussian_nll", "hard_sigmoid"),
    ("focal", "sigmoid"),
    ("hinge", "relu"),
]


def test_the_round_trip_table_has_every_function():
    valid = catalog.pairs(valid=True)
    assert set(ROUND_TRIP) <= set(valid)
    assert {lo for lo, _ in ROUND_TRIP} == {lo for lo, _ in valid}
    assert {act for _, act in ROUND_TRIP} == {act for _, act in valid}


@pytest.mark.parametrize(("loss", "activation"), ROUND_TRIP)
def test_round_trip_every_catalog_pair(loss, activation):
    """The LaTeX fragment derive renders for a pair verifies as all-equal.

    Each step gets 60 s, as the real-world corpus does, so that a busy machine cannot turn a verdict into
    "time budget spent" (the slowest step of these fragments takes a few seconds on an idle machine).
    """
    report = verify.verify(latex.latex(pairs.derive(loss, activation)), timeout=60)
    assert report.steps and report.summary["equal"] == len(report.steps), report.text()
    assert report.exit_code == 0


#: The steps of derive's own standalone documents that verify cannot decide, by line of the fragment: in
#: the general BP2 derivation C is left open, so what C depends on beyond layer l + 1 is unknown.
STANDALONE_UNDECIDED = {"shift_invariance": [], "backprop": [12, 14, 15]}


@pytest.mark.parametrize("name", sorted(gallery.STANDALONE))
def test_round_trip_standalone_documents(name):
    """derive's backpropagation and shift-invariance fragments: never "not equal", never unread.

    The backprop fragment redefines z, a and C in its worked network (rows noted "definition" in a
    second display) and assumes Σ_k y_k = 1; the shift fragment writes \\max_k z_k and names its
    result "= a_i (definition)".  Each used to give wrong ✗ verdicts.
    """
    style = latex.Notation()
    report = verify.verify(latex.render(gallery.standalone_document(name, style), "fragment", style), timeout=60)
    undecided = [s.line for s in report.steps if s.verdict == "undecided"]
    assert report.summary["not_equal"] == 0 and report.summary["parse_error"] == 0, report.text()
    assert undecided == STANDALONE_UNDECIDED[name], report.text()
    assert report.summary["equal"] == len(report.steps) - len(undecided)


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        (r"\[ \frac{\partial C}{\partial a} = 0 \]", "undecided"),  # doit() would make it 0 = 0
        (
            r"\[ 2\frac{\partial C}{\partial a} = \frac{\partial C}{\partial a} + \frac{\partial C}{\partial a} \]",
            "equal",
        ),
        (r"\[ \frac{d}{da}\log_{10} a = \frac{1}{a} \]", "not_equal"),
        (r"\[ \frac{d}{da}\log a = \frac{1}{a} \]", "equal"),
        (r"\[ \sigma'(z) = \sigma(z)(1-\sigma(z)) \]", "equal"),
        (r"\[ \sigma(-z) = 1 - \sigma(z) \]", "equal"),
        (r"\[ \sum_{k=1}^{K} \delta_{kj} y_k = y_j \]", "equal"),
        (r"\[ a \le b \]", "undecided"),
    ],
)
def test_single_steps(text, verdict):
    assert [s.verdict for s in verify.verify(text).steps] == [verdict]


@pytest.mark.parametrize(
    "text",
    [
        # a kink by the sign of its argument: θ(u) max(0, u) = max(0, u)
        "\n".join([r"% define: a = \sigma(z)", r"\[ -2y\,\theta(1 - y a)\max(0, 1 - y a) = -2y\max(0, 1 - y a) \]"]),
        # elu's derivative through its output: the sign of a is the sign of z, given α > 0
        "\n".join(
            [
                r"% define: a = \operatorname{ELU}(z)",
                r"% assume: \alpha > 0",
                r"\[ \frac{\partial a}{\partial z} = (a + \alpha)\theta(-a) + \theta(a) \]",
            ]
        ),
        # z = b + Σ w x one symbol inside softsign and |·|
        "\n".join(
            [
                r"% define: z = b + \sum_{k=1}^{m} w_k x_k",
                r"% define: a = \operatorname{softsign}(z)",
                r"\[ \frac{\partial a}{\partial w_j} = (1 - |a|)^2 x_j \]",
            ]
        ),
        # Σ y = 1 put into the proof
        "\n".join(
            [
                r"% define: a_i = \frac{e^{z_i}}{\sum_k e^{z_k}}",
                r"% assume: \sum_k y_k = 1",
                r"\[ \sum_k y_k a_i = a_i \]",
            ]
        ),
    ],
    ids=["hinge kink", "elu through output", "softsign of a sum", "simplex"],
)
def test_steps_proved_symbolically(text):
    """Steps whose proof needs cases of signs, the pre-activation as one symbol, or an assumption."""
    (step,) = verify.verify(text).steps
    assert step.verdict == "equal" and step.message.startswith("proved symbolically"), step.message


def test_elu_through_output_needs_a_positive_alpha():
    text = r"""% define: a = \operatorname{ELU}(z)
\[ \frac{\partial a}{\partial z} = (a + \alpha)\theta(-a) + \theta(a) \]"""
    assert [s.verdict for s in verify.verify(text).steps] == ["not_equal"]  # α < 0: θ(a) is not θ(z)


def test_opaque_derivative_message_names_what_is_missing():
    step = verify.verify(r"\[ \frac{\partial C}{\partial z} = a - y \]").steps[0]
    assert step.verdict == "undecided" and "C" in step.message and "define" in step.message


def test_defines_and_assumptions_as_arguments():
    text = r"\[ \frac{\partial a_i}{\partial z_j} = -a_i a_j \]"
    defines = [r"a_i = \frac{e^{z_i}}{\sum_k e^{z_k}}"]
    assert verify.verify(text, defines=defines, assumptions=[r"i \neq j"]).steps[0].verdict == "equal"
    assert verify.verify(text, defines=defines, assumptions=["i = j"]).steps[0].verdict == "not_equal"


@pytest.mark.parametrize("bad", ["a", r"\sigma(z) = ", r"a + b = c", r"C = C + 1"])
def test_bad_definitions_are_user_errors(bad):
    with pytest.raises(errors.DirectiveError):
        verify.verify(r"\[ a = b \]", defines=[bad])


def test_derive_verify_is_the_public_function():
    assert derive.verify(r"\[ e^{a+b} = e^a e^b \]").exit_code == 0
    assert derive.verify is verify.verify


def test_time_budget_gives_undecided_and_never_hangs():
    heavy = r"\[ \left(\sum_{k=1}^{40} \sigma(z_k)\right)^{12} = \left(\sum_{k=1}^{40} \sigma(z_k)\right)^{12} + 0 \]"
    report = verify.verify(heavy + r"\[ a + a = 2a \]", timeout=0.5)
    assert report.steps[-1].verdict == "equal"  # a worker replaced after a timeout starts outside the budget


def test_works_off_the_main_thread():
    results = []
    thread = threading.Thread(target=lambda: results.append(verify.verify(r"\[ \ln e^{x} = x \]").summary))
    thread.start()
    thread.join(120)
    assert results == [{"equal": 1, "not_equal": 0, "undecided": 0, "parse_error": 0}]


# ---- command line ------------------------------------------------------------------------------

WRONG = r"""
% define: a = \sigma(z)
\begin{align}
C &= -\left[y \ln a + (1-y)\ln(1-a)\right] \\
\frac{\partial C}{\partial z} &= \frac{\partial C}{\partial a}\sigma'(z) \\
 &= y - a
\end{align}
"""


def test_cli_human_output_and_exit_codes(tmp_path):
    runner = CliRunner()
    (tmp_path / "wrong.tex").write_text(WRONG)
    (tmp_path / "right.tex").write_text(WRONG.replace("y - a", "a - y"))
    (tmp_path / "broken.tex").write_text(r"\[ \frac{1}{ \]")
    wrong = runner.invoke(cli.main, ["verify", str(tmp_path / "wrong.tex")])
    assert wrong.exit_code == 1 and "✗" in wrong.output and "counterexample" in wrong.output
    assert "sign flipped" in wrong.output
    assert runner.invoke(cli.main, ["verify", str(tmp_path / "right.tex")]).exit_code == 0
    broken = runner.invoke(cli.main, ["verify", str(tmp_path / "broken.tex")])
    assert broken.exit_code == 2 and "never closed" in broken.output
    missing = runner.invoke(cli.main, ["verify", str(tmp_path / "nope.tex")])
    assert missing.exit_code == 2
    bad_define = runner.invoke(cli.main, ["verify", str(tmp_path / "right.tex"), "--define", "a +"])
    assert bad_define.exit_code == 2 and bad_define.output.startswith("error:")


def test_cli_json_schema_and_stdin():
    result = CliRunner().invoke(cli.main, ["verify", "-", "--json"], input=WRONG)
    data = json.loads(result.output)
    assert set(data) >= {"chains", "summary"}
    assert data["summary"] == {"equal": 1, "not_equal": 1, "undecided": 0, "parse_error": 0}
    step = data["chains"][0]["steps"][1]
    assert set(step) >= {"lhs", "rhs", "verdict", "counterexample", "hint", "message"}
    assert step["verdict"] == "not_equal"
    assert set(step["counterexample"]) == {"point", "lhs", "rhs"}
    assert isinstance(step["counterexample"]["lhs"], float)


def test_cli_define_assume_options():
    text = r"\[ \frac{\partial a_i}{\partial z_j} = -a_i a_j \]"
    args = ["verify", "-", "--define", r"a_i = \frac{e^{z_i}}{\sum_k e^{z_k}}", "--assume", r"i \neq j"]
    assert CliRunner().invoke(cli.main, args, input=text).exit_code == 0


def test_cli_annotate_compiles_with_pdflatex(tmp_path):
    out = tmp_path / "checked.tex"
    result = CliRunner().invoke(cli.main, ["verify", "-", "--annotate", str(out)], input=WRONG)
    assert result.exit_code == 1
    source = out.read_text()
    assert r"\checkmark" in source and r"\times" in source and r"\marginpar" in source
    assert (tmp_path / "checked.pdf").read_bytes().startswith(b"%PDF")


def test_cli_annotate_compiles_hints_in_unicode(tmp_path):
    """A margin note naming σ′(z) (not ASCII) still compiles."""
    text = (
        "% define: z = wx + b\n% define: a = \\sigma(z)\n$$ C = \\frac{1}{2}(a - y)^2 $$\n"
        "$$ \\frac{\\partial C}{\\partial z} = a - y $$\n"
    )
    out = tmp_path / "checked.tex"
    result = CliRunner().invoke(cli.main, ["verify", "-", "--annotate", str(out)], input=text)
    assert result.exit_code == 1, result.output
    assert "σ′(z)" in result.output
    assert (tmp_path / "checked.pdf").read_bytes().startswith(b"%PDF")


# ---- fuzzing -----------------------------------------------------------------------------------

PIECES = [
    r"\frac{",
    "}",
    "{",
    r"\sigma(",
    ")",
    "(",
    "a",
    "y_i",
    "z",
    r"\sum_k",
    r"\ln",
    "e^{",
    "=",
    "+",
    "-",
    r"\partial",
    r"\cdot",
    "'",
    "^",
    "_",
    r"\\",
    "&",
    r"\begin{cases}",
    r"\end{cases}",
    "1",
    r"\delta_{ij}",
    r"\hat{y}",
    r"\nabla_a",
    r"\left(",
    r"\right)",
    r"\text{if}",
    ",",
    r"\quad",
]
SEEDS = [(DATA / name).read_text() for name in sorted(EXPECTED)[:10]]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=14))
def test_fuzz_random_latex(pieces):
    report = verify.verify(r"\begin{align}" + " ".join(pieces) + r"\end{align}", timeout=2)
    assert all(s.verdict in verify.VERDICTS for s in report.steps)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SEEDS), st.integers(0, 10_000), st.integers(1, 4), st.sampled_from(PIECES + ["", " "]))
def test_fuzz_mutated_derivations(seed, where, width, replacement):
    position = where % max(1, len(seed))
    mutated = seed[:position] + replacement + seed[position + width :]
    try:
        report = verify.verify(mutated, timeout=2)
    except errors.DirectiveError:
        return  # a mutated % define: line is a user error with a message
    assert all(s.verdict in verify.VERDICTS for s in report.steps)
