"""The derive command through click's CliRunner, and as an installed program."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import derive
from derive import catalog, cli, errors
from derive.derivations import pairs
from derive.export import codegen
from derive.render import compile, latex
from derive.verification import annotate
from derive.verification import report as report_module

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
        # issue 13: AttributeError: type object 'softmax' has no attribute 'derivative_through_output'
        (["match", "softmax"], "error: softmax has K outputs and matching_loss integrates the derivative"),
        (["match", "Softmax", "--json"], "error: softmax has K outputs"),
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
    return cli.main.list_commands(click.Context(cli.main))


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
        (
            "slowdown",
            [
                "-d, --directory DIR",
                "DIR/slowdown.png",
                "[default: outputs]",
                # issue 13: these three were shown as TEXT
                "--cost [quadratic|mse|bce|poisson|huber|smooth_l1|log_cosh|focal|gaussian_nll]",
                "--activation [sigmoid|tanh|identity|exp|softplus|relu|leaky_relu|elu|gelu|gelu_tanh|silu|softsign|"
                "hard_sigmoid]",
            ],
            ["--output"],
        ),
        ("export", ["-o, --output FILE", "*.py", "--backend [numpy|jax|torch]"], ["--directory"]),
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
        (["verify", "empty.tex"], None, 2, "nothing to check: no math display found"),  # an empty file
        (["verify", "words.md"], None, 2, "nothing to check: no math display found"),
        (["verify", "-", "--format", "markdown"], "Prose and $$x$$.\n", 2, "no step in the 1 display found"),
        (["verify", "-", "--format", "ipynb"], "{", 2, "error: not a Jupyter notebook"),
        (["verify", "-", "--format", "rst"], "a = b", 2, "Invalid value for '--format'"),
        (["verify", "-", "--format", "markdown", "--annotate", "out.tex"], "$$a = a$$", 2, "--annotate writes LaTeX"),
        (["verify", "-"], _notebook("$$\na + a = 2a\n$$"), 0, "(line 1:2)"),  # sniffed as a notebook
    ],
)
def test_verify_formats_and_nothing_to_check(args, stdin, code, shown, tmp_path):
    (tmp_path / "empty.tex").write_text("")
    (tmp_path / "words.md").write_text("hello world\n")
    args = [str(tmp_path / arg) if arg in ("empty.tex", "words.md") else arg for arg in args]
    result = CliRunner().invoke(cli.main, args, input=stdin)
    assert result.exit_code == code, result.output
    assert shown in result.output


# ---- issue 13: what a new user hit ---------------------------------------------------------------


def test_a_step_that_does_not_parse_is_shown_as_written():
    """The message was right, but the step was shown as '\\frac{a}{ = b = '."""
    result = CliRunner().invoke(cli.main, ["verify", "-"], input="\\[ \\frac{a}{ = b \\]\n")
    assert result.exit_code == 2, result.output
    assert "  ! \\frac{a}{ = b  (line 1)\n      '{' is never closed at position 8\n" in result.output
    assert "= b = " not in result.output


@pytest.mark.parametrize(
    ("args", "wrote"),
    [
        (["latex", "bce", "sigmoid", "-o", "d.tex"], "wrote d.tex\n"),  # printed nothing
        (["latex", "bce", "sigmoid", "-t", "markdown", "-o", "sub/d.md"], "wrote sub/d.md\n"),
        (["latex", "bce", "sigmoid", "-t", "article", "--pdf", "-o", "p.tex"], "wrote p.tex and p.pdf\n"),
        (["export", "bce", "sigmoid", "-o", "m.py"], "wrote m.py\n"),
    ],
)
def test_every_command_that_writes_a_file_says_which(args, wrote, tmp_path):
    result, _ = _invoke_in(tmp_path, *args)
    assert result.exit_code == 0, result.output
    assert (result.stdout, result.stderr) == ("", wrote)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--json"], []),  # wrote outputs/slowdown.png and .pdf into the current folder
        (["--json", "-d", "out"], ["out", "out/slowdown.pdf", "out/slowdown.png"]),
        (["--json", "--directory", "outputs"], ["outputs", "outputs/slowdown.pdf", "outputs/slowdown.png"]),
        ([], ["outputs", "outputs/slowdown.pdf", "outputs/slowdown.png"]),
        (["--no-plot"], []),
    ],
)
def test_slowdown_json_writes_a_figure_only_when_asked(args, expected, tmp_path):
    result, written = _invoke_in(tmp_path, "slowdown", "--epochs", "5", *args)
    assert result.exit_code == 0, result.output
    assert written == expected
    if "--json" in args:
        assert [run["cost"] for run in json.loads(result.stdout)] == ["quadratic", "bce"] * 2


def _examples(command: click.Command) -> list[str]:
    """The example command lines of a command's help text."""
    example = command.help.split("Example:", 1)[1]
    return [line.strip() for line in example.splitlines() if line.strip().startswith("derive ")]


