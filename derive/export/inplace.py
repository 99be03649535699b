"""NumPy (or PyTorch) statements that compute a loss or gradient body in a few reused buffers (``out=``).

A body printed as expressions (``value = a*np.maximum(0, z) + np.log1p(t0)``) allocates a fresh
N-sized array for every operation, and fresh memory costs page faults: at N = 10^6 in float64,
``np.exp(-np.abs(z))`` takes 4.7 ms where ``np.exp(u, out=buffer)`` takes 1.6 ms.  :func:`statements`
writes the same arithmetic as one ufunc call per operation, each writing into a buffer
that is free at that point: an intermediate whose only user is the operation, a common
subexpression after its last use, or a new ``np.empty_like(z)``.  The operations, their operands
and their order are those of the printed expression, so the rounding is the same.

Only what is known to be safe is written this way:

* every array operand has z's shape (the scalar pairs: z, y and what is computed from them), and
  every buffer has z's dtype; scalars (the parameters, numbers) broadcast;
* the caller's arrays (z, y) are never written to; a result is always a buffer of its own, never
  an alias of an input or of another result;
* a piece this module does not know (a Piecewise, a comparison, erfc, ...) is printed by the
  caller's printer as before, and its (fresh) array is read, never written.

:class:`NumPy` writes ufunc calls, :class:`Torch` the same operations as ``torch.op(..., out=)``
(the torch module's forward and backward run without autograd recording, where ``out=`` is allowed).
"""

from __future__ import annotations

import collections
import itertools
from collections.abc import Callable

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

#: SymPy function → the operation of one argument (a NumPy ufunc name), each called with ``out=``.
UNARY = {
    sp.exp: "exp",
    sp.log: "log",
    log1p: "log1p",
    expm1: "expm1",
    sp.tanh: "tanh",
    sp.sinh: "sinh",
    sp.cosh: "cosh",
    sp.Abs: "abs",
}


class NumPy:
    """How the statements are written for NumPy: ufuncs with ``out=``."""

    empty = "np.empty_like(z)"

    def call(self, operation: str, operands: list[str], scalar: list[bool], out: str) -> str:
        return f"np.{operation}({', '.join(operands)}, out={out})"

    def copy(self, text: str) -> str:
        return f"np.array({text}, dtype=z.dtype)"

    def cast(self, text: str) -> str:
        return f"np.asarray({text}, dtype=z.dtype)"


class Torch:
    """How the statements are written for PyTorch: ``torch.op(..., out=)`` on tensors of z's dtype and device.

    A scalar operand (a number, or the module's 0-d parameters) is a 0-d tensor of z's dtype,
    ``_scalar(x, z)``: torch's binary operations want a tensor first, and a 0-d tensor broadcasts.
    """

    empty = "torch.empty_like(z)"
    NAMES = {"add": "add", "subtract": "sub", "multiply": "mul", "divide": "div", "negative": "neg", "abs": "abs"}

    def call(self, operation: str, operands: list[str], scalar: list[bool], out: str) -> str:
        pairs = zip(operands, scalar, strict=True)
        arguments = [f"_scalar({text}, z)" if is_scalar else text for text, is_scalar in pairs]
        return f"torch.{self.NAMES.get(operation, operation)}({', '.join(arguments)}, out={out})"

    def copy(self, text: str) -> str:
        return f"{text}.clone()"

    def cast(self, text: str) -> str:
        return f"_like({text}, z)"


class _Operand:
    """A value of the program: ``text`` to read it, and whether this statement list may overwrite it."""

    __slots__ = ("text", "owned", "array")

    def __init__(self, text: str, owned: bool, array: bool) -> None:
        self.text, self.owned, self.array = text, owned, array


