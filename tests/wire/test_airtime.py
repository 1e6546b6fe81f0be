"""LoRa time on air (protocol §17)."""

from __future__ import annotations

import pytest

from meshlens.wire import airtime_ms


@pytest.mark.parametrize(
    ("size", "ms"), [(8, 242.688), (16, 283.648), (32, 365.568), (64, 529.408)]
)
def test_check_values_of_the_default_preset(size: int, ms: float) -> None:
    assert airtime_ms(size) == pytest.approx(ms, abs=1e-9)


def test_check_value_with_low_data_rate_optimisation() -> None:
    assert airtime_ms(8, sf=11, bw_khz=125) == pytest.approx(626.688, abs=1e-9)


def test_explicit_preamble_and_zero_preamble() -> None:
    assert airtime_ms(8, preamble=32) == airtime_ms(8)
    assert airtime_ms(8, preamble=0) == airtime_ms(8, preamble=8)
    assert airtime_ms(8, preamble=8) == pytest.approx((8 + 4.25 + 23) * 4.096)


def test_tiny_frames_still_cost_eight_payload_symbols() -> None:
    # SF12: 8*0 - 48 + 44 < 0, so n_payload is exactly 8.
    assert airtime_ms(0, sf=12, bw_khz=125) == pytest.approx((16 + 4.25 + 8) * 32.768)


@pytest.mark.parametrize(
    "kwargs", [{"sf": 5}, {"sf": 13}, {"bw_khz": 0}, {"bw_khz": -1}, {"cr": 4}, {"cr": 9}]
)
def test_invalid_settings_cost_nothing(kwargs: dict[str, float]) -> None:
    assert airtime_ms(10, **kwargs) == 0.0  # type: ignore[arg-type]
    assert airtime_ms(-1) == 0.0
