"""Domains of user formulas: the sets people write, and the ranges and domains derive infers.

:func:`read_set` reads ``"(0, 1)"``, ``"[0, oo)"``, ``"(-oo, oo)"``, ``"{-1, 1}"`` with a small
hand-written reader (never ``sympify`` of user text).  :func:`infer_range` finds the values
``a = f(z)`` takes for real z, :func:`infer_domain` the values of a where ``L(a, y)`` is real and
finite; each tries only what SymPy answers quickly (``function_range``, the critical points,
monotonicity and the limits at ±∞), under a time budget, and says None rather than guess.
An inferred set is also checked against samples of the function: a value outside it means
SymPy missed something, and the answer is None.
"""

from __future__ import annotations

import contextlib
import fractions
import itertools
import math
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

import mpmath
import sympy as sp
from sympy.calculus import util as calculus

from derive import errors

#: Seconds each inference may take; past that it gives up (the caller asks for the set instead).
BUDGET = 20.0

#: How a set is written: what the error of a bad one shows.
FORMS = '"(0, 1)", "[0, oo)", "(-oo, oo)", "(0, 1]" or "{-1, 1}"'

T = TypeVar("T")


# -- the sets people write ----------------------------------------------------------------------------


def read_set(value: object, what: str) -> sp.Set:
    """The set ``value`` (a string such as ``"[0, oo)"``, or a SymPy set of reals); InvalidOption if neither.

    ``what`` names the setting in the message (``"the domain of cauchy"``).
    """
    if isinstance(value, sp.Set):
        if value.is_empty or not value.is_subset(sp.S.Reals):
            raise errors.InvalidOption(f"{what} must be a non-empty set of real numbers, not {value}")
        return value
    if not isinstance(value, str):
        raise errors.InvalidOption(f"{what} is written like {FORMS}, not {value!r}")
    text = value.strip()
    if text.lower() in ("r", "reals", "real", "ℝ"):
        return sp.S.Reals
    if len(text) >= 2 and text[0] == "{" and text[-1] == "}":
        items = [part for part in text[1:-1].split(",") if part.strip()]
        if not items:
            raise errors.InvalidOption(f"{what}: {value!r} is empty; write it like {FORMS}")
        points = [_number(part, value, what) for part in items]
        if any(not p.is_finite for p in points):
            raise errors.InvalidOption(f"{what}: {value!r} lists oo, which is no number")
        return sp.FiniteSet(*points)
    if len(text) < 2 or text[0] not in "([" or text[-1] not in ")]" or text[1:-1].count(",") != 1:
        raise errors.InvalidOption(f"{what}: cannot read {value!r}; write it like {FORMS}")
    low_text, high_text = text[1:-1].split(",")
    low, high = _number(low_text, value, what), _number(high_text, value, what)
    left_open, right_open = text[0] == "(", text[-1] == ")"
    if (low.is_infinite and not left_open) or (high.is_infinite and not right_open):
        raise errors.InvalidOption(f"{what}: {value!r} includes oo, which is no number; use ( and ) at infinite ends")
    if low is sp.oo or high is -sp.oo or low > high or (low == high and (left_open or right_open)):
        raise errors.InvalidOption(f"{what}: {value!r} is empty; write the smaller end first, like {FORMS}")
    return sp.Interval(low, high, left_open, right_open)


_INFINITY = {"oo": sp.oo, "inf": sp.oo, "infinity": sp.oo, "∞": sp.oo}


def _number(text: str, whole: str, what: str) -> sp.Expr:
    """One end of a set: an integer, a decimal, a fraction p/q, or ±oo (exact: 0.1 is 1/10)."""
    word = text.strip().lower().replace(" ", "")
    sign, bare = (-1, word[1:]) if word.startswith("-") else (1, word.removeprefix("+"))
    if bare in _INFINITY:
        return sign * _INFINITY[bare]
    try:
        number = fractions.Fraction(word)
    except (ValueError, ZeroDivisionError):
        raise errors.InvalidOption(f"{what}: {text.strip()!r} in {whole!r} is not a number (or oo)") from None
    return sp.Rational(number.numerator, number.denominator)


