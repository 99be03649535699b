r"""Compile LaTeX with the real pdflatex, and report its errors in one line.

``pdf(source, target)`` runs pdflatex in a temporary folder, with ``-halt-on-error``
and ``SOURCE_DATE_EPOCH`` fixed, so the same source gives the same PDF bytes.  It runs
again only while the document needs it (:func:`needs_rerun`: LaTeX asks for a rerun, a
reference is undefined, or a list it reads back, such as the ``.toc`` of
``\tableofcontents``, changed), at most ``MAX_RUNS`` times: derive's own articles have no
references and compile in one run.  pdflatex always runs with shell escape
off (``-no-shell-escape``: ``\write18`` runs nothing) and ``openin_any`` and
``openout_any`` paranoid (``p``: no absolute paths, no parent folders, no dot files),
so a document cannot read ``/etc/passwd`` or write outside its folder.  The PDF is
written to ``target`` atomically (:mod:`derive.files`): a failed or interrupted run
leaves the previous file as it was.  A failed
compile raises :class:`errors.LatexError` with the log's first error line; a missing
pdflatex raises :class:`errors.PdfLatexMissing`.  Both are user-facing DeriveErrors.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from derive import errors, files

#: Fixed date for reproducible PDFs (pdfTeX reads SOURCE_DATE_EPOCH).
EPOCH = "0"
#: The options of every pdflatex run: never stop for input, stop at the first error, never run a shell command.
OPTIONS = ("-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape")
#: kpathsea's file access for TeX's \openin/\input and \openout: "p" (paranoid) refuses absolute paths,
#: parent folders and dot files.
PARANOID = {"openin_any": "p", "openout_any": "p", "shell_escape": "f"}
#: The most pdflatex runs of one compile (a table of contents with references to it can need three).
MAX_RUNS = 3
#: What LaTeX and its packages write to the log when a run read stale cross-references: "Label(s) may have
#: changed. Rerun to get cross-references right.", hyperref's "Rerun to get outlines right", longtable's
#: "Rerun LaTeX", and the undefined references of a first run.
ASKS_FOR_RERUN = re.compile(r"\bRerun\b|Label\(s\) may have changed|There were undefined references")
#: Files of the run that are not read back by the next one (the .aux is judged by the log's warnings).
NOT_READ_BACK = frozenset({".tex", ".log", ".pdf", ".aux"})


def pdflatex() -> str:
    """The pdflatex program, or errors.PdfLatexMissing naming the packages that provide it."""
    found = shutil.which("pdflatex")
    if found is None:
        raise errors.PdfLatexMissing(
            "pdflatex not found: install TeX Live (Debian: apt-get install texlive-latex-base "
            "texlive-latex-recommended) or leave out --pdf"
        )
    return found


def first_error(log: str) -> str:
    """The first '! ...' line of a LaTeX log, with the line number that follows it."""
    lines = log.splitlines()
    for number, line in enumerate(lines):
        if line.startswith("!"):
            where = next((ln.strip() for ln in lines[number + 1 : number + 6] if ln.startswith("l.")), "")
            return f"{line[1:].strip()} ({where})" if where else line[1:].strip()
    return "pdflatex failed without an error line; see its log"


def needs_rerun(log: str, lists_before: dict[str, bytes], lists_after: dict[str, bytes]) -> bool:
    """Whether another pdflatex run would print a different document.

    ``log`` is the run's log; ``lists_before`` and ``lists_after`` map the name of each file the run
    may read back (.toc, .lof, .lot, hyperref's .out, ...; not the .aux, whose labels LaTeX itself
    checks and reports in the log) to its bytes before and after the run.

    >>> needs_rerun("LaTeX Warning: There were undefined references.", {}, {})
    True
    >>> needs_rerun("Output written on derivation.pdf (4 pages).", {}, {"derivation.toc": b"1 Introduction"})
    True
    >>> needs_rerun("Output written on derivation.pdf (4 pages).", {}, {})
    False
    """
    return bool(ASKS_FOR_RERUN.search(log)) or lists_before != lists_after


def _lists(folder: Path) -> dict[str, bytes]:
    """The files of a run folder that the next run reads back, by name."""
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and p.suffix not in NOT_READ_BACK}


def pdf(source: str, target: Path, max_runs: int = MAX_RUNS, resources: Path | None = None) -> Path:
    """Compile the LaTeX ``source`` to ``target`` (a .pdf), written atomically.

    pdflatex runs once, and again while :func:`needs_rerun` says so, at most ``max_runs`` times.
    ``resources`` is the folder that relative paths in the source (figures) are
    found in; by default the target's folder.
    """
    program = pdflatex()
    target = Path(target)
    env = {
        **os.environ,
        **PARANOID,
        "SOURCE_DATE_EPOCH": EPOCH,
        "FORCE_SOURCE_DATE": "1",
        "TEXINPUTS": f"{(resources or target.parent).resolve()}{os.pathsep}",
    }
    with tempfile.TemporaryDirectory(prefix="derive-latex-") as tmp:
        tex_path = Path(tmp) / "derivation.tex"
        tex_path.write_text(source, encoding="utf-8")
        for _ in range(max_runs):
            before = _lists(Path(tmp))
            result = subprocess.run(
                [program, *OPTIONS, tex_path.name],
                cwd=tmp,
                env=env,
                capture_output=True,
                text=True,
                errors="replace",
                check=False,
            )
            log_path = tex_path.with_suffix(".log")
            log = log_path.read_text(errors="replace") if log_path.exists() else result.stdout
            if result.returncode != 0 or "Undefined control sequence" in log:
                raise errors.LatexError(f"{target.with_suffix('.tex').name}: LaTeX error: {first_error(log)}")
            if not needs_rerun(log, before, _lists(Path(tmp))):
                break
        files.write_bytes(target, tex_path.with_suffix(".pdf").read_bytes())
    return target
