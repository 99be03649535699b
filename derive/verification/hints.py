"""What a wrong step's numbers say: a counterexample, and a hint at the slip.

A constant ratio between the sides is a flipped sign, a factor 2 or a log base;
a ratio equal to σ′(z), tanh′(z), 1/n or x_j names the factor one side lacks; a
constant difference is a dropped term.
"""

from __future__ import annotations

import sympy as sp

from derive.catalog import activations
from derive.engine import proof
from derive.errors import Undecidable
from derive.verification import context as context_
from derive.verification import instances, sampling
from derive.verification.sampling import DIGITS, TOLERANCE, agree

_CONSTANTS = (
    (sp.log(10), "ln 10 (a log base 10 where the natural log belongs?)"),
    (1 / sp.log(10), "1/ln 10 (a log base 10 where the natural log belongs?)"),
    (sp.log(2), "ln 2"),
    (1 / sp.log(2), "1/ln 2"),
)


def name(atom: sp.Basic) -> str:
    """A readable name of a symbol or instantiated Indexed: y[2] → y_2, w[1, 2] → w_{1,2}."""
    if isinstance(atom, sp.Indexed):
        indices = ",".join(str(i) for i in atom.indices)
        return f"{atom.base}_{indices}" if len(indices) == 1 else f"{atom.base}_{{{indices}}}"
    return str(atom)


def counterexample(sample) -> dict:
    """The point (inputs and index values) of a failing sample, and both sides' values there."""
    shown = {name(k): float(v) for k, v in sorted(sample.point.items(), key=lambda kv: str(kv[0]))}
    values = sample.instance.values
    shown.update({str(k): int(v) for k, v in sorted(values.items(), key=lambda kv: str(kv[0])) if k != instances.SIZE})
    return {"point": shown, "lhs": float(sample.left), "rhs": float(sample.right)}


def hint(samples: list, context: context_.Context) -> str | None:
    """A likely slip behind the disagreement of ``samples``, or None."""
    ratios = [s.left / s.right for s in samples if abs(s.right) > TOLERANCE]
    if len(ratios) >= 3 and all(agree(r, ratios[0]) for r in ratios):
        found = _constant_factor(ratios[0])
        if found:
            return found
    named = _named_factor(samples, context)
    if named:
        return named
    differences = [s.left - s.right for s in samples]
    if all(agree(d, differences[0]) for d in differences):
        constant = sp.nsimplify(differences[0], rational=True, tolerance=1e-15)
        return f"the sides differ by a constant term: left − right = {constant}"
    return None


def _constant_factor(c: sp.Expr) -> str | None:
    """The hint for a constant ratio ``c`` of left to right: −1, ln 10, a small fraction."""
    if agree(c, -1):
        return "sign flipped: the left side is minus the right side"
    for value, label in _CONSTANTS:
        if agree(c, sp.N(value, DIGITS)):
            return f"the sides differ by a factor {label}"
    rational = sp.nsimplify(c, rational=True, tolerance=1e-15)
    if rational.q <= 12 and abs(rational.p) <= 12:
        return f"the sides differ by a constant factor {rational}: left = {rational} × right"
    return None


def _named_factor(samples: list, context: context_.Context) -> str | None:
    """A factor such as σ′(z), 1/n, x_j that the left side has and the right lacks, or the reverse."""
    instance = samples[0].instance
    same = [s for s in samples if s.instance is instance and abs(s.right) > TOLERANCE]
    if len(same) < 3:
        return None
    candidates = _atom_candidates(instance) + _definition_candidates(instance, context)
    known = set(same[0].point)
    for factor, label in candidates:
        if not sampling.value_symbols(factor) <= known:
            continue  # a quantity the sides do not hold cannot be the factor between them
        evaluator = sampling.Evaluator(factor)
        values = [evaluator(sample.point) for sample in same]
        if any(value is None for value in values):
            continue
        if all(agree(s.left, s.right * value) for s, value in zip(same, values, strict=True)):
            return f"factor {label}: the left side has it and the right side lacks it (left = right × {label})"
        if all(agree(s.right, s.left * value) for s, value in zip(same, values, strict=True)):
            return f"factor {label}: the right side has it and the left side lacks it (right = left × {label})"
    return None


def _derivative_candidates(value: sp.Expr, label: str) -> list[tuple[sp.Expr, str]]:
    sig = activations.sigmoid(value)
    return [(sig * (1 - sig), f"σ′({label})"), (1 - sp.tanh(value) ** 2, f"tanh′({label})"), (value, label)]


def _atom_candidates(instance) -> list[tuple[sp.Expr, str]]:
    """σ′(u), tanh′(u) and u for every input u of the instantiated step."""
    values = instance.values
    back = {
        v: k
        for k, v in values.items()
        if k != instances.SIZE and isinstance(k, sp.Symbol) and not k.name.startswith("N_")
    }
    candidates = []
    for s in sorted(sampling.value_symbols(instance.left) | sampling.value_symbols(instance.right), key=str):
        if not str(s).startswith("⟨"):
            candidates += _derivative_candidates(s, _label(s, back))
    return candidates


def _definition_candidates(instance, context: context_.Context) -> list[tuple[sp.Expr, str]]:
    """σ′(z), tanh′(z) and z for every defined name z (``z = w x + b``)."""
    candidates = []
    for definition in context.definitions:
        if isinstance(definition.target, sp.Symbol):
            try:
                target = instances.instantiate(definition.target, instance.values)
                value = proof.elementary(instance.resolver.resolve(target))
            except Undecidable:
                continue
            candidates += _derivative_candidates(value, str(definition.target))
    return candidates


def _label(atom: sp.Basic, back: dict) -> str:
    """x[3] shown as x_j when the instantiation set j = 3."""
    if isinstance(atom, sp.Indexed):
        return name(atom.base[tuple(back.get(i, i) for i in atom.indices)])
    return name(atom)