def read_number(value: object, what: str) -> float:
    """A finite real number (not a bool); InvalidOption otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float, fractions.Fraction)):
        raise errors.InvalidOption(f"{what} must be a number, not {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise errors.InvalidOption(f"{what} must be a finite number, not {value!r}")
    return number


# -- a time budget --------------------------------------------------------------------------------------


def within(seconds: float, work: Callable[[], T]) -> T | None:
    """``work()``, or None when it fails or is not done in ``seconds``.

    It runs on a daemon thread, so the budget holds on any thread (no SIGALRM).  SymPy cannot be
    interrupted: work past its time is abandoned, and ends on its own (or with the process).
    """
    box: dict[str, T] = {}

    def run() -> None:
        with contextlib.suppress(Exception):  # any failure of SymPy here (RecursionError too) means "not inferred"
            box["value"] = work()

    thread = threading.Thread(target=run, name="derive-inference", daemon=True)
    thread.start()
    thread.join(seconds)
    return None if thread.is_alive() else box.get("value")


# -- signs of parameters --------------------------------------------------------------------------------


def stand_in(symbol: sp.Symbol, domain: sp.Set) -> list[sp.Expr]:
    """The real stand-ins of a parameter: one signed Dummy, or three cases when its sign is unknown."""
    if domain.is_subset(sp.Interval.open(0, sp.oo)):
        return [sp.Dummy(symbol.name, positive=True)]
    if domain.is_subset(sp.Interval(0, sp.oo)):
        return [sp.Dummy(symbol.name, nonnegative=True)]
    if domain.is_subset(sp.Interval.open(-sp.oo, 0)):
        return [sp.Dummy(symbol.name, negative=True)]
    if domain.is_subset(sp.Interval(-sp.oo, 0)):
        return [sp.Dummy(symbol.name, nonpositive=True)]
    cases: list[sp.Expr] = [sp.Dummy(symbol.name, positive=True), sp.Dummy(symbol.name, negative=True)]
    if domain.contains(0) is sp.true:
        cases.append(sp.S.Zero)
    return cases


def sign_cases(domains: Mapping[sp.Symbol, sp.Set], limit: int = 9) -> list[dict[sp.Symbol, sp.Expr]] | None:
    """Every combination of the parameters' stand-ins (None when there are more than ``limit``)."""
    options = [[(symbol, value) for value in stand_in(symbol, domain)] for symbol, domain in domains.items()]
    if math.prod(len(o) for o in options) > limit:
        return None
    return [dict(case) for case in itertools.product(*options)]


def _back(value: sp.Basic, case: Mapping[sp.Symbol, sp.Expr]) -> sp.Basic:
    """``value`` with the stand-ins of ``case`` turned back into the parameters."""
    return value.xreplace({dummy: symbol for symbol, dummy in case.items() if isinstance(dummy, sp.Dummy)})


# -- the range of an activation ---------------------------------------------------------------------------

_ZR = sp.Dummy("z", real=True)


def infer_range(formula: sp.Expr, z: sp.Symbol, domains: Mapping[sp.Symbol, sp.Set]) -> sp.Set | None:
    """The values ``formula`` (fully elementary, in z) takes for every real z and every allowed parameter.

    With a parameter of unknown sign the answer is the union over its signs (and 0).  None when
    SymPy cannot find it within the budget.
    """
    cases = sign_cases(domains)
    if cases is None:
        return None

    def work() -> sp.Set | None:
        found = []
        for case in cases:
            f = formula.xreplace({z: _ZR, **case})
            if f.has(sp.zoo, sp.nan):
                continue  # the formula is undefined for this parameter value (β = 0 in ln(1 + e^{βz})/β)
            one = _range_of(f)
            if one is None or (not case and not _samples_inside(f, one)):
                return None
            found.append(_back(one, case))
        return sp.Union(*found) if found else None

    return within(BUDGET, work)


def _range_of(f: sp.Expr) -> sp.Set | None:
    """The range of ``f`` over the reals (in _ZR): function_range, critical points, or monotone ends."""
    if not f.has(_ZR):
        return sp.FiniteSet(f)
    try:
        found = calculus.function_range(f, _ZR, sp.S.Reals)
        if isinstance(found, sp.Set) and not found.free_symbols & {_ZR} and not found.is_empty:
            return found
    except (NotImplementedError, ValueError, TypeError):
        pass
    slope = sp.diff(f, _ZR)
    return _by_critical_points(f, slope) or _by_monotone(f, slope)


def _by_critical_points(f: sp.Expr, slope: sp.Expr) -> sp.Set | None:
    """[min, max] over the critical points of a continuous f and its limits at ±∞ (numbers only)."""
    if f.free_symbols != {_ZR} or calculus.continuous_domain(f, _ZR, sp.S.Reals) != sp.S.Reals:
        return None
    try:
        points = sp.solve(slope, _ZR)
    except NotImplementedError:
        return None
    if not all(p.is_real for p in points):
        return None
    ends = [sp.limit(f, _ZR, -sp.oo), sp.limit(f, _ZR, sp.oo)]
    inside = [_simplify_value(f.subs(_ZR, p)) for p in points]
    values = [v for v in (*ends, *inside) if not isinstance(v, sp.AccumBounds)]
    if len(values) < len(ends) + len(inside) or not all(v.is_extended_real for v in values):
        return None
    low, high = min(values, key=_float), max(values, key=_float)
    attained = {_float(v) for v in inside}
    return sp.Interval(low, high, _float(low) not in attained, _float(high) not in attained)


