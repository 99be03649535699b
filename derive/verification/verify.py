"""Check a hand-written derivation step by step: ``verify(text) -> Report``.

The document's displayed rows (:mod:`derive.verification.document`) are read in ML notation
(:mod:`derive.parse.formula`) and joined into *chains*: a row ``A &= B = C`` and the
rows after it that begin with ``&=`` give the steps A = B, B = C, …; a row
with its own left side starts a new chain.  The first step of a chain whose
left side is a bare name with no definition yet (``C = …``, ``a_i = …``,
``\\delta = …``, ``L(\\hat y, y) = …``) *defines* that name; so does
``% define: NAME = EXPR``.  ``% assume: …`` and rows whose note says
"assumption" add assumptions.  A condition written on a row
(``\\quad (i = j)``, or in its note) holds for the rest of its chain.

Each step is decided by :func:`derive.verification.stepcheck.check` in a worker process
under a time budget, so a file never hangs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import sympy as sp
from sympy.core.function import AppliedUndef

from derive import errors
from derive.errors import ParseError
from derive.parse import formula
from derive.verification import document, stepcheck, worker

VERDICTS = ("equal", "not_equal", "undecided", "parse_error")
MARKS = {"equal": "✓", "not_equal": "✗", "undecided": "?", "parse_error": "!"}
DEFAULT_TIMEOUT = 5.0
_ASSUMPTION_NOTE = re.compile(r"assum|given|suppose", re.IGNORECASE)
_DEFINITION_NOTE = re.compile(r"\bdef", re.IGNORECASE)


@dataclass
class StepResult:
    lhs: str  # LaTeX of the left side
    rhs: str
    verdict: str
    line: int
    message: str = ""
    hint: str | None = None
    counterexample: dict | None = None
    conditions: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "lhs": self.lhs,
            "rhs": self.rhs,
            "verdict": self.verdict,
            "counterexample": self.counterexample,
            "hint": self.hint,
            "message": self.message,
            "line": self.line,
        }


@dataclass
class Chain:
    steps: list[StepResult] = field(default_factory=list)


@dataclass
class Report:
    """The verdict on every step, chain by chain, plus what was taken as given."""

    chains: list[Chain] = field(default_factory=list)
    definitions: list[tuple[str, str, int | None]] = field(default_factory=list)  # (name, value, line)
    assumptions: list[tuple[str, int | None]] = field(default_factory=list)

    @property
    def steps(self) -> list[StepResult]:
        return [step for chain in self.chains for step in chain.steps]

    @property
    def summary(self) -> dict[str, int]:
        counts = dict.fromkeys(VERDICTS, 0)
        for step in self.steps:
            counts[step.verdict] += 1
        return counts

    @property
    def exit_code(self) -> int:
        """0 when every step is equal, 2 for a parse error, else 1."""
        summary = self.summary
        if summary["parse_error"]:
            return 2
        return 1 if summary["not_equal"] or summary["undecided"] else 0

    def as_dict(self) -> dict:
        return {
            "chains": [{"steps": [s.as_dict() for s in chain.steps]} for chain in self.chains],
            "definitions": [{"name": n, "value": v, "line": ln} for n, v, ln in self.definitions],
            "assumptions": [{"assumption": a, "line": ln} for a, ln in self.assumptions],
            "summary": self.summary,
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, ensure_ascii=False)

    def text(self) -> str:
        """The human report: one line per step, with the counterexample under a ✗."""
        lines = []
        for name, value, line in self.definitions:
            lines.append(f"  ≔ {name} = {value}{_at(line)}  (definition)")
        for assumption, line in self.assumptions:
            lines.append(f"  ⊢ {assumption}{_at(line)}  (assumption)")
        for number, chain in enumerate(self.chains, 1):
            lines.append(f"chain {number}")
            for step in chain.steps:
                when = f"  [{', '.join(step.conditions)}]" if step.conditions else ""
                lines.append(f"  {MARKS[step.verdict]} {step.lhs} = {step.rhs}{when}{_at(step.line)}")
                if step.verdict != "equal" and step.message:
                    lines.append(f"      {step.message}")
                if step.counterexample:
                    point = ", ".join(f"{k} = {_number(v)}" for k, v in step.counterexample["point"].items())
                    lines.append(f"      counterexample: {point}")
                    lines.append(
                        f"      left = {_number(step.counterexample['lhs'])}, "
                        f"right = {_number(step.counterexample['rhs'])}"
                    )
                if step.hint:
                    lines.append(f"      hint: {step.hint}")
        s = self.summary
        lines.append(
            f"{s['equal']} equal, {s['not_equal']} not equal, {s['undecided']} undecided, "
            f"{s['parse_error']} parse errors"
        )
        return "\n".join(lines)


def _at(line: int | None) -> str:
    return f"  (line {line})" if line else ""


def _number(value: float | int) -> str:
    return str(value) if isinstance(value, int) else f"{value:.6g}"


# ---- reading the document -------------------------------------------------------------------


def _latex(expr) -> str:
    if isinstance(expr, ParseError):
        return "…"
    return sp.latex(expr)


def _is_name(expr: sp.Basic) -> bool:
    """A bare name that a definition can give a value: C, a_i, δ, L(ŷ, y)."""
    if isinstance(expr, sp.Symbol):
        return not expr.name.startswith("N_")
    if isinstance(expr, sp.Indexed):
        return all(isinstance(i, sp.Symbol) for i in expr.indices) and len(set(expr.indices)) == len(expr.indices)
    if isinstance(expr, AppliedUndef):
        return all(isinstance(arg, (sp.Symbol, sp.Indexed)) for arg in expr.args)
    return False


def _mentions(expr: sp.Basic, name: sp.Basic) -> bool:
    if isinstance(name, sp.Indexed):
        return any(ix.base == name.base for ix in expr.atoms(sp.Indexed))
    if isinstance(name, AppliedUndef):
        return any(f.func == name.func for f in expr.atoms(AppliedUndef))
    return expr.has(name)


def _directive_row(text: str, kind: str, line: int | None) -> formula.Row:
    row = formula.read_row(text)
    where = f" (line {line})" if line else ""
    if row.error is not None:
        raise errors.DirectiveError(f"cannot read the {kind} {text!r}{where}: {row.error}")
    for term in row.terms:
        if isinstance(term, ParseError):
            raise errors.DirectiveError(f"cannot read the {kind} {text!r}{where}: {term}")
    if not row.ops or row.continues:
        raise errors.DirectiveError(f"the {kind} {text!r}{where} needs a relation, as in 'a = \\sigma(z)'")
    return row


def _definition(text: str, line: int | None) -> stepcheck.Definition:
    row = _directive_row(text, "definition", line)
    if len(row.terms) != 2 or row.ops[0] != "=":
        raise errors.DirectiveError(f"a definition is 'NAME = EXPR', got {text!r}")
    target, value = row.terms
    if not _is_name(target):
        raise errors.DirectiveError(
            f"cannot define {sp.latex(target)!r}: the left side of a definition must be a name "
            "such as C, a_i, \\hat{y} or L(\\hat{y}, y)"
        )
    if _mentions(value, target):
        raise errors.DirectiveError(f"the definition of {sp.latex(target)} refers to itself")
    return stepcheck.Definition(target, value)


def _assumptions(text: str, line: int | None) -> list[sp.Basic]:
    row = _directive_row(text, "assumption", line)
    return row.relations()


def _note_condition(note: str) -> sp.Basic | None:
    """A relation written in a row's note (``\\text{case},\\ i = j``), if any."""
    if not note:
        return None
    stripped = re.sub(r"\\text(?:rm|it)?\{[^{}]*\}|\\(?:textstyle|displaystyle|quad|qquad)|\\ |\\,|\\;", " ", note)
    stripped = stripped.strip(" ,;.")
    if not stripped:
        return None
    row = formula.read_row(stripped)
    if (
        row.error is None
        and len(row.ops) == 1
        and not row.continues
        and not any(isinstance(t, ParseError) for t in row.terms)
    ):
        return formula.dialect.make_relation(row.ops[0], *row.terms)
    return None


