"""Check a hand-written derivation step by step: ``verify(text) -> Report``.

The document's displayed rows (:mod:`derive.verification.document`: LaTeX, Markdown or a Jupyter
notebook) are read in ML notation
(:mod:`derive.parse.formula`) and joined into *chains*: a row ``A &= B = C`` and the
rows after it that begin with ``&=`` give the steps A = B, B = C, …; a row
with its own left side starts a new chain.  The first step of a chain whose
left side is a bare name with no definition yet (``C = …``, ``a_i = …``,
``\\delta = …``, ``L(\\hat y, y) = …``) *defines* that name; so does
``% define: NAME = EXPR``.  ``% assume: …`` and rows whose note says
"assumption" add assumptions.  A condition written on a row
(``\\quad (i = j)``, or in its note) holds for the rest of its chain.  Inline math is never a step:
``$NAME = EXPR$`` can only define NAME, by the same rule.  A display that gives nothing is in
``Report.skipped`` with the reason.

Each step is decided by :func:`derive.verification.stepcheck.check` in a worker process
under a time budget, so a file never hangs.
"""

from __future__ import annotations

import concurrent.futures
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import sympy as sp
from sympy.core.function import AppliedUndef

from derive import errors
from derive.errors import ParseError
from derive.parse import formula
from derive.verification import definitions, document, patterns, stepcheck, worker
from derive.verification import report as report_module

VERDICTS = report_module.VERDICTS
MARKS = report_module.MARKS
#: Each step's time budget, in seconds: far above any step of the corpora (the slowest takes 3 s idle), so
#: that a busy machine does not turn a verdict into "undecided"; it stops only runaway symbolic work.
DEFAULT_TIMEOUT = 30.0


#: How many worker processes ``derive verify`` uses unless told (``--jobs``): two where two cores are free
#: to this process, so the steps of one file are checked two at a time; one on a single core.
DEFAULT_JOBS = worker.default_count()
_ASSUMPTION_NOTE = re.compile(r"assum|given|suppose", re.IGNORECASE)
_TRANSPOSE = re.compile(r"\^\s*\{?\s*(?:T\b|\\top|\\intercal|\\mathsf\s*\{\s*T|\\mathrm\s*\{\s*T)")
_JUSTIFICATION = re.compile(r"^\s*\\(?:because|since)(?![a-zA-Z])")
StepResult = report_module.StepResult
Chain = report_module.Chain
Report = report_module.Report


# ---- reading the document -------------------------------------------------------------------


def _latex(expr) -> str:
    if isinstance(expr, ParseError):
        return "…"
    return sp.latex(expr)


def _is_name(expr: sp.Basic) -> bool:
    """A name a row of the document can define: C, a_i, a_1, z^l_j, δ, L(ŷ, y) (:mod:`.definitions`)."""
    return definitions.is_name(expr)


def _mentions(expr: sp.Basic, name: sp.Basic) -> bool:
    """Whether ``expr`` uses ``name`` itself, so that ``name = expr`` cannot define it.

    The same name at other indices does not count: ``a^l_j`` may be defined from ``a^{l-1}_k``.
    """
    return definitions.refers_to_itself(name, expr)


@dataclass
class _Pending:
    lhs: object
    rhs: object
    op: str
    line: report_module.Line
    conditions: list
    sources: tuple[str, str] = ("", "")
    place: tuple[int, int] = (-1, -1)  # (row, display): which definitions the step sees (Context.at)


