"""Derivations through softmax over K classes, in index notation.

For a symbolic number of classes K nothing is expanded: sums stay sums, the
Jacobian comes from the quotient rule in the two cases i = j and i ≠ j and is
joined with a Kronecker delta into a_i(δ_ij − a_j), and the chain rule sums
over i.  For cross-entropy the step that uses Σ_k y_k = 1 is a named
assumption.  For an explicit K (a number) the same trace is instantiated,
every sum and index written out, and proven again entry by entry against
``sympy.diff`` of the fully expanded cost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

from derive import catalog
from derive.engine import analysis, checking, indexed, notation, steps
from derive.engine.indexed import K, a, i, j, k, y, z
from derive.engine.notation import C, Partial, Product

SOFTMAX = catalog.ACTIVATIONS["softmax"]
delta = sp.IndexedBase("delta")
w = notation.w_vec
x = notation.x_vec
b = sp.IndexedBase("b")
l = indexed.l  # noqa: E741 - the input index of w_jl, as in z_j = Σ_l w_jl x_l + b_j
omega = sp.IndexedBase("omega")  # class weights
epsilon = sp.Symbol("epsilon")  # label smoothing
y_smooth = sp.IndexedBase("ytilde")  # smoothed targets
EQUAL, DIFFERENT, TARGETS_SUM_TO_ONE = sp.Eq(i, j), sp.Ne(i, j), indexed.sum_to_one(y)


@dataclass(frozen=True)
class Objective:
    """A loss of the K outputs: C = Σ_k term(k), with ∂C/∂a_i = gradient(i).

    ``target`` is the vector in the loss (y, or the smoothed ỹ defined by
    ``target_definition(k)`` in terms of y); ``sums_to_one`` says the
    derivation may use Σ_k target_k = 1 to finish.
    """

    name: str
    description: str
    term: Callable[[sp.Expr], sp.Expr]
    gradient: Callable[[sp.Expr], sp.Expr]
    target: sp.IndexedBase = y
    target_definition: Callable[[sp.Expr], sp.Expr] | None = None
    sums_to_one: bool = False


def objective(loss_cls, smoothing: sp.Expr | None = None, weights: bool = False) -> Objective:
    """The objective of a catalog loss over softmax, with cross-entropy's options."""
    if loss_cls.name != "cross_entropy":
        return Objective(
            loss_cls.name,
            loss_cls.description,
            lambda m: loss_cls.elementary(a[m], y[m]),
            lambda m: loss_cls.gradient(a[m], y[m]),
            sums_to_one=loss_cls.uses_sum_to_one,
        )
    target = y if smoothing is None else y_smooth
    weight = (lambda m: omega[m]) if weights else (lambda m: sp.S.One)
    described = loss_cls.description + (", class weights omega_k" if weights else "")
    if smoothing is not None:
        described += f", targets smoothed with epsilon = {smoothing}"
    return Objective(
        name="cross_entropy",
        description=described,
        term=lambda m: -weight(m) * target[m] * sp.log(a[m]),
        gradient=lambda m: -weight(m) * target[m] / a[m],
        target=target,
        target_definition=None if smoothing is None else (lambda m: (1 - smoothing) * y[m] + smoothing / K),
        sums_to_one=not weights,
    )


