r"""A lab's own functions, kept in a TOML file: ``derive show --catalog my_functions.toml ...``.

.. code-block:: toml

    [activations.scaled_tanh]
    formula = 'g(z) = \tanh(\beta z)'
    latex = '\operatorname{tanh}_\beta'     # optional: the LaTeX of the name
    range = "(-1, 1)"                       # optional: inferred when left out
    description = "tanh with a slope beta"  # optional

    [losses.cauchy]
    formula = 'L(a, y) = \frac{c^2}{2}\ln\left(1 + \frac{(a-y)^2}{c^2}\right)'
    domain = "(-oo, oo)"                    # optional: inferred when left out
    targets = "(-oo, oo)"                   # optional: all reals when left out

    [parameters.beta]                       # for every formula that has the symbol beta
    default = 1.0
    domain = "(0, oo)"
    keyword = "slope"                       # optional: the keyword of the exported functions

Each table name is the function's name (a Python identifier, no catalog name).  Every error
names the file and the key.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from derive import errors
from derive.catalog.activations import Activation as CatalogActivation
from derive.catalog.losses import Loss as CatalogLoss
from derive.parse import domains, functions, user_parameters

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ACTIVATION_KEYS = ("formula", "latex", "range", "description")
LOSS_KEYS = ("formula", "latex", "domain", "targets", "description")
TABLES = ("activations", "losses", "parameters")


@dataclass
class LabCatalog:
    """The functions of one file, by name."""

    path: Path
    losses: dict[str, type[CatalogLoss]] = field(default_factory=dict)
    activations: dict[str, type[CatalogActivation]] = field(default_factory=dict)


def load(path: str | Path) -> LabCatalog:
    """Read the functions of the TOML file ``path``; InvalidOption (naming file and key) for any mistake."""
    path = Path(path)
    data = _read(path)
    unknown = sorted(set(data) - set(TABLES))
    if unknown:
        raise errors.InvalidOption(f"{path}: unknown table [{unknown[0]}] (use {', '.join(TABLES)})")
    tables = {name: _table(path, data, name) for name in TABLES}
    shared = _parameters(path, tables["parameters"])
    lab = LabCatalog(path)
    names: set[str] = set()
    for kind, allowed in (("activations", ACTIVATION_KEYS), ("losses", LOSS_KEYS)):
        for name, entry in tables[kind].items():
            key = f"[{kind}.{name}]"
            if name.lower() in names:
                raise errors.InvalidOption(f"{path}: {key}: the name {name!r} is used twice in the file")
            names.add(name.lower())
            settings = _entry(path, key, entry, allowed)
            built = _build(path, key, kind, name, settings, shared)
            (lab.activations if kind == "activations" else lab.losses)[name] = built
    return lab


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise errors.InvalidOption(
            f"{path}: no such file (the catalog is a TOML file of losses and activations)"
        ) from None
    except IsADirectoryError:
        raise errors.InvalidOption(f"{path}: is a folder, not a TOML file") from None
    except UnicodeDecodeError:
        raise errors.InvalidOption(f"{path}: is not UTF-8 text") from None
    except OSError as exc:
        raise errors.InvalidOption(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise errors.InvalidOption(f"{path}: not valid TOML: {exc}") from None


def _table(path: Path, data: dict[str, Any], name: str) -> dict[str, Any]:
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise errors.InvalidOption(f"{path}: {name} must be tables [{name}.NAME], not a value")
    return table


def _entry(path: Path, key: str, entry: object, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise errors.InvalidOption(f"{path}: {key} must be a table of {', '.join(allowed)}, not a value")
    unknown = sorted(set(entry) - set(allowed))
    if unknown:
        raise errors.InvalidOption(f"{path}: {key}: unknown key {unknown[0]!r} (use {', '.join(allowed)})")
    if "formula" not in entry:
        raise errors.InvalidOption(f"{path}: {key}: the key formula is missing")
    for name, value in entry.items():
        if not isinstance(value, str):
            raise errors.InvalidOption(f"{path}: {key}: {name} is text (in quotes), not {value!r}")
    return entry


def _parameters(path: Path, table: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {}
    for symbol, settings in table.items():
        if not isinstance(settings, dict):
            raise errors.InvalidOption(f"{path}: [parameters.{symbol}] must be a table of default, domain, keyword")
        unknown = sorted(set(settings) - set(user_parameters.PARAMETER_KEYS))
        if unknown:
            keys = ", ".join(user_parameters.PARAMETER_KEYS)
            raise errors.InvalidOption(f"{path}: [parameters.{symbol}]: unknown key {unknown[0]!r} (use {keys})")
        try:  # checked here, so that a mistake names this table rather than a formula that uses it
            if settings.get("default") is not None:
                domains.read_number(settings["default"], "default")
            if settings.get("domain") is not None:
                domains.read_set(settings["domain"], "domain")
        except errors.DeriveError as exc:
            raise _located(exc, f"{path}: [parameters.{symbol}]: ") from None
        out[symbol] = dict(settings)
    return out


def _build(path: Path, key: str, kind: str, name: str, settings: dict[str, Any], shared: dict) -> type:
    """The function of one table; a DeriveError of its own becomes the same error naming file and key."""
    symbols = _symbols_of(path, key, kind, settings["formula"])
    names = symbols | {user_parameters.keyword_of(symbol) for symbol in symbols}  # [parameters.lambda_] too
    options: dict[str, Any] = {
        "name": name,
        "latex_name": settings.get("latex"),
        "description": settings.get("description"),
        "parameters": {symbol: value for symbol, value in shared.items() if symbol in names} or None,
    }
    try:
        if kind == "activations":
            return functions.Activation.from_latex(settings["formula"], range=settings.get("range"), **options)
        return functions.Loss.from_latex(
            settings["formula"], domain=settings.get("domain"), targets=settings.get("targets"), **options
        )
    except errors.DeriveError as exc:
        raise _located(exc, f"{path}: {key}: ") from None


def _symbols_of(path: Path, key: str, kind: str, text: str) -> set[str]:
    """The names of the symbols of a formula (to hand each the [parameters] it has)."""
    try:
        parsed = functions.formula.parse_latex(text)
    except errors.ParseError as exc:
        raise errors.ParseError(f"{path}: {key}: cannot read the formula: {exc.reason}", exc.position, text) from None
    parts = parsed if isinstance(parsed, (tuple, list)) else (parsed,)
    return {s.name for part in parts if hasattr(part, "free_symbols") for s in part.free_symbols if hasattr(s, "name")}


def _located(exc: errors.DeriveError, where: str) -> errors.DeriveError:
    """``exc`` again, its message starting with ``where`` (file and key)."""
    if isinstance(exc, errors.ParseError):
        return errors.ParseError(where + exc.reason, exc.position, exc.text)
    try:
        return type(exc)(where + str(exc))
    except TypeError:
        return errors.InvalidOption(where + str(exc))
