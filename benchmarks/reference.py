"""Hand-written NumPy references: the best loss-and-gradient code I can write, for the benchmarks.

Same numerical care as derive's export (stable softplus and sigmoid, exact at
y ∈ {0, 1}; max-shifted softmax with the label entry summed apart), written
with in-place operations to touch memory as few times as possible.
"""

from __future__ import annotations

import numpy as np


def bce_sigmoid(z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean binary cross-entropy of sigmoid(z) and its gradient."""
    n = z.size
    e = np.exp(-np.abs(z))
    loss = np.log1p(e)
    pos = np.maximum(z, 0)
    one_minus_y = 1 - y
    loss += one_minus_y * pos
    pos -= z  # max(-z, 0)
    loss += y * pos
    positive = z >= 0
    sig = np.where(positive, 1.0, e)
    sig_c = np.where(positive, e, 1.0)
    e += 1
    sig *= one_minus_y
    sig_c *= y
    sig -= sig_c
    sig /= e
    sig /= n
    return loss.sum() / n, sig


def cross_entropy_softmax(z: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of softmax(z) with integer labels, and its gradient."""
    n = z.shape[0]
    rows = np.arange(n)
    m = z.max(axis=1, keepdims=True)
    e = z - m
    np.exp(e, out=e)
    at_label = e[rows, labels].copy()
    e[rows, labels] = 0
    others = e.sum(axis=1)
    s = others + at_label
    loss = (m[:, 0] + np.log(s) - z[rows, labels]).sum() / n
    e /= s[:, None]
    e[rows, labels] = -others / s
    e /= n
    return loss, e


def cross_entropy_softmax_plain(z: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """The textbook loop: grad = softmax(z); grad[range(N), labels] -= 1; grad /= N (less accurate at a_y ≈ 1)."""
    n = z.shape[0]
    e = z - z.max(axis=1, keepdims=True)
    np.exp(e, out=e)
    s = e.sum(axis=1, keepdims=True)
    e /= s
    rows = np.arange(n)
    loss = -np.log(e[rows, labels]).sum() / n
    e[rows, labels] -= 1
    e /= n
    return loss, e
