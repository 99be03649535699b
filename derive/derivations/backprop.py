"""Backpropagation: the four equations, derived from the component form, and a worked network.

For an L-layer fully connected network, z^l_j = Σ_q w^l_jq a^{l-1}_q + b^l_j and
a^l_j = σ(z^l_j) for an elementwise activation σ.  Each equation comes from
the multivariable chain rule written as a sum over components, with the
partial derivatives of the component formulas taken by ``sympy.diff`` and the
Kronecker-delta sums evaluated; every step is proven (``derive.engine.indexed``).

    BP1  δ^L_j = ∂C/∂a^L_j σ′(z^L_j)                    δ^L = ∇_a C ⊙ σ′(z^L)
    BP2  δ^l_j = (Σ_k w^{l+1}_kj δ^{l+1}_k) σ′(z^l_j)    δ^l = ((w^{l+1})^T δ^{l+1}) ⊙ σ′(z^l)
    BP3  ∂C/∂b^l_j = δ^l_j
    BP4  ∂C/∂w^l_jk = a^{l-1}_k δ^l_j

The worked network (two dense layers, sigmoid hidden units, softmax output,
cross-entropy) instantiates them; its gradients are proven at 2 inputs,
2 hidden units and 2 classes against ``sympy.diff`` of the whole composite.
"""

from __future__ import annotations

import functools
import itertools

import sympy as sp

from derive import catalog, errors
from derive.derivations import softmax
from derive.engine import checking, indexed, notation, proof, steps
from derive.engine.notation import C, Partial, Product

i, j, k = indexed.i, indexed.j, indexed.k
q = sp.Symbol("q", integer=True, positive=True)
sigma = sp.Function("sigma")


class sigma_prime(sp.Function):
    """σ′, the derivative of the elementwise activation, as a function of its own."""

    nargs = 1

    def _latex(self, printer, exp=None) -> str:
        tex = rf"\sigma'\left({printer._print(self.args[0])}\right)"
        return tex if exp is None else rf"{tex}^{{{exp}}}"

    def _sympystr(self, printer) -> str:
        return f"sigma'({printer._print(self.args[0])})"


n_prev, n_l, n_next, n_L = sp.symbols("n_{l-1} n_l n_{l+1} n_L", integer=True, positive=True)
z_L, a_L, delta_L = sp.IndexedBase("z^L"), sp.IndexedBase("a^L"), sp.IndexedBase("delta^L")
z_l, delta_l, w_l, b_l = sp.IndexedBase("z^l"), sp.IndexedBase("delta^l"), sp.IndexedBase("w^l"), sp.IndexedBase("b^l")
a_prev = sp.IndexedBase("a^{l-1}")
z_next, w_next, b_next = sp.IndexedBase("z^{l+1}"), sp.IndexedBase("w^{l+1}"), sp.IndexedBase("b^{l+1}")
delta_next = sp.IndexedBase("delta^{l+1}")

#: LaTeX of the layer symbols SymPy cannot spell from their names.
SYMBOL_LATEX = {delta_next.label: r"\delta^{l+1}", delta_l.label: r"\delta^{l}", delta_L.label: r"\delta^{L}"}

MATRIX_FORMS = {
    "BP1": r"\delta^L = \nabla_a C \odot \sigma'(z^L)",
    "BP2": r"\delta^l = ((w^{l+1})^T \delta^{l+1}) \odot \sigma'(z^l)",
    "BP3": r"\partial C / \partial b^l = \delta^l",
    "BP4": r"\partial C / \partial w^l = \delta^l (a^{l-1})^T",
}


def _d(expr: sp.Expr, var: sp.Basic) -> sp.Expr:
    """∂expr/∂var by sympy.diff, Kronecker sums evaluated, σ′ written as a function."""
    value = indexed.resolve_ranges(sp.diff(expr, var).doit())
    return value.replace(
        lambda e: isinstance(e, sp.Derivative) and e.expr.func == sigma,
        lambda e: sigma_prime(e.expr.args[0]),
    )


def _layer(w: sp.IndexedBase, inputs: sp.Expr, bias: sp.IndexedBase, row: sp.Symbol, size: sp.Symbol) -> sp.Expr:
    """z_row = Σ_q w_{row q} inputs_q + b_row."""
    return sp.Sum(w[row, q] * inputs, (q, 1, size)) + bias[row]


