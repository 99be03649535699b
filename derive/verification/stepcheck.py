"""Decide one step ``lhs = rhs`` of a hand derivation: equal, not equal or undecided.

The pipeline, for each of a few *instantiations* (every symbolic bound such as
K or N_x set to a small integer, every free index such as i or j to a value
in range that respects the step's conditions):

1. expand sums into explicit terms (a walker that respects bound indices);
2. substitute the definitions (``a = σ(z)``; ``y_i = …`` for every index),
   differentiating each ``∂A/∂v`` after expanding A up to, not through, v;
3. leave a derivative of a quantity with no definition *opaque*: a symbol of
   its own, never 0 (``Derivative(C, a).doit()`` would be 0);
4. evaluate both sides with exact rational inputs at 30 significant digits
   at random points of the domain (and of any assumed ranges, with ``Σ y = 1``
   imposed by normalisation), and try a symbolic proof of ``lhs − rhs = 0``.

An identity that holds whatever values the opaque derivatives take is equal;
one that fails only through them is undecided.  This module does the math in
the process it runs in; :mod:`derive.verification.worker` runs it under a time budget.
"""

from __future__ import annotations

import hashlib
import random
import signal
import time
from dataclasses import dataclass, field

import sympy as sp
from sympy.core.function import AppliedUndef

from derive.catalog import activations
from derive.engine import proof

MAX_TERMS = 60  # an instantiated sum longer than this is refused
DIGITS = 30
TOLERANCE = sp.Float("1e-20")
TRIALS = ((3, 4), (4, 4), (2, 3))  # (bound value, points) per instantiation
MAX_DEPTH = 40
SIZE = sp.Symbol("⟨size⟩")  # key of the trial's size in the values of an instantiation


@dataclass(frozen=True)
class Definition:
    """``target = value``; target is a Symbol, an Indexed with symbol indices or f(symbols)."""

    target: sp.Basic
    value: sp.Expr


@dataclass
class Outcome:
    verdict: str  # "equal", "not_equal", "undecided"
    message: str = ""
    hint: str | None = None
    counterexample: dict | None = None
    method: str = ""  # "symbolic" or "numeric"
    points: int = 0


class Undecidable(Exception):
    """The step cannot be evaluated (a sum too long, circular definitions, ...)."""


@dataclass
class Context:
    definitions: list[Definition] = field(default_factory=list)
    assumptions: list[sp.Basic] = field(default_factory=list)

    def lookup(self, node: sp.Basic) -> tuple[Definition, dict] | None:
        """The definition that applies to ``node`` and the binding of its parameters."""
        for definition in self.definitions:
            target = definition.target
            if isinstance(node, sp.Symbol) and node == target:
                return definition, {}
            both_indexed = isinstance(node, sp.Indexed) and isinstance(target, sp.Indexed)
            if both_indexed and node.base == target.base and len(node.indices) == len(target.indices):
                binding = dict(zip(target.indices, node.indices, strict=True))
                if all(isinstance(k, sp.Symbol) for k in binding):
                    return definition, binding
            both_calls = isinstance(node, AppliedUndef) and isinstance(target, AppliedUndef)
            if both_calls and node.func == target.func and len(node.args) == len(target.args):
                return definition, dict(zip(target.args, node.args, strict=True))
        return None


# ---- 1. instantiate: bounds and free indices become integers, sums become terms -------------


