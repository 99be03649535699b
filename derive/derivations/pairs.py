"""derive(loss, activation): the chain-rule derivation of δ, ∂C/∂w_j, ∂C/∂b.

The driver reads as the pipeline: definitions, the chain rule, each factor,
σ′(z) written through a, the product and what cancels in it, the gradients,
the batch mean.  Before a :class:`~derive.engine.steps.Derivation` is returned every
step is proven equal to the step before it about the same quantity and to an
independent reference (plain ``sympy.diff`` of the fully elementary cost), so
a wrong step can never be printed.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import sympy as sp

from derive import catalog, errors
from derive.derivations import softmax, store
from derive.engine import analysis, checking, notation, proof, steps
from derive.engine.notation import C, C_batch, Partial, Product, SampleSum, a, b, delta, n, w_j, x_j, y, z

MAX_CLASSES = 20  # explicit K = 20 takes about two minutes; the symbolic-K derivation covers every K


def derive(
    loss: str | type[catalog.Loss],
    activation: str | type[catalog.Activation],
    classes: int | None = None,
    label_smoothing: bool | str | float | None = None,
    class_weights: bool = False,
) -> steps.Derivation:
    """Derive ∂C/∂z, ∂C/∂w_j and ∂C/∂b of ``loss ∘ activation``, step by step.

    >>> d = derive("bce", "sigmoid")
    >>> d.delta, d.cancels, d.saturates
    (a - y, True, False)
    >>> derive("quadratic", "sigmoid").delta
    a*(1 - a)*(a - y)
    >>> derive("cross_entropy", "softmax").delta
    a[j] - y[j]

    ``loss`` and ``activation`` are catalog names (``derive list``) or classes, such as a user
    formula ``derive.Loss.from_latex(...)``.  For softmax, ``classes`` is an explicit number of classes K (default: a
    symbolic K, nothing expanded); cross-entropy takes ``label_smoothing``
    (True for a symbolic ε, or a number in [0, 1)) and ``class_weights``
    (weights ω_k).  Raises :class:`~derive.errors.UnknownName` for a name not in
    the catalog, :class:`~derive.errors.DomainError` when the activation's
    outputs are not all in the loss's domain (bce ∘ relu: a = 0 is possible,
    ln 0 is not), :class:`~derive.errors.InvalidOption` for an option that does
    not apply, or a value of the wrong type.  Results are cached in memory (``derive.cache_clear()``)
    and, for the catalog's own functions, on disk (:mod:`derive.derivations.store`; ``DERIVE_CACHE_DIR=off``).
    """
    loss_cls, act = catalog.as_loss(loss), catalog.as_activation(activation)
    if not isinstance(class_weights, bool):
        raise errors.InvalidOption(f"class_weights is True (a weight ω_k per class) or False, not {class_weights!r}")
    if label_smoothing is not None and not isinstance(label_smoothing, (bool, str, int, float)):
        raise errors.InvalidOption(
            f"label_smoothing is True (a symbolic ε) or a number in [0, 1), not {type(label_smoothing).__name__}"
        )
    if classes is not None and not isinstance(classes, int):
        raise errors.InvalidOption(f"the number of classes is a whole number, not {type(classes).__name__}")
    return _derive(loss_cls, act, classes, label_smoothing, class_weights)


@functools.cache
def _derive(
    loss_cls: type[catalog.Loss],
    act: type[catalog.Activation],
    classes: int | None,
    label_smoothing: bool | str | float | None,
    class_weights: bool,
) -> steps.Derivation:
    catalog.check_domain(loss_cls, act)
    catalog.check_parameters(loss_cls, act)
    _check_options(loss_cls, act, classes, label_smoothing, class_weights)
    key = store.key(loss_cls, act, classes, label_smoothing, class_weights)
    kept = store.load(key) if key is not None else None
    if isinstance(kept, steps.Derivation):
        return kept
    if act.vector:
        smoothing = _smoothing(label_smoothing)
        options = steps.Options(label_smoothing=smoothing, class_weights=bool(class_weights), classes=classes)
        d = softmax.derive_softmax(softmax.objective(loss_cls, smoothing, class_weights), classes, options)
    else:
        d = _scalar(loss_cls, act)
    if key is not None:
        store.save(key, d)
    return d


def _scalar(loss_cls: type[catalog.Loss], act: type[catalog.Activation]) -> steps.Derivation:
    """The derivation of a one-output pair; the driver reads as the pipeline, step by step."""
    # 1. definitions: C = L(a, y), a = f(z), z = Σ_k w_k x_k + b
    trace = _definitions(loss_cls, act)
    # 2. the chain rule through a and z
    trace.append(
        steps.Step(
            "chain rule",
            Partial(C, w_j),
            Product(Partial(C, a), Partial(a, z), Partial(z, w_j)),
            "C depends on w_j only through a, and a only through z",
        )
    )
    # 3. each factor: ∂C/∂a, ∂a/∂z (σ′ through a), ∂z/∂w_j
    dC_da = _loss_factor(trace, loss_cls)
    da_dz = _activation_factor(trace, act)
    trace.append(steps.Step("differentiate", Partial(z, w_j), _dz(w_j), "only the term w_j x_j of z depends on w_j"))
    # 4. δ = ∂C/∂a · ∂a/∂z, and what cancels in the product
    delta_value = _delta(trace, dC_da, da_dz)
    # 5. ∂C/∂w_j = x_j δ and ∂C/∂b = δ
    grad_w, grad_b = _weight_and_bias(trace, delta_value)
    # 6. the mean over a batch of n inputs
    _batch(trace, grad_w, grad_b)

    check(trace, _references(loss_cls, act), _domains(loss_cls, act))
    return steps.Derivation(
        loss=loss_cls.name,
        activation=act.name,
        steps=tuple(trace),
        delta=delta_value,
        grad_w=grad_w,
        grad_b=grad_b,
        conditions=_conditions(loss_cls, act),
        analysis=analysis.analyse(delta_value, act, loss_cls),
        loss_function=loss_cls,
        activation_function=act,
    )


derive.cache_clear = _derive.cache_clear  # type: ignore[attr-defined]


def _check_options(loss_cls, act, classes, label_smoothing, class_weights) -> None:
    if classes is not None:
        if not act.vector:
            raise errors.InvalidOption(f"the number of classes applies to softmax, not {act.name}")
        if isinstance(classes, bool) or not isinstance(classes, int) or not 2 <= classes <= MAX_CLASSES:
            raise errors.InvalidOption(
                f"the number of classes must be a whole number from 2 to {MAX_CLASSES}, "
                f"not {classes!r} (leave it out for a symbolic K)"
            )
    if (label_smoothing not in (None, False) or class_weights) and loss_cls.name != "cross_entropy":
        raise errors.InvalidOption(
            f"label smoothing and class weights are options of cross_entropy, not {loss_cls.name}"
        )


def _smoothing(value: bool | str | float | None) -> sp.Expr | None:
    """None, the symbol ε (True or "epsilon"), or a number in [0, 1) as an exact rational."""
    if value in (None, False):
        return None
    if value is True or value in ("epsilon", "eps", "ε"):
        return softmax.epsilon
    try:
        number = sp.nsimplify(str(value), rational=True)
    except (sp.SympifyError, TypeError, ValueError):
        number = None
    if number is None or not number.is_Rational or not 0 <= number < 1:
        raise errors.InvalidOption(f"label smoothing must be a number in [0, 1) or 'epsilon', not {value!r}")
    return number


def _definitions(loss_cls, act) -> list[steps.Step]:
    return [
        steps.Step(
            "definition",
            C,
            loss_cls.elementary(a, y),
            f"{loss_cls.description}; defined for a in {catalog.interval(loss_cls.a_domain)}, "
            f"targets y in {catalog.interval(loss_cls.y_domain)}",
        ),
        steps.Step(
            "definition", a, act(z), f"{act.description}; a takes values in {catalog.interval(act.output_range)}"
        ),
        steps.Step("definition", z, notation.z_sum, "weighted input: inputs x_k, weights w_k, bias b"),
    ]


def _loss_factor(trace: list[steps.Step], loss_cls) -> sp.Expr:
    """Append ∂C/∂a: the plain derivative, then the catalog's written form."""
    raw = sp.diff(loss_cls.elementary(a, y), a)
    trace.append(steps.Step("differentiate", Partial(C, a), raw, f"differentiate {loss_cls.name} with respect to a"))
    if loss_cls.subgradient:
        trace.append(_convention(loss_cls.subgradient))
    written = loss_cls.gradient(a, y)
    if written != raw:
        trace.append(steps.Step("common denominator", Partial(C, a), written, "over one denominator"))
    return written


