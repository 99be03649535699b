"""Definitions substituted and derivatives taken, under one instantiation of a step.

``∂A/∂v`` is taken after expanding A up to, not through, v.  A derivative of a
quantity no definition determines stays *opaque*: a symbol of its own, never 0
(``Derivative(C, a).doit()`` would be 0) — unless v is used by definitions
(``a = \\sigma(z)``, ``z^{l+1}_k = \\sum_j w^{l+1}_{kj} a^l_j + b^{l+1}_k``): then the
undefined C is taken to depend on v only through them, and the chain rule gives
``∂C/∂v`` in terms of the opaque derivatives of C by the quantities nothing uses
(:mod:`.downstream`).

Definitions that lead back to themselves (layers: ``z^l`` uses ``a^{l-1}``, which
uses ``z^{l-1}``) apply only to the layers the step mentions (:func:`.patterns.layer_positions`):
the network of one instantiation runs from the lowest of them, whose inputs are the
layer below, to the highest, whose activations an undefined cost depends on.  The
recursion ends, and the model is a network of its own: an identity of the chain rule
holds for it as for any depth.
"""

from __future__ import annotations

import sympy as sp
from sympy.core.function import AppliedUndef

from derive.errors import Undecidable
from derive.verification import context as context_
from derive.verification import downstream, instances, patterns

MAX_DEPTH = 40  # definitions expanded inside one another
HEADROOM = 2  # a recursive definition applies up to index size + HEADROOM
#: the names of a model's own quantities (DESIGN.md notation): an undefined target y depends on none of them
MODEL_NAMES = frozenset({"yhat", "a", "z", "w", "W", "b", "theta", "o", "p", "q", "h"})
#: parameters (DESIGN.md notation): an undefined one depends on nothing but itself
PARAMETER_NAMES = frozenset({"w", "W", "b", "theta"})


