"""derive: symbolic chain-rule derivations of machine-learning losses.

>>> import derive
>>> d = derive.derive("bce", "sigmoid")
>>> d.delta
a - y
>>> d.cancels
True
>>> derive.matching_loss("identity").loss
(a - y)**2/2

The public names load lazily, so ``import derive`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "derive": ("derive.derivation", "derive"),
    "matching_loss": ("derive.matching", "matching_loss"),
    "Derivation": ("derive.steps", "Derivation"),
    "Step": ("derive.steps", "Step"),
    "Synthesis": ("derive.steps", "Synthesis"),
    "DeriveError": ("derive.errors", "DeriveError"),
    "check_gradient": ("derive.gradcheck", "check_gradient"),
    "verify": ("derive.verify", "verify"),
    "Report": ("derive.verify", "Report"),
    "parse_latex": ("derive.parse", "parse_latex"),
    "ParseError": ("derive.texscan", "ParseError"),
}

__all__ = [*_LAZY, "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from derive.derivation import derive  # noqa: F401
    from derive.errors import DeriveError  # noqa: F401
    from derive.gradcheck import check_gradient  # noqa: F401
    from derive.matching import matching_loss  # noqa: F401
    from derive.parse import parse_latex  # noqa: F401
    from derive.steps import Derivation, Step, Synthesis  # noqa: F401
    from derive.texscan import ParseError  # noqa: F401
    from derive.verify import Report, verify  # noqa: F401


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'derive' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
