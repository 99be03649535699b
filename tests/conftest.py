"""The catalog pairs every table-driven test runs over."""

from __future__ import annotations

import getpass
import os
import tempfile

import pytest

from derive import catalog

# Derivations kept on disk (derive.derivations.store) go to one folder of the test runs, shared by the
# xdist workers and the `python -m derive` subprocesses (which inherit it), not the user's ~/.cache.
os.environ.setdefault("DERIVE_CACHE_DIR", os.path.join(tempfile.gettempdir(), f"derive-tests-{getpass.getuser()}"))


@pytest.fixture(
    params=[(loss, act) for loss, act in catalog.pairs(valid=True) if not catalog.ACTIVATIONS[act].vector],
    ids=lambda p: f"{p[0]}-{p[1]}",
)
def pair(request) -> tuple[str, str]:
    """Every valid scalar (loss, activation) pair; softmax has its own tests."""
    return request.param
