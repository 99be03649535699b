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

The proofs are pure functions of their arguments, so each answer is kept (a bounded cache per
process): the pairs of the catalog share many steps (the derivative of σ, of each loss), and
``derive table`` proves each once.
"""

from __future__ import annotations

import functools
import itertools

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


#: How many answers of each proof a process keeps.
CACHE_SIZE = 8192


def is_zero(expr: sp.Expr, var: sp.Symbol | None = notation.z) -> bool:
    """True when ``expr`` is proven identically zero (``var`` is the exponential variable)."""
    return _is_zero(expr, var)


@functools.lru_cache(maxsize=CACHE_SIZE)
def _is_zero(expr: sp.Expr, var: sp.Symbol | None) -> bool:
    quick = notation.evaluate_products(expr).rewrite("elementary")
    if not quick.has(sp.Piecewise, notation.SampleSum):
        if sp.cancel(quick) == 0:  # cancels as written (tanh kept)
            return True
        if _symbolic_powers(quick) and sp.cancel(_split_powers(quick)) == 0:  # x^(γ+1) = x^γ·x
            return True
    expr = elementary(expr)
    if expr.has(notation.SampleSum):
        merged = _merge_sample_sums(expr)
        if merged is None:
            return False
        expr = elementary(merged)
    if expr.has(sp.Piecewise):
        expr = sp.piecewise_fold(expr)
        if isinstance(expr, sp.Piecewise):  # the same conditions on both sides: branch by branch
            return all(is_zero(value, var) for value, _ in expr.args)
    if normal_form(expr, var) == 0 or normal_form(sp.expand_log(expr, force=True), var) == 0:
        return True
    if _symbolic_powers(expr) and (sp.cancel(_split_powers(expr)) == 0 or _zero_for_real_symbols(expr)):
        return True
    if var is not None and expr.has(var):
        expr = expr.subs(var, sp.log(_T))
    # ln of a sum of fractions: one fraction inside, then split (ln(1 + 1/t) = ln(t + 1) − ln t)
    expr = expr.replace(sp.log, lambda u: sp.log(sp.together(u)))
    return normal_form(sp.expand_log(expr, force=True), None) == 0


#: The size (SymPy operations) up to which :func:`is_zero_over_calls` expands what is left once the calls
#: are symbols.  The steps it proves in derive's fragments and the corpora are below 70; what is larger is
#: an elementary form (GELU_tanh's derivative), half a second to expand for nothing.
QUICK_OPS = 120


@functools.lru_cache(maxsize=CACHE_SIZE)
def is_zero_over_calls(expr: sp.Expr) -> bool:
    """True when ``expr`` is 0 with each catalog call (σ(z), a loss, a softmax) an independent symbol.

    A quick proof tried before :func:`elementary` expands σ into exponentials: a hand step
    ``a(1 − a)(…/(1 − a) …) = …`` usually holds as a rational function of a = σ(·), and the
    symbol keeps the call's known sign.  Sound: an identity in a free symbol holds at any value
    of it (powers x^(γ+c) are split as x^γ·x^c, true wherever x ≠ 0).  ``False`` means not proven.
    """
    calls = {f for f in expr.atoms(sp.Function) if hasattr(type(f), "_eval_rewrite_as_elementary")}
    if not calls:
        return False
    if any(d.has(*calls) for d in expr.atoms(sp.Derivative, sp.Subs)):
        return False  # d/dz of a call is no derivative of a free symbol
    symbols = {call: sp.Dummy("f", **_known_sign(call)) for call in calls}
    generic = expr.xreplace(symbols)  # top-down: a call inside another's argument goes with it
    if sp.count_ops(generic) > QUICK_OPS:
        return False  # still large without the calls: not a small rational function of them
    generic = _split_powers(kinks_as_atoms(generic))
    numerator, _ = sp.fraction(sp.together(sp.expand(generic)))
    return sp.expand(numerator) == 0


def _known_sign(expr: sp.Expr) -> dict[str, bool]:
    """The assumptions a stand-in for ``expr`` may carry: only what SymPy knows of ``expr`` itself."""
    if expr.is_positive:
        return {"positive": True}
    return {"real": True} if expr.is_real else {}


def _symbolic_powers(expr: sp.Expr) -> bool:
    """True when ``expr`` has a power with a symbolic exponent (focal loss's (1 − a)^γ)."""
    return any(not p.exp.is_number for p in expr.atoms(sp.Pow))


def _zero_for_real_symbols(expr: sp.Expr) -> bool:
    """True when ``expr`` cancels with every symbol real (all of derive's variables and parameters are).

    For real z SymPy writes (1/(1 + e^{−z}))^γ as (1 + e^{−z})^{−γ} on both sides alike, so that a
    power with a symbolic exponent (focal loss) is one generator for ``cancel``.
    """
    real = {s: sp.Dummy(s.name, real=True) for s in expr.free_symbols if isinstance(s, sp.Symbol)}
    return sp.cancel(_split_powers(expr.xreplace(real))) == 0


def _split_powers(expr: sp.Expr) -> sp.Expr:
    """x^(γ + c) as x^γ·x^c for a number c, so that cancel sees one generator x^γ."""

    def split(power: sp.Pow) -> sp.Expr:
        number, rest = power.exp.as_coeff_Add()
        return sp.Mul(sp.Pow(power.base, rest), sp.Pow(power.base, number), evaluate=False)

    return expr.replace(lambda e: e.is_Pow and not e.exp.is_number and e.exp.as_coeff_Add()[0] != 0, split)


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


# -- functions with kinks: a proof by cases -----------------------------------------------------------

#: Functions whose value or derivative jumps where an argument changes sign.
KINKED = (sp.Heaviside, sp.Max, sp.Min, sp.Abs, sp.sign)
_S = sp.Dummy("s", positive=True)


def kinks_as_atoms(expr: sp.Expr) -> sp.Expr:
    """``expr`` with each step, max, min, |·|, sign and Piecewise a symbol of its own.

    Two of them with the same arguments (once expanded) are the same symbol.  What is then 0 is 0
    whatever their values, so a proof of the result is a proof of ``expr``; an identity that needs what a
    kink is (max(0, u) = u·H(u)) is not proven this way.  Expanding and combining over one denominator
    otherwise rebuilds each of them many times, and SymPy orders the arguments of a max of a long
    expression in milliseconds each (seconds for one step of ``squared_hinge ∘ gelu_tanh``).
    """
    atoms: dict[sp.Expr, sp.Dummy] = {}

    def atom(node: sp.Expr) -> sp.Dummy:
        if isinstance(node, sp.Piecewise):
            key = sp.Piecewise(*((sp.expand(value), condition) for value, condition in node.args), evaluate=False)
        else:
            key = node.func(*(sp.expand(arg) for arg in node.args), evaluate=False)
        return atoms.setdefault(key, sp.Dummy("k", real=True))

    return expr.replace(lambda e: isinstance(e, (*KINKED, sp.Piecewise)), atom)


def exps_as_atoms(expr: sp.Expr) -> sp.Expr:
    """``expr`` with e^{Σ cᵢ tᵢ} written Π Eᵢ^{cᵢ}: a positive symbol Eᵢ = e^{tᵢ} per term tᵢ of the exponents.

    Exact: e^{u+v} = e^u e^v and e^{c t} = (e^t)^c for real t (a term not known to be real is left).
    The rest is a rational function of the E's: expanding and combining it asks SymPy nothing about
    signs, where e^{u} of a long u takes it milliseconds per factor (log_cosh ∘ silu: seconds a step).
    Innermost exponentials first.
    """
    atoms: dict[sp.Expr, sp.Dummy] = {}

    def power(term: sp.Expr) -> sp.Expr:
        coefficient, rest = term.as_coeff_Mul()
        if rest == 1 or not rest.is_extended_real:  # e^{ix} is no positive number: left as it is
            return sp.exp(term)
        return atoms.setdefault(rest, sp.Dummy("E", positive=True)) ** coefficient

    def atom(exponent: sp.Expr) -> sp.Expr:
        return sp.Mul(*(power(term) for term in sp.Add.make_args(sp.expand(exponent))))

    return expr.replace(sp.exp, atom)


# -- steps of a hand derivation: the pre-activation one symbol, kinks by the signs of their arguments --


def arguments_as_atoms(expr: sp.Expr) -> tuple[sp.Expr, dict[sp.Dummy, sp.Expr]]:
    """``expr`` with each sum of two or more symbols inside a call or a power (b + Σ_k w_k x_k) a real symbol.

    Sums that differ by a constant, a factor or a sign are one symbol (2b + 2w·x + 3 = 2u + 3), and the
    sum is that symbol wherever else it stands whole.  Returns the expression and each new symbol's sum.
    Sound for a proof of 0: what is 0 for every real u is 0 at u = b + Σ w x (derive's symbols are
    real).  An instantiated derivation repeats b + w₁x₁ + w₂x₂ + w₃x₃ inside every σ, tanh and power;
    with it one symbol the difference is a function of a few symbols (a step of gelu_tanh: 8000 terms
    once expanded, a few dozen after).  An identity that needs what the sum is (z² written expanded) is not proven.
    """
    symbols: dict[sp.Expr, sp.Dummy] = {}  # a sum (its primitive part) -> its symbol
    for _ in range(8):  # innermost sums first: u³ + b + w·x is u³ + u once b + w·x is u
        found = _innermost_sums(expr, symbols)
        if not found:
            break
        expr = expr.xreplace(found)

        def within(node: sp.Add) -> sp.Expr:  # b + w·x spread among the terms of a longer sum
            terms = set(node.args)
            for primitive, symbol in symbols.items():
                if len(primitive.args) < len(terms) and terms.issuperset(primitive.args):
                    return sp.Add(*(terms - set(primitive.args))) + symbol
            return node

        expr = expr.replace(lambda e: isinstance(e, sp.Add), within)
    return expr, {u: sum_ for sum_, u in symbols.items()}


def _innermost_sums(expr: sp.Expr, symbols: dict[sp.Expr, sp.Dummy]) -> dict[sp.Expr, sp.Expr]:
    """sum → constant + factor·symbol for each sum of two or more symbols, no sum inside, in a call or power."""
    found: dict[sp.Expr, sp.Expr] = {}
    for node in sp.preorder_traversal(expr):
        if not isinstance(node, (sp.Function, sp.Pow)):
            continue
        for arg in node.args:
            if not isinstance(arg, sp.Add) or arg in found or len(arg.free_symbols) < 2:
                continue
            if arg.has(sp.Function, sp.Derivative) or len(arg.atoms(sp.Add)) > 1:
                continue
            constant, rest = arg.as_coeff_Add()
            content, primitive = rest.as_content_primitive()
            if primitive.could_extract_minus_sign():
                content, primitive = -content, -primitive
            if not isinstance(primitive, sp.Add):
                continue
            symbol = symbols.setdefault(primitive, sp.Dummy("u", real=True))
            found[arg] = constant + content * symbol
            found.setdefault(primitive, symbol)
            found.setdefault(-primitive, -symbol)
    return found


#: At most this many distinct kink arguments are split into sign cases (2^n cases).
SIGN_CASES = 3


def is_zero_by_signs(expr: sp.Expr, domains: dict[sp.Symbol, sp.Set] | None = None, max_ops: int | None = None) -> bool:
    """True when ``expr`` is proven 0 for every sign of the arguments of its kinks, wherever none is 0.

    A Piecewise is folded and each branch must be 0 (sound whatever the conditions say).  Each
    distinct argument u of a Heaviside step, |·|, sign, or two-argument max or min (u = a − b) is
    given a sign: H(u) is then 1 or 0, |u| is ±u, max(a, b) is a or b; in every one of the 2^n cases
    the expression, made elementary (its own kinks, relu's max, split the same way), must be 0 as a
    rational function of its exponentials, a kink inside another one's argument a symbol.  At most
    SIGN_CASES arguments are split along a branch.  That is a proof everywhere but where some argument
    is 0 (a set of measure zero, where the derivative of a kink is a convention), and it needs no sign
    of anything to be known (H(u)·max(0, u) = max(0, u), squared hinge's steps).  The kinks are split
    before the calls are made elementary: SymPy orders the arguments of a max of a long elementary
    expression in tens of milliseconds each.  A parameter whose domain (``domains``) is (0, ∞) or [0, ∞)
    is a positive or non-negative symbol, in ``expr`` and in the elementary forms of the calls (elu's α).
    ``max_ops``: a case larger than this (SymPy operations) is not put over one denominator, and the
    answer is False.
    """
    signed = signed_parameters(domains or {})
    return _zero_by_signs(notation.evaluate_products(expr).xreplace(signed), SIGN_CASES, False, max_ops, signed)


def _zero_by_signs(expr: sp.Expr, splits: int, made_elementary: bool, max_ops: int | None, signed: dict) -> bool:
    def again(expr: sp.Expr, splits: int, made_elementary: bool) -> bool:
        return _zero_by_signs(expr, splits, made_elementary, max_ops, signed)

    if expr.has(sp.Piecewise):
        expr = sp.piecewise_fold(expr)
        if isinstance(expr, sp.Piecewise):
            return all(again(value, splits, made_elementary) for value, _ in expr.args)
    kinks: dict[sp.Expr, tuple[sp.Expr, int]] = {}
    for node in expr.atoms(*KINKED):
        if isinstance(node, (sp.Max, sp.Min)) and len(node.args) != 2:
            continue  # left a symbol: max(a, b, c) is no one sign
        argument = node.args[0] - node.args[1] if isinstance(node, (sp.Max, sp.Min)) else node.args[0]
        argument = sp.expand(argument)
        kinks[node] = (-argument, -1) if argument.could_extract_minus_sign() else (argument, 1)
    keys = sorted({key for key, _ in kinks.values()}, key=sp.default_sort_key)
    known = {key: sign for key in keys if (sign := _known_sign_of(key))}
    if known:  # no case to split: α(1/(1 + p) − 1) < 0
        expr = expr.xreplace(
            {node: _on_side(node, known[key] * flip) for node, (key, flip) in kinks.items() if key in known}
        )
        return again(expr, splits, made_elementary)
    variables = sorted(_kinked_variables(expr, keys), key=sp.default_sort_key)
    if variables and splits > 0:  # u = ±ln(1 + p), p > 0: |u|, softsign(u), e^u − 1 then have known signs
        side = sp.log(1 + sp.Dummy("p", positive=True))
        return all(again(expr.xreplace({variables[0]: sign * side}), splits - 1, made_elementary) for sign in (1, -1))
    if not made_elementary and any(_kinked(type(f), len(f.args)) for k in keys for f in k.atoms(sp.Function)):
        return again(elementary(expr).xreplace(signed), splits, True)  # |softsign(p)| = p/(1 + p)
    if not keys or len(keys) > splits:
        if not made_elementary:
            return again(elementary(expr).xreplace(signed), splits, True)
        return (max_ops is None or sp.count_ops(expr) <= max_ops) and _zero_as_fraction(expr)
    for signs in itertools.product((1, -1), repeat=len(keys)):
        sign_of = dict(zip(keys, signs, strict=True))
        case = expr.xreplace({node: _on_side(node, sign_of[key] * flip) for node, (key, flip) in kinks.items()})
        if not again(case, splits - len(keys), made_elementary):
            return False
    return True


def _known_sign_of(expr: sp.Expr) -> int:
    """1 or −1 when SymPy knows the sign of ``expr`` once over one denominator, else 0."""
    combined = sp.factor_terms(sp.together(expr))
    if combined.is_extended_positive:
        return 1
    return -1 if combined.is_extended_negative else 0


def _kinked_variables(expr: sp.Expr, keys: list[sp.Expr]) -> set[sp.Symbol]:
    """The real symbols that are a kink's whole argument, or the argument of a call with kinks (softsign(u))."""
    found = {key for key in keys if isinstance(key, sp.Symbol)}
    for call in expr.atoms(sp.Function):
        if call.args and isinstance(call.args[0], sp.Symbol) and _kinked(type(call), len(call.args)):
            found.add(call.args[0])
    return {
        s for s in found if s.is_extended_real and s.is_extended_positive is None and s.is_extended_negative is None
    }


def _on_side(node: sp.Expr, sign: int) -> sp.Expr:
    """The value of a kink where its argument has the sign ``sign`` (±1)."""
    if isinstance(node, sp.Heaviside):
        return sp.S.One if sign > 0 else sp.S.Zero
    if isinstance(node, sp.Abs):
        return node.args[0] * sign
    if isinstance(node, sp.sign):
        return sp.Integer(sign)
    first, second = node.args
    if isinstance(node, sp.Max):
        return first if sign > 0 else second
    return second if sign > 0 else first


def _zero_as_fraction(expr: sp.Expr) -> bool:
    """True when ``expr``, its kinks and exponentials symbols, has a numerator that expands to 0."""
    numerator, _ = sp.fraction(sp.together(sp.expand(exps_as_atoms(kinks_as_atoms(expr)))))
    return sp.expand(numerator) == 0


def may_have_kinks(expr: sp.Expr) -> bool:
    """True when ``expr`` has a kink or a Piecewise, or a call whose elementary form has one (relu, elu)."""
    if expr.has(*KINKED, sp.Piecewise):
        return True
    calls = {(type(f), len(f.args)) for f in expr.atoms(sp.Function)}
    return any(_kinked(function, count) for function, count in calls)


@functools.lru_cache(maxsize=256)
def _kinked(function: type, count: int) -> bool:
    if not hasattr(function, "_eval_rewrite_as_elementary"):
        return False
    return elementary(function(*sp.symbols(f"v:{count}", real=True))).has(*KINKED, sp.Piecewise)


def has_kinks(expr: sp.Expr) -> bool:
    """True when ``expr`` holds a Heaviside step, max, min, |·| or sign."""
    return expr.has(*KINKED)


def is_zero_by_cases(
    expr: sp.Expr, var: sp.Symbol = notation.z, domains: dict[sp.Symbol, sp.Set] | None = None, at_kinks: bool = True
) -> bool:
    """True when ``expr`` (real ``var``) is proven 0 at each kink of ``var`` and between the kinks.

    The kinks are the real numbers where an argument of a Heaviside step, max, min or |·| in
    ``var`` alone changes sign (0 for relu, ±3 for hard_sigmoid).  Between two kinks ``var`` is
    written so that SymPy knows its side (c ± ln(1 + s), or c₁ + (c₂ − c₁)/(1 + s), with s > 0), so
    every step function there has one value; at a kink, the convention H(0) = 1/2 is what is proven
    (``at_kinks=False``: the kinks themselves are left out, for a statement that holds almost everywhere).
    A parameter whose domain (``domains``) is (0, ∞) or [0, ∞) is a positive or non-negative
    symbol for the proof (the slope α, the scale of elu).
    Arguments that hold other symbols (1 − y·a of hinge) are split by their own sign, all three
    cases, and the expression must vanish in every one.  False means "not proven".
    """
    return _is_zero_by_cases(expr, var, tuple(sorted((domains or {}).items(), key=str)), at_kinks)


@functools.lru_cache(maxsize=CACHE_SIZE)
def _is_zero_by_cases(expr: sp.Expr, var: sp.Symbol, domains: tuple, at_kinks: bool) -> bool:
    expr = elementary(expr).xreplace(signed_parameters(dict(domains)))
    kinks = _kinks(expr, var)
    if not kinks:
        return _zero_by_atom_signs(expr)
    cases = [*(kinks if at_kinks else ()), kinks[0] - sp.log(1 + _S), kinks[-1] + sp.log(1 + _S)]
    cases += [lo + (hi - lo) / (1 + _S) for lo, hi in zip(kinks, kinks[1:], strict=False)]
    return all(_zero_by_atom_signs(_expand_kinks(expr.subs(var, value))) for value in cases)


def _expand_kinks(expr: sp.Expr) -> sp.Expr:
    """Arguments of step functions factored, so that αt + (1 − α)t is t, α − α/(1 + s) is αs/(1 + s),
    and SymPy can sign them and evaluate H, max, min, |·|."""
    expr = expr.replace(
        lambda e: isinstance(e, KINKED), lambda e: e.func(*(sp.factor(sp.together(arg)) for arg in e.args))
    )
    if expr.has(sp.Piecewise):  # the conditions of pieces: a < 0 with a = αt + (1 − α)t is t < 0, False
        expr = expr.replace(
            lambda e: isinstance(e, sp.core.relational.Relational) and e.has(*expr.free_symbols),
            lambda e: e.func(sp.factor(sp.together(e.lhs - e.rhs)), 0),
        )
    return expr


settle = _expand_kinks


def signed_parameters(domains: dict[sp.Symbol, sp.Set]) -> dict[sp.Symbol, sp.Dummy]:
    """A positive (or non-negative) stand-in for each parameter whose domain says so.

    The same stand-in each time for the same parameter and sign, so that proofs about it can be
    kept (:data:`CACHE_SIZE`).
    """
    out = {}
    for symbol, domain in domains.items():
        if domain.is_subset(sp.Interval.open(0, sp.oo)):
            out[symbol] = _stand_in(symbol, "positive")
        elif domain.is_subset(sp.Interval(0, sp.oo)):
            out[symbol] = _stand_in(symbol, "nonnegative")
    return out


@functools.cache
def _stand_in(symbol: sp.Symbol, sign: str) -> sp.Dummy:
    return sp.Dummy(symbol.name, **{sign: True})


def kink_arguments(expr: sp.Expr) -> list[sp.Expr]:
    """The expressions whose sign switches a step function of ``expr``."""
    out = []
    for atom in expr.atoms(*KINKED):
        if isinstance(atom, (sp.Max, sp.Min)):
            first, *rest = atom.args
            out += [first - other for other in rest]
        else:
            out.append(atom.args[0])
    for piecewise in expr.atoms(sp.Piecewise):  # the conditions of pieces switch too
        for _, condition in piecewise.args:
            out += [r.lhs - r.rhs for r in condition.atoms(sp.core.relational.Relational)]
    return out


def kinks(expr: sp.Expr, var: sp.Symbol) -> list[sp.Expr]:
    """The sorted real numbers where a step function, max, min, |·| or piece of ``expr`` switches in ``var``."""
    return _kinks(expr, var)


def _kinks(expr: sp.Expr, var: sp.Symbol) -> list[sp.Expr]:
    """The sorted real kinks of ``var``: roots of kink arguments that are polynomials in ``var`` alone."""
    points = set()
    for argument in kink_arguments(expr):
        if argument.free_symbols != {var} or not argument.is_polynomial(var):
            continue
        points |= {root for root in sp.Poly(argument, var).real_roots() if root.is_rational}
    return sorted(points)


def _zero_by_atom_signs(expr: sp.Expr, depth: int = 0) -> bool:
    """``expr`` is 0 whatever the sign of each kink argument SymPy cannot sign itself (≤ 3 splits)."""
    if sp.cancel(expr) == 0:  # cheap first: the two sides agree as written
        return True
    if expr.has(sp.Piecewise) and is_zero(expr, var=None):  # pieces fold branch by branch before any split
        return True
    unsigned = [
        u for u in kink_arguments(expr) if u.is_positive is None and u.is_negative is None and u.is_zero is None
    ]
    if not unsigned or depth >= 3:
        return is_zero(expr, var=None)
    u = min(unsigned, key=sp.count_ops)
    return all(_zero_by_atom_signs(_with_sign(expr, u, sign), depth + 1) for sign in (1, -1, 0))


def _with_sign(expr: sp.Expr, u: sp.Expr, sign: int) -> sp.Expr:
    """``expr`` with every step function of ``u`` (or −u) evaluated for sign(u) = ``sign``."""
    step = {1: sp.S.One, -1: sp.S.Zero, 0: sp.S.Half}

    def evaluate(atom: sp.Expr) -> sp.Expr:
        if isinstance(atom, sp.Heaviside):
            arg = atom.args[0]
            if sp.expand(arg - u) == 0:
                return step[sign]
            if sp.expand(arg + u) == 0:
                return step[-sign]
        elif isinstance(atom, (sp.Max, sp.Min)) and len(atom.args) == 2:
            p, q = atom.args
            for first, second in ((p, q), (q, p)):
                if sp.expand(first - second - u) == 0:  # sign(u) > 0: first is the larger
                    if sign == 0:  # equal: the simpler of the two (0 for max(0, u))
                        return min(first, second, key=sp.count_ops)
                    bigger, smaller = (first, second) if sign > 0 else (second, first)
                    return bigger if isinstance(atom, sp.Max) else smaller
        elif isinstance(atom, sp.Abs):
            arg = atom.args[0]
            if sp.expand(arg - u) == 0 or sp.expand(arg + u) == 0:
                if sign == 0:
                    return sp.S.Zero
                return arg if sign * (1 if sp.expand(arg - u) == 0 else -1) >= 0 else -arg
        return atom

    return expr.replace(lambda e: isinstance(e, KINKED), evaluate)
