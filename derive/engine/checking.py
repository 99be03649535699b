"""The engine's own check of a trace: every step proven before anything is shown.

Each step ``lhs = expr`` is proven equal to the previous step about the same
quantity (under the conditions of both) and to an independent reference value
of ``lhs``.  The caller says how to find references, evaluate step
expressions and decide that a difference is zero (scalar, symbolic K,
explicit K).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import sympy as sp

from derive import errors
from derive.engine import steps

Reference = Callable[[sp.Basic], sp.Basic | None]
Evaluate = Callable[[sp.Basic], sp.Basic]
IsZero = Callable[[sp.Basic, Iterable[sp.Basic]], bool]


def check(
    trace: Iterable[steps.Step], reference: Reference, evaluate: Evaluate, is_zero: IsZero, pairs: bool = True
) -> None:
    """Raise :class:`~derive.errors.ProofError` naming the first step that is not proven.

    With ``pairs=False`` consecutive steps are not compared directly: both are
    proven equal to the same reference, so they are equal by transitivity (the
    explicit-K softmax, where each direct comparison costs as much as a proof).
    """
    previous: dict[sp.Basic, tuple[sp.Basic, tuple[sp.Basic, ...]]] = {}
    for number, step in enumerate(trace, start=1):
        want = reference(step.lhs)
        if want is None:
            continue  # a definition of something with no reference (z = Σ w x + b), or an assumption
        value = evaluate(step.expr)
        if pairs and step.lhs in previous:
            prior, prior_conditions = previous[step.lhs]
            if not is_zero(prior - value, (*prior_conditions, *step.conditions)):
                raise errors.ProofError(f"step {number} ({step.rule}) does not follow from the step before it")
        if not is_zero(value - want, step.conditions):
            raise errors.ProofError(f"step {number} ({step.rule}) does not match its reference (sympy.diff)")
        previous[step.lhs] = (value, step.conditions)