def verify(
    text: str,
    defines: tuple[str, ...] | list[str] = (),
    assumptions: tuple[str, ...] | list[str] = (),
    timeout: float = DEFAULT_TIMEOUT,
    format: str | None = None,
    jobs: int = 1,
) -> Report:
    """Check every step of the derivation in ``text`` (a document, or a formula).

    ``format`` is ``"tex"``, ``"markdown"`` or ``"ipynb"`` (the notebook's JSON); None guesses it
    from the text (:func:`derive.verification.document.guess`).  ``defines`` are extra
    ``NAME = EXPR`` definitions and ``assumptions`` extra relations (``i \\neq j``, ``0 < a < 1``),
    as the ``% define:`` and ``% assume:`` directives give them.  Each step gets ``timeout``
    seconds.  ``jobs`` worker processes check the steps, ``jobs`` at once (the verdicts do not
    depend on it).  Every display the reader finds either gives steps, definitions or assumptions,
    or is in ``Report.skipped`` with the reason.

    >>> report = verify(r"\\[ \\sigma'(z) = \\sigma(z)(1+\\sigma(z)) \\]")
    >>> report.steps[0].verdict, report.exit_code
    ('not_equal', 1)
    """
    if not isinstance(text, str):
        raise errors.DirectiveError(f"verify reads LaTeX text, got {type(text).__name__}")
    _check_arguments(defines, assumptions, timeout)
    _check_jobs(jobs)
    worker.start(jobs)  # their import of SymPy runs while the document is read
    doc = document.read(text, format)
    report = Report(format=doc.format, displays=len(doc.displays))
    context = stepcheck.Context()
    given = list(doc.directives)
    given += [document.Directive("define", d, 0) for d in defines]
    given += [document.Directive("assume", a, 0) for a in assumptions]
    refused = definitions.given(given, context, report)
    chains = _chains(doc.rows, context, report)
    _decide(chains, context, report, timeout, refused, jobs)
    report.skipped = _skipped(doc) + report.skipped  # the displays, then the rows that are no step
    return report


def _check_jobs(jobs: object) -> None:
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise errors.DirectiveError(f"jobs is a whole number >= 1, not {jobs!r}")


