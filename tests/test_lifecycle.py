"""How a ``derive`` run ends (derive.commands.lifecycle, derive.files): a closed pipe, SIGTERM, an interrupted write.

Real processes and real pipes: ``bash -c "… | head"`` and ``Popen`` + ``SIGTERM``.  No test depends
on how fast the machine is: every wait is a poll with a generous upper bound.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from derive import catalog, cli, errors, files
from derive.commands import lifecycle
from derive.render import compile

ROOT = Path(__file__).resolve().parents[1]
DERIVE = f"{sys.executable} -m derive"
#: How long a poll waits for a process to reach a state before the test gives up (not a timing bound).
PATIENCE = 120.0


def _env(tmp_path: Path) -> dict[str, str]:
    """The environment of a child run: this checkout first on the path; temporary files under tmp_path/tmp."""
    temporary = tmp_path / "tmp"
    temporary.mkdir(exist_ok=True)
    return {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(temporary)}


def _leftovers(folder: Path) -> list[Path]:
    """The temporary files of atomic writes (derive.files) still in ``folder``."""
    return sorted(folder.rglob(".*.tmp"))


# -- a closed pipe: the run carries on quietly, every file written, the exit code its own ----------------


def test_closed_pipe_keeps_writing_every_file_and_exits_0(tmp_path):
    """README: `derive latex --all -d outputs/ --template markdown | head -n 2` once wrote 3 of the files, exit 1."""
    shell = f'{DERIVE} latex --all -d out --template markdown 2>err.txt | head -n 2; echo "derive: ${{PIPESTATUS[0]}}"'
    result = subprocess.run(["bash", "-c", shell], cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True)
    names = [f"{loss}_{act}.md" for loss, act in catalog.pairs(valid=True)]
    assert len(names) == 99  # the catalog's valid pairs
    assert result.stdout == f"out/{names[0]}\nout/{names[1]}\nderive: 0\n"
    assert (tmp_path / "err.txt").read_text() == ""  # no BrokenPipeError, no message
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(names)
    for loss, act in catalog.pairs(valid=True):  # each file whole: what derive prints for the pair alone
        alone = CliRunner().invoke(cli.main, ["latex", loss, act, "--template", "markdown"])
        assert (tmp_path / "out" / f"{loss}_{act}.md").read_text(encoding="utf-8") == alone.stdout
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("command", "code"),
    [
        ("show cross_entropy softmax --classes 3", 0),
        ("table", 0),
        ("verify notes.tex", 0),
        ("show bce relu", 2),  # an error's message goes to stderr, and the exit code stays 2
    ],
)
def test_any_command_into_a_closed_pipe_exits_with_its_own_code_and_no_message(command, code, tmp_path):
    (tmp_path / "notes.tex").write_text("\\begin{align}\na + a &= 2a \\\\\n&= a \\cdot 2\n\\end{align}\n")
    shell = f'{DERIVE} {command} 2>err.txt | head -c 1 >/dev/null; echo "${{PIPESTATUS[0]}}"'
    result = subprocess.run(["bash", "-c", shell], cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True)
    assert result.stdout == f"{code}\n"
    err = (tmp_path / "err.txt").read_text()
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err
    assert err == ("" if code == 0 else "error: bce needs a in (0, 1), but relu gives a in [0, oo)\n")


# -- SIGTERM: the run ends like Ctrl-C, exit code 143, and no child process is left ---------------------

#: Steps SymPy takes minutes to prove: the worker of `derive verify --timeout 600` is busy when the signal comes,
#: and without derive stopping it, it would carry on after derive has gone.
HARD_STEPS = "".join(f"\\[ \\tanh(z)^{{{n}}} = (2\\sigma(2z) - 1)^{{{n}}} \\]\n" for n in (24, 25, 26))


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(child) for child in found.split()]


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    """The process exists and is not a zombie (a killed child its parent has not reaped yet is not running)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _wait_for_child(process: subprocess.Popen, name: str) -> list[int]:
    """Poll until ``process`` has a child whose command line holds ``name``; all its children then."""
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        assert process.poll() is None, f"derive ended (exit {process.returncode}) before starting {name}"
        children = _children(process.pid)
        if any(name in _command_line(child) for child in children):
            return children
        time.sleep(0.02)
    raise AssertionError(f"no {name} process within {PATIENCE} s")


