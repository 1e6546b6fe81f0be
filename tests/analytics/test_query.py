"""Query parameters: region normalisation, windows, and 400s that name the parameter."""

from __future__ import annotations

import pytest

from meshlens.analytics.query import normalise_region, parse_query
from meshlens.analytics.registry import ANALYTICS, BY_NAME, REGION, REGION_WINDOW
from meshlens.errors import QueryError

NOW = 1_767_225_600_000


def test_region_is_split_trimmed_upper_cased_and_all_means_none() -> None:
    assert normalise_region(" sea, pdx ,,") == frozenset({"SEA", "PDX"})
    assert normalise_region("All") == frozenset()
    assert normalise_region("all,") == frozenset()
    assert normalise_region(None) == frozenset()


def test_relative_window() -> None:
    q = parse_query({"window": "24h"}, now_ms=NOW, accepts=REGION_WINDOW)
    assert q.since_ms == NOW - 24 * 3_600_000 and q.until_ms is None
    assert q.window_key == "rel:24h" and not q.is_default


def test_absolute_window_wins_over_relative_and_keeps_seconds() -> None:
    q = parse_query(
        {"window": "7d", "from": "2026-01-01T00:00:00.750Z", "to": "2026-01-02T00:00:00Z"},
        now_ms=NOW,
        accepts=REGION_WINDOW,
    )
    assert q.since_ms == NOW and q.until_ms == NOW + 86_400_000
    assert q.window_key == "2026-01-01T00:00:00Z|2026-01-02T00:00:00Z"


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"window": "2h"}, "window"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-13-01T00:00:00Z"}, "to"),
        ({"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "from"),
    ],
)
def test_malformed_window_names_the_parameter(params: dict[str, str], parameter: str) -> None:
    with pytest.raises(QueryError) as err:
        parse_query(params, now_ms=NOW, accepts=REGION_WINDOW)
    assert err.value.parameter == parameter


def test_parameters_an_analytic_does_not_take_are_ignored() -> None:
    q = parse_query({"window": "bogus", "region": "SEA"}, now_ms=NOW, accepts=REGION)
    assert q.region == frozenset({"SEA"}) and q.window_key == ""


def test_registry_lists_nine_analytics_with_unique_routes_and_keys() -> None:
    assert len(ANALYTICS) == 9
    assert len({a.route for a in ANALYTICS}) == 9
    assert len({a.config_key for a in ANALYTICS}) == 9
    assert set(BY_NAME) == {a.name for a in ANALYTICS}


def test_roles_and_the_clock_analytics_serve_every_shape_from_the_default() -> None:
    # §6.1: roles takes no parameters, so a filtered request is the precomputed body.
    params = {"region": "SJC", "window": "24h", "from": "2026-03-01T00:00:00Z"}
    for name in ("roles", "observers-clock-skew", "nodes-clock-skew"):
        assert parse_query(params, now_ms=NOW, accepts=BY_NAME[name].params).is_default
