r"""derive: symbolic chain-rule derivations of machine-learning losses.

>>> import derive
>>> d = derive.derive("bce", "sigmoid")
>>> d.delta
a - y
>>> d.cancels
True
>>> derive.matching_loss("identity").loss
(a - y)**2/2

Your own functions, from LaTeX (or SymPy, ``from_sympy``), derive like the catalog's:

>>> ridge = derive.Loss.from_latex(r"L(a, y) = \frac{1}{2}(a-y)^2 + \lambda a^2", name="ridge")
>>> derive.derive(ridge, "identity").delta
2*a*lambda + a - y

The public names load lazily, so ``import derive`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from derive._version import __version__

_LAZY = {
    "derive": ("derive.derivations.pairs", "derive"),
    "matching_loss": ("derive.derivations.matching", "matching_loss"),
    "latex": ("derive.render.latex", "latex"),
    "to_numpy": ("derive.export.codegen", "to_numpy"),
    "check_gradient": ("derive.export.gradcheck", "check_gradient"),
    "parse_latex": ("derive.parse.formula", "parse_latex"),
    "verify": ("derive.verification.verify", "verify"),
    "verify_many": ("derive.verification.verify", "verify_many"),
    "Report": ("derive.verification.verify", "Report"),
    "Derivation": ("derive.engine.steps", "Derivation"),
    "Step": ("derive.engine.steps", "Step"),
    "Synthesis": ("derive.engine.steps", "Synthesis"),
    "Loss": ("derive.parse.functions", "Loss"),
    "Activation": ("derive.parse.functions", "Activation"),
    "DeriveError": ("derive.errors", "DeriveError"),
    "ParseError": ("derive.errors", "ParseError"),
}

__all__ = [*_LAZY, "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from derive.derivations.matching import matching_loss  # noqa: F401
    from derive.derivations.pairs import derive  # noqa: F401
    from derive.engine.steps import Derivation, Step, Synthesis  # noqa: F401
    from derive.errors import DeriveError, ParseError  # noqa: F401
    from derive.export.codegen import to_numpy  # noqa: F401
    from derive.export.gradcheck import check_gradient  # noqa: F401
    from derive.parse.formula import parse_latex  # noqa: F401
    from derive.parse.functions import Activation, Loss  # noqa: F401
    from derive.render.latex import latex  # noqa: F401
    from derive.verification.verify import Report, verify, verify_many  # noqa: F401


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'derive' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