@pytest.mark.parametrize(
    ("args", "child"),
    [
        (["verify", "hard.tex", "--timeout", "600"], "derive.verification.worker"),
        # latex --pdf compiles through the same render.compile as the gallery, which now derives 99 pairs
        # before its first pdflatex: minutes on a busy machine
        (["latex", "bce", "sigmoid", "--template", "article", "--pdf", "-o", "out.tex"], "pdflatex"),
    ],
    ids=["verify-worker", "latex-pdf-pdflatex"],
)
def test_sigterm_ends_the_run_and_leaves_no_child_behind(args, child, tmp_path):
    (tmp_path / "hard.tex").write_text(HARD_STEPS, encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "derive", *args],
        cwd=tmp_path,
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    children: list[int] = []
    try:
        children = _wait_for_child(process, child)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=PATIENCE)
        left = [pid for pid in children if _alive(pid)]  # at once: stopped and reaped before derive exited
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        for pid in children:  # a failed run must not leave a busy worker on the machine
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
    assert process.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err
    assert left == [], [_command_line(pid) for pid in left]
    assert _leftovers(tmp_path) == []  # no file half-written
    assert list((tmp_path / "tmp").iterdir()) == []  # pdflatex's folder removed
    for pdf in (tmp_path / "out").glob("*.pdf") if (tmp_path / "out").exists() else ():
        assert pdf.read_bytes().rstrip().endswith(b"%%EOF"), pdf  # only whole PDFs


def test_sigterm_is_an_exception_that_runs_the_on_exit_hooks():
    """In the process itself: the handler raises Terminated (143), and the hooks run with signals ignored."""
    seen = []

    def hook():
        seen.append(signal.getsignal(signal.SIGTERM))

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(lifecycle.Terminated) as ended, lifecycle.run(on_exit=(hook,)):
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):  # the handler raises at the next bytecode: the loop is only an upper bound
            time.sleep(0.01)
        raise AssertionError("SIGTERM did not end the run")
    assert ended.value.code == 143
    assert seen == [signal.SIG_IGN]  # a second signal cannot interrupt the cleanup
    assert signal.getsignal(signal.SIGTERM) == before  # the handlers are given back


# -- an interrupted or failed write never damages the previous file -------------------------------------


@pytest.mark.parametrize("step", ["write", "fsync", "replace"])
@pytest.mark.parametrize(
    ("interruption", "raised"),
    [
        (KeyboardInterrupt(), KeyboardInterrupt),
        (lifecycle.Terminated(143), lifecycle.Terminated),
        (OSError(28, "No space left on device"), errors.Unwritable),
    ],
    ids=["ctrl-c", "sigterm", "disk-full"],
)
def test_an_interrupted_write_keeps_the_previous_file(step, interruption, raised, tmp_path, monkeypatch):
    target = tmp_path / "bce_sigmoid.py"
    target.write_text("the previous, good file\n", encoding="utf-8")

    def interrupt(*args, **kwargs):
        raise interruption

    if step == "write":  # midway through the bytes: the first write of the temporary file fails
        real_fdopen = os.fdopen

        def fdopen(*args, **kwargs):
            handle = real_fdopen(*args, **kwargs)
            monkeypatch.setattr(handle, "write", interrupt, raising=False)
            return handle

        monkeypatch.setattr(os, "fdopen", fdopen)
    else:
        monkeypatch.setattr(os, step, interrupt)
    with pytest.raises(raised):
        files.write_text(target, "the new file\n" * 1000)
    assert target.read_text(encoding="utf-8") == "the previous, good file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bce_sigmoid.py"]  # no temporary file left


def test_the_file_is_on_disk_before_it_is_renamed(tmp_path, monkeypatch):
    """fsync, then rename: a crash after the rename cannot leave an empty file under the name."""
    calls = []
    for name in ("fsync", "replace"):
        real = getattr(os, name)
        monkeypatch.setattr(os, name, lambda *a, _name=name, _real=real: calls.append(_name) or _real(*a))
    files.write_text(tmp_path / "x.tex", "x")
    assert calls == ["fsync", "replace"]


def test_ctrl_c_during_export_keeps_the_previous_module(tmp_path, monkeypatch):
    target = tmp_path / "bce_sigmoid.py"
    target.write_text("previous\n", encoding="utf-8")

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupt)
    result = CliRunner().invoke(cli.main, ["export", "bce", "sigmoid", "-o", str(target)])
    assert result.exit_code == 1 and "Aborted!" in result.output  # click's answer to Ctrl-C
    assert target.read_text(encoding="utf-8") == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bce_sigmoid.py"]


def test_a_failed_compile_keeps_the_previous_pdf(tmp_path):
    target = tmp_path / "paper.pdf"
    target.write_bytes(b"%PDF the previous one")
    broken = "\\documentclass{article}\n\\begin{document}\n\\undefinedcommand\n\\end{document}\n"
    with pytest.raises(errors.LatexError, match="Undefined control sequence"):
        compile.pdf(broken, target)
    assert target.read_bytes() == b"%PDF the previous one"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["paper.pdf"]