def _check_arguments(defines: object, assumptions: object, timeout: object) -> None:
    """``defines`` and ``assumptions`` as lists of strings, ``timeout`` a positive number of seconds."""
    for what, given in (("defines", defines), ("assumptions", assumptions)):
        if isinstance(given, str) or not isinstance(given, (list, tuple)):
            raise errors.DirectiveError(f"{what} is a list of LaTeX strings such as ['a = \\sigma(z)'], not {given!r}")
        for item in given:
            if not isinstance(item, str):
                raise errors.DirectiveError(f"each of {what} is a LaTeX string, not {item!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < math.inf:
        raise errors.DirectiveError(f"the time budget must be a positive number of seconds, got {timeout!r}")


def verify_file(
    path: str | Path,
    defines: tuple[str, ...] | list[str] = (),
    assumptions: tuple[str, ...] | list[str] = (),
    timeout: float = DEFAULT_TIMEOUT,
    format: str | None = None,
    jobs: int = 1,
) -> Report:
    """:func:`verify` of the file at ``path``, its format from its extension (``.md``, ``.ipynb``, …)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise errors.DocumentError(f"cannot read {path}: {exc}") from None
    format = format or document.format_for(path.name, text)
    return verify(text, defines, assumptions, timeout, format, jobs)


def verify_many(
    texts: Sequence[str],
    defines: tuple[str, ...] | list[str] = (),
    assumptions: tuple[str, ...] | list[str] = (),
    timeout: float = DEFAULT_TIMEOUT,
    format: str | Sequence[str | None] | None = None,
    jobs: int = 1,
    progress: Callable[[int], None] | None = None,
) -> list[Report]:
    r""":func:`verify` of each text, in their order; ``jobs`` documents at once, each in a worker process of its own.

    ``format`` is one format for every text, or a list with one per text (None: guessed).  The
    workers are started once and shared by all the documents; one document alone has its steps
    checked by the ``jobs`` workers.  ``progress(i)`` is called as the
    i-th document (in the given order) is done.  The verdicts do not depend on ``jobs``.

    >>> [r.summary["equal"] for r in verify_many([r"\[ 2a = a + a \]", r"\[ (a+1)^2 = a^2 + 2a + 1 \]"])]
    [1, 1]
    """
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise errors.DirectiveError(f"verify_many takes a list of texts, not {type(texts).__name__}")
    _check_jobs(jobs)
    _check_arguments(defines, assumptions, timeout)
    formats = [format] * len(texts) if format is None or isinstance(format, str) else list(format)
    if len(formats) != len(texts):
        raise errors.DirectiveError(f"{len(formats)} formats for {len(texts)} texts: give one per text, or one")
    worker.start(min(jobs, len(texts)))

    per_document = jobs if len(texts) == 1 else 1

    def one(i: int) -> Report:
        report = verify(texts[i], defines, assumptions, timeout, formats[i], per_document)
        if progress is not None:
            progress(i)
        return report

    if jobs == 1 or len(texts) <= 1:
        return [one(i) for i in range(len(texts))]
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(one, range(len(texts))))


def _skipped(doc: document.Document) -> list[report_module.Skipped]:
    """The displays that gave nothing to check, each with the reason."""
    by_block: dict[int, list[document.SourceRow]] = {}
    for row in doc.rows:
        by_block.setdefault(row.block, []).append(row)
    out = []
    for display in doc.displays:
        reason = display.reason or _why_nothing(by_block.get(display.block, []))
        if reason:
            out.append(report_module.Skipped(display.line, display.kind, reason, doc.excerpt(display)))
    return out


def _why_nothing(rows: list[document.SourceRow]) -> str:
    """Why a display's rows give nothing, or "" when one of them holds a relation or cannot be read."""
    if not rows:
        return "empty"
    for source in rows:
        row = formula.read_row(source.math)
        if row.error is not None or row.ops:
            return ""
    return "no relation (=, <, …): an expression, not a step"


def _inline_definition(
    row: formula.Row, source: document.SourceRow, context: stepcheck.Context, report: Report
) -> None:
    """Inline math ``$NAME = EXPR$`` defines NAME by the rule of a chain's first step; nothing else in it is a step.

    Its right side must be more than a bare symbol or number: ``if $i = k$`` and ``$K = 3$`` state a
    case or a value in prose, not a definition.
    """
    if row.error is not None or not row.ops or row.ops[0] != "=" or row.continues or row.condition is not None:
        return
    first, second = row.terms[0], row.terms[1]
    if isinstance(first, ParseError) or isinstance(second, (ParseError, sp.Symbol, sp.Number)):
        return
    if _is_name(first) and context.lookup(first) is None and not _mentions(second, first):
        context.define(first, second)
        report.definitions.append((sp.latex(first), sp.latex(second), source.line))


def _chains(rows: list[document.SourceRow], context: stepcheck.Context, report: Report) -> list[list]:
    """Group the rows' steps into chains of _Pending steps (or parse errors).

    (One pass of about 65 lines: every branch reads and updates the same chain state, the chain a
    row continues, its last term and the justifications still to check, which helpers would pass
    back and forth.)

    A row that starts with a relation continues the chain of the last row with a left side; a
    justification row (``\\because \\sigma(z_i) &= P_i``) is a chain of its own, and the row after
    it continues the chain before it (in a chain of the report that follows the justification).
    """
    chains: list[list] = []
    main: list = []  # the chain a row that starts with a relation continues
    last_term = last_source = None
    chain_conditions: list = []
    reasons: tuple = ([], None)  # the justifications of the row before (\because …): checked after its steps
    for index, source in enumerate(rows):
        chains += _statements(*reasons, context, report)
        context.here = (index, source.block)
        because = _JUSTIFICATION.match(source.math)
        row = definitions.read(source.math[because.end() :] if because else source.math, context)
        if source.inline:
            reasons = ([], None)
            _inline_definition(row, source, context, report)
            continue
        chains += _statements(row.premises, source, context, report)
        reasons = (row.reasons, source)
        if row.prose:
            continue  # a remark between the rows of a chain (\text{Take the minus sign out}) keeps it going
        if row.error is not None or not row.ops:  # unreadable, or a displayed expression: no step
            if row.error is not None:
                chains.append([StepResult(source.math.strip(), "", "parse_error", source.line, message=str(row.error))])
            last_term = last_term if because else None
            continue
        conditions = [c for c in (row.condition, definitions.note_condition(source.note)) if c is not None]
        conditions = [c for c in conditions if not definitions.condition_defines(c, source.line, context, report)]
        parsed = all(not isinstance(t, ParseError) for t in row.terms)
        if _ASSUMPTION_NOTE.search(source.note) and not row.continues and parsed:
            for relation in row.relations():
                context.assumptions.append(relation)
                report.assumptions.append((sp.latex(relation), source.line))
            last_term = None
            continue
        terms, sources = list(row.terms), list(row.sources)
        lines = source.term_lines(row.sources)  # a step's line is where its right side starts
        if row.continues and definitions.names_result(row, source, last_term, context, report):
            last_term, last_source = row.terms[0], row.sources[0]  # the chain goes on from the name
            continue
        if row.continues:
            if last_term is None:
                message = "the row starts with a relation but there is no chain before it"
                chains.append([StepResult(source.math.strip(), "", "parse_error", source.line, message=message)])
                continue
            if main is not chains[-1]:  # after a justification: the chain goes on in a new segment
                main = []
                chains.append(main)
            chain, conditions = main, chain_conditions + conditions
            terms, sources, lines = [last_term, *terms], [last_source, *sources], [source.line, *lines]
        else:
            opening = _opening(row, source, conditions, context, report)
            if opening == "no step":
                last_term = None
                continue
            terms = list(row.terms)
            chain = []
            chains.append(chain)
            if opening == "definition":
                terms, sources, lines = terms[1:], sources[1:], lines[1:]
                row.ops = row.ops[1:]
        for k, (op, lhs, rhs) in enumerate(zip(row.ops, terms, terms[1:], strict=False)):
            chain.append(
                _Pending(lhs, rhs, op, lines[k + 1], list(conditions), (sources[k], sources[k + 1]), context.here)
            )
        if not because or row.continues:
            main, chain_conditions, last_term, last_source = chain, conditions, terms[-1], sources[-1]
    chains += _statements(*reasons, context, report)
    return [c for c in chains if c]


def _statements(
    statements: list[formula.Row], source: document.SourceRow, context: stepcheck.Context, report: Report
) -> list[list]:
    """The chains of a row's other statements: premises (``\\text{Let } u = -z_i \\Rightarrow …``) and
    justifications (``… \\because z_i = w x_i + b``).

    Each is read alone: its first relation defines a name by the rule of a chain's first step (a
    justification never redefines a catalog function such as σ: it states a fact about it), and
    the rest are steps, checked like any other.  One that cannot be read (``\\because y_i \\in \\{0, 1\\}``,
    ``\\because \\sigma' = \\sigma(1 - \\sigma)``) is listed as skipped with the reason: the row's own steps
    are checked all the same.
    """
    out: list[list] = []
    for statement in statements:
        failed = statement.error or next((t for t in statement.terms if isinstance(t, ParseError)), None)
        if failed is not None:
            what = "a justification" if statement.role == "reason" else "a premise"
            reason = f"{what} that cannot be read: {failed}"
            report.skipped.append(report_module.Skipped(source.line, "row", reason, statement.text.strip()[:80]))
            continue
        if statement.prose or not statement.ops or statement.continues:
            continue
        terms, sources, ops = list(statement.terms), list(statement.sources), list(statement.ops)
        first = terms[0]
        catalog_fact = statement.role == "reason" and patterns.is_call(first) and not isinstance(first, AppliedUndef)
        if not catalog_fact and definitions.row_defines(statement, source, [], context, report):
            terms, sources, ops = terms[1:], sources[1:], ops[1:]
        lines = source.term_lines(sources, max(source.math.find(statement.text.strip()), 0))
        chain = [
            _Pending(lhs, rhs, op, lines[k + 1], [], (sources[k], sources[k + 1]), context.here)
            for k, (op, lhs, rhs) in enumerate(zip(ops, terms, terms[1:], strict=False))
        ]
        if chain:
            out.append(chain)
    return out


def _opening(
    row: formula.Row, source: document.SourceRow, conditions: list, context: stepcheck.Context, report: Report
) -> str:
    """What the first relation of a chain's first row is: ``"definition"``, ``"no step"`` or ``"step"``.

    An update rule (``w_j = w_j + \\alpha(y - \\hat y)x_i``) is no step: it is reported as skipped.  A
    left side written as a function of names (``y_i(z_i) = …``) is the name y_i.
    """
    if definitions.update_rule(row):
        reason = "an update rule (the same name on both sides: an assignment), not a step"
        report.skipped.append(report_module.Skipped(source.line, "row", reason, source.math.strip()[:80]))
        return "no step"
    named = definitions.function_style(row.sources[0], row.terms[0], context) if row.sources else None
    if named is not None:
        row.terms[0] = named
    return "definition" if definitions.row_defines(row, source, conditions, context, report) else "step"


def _decide(
    chains: list[list], context: stepcheck.Context, report: Report, timeout: float, refused: list = (), jobs: int = 1
) -> None:
    """Each pending step checked in a worker process, ``jobs`` at once.

    A step that may need a refused directive is undecided.  The steps are independent: each check is a
    function of its step, its context and its seed, so the verdicts do not depend on ``jobs``.
    """
    checks: list[tuple[StepResult, _Pending]] = []
    for pending_chain in chains:
        chain = Chain()
        for item in pending_chain:
            if isinstance(item, StepResult):
                chain.steps.append(item)
                continue
            result = StepResult(
                item.sources[0] or _latex(item.lhs),
                item.sources[1] or _latex(item.rhs),
                "undecided",
                item.line,
                conditions=[sp.latex(c) for c in item.conditions],
            )
            broken = next((t for t in (item.lhs, item.rhs) if isinstance(t, ParseError)), None)
            if broken is not None:
                result.verdict, result.message = "parse_error", str(broken)
            elif item.op != "=":
                result.message = f"only equalities are checked; this step is '{item.op}'"
            else:
                checks.append((result, item))
            chain.steps.append(result)
        report.chains.append(chain)
    if not checks:
        return
    jobs = min(jobs, len(checks))

    def decide(check: tuple[StepResult, _Pending]) -> None:
        result, item = check
        _check(result, item, context, timeout)
        _refuse(result, item, refused)

    if jobs == 1:
        for check in checks:
            decide(check)
        return
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(decide, checks))