def instantiate(expr: sp.Basic, values: dict) -> sp.Basic:
    """``expr`` with ``values`` put in; sums with integer bounds expanded term by term."""
    if isinstance(expr, sp.Symbol):
        return values.get(expr, expr)
    if isinstance(expr, sp.IndexedBase) or not expr.args:
        return expr
    if isinstance(expr, (sp.Sum, sp.Product)):
        body, (var, lower, upper) = expr.function, expr.limits[0]
        if len(expr.limits) != 1:
            raise Undecidable("a sum over several indices at once")
        lower, upper = instantiate(lower, values), instantiate(upper, values)
        if isinstance(upper, sp.Indexed) and SIZE in values:  # n_{l+1}: the size of a layer
            upper = values[SIZE]
        if not (lower.is_Integer and upper.is_Integer):
            raise Undecidable(f"the limits of {expr} are not numbers")
        if upper - lower + 1 > MAX_TERMS:
            raise Undecidable(f"a sum of more than {MAX_TERMS} terms")
        if _is_sample_sum(expr) and _plain_occurrence(body, var):
            # \sum_x over the samples: a plain x in the body is that sample's input, not the index
            terms = [instantiate(body, values) for _ in range(int(lower), int(upper) + 1)]
        else:
            terms = [instantiate(body, {**values, var: sp.Integer(v)}) for v in range(int(lower), int(upper) + 1)]
        return sp.Add(*terms) if isinstance(expr, sp.Sum) else sp.Mul(*terms)
    if isinstance(expr, sp.Derivative):
        variables = [(instantiate(v, values), n) for v, n in expr.variable_count]
        return sp.Derivative(instantiate(expr.expr, values), *variables, evaluate=False)
    if isinstance(expr, sp.Subs):
        point = [instantiate(p, values) for p in expr.point]
        return sp.Subs(expr.expr, expr.variables, point)
    return expr.func(*[instantiate(arg, values) for arg in expr.args])


def _is_sample_sum(expr: sp.Sum) -> bool:
    """A sum written without bounds (\\sum_x): its upper limit is the fresh symbol N_x."""
    var, _, upper = expr.limits[0]
    return isinstance(upper, sp.Symbol) and upper.name == f"N_{var.name}"


def _plain_occurrence(body: sp.Basic, var: sp.Symbol) -> bool:
    """Whether ``var`` occurs in ``body`` as a value and never as an index."""
    indexing = [*body.atoms(sp.Indexed), *body.atoms(sp.KroneckerDelta)]
    if any(var in ix.free_symbols for node in indexing for ix in getattr(node, "indices", node.args)):
        return False
    hidden = body.xreplace({node: sp.Dummy() for node in indexing})
    return var in hidden.free_symbols


# ---- 2. resolve: definitions in, derivatives taken, the rest opaque ---------------------------


class Resolver:
    """Substitutes definitions and differentiates, under one instantiation."""

    def __init__(self, context: Context, values: dict) -> None:
        self.context = context
        self.values = values
        self.opaque: dict[sp.Symbol, sp.Basic] = {}
        self._opaque_by_node: dict[sp.Basic, sp.Symbol] = {}

    def opaque_symbol(self, node: sp.Basic) -> sp.Symbol:
        if node not in self._opaque_by_node:
            symbol = sp.Symbol(f"⟨{node}⟩")
            self._opaque_by_node[node] = symbol
            self.opaque[symbol] = node
        return self._opaque_by_node[node]

    def resolve(self, expr: sp.Basic, stop: sp.Basic | None = None, depth: int = 0) -> sp.Basic:
        if depth > MAX_DEPTH:
            raise Undecidable("the definitions are circular (or nested too deeply)")
        if stop is not None and expr == stop:
            return expr
        if isinstance(expr, (sp.Symbol, sp.Indexed, AppliedUndef)):
            found = self.context.lookup(expr)
            if found is not None:
                definition, binding = found
                resolved_binding = {k: self.resolve(v, stop, depth + 1) for k, v in binding.items()}
                if isinstance(expr, AppliedUndef):
                    value = instantiate(definition.value, self.values).xreplace(resolved_binding)
                else:
                    value = instantiate(definition.value, {**self.values, **resolved_binding})
                return self.resolve(value, stop, depth + 1)
            if isinstance(expr, AppliedUndef):
                return expr.func(*[self.resolve(a, stop, depth + 1) for a in expr.args])
            return expr
        if isinstance(expr, sp.Derivative):
            return self.derivative(expr, stop, depth)
        if isinstance(expr, sp.Subs):
            inner = self.resolve(expr.expr, None, depth + 1)
            point = [self.resolve(p, stop, depth + 1) for p in expr.point]
            return inner.xreplace(dict(zip(expr.variables, point, strict=True)))
        if not expr.args or isinstance(expr, sp.IndexedBase):
            return expr
        return expr.func(*[self.resolve(arg, stop, depth + 1) for arg in expr.args])

    def derivative(self, expr: sp.Derivative, stop, depth: int) -> sp.Basic:
        result = expr.expr
        for variable, count in expr.variable_count:
            body = self.resolve(result, variable, depth + 1)
            if not body.has(variable):
                if not body.free_symbols and not body.atoms(AppliedUndef):
                    return sp.S.Zero
                return self.opaque_symbol(expr)  # may depend on the variable in a way no definition says
            result = sp.diff(body, variable, count)
        return self.resolve(result, stop, depth + 1)

    def finish(self, expr: sp.Basic) -> sp.Basic:
        """Everything left that cannot be evaluated becomes an opaque symbol."""

        def replace(node: sp.Basic) -> sp.Basic:
            if isinstance(node, (sp.Derivative, sp.Subs, AppliedUndef)):
                return self.opaque_symbol(node)
            if not node.args or isinstance(node, sp.IndexedBase):
                return node
            return node.func(*[replace(arg) for arg in node.args])

        return replace(expr)