@pytest.mark.parametrize("width", [40, 80])
@pytest.mark.parametrize("command", [None, *_commands()])
def test_help_examples_are_whole_lines_to_copy(command, width):
    """`derive latex --help` wrapped its example across lines, so it could not be copied."""
    args = [command, "--help"] if command else ["--help"]
    result = CliRunner().invoke(cli.main, args, terminal_width=width)
    assert result.exit_code == 0
    examples = _examples(cli.main.get_command(click.Context(cli.main), command) if command else cli.main)
    assert examples
    shown = [line.strip() for line in result.output.splitlines()]
    for example in examples:
        assert example in shown, (example, result.output)


@pytest.mark.parametrize("option", ["-V", "--version"])
def test_version(option):
    result = CliRunner().invoke(cli.main, [option], prog_name="derive")
    assert result.exit_code == 0
    assert result.output == f"derive, version {derive.__version__}\n"


@pytest.mark.parametrize(
    ("words", "offered"),
    [
        ("derive sh", ["shift", "show"]),
        ("derive show c", ["ce", "cross_entropy"]),
        ("derive show bce s", ["sigmoid", "silu", "softmax", "softplus", "softsign"]),
        ("derive export mse t", ["tanh"]),
        ("derive latex b", ["bce"]),
        ("derive match re", ["relu"]),
        ("derive export bce sigmoid --backend ", ["numpy", "jax", "torch"]),
    ],
)
def test_shell_completion_offers_commands_and_catalog_names(words, offered):
    """README "Shell completion": click's completion, with the catalog's names for LOSS and ACTIVATION."""
    env = {"_DERIVE_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(len(words.split(" ")) - 1)}
    result = CliRunner().invoke(cli.main, [], prog_name="derive", env=env)
    assert result.exit_code == 0
    assert result.output.splitlines() == [f"plain,{name}" for name in offered]


def test_shell_completion_script_is_what_the_readme_installs():
    result = CliRunner().invoke(cli.main, [], prog_name="derive", env={"_DERIVE_COMPLETE": "bash_source"})
    assert result.exit_code == 0
    assert (
        "_derive_completion()" in result.output and "complete -o nosort -F _derive_completion derive" in result.output
    )
    assert "_DERIVE_COMPLETE=bash_source derive" in README.read_text(encoding="utf-8")


# ---- a user mistake never shows a traceback: every command, and the public API -----------------------

#: Bad arguments for every command: unknown names, bad option values, a missing file, a folder or a file in
#: the wrong place.  Run in a folder holding ``afile`` (a file), ``adir``, ``adir.py``, ``adir.tex``
#: (folders), ``ok.tex`` (one step) and ``binary.tex`` (not UTF-8).
BAD_ARGUMENTS = {
    "list": [["--bogus"], ["extra"], ["--catalog", "afile"], ["--catalog", "adir"], ["--catalog", "missing.toml"]],
    "show": [
        ["nope", "sigmoid"],
        ["bce", "nope"],
        ["bce"],
        ["bce", "relu"],
        ["bce", "sigmoid", "--classes", "x"],
        ["cross_entropy", "softmax", "--classes", "1"],
        ["cross_entropy", "softmax", "--label-smoothing", "nan"],
        ["bce", "sigmoid", "--class-weights"],
        # user formulas (--loss/--activation) and a lab's file (--catalog)
        ["--loss", "L(a, y) = (a-y", "--activation", "sigmoid"],
        ["--loss", "L(y, a) = a", "--activation", "sigmoid"],
        ["--loss", "(z-y)^2", "--activation", "sigmoid"],
        ["--loss", "bce", "--activation", "g(z) = a z"],
        ["--loss", "bce", "--activation", "g(z) = 3"],
        ["--loss", "bce", "--activation", "\\operatorname{relu}(z) = z"],
        ["--loss", "-y\\ln a - (1-y)\\ln(1-a)", "--activation", "\\tanh(z)"],
        ["bce", "sigmoid", "--loss", "mse"],
        ["--activation", "sigmoid"],
        ["--catalog", "afile", "bce", "sigmoid"],
        ["--catalog", "missing.toml", "bce", "sigmoid"],
    ],
    "table": [["extra"], ["--json", "--bogus"], ["--catalog", "afile"], ["--catalog", "adir"]],
    "match": [[], ["nope"], ["softmax"], ["relu"], [""]],
    "shift": [["extra"]],
    "backprop": [["--json", "extra"]],
    "latex": [
        ["nope", "sigmoid"],
        ["bce", "sigmoid", "-t", "nope"],
        ["bce", "sigmoid", "-t", "/etc/passwd"],
        ["bce", "sigmoid", "--template-dir", "missing"],
        ["bce", "sigmoid", "--template-dir", "afile"],
        ["bce", "sigmoid", "-o", "adir.tex"],
        ["bce", "sigmoid", "-o", "afile/x.tex"],
        ["bce", "sigmoid", "--pdf", "-o", "x.tex"],
        ["--all", "-d", "afile"],
        ["bce", "sigmoid", "-K", "x"],
        ["bce", "sigmoid", "--cost-symbol", "Q"],
        ["--loss", "\\ln a", "--activation", "tanh"],
        ["--loss", "bce", "--activation", "g(z) = y z"],
        ["--all", "-d", "out", "--catalog", "afile"],
    ],
    "gallery": [["-d", "afile"], ["--activation-symbol", "Z"], ["extra"]],
    "slowdown": [
        ["--eta", "abc"],
        ["--eta", "nan"],
        ["--x", "inf"],
        ["--y", "-inf"],
        ["--start", "nan,1"],
        ["--start", "1"],
        ["--start", "1e308,1e308", "--epochs", "3", "--no-plot"],  # diverges: z is inf after one epoch
        ["--epochs", "100000000000"],
        ["--epochs", "0"],
        ["--cost", "nope"],
        ["--activation", "softmax"],
        ["-d", "afile", "--epochs", "2"],
    ],
    "export": [
        ["nope", "sigmoid"],
        ["bce", "relu"],
        ["bce", "sigmoid", "-o", "adir.py"],
        ["bce", "sigmoid", "-o", "afile/x.py"],
        ["bce", "sigmoid", "--backend", "tf"],
        ["--loss", "F(a) = a", "--activation", "sigmoid"],
        ["--loss", "bce", "--activation", "\\frac{1}{z"],
        ["--catalog", "adir", "bce", "sigmoid"],
    ],
    "verify": [
        ["missing.tex"],
        ["adir"],
        ["binary.tex"],
        ["ok.tex", "--timeout", "nan"],
        ["ok.tex", "--timeout", "inf"],
        ["ok.tex", "--timeout", "0"],
        ["ok.tex", "--define", "nonsense"],
        ["ok.tex", "--assume", "<"],
        ["ok.tex", "--format", "rst"],
        ["ok.tex", "--annotate", "adir.tex"],
    ],
}


def test_every_command_has_bad_arguments_in_the_table():
    assert set(BAD_ARGUMENTS) == set(_commands())


@pytest.mark.parametrize(
    "args", [[command, *bad] for command, cases in BAD_ARGUMENTS.items() for bad in cases], ids=" ".join
)
def test_bad_arguments_are_one_message_and_exit_2_never_a_traceback(args, tmp_path, monkeypatch):
    (tmp_path / "afile").write_text("x\n")
    for folder in ("adir", "adir.py", "adir.tex"):
        (tmp_path / folder).mkdir()
    (tmp_path / "ok.tex").write_text("\\[ a + a = 2a \\]\n")
    (tmp_path / "binary.tex").write_bytes(b"\xff\xfe\\[ a = a \\]")
    before = sorted(tmp_path.rglob("*"))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli.main, args)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # not an exception click caught for the runner
    assert "Traceback" not in result.output
    if result.stderr.startswith("error: "):  # derive's own message: one line
        assert len(result.stderr.splitlines()) == 1, result.stderr
    else:  # click's usage error: Usage, Try, Error
        assert "\nError: " in result.stderr, result.stderr
    assert result.stdout == ""  # refused before any work
    assert sorted(tmp_path.rglob("*")) == before  # nothing written, not even half


