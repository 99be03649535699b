"""Decide one step ``lhs = rhs`` of a hand derivation: equal, not equal or undecided.

The pipeline, for each of a few *instantiations* (every symbolic bound such as
K or N_x set to a small integer, every free index such as i or j to a value
in range that respects the step's conditions; :mod:`.instances`):

1. expand sums into explicit terms (a walker that respects bound indices);
2. substitute the definitions (``a = σ(z)``; ``y_i = …`` for every index),
   differentiating each ``∂A/∂v`` after expanding A up to, not through, v
   (:mod:`.resolve`);
3. leave a derivative of a quantity with no definition *opaque*: a symbol of
   its own, never 0 (``Derivative(C, a).doit()`` would be 0);
4. evaluate both sides with exact rational inputs at 30 significant digits
   at random points of the domain (and of any assumed ranges, with ``Σ y = 1``
   imposed by normalisation; :mod:`.sampling`), and try a symbolic proof of
   ``lhs − rhs = 0``.

An identity that holds whatever values the opaque derivatives take is equal;
one that fails only through them is undecided.  This module does the math in
the process it runs in; :mod:`derive.verification.worker` runs it under a time budget.
"""

from __future__ import annotations

import functools
import hashlib
import random
import signal
import threading
import time
from dataclasses import dataclass

import sympy as sp

from derive.engine import proof
from derive.errors import Timeout, Undecidable
from derive.verification import context as context_
from derive.verification import hints, instances, readings, resolve, sampling
from derive.verification.sampling import DIGITS

TRIALS = ((3, 4), (4, 4), (2, 3))  # (bound value, points) per instantiation

# The names verify.py and the worker use.
Definition = context_.Definition
Context = context_.Context


@dataclass
class Outcome:
    """The verdict on one step, with what explains it."""

    verdict: str  # "equal", "not_equal", "undecided"
    message: str = ""
    hint: str | None = None
    counterexample: dict | None = None
    method: str = ""  # "symbolic" or "numeric"
    points: int = 0


@dataclass(frozen=True)
class Plan:
    """What is instantiated: the bounds, the free indices and the conditions on each kind."""

    bounds: frozenset
    indices: tuple  # sorted by name
    index_conditions: tuple  # i = j, i ≠ k: decided by the choice of index values
    value_assumptions: tuple  # 0 < a < 1, Σ y = 1: shape the random points


@dataclass(frozen=True)
class Instance:
    """One instantiation: the index values, and both sides resolved under them."""

    values: dict
    resolver: resolve.Resolver
    left: sp.Expr
    right: sp.Expr


@dataclass(frozen=True)
class Sample:
    """Both sides' values at one random point of one instantiation."""

    left: sp.Expr
    right: sp.Expr
    point: dict
    instance: Instance


def check(
    lhs: sp.Expr,
    rhs: sp.Expr,
    context: Context,
    conditions: list,
    budget: float = 5.0,
    seed: str = "",
    per_component: bool = False,
) -> Outcome:
    """The verdict on ``lhs = rhs`` given the definitions and assumptions of ``context``.

    ``per_component``: a step that differentiates by a whole vector may be read per component (the
    caller says so when its text has no transpose: without one, a product of vectors is elementwise).
    """
    start = time.monotonic()
    rng = random.Random(int(hashlib.sha256(f"{seed}|{lhs}|{rhs}".encode()).hexdigest()[:12], 16))
    lhs, rhs, context, conditions = readings.real_symbols(lhs, rhs, context, conditions)
    lhs, rhs, context = readings.explicit(lhs, rhs, context)
    lhs, rhs, context = readings.indices_apart(lhs, rhs, context)
    lhs, rhs = readings.bare_calls(lhs, rhs, context)
    context = readings.component_definitions(context)
    if per_component:
        lhs, rhs = readings.per_component(lhs, rhs, context)
    summed = _implicit_sum(lhs, rhs)
    if summed is not None:
        return Outcome(
            "undecided",
            message=f"the index {summed} appears twice in a product on one side and not on the other: "
            f"a sum by the summation convention? write \\sum_{summed} to have it checked",
        )
    plan = _plan(lhs, rhs, context, conditions)
    try:
        built, samples = _samples(lhs, rhs, context, plan, rng)
    except Undecidable as exc:
        return Outcome("undecided", message=str(exc))
    if len(samples) < 4:
        return Outcome("undecided", message="no points were found where both sides are defined and real")
    first = built[0]
    failing = [s for s in samples if not sampling.agree(s.left, s.right)]
    facts = _facts(plan, first.values)
    if failing:
        return _disagreement(samples, failing, first, context, facts, start, budget)
    proved = _prove(first.left - first.right, facts, start, budget)
    message = (
        f"proved symbolically{_instance(samples[0].instance.values)}, "
        f"and the sides agree at {len(samples)} random points"
        if proved
        else f"the sides agree to {DIGITS} digits at {len(samples)} random points"
    )
    if any(s.instance.resolver.opaque for s in samples):
        message += " (whatever the undefined derivatives are)"
    chained = sorted({str(cost) for i in built for cost, _ in i.resolver.chained})
    if chained:
        message += f"; {', '.join(chained)} taken to depend on each variable only through what is defined from it"
    return Outcome("equal", message=message, method="symbolic" if proved else "numeric", points=len(samples))


