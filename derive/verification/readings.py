"""How a step is read before it is checked: the rewrites that make its notation explicit.

Each takes a step's two sides (and the definitions in force) and returns them rewritten, or unchanged
when the rewrite does not apply:

* :func:`real_symbols`: every name a real number, as the points it is checked at are (SymPy then knows
  that Heaviside(u) and Max(0, u) of a long u are real, instead of taking u apart into real and imaginary parts);
* :func:`explicit`: catalog calls over a whole vector written out (softmax(x, i, K) as e^{x_i}/Σ_k e^{x_k});
* :func:`indices_apart`: a defined name that is also an index (the loss L, the last layer a^{(L)}) split;
* :func:`bare_calls`: a bare f or σ where the step shows which call it is (f(x_i), σ(z));
* :func:`per_component`: a gradient by a whole vector read per component, when that is the only reading;
* :func:`component_definitions`: a vector defined by a gradient (δ^l = ∂C/∂z^l) defines its components.

:mod:`.stepcheck` applies them in that order; none of them decides anything.
"""

from __future__ import annotations

import functools

import sympy as sp
from sympy.core.function import AppliedUndef

from derive import catalog
from derive.parse import sums, vocabulary
from derive.verification import context as context_
from derive.verification import patterns

Context = context_.Context


def real_symbols(
    lhs: sp.Expr, rhs: sp.Expr, context: Context, conditions: list
) -> tuple[sp.Expr, sp.Expr, Context, list]:
    """Every symbol SymPy does not know to be real made real, in the step, the definitions and the conditions.

    Sound because a step is checked at real points only.  It matters for speed: building
    Heaviside(1 − y·GELU_tanh(z)) of complex symbols asks SymPy for its imaginary part, seconds for each
    (``squared_hinge ∘ gelu_tanh``'s fragment took 40 s); with real symbols it is immediate.
    """
    exprs = [lhs, rhs, *[d.target for d in context.definitions], *[d.value for d in context.definitions]]
    exprs += [*context.assumptions, *conditions]
    symbols = {s for e in exprs for s in e.atoms(sp.Symbol)} - _catalog_parameters()
    real = {s: sp.Symbol(s.name, real=True, **s.assumptions0) for s in symbols if _unknown_realness(s)}
    if not real:
        return lhs, rhs, context, conditions
    definitions = [d.with_value(d.target.xreplace(real), d.value.xreplace(real)) for d in context.definitions]
    assumptions = [a.xreplace(real) for a in context.assumptions]
    context = Context(definitions, assumptions, context.here, set(context.settings))
    return lhs.xreplace(real), rhs.xreplace(real), context, [c.xreplace(real) for c in conditions]


@functools.cache
def _catalog_parameters() -> frozenset[sp.Symbol]:
    r"""The symbols of the catalog's parameters (α of ELU, γ of focal loss): they stay as they are, since
    a catalog call rewritten while the step is checked brings them in again (``\operatorname{ELU}(z)``'s α
    must be the document's α)."""
    functions = [*catalog.ACTIVATIONS.values(), *catalog.LOSSES.values()]
    return frozenset(p.symbol for f in functions for p in getattr(f, "parameters", ()))


def _unknown_realness(symbol: sp.Symbol) -> bool:
    """A plain name (not a Dummy of derive's own, not one that is not a number: commutative, real unknown)."""
    return not isinstance(symbol, sp.Dummy) and symbol.is_real is None and symbol.is_commutative is True


def explicit(lhs: sp.Expr, rhs: sp.Expr, context: Context) -> tuple[sp.Expr, sp.Expr, Context]:
    """Catalog calls over a whole vector written out (``softmax(x, i, K)`` → ``e^{x_i}/Σ_k e^{x_k}``).

    Their sums are then instantiated like the document's own; a function the document redefines
    keeps its call, for its definition to apply.
    """
    keep = {key[1] for key in context.heads() if key[0] == "call"}

    def vectorial(node: sp.Basic) -> bool:
        calls = patterns.is_call(node) and node.func not in keep
        return calls and any(isinstance(arg, sp.IndexedBase) for arg in node.args)

    def explicit(expr: sp.Basic) -> sp.Basic:
        return expr.replace(vectorial, lambda node: node.rewrite("elementary"))

    values = [explicit(d.value) for d in context.definitions]
    if any(value != d.value for value, d in zip(values, context.definitions, strict=True)):
        written = [d.with_value(d.target, value) for d, value in zip(context.definitions, values, strict=True)]
        context = Context(written, list(context.assumptions))
    return explicit(lhs), explicit(rhs), context