class Resolver:
    """Substitutes definitions and differentiates, under one instantiation."""

    def __init__(self, context: context_.Context, values: dict, sides: tuple = ()) -> None:
        """``sides``: the step's two sides, instantiated; the layers they mention bound the network."""
        self.context = context
        self.values = values
        self.opaque: dict[sp.Symbol, sp.Basic] = {}  # opaque symbol -> the node it stands for
        self._opaque_by_node: dict[sp.Basic, sp.Symbol] = {}
        self._recursive = context.recursive()
        self._rebound = {key[1] for key in context.heads() if key[0] == "call"}
        self.layers = patterns.layer_positions(context.definitions) if self._recursive else {}
        self.floor, self.top = self._frame(sides)
        self._memo: dict = {}
        self.graph = downstream.Graph(self)
        self.rules: list[tuple[sp.Expr, sp.Expr]] = []  # assumed equalities, set by the step's check
        self.chained: set = set()  # (cost, variable) whose derivative the chain rule gave

    def opaque_symbol(self, node: sp.Basic) -> sp.Symbol:
        """The symbol that stands for ``node``, a quantity nothing determines."""
        key = self._opaque_key(node)
        if key not in self._opaque_by_node:
            symbol = sp.Symbol(f"⟨{node}⟩")
            self._opaque_by_node[key] = symbol
            self.opaque[symbol] = node
        return self._opaque_by_node[key]

    def _opaque_key(self, node: sp.Basic) -> object:
        """What an opaque quantity is: ``f'`` of an undefined f at a value, however it was reached.

        ``∂f(z_j)/∂z_j`` (the derivative by a named z_j) and ``f'(\\sum_k w_{jk} a_k + b_j)`` (the chain
        rule through z_j's definition, a ``Subs``) are one quantity: f' at z_j's value.
        """
        if isinstance(node, sp.Subs) and len(node.variables) == 1 and isinstance(node.expr, sp.Derivative):
            inner = node.expr
            if _one_argument_call(inner.expr) and inner.variables == (node.variables[0],) == inner.expr.args:
                return ("derivative at", inner.expr.func, inner.derivative_count, node.point[0])
        if isinstance(node, sp.Derivative) and _one_argument_call(node.expr) and len(set(node.variables)) == 1:
            at = node.expr.args[0]
            if node.variables[0] == at and isinstance(at, (sp.Symbol, sp.Indexed)):
                try:
                    value = self.resolve(at)
                except Undecidable:
                    return node
                return ("derivative at", node.expr.func, node.derivative_count, value)
        return node

    def _frame(self, sides: tuple) -> tuple[int, int]:
        """The lowest and highest layer the sides mention (1 and size + HEADROOM if none)."""
        mentioned = self.layer_values(sides)
        if mentioned:
            return min(mentioned), max(mentioned)
        return 1, int(self.values.get(instances.SIZE, 3)) + HEADROOM

    def layer_values(self, exprs) -> list[int]:
        """The integer layer indices of the indexed names in ``exprs``."""
        found = []
        for expr in exprs:
            for atom in expr.atoms(sp.Indexed):
                for p in self.layers.get(atom.base.label, ()):
                    if p < len(atom.indices) and atom.indices[p].is_Integer:
                        found.append(int(atom.indices[p]))
        return found

    def lookup(self, node: sp.Basic) -> context_.Match | None:
        """The definition of ``node`` under this instantiation (recursive ones only inside the frame)."""
        found = self.context.lookup(node)
        if found is None or not isinstance(node, sp.Indexed):
            return found
        recursive = patterns.head(found.definition.target) in self._recursive
        if recursive and any(not self.floor <= layer <= self.top for layer in self.layer_values([node])):
            return None  # below the frame it is an input, above it nothing uses it
        return found

    def value(
        self, found: context_.Match, depth: int = 0, stop: sp.Basic | None = None, resolved: bool = True
    ) -> sp.Basic:
        """The definition's value for the node it was found for (its arguments resolved unless not
        ``resolved``; the value itself is not)."""
        binding = found.binding
        if resolved and not isinstance(found.definition.target, sp.Indexed):
            symbols = {k: self.resolve(v, stop, depth) for k, v in binding.symbols.items()}
            replace = {k: self.resolve(v, stop, depth) for k, v in binding.replace.items()}
        elif resolved:  # an index is a position, never a quantity: L in a^{(L)} is not the loss L
            symbols = binding.symbols
            replace = {k: self.resolve(v, stop, depth) for k, v in binding.replace.items()}
        else:
            symbols, replace = binding.symbols, binding.replace
        value = found.definition.value.xreplace(replace) if replace else found.definition.value
        value = instances.instantiate(value, {**self.values, **symbols})
        for lhs, rhs in self.rules:  # assumed equalities (x w = Σ_k x_k w_k) inside what definitions give
            value = value.subs(lhs, rhs)
        return value

    def resolve(self, expr: sp.Basic, stop: sp.Basic | None = None, depth: int = 0) -> sp.Basic:
        """``expr`` with every definition substituted and every derivative taken (not past ``stop``)."""
        if stop is not None and expr == stop:
            return expr
        if isinstance(expr, (sp.Symbol, sp.Indexed)) or patterns.is_call(expr):
            named = self._name(expr, stop, depth)
            if named is not None:
                return named
        if isinstance(expr, sp.Derivative):
            return self.derivative(expr, stop, depth)
        if isinstance(expr, sp.Subs):
            inner = self.resolve(expr.expr, None, depth)
            point = [self.resolve(p, stop, depth) for p in expr.point]
            return inner.xreplace(dict(zip(expr.variables, point, strict=True)))
        if not expr.args or isinstance(expr, sp.IndexedBase):
            return expr
        return _rebuilt(expr, [self.resolve(arg, stop, depth) for arg in expr.args])

    def _name(self, expr: sp.Basic, stop: sp.Basic | None, depth: int) -> sp.Basic | None:
        """A name's definition, resolved in turn; None for a catalog call nothing redefines."""
        key = (expr, stop)
        if key in self._memo:
            return self._memo[key]
        if depth > MAX_DEPTH:
            raise Undecidable("the definitions are circular (or nested too deeply)")
        found = self.lookup(expr)
        if found is not None:
            result = self.resolve(self.value(found, depth, stop), stop, depth + 1)
        elif isinstance(expr, AppliedUndef):
            result = expr.func(*[self.resolve(a, stop, depth) for a in expr.args])
        elif patterns.is_call(expr) and expr.func in self._rebound:
            # σ redefined for this document, called where its pattern does not fit: unknown
            result = self.opaque_symbol(expr.func(*[self.resolve(a, stop, depth) for a in expr.args]))
        elif patterns.is_call(expr):
            return None
        else:
            result = expr
        self._memo[key] = result
        return result

    def derivative(self, expr: sp.Derivative, stop: sp.Basic | None, depth: int) -> sp.Basic:
        """``∂A/∂v``: A expanded up to v, then differentiated; opaque where A does not show v."""
        result = expr.expr
        for variable, count in expr.variable_count:
            body = self.resolve(result, variable, depth)
            if not _shows(body, variable):
                body = self._folded(body, variable, depth)
            component = self._component_of(variable, (result, body))
            if component is not None:
                raise Undecidable(
                    f"{variable} is a vector here ({component} is one of its components): a derivative by a "
                    f"whole vector (a gradient) is not checked; write it per component"
                )
            if not _shows(body, variable):
                if not body.free_symbols and not body.atoms(AppliedUndef):
                    return sp.S.Zero
                if count != 1 or len(expr.variable_count) != 1:
                    return self.opaque_symbol(expr)
                return self._through_unknowns(body, variable, stop, depth, expr)
            if body.free_symbols & set(self.opaque):
                return self.opaque_symbol(expr)  # an opaque quantity may itself depend on the variable
            # what the differentiation leaves unevaluated (∂L/∂ŷ of an undefined L) is opaque
            result = self._opaque_derivatives(sp.diff(body, variable, count))
        return self.resolve(result, stop, depth)

    def _folded(self, body: sp.Basic, variable: sp.Basic, depth: int) -> sp.Basic:
        """``body`` with the value of a defined ``variable`` written as the variable, when that is all of it.

        ``\\hat y = g(\\mathbf{x}\\mathbf{w} + b)`` and ``z = \\sum_k x_k w_k + b``: ∂ŷ/∂z is g'(z).  Only when
        every quantity of z's value is gone from the body afterwards (the body is a function of z alone);
        otherwise the body is left as it was.
        """
        if not isinstance(variable, (sp.Symbol, sp.Indexed)) or self.lookup(variable) is None:
            return body
        value = self.resolve(variable, None, depth)
        if value == variable or not value.free_symbols or value.is_Atom:
            return body
        folded = body.subs(value, variable)
        if folded == body or folded.free_symbols & value.free_symbols:
            return body
        return folded

    def _component_of(self, variable: sp.Basic, exprs: tuple) -> sp.Indexed | None:
        """A component of ``variable`` when the document uses it as a vector: a_j or a^L_j for a,
        z^L_j for z^L (in ``exprs`` or as a definition's target); None for a scalar variable."""
        parts = patterns.name_parts(variable)
        if parts is None:
            return None
        label, lead = parts
        for expr in exprs:
            for node in sorted(expr.atoms(sp.Indexed), key=str):
                if node.base.label == label and len(node.indices) > len(lead) and node.indices[: len(lead)] == lead:
                    return node
        for definition in self.context.definitions:  # a pattern: z^l_j covers z^L
            target = definition.target
            if isinstance(target, sp.Indexed) and target.base.label == label and len(target.indices) > len(lead):
                return target
        return None

    def _opaque_derivatives(self, expr: sp.Basic) -> sp.Basic:
        left = [node for node in expr.atoms(sp.Derivative, sp.Subs)]
        return expr.xreplace({node: self.opaque_symbol(node) for node in left}) if left else expr

    def _through_unknowns(self, body: sp.Basic, variable: sp.Basic, stop, depth: int, expr: sp.Derivative) -> sp.Basic:
        """``∂body/∂v`` of a body that does not show v: the chain rule through what no definition determines.

        Each undetermined quantity u of the body (an undefined C, an input y_i, a call h(x)) may depend on
        v in a way no definition says: ``∂body/∂v = Σ_u ∂body/∂u · ∂u/∂v``, with ``∂u/∂v`` from the
        definitions that use v (:mod:`.downstream`) or opaque.  Other components of v's own vector
        (e^{o_3} by o_2) are independent of it.
        """
        if body.atoms(sp.Derivative, sp.Subs) or body.free_symbols & set(self.opaque):
            return self.opaque_symbol(expr)
        unknowns = sorted(_unknowns(body), key=str)
        total = []
        for unknown in unknowns:
            if isinstance(unknown, sp.Indexed) and isinstance(variable, sp.Indexed) and unknown.base == variable.base:
                continue  # another component of the same vector
            local = sp.Dummy()
            outer = self._opaque_derivatives(sp.diff(body.xreplace({unknown: local}), local).xreplace({local: unknown}))
            total.append(outer * self._unknown_derivative(unknown, variable, stop, depth))
        return sp.Add(*total)

    def _unknown_derivative(self, unknown: sp.Basic, variable: sp.Basic, stop, depth: int) -> sp.Basic:
        """``∂u/∂v`` of an undetermined u: through the definitions that use v, or opaque.

        An undefined target y (y_i, y^{(i)}) is data: it depends on no quantity of the model
        (ŷ, a, z, w, b, θ, o, p); by anything else (``dy/dx`` of calculus) it stays opaque.
        """
        if _name_of(unknown) == "y" and _name_of(variable) in MODEL_NAMES:
            return sp.S.Zero
        if _name_of(unknown) in PARAMETER_NAMES and unknown != variable:
            return sp.S.Zero  # an undefined weight or bias is a parameter of its own
        if self._below_frame(unknown, variable):
            return sp.S.Zero
        if isinstance(unknown, (sp.Symbol, sp.Indexed)):
            chained = self.graph.cost_derivative(unknown, variable)
            if chained is not None:
                self.chained.add((unknown, variable))
                return self.resolve(chained, stop, depth)
        return self.opaque_symbol(sp.Derivative(unknown, variable, evaluate=False))

    def _below_frame(self, unknown: sp.Basic, variable: sp.Basic) -> bool:
        """Whether ``unknown`` is a network input below the frame and ``variable`` in it: a^0_k by b^1_j.

        A feedforward layer depends on the layers below it only: what is below the lowest layer the step
        mentions depends on nothing of that layer or above.
        """
        if not self.layers or not isinstance(unknown, sp.Indexed) or not isinstance(variable, sp.Indexed):
            return False
        below, at = self.layer_values([unknown]), self.layer_values([variable])
        return bool(below) and bool(at) and max(below) < self.floor <= min(at)

    def finish(self, expr: sp.Basic) -> sp.Basic:
        """Everything left that cannot be evaluated becomes an opaque symbol."""

        def replace(node: sp.Basic) -> sp.Basic:
            if isinstance(node, (sp.Derivative, sp.Subs, AppliedUndef)):
                return self.opaque_symbol(node)
            if not node.args or isinstance(node, sp.IndexedBase):
                return node
            return _rebuilt(node, [replace(arg) for arg in node.args])

        return replace(expr)