def _four_references() -> dict[sp.Basic, sp.Basic]:
    """Every quantity as the chain rule over components, with sympy.diff of the component formulas."""
    z_next_k = _layer(w_next, sigma(z_l[q]), b_next, k, n_l)
    z_l_of = lambda row: _layer(w_l, a_prev[q], b_l, row, n_prev)  # noqa: E731
    references = {
        Partial(a_L[k], z_L[j]): _d(sigma(z_L[k]), z_L[j]),
        Partial(C, z_L[j]): sp.Sum(Partial(C, a_L[k]) * _d(sigma(z_L[k]), z_L[j]), (k, 1, n_L)),
        Partial(z_next[k], z_l[j]): _d(z_next_k, z_l[j]),
        Partial(C, z_l[j]): sp.Sum(delta_next[k] * _d(z_next_k, z_l[j]), (k, 1, n_next)),
        Partial(z_l[k], b_l[j]): _d(z_l_of(k), b_l[j]),
        Partial(C, b_l[j]): sp.Sum(delta_l[k] * _d(z_l_of(k), b_l[j]), (k, 1, n_l)),
        Partial(z_l[i], w_l[j, k]): _d(z_l_of(i), w_l[j, k]),
        Partial(C, w_l[j, k]): sp.Sum(delta_l[i] * _d(z_l_of(i), w_l[j, k]), (i, 1, n_l)),
    }
    references[delta_L[j]] = references[Partial(C, z_L[j])]
    references[delta_l[j]] = references[Partial(C, z_l[j])]
    return references


def _check_four(trace: list[steps.Step]) -> None:
    """The engine's check: every step equals the chain rule over components (derive.engine.indexed proofs)."""
    references = _four_references()
    factors = {key: value for key, value in references.items() if isinstance(key, Partial)}
    evaluate = lambda e: notation.evaluate_products(e.xreplace(factors))  # noqa: E731
    checking.check(trace, references.get, evaluate, indexed.is_zero)


@functools.cache
def four_equations() -> steps.Trace:
    """The four backpropagation equations, each derived and proven from the component form."""
    references = _four_references()
    bp1 = Partial(C, a_L[j]) * sigma_prime(z_L[j])
    bp2 = sp.Sum(w_next[k, j] * delta_next[k], (k, 1, n_next)) * sigma_prime(z_l[j])
    error = steps.Step("definition", delta_l[j], Partial(C, z_l[j]), "the error of neuron j in layer l")
    trace = [error, *_bp1_steps(references, bp1), *_bp2_steps(references, bp2), *_bp3_bp4_steps(references)]
    _check_four(trace)
    results = {
        "BP1": sp.Eq(delta_L[j], bp1),
        "BP2": sp.Eq(delta_l[j], bp2),
        "BP3": sp.Eq(Partial(C, b_l[j]), delta_l[j]),
        "BP4": sp.Eq(Partial(C, w_l[j, k]), a_prev[k] * delta_l[j]),
    }
    notes = tuple(f"{name} in matrix form: {form}" for name, form in MATRIX_FORMS.items())
    return steps.Trace("the four equations of backpropagation", tuple(trace), results, notes, SYMBOL_LATEX)


def _bp1_steps(references: dict[sp.Basic, sp.Basic], bp1: sp.Expr) -> list[steps.Step]:
    """BP1, the output layer: C depends on z^L_j only through a^L_j."""
    Step = steps.Step
    return [
        Step("definition", a_L[j], sigma(z_L[j]), "output layer L, elementwise activation"),
        Step(
            "chain rule",
            Partial(C, z_L[j]),
            sp.Sum(Product(Partial(C, a_L[k]), Partial(a_L[k], z_L[j])), (k, 1, n_L)),
            "C depends on every a^L_k",
        ),
        Step("differentiate", Partial(a_L[k], z_L[j]), references[Partial(a_L[k], z_L[j])], "elementwise: δ_jk"),
        Step("Kronecker sum", Partial(C, z_L[j]), bp1, "only k = j remains"),
        Step("BP1", delta_L[j], bp1, "δ^L = ∇_a C ⊙ σ'(z^L)"),
    ]


def _bp2_steps(references: dict[sp.Basic, sp.Basic], bp2: sp.Expr) -> list[steps.Step]:
    """BP2, from layer l + 1 back to layer l."""
    Step = steps.Step
    z_next_k = _layer(w_next, sigma(z_l[q]), b_next, k, n_l)
    return [
        Step("definition", z_next[k], z_next_k, "a^l_q = σ(z^l_q)"),
        Step(
            "chain rule",
            Partial(C, z_l[j]),
            sp.Sum(Product(delta_next[k], Partial(z_next[k], z_l[j])), (k, 1, n_next)),
            "z^l_j reaches C through every z^{l+1}_k; δ^{l+1}_k = ∂C/∂z^{l+1}_k",
        ),
        Step(
            "differentiate",
            Partial(z_next[k], z_l[j]),
            references[Partial(z_next[k], z_l[j])],
            "only the term q = j depends on z^l_j",
        ),
        Step(
            "substitute",
            Partial(C, z_l[j]),
            sp.Sum(delta_next[k] * references[Partial(z_next[k], z_l[j])], (k, 1, n_next)),
            "the factor above",
        ),
        Step("BP2", delta_l[j], bp2, "σ'(z^l_j) does not depend on k: δ^l = ((w^{l+1})^T δ^{l+1}) ⊙ σ'(z^l)"),
    ]


