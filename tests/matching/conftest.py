"""Shared fixtures of the matching tests (benchmark data sits beside the repository)."""

from __future__ import annotations

from pathlib import Path

import pytest

BENCHDATA = Path(__file__).parents[2].parent / "shared" / "benchdata"


@pytest.fixture(scope="session")
def benchdata() -> Path:
    if not BENCHDATA.exists():
        pytest.skip("shared/benchdata is not beside the repository")
    return BENCHDATA