class Program:
    """Statements in reused buffers for assignments ``name = expr`` taken in order.

    ``arrays`` are the names of the inputs shaped like z (never written); ``printer`` prints what
    this module does not write itself; ``results`` are the names whose buffers are returned to the
    caller (never reused).
    """

    def __init__(
        self,
        printer: Callable[[sp.Expr], str],
        arrays: set[str],
        results: set[str],
        cast: set[str],
        recompute: set[str] = frozenset(),
        dialect: NumPy | Torch | None = None,
    ) -> None:
        self.print, self.arrays, self.results, self.cast = printer, set(arrays), set(results), set(cast)
        self.dialect = dialect or NumPy()
        self.recompute = set(recompute)
        self.again: dict[str, sp.Expr] = {}  # recomputed names → their values
        self.later: dict[str, sp.Expr] = {}  # values computed where they are first read
        self.lines: list[str] = []
        self.free: list[str] = []
        self.buffers = (f"_b{i}" for i in itertools.count())
        self.holding: dict[str, str] = {}  # name of a computed value → the buffer it lives in
        # of the assignment being written: reads left of each name, names read for the last time in it,
        # and names a printed piece reads (never overwritten before the assignment ends)
        self.remaining: dict[str, int] = {}
        self.final: set[str] = set()
        self.pinned: set[str] = set()
        # names read whose call is not written yet: their buffers must hold until it is
        self.in_flight: collections.Counter[str] = collections.Counter()

    def run(self, assignments: list[tuple[str, sp.Expr]]) -> list[str]:
        """The statements for ``assignments`` (each ``(name, expr)``, in an order where names are defined first).

        A result, or a value without arrays, is computed in its place; any other value where it is
        first read (so that fewer buffers are held at once), a recomputed one where each is read.
        """
        arrays = set(self.arrays)
        eager = []
        for name, value in assignments:
            if any(str(s) in arrays for s in value.free_symbols):
                arrays.add(name)
                eager.append(name in self.results or name in self.cast)
            else:
                eager.append(True)
        # when each value is computed: its own index if eager, else that of the first computation reading it
        when = [i if eager[i] else None for i in range(len(assignments))]
        index = {name: i for i, (name, _) in enumerate(assignments)}
        for i in reversed(range(len(assignments))):
            for s in assignments[i][1].free_symbols:
                j = index.get(str(s))
                if j is not None and not eager[j] and when[i] is not None:
                    when[j] = when[i] if when[j] is None else min(when[j], when[i])
        last_use: dict[str, int] = {}
        reads: dict[tuple[str, int], int] = {}
        for i, (name, value) in enumerate(assignments):
            if when[i] is None or name in self.recompute:
                continue
            for s in value.free_symbols:
                last_use[str(s)] = max(last_use.get(str(s), -1), when[i])
                if str(s) in index and str(s) not in self.recompute:  # (the inputs are never written)
                    reads[str(s), when[i]] = reads.get((str(s), when[i]), 0) + value.count(s)
        for i, (name, value) in enumerate(assignments):
            if name in self.recompute and self._is_array(value):
                self.again[name] = value  # computed where it is read: no buffer held in between
                self.arrays.add(name)
                continue
            if not eager[i]:
                if when[i] is not None:  # (else never read: not computed at all)
                    self.later[name] = value
                    self.arrays.add(name)
                continue
            # a value read for the last time lends its buffer to the operation that reads it
            self.remaining = {held: count for (held, at), count in reads.items() if at == i}
            self.final = {held for held in self.remaining if last_use[held] == i and held not in self.results}
            self.pinned = set()
            self.in_flight.clear()
            self._assign(name, value)
            for held, buffer in list(self.holding.items()):
                if last_use.get(held, -1) <= i and held not in self.results and held != name:
                    self.free.append(buffer)
                    del self.holding[held]
            if name in self.holding and last_use.get(name, -1) <= i and name not in self.results:
                self.free.append(self.holding.pop(name))  # computed and never used
        return self.lines

    def _materialize(self, name: str, named: bool = False) -> _Operand:
        """Compute the deferred value ``name`` where it is first read; held in its buffer if read again
        (or if ``named``: read by a printed piece, by its name)."""
        value = self.later.pop(name)
        start = len(self.lines)
        result = self._emit(value)
        if len(self.lines) > start + 1:
            self.lines.insert(start, f"# {name} = {self.print(value)}")
        if self._last_read(name) and not named:
            return result
        if result.owned:
            self.holding[name] = result.text
        self.lines.append(f"{name} = {result.text}")
        self.in_flight[name] += 1
        return _Operand(name, False, True)

    # -- one assignment -----------------------------------------------------------------------

    def _assign(self, name: str, value: sp.Expr) -> None:
        if not self._is_array(value):
            text = self.print(value)
            cast = name in self.cast
            self.lines.append(f"{name} = {self.dialect.cast(text)}" if cast else f"{name} = {text}")
            return
        start = len(self.lines)
        result = self._emit(value)
        if len(self.lines) > start:  # what the calls compute, as the printer writes it
            self.lines.insert(start, f"# {name} = {self.print(value)}")
        if result.owned:
            self.lines.append(f"{name} = {result.text}")
            self.holding[name] = result.text
        elif name in self.results and value.is_Symbol:  # an input or a shared value: a copy of its own
            self.lines.append(f"{name} = {self.dialect.copy(result.text)}")
        elif name in self.cast:  # a fresh array of the printer's
            self.lines.append(f"{name} = {self.dialect.cast(result.text)}")
        else:
            self.lines.append(f"{name} = {result.text}")
        self.arrays.add(name)

    def _is_array(self, expr: sp.Expr) -> bool:
        return any(str(s) in self.arrays for s in expr.free_symbols)

    def _new(self) -> str:
        """A buffer no value lives in: a free one, or a new one."""
        if self.free:
            return self.free.pop()
        buffer = next(self.buffers)
        self.lines.append(f"{buffer} = {self.dialect.empty}")
        return buffer

    def _buffer(self, *operands: _Operand) -> str:
        """Where an operation on ``operands`` writes: an owned operand's buffer, a free one, or a new one."""
        for operand in operands:
            if operand.owned:
                for other in operands:  # the others are read in the same call, then given back
                    if other is not operand and other.owned and other.text != operand.text:
                        self.free.append(other.text)
                return operand.text
        return self._new()

    def _call(self, ufunc: str, *operands: _Operand) -> _Operand:
        out = self._buffer(*operands)
        texts, scalar = [o.text for o in operands], [not o.array for o in operands]
        self.lines.append(self.dialect.call(ufunc, texts, scalar, out))
        self._landed(*operands)
        return _Operand(out, True, True)

    # -- expressions ------------------------------------------------------------------------------

    def _emit(self, expr: sp.Expr) -> _Operand:
        if not self._is_array(expr):
            return _Operand(self.print(expr), False, False)  # (an argument of a call: no parentheses needed)
        if expr.is_Symbol:
            name = str(expr)
            if name in self.again:
                return self._emit(self.again[name])
            if name in self.later:
                return self._materialize(name)
            if self._last_read(name) and name in self.holding:
                return _Operand(self.holding.pop(name), True, True)
            self.in_flight[name] += 1
            return _Operand(name, False, True)
        if expr.is_Add:
            return self._add(expr)
        if expr.is_Mul:
            return self._mul(expr)
        if expr.is_Pow:
            return self._pow(expr)
        if expr.func in UNARY:
            return self._call(UNARY[expr.func], self._emit(expr.args[0]))
        if expr.func in (sp.Max, sp.Min):
            name = "maximum" if expr.func is sp.Max else "minimum"
            # the printer's order: its first argument, then each of the rest
            first, *rest = expr.args
            acc = self._emit(first)
            for arg in rest:
                acc = self._call(name, acc, self._emit(arg))
            return acc
        return self._printed(expr)

    def _printed(self, expr: sp.Expr) -> _Operand:
        """``expr`` printed as before (a fresh array, read only), the names it reads defined first.

        The text runs in the line of the call that reads it, perhaps after other operands' lines:
        a name it reads keeps its buffer (is not lent to another operation) until the assignment ends.
        """
        for s in sorted(expr.free_symbols, key=str):
            name = str(s)
            if name in self.again:
                self.lines.append(f"{name} = {self.print(self.again[name])}")
                continue
            self.pinned.add(name)
            if name in self.later:
                self._materialize(name, named=True)
                self.remaining[name] += 1  # (_materialize counted this read)
            if name in self.remaining:
                self.remaining[name] -= expr.count(s)
        return _Operand(self.print(expr), False, True)

    def _last_read(self, name: str) -> bool:
        """Count one read of ``name``: whether it is the last one, after which its buffer may be reused."""
        if name not in self.remaining:
            return False
        self.remaining[name] -= 1
        if self.remaining[name] < 0:
            raise RuntimeError(f"derive: {name} read more often than counted (a bug in derive.export.inplace)")
        return (
            self.remaining[name] == 0
            and name in self.final
            and name not in self.pinned
            and not self.in_flight[name]  # (an earlier read whose call comes after this one's)
        )

    def _landed(self, *operands: _Operand) -> None:
        """The call reading ``operands`` is written: they are no longer in flight."""
        for operand in operands:
            if self.in_flight[operand.text]:
                self.in_flight[operand.text] -= 1

    def _add(self, expr: sp.Add) -> _Operand:
        """The terms in the printer's order, left to right: ``a - b + c`` as ((a − b) + c)."""
        acc = None
        for term in expr.as_ordered_terms():
            negative = term.as_coeff_Mul()[0].is_negative
            operand = self._emit(-term if negative else term)
            if acc is None:
                acc = self._call("negative", operand) if negative else operand
            else:
                acc = self._call("subtract" if negative else "add", acc, operand)
        return acc

    def _mul(self, expr: sp.Mul) -> _Operand:
        coefficient, rest = expr.as_coeff_Mul()
        if coefficient == -1:
            return self._call("negative", self._emit(rest))
        numerator, denominator = [], []
        for factor in expr.as_ordered_factors():
            base, exponent = factor.as_base_exp()
            if exponent.is_Integer and exponent < 0 and self._is_array(base):
                denominator.append(base**-exponent)
            else:
                numerator.append(factor)
        scalars = [f for f in numerator if not self._is_array(f)]
        arrays = [f for f in numerator if self._is_array(f)]
        parts = ([sp.Mul(*scalars)] if scalars else []) + arrays
        if not parts:
            acc = _Operand("1", False, False)
        else:
            acc = self._emit(parts[0])
            for factor in parts[1:]:
                acc = self._call("multiply", acc, self._emit(factor))
        if denominator:  # the printer's a*b/(c*d)
            acc = self._call("divide", acc, self._emit(sp.Mul(*denominator)))
        return acc

    def _pow(self, expr: sp.Pow) -> _Operand:
        base, exponent = expr.args
        if exponent.is_Integer and 2 <= int(exponent) <= 4:  # x*x*x: NumPy's pow is 3-5 times a multiply
            x = self._emit(base)
            if int(exponent) == 2:
                return self._call("multiply", x, x)
            acc = self._new()
            self.lines.append(self.dialect.call("multiply", [x.text, x.text], [False, False], acc))
            for _ in range(int(exponent) - 2):
                self.lines.append(self.dialect.call("multiply", [acc, x.text], [False, False], acc))
            self._landed(x)
            if x.owned:
                self.free.append(x.text)
            return _Operand(acc, True, True)
        if exponent.is_Integer and exponent < 0:
            return self._call("divide", _Operand("1", False, False), self._emit(base ** (-exponent)))
        if exponent == sp.S.Half:
            return self._call("sqrt", self._emit(base))
        return self._printed(expr)