def _implicit_sum(lhs: sp.Expr, rhs: sp.Expr) -> sp.Symbol | None:
    """An index repeated within one product of a side and absent from the other (Einstein's convention)."""
    for side, other in ((lhs, rhs), (rhs, lhs)):
        _, elsewhere = instances.integer_symbols([other])
        for term in sp.Add.make_args(side):
            counts: dict = {}
            for factor in sp.Mul.make_args(term):
                if isinstance(factor, (sp.Indexed, sp.KroneckerDelta)):
                    for index in getattr(factor, "indices", factor.args):
                        for symbol in index.free_symbols:
                            counts[symbol] = counts.get(symbol, 0) + 1
            repeated = sorted((s for s, n in counts.items() if n >= 2 and s not in elsewhere), key=str)
            if repeated:
                return repeated[0]
    return None


def _plan(lhs: sp.Expr, rhs: sp.Expr, context: Context, conditions: list) -> Plan:
    everything = [
        lhs,
        rhs,
        *[d.value for d in context.definitions],
        *[d.target for d in context.definitions],
        *context.assumptions,
        *conditions,
    ]
    bounds, indices = instances.integer_symbols(everything)
    # L defined as the loss is no index, even where it labels the last layer (a^L_j): it stays a symbol there
    indices -= {d.target for d in context.definitions if isinstance(d.target, sp.Symbol)}
    index_conditions = [
        c
        for c in [*context.assumptions, *conditions]
        if isinstance(c, (sp.Equality, sp.Unequality))
        and c.free_symbols <= indices | bounds
        and not isinstance(c.lhs, sp.Sum)
    ]
    value_assumptions = [c for c in [*context.assumptions, *conditions] if c not in index_conditions]
    return Plan(frozenset(bounds), tuple(sorted(indices, key=str)), tuple(index_conditions), tuple(value_assumptions))


def _samples(
    lhs: sp.Expr, rhs: sp.Expr, context: Context, plan: Plan, rng: random.Random
) -> tuple[list[Instance], list[Sample]]:
    """Every instantiation of TRIALS and the points where both sides are finite reals."""
    built: list[Instance] = []
    samples: list[Sample] = []
    for size, count in TRIALS:
        values = {b: sp.Integer(size) for b in plan.bounds}
        values[instances.SIZE] = sp.Integer(size)
        chosen = instances.index_assignments(rng, list(plan.indices), size, list(plan.index_conditions), not built)
        values.update(chosen)
        same = _identified_names(plan, values, context)
        sides = tuple(readings.renamed(instances.instantiate(side, values), same) for side in (lhs, rhs))
        resolver = resolve.Resolver(context, values, sides)
        rules = _rewrites(plan, values, resolver)
        resolver.rules = rules
        left, right = (resolver.finish(_rewritten(resolver.resolve(side), rules)) for side in sides)
        instance = Instance(values, resolver, left, right)
        built.append(instance)
        sampler = _sampler(plan, values, rng)
        symbols = sorted(sampling.value_symbols(left) | sampling.value_symbols(right) | sampler.atoms(), key=str)
        fast_left = sampling.Evaluator(left, functools.partial(proof.elementary, left))
        fast_right = sampling.Evaluator(right, functools.partial(proof.elementary, right))
        found = 0
        for k in range(count * 3):
            if found >= count:
                break
            point = sampler.point(symbols, wide=k % 2 == 1)
            lv, rv = fast_left(point), fast_right(point)
            if lv is not None and rv is not None and not sampling.agree(lv, rv):  # confirmed exactly
                lv, rv = fast_left.exactly(point), fast_right.exactly(point)
            if lv is not None and rv is not None:
                samples.append(Sample(lv, rv, point, instance))
                found += 1
    return built, samples


def _identified_names(plan: Plan, values: dict, context: Context) -> dict:
    """Assumed equalities of two names (``% assume: \\hat y = \\hat y_i``): one name, before anything is
    differentiated (``\\frac{d}{d\\hat y_i}\\log(1 - \\hat y)`` is then a derivative by ŷ_i of ŷ_i)."""
    same = {}
    for assumption in plan.value_assumptions:
        if not isinstance(assumption, sp.Equality) or not isinstance(assumption.lhs, sp.Symbol):
            continue
        if isinstance(assumption.rhs, (sp.Symbol, sp.Indexed)) and context.lookup(assumption.lhs) is None:
            same[assumption.lhs] = instances.instantiate(assumption.rhs, values)
    return same


