"""Shared fixtures: where ../shared lives, and the rule that CI never skips."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _find_shared() -> Path:
    """$MESHLENS_SHARED, else the nearest `shared` folder beside the checkout or above it."""
    if os.environ.get("MESHLENS_SHARED"):
        return Path(os.environ["MESHLENS_SHARED"])
    for parent in REPO.parents:
        if (parent / "shared" / "spec").is_dir():
            return parent / "shared"
    return REPO.parent / "shared"


SHARED = _find_shared()
REQUIRE_ALL = os.environ.get("MESHLENS_REQUIRE_ALL") == "1"


def require(available: bool, what: str) -> None:
    """Skip when a real part is missing on a user's machine; fail in CI (.ci/run)."""
    if available:
        return
    if REQUIRE_ALL:
        pytest.fail(f"{what} is required in CI (MESHLENS_REQUIRE_ALL=1) but missing")
    pytest.skip(f"{what} not available")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ../shared folder (spec vectors and real data)."""
    require((SHARED / "spec" / "vectors.jsonl").is_file(), f"../shared at {SHARED}")
    return SHARED
