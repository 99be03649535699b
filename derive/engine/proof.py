"""Targeted proofs that two expressions are equal.

No blind ``simplify`` (slow, and it can hang): an expression is brought into a
form where equality is decidable by polynomial arithmetic, then cancelled.

1. display-only objects go (``Product`` → ``Mul``; sums over samples by linearity);
2. catalog functions are rewritten to elementary ones, hyperbolic ones to exp;
3. z = ln t with t > 0, so e^{kz} = t^k and a rational function of e^z becomes
   a rational function of t (logs and Heaviside steps stay as opaque atoms);
4. ``cancel`` of the difference: 0 is a proof.  Otherwise the logs are
   expanded (t > 0, positive arguments), and last each log's argument is first
   made one fraction, before another ``cancel``.

A ``False`` answer means "not proven", not "different".
"""

from __future__ import annotations

import sympy as sp

from derive.engine import notation


def elementary(expr: sp.Expr) -> sp.Expr:
    """``expr`` with display objects evaluated and catalog functions made elementary."""
    expr = notation.evaluate_products(expr)
    expr = expr.rewrite("elementary")
    return expr.rewrite(sp.exp) if expr.has(sp.tanh, sp.sinh, sp.cosh) else expr


def equal(lhs: sp.Expr, rhs: sp.Expr, var: sp.Symbol | None = notation.z) -> bool:
    """True when ``lhs == rhs`` is proven for all values of the symbols.

    ``var`` is the variable whose exponentials become powers of t (None: no such variable).
    """
    return is_zero(lhs - rhs, var)


_T = sp.Dummy("t", positive=True)


def is_zero(expr: sp.Expr, var: sp.Symbol | None = notation.z) -> bool:
    """True when ``expr`` is proven identically zero (``var`` is the exponential variable)."""
    expr = elementary(expr)
    if expr.has(notation.SampleSum):
        merged = _merge_sample_sums(expr)
        if merged is None:
            return False
        expr = elementary(merged)
    if normal_form(expr, var) == 0 or normal_form(sp.expand_log(expr, force=True), var) == 0:
        return True
    if var is not None and expr.has(var):
        expr = expr.subs(var, sp.log(_T))
    # ln of a sum of fractions: one fraction inside, then split (ln(1 + 1/t) = ln(t + 1) − ln t)
    expr = expr.replace(sp.log, lambda u: sp.log(sp.together(u)))
    return normal_form(sp.expand_log(expr, force=True), None) == 0


def normal_form(expr: sp.Expr, var: sp.Symbol | None = notation.z) -> sp.Expr:
    """``expr`` (elementary) as one cancelled fraction in t = e^var."""
    if var is not None and expr.has(var):
        expr = expr.subs(var, sp.log(_T))
    return sp.cancel(sp.together(expr))


def _merge_sample_sums(expr: sp.Expr) -> sp.Expr | None:
    """Σ_x f − Σ_x g → f − g by linearity, if every term is c·Σ_x(·) with c per-batch.

    Σ_x f = Σ_x g follows from f = g; returns None when the terms do not all
    have that shape (then nothing is proven).
    """
    combined = sp.S.Zero
    for term in sp.Add.make_args(sp.expand(expr, deep=False, mul=True)):
        sums = [f for f in sp.Mul.make_args(term) if isinstance(f, notation.SampleSum)]
        if len(sums) != 1:
            return None
        coeff = term / sums[0]
        if coeff.has(notation.SampleSum) or coeff.free_symbols - {notation.n}:
            return None
        combined += coeff * sums[0].summand
    return combined


def is_zero_exp_atoms(expr: sp.Expr) -> bool:
    """True when ``expr`` is proven 0 as a rational function of its exponentials.

    Each e^{c·u} becomes atom(u)^c, keyed by the expanded exponent u (e^{-u} is 1/atom),
    innermost first, so nested exponentials (a softmax of sigmoids) stay
    consistent; then the numerator of the combined fraction must expand to 0.
    """
    atoms: dict[sp.Expr, sp.Symbol] = {}

    def atom(arg):
        power, key = sp.expand(arg).as_content_primitive()  # e^{2u} = (e^u)^2
        if -key in atoms:
            return atoms[-key] ** -power
        return atoms.setdefault(key, sp.Dummy("E", positive=True)) ** power

    rational = elementary(expr).replace(sp.exp, atom)
    return sp.expand(sp.fraction(sp.together(rational))[0]) == 0
