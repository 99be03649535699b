"""Source templates of cross-entropy ∘ softmax with the derivation's options (label smoothing ε, class weights ω).

Filled in by ``derive.export.codegen`` after the shared softmax parts of ``derive.export.module_templates``.
The forms are those of ``derive.export.stable.softmax_forms`` with ω and the smoothed targets
ỹ = (1 − ε)·y + ε/K (K = z.shape[1]; integer labels are one-hot first):

    C_n = Σ_k ω_k ỹ_k (logsumexp(z) − z_k),   ∂C_n/∂z_j = a_j Σ_k ω_k ỹ_k − ω_j ỹ_j

with logsumexp(z) − z_k = (max z − z_k) + ln Σ_k e^{z_k − max z}, a sum of two terms ≥ 0.  For labels c
the gradient is split as (1 − ε)·ω_c·(a − onehot(c)) + (ε/K)·(a Σ_k ω_k − ω), and a_c − 1 = −Σ_{k≠c} a_k
as in the plain form, so ε = 0 and ω = 1 give the plain cross-entropy exactly.  ``{signature}`` is the
keyword-only parameters (``, *, label_smoothing`` …), ``{arguments}`` the same names passed on, and
``{epsilon}``, ``{weights}`` the lines that set ε and ω.  Braces are doubled where ``str.format`` must
leave them.
"""

# ruff: noqa: E501

#: ε from the keyword ``label_smoothing`` (a symbolic ε in the derivation).
NUMPY_SMOOTHING = '''

def _label_smoothing(value, dtype):
    """ε from the keyword label_smoothing: one real number in [0, 1)."""
    eps = np.asarray(value)
    if eps.ndim != 0 or eps.dtype.kind not in "iuf" or not 0 <= eps < 1:
        raise ValueError(f"label_smoothing must be a number in [0, 1), not {{value!r}}")
    return dtype.type(eps)
'''

#: ω from the keyword ``class_weights``.
NUMPY_WEIGHTS = '''

def _class_weights(value, z):
    """ω from the keyword class_weights: one finite weight >= 0 per class, shape (K,)."""
    weights = np.asarray(value)
    if weights.shape != (z.shape[1],) or weights.dtype.kind not in "iuf":
        raise ValueError(f"class_weights must be {{z.shape[1]}} numbers, shape ({{z.shape[1]}},), not {{value!r}}")
    weights = weights.astype(z.dtype)
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise ValueError("class_weights must be finite and >= 0")
    return weights
'''

NUMPY_CE = '''

def _options(z{parameters}):
    """(ε, ω) in the dtype of z."""
    {epsilon}
    {weights}
    return epsilon, weights


def _loss_values(z, y, m, s, epsilon, weights):
    """Σ_k ω_k ỹ_k (logsumexp(z) − z_k) per sample; m = max z and s = Σ_k e^{{z_k − m}}, shape (N, 1)."""
    gap = m - z
    gap += np.log(s)  # logsumexp(z) − z_k, both terms >= 0
    if y.ndim == 1:
        at_label = weights[y] * gap[np.arange(z.shape[0]), y]
        return (1 - epsilon) * at_label + (epsilon / z.shape[1]) * (gap @ weights)
    targets = (1 - epsilon) * y + epsilon / z.shape[1]
    targets *= weights
    return np.einsum("nk,nk->n", targets, gap)


def _grad_values(z, y, m, epsilon, weights):
    """(a_j Σ_k ω_k ỹ_k − ω_j ỹ_j, s); labels c: (1 − ε) ω_c (a − onehot(c)) + (ε/K)(a Σ_k ω_k − ω)."""
    if y.ndim == 1:
        rows = np.arange(z.shape[0])
        e, others, s = _softmax_without_label(z, y, m)
        e /= s
        uniform = e * weights.sum()
        uniform -= weights
        uniform *= epsilon / z.shape[1]
        e[rows, y] = -others[:, 0] / s[:, 0]  # a_c − 1 = −Σ_{{k≠c}} a_k, no cancellation
        e *= (1 - epsilon) * weights[y][:, None]
        e += uniform
        return e, s
    e, s = _softmax(z, m)
    targets = (1 - epsilon) * y + epsilon / z.shape[1]
    targets *= weights
    e *= targets.sum(axis=1, keepdims=True) / s
    e -= targets
    return e, s


def loss(z, y, reduction="mean"{signature}):
    """Σ_k ω_k ỹ_k (logsumexp(z) − z_k) per sample, ỹ = (1 − ε)·y + ε/K (labels one-hot first)."""
    z, y = _inputs(z, y, reduction)
    epsilon, weights = _options(z{arguments})
    m = _row_max(z)
    _, s = _softmax(z, m)
    return _reduce(_loss_values(z, y, m, s, epsilon, weights), reduction)


def grad(z, y, reduction="mean"{signature}):
    """a_j Σ_k ω_k ỹ_k − ω_j ỹ_j, with a = softmax(z); reduction="mean" divides by N."""
    z, y = _inputs(z, y, reduction)
    epsilon, weights = _options(z{arguments})
    out, _ = _grad_values(z, y, _row_max(z), epsilon, weights)
    if reduction == "mean":
        out /= out.dtype.type(z.shape[0])
    return out


def loss_and_grad(z, y, reduction="mean"{signature}):
    """(loss, grad) sharing exp(z − max z) and its row sums."""
    z, y = _inputs(z, y, reduction)
    epsilon, weights = _options(z{arguments})
    m = _row_max(z)
    out, s = _grad_values(z, y, m, epsilon, weights)
    value = _loss_values(z, y, m, s, epsilon, weights)
    if reduction == "mean":
        out /= out.dtype.type(z.shape[0])
    return _reduce(value, reduction), out
'''