def _rewrites(plan: Plan, values: dict, resolver: resolve.Resolver) -> list[tuple[sp.Expr, sp.Expr]]:
    """Assumed equalities between expressions (``\\mathbf{x}\\mathbf{w} = \\sum_k w_k x_k``), as rewrites.

    An atom set to a number (``x = 1``) is the sampler's, a sum equal to 1 its normalisation.
    """
    rules = []
    for assumption in plan.value_assumptions:
        if not isinstance(assumption, sp.Equality) or isinstance(assumption.lhs, sp.Sum):
            continue
        if sampling.fixed_values([assumption]):
            continue
        lhs, rhs = (resolver.resolve(instances.instantiate(side, values)) for side in assumption.args)
        if lhs.free_symbols and lhs != rhs:
            rules.append((lhs, rhs))
    return rules


def _rewritten(expr: sp.Expr, rules: list[tuple[sp.Expr, sp.Expr]]) -> sp.Expr:
    for lhs, rhs in rules:
        expr = expr.subs(lhs, rhs)
    return expr


def _sampler(plan: Plan, values: dict, rng: random.Random) -> sampling.Sampler:
    """The sampler of one instantiation: assumed ranges and groups that sum to 1."""
    assumed = [instances.instantiate(a, values) for a in plan.value_assumptions]
    sampler = sampling.Sampler(rng, sampling.ranges(assumed), fixed=sampling.fixed_values(assumed))
    for total in sampling.simplex_sums(list(plan.value_assumptions)):
        expanded = instances.instantiate(total, values)
        sampler.simplex.append(list(expanded.args) if isinstance(expanded, sp.Add) else [expanded])
    return sampler


def _disagreement(
    samples: list[Sample],
    failing: list[Sample],
    first: Instance,
    context: Context,
    facts: Facts,
    start: float,
    budget: float,
) -> Outcome:
    """The verdict when some points disagree: undecided through opaque quantities, else not equal."""
    witness = failing[0].instance
    opaque = witness.resolver.opaque
    involved = (witness.left.free_symbols | witness.right.free_symbols) & set(opaque)
    if involved and not (sp.expand(witness.left - witness.right).free_symbols & involved):
        involved = set()  # the sides differ by what no opaque quantity is in: whatever they are, not equal
    if involved:  # undecided whatever a proof would say: no proof is tried
        names = ", ".join(sorted(_pretty_opaque(opaque[s]) for s in involved))
        return Outcome(
            "undecided",
            points=len(samples),
            message=f"it depends on {names}, which no definition determines; add one with '% define: NAME = …'",
        )
    hint = hints.hint(samples, context)  # before the proof, which may take what is left of the budget
    first_sampled = samples[0].instance
    if any(s.instance is first_sampled for s in failing) and _prove(first.left - first.right, facts, start, budget):
        return Outcome("undecided", points=len(samples), message="a symbolic proof and the numeric check disagree")
    return Outcome(
        "not_equal",
        points=len(samples),
        method="numeric",
        counterexample=hints.counterexample(failing[0]),
        hint=hint,
    )


def _instance(values: dict) -> str:
    if not values:
        return ""
    shown = [f"{k} = {v}" for k, v in sorted(values.items(), key=lambda kv: str(kv[0])) if k != instances.SIZE]
    return " (at " + ", ".join(shown) + ")" if shown else ""


def _pretty_opaque(node: sp.Basic) -> str:
    if isinstance(node, sp.Derivative):
        variables = ", ".join(str(v) for v in node.variables)
        return f"∂{node.expr}/∂{variables}"
    return str(node)


#: The largest difference (in SymPy operations, once the sums inside calls are symbols) a symbolic proof
#: is tried on: beyond it, expanding and cancelling take seconds and rarely succeed.  A size, not a clock,
#: so the attempt is the same on a busy machine; the verdict never depends on it (the numbers decide, a
#: proof only says how).
PROOF_OPS = 400
#: The largest elementary expression put over one denominator (GELU_tanh's derivative: 410 operations with
#: z a symbol, 790 with z = b + Σ w x written out, two seconds for nothing).
FRACTION_OPS = 600
#: ``sympy.cancel`` and ``sympy.simplify`` are tried only on differences this small (the slow, unbounded part).
SIMPLIFY_OPS = 60


@dataclass(frozen=True)
class Facts:
    """What the assumptions give a proof: values to put in, and the parameters known to be positive."""

    substitutions: dict  # y₃ → 1 − y₁ − y₂ from Σ y = 1, x → 1 from x = 1
    domains: dict  # symbol → Interval(0, ∞), open or closed


