"""Clock-skew thresholds and the severity a skew earns (analytics-part-b §3.1)."""

from __future__ import annotations

from typing import Final

WARN_S: Final = 300.0
CRITICAL_S: Final = 3600.0
ABSURD_S: Final = 2_592_000.0  # 30 days
NO_CLOCK_S: Final = 31_536_000.0  # 365 days
GOOD_S: Final = 3600.0  # a recent sample within an hour is "good" (bimodal split, #845)
RTC_RESET_S: Final = 86_400.0  # HEAD #1285: beyond a day it is a reset clock, not a skew

OK: Final = "ok"
WARNING: Final = "warning"
CRITICAL: Final = "critical"
ABSURD: Final = "absurd"
NO_CLOCK: Final = "no_clock"
BIMODAL_CLOCK: Final = "bimodal_clock"


def classify(abs_skew_s: float) -> str:
    """The severity of an absolute skew; each threshold belongs to the worse class."""
    if abs_skew_s >= NO_CLOCK_S:
        return NO_CLOCK
    if abs_skew_s >= ABSURD_S:
        return ABSURD
    if abs_skew_s >= CRITICAL_S:
        return CRITICAL
    if abs_skew_s >= WARN_S:
        return WARNING
    return OK