# ---- 3. points -------------------------------------------------------------------------------


def integer_symbols(exprs: list[sp.Basic]) -> tuple[set, set]:
    """(bound symbols, index symbols) of the expressions: K, N_x, …; i, j, l, …"""
    bounds: set = set()
    indices: set = set()

    def walk(node: sp.Basic, bound: frozenset) -> None:
        if isinstance(node, (sp.Sum, sp.Product)):
            for var, lower, upper in node.limits:
                bounds.update(s for s in upper.free_symbols | lower.free_symbols if s not in bound)
                bound = bound | {var}
            walk(node.function, bound)
            return
        if isinstance(node, sp.Indexed):
            for ix in node.indices:
                indices.update(s for s in ix.free_symbols if s not in bound)
            return
        if isinstance(node, sp.KroneckerDelta):
            indices.update(s for s in node.free_symbols if s not in bound)
            return
        for arg in node.args:
            if isinstance(arg, sp.Basic) and not isinstance(arg, sp.IndexedBase):
                walk(arg, bound)

    for expr in exprs:
        walk(expr, frozenset())
    return bounds, indices - bounds


def index_assignments(rng: random.Random, indices: list, size: int, conditions: list, distinct: bool) -> dict:
    """Values 1..size for the free indices that satisfy Eq/Ne conditions between them.

    With ``distinct`` the indices differ where the conditions allow: coinciding
    indices hide index slips (w_{jk} for w_{kj}).
    """
    for attempt in range(400):
        if distinct and attempt < 200 and len(indices) <= size:
            values = dict(
                zip(indices, (sp.Integer(v) for v in rng.sample(range(1, size + 1), len(indices))), strict=False)
            )
        else:
            values = {s: sp.Integer(rng.randint(1, size)) for s in indices}
        if all(_holds(c, values) for c in conditions):
            return values
    raise Undecidable("no index values satisfy the conditions " + ", ".join(map(str, conditions)))


def _holds(condition: sp.Basic, values: dict) -> bool:
    result = condition.xreplace(values)
    if result in (sp.true, sp.false):
        return bool(result)
    simplified = condition.func(*[a.xreplace(values) for a in condition.args])
    return simplified is not sp.false


@dataclass
class Sampler:
    """Random exact points; ranges from assumptions; Σ y = 1 imposed by normalisation."""

    rng: random.Random
    ranges: dict = field(default_factory=dict)  # symbol -> (low, high)
    simplex: list = field(default_factory=list)  # lists of atoms whose values sum to 1

    def point(self, symbols: list, wide: bool) -> dict:
        values = {}
        for s in symbols:
            low, high = self.ranges.get(s, (-2.5, 2.5) if wide else (0.05, 0.95))
            low = max(low, -1e6)
            high = min(high, low + 5 if high == float("inf") else high)
            span = high - low
            raw = low + span * (0.04 + 0.92 * self.rng.random())
            values[s] = sp.Rational(round(raw * 100), 100) if span > 0.1 else sp.Rational(str(round(raw, 6)))
        for group in self.simplex:
            members = [m for m in group if m in values]
            if members:
                weights = [sp.Rational(self.rng.randint(5, 95), 100) for _ in members]
                total = sum(weights)
                values.update({m: w / total for m, w in zip(members, weights, strict=True)})
        return values