def _convention(note: str) -> steps.Step:
    """H(0) = 1/2: the subgradient a function with a kink is given there, stated as a step."""
    return steps.Step("subgradient convention", sp.Heaviside(0, evaluate=False), sp.S.Half, note)


def _activation_factor(trace: list[steps.Step], act) -> sp.Expr:
    """Append ∂a/∂z: f′(z), its own form, and the same through a when that exists."""
    own = act(z).derivative()
    trace.append(steps.Step("differentiate", Partial(a, z), sp.Derivative(act(z), z), f"a = {act.name}(z)"))
    trace.append(steps.Step(f"derivative of {act.name}", Partial(a, z), own, f"{act.name}'(z) = {sp.sstr(own)}"))
    if act.subgradient:
        trace.append(_convention(act.subgradient))
    through = act.derivative_through_output(a)
    if through is None:
        return own
    if through != own:
        trace.append(
            steps.Step(
                "through output", Partial(a, z), through, f"write {act.name}'(z) through the output a = {act.name}(z)"
            )
        )
    return through


def _delta(trace: list[steps.Step], dC_da: sp.Expr, da_dz: sp.Expr) -> sp.Expr:
    """Append δ = ∂C/∂a · ∂a/∂z, the product, and its cancelled form; return δ."""
    trace.append(steps.Step("definition", delta, Partial(C, z), "the error of the neuron"))
    trace.append(
        steps.Step("chain rule", delta, Product(Partial(C, a), Partial(a, z)), "C depends on z only through a")
    )
    trace.append(steps.Step("substitute", delta, Product(dC_da, da_dz), "the two factors above"))
    value = sp.Mul(dC_da, da_dz)  # Mul cancels common factors of the two
    cancelled = sp.fraction(dC_da)[1] / sp.fraction(value)[1]
    if cancelled != 1:
        trace.append(
            steps.Step("cancel", delta, value, f"the factor {sp.sstr(cancelled)} cancels", cancelled=cancelled)
        )
    else:
        trace.append(
            steps.Step("multiply", delta, value, f"nothing cancels: the activation's derivative {sp.sstr(da_dz)} stays")
        )
    distributed = _distribute(value)
    if sp.count_ops(distributed) < sp.count_ops(value):  # focal: a(1 − a) cancels term by term
        trace.append(steps.Step("distribute", delta, distributed, "multiply out: the factors cancel term by term"))
        return distributed
    return value