d_bce = pairs.derive("bce", "sigmoid")


API_MISTAKES = [
    # (call, the DeriveError it raises)
    pytest.param(lambda: derive.derive("nope", "sigmoid"), errors.UnknownName, id="derive-unknown-loss"),
    pytest.param(lambda: derive.derive("bce", "sigmod"), errors.UnknownName, id="derive-unknown-activation"),
    pytest.param(lambda: derive.derive("bce", "relu"), errors.DomainError, id="derive-domain"),
    pytest.param(lambda: derive.derive("cross_entropy", "softmax", classes="x"), errors.InvalidOption, id="K-text"),
    pytest.param(lambda: derive.derive("cross_entropy", "softmax", classes=1), errors.InvalidOption, id="K-1"),
    pytest.param(
        lambda: derive.derive("cross_entropy", "softmax", label_smoothing="x"), errors.InvalidOption, id="eps-text"
    ),
    pytest.param(lambda: derive.derive("bce", "sigmoid", label_smoothing=0.1), errors.InvalidOption, id="eps-bce"),
    pytest.param(lambda: derive.matching_loss(None), errors.InvalidOption, id="match-None"),
    pytest.param(lambda: derive.matching_loss("nope"), errors.UnknownName, id="match-unknown"),
    pytest.param(lambda: derive.matching_loss("softmax"), errors.InvalidOption, id="match-softmax"),
    pytest.param(lambda: derive.matching_loss("relu"), errors.NoMatchingLoss, id="match-relu"),
    pytest.param(lambda: derive.verify(None), errors.DeriveError, id="verify-None"),
    pytest.param(lambda: derive.verify(b"\\[a = a\\]"), errors.DeriveError, id="verify-bytes"),
    pytest.param(lambda: derive.verify("\\[a = a\\]", format="rst"), errors.InvalidOption, id="verify-format"),
    pytest.param(lambda: derive.verify("\\[a = a\\]", timeout=-1), errors.DeriveError, id="verify-timeout"),
    pytest.param(lambda: derive.verify("\\[a = a\\]", timeout=float("inf")), errors.DeriveError, id="verify-inf"),
    pytest.param(lambda: derive.verify("\\[a = a\\]", defines="a = 1"), errors.DeriveError, id="verify-define-str"),
    pytest.param(lambda: derive.verify("\\[a = a\\]", defines=["x"]), errors.DeriveError, id="verify-define"),
    pytest.param(lambda: derive.to_numpy(None), errors.InvalidOption, id="to_numpy-None"),
    pytest.param(lambda: derive.to_numpy("bce"), errors.InvalidOption, id="to_numpy-name"),
    pytest.param(lambda: derive.to_numpy(d_bce, "tf"), errors.InvalidOption, id="to_numpy-backend"),
    pytest.param(lambda: codegen.module_source(None), errors.InvalidOption, id="module_source-None"),
    pytest.param(lambda: codegen.module_source(d_bce, "tf"), errors.InvalidOption, id="module_source-backend"),
    pytest.param(lambda: derive.check_gradient("nope", "sigmoid"), errors.UnknownName, id="check-unknown"),
    pytest.param(lambda: derive.check_gradient("bce", "sigmoid", backend="tf"), errors.InvalidOption, id="check-tf"),
    pytest.param(lambda: derive.check_gradient("bce", "sigmoid", tolerance="x"), errors.InvalidOption, id="check-tol"),
    pytest.param(lambda: derive.latex(d_bce, template="nope"), errors.InvalidOption, id="latex-template"),
    pytest.param(lambda: derive.latex(d_bce, cost="Q"), errors.InvalidOption, id="latex-symbol"),
    pytest.param(lambda: derive.parse_latex(None), errors.ParseError, id="parse-None"),
    pytest.param(lambda: derive.parse_latex("\\frac{a}{"), errors.ParseError, id="parse-open"),
    # wrong types: a DeriveError too, never the raw TypeError of a cache or a str method
    pytest.param(
        lambda: derive.derive(3, "sigmoid"),
        errors.DeriveError,
        id="derive-int",
    ),
    pytest.param(
        lambda: derive.derive("bce", None),
        errors.DeriveError,
        id="derive-None",
    ),
    pytest.param(
        lambda: derive.derive(["bce"], "sigmoid"),
        errors.DeriveError,
        id="derive-list",
    ),
    pytest.param(
        lambda: derive.derive("cross_entropy", "softmax", classes=3, class_weights=[1, 2]),
        errors.DeriveError,
        id="derive-weights-list",
    ),
    pytest.param(
        lambda: derive.check_gradient(1, 2),
        errors.DeriveError,
        id="check-int",
    ),
    pytest.param(
        lambda: derive.latex(None),
        errors.DeriveError,
        id="latex-None",
    ),
    pytest.param(
        lambda: derive.verify("\\[a = a\\]", defines=3),
        errors.DeriveError,
        id="verify-defines-int",
    ),
    pytest.param(
        lambda: derive.verify("\\[a = a\\]", assumptions=3),
        errors.DeriveError,
        id="verify-assumptions-int",
    ),
    pytest.param(
        lambda: derive.verify("\\[a = a\\]", timeout="5"),
        errors.DeriveError,
        id="verify-timeout-text",
    ),
]