def _ranges(assumptions: list) -> dict:
    ranges: dict = {}
    for rel in assumptions:
        if not isinstance(rel, (sp.StrictLessThan, sp.LessThan, sp.StrictGreaterThan, sp.GreaterThan)):
            continue
        small, big = (rel.lhs, rel.rhs) if isinstance(rel, (sp.StrictLessThan, sp.LessThan)) else (rel.rhs, rel.lhs)
        if isinstance(big, (sp.Symbol, sp.Indexed)) and small.is_number:
            low, high = ranges.get(big, (-float("inf"), float("inf")))
            ranges[big] = (max(low, float(small)), high)
        elif isinstance(small, (sp.Symbol, sp.Indexed)) and big.is_number:
            low, high = ranges.get(small, (-float("inf"), float("inf")))
            ranges[small] = (low, min(high, float(big)))
    out = {}
    for s, (low, high) in ranges.items():
        if low == -float("inf"):
            low = high - 5
        out[s] = (low, high)
    return out


def _simplex_sums(assumptions: list) -> list[sp.Basic]:
    return [
        rel.lhs for rel in assumptions if isinstance(rel, sp.Equality) and isinstance(rel.lhs, sp.Sum) and rel.rhs == 1
    ]


def evaluate(expr: sp.Basic, point: dict) -> sp.Expr | None:
    """The value at ``point`` to DIGITS digits, or None where it is not a finite real."""
    try:
        value = sp.N(expr.xreplace(point), DIGITS)
    except (ZeroDivisionError, ValueError, TypeError, OverflowError):
        return None
    if value.has(sp.zoo, sp.oo, -sp.oo, sp.nan) or not value.is_number:
        return None
    re, im = value.as_real_imag()
    if not re.is_Float and not re.is_Number:
        return None
    if im != 0 and abs(im) > TOLERANCE * max(1, abs(re)):
        return None
    return sp.Float(re, DIGITS)


def agree(left: sp.Expr, right: sp.Expr) -> bool:
    return abs(left - right) <= TOLERANCE * max(1, abs(left), abs(right))


# ---- 4. the step -----------------------------------------------------------------------------


def check(
    lhs: sp.Expr, rhs: sp.Expr, context: Context, conditions: list, budget: float = 5.0, seed: str = ""
) -> Outcome:
    """The verdict on ``lhs = rhs`` given the definitions and assumptions of ``context``."""
    start = time.monotonic()
    rng = random.Random(int(hashlib.sha256(f"{seed}|{lhs}|{rhs}".encode()).hexdigest()[:12], 16))
    everything = [
        lhs,
        rhs,
        *[d.value for d in context.definitions],
        *[d.target for d in context.definitions],
        *context.assumptions,
        *conditions,
    ]
    bounds, indices = integer_symbols(everything)
    index_conditions = [
        c
        for c in [*context.assumptions, *conditions]
        if isinstance(c, (sp.Equality, sp.Unequality))
        and c.free_symbols <= indices | bounds
        and not isinstance(c.lhs, sp.Sum)
    ]
    value_assumptions = [c for c in [*context.assumptions, *conditions] if c not in index_conditions]
    indices = sorted(indices, key=str)
    samples = []  # (left, right, point, values, resolver, left expr, right expr)
    first = None
    try:
        for size, count in TRIALS:
            values = {b: sp.Integer(size) for b in bounds}
            values[SIZE] = sp.Integer(size)
            values.update(index_assignments(rng, indices, size, index_conditions, distinct=first is None))
            resolver = Resolver(context, values)
            left = proof.elementary(resolver.finish(resolver.resolve(instantiate(lhs, values))))
            right = proof.elementary(resolver.finish(resolver.resolve(instantiate(rhs, values))))
            if first is None:
                first = (left, right)
            sampler = Sampler(rng, _ranges([instantiate(a, values) for a in value_assumptions]))
            for total in _simplex_sums(value_assumptions):
                expanded = instantiate(total, values)
                sampler.simplex.append(list(expanded.args) if isinstance(expanded, sp.Add) else [expanded])
            symbols = sorted(_value_symbols(left) | _value_symbols(right) | _simplex_atoms(sampler), key=str)
            for k in range(count * 3):
                if sum(1 for s in samples if s[3] is values) >= count:
                    break
                point = sampler.point(symbols, wide=k % 2 == 1)
                lv, rv = evaluate(left, point), evaluate(right, point)
                if lv is not None and rv is not None:
                    samples.append((lv, rv, point, values, resolver, left, right))
    except Undecidable as exc:
        return Outcome("undecided", message=str(exc))
    if len(samples) < 4:
        return Outcome("undecided", message="no points were found where both sides are defined and real")
    opaque_names = sorted({str(resolver_node) for s in samples for resolver_node in s[4].opaque.values()})
    failing = [s for s in samples if not agree(s[0], s[1])]
    if failing:
        first_values = samples[0][3]
        left, right = failing[0][5], failing[0][6]
        involved = (left.free_symbols | right.free_symbols) & set(failing[0][4].opaque)
        if involved:  # undecided whatever a proof would say: no proof is tried
            names = ", ".join(sorted(_pretty_opaque(failing[0][4].opaque[s]) for s in involved))
            return Outcome(
                "undecided",
                points=len(samples),
                message=f"it depends on {names}, which no definition determines; add one with '% define: NAME = …'",
            )
        if any(s[3] is first_values for s in failing) and _prove(first[0] - first[1], start, budget):
            return Outcome("undecided", points=len(samples), message="a symbolic proof and the numeric check disagree")
        return Outcome(
            "not_equal",
            points=len(samples),
            method="numeric",
            counterexample=_counterexample(failing[0]),
            hint=_hint(samples, lhs, rhs, context),
        )
    proved = _prove(first[0] - first[1], start, budget)
    method = "symbolic" if proved else "numeric"
    message = (
        f"proved symbolically{_instance(samples[0][3])}, and the sides agree at {len(samples)} random points"
        if proved
        else f"the sides agree to {DIGITS} digits at {len(samples)} random points"
    )
    if opaque_names:
        message += " (whatever the undefined derivatives are)"
    return Outcome("equal", message=message, method=method, points=len(samples))