@dataclass
class _Pending:
    lhs: object
    rhs: object
    op: str
    line: int
    conditions: list
    sources: tuple[str, str] = ("", "")


def verify(
    text: str,
    defines: tuple[str, ...] | list[str] = (),
    assumptions: tuple[str, ...] | list[str] = (),
    timeout: float = DEFAULT_TIMEOUT,
) -> Report:
    """Check every step of the derivation in ``text`` (a .tex document or a formula).

    ``defines`` are extra ``NAME = EXPR`` definitions and ``assumptions`` extra
    relations (``i \\neq j``, ``0 < a < 1``), as the ``% define:`` and
    ``% assume:`` directives give them.  Each step gets ``timeout`` seconds.

    >>> report = verify(r"\\[ \\sigma'(z) = \\sigma(z)(1+\\sigma(z)) \\]")
    >>> report.steps[0].verdict, report.exit_code
    ('not_equal', 1)
    """
    if not isinstance(text, str):
        raise errors.DirectiveError(f"verify reads LaTeX text, got {type(text).__name__}")
    if not timeout or timeout <= 0:
        raise errors.DirectiveError(f"the time budget must be positive, got {timeout}")
    report = Report()
    context = stepcheck.Context()
    given = list(document.directives(text))
    given += [document.Directive("define", d, 0) for d in defines]
    given += [document.Directive("assume", a, 0) for a in assumptions]
    for directive in given:
        if directive.kind == "define":
            definition = _definition(directive.text, directive.line or None)
            context.definitions.append(definition)
            report.definitions.append((sp.latex(definition.target), sp.latex(definition.value), directive.line or None))
        else:
            for relation in _assumptions(directive.text, directive.line or None):
                context.assumptions.append(relation)
                report.assumptions.append((sp.latex(relation), directive.line or None))
    chains = _chains(document.rows(text), context, report)
    _decide(chains, context, report, timeout)
    return report


