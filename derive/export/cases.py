"""Proofs by cases of one real variable: the stable pieces of the exported code equal their naive meanings.

A stable form splits where the naive one does not (E = e^{−|z|}, ``np.where(z >= 0, …)``, a clip), so
``proven(difference, var)`` proves ``difference = 0`` on each side of every place where something splits
and at that place itself.  The places are the rational roots, in ``var`` alone, of the arguments of the
step functions (Heaviside, max, min, |·|) and of the Piecewise conditions, and always 0.  Between two
places ``var`` is written so that SymPy knows its side (c ± ln(1 + s) beyond the outermost ones,
c₁ + (c₂ − c₁)/(1 + s) between two, s > 0): every step function and condition there is decided
after its argument is put over one denominator, and each branch left must cancel
(``derive.engine.proof.is_zero``, or as a rational function of its exponentials).  Conditions that
hold other symbols (r > κ, y > 1/2) stay: then every branch must vanish, which is stronger.
A parameter whose domain is (0, ∞) or [0, ∞) is a positive or non-negative symbol.
"""

from __future__ import annotations

from collections.abc import Mapping

import sympy as sp
from sympy.core.relational import Relational

from derive.engine import proof
from derive.export import stable

#: Functions whose value or derivative jumps where an argument changes sign.
KINKED = (sp.Heaviside, sp.Max, sp.Min, sp.Abs)
_S = sp.Dummy("s", positive=True)
#: The signs of lhs − rhs for which each relation holds.
_ORDER = {
    sp.StrictGreaterThan: (1,),
    sp.GreaterThan: (0, 1),
    sp.StrictLessThan: (-1,),
    sp.LessThan: (-1, 0),
    sp.Eq: (0,),
    sp.Ne: (-1, 1),
}


def proven(difference: sp.Expr, var: sp.Symbol, domains: Mapping[sp.Symbol, sp.Set] | None = None) -> bool:
    """True when ``difference`` is proven 0 for every real ``var`` (the other symbols arbitrary); False: not proven."""
    expr = difference.xreplace(proof.signed_parameters(dict(domains or {})))
    expr = expr.rewrite(sp.log).rewrite(sp.exp)  # log1p, expm1, log1p_ratio
    expr = expr.replace(stable.Phi, lambda x: (1 + sp.erf(x / sp.sqrt(2))) / 2)
    places = _places(expr, var)
    values = [*places, places[0] - sp.log(1 + _S), places[-1] + sp.log(1 + _S)]
    values += [low + (high - low) / (1 + _S) for low, high in zip(places, places[1:], strict=False)]
    return all(_vanishes(_settle(expr.subs(var, value))) for value in values)


def _vanishes(expr: sp.Expr) -> bool:
    folded = sp.piecewise_fold(expr)
    branches = [value for value, _ in folded.args] if isinstance(folded, sp.Piecewise) else [folded]
    return all(proof.is_zero(b, var=None) or proof.is_zero_exp_atoms(b) for b in branches)


def _places(expr: sp.Expr, var: sp.Symbol) -> list[sp.Expr]:
    """0 and the rational roots of every split argument that is a polynomial in ``var`` alone, sorted."""
    arguments = [rel.lhs - rel.rhs for rel in expr.atoms(Relational)] + proof.kink_arguments(expr)
    points = {sp.S.Zero}
    for argument in arguments:
        argument = sp.expand(argument)
        if argument.free_symbols == {var} and argument.is_polynomial(var):
            points |= {root for root in sp.roots(sp.Poly(argument, var)) if root.is_rational}
    return sorted(points)


def _sign(expr: sp.Expr) -> int | None:
    """The sign of ``expr`` over one denominator (−1, 0, 1), None when SymPy cannot tell."""
    value = sp.cancel(sp.together(expr))
    if value.is_zero:
        return 0
    if value.is_positive:
        return 1
    if value.is_negative:
        return -1
    return None


def _settle(expr: sp.Expr) -> sp.Expr:
    """Every step function and condition whose argument has a known sign, evaluated (H(0) = 1/2)."""

    def decide(e: sp.Basic) -> sp.Basic:
        if isinstance(e, (sp.Max, sp.Min)) and len(e.args) == 2:
            p, q = e.args
            sign = _sign(p - q)
            if sign is None:
                return e
            larger, smaller = (p, q) if sign >= 0 else (q, p)
            return larger if isinstance(e, sp.Max) else smaller
        if isinstance(e, (sp.Heaviside, sp.Abs)):
            sign = _sign(e.args[0])
            if sign is None:
                return e
            if isinstance(e, sp.Abs):
                return e.args[0] * sign
            return {1: sp.S.One, 0: sp.S.Half, -1: sp.S.Zero}[sign]
        if isinstance(e, Relational):
            sign = _sign(e.lhs - e.rhs)
            if sign is None:
                return e
            holds = sign in _ORDER.get(type(e), ())
            return sp.true if holds else sp.false
        return e

    return expr.replace(lambda e: isinstance(e, (*KINKED, Relational)), decide)
