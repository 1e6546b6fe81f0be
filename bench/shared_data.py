"""Where ../shared (specs, vectors, real captures) is, for the benchmarks and the tests."""

from __future__ import annotations

import configparser
import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def find_shared() -> Path:
    """$MESHLENS_SHARED, else the nearest `shared` folder above the checkout, else above the
    local checkout it was cloned from (a clean clone made elsewhere still finds it)."""
    if os.environ.get("MESHLENS_SHARED"):
        return Path(os.environ["MESHLENS_SHARED"])
    for checkout in (REPO, _cloned_from()):
        for parent in checkout.parents if checkout else ():
            if (parent / "shared" / "spec").is_dir():
                return parent / "shared"
    return REPO.parent / "shared"


def _cloned_from() -> Path | None:
    """The local folder `origin` points at, if this checkout is a clone of one."""
    config = configparser.ConfigParser(strict=False)
    try:
        config.read(REPO / ".git" / "config")
        url = config.get('remote "origin"', "url")
    except (configparser.Error, OSError):
        return None
    path = Path(url.removeprefix("file://"))
    return path.resolve() if path.is_absolute() and path.is_dir() else None


SHARED = find_shared()
