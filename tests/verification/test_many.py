"""Many documents in one run: derive.verify_many, `derive verify a.tex b.md …`, --jobs, and verdicts under load.

The verdicts must not depend on how many documents run at once, nor on how busy the machine is:
the corpus of tests/data/verify is checked with two busy-loop processes started by the test on
this machine's cores, against the verdicts of expected.json (what the idle run gives).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import derive
from derive import cli, errors
from derive.verification import verify

DATA = Path(__file__).parents[1] / "data" / "verify"
EXPECTED = json.loads((DATA / "expected.json").read_text())
NAMES = sorted(EXPECTED)


def _verdicts(report) -> list[str]:
    return [s.verdict for s in report.steps]


def test_verify_many_gives_each_documents_verdicts_in_order_whatever_the_jobs():
    names = NAMES[:8]
    texts = [(DATA / n).read_text() for n in names]
    done: list[int] = []
    one_at_a_time = verify.verify_many(texts, jobs=1)
    two_at_a_time = verify.verify_many(texts, jobs=2, progress=done.append)
    assert sorted(done) == list(range(len(texts)))
    for name, a, b in zip(names, one_at_a_time, two_at_a_time, strict=True):
        assert _verdicts(a) == _verdicts(b) == EXPECTED[name]["steps"], name
    assert derive.verify_many is verify.verify_many


@pytest.mark.parametrize(
    "name",
    [
        "softmax_ce_missing_assumption.tex",
        "undecided_undefined_cost.tex",
        "quadratic_sigmoid_dropped_sigma_prime.tex",
        "parse_error_frac.tex",
    ],
)
def test_one_documents_steps_checked_two_at_a_time_give_the_same_report(name):
    """jobs=2 checks the steps of one document in two worker processes: the same verdicts, messages,
    hints and counterexamples, in the document's order, as one at a time."""
    one, two = (verify.verify_file(DATA / name, jobs=jobs) for jobs in (1, 2))
    assert [s.verdict for s in one.steps] == EXPECTED[name]["steps"]
    assert one.as_dict() == two.as_dict()
    assert verify.verify_many([(DATA / name).read_text()], jobs=2)[0].as_dict() == two.as_dict()


@pytest.mark.parametrize(
    ("texts", "jobs", "message"),
    [("a = b", 1, "list of texts"), (["a = b"], 0, "jobs"), (["a = b"], 1.5, "jobs"), (["a = b"], True, "jobs")],
)
def test_verify_many_refuses_bad_arguments(texts, jobs, message):
    with pytest.raises(errors.DirectiveError, match=message):
        verify.verify_many(texts, jobs=jobs)


@pytest.mark.parametrize("jobs", [0, -1, 1.5, True, "2"])
def test_verify_refuses_bad_jobs(jobs):
    with pytest.raises(errors.DirectiveError, match="jobs"):
        verify.verify(r"\[ a = a \]", jobs=jobs)


def test_verify_many_takes_one_format_per_text():
    markdown = (DATA.parent / "formats" / "quadratic_sigmoid.md").read_text()
    latex_text = (DATA / "bce_sigmoid_delta.tex").read_text()
    reports = verify.verify_many([markdown, latex_text], format=["markdown", "tex"], jobs=2)
    assert [r.format for r in reports] == ["markdown", "tex"]
    assert [r.exit_code for r in reports] == [0, 0]
    with pytest.raises(errors.DirectiveError, match="2 formats for 1 texts"):
        verify.verify_many([latex_text], format=["tex", "tex"])


def test_cli_several_files_jobs_and_json(tmp_path):
    right, wrong = DATA / "bce_sigmoid_delta.tex", DATA / "bce_sigmoid_sign_flip.tex"
    runner = CliRunner()
    both = runner.invoke(cli.main, ["verify", str(right), str(wrong), "--jobs", "2"])
    assert both.exit_code == 1, both.output  # the largest exit code of the files
    assert f"== {right} ==" in both.output and f"== {wrong} ==" in both.output
    assert both.output.rstrip().splitlines()[-1].startswith("2 files: ")
    assert "derive verify" not in both.output  # no progress bar when not on a terminal
    data = json.loads(runner.invoke(cli.main, ["verify", str(right), str(wrong), "--json"]).output)
    assert [f["file"] for f in data["files"]] == [str(right), str(wrong)]
    assert data["summary"]["not_equal"] == sum(f["summary"]["not_equal"] for f in data["files"]) >= 1
    alone = runner.invoke(cli.main, ["verify", str(right)])
    assert alone.exit_code == 0 and "==" not in alone.output  # one file: the report alone, as before
    annotate = runner.invoke(cli.main, ["verify", str(right), str(wrong), "--annotate", str(tmp_path / "a.tex")])
    assert annotate.exit_code == 2 and annotate.output.startswith("error:") and "one FILE" in annotate.output
    jobs = runner.invoke(cli.main, ["verify", str(right), "--jobs", "0"])
    assert jobs.exit_code == 2


BURNER = "import time\nend = time.monotonic() + 900\nwhile time.monotonic() < end:\n    pass\n"


@pytest.fixture()
def busy_machine():
    """Two busy-loop processes, one per core of the CI machine (at least two), for the test's duration."""
    count = max(2, os.cpu_count() or 2)
    burners = [subprocess.Popen([sys.executable, "-c", BURNER]) for _ in range(count)]
    try:
        yield count
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


def test_corpus_verdicts_are_the_same_on_a_busy_machine(busy_machine):
    """Every corpus step gets its idle verdict with every core busy (the default budget is far above any step)."""
    texts = [(DATA / n).read_text() for n in NAMES]
    reports = verify.verify_many(texts)
    for name, report in zip(NAMES, reports, strict=True):
        assert _verdicts(report) == EXPECTED[name]["steps"], (name, report.text())
