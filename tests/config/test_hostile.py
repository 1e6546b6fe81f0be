"""Property: any JSON at all either loads or raises ConfigError, never another exception."""

from __future__ import annotations

import contextlib
import json
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from meshlens.config import SETTINGS, load_settings
from meshlens.errors import ConfigError

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_keys = st.sampled_from([s.key for s in SETTINGS] + ["mqtt", "mqtt.broker", "analytics", "x.y"])


def _nest(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for path, value in pairs:
        node = out
        *parents, leaf = path.split(".")
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                break
            node = child
        else:
            node[leaf] = value
    return out


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_keys, _json), max_size=6), st.dictionaries(st.text(max_size=6), _json))
def test_any_json_config_loads_or_raises_config_error(
    pairs: list[tuple[str, object]], extra: dict[str, object]
) -> None:
    config = {**extra, **_nest(pairs)}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.json"
        path.write_text(json.dumps(config))
        with contextlib.suppress(ConfigError):
            load_settings(path, {}, {})


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([name for s in SETTINGS for name in s.env]), st.text(max_size=60))
def test_any_environment_string_loads_or_raises_config_error(name: str, text: str) -> None:
    with contextlib.suppress(ConfigError):
        load_settings(None, {name: text}, {})