def derive_softmax(
    obj: Objective, classes: int | None = None, options: steps.Options | None = None
) -> steps.Derivation:
    """The derivation of ∂C/∂z_j for ``obj ∘ softmax``, symbolic K or ``classes`` classes.

    ``options`` (the ε and ω that ``obj`` was built with) are carried by the Derivation, so that
    what uses it (the exported code) sees them; default: no smoothing, no weights, ``classes``.
    """
    trace, result = _trace(obj)
    references = _references(obj)
    checking.check(trace, references.get, lambda e: _evaluate(e, references, obj), indexed.is_zero)
    jacobian = SOFTMAX.jacobian_through_output(a, i, j)
    grad_w, grad_b = x[l] * result, result
    analysis_ = _analyse(obj, result)  # on the symbolic δ_j, before any instantiation
    if classes is not None:
        trace = [_instantiate_step(step, classes) for step in trace if not _index_conditions(step)]
        _check_explicit(trace, obj, classes)
        result, grad_w, grad_b, jacobian = (_instantiate(e, classes) for e in (result, grad_w, grad_b, jacobian))
    return steps.Derivation(
        loss=obj.name,
        activation=SOFTMAX.name,
        steps=tuple(trace),
        delta=result,
        grad_w=grad_w,
        grad_b=grad_b,
        conditions=(
            "each a_i = softmax(z)_i lies in (0, 1) and sum_i a_i = 1",
            "the targets y_k form a probability distribution: sum_k y_k = 1",
            "indices i, j, k run over the classes 1..K",
        ),
        analysis=analysis_,
        loss_function=catalog.LOSSES.get(obj.name),
        activation_function=SOFTMAX,
        classes=K if classes is None else classes,
        jacobian=jacobian,
        options=steps.Options(classes=classes) if options is None else options,
    )


# -- the symbolic-K trace ----------------------------------------------------------------


def _trace(obj: Objective) -> tuple[list[steps.Step], sp.Expr]:
    """The symbolic-K steps and δ_j."""
    # 1. definitions and the assumption on the targets
    trace = _definitions(obj)
    # 2. the chain rule: every output a_i depends on z_j
    trace.append(
        steps.Step(
            "chain rule",
            Partial(C, z[j]),
            sp.Sum(Product(Partial(C, a[i]), Partial(a[i], z[j])), (i, 1, K)),
            "every a_i depends on z_j through the normalising sum",
        )
    )
    # 3. the factors: the loss, and the Jacobian by the quotient rule, case by case
    trace.append(
        steps.Step("differentiate", Partial(C, a[i]), obj.gradient(i), "only the term k = i of the sum depends on a_i")
    )
    trace += _jacobian_steps()
    # 4. substitute, cancel, sum out the Kronecker delta, use Σ targets = 1
    result, uses = _sum_steps(trace, obj)
    # 5. the error, and the gradients of the weights and biases of the softmax layer
    trace += _gradient_steps(result, uses)
    return trace, result


def _definitions(obj: Objective) -> list[steps.Step]:
    Step = steps.Step
    trace = [
        Step("definition", C, indexed.ksum(obj.term(k)), obj.description),
        Step("definition", a[i], SOFTMAX.elementary(z, i, K), "softmax over the K classes"),
        Step("assumption", indexed.ksum(y[k]), sp.S.One, "the targets form a probability distribution"),
    ]
    if obj.target_definition is not None:
        trace += [
            Step("definition", obj.target[k], obj.target_definition(k), "label smoothing"),
            Step(
                "linearity",
                indexed.ksum(obj.target[k]),
                sp.S.One,
                "(1 - epsilon) Σ_k y_k + epsilon = 1",
                conditions=(TARGETS_SUM_TO_ONE,),
            ),
        ]
    return trace


def _jacobian_steps() -> list[steps.Step]:
    """∂a_i/∂z_j by the quotient rule, for i = j and i ≠ j, joined by a Kronecker delta."""
    Step = steps.Step
    total = indexed.ksum(sp.exp(z[k]))
    quotient = (sp.KroneckerDelta(i, j) * sp.exp(z[i]) * total - sp.exp(z[i]) * sp.exp(z[j])) / total**2
    return [
        Step(
            "quotient rule",
            Partial(a[i], z[j]),
            quotient,
            "d e^{z_i}/dz_j = δ_ij e^{z_i} and d(Σ_k e^{z_k})/dz_j = e^{z_j}",
        ),
        Step("case i = j", Partial(a[j], z[j]), quotient.subs(i, j), "δ_jj = 1", conditions=(EQUAL,)),
        Step(
            "through output", Partial(a[j], z[j]), a[j] * (1 - a[j]), "a_j = e^{z_j} / Σ_k e^{z_k}", conditions=(EQUAL,)
        ),
        Step(
            "case i ≠ j",
            Partial(a[i], z[j]),
            quotient.xreplace({sp.KroneckerDelta(i, j): 0}),
            "δ_ij = 0",
            conditions=(DIFFERENT,),
        ),
        Step("through output", Partial(a[i], z[j]), -a[i] * a[j], "a_i a_j", conditions=(DIFFERENT,)),
        Step(
            "Kronecker delta", Partial(a[i], z[j]), SOFTMAX.jacobian_through_output(a, i, j), "δ_ij joins the two cases"
        ),
    ]


