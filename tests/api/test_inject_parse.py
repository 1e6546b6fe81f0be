"""Parsing POST /api/packets bodies: any JSON gives packets or a typed InputError, nothing else."""

from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from meshlens.api.inject import MAX_PACKETS, parse_body
from meshlens.errors import InputError

NOW_MS = 1_767_225_600_000

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
fields = st.fixed_dictionaries(
    {},
    optional={
        "hex": st.text("0123456789abcdefABCDEF xz", max_size=24) | json_values,
        "observer": st.text(max_size=70) | json_values,
        "snr": st.floats() | json_values,
        "rssi": st.integers(-200, 0) | json_values,
        "region": st.text(max_size=5) | json_values,
        "timestamp": st.floats(allow_nan=False)
        | st.sampled_from(["2026-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "x"])
        | json_values,
        "hash": st.text(max_size=16),
    },
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(json_values, fields, st.lists(fields | json_values, max_size=5)))
def test_any_json_body_gives_packets_or_an_input_error(value: object) -> None:
    body = orjson.dumps(value)
    try:
        parsed, single = parse_body(body, NOW_MS)
    except InputError as err:
        assert err.reason and err.where
        return
    assert single == isinstance(value, dict)
    assert 1 <= len(parsed) <= MAX_PACKETS
    for i, p in enumerate(parsed):
        assert p.index == (0 if single else i)
        assert (p.sighting is None) != (p.error is None)
        if p.sighting is not None:
            assert 0 < len(p.sighting.raw) <= 255
            assert 0 <= p.sighting.received_at_ms < 2**53
            for level in (p.sighting.snr_db, p.sighting.rssi_dbm):
                assert level is None or abs(level) <= 1000
        else:
            assert p.error is not None and p.error.reason


@given(st.binary(max_size=64))
def test_bytes_that_are_not_json_are_bad_json(body: bytes) -> None:
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError:
        try:
            parse_body(body, NOW_MS)
        except InputError as err:
            assert err.reason == "bad_json"
        else:
            raise AssertionError("accepted a body that is not JSON")