def _distribute(value: sp.Expr) -> sp.Expr:
    """c·(t₁ + t₂ + …) as c·t₁ + c·t₂ + …, each product with its powers combined (the longest sum)."""
    sums = [f for f in sp.Mul.make_args(value) if f.is_Add]
    if not sums:
        return value
    total = max(sums, key=lambda f: len(f.args))
    outer = value / total
    return sp.Add(*(sp.powsimp(outer * term) for term in total.args))


def _weight_and_bias(trace: list[steps.Step], delta_value: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    grad_w = sp.Mul(x_j, delta_value)
    trace += [
        steps.Step("chain rule", Partial(C, w_j), Product(delta, Partial(z, w_j)), "δ = ∂C/∂z"),
        steps.Step("substitute", Partial(C, w_j), Product(x_j, delta), "∂z/∂w_j = x_j"),
        steps.Step("substitute", Partial(C, w_j), grad_w, "δ from above"),
        steps.Step("chain rule", Partial(C, b), Product(delta, Partial(z, b)), "δ = ∂C/∂z"),
        steps.Step("differentiate", Partial(z, b), _dz(b), "z = ... + b"),
        steps.Step("substitute", Partial(C, b), delta_value, "∂z/∂b = 1 and δ from above"),
    ]
    return grad_w, delta_value


def _batch(trace: list[steps.Step], grad_w: sp.Expr, grad_b: sp.Expr) -> None:
    mean = 1 / n
    trace += [
        steps.Step("definition", C_batch, Product(mean, SampleSum(C)), "mean cost over the n training inputs x"),
        steps.Step(
            "batch mean",
            Partial(C_batch, w_j),
            Product(mean, SampleSum(grad_w)),
            "the derivative of the sum is the sum of the per-input derivatives",
        ),
        steps.Step(
            "batch mean",
            Partial(C_batch, b),
            Product(mean, SampleSum(grad_b)),
            "the derivative of the sum is the sum of the per-input derivatives",
        ),
    ]


def _dz(var: sp.Symbol) -> sp.Expr:
    """∂z/∂var from z = Σ_k w_k x_k + b, with w_j, x_j for the j-th terms (1 ≤ j ≤ m)."""
    w, x, j, m = notation.w_vec, notation.x_vec, notation.j, notation.m
    by = w[j] if var == w_j else var
    value = sp.diff(notation.z_sum, by).doit()
    value = value.subs(sp.Le(j, m), sp.true)  # j is one of the m inputs
    if isinstance(value, sp.Piecewise):
        value = sp.piecewise_fold(value).args[0].expr
    return value.subs({x[j]: x_j, w[j]: w_j})


def _conditions(loss_cls, act) -> tuple[str, ...]:
    out = [
        f"a = {act.name}(z) lies in {catalog.interval(act.output_range)}",
        f"{loss_cls.name} is defined for a in {catalog.interval(loss_cls.a_domain)} "
        f"and meant for y in {catalog.interval(loss_cls.y_domain)}",
    ]
    if act.derivative_through_output(a) is None:
        out.append(f"{act.name}'(z) = {sp.sstr(act(z).derivative())} is kept in z: {act.not_through_output}")
    return tuple(out)


# -- the engine's own check ---------------------------------------------------------


def _references(loss_cls, act) -> dict[sp.Expr, sp.Expr]:
    """Independent values of every quantity, from ``sympy.diff`` of elementary forms.

    The derivatives are taken in real stand-ins of the variables and parameters (all of them are
    real here): SymPy then skips its real/imaginary bookkeeping, which costs seconds for tanh and
    cosh of a complex argument; the results are written back in derive's symbols.
    """
    params = [p.symbol for p in (*loss_cls.parameters, *act.parameters)]
    real = {s: sp.Dummy(s.name, real=True) for s in (z, y, a, w_j, x_j, b, *params)}
    zr, yr, ar, wr, xr, br = (real[s] for s in (z, y, a, w_j, x_j, b))
    rest = sp.Dummy("rest", real=True)  # Σ over the other inputs: independent of w_j and b
    back = {**{r: s for s, r in real.items()}, rest: z - w_j * x_j - b}

    def in_real(expr: sp.Expr) -> sp.Expr:
        return expr.xreplace({s: real[s] for s in params})

    def plain(expr: sp.Expr) -> sp.Expr:
        return expr.xreplace(back)

    cost_of = lambda arg: in_real(loss_cls.elementary(act.elementary(arg), yr))  # noqa: E731
    f = act.elementary(z)
    z_full = wr * xr + br + rest
    d_w = plain(sp.diff(cost_of(z_full), wr))
    d_b = plain(sp.diff(cost_of(z_full), br))
    d_z = plain(sp.diff(cost_of(zr), zr))
    d_f = plain(sp.diff(in_real(act.elementary(zr)), zr))
    mean = 1 / n
    return {
        a: f,
        C: loss_cls.elementary(f, y),
        Partial(C, a): plain(sp.diff(in_real(loss_cls.elementary(ar, yr)), ar)).subs(a, f),
        Partial(a, z): d_f,
        sp.Derivative(act(z), z): d_f,
        Partial(z, w_j): plain(sp.diff(z_full, wr)),
        Partial(z, b): plain(sp.diff(z_full, br)),
        Partial(C, z): d_z,
        delta: d_z,
        Partial(C, w_j): d_w,
        Partial(C, b): d_b,
        C_batch: mean * SampleSum(loss_cls.elementary(f, y)),
        Partial(C_batch, w_j): mean * SampleSum(d_w),
        Partial(C_batch, b): mean * SampleSum(d_b),
    }


def _domains(loss_cls, act) -> dict[sp.Symbol, sp.Set]:
    """The domain of each parameter of the pair (α of leaky_relu, κ of huber, ...)."""
    return {p.symbol: p.domain for p in (*loss_cls.parameters, *act.parameters)}


def check(
    trace: list[steps.Step], references: Mapping[sp.Expr, sp.Expr], domains: Mapping[sp.Symbol, sp.Set] = {}
) -> None:
    """Prove every step equal to its predecessor on the same quantity and to its reference.

    A difference with a kink (relu, hinge, hard_sigmoid) that is not zero outright is proven by
    cases: on each side of every kink of z and at the kink itself (``proof.is_zero_by_cases``);
    ``domains`` gives the parameters' signs for that proof.
    Raises :class:`~derive.errors.ProofError` naming the first step that fails.
    """

    def is_zero(expr: sp.Expr, conditions) -> bool:
        if proof.has_kinks(expr) and proof.is_zero_by_cases(expr, z, dict(domains)):
            return True
        return proof.is_zero(expr)

    checking.check(
        trace,
        reference=references.get,
        evaluate=lambda expr: proof.elementary(expr.xreplace(references)),
        is_zero=is_zero,
    )