def _simplify_value(value: sp.Expr) -> sp.Expr:
    """A value at a critical point, simplified; e^{W(x)} = x/W(x) (swish's minimum is −W(1/e))."""
    value = sp.expand(value, power_exp=True, mul=False, multinomial=False)
    value = value.replace(
        lambda e: isinstance(e, sp.exp) and isinstance(e.args[0], sp.LambertW) and len(e.args[0].args) == 1,
        lambda e: e.args[0].args[0] / e.args[0],
    )
    return sp.simplify(value)


def _float(value: sp.Expr) -> float:
    """The value as a float, ±inf for ±oo."""
    if value is sp.oo or value is -sp.oo:
        return math.inf if value is sp.oo else -math.inf
    return float(value)


def _by_monotone(f: sp.Expr, slope: sp.Expr) -> sp.Set | None:
    """(lim at −∞, lim at +∞) when f′ has one sign: open ends for f′ ≠ 0, closed finite ends otherwise."""
    signed = _signable(slope)
    rising = signed.is_nonnegative
    if not (rising or signed.is_nonpositive):
        return None
    ends = [sp.limit(f, _ZR, -sp.oo), sp.limit(f, _ZR, sp.oo)]
    if any(isinstance(e, (sp.AccumBounds, sp.Limit)) or e.has(sp.nan) for e in ends):
        return None
    low, high = ends if rising else ends[::-1]
    strict = bool(signed.is_positive or signed.is_negative)
    return sp.Interval(low, high, strict or low.is_infinite, strict or high.is_infinite)


def _signable(slope: sp.Expr) -> sp.Expr:
    """``slope`` in a form SymPy can sign: each Heaviside step a non-negative symbol (it is 0, 1/2 or 1),
    and, when that is not enough, one fraction in exponentials (1 − tanh² is 4e^{2z}/(e^{2z} + 1)²)."""
    signed = slope.xreplace({h: sp.Dummy("H", nonnegative=True) for h in slope.atoms(sp.Heaviside)})
    if signed.is_nonnegative or signed.is_nonpositive:
        return signed
    return sp.factor(sp.together(signed.rewrite(sp.exp)))


def ends(formula: sp.Expr, z: sp.Symbol, domains: Mapping[sp.Symbol, sp.Set]) -> tuple[sp.Expr, sp.Expr] | None:
    """(lim f as z → −∞, lim f as z → +∞), or None when SymPy cannot find both."""
    case = {s: stand_in(s, d)[0] for s, d in domains.items()} if domains else {}
    if any(len(stand_in(s, d)) > 1 for s, d in domains.items()):
        return None  # the ends of tanh(βz) swap with the sign of β

    def work() -> tuple[sp.Expr, sp.Expr] | None:
        f = formula.xreplace({z: _ZR, **case})
        found = tuple(_back(sp.limit(f, _ZR, end), case) for end in (-sp.oo, sp.oo))
        if any(isinstance(e, (sp.AccumBounds, sp.Limit)) or e.has(sp.nan) for e in found):
            return None
        return found

    return within(BUDGET, work)


def monotone(formula: sp.Expr, z: sp.Symbol, domains: Mapping[sp.Symbol, sp.Set]) -> bool:
    """True when f′ ≥ 0 is proven for every real z and every allowed parameter."""
    cases = sign_cases(domains)

    def work() -> bool:
        slopes = (_signable(sp.diff(formula.xreplace({z: _ZR, **case}), _ZR)) for case in cases or [])
        return all(bool(slope.is_nonnegative) for slope in slopes)

    return bool(cases) and bool(within(BUDGET, work))


def defined_for(formula: sp.Expr, z: sp.Symbol, domains: Mapping[sp.Symbol, sp.Set]) -> sp.Set | None:
    """The real z where ``formula`` is real and finite (for every allowed parameter), None if not found."""
    cases = sign_cases(domains)

    def work() -> sp.Set | None:
        found = [calculus.continuous_domain(formula.xreplace({z: _ZR, **case}), _ZR, sp.S.Reals) for case in cases]
        return sp.Intersection(*found) if found else None

    return None if cases is None else within(BUDGET, work)


