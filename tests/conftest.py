"""The catalog pairs every table-driven test runs over."""

from __future__ import annotations

import pytest

from derive import catalog


@pytest.fixture(params=catalog.pairs(valid=True), ids=lambda p: f"{p[0]}-{p[1]}")
def pair(request) -> tuple[str, str]:
    return request.param