#: ε from the keyword ``label_smoothing``, in the JAX module.
JAX_SMOOTHING = '''

def _label_smoothing(value, dtype):
    """ε from the keyword label_smoothing: one real number in [0, 1)."""
    try:
        eps = jnp.asarray(value)
    except (TypeError, ValueError):  # jnp.asarray refuses None and strings
        eps = None
    if eps is None or eps.ndim != 0 or eps.dtype.kind not in "iuf" or not 0 <= float(eps) < 1:
        raise ValueError(f"label_smoothing must be a number in [0, 1), not {{value!r}}")
    return eps.astype(dtype)
'''

JAX_WEIGHTS = '''

def _class_weights(value, z):
    """ω from the keyword class_weights: one finite weight >= 0 per class, shape (K,)."""
    try:
        weights = jnp.asarray(value)
    except (TypeError, ValueError):  # jnp.asarray refuses None and strings
        weights = None
    if weights is None or weights.shape != (z.shape[1],) or weights.dtype.kind not in "iuf":
        raise ValueError(f"class_weights must be {{z.shape[1]}} numbers, shape ({{z.shape[1]}},), not {{value!r}}")
    weights = weights.astype(z.dtype)
    if _fails(~jnp.isfinite(weights).all()) or _fails((weights < 0).any()):
        raise ValueError("class_weights must be finite and >= 0")
    return weights
'''

JAX_CE = '''

def _options(z{parameters}):
    """(ε, ω) in the dtype of z."""
    {epsilon}
    {weights}
    return epsilon, weights


@functools.partial(jax.jit, static_argnames="reduction")
def _loss(z, y, epsilon, weights, reduction):
    m = z.max(axis=1, keepdims=True)
    gap = (m - z) + jnp.log(jnp.exp(z - m).sum(axis=1, keepdims=True))  # logsumexp(z) − z_k
    if y.ndim == 1:
        at_label = weights[y] * gap[jnp.arange(z.shape[0]), y]
        out = (1 - epsilon) * at_label + (epsilon / z.shape[1]) * (gap @ weights)
    else:
        out = (((1 - epsilon) * y + epsilon / z.shape[1]) * weights * gap).sum(axis=1)
    return _reduce(out, reduction)


@functools.partial(jax.jit, static_argnames="reduction")
def _grad(z, y, epsilon, weights, reduction):
    if y.ndim == 1:
        rows = jnp.arange(z.shape[0])
        e, at_label, others, s, _ = _label_parts(z, y)
        a = e.at[rows, y].set(at_label) / s[:, None]
        plain = (e / s[:, None]).at[rows, y].set(-others / s)  # a − onehot(c), a_c − 1 = −Σ_{{k≠c}} a_k
        uniform = (a * weights.sum() - weights) * (epsilon / z.shape[1])
        g = (1 - epsilon) * weights[y][:, None] * plain + uniform
    else:
        e = jnp.exp(z - z.max(axis=1, keepdims=True))
        targets = ((1 - epsilon) * y + epsilon / z.shape[1]) * weights
        g = e * (targets.sum(axis=1, keepdims=True) / e.sum(axis=1, keepdims=True)) - targets
    return g / z.shape[0] if reduction == "mean" else g


def loss(z, y, reduction="mean"{signature}):
    """Σ_k ω_k ỹ_k (logsumexp(z) − z_k) per sample or reduced, ỹ = (1 − ε)·y + ε/K (labels one-hot first)."""
    z, y = _inputs(z, y, reduction)
    return _run(_loss, z, y, _options(z{arguments}), reduction)


def grad(z, y, reduction="mean"{signature}):
    """dC/dz = a_j Σ_k ω_k ỹ_k − ω_j ỹ_j, shaped like z."""
    z, y = _inputs(z, y, reduction)
    return _run(_grad, z, y, _options(z{arguments}), reduction)


def loss_and_grad(z, y, reduction="mean"{signature}):
    """(loss, grad), in one compiled function (with the value checks)."""
    z, y = _inputs(z, y, reduction)
    return _run(_loss_and_grad, z, y, _options(z{arguments}), reduction)


def _loss_and_grad(z, y, epsilon, weights, reduction):
    return _loss(z, y, epsilon, weights, reduction), _grad(z, y, epsilon, weights, reduction)
'''