@pytest.mark.parametrize(("call", "error"), API_MISTAKES)
def test_public_api_mistakes_are_derive_errors(call, error):
    """Never a raw AttributeError, KeyError or TypeError: a DeriveError that says what is wrong."""
    with pytest.raises(error) as raised:
        call()
    assert str(raised.value)


# ---- annotated output: the user's document as written, derive's own notes escaped, pdflatex paranoid ----

#: A derivation whose prose and steps try to read /etc/passwd and run a command (SENTINEL: a path to create).
HOSTILE_DOCUMENT = r"""\documentclass{article}
\begin{document}
Prose that reads a file: \input{/etc/passwd}
and runs a command: \immediate\write18{touch SENTINEL}
\begin{align}
a + a &= 2a \\
&= 2a + 0\immediate\write18{touch SENTINEL}
\end{align}
\end{document}
"""

#: The same attempts, written so that the document compiles only if pdflatex refuses them.
PROBING_DOCUMENT = r"""\documentclass{article}
\begin{document}
\newread\secret
\openin\secret=/etc/passwd
\ifeof\secret\else\errmessage{pdflatex read /etc/passwd}\fi
\ifnum\pdfshellescape=0 \else\errmessage{pdflatex may run shell commands}\fi
\immediate\write18{touch SENTINEL}
\begin{align}
a + a &= 2a \\
&= 3a
\end{align}
\end{document}
"""