def _facts(plan: Plan, values: dict) -> Facts:
    """The facts of one instantiation: its simplex sums and fixed values, and the signs of its parameters."""
    assumed = [instances.instantiate(a, values) for a in plan.value_assumptions]
    substitutions = dict(sampling.fixed_values(assumed))
    for total in sampling.simplex_sums(list(plan.value_assumptions)):
        terms = sp.Add.make_args(instances.instantiate(total, values))
        if len(terms) > 1 and all(isinstance(t, (sp.Symbol, sp.Indexed)) for t in terms):
            substitutions.setdefault(terms[-1], 1 - sp.Add(*terms[:-1]))
    domains = {}
    for rel in assumed:
        if not isinstance(rel, (sp.StrictGreaterThan, sp.GreaterThan, sp.StrictLessThan, sp.LessThan)):
            continue
        small, big = (rel.rhs, rel.lhs) if isinstance(rel, (sp.StrictGreaterThan, sp.GreaterThan)) else rel.args
        if isinstance(big, sp.Symbol) and small.is_number and small.is_extended_nonnegative:
            strict = small.is_positive or isinstance(rel, (sp.StrictGreaterThan, sp.StrictLessThan))
            domains[big] = sp.Interval(0, sp.oo, left_open=bool(strict))
    return Facts(substitutions, domains)


def _prove(difference: sp.Expr, facts: Facts, start: float, budget: float) -> bool:
    """A symbolic proof that ``difference`` is 0: bounded by its size (PROOF_OPS), the budget only a safety net.

    Tried first with the sums inside calls (b + Σ w x) symbols (:func:`proof.arguments_as_atoms`), then
    as written when that changed it (e^{z+c} = e^z e^c needs the sum): the kinks and calls as symbols;
    each sign of the kinks' arguments (:func:`proof.is_zero_by_signs`); by cases of the one variable of
    the activations (:func:`proof.is_zero_by_cases`, with the assumed signs of the parameters: the
    derivative of elu through its output needs α > 0); and for a small difference ``cancel`` and
    ``simplify``.  A proof by cases holds wherever no kink's argument is 0.
    """
    difference = difference.xreplace(facts.substitutions)
    if difference == 0:
        return True
    abstracted, _ = proof.arguments_as_atoms(difference)
    # with the sums symbols a large elementary form is still a few symbols' (log_cosh ∘ gelu_tanh: 700
    # operations, 0.1 s); written out, its exponentials of sums take seconds to put over one denominator
    candidates = [(abstracted, None)] if abstracted != difference else []
    candidates = [(c, m) for c, m in [*candidates, (difference, FRACTION_OPS)] if sp.count_ops(c) <= PROOF_OPS]
    remaining = budget - (time.monotonic() - start) - 0.5
    if remaining <= 0.2 or not candidates:
        return False
    use_alarm = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if use_alarm:
        previous = signal.signal(signal.SIGALRM, _raise_deadline)
        signal.setitimer(signal.ITIMER_REAL, remaining)
    try:
        return any(_attempt(candidate, facts, largest) for candidate, largest in candidates)
    except Timeout:
        return False
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


def _attempt(difference: sp.Expr, facts: Facts, largest: int | None) -> bool:
    """One proof attempt of :func:`_prove` (False: not proven); ``largest``: see :func:`proof.is_zero_by_signs`."""
    try:
        if sp.expand(proof.kinks_as_atoms(difference)) == 0 or proof.is_zero_over_calls(difference):
            return True
        domains = {s: d for s, d in facts.domains.items() if s in difference.free_symbols}
        if proof.is_zero_by_signs(difference, domains, max_ops=largest):
            return True
        variable = _variable(difference)
        kinked = variable is not None and proof.may_have_kinks(difference)
        if kinked and proof.is_zero_by_cases(difference, variable, domains, at_kinks=False):
            return True
        if sp.count_ops(difference) > SIMPLIFY_OPS:
            return False
        smooth = proof.kinks_as_atoms(proof.elementary(difference))
        return sp.count_ops(smooth) <= SIMPLIFY_OPS and (sp.cancel(smooth) == 0 or sp.simplify(smooth) == 0)
    except (TypeError, ValueError, NotImplementedError, RecursionError, AttributeError):
        return False


def _variable(expr: sp.Expr) -> sp.Symbol | None:
    """The one symbol that the catalog's calls are applied to (the activation's z), or None."""
    applied = {
        call.args[0]
        for call in expr.atoms(sp.Function)
        if hasattr(type(call), "_eval_rewrite_as_elementary") and call.args and isinstance(call.args[0], sp.Symbol)
    }
    return applied.pop() if len(applied) == 1 else None


def _raise_deadline(signum, frame):
    raise Timeout("the symbolic proof ran out of time")