def _sum_steps(trace: list[steps.Step], obj: Objective) -> tuple[sp.Expr, tuple[sp.Basic, ...]]:
    """Append the steps from Σ_i ∂C/∂a_i ∂a_i/∂z_j to δ_j; return δ_j and the conditions it uses."""
    Step, lhs = steps.Step, Partial(C, z[j])
    grad, jac = obj.gradient(i), SOFTMAX.jacobian_through_output(a, i, j)
    product = sp.Mul(grad, jac)  # Mul cancels a common factor of the two
    split = indexed.linear_sums(sp.Sum(product, (i, 1, K)))
    kronecker = indexed.kronecker_sums(split)
    trace.append(Step("substitute", lhs, sp.Sum(Product(grad, jac), (i, 1, K)), "the two factors above"))
    cancelled = sp.fraction(grad)[1] / sp.fraction(product)[1]
    if cancelled != 1:
        trace.append(
            Step(
                "cancel",
                lhs,
                sp.Sum(product, (i, 1, K)),
                f"the factor {sp.sstr(cancelled)} cancels",
                cancelled=cancelled,
            )
        )
    trace += [
        Step("linearity", lhs, split, "split the sum; factors free of i move out"),
        Step("Kronecker sum", lhs, kronecker, "Σ_i f_i δ_ij = f_j"),
    ]
    if len(sp.Add.make_args(kronecker)) > 2:  # collect the many terms of a Jacobian that stays
        collected = a[j] * obj.gradient(j) - a[j] * sp.Sum(a[i] * grad, (i, 1, K))
        trace.append(Step("collect", lhs, collected, "the activation's Jacobian stays"))
        return collected, ()
    if not obj.sums_to_one:
        return kronecker, ()
    uses = (TARGETS_SUM_TO_ONE,)
    result = a[j] - obj.target[j]
    trace.append(Step("assumption", lhs, result, f"Σ_i {obj.target}_i = 1", conditions=uses))
    if obj.target_definition is not None:
        result = a[j] - obj.target_definition(j)
        trace.append(Step("substitute", lhs, result, "the smoothed target", conditions=uses))
    return result, uses


def _gradient_steps(result: sp.Expr, uses: tuple[sp.Basic, ...]) -> list[steps.Step]:
    """δ_j, ∂C/∂w_jl = x_l δ_j and ∂C/∂b_j = δ_j."""
    Step = steps.Step
    return [
        Step("definition", delta[j], Partial(C, z[j]), "the error of output j"),
        Step("result", delta[j], result, "from above", conditions=uses),
        Step("definition", z[j], sp.Sum(w[j, l] * x[l], (l, 1, notation.m)) + b[j], "weighted input of output j"),
        Step("chain rule", Partial(C, w[j, l]), Product(delta[j], x[l]), "only z_j depends on w_jl; ∂z_j/∂w_jl = x_l"),
        Step("substitute", Partial(C, w[j, l]), x[l] * result, "δ_j from above", conditions=uses),
        Step("chain rule", Partial(C, b[j]), delta[j], "∂z_j/∂b_j = 1"),
        Step("substitute", Partial(C, b[j]), result, "δ_j from above", conditions=uses),
    ]


def _index_conditions(step: steps.Step) -> bool:
    return any(c in (EQUAL, DIFFERENT) for c in step.conditions)


def _to_z(expr: sp.Basic) -> sp.Basic:
    """Every a_m replaced by e^{z_m} / Σ_k e^{z_k}."""
    return expr.replace(
        lambda e: isinstance(e, sp.Indexed) and e.base == a,
        lambda e: SOFTMAX.elementary(z, e.indices[0], K),
    )