def test_annotate_cannot_read_etc_passwd_or_run_a_command(tmp_path):
    sentinel = tmp_path / "pwned"
    source = tmp_path / "notes.tex"
    source.write_text(HOSTILE_DOCUMENT.replace("SENTINEL", str(sentinel)), encoding="utf-8")
    out = tmp_path / "checked.tex"
    result = CliRunner().invoke(cli.main, ["verify", str(source), "--annotate", str(out)])
    assert result.exit_code == 2, result.output
    assert "LaTeX Error: File `/etc/passwd.tex' not found." in result.stderr  # refused, not read and typeset
    assert not sentinel.exists() and not out.with_suffix(".pdf").exists()
    annotated = out.read_text(encoding="utf-8")
    assert annotated.count("\\input{/etc/passwd}") == 1  # the user's own text, as written
    assert annotated.count("\\write18") == 2  # the user's two; derive's notes quote them escaped
    assert "\\marginpar" in annotated and "\\textbackslash{}" in annotated


def test_annotate_compiles_with_pdflatex_refusing_files_and_commands(tmp_path):
    sentinel = tmp_path / "pwned"
    source = tmp_path / "notes.tex"
    source.write_text(PROBING_DOCUMENT.replace("SENTINEL", str(sentinel)), encoding="utf-8")
    out = tmp_path / "checked.tex"
    result = CliRunner().invoke(cli.main, ["verify", str(source), "--annotate", str(out)])
    assert result.exit_code == 1, result.output  # one step not equal; the PDF is written
    assert result.stderr == f"wrote {out} and {out.with_suffix('.pdf')}\n"
    assert out.with_suffix(".pdf").read_bytes().startswith(b"%PDF")
    assert not sentinel.exists()


