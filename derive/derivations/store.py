"""The catalog's derivations kept on disk, shared by every process of the same derive.

Deriving a pair proves every step (seconds for some: the Heaviside and max of the kinked
activations); ``derive table`` derives all 99 valid pairs, about 80 s from cold.  A derivation of
a built-in pair depends only on derive's code and SymPy, so it is written once to

    $DERIVE_CACHE_DIR, else $XDG_CACHE_HOME/derive, else ~/.cache/derive

under a fingerprint of derive's source files, SymPy's and Python's versions: a changed derive
never reads what an older one wrote.  ``DERIVE_CACHE_DIR=off`` turns it off.  A user formula
(``Loss.from_latex``) is never stored.  A file that cannot be read is derived again; a directory
that cannot be written is no error (the cache only saves time).

SymPy's own pickling rebuilds each expression with evaluation, which would turn the unevaluated
forms a derivation shows (θ(0) in "θ(0) = 1/2") into their values: expressions are stored as
their class and arguments and rebuilt without evaluation (:class:`_Pickler`).  Every pair is
tested to come back equal.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import pickle
import sys
import tempfile
from pathlib import Path

import sympy as sp

from derive import catalog

ENV = "DERIVE_CACHE_DIR"
OFF = ("off", "0", "")


def directory() -> Path | None:
    """Where derivations are kept (None: nowhere)."""
    value = os.environ.get(ENV)
    if value is not None:
        return None if value.strip().lower() in OFF else Path(value)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "derive"


@functools.cache
def fingerprint() -> str:
    """A digest of derive's source files and the versions of SymPy and Python."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parents[1]
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    digest.update(f"{sp.__version__}|{sys.version}".encode())
    return digest.hexdigest()[:20]


def _file(key: tuple) -> Path | None:
    folder = directory()
    if folder is None:
        return None
    name = hashlib.sha256(repr(key).encode()).hexdigest()[:32]
    return folder / fingerprint() / f"{name}.pickle"


def load(key: tuple) -> object | None:
    """What :func:`save` stored under ``key``, or None."""
    path = _file(key)
    if path is None or not path.is_file():
        return None
    try:
        with path.open("rb") as handle:
            stored_key, value = pickle.load(handle)  # derive's own files, in the user's own cache folder
    except Exception:  # a truncated or foreign file: derive again
        return None
    return value if stored_key == key else None


def save(key: tuple, value: object) -> None:
    """Store ``value`` under ``key`` (atomically: a reader never sees half a file); errors are ignored."""
    path = _file(key)
    if path is None:
        return
    try:
        buffer = io.BytesIO()
        _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump((key, value))
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".part")
        with os.fdopen(handle, "wb") as out:
            out.write(buffer.getvalue())
        os.replace(temporary, path)
    except (OSError, pickle.PicklingError, TypeError, AttributeError, RecursionError):
        return


def _unevaluated(cls: type, args: tuple) -> sp.Basic:
    """``cls(*args)`` without evaluation where the class takes ``evaluate``."""
    try:
        return cls(*args, evaluate=False)
    except TypeError:
        return cls(*args)


class _Pickler(pickle.Pickler):
    """Pickles SymPy expressions as (class, arguments), rebuilt by :func:`_unevaluated`."""

    def reducer_override(self, obj: object):
        if isinstance(obj, sp.Basic) and obj.args and not isinstance(obj, _ATOMIC):
            return _unevaluated, (type(obj), obj.args)
        return NotImplemented


#: Expressions whose own pickling is exact (names, numbers, indexed names).
_ATOMIC = (sp.Symbol, sp.Number, sp.Indexed, sp.IndexedBase, sp.Idx)


def key(loss_cls: type, act: type, *options: object) -> tuple | None:
    """The key of a derivation of built-in functions (None for a user formula: never stored)."""
    if not (catalog.built_in(loss_cls) and catalog.built_in(act)):
        return None
    return ("derivation", loss_cls.name, act.name, *(repr(o) for o in options))
