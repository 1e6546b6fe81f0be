"""LoRa time on air of a frame (protocol §17): Semtech's closed form, MeshCore constants."""

from __future__ import annotations

import math
from typing import Final

DEFAULT_SF: Final = 8
DEFAULT_BW_KHZ: Final = 62.5
DEFAULT_CR: Final = 5
_LOW_DATA_RATE_SYMBOL_S: Final = 0.016


def airtime_ms(
    frame_bytes: int,
    *,
    sf: int = DEFAULT_SF,
    bw_khz: float = DEFAULT_BW_KHZ,
    cr: int = DEFAULT_CR,
    preamble: int | None = None,
) -> float:
    """Milliseconds on air of a `frame_bytes`-byte frame; 0.0 for invalid radio settings.

    CRC on, explicit header; `cr` is the coding-rate denominator 5..8. The preamble
    defaults to 32 symbols up to SF8 and 16 above; a preamble of 0 counts as 8.
    """
    if not 6 <= sf <= 12 or bw_khz <= 0 or not 5 <= cr <= 8 or frame_bytes < 0:
        return 0.0
    bw_hz = bw_khz * 1000
    low_data_rate = 1 if (1 << sf) / bw_hz >= _LOW_DATA_RATE_SYMBOL_S else 0
    numerator = 8 * frame_bytes - 4 * sf + 44
    payload_symbols = 8 + max(math.ceil(numerator / (4 * (sf - 2 * low_data_rate))) * cr, 0)
    if preamble is None:
        preamble = 32 if sf <= 8 else 16
    elif preamble == 0:
        preamble = 8
    # Multiply before dividing so the documented check values come out exact.
    return (preamble + 4.25 + payload_symbols) * (1 << sf) * 1000 / bw_hz
