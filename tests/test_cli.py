"""The derive command through click's CliRunner, and as an installed program."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from derive import catalog, cli
from derive.derivations import pairs
from derive.render import latex

README = Path(__file__).resolve().parents[1] / "README.md"


def run(*args: str):
    return CliRunner().invoke(cli.main, list(args))


def test_show_bce_sigmoid_ends_in_a_minus_y():
    result = run("show", "bce", "sigmoid")
    assert result.exit_code == 0, result.output
    assert "δ = ∂C/∂z = a - y" in result.output
    assert "cancels: yes" in result.output and "saturates: no" in result.output


def test_show_quadratic_sigmoid_reports_the_slowdown():
    result = run("show", "quadratic", "sigmoid")
    assert result.exit_code == 0
    assert "cancels: no: δ = (a - y)·a*(1 - a); |δ| <= 1/4·|a - y|" in result.output
    assert "saturates: yes" in result.output


def test_show_json_fields():
    result = run("show", "bce", "sigmoid", "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["loss"] == "bce" and data["activation"] == "sigmoid"
    assert data["delta"] == "a - y" and data["grad_w"] == "x_j*(a - y)" and data["grad_b"] == "a - y"
    assert data["cancels"] is True and data["saturates"] is False
    for step in data["steps"]:
        assert {"rule", "expr", "latex"} <= set(step)


def test_show_alias():
    assert json.loads(run("show", "mse", "tanh", "--json").output)["loss"] == "quadratic"


def test_table_lists_every_pair():
    result = run("table")
    assert result.exit_code == 0
    for loss, act in catalog.pairs():
        assert re.search(rf"^{loss}\s+{act}\s", result.output, re.M), (loss, act)
    assert re.search(r"^quadratic\s+sigmoid\s+a\*\(1 - a\)\*\(a - y\)\s+no\s+yes\s+1/4$", result.output, re.M)
    assert re.search(r"^bce\s+relu\s+undefined: bce needs a in \(0, 1\)", result.output, re.M)


def test_table_json():
    rows = json.loads(run("table", "--json").output)
    assert len(rows) == len(catalog.pairs())
    bce = next(r for r in rows if (r["loss"], r["activation"]) == ("bce", "sigmoid"))
    assert bce["delta"] == "a - y" and bce["cancels"] is True and bce["saturates"] is False
    bad = next(r for r in rows if (r["loss"], r["activation"]) == ("bce", "relu"))
    assert bad["delta"] is None and "bce needs a in (0, 1)" in bad["error"]


@pytest.mark.parametrize(
    ("act", "fragment"), [("sigmoid", "bce plus a term in y alone"), ("identity", "exactly quadratic")]
)
def test_match(act, fragment):
    result = run("match", act)
    assert result.exit_code == 0
    assert fragment in result.output


def test_match_json():
    data = json.loads(run("match", "identity", "--json").output)
    assert data == {**data, "activation": "identity", "loss": "(a - y)**2/2", "matches": "quadratic"}


def test_list():
    result = run("list")
    assert result.exit_code == 0
    for name in [*catalog.ACTIVATIONS, *catalog.LOSSES, "mse"]:
        assert name in result.output
    data = json.loads(run("list", "--json").output)
    assert set(data["activations"]) == set(catalog.ACTIVATIONS)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "bce", "relu"], "error: bce needs a in (0, 1), but relu gives a in [0, oo)"),
        (["show", "bce", "sigmod"], "error: unknown activation 'sigmod'. Did you mean 'sigmoid'?"),
        (["show", "crossent", "sigmoid"], "error: unknown loss 'crossent'."),
        (["match", "relu"], "error: relu has no matching loss: relu is not invertible"),
        (["match", "relu", "--json"], "error: relu has no matching loss"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(args, message):
    result = CliRunner().invoke(cli.main, args)
    assert result.exit_code == 2
    assert result.stderr.startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_missing_argument_is_a_usage_error():
    result = run("show", "bce")
    assert result.exit_code == 2 and "Missing argument" in result.output


def _commands():
    return sorted(cli.main.commands)


@pytest.mark.parametrize("command", _commands())
def test_every_command_has_help_with_an_example(command):
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "Example:" in result.output
    assert f"derive {command}" in result.output


@pytest.mark.parametrize("command", _commands())
def test_every_command_is_in_the_readme(command):
    assert f"derive {command}" in README.read_text(encoding="utf-8")


def test_python_dash_m_derive():
    out = subprocess.run(
        [sys.executable, "-m", "derive", "show", "bce", "sigmoid", "--json"],
        capture_output=True,
        text=True,
        check=True,
        cwd=README.parent,
    )
    assert json.loads(out.stdout)["delta"] == "a - y"


def test_installed_console_script():
    """`pip install .` puts a `derive` program next to the interpreter (the README's first command)."""
    script = Path(sys.executable).with_name("derive")
    assert script.exists(), f"{script} missing: install the package first (see README)"
    out = subprocess.run([str(script), "show", "bce", "sigmoid"], capture_output=True, text=True, check=True)
    assert "\nδ = ∂C/∂z = a - y\n" in out.stdout


# -- the output options: -o/--output FILE is one file, -d/--directory DIR a folder ----------------------

GOLDEN = README.parent / "tests" / "golden"


def _invoke_in(folder: Path, *args: str):
    """Run derive with ``folder`` as the working directory (relative -o/-d paths land there)."""
    runner = CliRunner()
    with runner.isolated_filesystem(temp_dir=folder):
        result = runner.invoke(cli.main, list(args))
        written = sorted(str(p.relative_to(Path.cwd())) for p in Path.cwd().rglob("*"))
    return result, written


@pytest.mark.parametrize(
    ("args", "name", "golden"),
    [
        (["latex", "bce", "sigmoid"], "bce_sigmoid.tex", "bce_sigmoid.fragment.tex"),
        (["latex", "bce", "sigmoid", "-t", "markdown"], "bce_sigmoid.md", "bce_sigmoid.markdown.md"),
        (["latex", "bce", "sigmoid", "-t", "article"], "paper.TEX", None),
        (["export", "bce", "sigmoid"], "bce_sigmoid.py", None),
        (["export", "cross_entropy", "softmax", "--backend", "numpy"], "ce.py", None),
    ],
)
def test_output_is_exactly_one_file_with_what_stdout_shows(args, name, golden, tmp_path):
    shown = run(*args)
    assert shown.exit_code == 0, shown.output
    result, written = _invoke_in(tmp_path, *args, "--output", f"sub/{name}")
    assert result.exit_code == 0, result.output
    assert written == ["sub", f"sub/{name}"]
    content = next(tmp_path.rglob(name)).read_text(encoding="utf-8")
    assert content == shown.stdout
    if golden is not None:
        assert content == (GOLDEN / golden).read_text(encoding="utf-8")
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["latex", "--all", "-t", "markdown"],
            sorted(["out", *(f"out/{loss}_{act}.md" for loss, act in catalog.pairs(valid=True))]),
        ),
        (["slowdown", "--epochs", "5"], ["out", "out/slowdown.pdf", "out/slowdown.png"]),
    ],
)
def test_directory_gets_the_files_of_a_command_that_writes_several(args, expected, tmp_path):
    result, written = _invoke_in(tmp_path, *args, "--directory", "out")
    assert result.exit_code == 0, result.output
    assert written == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        # a value meant for a notation option never becomes a stray file
        (
            ["latex", "bce", "sigmoid", "--output", "a"],
            "error: -o/--output is one file, and --template fragment writes .tex: name it *.tex, not 'a' "
            "(a symbol? use --activation-symbol a)",
        ),
        (["latex", "bce", "sigmoid", "--output", "\\hat{y}"], "(a symbol? use --activation-symbol \\hat{y})"),
        (["latex", "bce", "sigmoid", "-o", "J"], "name it *.tex, not 'J' (a symbol? use --cost-symbol J)"),
        (["latex", "bce", "sigmoid", "-o", "t", "-t", "markdown"], "markdown writes .md: name it *.md, not 't'"),
        (["latex", "bce", "sigmoid", "-o", "x.md"], "--template fragment writes .tex: name it *.tex, not 'x.md'"),
        (["latex", "bce", "sigmoid", "-t", "markdown", "-o", "x.tex"], "name it *.md, not 'x.tex'"),
        (["latex", "bce", "sigmoid", "-t", "article", "--pdf", "-o", "paper"], "name it *.tex, not 'paper'"),
        (["latex", "bce", "sigmoid", "-o", "outputs/"], "name it *.tex, not 'outputs'"),
        (
            ["export", "bce", "sigmoid", "-o", "bce_sigmoid"],
            "derive export writes .py: name it *.py, not 'bce_sigmoid'",
        ),
        # the old spellings say what to use instead
        (["latex", "bce", "sigmoid", "--output-symbol", "a"], "error: --output-symbol was renamed --activation-symbol"),
        (["gallery", "--output-symbol", "\\hat{y}"], "error: --output-symbol was renamed --activation-symbol"),
        (["gallery", "-o", "outputs/"], "error: derive gallery writes a folder of files: use -d/--directory DIR"),
        (
            ["slowdown", "--output", "outputs/slowdown"],
            "error: derive slowdown writes two files, slowdown.png and slowdown.pdf: use -d/--directory DIR",
        ),
        (["latex", "--all", "-o", "outputs/"], "error: --all writes one file per pair: use -d/--directory DIR"),
        (["latex", "--all"], "error: --all takes no LOSS ACTIVATION and needs -d DIR"),
        (["latex", "bce", "sigmoid", "-d", "outputs"], "error: -d/--directory is the folder of --all"),
    ],
)
def test_misused_output_options_are_one_line_exit_2_and_write_nothing(args, message, tmp_path):
    result, written = _invoke_in(tmp_path, *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stderr.startswith("error: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == "" and written == []


@pytest.mark.parametrize(
    ("template", "name", "ok"),
    [("mine.tex.j2", "x.tex", True), ("mine.tex.j2", "x.md", False), ("mine", "x.md", True), ("mine", "x", False)],
)
def test_own_template_file_name_follows_the_template(template, name, ok, tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / template).write_text(r"\VAR{sections|length} sections")
    result, written = _invoke_in(tmp_path, "latex", "bce", "sigmoid", "-t", template, "--template-dir", str(templates))
    assert (result.exit_code, result.stdout) == (0, "1 sections")
    result, written = _invoke_in(
        tmp_path, "latex", "bce", "sigmoid", "-t", template, "--template-dir", str(templates), "-o", name
    )
    assert result.exit_code == (0 if ok else 2), result.output
    assert written == ([name] if ok else [])


@pytest.mark.parametrize(
    ("option", "value", "field"),
    [
        ("--activation-symbol", "\\hat{y}", "output"),
        ("--cost-symbol", "J", "cost"),
        ("--target-symbol", "t", "target"),
        ("--sigma-symbol", "\\varsigma", "sigma"),
    ],
)
def test_notation_options_give_what_the_api_gives(option, value, field):
    result = run("latex", "bce", "sigmoid", option, value)
    assert result.exit_code == 0, result.output
    assert result.stdout == latex.latex(pairs.derive("bce", "sigmoid"), **{field: value})
    assert result.stdout != run("latex", "bce", "sigmoid").stdout


@pytest.mark.parametrize(
    ("command", "shown", "hidden"),
    [
        (
            "latex",
            [
                "-o, --output FILE",
                "-d, --directory DIR",
                "*.tex; *.md for --template markdown",
                "--activation-symbol [a|\\hat{y}]",
                "--cost-symbol [C|L|J]",
                "--target-symbol [y|t]",
                "--sigma-symbol [\\sigma|\\varsigma]",
            ],
            ["--output-symbol"],
        ),
        ("gallery", ["-d, --directory DIR", "[default: outputs]", "--activation-symbol [a|\\hat{y}]"], ["--output"]),
        ("slowdown", ["-d, --directory DIR", "DIR/slowdown.png", "[default: outputs]"], ["--output"]),
        ("export", ["-o, --output FILE", "*.py"], ["--directory"]),
    ],
)
def test_help_shows_each_option_with_its_meaning_and_choices(command, shown, hidden):
    result = CliRunner().invoke(cli.main, [command, "--help"], terminal_width=200)
    assert result.exit_code == 0
    for text in shown:
        assert text in result.output, text
    for text in hidden:
        assert text not in result.output, text


# ---- derive verify: formats ----------------------------------------------------------------------

VERIFY_MARKDOWN = """% define: a = \\sigma(z)
# Notes

The cost is $C = \\frac{1}{2}(a - y)^2$, and:

- the chain rule:
  $$\\begin{align}
  \\frac{\\partial C}{\\partial z} &= (a - y)\\sigma'(z) \\\\
  &= (a - y) a (1 - a)
  \\end{align}$$
- and a display that holds no step: $$\\frac{\\partial C}{\\partial a}$$
"""


def _notebook(markdown: str) -> str:
    cells = [
        {"cell_type": "code", "metadata": {}, "source": ["import derive\n"], "outputs": [], "execution_count": None},
        {"cell_type": "markdown", "metadata": {}, "source": markdown.splitlines(keepends=True)},
    ]
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells})


