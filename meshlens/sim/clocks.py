"""Node real-time clocks: what a node writes into its adverts' timestamp field.

Most nodes keep good time. Some are minutes or hours off (a wrong time zone, a clock set
by hand), some drift, and some lose their time on every reboot and count up from 1970 or
from 2000 until something sets them again (protocol §10.3 calls these RTC resets).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import Enum
from typing import Final

EPOCH_2000_S: Final = 946_684_800


class ClockKind(Enum):
    """The behaviour classes the clock-skew analytics should find."""

    ACCURATE = "accurate"
    MINUTES_OFF = "minutes_off"
    HOURS_OFF = "hours_off"
    DRIFTING = "drifting"
    RESETTING = "resetting"


# Shares of each class, by whether the node is a phone-synced companion or a standalone
# device; companions get their time from the phone app, so few of them are wrong.
_SHARES: Final = {
    "companion": (0.86, 0.04, 0.04, 0.03, 0.03),
    "device": (0.70, 0.08, 0.07, 0.07, 0.08),
}


@dataclass(frozen=True, slots=True)
class NodeClock:
    """One node's clock behaviour over the simulated window."""

    kind: ClockKind
    offset_s: float = 0.0  # fixed error; for DRIFTING the error at `anchor_ms`
    drift_s_per_day: float = 0.0
    anchor_ms: int = 0
    reset_epoch_s: int = 0  # RESETTING: where the clock restarts (0 = 1970, or 2000)
    reboots_ms: tuple[int, ...] = ()  # RESETTING: when the node lost its time
    resync_after_ms: int | None = None  # RESETTING: time until it is set again (None: never)

    def read_s(self, now_ms: int) -> int:
        """The node's idea of the time at true time `now_ms`, as unix seconds."""
        true_s = now_ms / 1000
        if self.kind is ClockKind.RESETTING:
            reboot = max((r for r in self.reboots_ms if r <= now_ms), default=None)
            if reboot is not None and (
                self.resync_after_ms is None or now_ms < reboot + self.resync_after_ms
            ):
                return self.reset_epoch_s + (now_ms - reboot) // 1000
            return int(true_s + self.offset_s)
        drift = self.drift_s_per_day * (now_ms - self.anchor_ms) / 86_400_000
        return max(0, int(true_s + self.offset_s + drift))


def draw_clock(rng: random.Random, *, companion: bool, start_ms: int, end_ms: int) -> NodeClock:
    """A clock for one node, drawn with the class shares above."""
    shares = _SHARES["companion" if companion else "device"]
    kind = rng.choices(list(ClockKind), weights=shares)[0]
    jitter = rng.gauss(0.0, 1.5)  # even a good clock is a second or two off
    if kind is ClockKind.ACCURATE:
        return NodeClock(kind, offset_s=jitter)
    if kind is ClockKind.MINUTES_OFF:
        return NodeClock(kind, offset_s=rng.choice((-1, 1)) * rng.uniform(6 * 60, 50 * 60))
    if kind is ClockKind.HOURS_OFF:
        # Often a whole number of hours: a device set to local time as if it were UTC.
        hours = rng.choice((-8, -7, -5, 1, 2, 3, 5, 9, 12)) + rng.choice((0.0, 0.0, 0.4))
        return NodeClock(kind, offset_s=hours * 3600 + jitter)
    if kind is ClockKind.DRIFTING:
        rate = rng.choice((-1, 1)) * rng.uniform(20, 900)  # seconds per day
        return NodeClock(kind, offset_s=jitter, drift_s_per_day=rate, anchor_ms=start_ms)
    span = max(end_ms - start_ms, 1)
    reboots = tuple(sorted(start_ms + rng.randrange(span) for _ in range(rng.randint(1, 3))))
    if rng.random() < 0.3:  # lost its time before the window and never got it back
        reboots = (start_ms - rng.randrange(1, 30) * 86_400_000, *reboots)
    resync = None if rng.random() < 0.4 else rng.randrange(600_000, 18 * 3_600_000)
    return NodeClock(
        kind,
        offset_s=jitter,
        reset_epoch_s=rng.choice((0, EPOCH_2000_S)),
        reboots_ms=reboots,
        resync_after_ms=resync,
    )
