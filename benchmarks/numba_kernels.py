"""Fused single-pass numba kernels of the benchmark's losses: what a ``--backend numba`` would write.

Each loop reads z and y once and writes the gradient once (the memory-traffic minimum), with the
same stable forms as derive's export (E = e^{−|z|}, ((1 − y)·P − y·Q)/(1 + E), the label entry of
the softmax summed apart).  Compiled once per dtype at the first call; single thread, no fastmath
(derive's forms are proven for IEEE arithmetic, which fastmath gives up).  The loops call libm's
exp and log1p one element at a time (numba here has no SVML vector maths), and with float32 inputs
the float64 literals promote the arithmetic to float64: what a numba backend written the plain way
gets.  Imported by bench_numeric.py only when numba is installed.
"""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(cache=False)
def bce_sigmoid(z, y):
    n = z.size
    out = np.empty_like(z)
    total = 0.0
    for i in range(n):
        zi, yi = z[i], y[i]
        e = math.exp(-abs(zi))
        total += (1 - yi) * max(zi, 0.0) + yi * max(-zi, 0.0) + math.log1p(e)
        p, q = (1.0, e) if zi >= 0 else (e, 1.0)
        out[i] = ((1 - yi) * p - yi * q) / (1 + e) / n
    return total / n, out


@numba.njit(cache=False)
def quadratic_sigmoid(z, y):
    n = z.size
    out = np.empty_like(z)
    total = 0.0
    for i in range(n):
        zi, yi = z[i], y[i]
        e = math.exp(-abs(zi))
        p, q = (1.0, e) if zi >= 0 else (e, 1.0)
        r = ((1 - yi) * p - yi * q) / (1 + e)
        total += 0.5 * r * r
        out[i] = r * e / ((1 + e) * (1 + e)) / n
    return total / n, out


@numba.njit(cache=False)
def cross_entropy_softmax(z, labels):
    n, k = z.shape
    out = np.empty_like(z)
    total = 0.0
    for i in range(n):
        c = labels[i]
        m = z[i, 0]
        for j in range(1, k):
            m = max(m, z[i, j])
        others = 0.0
        for j in range(k):
            e = math.exp(z[i, j] - m)
            out[i, j] = e
            if j != c:
                others += e
        s = others + out[i, c]
        total += m + math.log(s) - z[i, c]
        for j in range(k):
            out[i, j] = out[i, j] / s / n
        out[i, c] = -others / s / n
    return total / n, out


KERNELS = {"bce": bce_sigmoid, "quadratic": quadratic_sigmoid, "cross_entropy": cross_entropy_softmax}