def _references(obj: Objective) -> dict[sp.Basic, sp.Basic]:
    """Independent values: ``sympy.diff`` of the elementary forms with IndexedBase symbols."""
    cost_a = _untarget(indexed.ksum(obj.term(k)), obj)
    cost_z = _to_z(cost_a)
    d_z = sp.diff(cost_z, z[j])
    d_a = sp.diff(SOFTMAX.elementary(z, i, K), z[j])
    refs = {
        C: cost_z,
        a[i]: SOFTMAX.elementary(z, i, K),
        Partial(C, a[i]): _to_z(indexed.resolve_ranges(sp.diff(cost_a, a[i]).doit())),
        Partial(a[i], z[j]): d_a,
        Partial(a[j], z[j]): d_a.subs(i, j),
        Partial(C, z[j]): d_z,
        delta[j]: d_z,
        Partial(C, w[j, l]): d_z * x[l],  # z_j = Σ_l w_jl x_l + b_j is the only input with w_jl
        Partial(C, b[j]): d_z,
    }
    if obj.target_definition is not None:
        refs[obj.target[k]] = obj.target_definition(k)
        refs[indexed.ksum(obj.target[k])] = indexed.ksum(obj.target_definition(k))
    return refs


def _untarget(expr: sp.Basic, obj: Objective) -> sp.Basic:
    """Smoothed targets ỹ_m replaced by their definition in y."""
    if obj.target_definition is None:
        return expr
    return expr.replace(
        lambda e: isinstance(e, sp.Indexed) and e.base == obj.target, lambda e: obj.target_definition(e.indices[0])
    )


def _evaluate(expr: sp.Basic, references: dict[sp.Basic, sp.Basic], obj: Objective) -> sp.Basic:
    return _to_z(_untarget(notation.evaluate_products(expr.xreplace(references)), obj))


# -- explicit K --------------------------------------------------------------------------


def _instantiate(expr: sp.Basic, classes: int, values: dict | None = None) -> sp.Basic:
    """K → classes and free class indices i, j → numbers (a vector or matrix when free), sums written out."""
    free = sorted(expr.free_symbols & {i, j}, key=str) if values is None else []
    if free:
        rng = range(1, classes + 1)
        if len(free) == 1:
            return sp.ImmutableMatrix([_instantiate(expr, classes, {free[0]: m}) for m in rng])
        return sp.ImmutableMatrix([[_instantiate(expr, classes, {i: r, j: c}) for c in rng] for r in rng])
    expr = expr.xreplace({K: sp.Integer(classes), **{s: sp.Integer(v) for s, v in (values or {}).items()}})
    return _expand_sums(expr)


def _expand_sums(expr: sp.Basic) -> sp.Basic:
    """Σ_{k=1}^{3} f_k → f_1 + f_2 + f_3 (numeric bounds only), keeping display products."""

    def write_out(function, *limits):
        (index, low, high), rest = limits[0], limits[1:]
        if not (low.is_Integer and high.is_Integer):
            return sp.Sum(function, *limits)
        terms = [function.xreplace({index: sp.Integer(v)}) for v in range(int(low), int(high) + 1)]
        total = sp.Add(*terms)
        return sp.Sum(total, *rest) if rest else total

    return expr.replace(sp.Sum, write_out)


def _instantiate_step(step: steps.Step, classes: int) -> steps.Step:
    """The step at K = classes: free class indices become vector or matrix entries."""
    return steps.Step(
        step.rule,
        _instantiate(step.lhs, classes),
        _instantiate(step.expr, classes),
        step.note,
        step.cancelled,
        step.conditions,
    )


