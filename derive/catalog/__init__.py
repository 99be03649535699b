"""The catalog: activations and losses by name (the catalog names of the README).

>>> from derive import catalog
>>> catalog.activation("sigmoid")
sigmoid
>>> catalog.loss("mse").name
'quadratic'
"""

from __future__ import annotations

from derive import errors
from derive.catalog import activations, losses, parameters, softmax
from derive.catalog.activations import Activation
from derive.catalog.losses import Loss

ACTIVATIONS: dict[str, type[Activation]] = {
    cls.name: cls
    for cls in (
        activations.sigmoid,
        activations.tanh,
        activations.identity,
        activations.exp,
        activations.softplus,
        activations.relu,
        softmax.softmax,
        activations.leaky_relu,
        activations.elu,
        activations.gelu,
        activations.gelu_tanh,
        activations.silu,
        activations.softsign,
        activations.hard_sigmoid,
    )
}

LOSSES: dict[str, type[Loss]] = {
    cls.name: cls
    for cls in (
        losses.quadratic,
        losses.bce,
        losses.poisson,
        losses.cross_entropy,
        losses.huber,
        losses.smooth_l1,
        losses.log_cosh,
        losses.focal,
        losses.hinge,
        losses.squared_hinge,
        losses.gaussian_nll,
        losses.kl_div,
    )
}

ALIASES: dict[str, str] = {alias: cls.name for cls in LOSSES.values() for alias in cls.aliases}
ACTIVATION_ALIASES: dict[str, str] = {
    alias: cls.name for cls in ACTIVATIONS.values() for alias in getattr(cls, "aliases", ())
}


def _normalise(name: str, kind: str) -> str:
    if not isinstance(name, str):
        raise errors.InvalidOption(f"a {kind} is named by a string (see `derive list`), not {name!r}")
    return name.strip().lower().replace("-", "_")


def activation(name: str) -> type[Activation]:
    """The activation called ``name``; :class:`~derive.errors.UnknownName` if none."""
    key = _normalise(name, "activation")
    key = ACTIVATION_ALIASES.get(key, key)
    if key not in ACTIVATIONS:
        raise errors.UnknownName("activation", name, [*ACTIVATIONS, *ACTIVATION_ALIASES])
    return ACTIVATIONS[key]


def loss(name: str) -> type[Loss]:
    """The loss called ``name`` or one of its aliases (``mse`` is ``quadratic``)."""
    key = _normalise(name, "loss")
    key = ALIASES.get(key, key)
    if key not in LOSSES:
        raise errors.UnknownName("loss", name, [*LOSSES, *ALIASES])
    return LOSSES[key]


def built_in(cls: type) -> bool:
    """Whether ``cls`` is one of the catalog's own functions (not a user formula)."""
    return cls in LOSSES.values() or cls in ACTIVATIONS.values()


def as_loss(value: str | type[Loss]) -> type[Loss]:
    """A loss given by name (:func:`loss`) or as a class (a user formula); InvalidOption otherwise."""
    if isinstance(value, type) and issubclass(value, Loss) and value is not Loss:
        return value
    if isinstance(value, str):
        return loss(value)
    raise errors.InvalidOption(
        f"a loss is a name (see `derive list`) or a derive.Loss (derive.Loss.from_latex(...)), not {value!r}"
    )


def as_activation(value: str | type[Activation]) -> type[Activation]:
    """An activation given by name (:func:`activation`) or as a class (a user formula); InvalidOption otherwise."""
    if isinstance(value, type) and issubclass(value, (Activation, softmax.softmax)) and value is not Activation:
        return value
    if isinstance(value, str):
        return activation(value)
    raise errors.InvalidOption(
        f"an activation is a name (see `derive list`) or a derive.Activation "
        f"(derive.Activation.from_latex(...)), not {value!r}"
    )


def check_parameters(loss_cls: type[Loss], activation_cls: type[Activation]) -> None:
    """DomainError when the loss and the activation use one symbol for two parameters."""
    shared = parameters.symbols(loss_cls.parameters) & parameters.symbols(getattr(activation_cls, "parameters", ()))
    if shared:
        names = ", ".join(sorted(str(s) for s in shared))
        raise errors.DomainError(
            f"{loss_cls.name} and {activation_cls.name} both have a parameter {names}: rename it in one of them"
        )


def fits(loss_cls: type[Loss], activation_cls: type[Activation]) -> bool:
    """True when the loss takes the activation's outputs: as many, and each in its domain."""
    same_kind = loss_cls.vector if activation_cls.vector else loss_cls.scalar
    return same_kind and bool(activation_cls.output_range.is_subset(loss_cls.a_domain))


def check_domain(loss_cls: type[Loss], activation_cls: type[Activation]) -> None:
    """Raise :class:`~derive.errors.DomainError` unless every a = f(z) is in the loss's domain."""
    if activation_cls.vector and not loss_cls.vector:
        vector_losses = ", ".join(name for name, cls in LOSSES.items() if cls.vector)
        raise errors.DomainError(
            f"{loss_cls.name} is a loss of one output, but {activation_cls.name} gives K outputs; "
            f"use one of: {vector_losses}"
        )
    if not activation_cls.vector and not loss_cls.scalar:
        raise errors.DomainError(
            f"{loss_cls.name} needs the K outputs of softmax, but {activation_cls.name} gives one; "
            "for one output use bce"
        )
    if not fits(loss_cls, activation_cls):
        raise errors.DomainError(
            f"{loss_cls.name} needs a in {interval(loss_cls.a_domain)}, but "
            f"{activation_cls.name} gives a in {interval(activation_cls.output_range)}"
        )


def pairs(valid: bool | None = None) -> list[tuple[str, str]]:
    """Every (loss, activation) name pair; only the valid (or invalid) ones if asked."""
    out = []
    for loss_cls in LOSSES.values():
        for act in ACTIVATIONS.values():
            if valid is None or fits(loss_cls, act) == valid:
                out.append((loss_cls.name, act.name))
    return out


def neighbours(loss_cls: type[Loss], activation_cls: type[Activation]) -> list[tuple[type[Loss], type[Activation]]]:
    """The valid pairs that share the loss or the activation of this one (itself included), in catalog order.

    An article's cancellation table: how the loss fares with other activations, and the activation
    with other losses.  A user function (not in the catalog) is paired with the catalog's.

    >>> [(loss.name, act.name) for loss, act in neighbours(LOSSES["cross_entropy"], ACTIVATIONS["softmax"])]
    [('quadratic', 'softmax'), ('cross_entropy', 'softmax'), ('kl_div', 'softmax')]
    """
    losses = [*LOSSES.values(), *([loss_cls] if loss_cls not in LOSSES.values() else [])]
    acts = [*ACTIVATIONS.values(), *([activation_cls] if activation_cls not in ACTIVATIONS.values() else [])]
    return [
        (loss, act)
        for loss in losses
        for act in acts
        if (loss is loss_cls or act is activation_cls) and fits(loss, act)
    ]


interval = parameters.interval