def indices_apart(lhs: sp.Expr, rhs: sp.Expr, context: Context) -> tuple[sp.Expr, sp.Expr, Context]:
    """A defined name that is also an index (the loss ``L`` and the last layer ``a^{(L)}_j``) split in two.

    Inside indices it becomes an integer symbol of the same name, instantiated like any layer index,
    while the name itself keeps its definition: ``L = -\\sum_j y_j \\log a^{(L)}_j`` is then no circle.
    """
    defined = {d.target for d in context.definitions if isinstance(d.target, sp.Symbol)}
    exprs = [lhs, rhs, *[d.value for d in context.definitions], *context.assumptions]
    shared = {s for e in exprs for node in e.atoms(sp.Indexed) for s in node.free_symbols & defined}
    shared -= {node.base.label for e in exprs for node in e.atoms(sp.Indexed)}  # a name indexed itself
    if not shared:
        return lhs, rhs, context
    layer = {s: sp.Symbol(s.name, integer=True) for s in shared}

    def apart(expr: sp.Basic) -> sp.Basic:
        return expr.replace(
            lambda n: isinstance(n, sp.Indexed), lambda n: n.func(n.base, *[i.xreplace(layer) for i in n.indices])
        )

    written = [d.with_value(apart(d.target), apart(d.value)) for d in context.definitions]
    return apart(lhs), apart(rhs), Context(written, [apart(a) for a in context.assumptions])


def bare_calls(lhs: sp.Expr, rhs: sp.Expr, context: Context) -> tuple[sp.Expr, sp.Expr]:
    """A bare ``f`` in a step that uses the index of its only definition ``f(x_i) = …``: that call.

    ``\\frac{df}{dz_i}`` after ``f(x_i) = \\ln(1 + e^{-z_i}) + (1 - y_i) z_i`` is the derivative of f(x_i),
    for the same i (free or summed).  Without that index in the step (``h_\\theta`` after a definition of
    ``h_\\theta(x^{(i)})``, in a step about a plain x) the name stays unknown.  So is a bare catalog
    function beside its only call in the step: σ in ``\\frac{\\partial \\sigma}{\\partial w_j}`` next to
    ``\\sigma(z)`` is σ(z); beside two different calls (σ(z), σ(x)) it stays a name.
    """
    used = {s for side in (lhs, rhs) for node in side.atoms(sp.Indexed) for s in node.indices}
    used |= {limit[0] for side in (lhs, rhs) for total in side.atoms(sp.Sum, sums.Extremum) for limit in total.limits}
    defined = {d.target for d in context.definitions if isinstance(d.target, sp.Symbol)}
    calls: dict[str, list] = {}
    for d in context.definitions:
        if isinstance(d.target, AppliedUndef):
            calls.setdefault(d.target.func.__name__, []).append(d.target)
    bare = {}
    for name in (lhs.free_symbols | rhs.free_symbols) - defined:
        function = vocabulary.FUNCTIONS.get(name.name)
        if function is not None and context.lookup(name) is None:  # ∂σ/∂w_j beside σ(z): σ(z)
            found = {node for side in (lhs, rhs) for node in side.atoms(function)}
            if len(found) == 1:
                bare[name] = found.pop()
            continue
        targets = calls.get(name.name, [])
        if len(targets) != 1 or not targets[0].args:
            continue
        args = targets[0].args
        if all(isinstance(a, sp.Indexed) and all(ix in used for ix in a.indices) for a in args):
            bare[name] = targets[0]
    return (lhs.xreplace(bare), rhs.xreplace(bare)) if bare else (lhs, rhs)


def per_component(lhs: sp.Expr, rhs: sp.Expr, context: Context) -> tuple[sp.Expr, sp.Expr]:
    """A step about whole vectors read per component: ``\\frac{\\partial L}{\\partial o} = p - y`` as
    ``\\frac{\\partial L}{\\partial o_k} = p_k - y_k``, ``\\nabla_a C = a^L - y`` as ∂C/∂a^L_k = a^L_k - y_k.

    Only when the step differentiates by a vector (a name the document also writes with one index more),
    and every vector in it is one: a name written with two indices more (a matrix ``w^l`` of ``w^l_{jk}``)
    leaves the step as it is (undecided), and so does a vector no definition uses (a one-hot y described
    in prose: its components are not known).  A name a definition makes a scalar (``a = \\sigma(z)``)
    stays one.
    """
    sides = (lhs, rhs)
    written = [e for d in context.definitions for e in (d.target, d.value)]
    known = [*sides, *written]
    shapes = _index_shapes(known)
    # a name a definition uses whole (s = σ(z) beside a_j = e^{z_j}/Σ_k e^{z_k}) is a scalar there: no guess
    scalars = {s for e in written for s in _bare_symbols(e)}
    defined = {node.base.label for e in written for node in e.atoms(sp.Indexed)}

    def lead(name: sp.Basic) -> tuple | None:
        """The indices a bare ``name`` already has (() for a symbol, (L,) for a^L), or None for no name."""
        if isinstance(name, sp.Indexed):
            return tuple(name.indices)
        if isinstance(name, sp.Symbol) and name in shapes and name not in scalars:
            written = {t[:-1] for side in sides for node in side.atoms(sp.Indexed) if node.base.label == name
                       for t in [tuple(node.indices) + (None,)]}  # fmt: skip
            longest = max(len(t) for t in shapes[name])
            return written.pop() if longest > 1 and len(written) == 1 else ()
        return None

    def extra(name: sp.Basic, at: tuple) -> int:
        label, _ = patterns.name_parts(name)
        return max((len(t) - len(at) for t in shapes.get(label, ()) if _compatible(t[: len(at)], at)), default=0)

    variables = [v for d in lhs.atoms(sp.Derivative) | rhs.atoms(sp.Derivative) for v in d.variables]
    if not any(lead(v) is not None and extra(v, lead(v)) == 1 for v in variables):
        return lhs, rhs
    k = _fresh_index(known)
    names = {node for side in sides for node in side.atoms(sp.Symbol, sp.Indexed)}
    component = {}
    for name in names:
        at = lead(name)
        if at is None or (isinstance(name, sp.Symbol) and any(name in node.indices for node in names - {name}
                                                              if isinstance(node, sp.Indexed))):  # fmt: skip
            continue  # an index (L, j), or no name of a vector
        more = extra(name, at)
        if more > 1:
            return lhs, rhs  # a matrix: no per-component reading
        if more == 1:
            label, _ = patterns.name_parts(name)
            if label not in defined:
                return lhs, rhs  # a vector no definition uses (a one-hot y told in prose): its components are open
            component[name] = sp.IndexedBase(label)[(*at, k)]
    indices = {i for node in names if isinstance(node, sp.Indexed) for i in node.free_symbols - {node.base.label}}
    open_names = {n for n in names if isinstance(n, sp.Symbol)} - set(component) - indices - scalars
    if any(context.lookup(n) is None for n in open_names):
        return lhs, rhs  # a name of unknown shape (y of a one-hot label told in prose): per component is a guess
    return renamed(lhs, component), renamed(rhs, component)