@pytest.mark.parametrize(
    ("name", "content", "lines", "skipped_line"),
    [
        ("notes.md", VERIFY_MARKDOWN, [8, 9], 11),
        ("notes.ipynb", _notebook(VERIFY_MARKDOWN), ["1:8", "1:9"], "1:11"),
    ],
    ids=["markdown", "ipynb"],
)
def test_verify_markdown_and_notebook_files(name, content, lines, skipped_line, tmp_path):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    result = run("verify", str(path), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [s["line"] for s in data["chains"][0]["steps"]] == lines
    assert [s["verdict"] for s in data["chains"][0]["steps"]] == ["equal", "equal"]
    assert [d["name"] for d in data["definitions"]] == ["a", "C"]  # C from inline math
    assert [(s["line"], s["kind"]) for s in data["skipped"]] == [(skipped_line, "$$")]
    assert data["format"] == name.rpartition(".")[2].replace("md", "markdown")
    text = run("verify", str(path))
    assert f"– $$ \\frac{{\\partial C}}{{\\partial a}}  (line {skipped_line})  skipped: no relation" in text.output
    assert text.output.rstrip().endswith("2 equal, 0 not equal, 0 undecided, 0 parse errors, 1 display skipped")


@pytest.mark.parametrize(
    ("args", "stdin", "code", "shown"),
    [
        (["verify", "-"], "hello\n", 2, "nothing to check: no math display found"),
        (["verify", "-"], "", 2, "nothing to check"),
        (["verify", "-", "--format", "markdown"], "Prose and $$x$$.\n", 2, "no step in the 1 display found"),
        (["verify", "-", "--format", "ipynb"], "{", 2, "error: not a Jupyter notebook"),
        (["verify", "-", "--format", "rst"], "a = b", 2, "Invalid value for '--format'"),
        (["verify", "-", "--format", "markdown", "--annotate", "out.tex"], "$$a = a$$", 2, "--annotate writes LaTeX"),
        (["verify", "-"], _notebook("$$\na + a = 2a\n$$"), 0, "(line 1:2)"),  # sniffed as a notebook
    ],
)
def test_verify_formats_and_nothing_to_check(args, stdin, code, shown, tmp_path):
    result = CliRunner().invoke(cli.main, args, input=stdin)
    assert result.exit_code == code, result.output
    assert shown in result.output