def _bp3_bp4_steps(references: dict[sp.Basic, sp.Basic]) -> list[steps.Step]:
    """BP3 and BP4, the parameters of layer l: b^l_j and w^l_jk reach C through the z^l."""
    Step = steps.Step
    return [
        Step("definition", z_l[k], _layer(w_l, a_prev[q], b_l, k, n_prev), "layer l"),
        Step(
            "chain rule",
            Partial(C, b_l[j]),
            sp.Sum(Product(delta_l[k], Partial(z_l[k], b_l[j])), (k, 1, n_l)),
            "b^l_j reaches C through the z^l_k",
        ),
        Step("differentiate", Partial(z_l[k], b_l[j]), references[Partial(z_l[k], b_l[j])], "δ_jk"),
        Step("BP3", Partial(C, b_l[j]), delta_l[j], "only k = j remains"),
        Step(
            "chain rule",
            Partial(C, w_l[j, k]),
            sp.Sum(Product(delta_l[i], Partial(z_l[i], w_l[j, k])), (i, 1, n_l)),
            "w^l_jk reaches C through the z^l_i",
        ),
        Step(
            "differentiate",
            Partial(z_l[i], w_l[j, k]),
            references[Partial(z_l[i], w_l[j, k])],
            "only z^l_j has the term w^l_jk a^{l-1}_k",
        ),
        Step("BP4", Partial(C, w_l[j, k]), a_prev[k] * delta_l[j], "only i = j remains"),
    ]


# -- a worked network: dense → sigmoid → dense → softmax → cross-entropy --------------------

x, y = sp.IndexedBase("x"), indexed.y
W1, b1, z1, a1, d1 = (sp.IndexedBase(n) for n in ("W^1", "b^1", "z^1", "a^1", "delta^1"))
W2, b2, z2, a2, d2 = (sp.IndexedBase(n) for n in ("W^2", "b^2", "z^2", "a^2", "delta^2"))
n_in, n_hidden = sp.symbols("n_0 n_1", integer=True, positive=True)
K = indexed.K
PROVEN_AT = {n_in: 2, n_hidden: 2, K: 2}  # the sizes at which the worked network is proven


@functools.cache
def worked_network() -> steps.Trace:
    """∂C/∂W and ∂C/∂b of both layers of x → dense → σ → dense → softmax → cross-entropy."""
    Step = steps.Step
    delta2 = a2[j] - y[j]
    back = sp.Sum(W2[i, j] * d2[i], (i, 1, K))
    delta1 = sp.Sum(W2[i, j] * (a2[i] - y[i]), (i, 1, K)) * a1[j] * (1 - a1[j])
    trace = [
        Step("definition", z1[j], _layer(W1, x[q], b1, j, n_in), "hidden layer"),
        Step("definition", a1[j], catalog.ACTIVATIONS["sigmoid"](z1[j]), "sigmoid hidden units"),
        Step("definition", z2[j], _layer(W2, a1[q], b2, j, n_hidden), "output layer"),
        Step("definition", a2[j], sp.exp(z2[j]) / sp.Sum(sp.exp(z2[k]), (k, 1, K)), "softmax over K classes"),
        Step("definition", C, -sp.Sum(y[k] * sp.log(a2[k]), (k, 1, K)), "cross-entropy"),
        Step("assumption", sp.Sum(y[k], (k, 1, K)), sp.S.One, "the targets form a probability distribution"),
        Step("cross_entropy ∘ softmax", d2[j], delta2, "derive show cross_entropy softmax"),
        Step("BP4", Partial(C, W2[j, k]), a1[k] * d2[j], "∂C/∂w^l_jk = a^{l-1}_k δ^l_j"),
        Step("substitute", Partial(C, W2[j, k]), a1[k] * delta2, "δ^2_j from above"),
        Step("BP3", Partial(C, b2[j]), delta2, "∂C/∂b^l_j = δ^l_j"),
        Step("BP2", d1[j], back * sigma_prime(z1[j]), "δ^l = ((w^{l+1})^T δ^{l+1}) ⊙ σ'(z^l)"),
        Step("substitute", d1[j], delta1, "δ^2 from above; σ'(z) = a(1 - a) for the sigmoid"),
        Step("BP4", Partial(C, W1[j, k]), x[k] * delta1, "a^0 = x"),
        Step("BP3", Partial(C, b1[j]), delta1, "∂C/∂b^l_j = δ^l_j"),
    ]
    _check_worked(trace)
    results = {
        "dC/dW2": sp.Eq(Partial(C, W2[j, k]), a1[k] * delta2),
        "dC/db2": sp.Eq(Partial(C, b2[j]), delta2),
        "dC/dW1": sp.Eq(Partial(C, W1[j, k]), x[k] * delta1),
        "dC/db1": sp.Eq(Partial(C, b1[j]), delta1),
    }
    sizes = ", ".join(f"{s} = {v}" for s, v in PROVEN_AT.items())
    notes = (f"every step proven against sympy.diff of the whole network at {sizes}",)
    return steps.Trace(
        "worked network: dense, sigmoid, dense, softmax, cross-entropy", tuple(trace), results, notes, SYMBOL_LATEX
    )