def _compatible(written: tuple, at: tuple) -> bool:
    """Whether indices ``written`` (z^{l+1}_j's l+1) can be the indices ``at`` (z^l's l): only two different
    integers cannot."""
    return len(written) == len(at) and all(
        a == b or not (sp.sympify(a).is_Integer and sp.sympify(b).is_Integer) for a, b in zip(written, at, strict=True)
    )


def component_definitions(context: Context) -> Context:
    """A definition of a whole vector by a gradient also defines each component.

    ``\\delta^l = \\frac{\\partial C}{\\partial z^l}`` where the definitions write ``z^{l+1}_j`` (z^l is a vector)
    and C is a scalar defines ``\\delta^l_k = \\frac{\\partial C}{\\partial z^l_k}`` too, unless a component
    definition of δ is already there.
    """
    shapes = _index_shapes([e for d in context.definitions for e in (d.target, d.value)])

    def longest(label: sp.Symbol) -> int:
        return max((len(t) for t in shapes.get(label, ())), default=0)

    added = []
    for d in context.definitions:
        value, target = d.value, d.target
        if not isinstance(value, sp.Derivative) or len(value.variables) != 1 or value.derivative_count != 1:
            continue
        variable, cost = value.variables[0], value.expr
        if not isinstance(cost, sp.Symbol) or cost in shapes or patterns.name_parts(variable) is None:
            continue  # the derivative of a scalar only: of a vector it is a Jacobian
        label, lead = patterns.name_parts(variable)
        if longest(label) != len(lead) + 1 or patterns.name_parts(target) is None:
            continue  # the variable is no vector
        name, head = patterns.name_parts(target)
        if longest(name) > len(head):
            continue  # the components are defined (or used) already
        k = _fresh_index([value])
        component = sp.Derivative(cost, sp.IndexedBase(label)[(*lead, k)])
        added.append(context_.Definition(sp.IndexedBase(name)[(*head, k)], component))
    return Context([*context.definitions, *added], list(context.assumptions)) if added else context


def _index_shapes(exprs: list[sp.Basic]) -> dict[sp.Symbol, set[tuple]]:
    """The indices each indexed name is written with in ``exprs``: z → {(l + 1, j), (l, j)}."""
    shapes: dict = {}
    for expr in exprs:
        for node in expr.atoms(sp.Indexed):
            shapes.setdefault(node.base.label, set()).add(tuple(node.indices))
    return shapes


def _fresh_index(exprs: list[sp.Basic]) -> sp.Symbol:
    """An index name none of ``exprs`` uses: k, else m, r, s, t, u, v."""
    used = {s.name for expr in exprs for s in expr.free_symbols}
    return sp.Symbol(next(name for name in ("k", "m", "r", "s", "t", "u", "v") if name not in used))


def _bare_symbols(expr: sp.Basic) -> set:
    """The symbols of ``expr`` used as values: not the labels or the indices of its indexed names."""
    if isinstance(expr, sp.Symbol):
        return {expr}
    if isinstance(expr, (sp.Indexed, sp.IndexedBase)):
        return set()
    if isinstance(expr, sp.Derivative):  # ∇_a C: by which a is the question, not a use of a
        return _bare_symbols(expr.expr)
    return {s for arg in expr.args for s in _bare_symbols(arg)}


def renamed(expr: sp.Basic, same: dict) -> sp.Basic:
    """``expr`` with the names of ``same`` replaced where they are values (never the label ŷ of ŷ_i)."""
    if not same or isinstance(expr, sp.IndexedBase):
        return expr
    if expr in same:
        return same[expr]
    if not expr.args:
        return expr
    return expr.func(*[renamed(arg, same) for arg in expr.args])