def _rebuilt(node: sp.Basic, args: list) -> sp.Basic:
    """``node`` with new ``args``; ``node`` itself when none changed.

    Rebuilding evaluates again: a Max(0, z) of a long z costs milliseconds in SymPy's ordering of its
    arguments, and the resolver walks every node of every step (huber ∘ ELU: 2.7 s of 6.5).
    """
    if all(new is old for new, old in zip(args, node.args, strict=True)):
        return node
    return node.func(*args)


def _one_argument_call(node: sp.Basic) -> bool:
    """An undefined function of one argument: ``f^{(L)}(z)``, ``g(x)``."""
    return isinstance(node, AppliedUndef) and len(node.args) == 1


def _unknowns(body: sp.Basic) -> set:
    """The undetermined quantities of a resolved body: symbols, indexed names, calls of undefined functions."""
    found: set = set()
    todo = [body]
    while todo:
        node = todo.pop()
        if isinstance(node, (sp.Symbol, sp.Indexed, AppliedUndef)):
            found.add(node)
        elif not isinstance(node, sp.IndexedBase):
            todo.extend(arg for arg in node.args if isinstance(arg, sp.Basic))
    return found


def _shows(body: sp.Basic, variable: sp.Basic) -> bool:
    """Whether ``body`` holds ``variable`` as a value (the label z of z[3] is no value of z)."""
    if not body.has(variable):
        return False
    if not isinstance(variable, sp.Symbol):
        return True
    hidden = body.xreplace({ix: sp.S.One for ix in body.atoms(sp.Indexed) if ix.base.label == variable})
    return hidden.has(variable)


def _name_of(node: sp.Basic) -> str | None:
    """The name of a symbol or an indexed name (y of y_i), else None."""
    if isinstance(node, sp.Symbol):
        return node.name
    if isinstance(node, sp.Indexed):
        return str(node.base.label)
    return None