def _explicit_network():
    """The network at PROVEN_AT as explicit expressions: values of z1, a1, z2, a2, C."""
    n0, n1, classes = (PROVEN_AT[s] for s in (n_in, n_hidden, K))
    rows = lambda n: range(1, n + 1)  # noqa: E731
    z1_ = {r: sum(W1[r, c] * x[c] for c in rows(n0)) + b1[r] for r in rows(n1)}
    a1_ = {r: 1 / (1 + sp.exp(-z1_[r])) for r in rows(n1)}
    z2_ = {r: sum(W2[r, c] * a1_[c] for c in rows(n1)) + b2[r] for r in rows(classes)}
    total = sum(sp.exp(z2_[r]) for r in rows(classes))
    a2_ = {r: sp.exp(z2_[r]) / total for r in rows(classes)}
    cost = -sum(y[r] * sp.log(a2_[r]) for r in rows(classes))
    values = {
        **{a1[r]: v for r, v in a1_.items()},
        **{a2[r]: v for r, v in a2_.items()},
        **{z1[r]: v for r, v in z1_.items()},
        **{z2[r]: v for r, v in z2_.items()},
    }
    return values, cost


def _check_worked(trace: list[steps.Step]) -> None:
    """Each step after the definitions, at every index, equals sympy.diff of the explicit network.

    References: ∂C/∂W and ∂C/∂b by sympy.diff of the whole composite; δ^l_j = ∂C/∂z^l_j is
    ∂C/∂b^l_j, since b^l_j enters C only through z^l_j, with coefficient 1.  Σ_k y_k = 1 is used.
    """
    values, cost = _explicit_network()
    sizes = {W2: (K, n_hidden), b2: (K,), d2: (K,), W1: (n_hidden, n_in), b1: (n_hidden,), d1: (n_hidden,)}
    bias_of = {d2: b2, d1: b1, b2: b2, b1: b1}
    classes = PROVEN_AT[K]
    sum_to_one = {y[classes]: 1 - sum(y[r] for r in range(1, classes))}

    def reference(base, index):
        if base in (W1, W2):
            return sp.diff(cost, base[index])
        return sp.diff(cost, bias_of[base][index[0]])

    deltas = {base[r]: reference(base, (r,)) for base in (d1, d2) for r in range(1, PROVEN_AT[sizes[base][0]] + 1)}

    def explicit(expr, assignment):
        expr = softmax._expand_sums(expr.xreplace(PROVEN_AT).subs(assignment))  # subs: sums keep their indices
        expr = expr.replace(sigma_prime, lambda u: sp.diff(1 / (1 + sp.exp(-u)), u))
        return expr.xreplace(deltas).xreplace(values)

    for number, step in enumerate(trace, start=1):
        base = step.lhs.den.base if isinstance(step.lhs, Partial) else getattr(step.lhs, "base", None)
        if step.rule == "definition" or base not in sizes:
            continue
        for index in itertools.product(*(range(1, PROVEN_AT[s] + 1) for s in sizes[base])):
            got = explicit(step.expr, dict(zip((j, k), index, strict=False)))  # j, k: the indices of the lhs
            if not proof.is_zero_exp_atoms((got - reference(base, index)).xreplace(sum_to_one)):
                raise errors.ProofError(f"worked network: step {number} ({step.rule}) fails at {index}")
