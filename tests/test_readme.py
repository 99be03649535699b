"""README.md examples are real: every console example is re-run and compared, the Python block runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def console_examples() -> list[tuple[str, str]]:
    """(command, expected output) for every `$ derive ...` line in a ```console block."""
    examples = []
    for block in re.findall(r"```console\n(.*?)```", README, re.S):
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, _, output = chunk.partition("\n")
            examples.append((command, output.rstrip("\n")))
    return examples


def test_readme_has_the_two_setup_commands():
    assert "pip install . && derive table" in README
    assert "pip install '.[test]' && python -m pytest tests derive" in README
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install '.[test]' && python -m pytest tests derive" in ci


@pytest.mark.parametrize(("command", "expected"), console_examples(), ids=lambda v: v[:40])
def test_console_example_is_real_output(command, expected, tmp_path):
    """Each `$ derive …` of the README, run in an empty folder, prints exactly what the README shows."""
    assert command.startswith("derive ")
    shell = command.replace("derive ", f"{sys.executable} -m derive ", 1)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cwd = ROOT if "tests/data/" in command else tmp_path  # examples that read the repository's files
    result = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, cwd=cwd, env=env)
    output = (result.stdout + result.stderr).rstrip("\n")
    assert output == expected
    wrong_steps = re.search(r"[1-9]\d* not equal|[1-9]\d* undecided", expected) and "verify" in command
    assert result.returncode == (2 if expected.startswith("error:") else 1 if wrong_steps else 0)


def test_python_example_runs(capsys):
    block = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    exec(compile(block, "README.md", "exec"), {})  # noqa: S102 - our own README
    assert "through output" in capsys.readouterr().out
