"""The catalog pairs every table-driven test runs over."""

from __future__ import annotations

import pytest

from derive import catalog


@pytest.fixture(
    params=[(loss, act) for loss, act in catalog.pairs(valid=True) if not catalog.ACTIVATIONS[act].vector],
    ids=lambda p: f"{p[0]}-{p[1]}",
)
def pair(request) -> tuple[str, str]:
    """Every valid scalar (loss, activation) pair; softmax has its own tests."""
    return request.param