def _sign_choice(piecewise: sp.Piecewise) -> tuple[sp.Expr, sp.Expr, bool] | None:
    """(u, k, ones_first) when ``piecewise`` is Piecewise((1, u ≥ 0), (e^{−k|u|}, True)) (ones_first) or
    Piecewise((e^{−k|u|}, u ≥ 0), (1, True)), k > 0 a number; None otherwise."""
    if len(piecewise.args) != 2 or piecewise.args[1].cond is not sp.true:
        return None
    (first, condition), (second, _) = piecewise.args
    if not (isinstance(condition, sp.GreaterThan) and condition.rhs == 0):
        return None
    u = condition.lhs
    for ones_first, one, exponential in ((True, first, second), (False, second, first)):
        if one != 1 or not isinstance(exponential, sp.exp):
            continue
        k, rest = sp.Mul(*sp.Mul.make_args(exponential.args[0])).as_coeff_Mul()
        if k.is_negative and rest == sp.Abs(u):
            return u, -k, ones_first
    return None


def mask_free(exprs: list[sp.Expr]) -> list[sp.Expr]:
    """``exprs`` with the sign choices of the stable sigmoid written without a mask.

    With P = e^{k·min(u, 0)} and Q = e^{−k·max(u, 0)}: Piecewise((1, u ≥ 0), (e^{−k|u|}, True)) is P,
    Piecewise((e^{−k|u|}, u ≥ 0), (1, True)) is Q, and e^{−k|u|} is P·Q.  In floating point too, bit for
    bit: one of P and Q is e^0 = 1 exactly and the other is the exponential of the same number
    (k·u = −k·|u| for u < 0, the negation being exact).  Two ``np.exp`` and a product cost about half
    of the two ``np.where(mask, ...)`` they replace (each about seven additions) with the mask and
    the ``np.abs``.  Applied only where such a choice occurs: alone, e^{−k|u|} is one exponential.
    """
    choices = {}
    for expr in exprs:
        for piecewise in expr.atoms(sp.Piecewise):
            found = _sign_choice(piecewise)
            if found is not None:
                choices[piecewise] = found
    if not choices:
        return list(exprs)
    replace = {}
    for piecewise, (u, k, ones_first) in choices.items():
        low, high = sp.exp(k * sp.Min(u, 0)), sp.exp(-k * sp.Max(u, 0))
        replace[piecewise] = low if ones_first else high
        replace[sp.exp(-k * sp.Abs(u))] = low * high
    out = []
    for expr in exprs:
        # the choices first (their e^{−k|u|} is inside them), then the exponentials left
        expr = expr.xreplace({p: r for p, r in replace.items() if isinstance(p, sp.Piecewise)})
        out.append(expr.replace(lambda e: isinstance(e, sp.exp) and e in replace, lambda e: replace[e]))
    return out


def statements(
    assignments: list[tuple[str, sp.Expr]],
    printer: Callable[[sp.Expr], str],
    arrays: set[str],
    results: set[str],
    cast: set[str],
    recompute: set[str] = frozenset(),
    dialect: NumPy | Torch | None = None,
) -> list[str]:
    """The lines of :class:`Program` for ``assignments``: the same values, written into reused buffers.

    ``cast`` are the results that must have z's dtype whatever the printer's piece returns;
    ``recompute`` names cheap values (1 − y: one operation on the inputs) computed again where each
    is read, the same operation giving the same numbers, instead of held in a buffer between reads.
    """
    return Program(printer, arrays, results, cast, recompute, dialect).run(assignments)