def _explicit_references(obj: Objective, classes: int):
    """Reference values at K = classes from ``sympy.diff`` of the fully expanded cost."""
    outputs = {m: sp.exp(z[m]) / sp.Add(*(sp.exp(z[r]) for r in range(1, classes + 1))) for m in range(1, classes + 1)}
    cost_a = sp.Add(*(_untarget(obj.term(m), obj) for m in outputs)).xreplace({K: classes})
    to_z = {a[m]: value for m, value in outputs.items()}
    cost_z = cost_a.xreplace(to_z)

    def entry(lhs: sp.Basic) -> sp.Basic | None:
        if lhs == C:
            return cost_z
        if isinstance(lhs, sp.Indexed) and lhs.base == a:
            return outputs[int(lhs.indices[0])]
        if isinstance(lhs, sp.Indexed) and lhs.base == delta:
            return sp.diff(cost_z, z[lhs.indices[0]])
        if not isinstance(lhs, Partial):
            return None
        num, den = lhs.num, lhs.den
        if num == C and isinstance(den, sp.Indexed) and den.base == a:
            return sp.diff(cost_a, den).xreplace(to_z)
        if isinstance(num, sp.Indexed) and num.base == a:
            return sp.diff(outputs[int(num.indices[0])], den)
        if num == C and den.base == z:
            return sp.diff(cost_z, den)
        if num == C and den.base == w:
            return sp.diff(cost_z, z[den.indices[0]]) * x[den.indices[1]]
        if num == C and den.base == b:
            return sp.diff(cost_z, z[den.indices[0]])
        return None

    def reference(lhs: sp.Basic) -> sp.Basic | None:
        if isinstance(lhs, sp.MatrixBase):
            entries = [entry(e) for e in lhs]
            return None if any(e is None for e in entries) else sp.ImmutableMatrix(lhs.shape[0], lhs.shape[1], entries)
        return entry(lhs)

    return reference, to_z


def _check_explicit(trace: list[steps.Step], obj: Objective, classes: int) -> None:
    reference, to_z = _explicit_references(obj, classes)

    def evaluate(expr: sp.Basic) -> sp.Basic:
        expr = notation.evaluate_products(expr)
        errors_ = {e for e in expr.atoms(sp.Indexed) if e.base == delta}
        known = {p: reference(p) for p in expr.atoms(Partial) | errors_}
        expr = expr.xreplace({p: v for p, v in known.items() if v is not None})
        return _untarget(expr, obj).xreplace({K: classes}).xreplace(to_z)

    def is_zero(expr: sp.Basic, conditions) -> bool:
        entries = list(expr) if isinstance(expr, sp.MatrixBase) else [expr]
        return all(indexed.is_zero_explicit(e, classes, conditions) for e in entries)

    checking.check(trace, reference, evaluate, is_zero, pairs=False)


# -- analysis ------------------------------------------------------------------------------


def _analyse(obj: Objective, result: sp.Expr) -> steps.Analysis:
    """Cancellation of δ_j = ``result`` (affine in the outputs), and saturation at K = 3 as z_1 → ±∞."""
    outputs_in = [e for e in result.atoms(sp.Indexed) if e.base == a]
    cancels = all(sp.degree(result, v) <= 1 for v in outputs_in) and not any(s.has(a) for s in result.atoms(sp.Sum))
    t = sp.Symbol("t", positive=True)  # t = e^{z_1}
    outputs = {a[1]: t / (t + 2), a[2]: 1 / (t + 2), a[3]: 1 / (t + 2)}
    limits = {}
    for end, (target, to) in {"z_1->oo, y=e_2, K=3": (2, sp.oo), "z_1->-oo, y=e_1, K=3": (1, sp.S.Zero)}.items():
        value = _untarget(_instantiate(result, 3, {j: 1}), obj).xreplace({K: 3}).xreplace(outputs)
        value = _expand_sums(value).xreplace({y[m]: int(m == target) for m in (1, 2, 3)})
        limits[end] = analysis.limit(sp.cancel(value), t, to, "-" if to is sp.oo else "+")
    return steps.Analysis(
        cancels=bool(cancels),
        factor=sp.cancel(result / (a[j] - y[j])),
        bound=None,
        limits=limits,
        saturates=any(v == 0 for v in limits.values()),
    )