# -- the domain of a loss ----------------------------------------------------------------------------------

_AR = sp.Dummy("a", real=True)
_YR = sp.Dummy("y", real=True)


def infer_domain(
    formula: sp.Expr, a: sp.Symbol, y: sp.Symbol, targets: sp.Set, domains: Mapping[sp.Symbol, sp.Set]
) -> sp.Set | None:
    """Where ``formula`` (fully elementary in a and y) is real and finite in a, the same for every target y.

    First for a symbolic y; when SymPy cannot, for sample targets and parameters, which must all
    agree.  None when SymPy cannot find it, or it depends on y (log(a − y)).
    """

    def work() -> sp.Set | None:
        found = _symbolic_domain(formula, a, y, domains)
        samples = list(_samples(targets, domains))
        if found is None:
            answers = {calculus.continuous_domain(formula.xreplace({a: _AR, y: yv, **pv}), _AR, sp.S.Reals)
                       for yv, pv in samples}  # fmt: skip
            if len(answers) != 1:
                return None
            found = answers.pop()
        if found.is_empty or not all(
            _finite_inside(formula.xreplace({y: yv, **pv}), a, found, yv) for yv, pv in samples
        ):
            return None
        return found

    return within(BUDGET, work)


def _symbolic_domain(
    formula: sp.Expr, a: sp.Symbol, y: sp.Symbol, domains: Mapping[sp.Symbol, sp.Set]
) -> sp.Set | None:
    case = {s: stand_in(s, d)[0] for s, d in domains.items()}
    try:
        found = calculus.continuous_domain(formula.xreplace({a: _AR, y: _YR, **case}), _AR, sp.S.Reals)
    except (NotImplementedError, ValueError, TypeError):
        return None
    if found.free_symbols or any(len(stand_in(s, d)) > 1 for s, d in domains.items()):
        return None if found.free_symbols else found
    return found


def _samples(targets: sp.Set, domains: Mapping[sp.Symbol, sp.Set]) -> Iterable[tuple[sp.Expr, dict]]:
    """A few (y, parameters) pairs: y inside the targets, each parameter inside its domain."""
    ys = _points(targets, 3)
    params = [[(s, v) for v in _points(d, 2)] for s, d in domains.items()]
    for yv in ys:
        for combo in itertools.islice(itertools.product(*params), 4):
            yield yv, dict(combo)


def _points(s: sp.Set, count: int) -> list[sp.Expr]:
    """``count`` rationals inside the set ``s`` (every point of a finite set)."""
    if isinstance(s, sp.FiniteSet):
        return list(s)[: max(count, 2)]
    candidates = [sp.Rational(1, 3), sp.Rational(7, 9), sp.Rational(-5, 7), sp.Rational(13, 4), sp.Rational(-11, 3)]
    low, high = s.inf, s.sup
    if low.is_finite and high.is_finite:
        candidates = [low + (high - low) * t for t in (sp.Rational(1, 3), sp.Rational(2, 3), sp.Rational(1, 7))]
    elif low.is_finite:
        candidates = [low + t for t in (sp.Rational(3, 2), sp.Rational(1, 3), sp.Rational(17, 4))]
    elif high.is_finite:
        candidates = [high - t for t in (sp.Rational(3, 2), sp.Rational(1, 3), sp.Rational(17, 4))]
    inside = [c for c in candidates if s.contains(c) is sp.true]
    return inside[:count]


def _finite_inside(f: sp.Expr, a: sp.Symbol, domain: sp.Set, y_value: sp.Expr) -> bool:
    """f is real and finite at sample points of ``domain``, a = y among them when y is inside."""
    points = _points(domain, 5) + ([y_value] if domain.contains(y_value) is sp.true else [])
    for point in points:
        value = sp.N(f.subs(a, point))
        if not (value.is_real and value.is_finite):
            return False
    return True


def _samples_inside(f: sp.Expr, found: sp.Set) -> bool:
    """f at many real z lies in ``found`` (within rounding): SymPy missed no critical point."""
    if f.free_symbols - {_ZR}:
        return True
    low, high = _float(found.inf), _float(found.sup)
    slack = 1e-9 * max([1.0, *(abs(end) for end in (low, high) if math.isfinite(end))])
    evaluate = sp.lambdify(_ZR, f, "mpmath")
    for k in range(-120, 121):
        value = complex(evaluate(mpmath.mpf(k) / 4))
        if value.imag != 0 or not low - slack <= value.real <= high + slack:
            return False
    return True