@pytest.mark.parametrize(
    ("body", "refused"),
    [
        (r"\input{/etc/passwd}", "File `/etc/passwd.tex' not found"),
        (r"\input{../../../../../../../../etc/passwd}", "etc/passwd.tex' not found"),
        (r"\newread\f \openin\f=/etc/passwd \ifeof\f ok\else\errmessage{read}\fi", None),
        (r"\ifnum\pdfshellescape=0 ok\else\errmessage{shell escape \the\pdfshellescape}\fi", None),
        (r"\immediate\write18{touch SENTINEL}ok", None),
        (r"\newwrite\w \immediate\openout\w=SENTINEL \immediate\write\w{x}\immediate\closeout\w", "can't write"),
    ],
    ids=["input-absolute", "input-parent", "openin", "shell-escape", "write18", "openout"],
)
def test_pdflatex_runs_paranoid(body, refused, tmp_path):
    """compile.pdf: shell escape off, openin_any and openout_any "p" (no absolute paths, no parent folders)."""
    sentinel = tmp_path / "pwned"
    source = "\\documentclass{article}\n\\begin{document}\n" + body.replace("SENTINEL", str(sentinel))
    target = tmp_path / "probe.pdf"
    if refused is None:
        compile.pdf(source + "\n\\end{document}\n", target)
        assert target.read_bytes().startswith(b"%PDF")
    else:
        with pytest.raises(errors.LatexError, match=re.escape(refused)):
            compile.pdf(source + "\n\\end{document}\n", target)
    assert not sentinel.exists() and not sentinel.with_suffix(".tex").exists()


@pytest.mark.parametrize(
    ("field", "value", "escaped"),
    [
        ("message", "unknown command \\input{/etc/passwd}", "unknown command \\textbackslash{}input\\{/etc/passwd\\}"),
        ("hint", "\\immediate\\write18{touch x}", "\\textbackslash{}immediate\\textbackslash{}write18\\{touch x\\}"),
        ("point", "\\input{/etc/passwd}", "$\\text{\\textbackslash{}input\\{/etc/passwd\\}} = 0.5$"),
        ("point", "w_{1,2}", "$w_{1,2} = 0.5$"),
        ("point", "delta_j", "$\\delta_{j} = 0.5$"),
    ],
)
def test_annotate_escapes_what_its_notes_quote(field, value, escaped):
    """A note quotes the message, the hint and the counterexample's names: as text, never as commands."""
    text = "\\begin{align}\na &= b\n\\end{align}\n"
    step = report_module.StepResult("a", "b", "not_equal", 2, message="the sides differ")
    if field == "point":
        step.counterexample = {"point": {value: 0.5}, "lhs": 1.0, "rhs": 2.0}
    else:
        setattr(step, field, value)
    report = report_module.Report(chains=[report_module.Chain([step])])
    annotated = annotate.annotate(text, report)
    note = annotated[annotated.index("\\marginpar") :]
    assert escaped in note, note
    assert "\\input{" not in note and "\\write18" not in note


def test_every_listed_command_can_be_loaded_and_verify_loads_no_pair_or_export():
    """The commands are imported when they run: derive verify does not pay for the catalog's pairs."""
    context = click.Context(cli.main)
    for name in _commands():
        assert isinstance(cli.main.get_command(context, name), click.Command), name
    assert cli.main.get_command(context, "no-such-command") is None
    probe = (
        "import sys, derive.cli; from click.testing import CliRunner; "
        "CliRunner().invoke(derive.cli.main, ['verify', '--help']); "
        "heavy = ('derive.derivations.pairs', 'derive.export.codegen', 'matplotlib'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
