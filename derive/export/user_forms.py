r"""Stable rewrites of a user formula: the pieces people write by hand that overflow or cancel.

A user formula is printed as written, but a few hand-written pieces have a stable catalog function
of the same value, and each is replaced by it:

    ln(1 + e^u)         softplus(u)          overflows for u > 709
    1 / (1 + e^u)       σ(−u)                e^u overflows
    1 − σ(u)            σ(−u)                cancels for u ≫ 0
    ln σ(u)             −softplus(−u)        ln 0 for u < −745
    ln(1 − σ(u))        −softplus(u)         ln 0 for u > 37
    1 − tanh²(u)        4 σ(2u) σ(−2u)       cancels for |u| > 19

Each replacement is proven equal to what it replaces (both sides in elementary functions) and
recorded as a step of the export trace; the rest of the formula is kept as written.

>>> u = sp.Symbol("u")
>>> stabilise(sp.log(1 + sp.exp(u)) - (1 - sp.tanh(u) ** 2))[0]
-4*sigmoid(-2*u)*sigmoid(2*u) + softplus(u)
"""

from __future__ import annotations

import sympy as sp

from derive import catalog, errors
from derive.engine import proof, steps

_SIGMOID = catalog.activation("sigmoid")
_SOFTPLUS = catalog.activation("softplus")


def _exp_plus_one(e: sp.Basic) -> sp.Expr | None:
    """u when ``e`` is e^u + 1 (in any order), else None."""
    if isinstance(e, sp.Add) and len(e.args) == 2 and sp.S.One in e.args:
        other = e.args[0] if e.args[1] == 1 else e.args[1]
        if isinstance(other, sp.exp):
            return other.args[0]
    return None


def _one_minus(e: sp.Basic, kind: type) -> tuple[sp.Expr, sp.Expr, sp.Expr] | None:
    """(c, x, the rest) when the sum ``e`` holds c·(1 − kind(x)), c = ±1 (σ(x) or tanh²(x), by ``kind``)."""
    if not isinstance(e, sp.Add):
        return None
    constant, terms = e.as_coeff_Add()
    if constant not in (1, -1):
        return None
    for term in sp.Add.make_args(terms):
        coeff, rest = term.as_coeff_Mul()
        if coeff != -constant:
            continue
        if kind is _SIGMOID and isinstance(rest, _SIGMOID):
            return constant, rest.args[0], terms - term
        if kind is sp.tanh and isinstance(rest, sp.Pow) and rest.exp == 2 and isinstance(rest.base, sp.tanh):
            return constant, rest.base.args[0], terms - term
    return None


def _rewrite(e: sp.Basic) -> sp.Expr | None:
    """The stable form of ``e`` itself (its arguments already rewritten), or None."""
    if isinstance(e, sp.log):
        arg = e.args[0]
        u = _exp_plus_one(arg)
        if u is not None:
            return _SOFTPLUS(u)
        if isinstance(arg, _SIGMOID):
            return -_SOFTPLUS(-arg.args[0])
    if isinstance(e, sp.Pow) and e.exp == -1:
        u = _exp_plus_one(e.base)
        if u is not None:
            return _SIGMOID(-u)
    found = _one_minus(e, _SIGMOID)
    if found is not None:
        c, x, rest = found
        return c * _SIGMOID(-x) + rest
    found = _one_minus(e, sp.tanh)
    if found is not None:
        c, x, rest = found
        return c * 4 * _SIGMOID(2 * x) * _SIGMOID(-2 * x) + rest
    return None


def stabilise(expr: sp.Expr) -> tuple[sp.Expr, list[steps.Step]]:
    """``expr`` with each hand-written unstable piece replaced by its stable form, and the proof of each.

    errors.ProofError if a replacement is not proven equal (it never should be: each rule is an identity).
    """
    found: dict[sp.Expr, sp.Expr] = {}

    def walk(e: sp.Basic) -> sp.Basic:
        if not e.args or isinstance(e, (_SIGMOID, _SOFTPLUS)):
            return e
        rebuilt = e.func(*(walk(arg) for arg in e.args))
        stable = _rewrite(rebuilt)
        if stable is None:
            return rebuilt
        found[rebuilt] = stable
        return walk(stable) if stable != rebuilt else stable

    out = walk(expr)
    proven = []
    for old, new in found.items():
        if not proof.is_zero((new - old).rewrite("elementary"), var=None):
            raise errors.ProofError(f"the stable form {new} of {old} is not proven")
        proven.append(steps.Step("proven piece", old, new, "a hand-written piece of the user formula, made stable"))
    return out, proven