def _value_symbols(expr: sp.Basic) -> set:
    """The symbols and Indexed atoms that take values (not the labels of Indexed bases)."""
    indexed = expr.atoms(sp.Indexed)
    hidden = expr.xreplace({ix: sp.Dummy() for ix in indexed})
    return {s for s in hidden.free_symbols if not isinstance(s, sp.Dummy)} | indexed


def _simplex_atoms(sampler: Sampler) -> set:
    return {m for group in sampler.simplex for m in group if isinstance(m, (sp.Symbol, sp.Indexed))}


def _instance(values: dict) -> str:
    if not values:
        return ""
    shown = [f"{k} = {v}" for k, v in sorted(values.items(), key=lambda kv: str(kv[0])) if k != SIZE]
    return " (at " + ", ".join(shown) + ")" if shown else ""


def _pretty_opaque(node: sp.Basic) -> str:
    if isinstance(node, sp.Derivative):
        variables = ", ".join(str(v) for v in node.variables)
        return f"∂{node.expr}/∂{variables}"
    return str(node)


class _Deadline(Exception):
    pass


def _prove(difference: sp.Expr, start: float, budget: float) -> bool:
    """A symbolic proof that ``difference`` is 0, within what is left of the budget."""
    if difference == 0:
        return True
    remaining = budget - (time.monotonic() - start) - 0.5
    if remaining <= 0.2:
        return False
    use_alarm = hasattr(signal, "setitimer") and _main_thread()
    if use_alarm:
        previous = signal.signal(signal.SIGALRM, _raise_deadline)
        signal.setitimer(signal.ITIMER_REAL, remaining)
    try:
        if sp.expand(difference) == 0:
            return True
        elementary = proof.elementary(difference)
        if sp.cancel(sp.together(sp.expand(elementary))) == 0:
            return True
        return sp.simplify(elementary) == 0
    except _Deadline:
        return False
    except (TypeError, ValueError, NotImplementedError, RecursionError, AttributeError):
        return False
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


def _raise_deadline(signum, frame):
    raise _Deadline


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def name(atom: sp.Basic) -> str:
    """A readable name of a symbol or instantiated Indexed: y[2] → y_2, w[1, 2] → w_{1,2}."""
    if isinstance(atom, sp.Indexed):
        indices = ",".join(str(i) for i in atom.indices)
        return f"{atom.base}_{indices}" if len(indices) == 1 else f"{atom.base}_{{{indices}}}"
    return str(atom)