def _chains(rows: list[document.SourceRow], context: stepcheck.Context, report: Report) -> list[list]:
    """Group the rows' steps into chains of _Pending steps (or parse errors)."""
    chains: list[list] = []
    last_term = last_source = None
    chain_conditions: list = []
    for source in rows:
        row = formula.read_row(source.math)
        if row.error is not None:
            chains.append([StepResult(source.math.strip(), "", "parse_error", source.line, message=str(row.error))])
            last_term = None
            continue
        if not row.ops:
            last_term = None  # a displayed expression, not a step
            continue
        conditions = [c for c in (row.condition, _note_condition(source.note)) if c is not None]
        parsed = all(not isinstance(t, ParseError) for t in row.terms)
        if _ASSUMPTION_NOTE.search(source.note) and not row.continues and parsed:
            for relation in row.relations():
                context.assumptions.append(relation)
                report.assumptions.append((sp.latex(relation), source.line))
            last_term = None
            continue
        terms = list(row.terms)
        sources = list(row.sources)
        if row.continues:
            if last_term is None or not chains:
                chains.append(
                    [
                        StepResult(
                            source.math.strip(),
                            "",
                            "parse_error",
                            source.line,
                            message="the row starts with a relation but there is no chain before it",
                        )
                    ]
                )
                continue
            terms = [last_term, *terms]
            sources = [last_source, *sources]
            chain_conditions = chain_conditions + conditions
        else:
            chains.append([])
            chain_conditions = list(conditions)
            first, second = terms[0], terms[1]
            if (
                row.ops[0] == "="
                and not isinstance(first, ParseError)
                and not isinstance(second, ParseError)
                and _is_name(first)
                and context.lookup(first) is None
                and not _mentions(second, first)
                and (not conditions or _DEFINITION_NOTE.search(source.note))
            ):
                context.definitions.append(stepcheck.Definition(first, second))
                report.definitions.append((sp.latex(first), sp.latex(second), source.line))
                terms, sources = terms[1:], sources[1:]
                row.ops = row.ops[1:]
        for k, (op, lhs, rhs) in enumerate(zip(row.ops, terms, terms[1:], strict=False)):
            chains[-1].append(_Pending(lhs, rhs, op, source.line, list(chain_conditions), (sources[k], sources[k + 1])))
        last_term, last_source = terms[-1], sources[-1]
    return [c for c in chains if c]


def _decide(chains: list[list], context: stepcheck.Context, report: Report, timeout: float) -> None:
    warmed = False
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
                if not warmed:
                    worker.warm()
                    warmed = True
                _check(result, item, context, timeout)
            chain.steps.append(result)
        report.chains.append(chain)


def _check(result: StepResult, item: _Pending, context: stepcheck.Context, timeout: float) -> None:
    args = (item.lhs, item.rhs, context, item.conditions, timeout, f"{item.line}")
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
