"""derive.export.inplace against the plain printed expressions, on random programs with shared values.

The module's bodies are checked through the exported modules (test_export.py); here the buffer
bookkeeping itself is stressed: random expressions with common subexpressions read several times,
in one assignment and across assignments, deferred values, recomputed shifts, integer powers and
printed pieces (np.where) between them.  A buffer lent too early shows as a wrong number.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import sympy as sp
from sympy.codegen.cfunctions import log1p

from derive.export import codegen, inplace, stable

z, y = sp.symbols("z y", real=True)
one_minus_y = stable.ONE_MINUS_Y


def _random_expr(rng: random.Random, depth: int, leaves: list[sp.Expr]) -> sp.Expr:
    if depth == 0 or rng.random() < 0.2:
        return rng.choice(leaves + [sp.Integer(rng.randint(1, 3)), sp.Rational(1, 2)])
    a = _random_expr(rng, depth - 1, leaves)
    b = _random_expr(rng, depth - 1, leaves)
    kind = rng.randrange(11)
    return [
        lambda: a + b,
        lambda: a - b,
        lambda: a * b,
        lambda: a / (1 + b * b),
        lambda: sp.exp(-sp.Abs(a)),
        lambda: log1p(sp.Abs(a)),
        lambda: sp.Max(a, 0) + sp.Min(b, 1),
        lambda: a**2 - b**3,
        lambda: sp.Piecewise((a, z >= 0), (b, True)),
        lambda: sp.sqrt(1 + a * a),
        lambda: a * (2 + b) ** -2,
    ][kind]()


def _program(seed: int) -> tuple[list[tuple[str, sp.Expr]], list[str]]:
    rng = random.Random(seed)
    leaves = [z, y, one_minus_y]
    shared = [_random_expr(rng, 2, leaves) for _ in range(3)]
    exprs = [_random_expr(rng, 3, leaves + shared) for _ in range(rng.randint(1, 3))]
    results = ["value", "out", "extra"][: len(exprs)]
    replacements, reduced = sp.cse(exprs, symbols=sp.numbered_symbols("t"), optimizations="basic")
    pending = [(str(name), value) for name, value in replacements] + list(zip(results, reduced, strict=True))
    return [(str(one_minus_y), 1 - y)] + pending, results


@pytest.mark.parametrize("seed", range(200))
def test_buffers_give_the_numbers_of_the_printed_expressions(seed):
    program, results = _program(seed)
    printer = codegen._Printer()
    lines = inplace.statements(program, printer.doprint, {"z", "y"}, set(results), {"out"}, {str(one_minus_y)})
    plain = [f"{name} = {printer.doprint(value)}" for name, value in program]
    rng = np.random.default_rng(seed)
    zs, ys = rng.normal(scale=3, size=64), rng.random(64)
    zs[:4] = [0.0, -0.0, 1e-300, -50.0]
    got: dict = {"np": np, "z": zs.copy(), "y": ys.copy()}
    want: dict = {"np": np, "z": zs.copy(), "y": ys.copy()}
    with np.errstate(all="ignore"):
        exec("\n".join(lines), got)  # noqa: S102
        exec("\n".join(plain), want)  # noqa: S102
    np.testing.assert_array_equal(got["z"], zs)
    np.testing.assert_array_equal(got["y"], ys)
    for name in results:
        expected = np.broadcast_to(want[name], zs.shape)
        np.testing.assert_allclose(got[name], expected, rtol=1e-13, atol=0, equal_nan=True, err_msg=name)
        for other in results:
            if other != name:
                assert not np.shares_memory(got[name], got[other]), (name, other)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "expr",
    [stable.SIGMOID, stable.SIGMOID_C, stable.SIGMOID_2, stable.SIGMOID_2C, log1p(stable.E) + stable.SIGMOID],
    ids=["sigmoid", "sigmoid_c", "sigmoid_2", "sigmoid_2c", "softplus_and_sigmoid"],
)
def test_mask_free_sign_choices_give_the_same_bits(expr, dtype):
    """e^{k·min(z, 0)} and e^{−k·max(z, 0)} for the np.where choices, their product for e^{−k|z|}: bit for bit."""
    (rewritten,) = inplace.mask_free([expr])
    assert not rewritten.has(sp.Piecewise)
    printer = codegen._Printer()
    sweep = np.concatenate([[0.0, -0.0, 1e-300, -1e-300], np.geomspace(1e-8, 1e4, 300)])
    zs = np.concatenate([sweep, -sweep]).astype(dtype)
    with np.errstate(all="ignore"):
        before = eval(printer.doprint(expr), {"np": np, "z": zs})  # noqa: S307
        after = eval(printer.doprint(rewritten), {"np": np, "z": zs})  # noqa: S307
    np.testing.assert_array_equal(after, before)


def test_mask_free_leaves_a_lone_exponential_alone():
    """Without a sign choice, e^{−|z|} stays one exponential (P·Q would be two)."""
    assert inplace.mask_free([log1p(stable.E)]) == [log1p(stable.E)]