def _counterexample(sample) -> dict:
    left, right, point, values = sample[:4]
    shown = {name(k): float(v) for k, v in sorted(point.items(), key=lambda kv: str(kv[0]))}
    shown.update({str(k): int(v) for k, v in sorted(values.items(), key=lambda kv: str(kv[0])) if k != SIZE})
    return {"point": shown, "lhs": float(left), "rhs": float(right)}


# ---- hints -----------------------------------------------------------------------------------


def _hint(samples: list, lhs: sp.Expr, rhs: sp.Expr, context: Context) -> str | None:
    ratios = [s[0] / s[1] for s in samples if abs(s[1]) > TOLERANCE]
    if len(ratios) >= 3 and all(agree(r, ratios[0]) for r in ratios):
        c = ratios[0]
        if agree(c, -1):
            return "sign flipped: the left side is minus the right side"
        for value, label in (
            (sp.log(10), "ln 10 (a log base 10 where the natural log belongs?)"),
            (1 / sp.log(10), "1/ln 10 (a log base 10 where the natural log belongs?)"),
            (sp.log(2), "ln 2"),
            (1 / sp.log(2), "1/ln 2"),
        ):
            if agree(c, sp.N(value, DIGITS)):
                return f"the sides differ by a factor {label}"
        rational = sp.nsimplify(c, rational=True, tolerance=1e-15)
        if rational.q <= 12 and abs(rational.p) <= 12:
            return f"the sides differ by a constant factor {rational}: left = {rational} × right"
    named = _named_factor(samples, context)
    if named:
        return named
    differences = [s[0] - s[1] for s in samples]
    if all(agree(d, differences[0]) for d in differences):
        constant = sp.nsimplify(differences[0], rational=True, tolerance=1e-15)
        return f"the sides differ by a constant term: left − right = {constant}"
    return None


def _named_factor(samples: list, context: Context) -> str | None:
    """A factor such as σ′(z), 1/n, x_j that the left side has and the right lacks, or the reverse."""
    values = samples[0][3]
    same = [s for s in samples if s[3] is values and abs(s[1]) > TOLERANCE]
    if len(same) < 3:
        return None
    back = {v: k for k, v in values.items() if k != SIZE and isinstance(k, sp.Symbol) and not k.name.startswith("N_")}
    left_expr, right_expr = same[0][5], same[0][6]
    candidates = []
    for s in sorted(_value_symbols(left_expr) | _value_symbols(right_expr), key=str):
        if str(s).startswith("⟨"):
            continue
        label = _label(s, back)
        sig = activations.sigmoid(s)
        candidates += [(sig * (1 - sig), f"σ′({label})"), (1 - sp.tanh(s) ** 2, f"tanh′({label})"), (s, label)]
    resolver = same[0][4]
    for definition in context.definitions:  # σ′(z) where z = w x + b is defined
        if isinstance(definition.target, sp.Symbol):
            try:
                value = proof.elementary(resolver.resolve(instantiate(definition.target, values)))
            except Undecidable:
                continue
            sig = activations.sigmoid(value)
            label = str(definition.target)
            candidates += [
                (sig * (1 - sig), f"σ′({label})"),
                (1 - sp.tanh(value) ** 2, f"tanh′({label})"),
                (value, label),
            ]
    for factor, label in candidates:
        if all(_matches(sample, factor) for sample in same):
            return f"factor {label}: the left side has it and the right side lacks it (left = right × {label})"
        if all(_matches(sample, 1 / factor) for sample in same):
            return f"factor {label}: the right side has it and the left side lacks it (right = left × {label})"
    return None


def _label(atom: sp.Basic, back: dict) -> str:
    """x[3] shown as x_j when the instantiation set j = 3."""
    if isinstance(atom, sp.Indexed):
        return name(atom.base[tuple(back.get(i, i) for i in atom.indices)])
    return name(atom)


def _matches(sample, factor: sp.Expr) -> bool:
    left, right, point = sample[0], sample[1], sample[2]
    value = evaluate(factor, point)
    return value is not None and agree(left, right * value)
