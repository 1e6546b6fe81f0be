"""Where ../shared (specs, vectors, real captures) is, for the benchmarks and the tests."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def find_shared() -> Path:
    """$MESHLENS_SHARED, else the nearest `shared` folder beside the checkout or above it."""
    if os.environ.get("MESHLENS_SHARED"):
        return Path(os.environ["MESHLENS_SHARED"])
    for parent in REPO.parents:
        if (parent / "shared" / "spec").is_dir():
            return parent / "shared"
    return REPO.parent / "shared"


SHARED = find_shared()