def _refuse(result: StepResult, item: _Pending, refused: list) -> None:
    """Undecided, with the reason, where a refused directive may be what the step needs."""
    if result.verdict not in ("not_equal", "undecided"):
        return
    for refusal in refused:
        if definitions.applies(refusal, (item.lhs, item.rhs)):
            result.verdict, result.message = "undecided", refusal.message()
            result.hint = result.counterexample = None
            return


def _check(result: StepResult, item: _Pending, context: stepcheck.Context, timeout: float) -> None:
    """The worker's verdict into ``result`` (a new worker's start is not in the budget: worker.run)."""
    per_component = not _TRANSPOSE.search(" ".join(item.sources))  # a^T b is no per-component product
    args = (item.lhs, item.rhs, context.at(*item.place), item.conditions, timeout, f"{item.line}", per_component)
    try:
        outcome = worker.run(stepcheck.check, args, timeout)
    except errors.Timeout:
        result.message = f"the time budget of {timeout:g} s was spent before a verdict"
        return
    except errors.WorkerError as exc:
        last = str(exc).strip().splitlines()[-1] if str(exc).strip() else "unknown error"
        result.message = f"could not be checked: {last}"
        return
    result.verdict = outcome.verdict
    result.message = outcome.message
    result.hint = outcome.hint
    result.counterexample = outcome.counterexample
