"""What became of one sighting: stored, new, a duplicate, or rejected, and why."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Outcome(Enum):
    """What happened to one sighting."""

    NEW = "new"  # a new transmission and its first observation
    STORED = "stored"  # a new observation of a known transmission
    DUPLICATE = "duplicate"  # this observer already reported this path
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Result:
    """The outcome of one sighting, as POST /api/packets and the importers report it."""

    outcome: Outcome
    content_hash: str | None = None
    transmission_id: int | None = None
    observation_id: int | None = None
    reason: str | None = None  # a stable counter label when rejected
    detail: str = ""
