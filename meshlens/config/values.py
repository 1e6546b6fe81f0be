"""Parsers that turn one JSON value (or one environment string) into a typed setting.

Every parser raises `ConfigError` naming the key path and what was expected. JSON booleans
are not numbers here (protocol §2.4): `true` is never read as 1.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Generic, Literal, TypeVar

from meshlens.config.secret import Secret
from meshlens.errors import ConfigError

T = TypeVar("T")

Kind = Literal["integer", "number", "boolean", "string", "list", "object"]
"""The JSON shape a setting takes; decides how an environment string is read."""


@dataclass(frozen=True, slots=True)
class Parser(Generic[T]):
    """Turns one JSON value into a typed setting, or raises ConfigError naming the key."""

    kind: Kind
    expected: str  # completes "expected ...": "an integer >= 0"
    convert: Callable[[object, str], T]
    # For object-valued settings: warnings about a raw value's unknown inner keys.
    notes: Callable[[object, str], list[str]] | None = None

    def __call__(self, value: object, key: str) -> T:
        return self.convert(value, key)

    def from_text(self, text: str, key: str) -> T:
        """Parse an environment variable or a CLI flag, which arrive as strings."""
        return self.convert(json_from_text(self.kind, text, key, self.expected), key)


def unknown_keys(
    raw: Mapping[str, object],
    known: Collection[str],
    where: str,
    elsewhere: Collection[str] = (),
) -> list[str]:
    """A warning for each key of `raw` not in `known`, with a 'did you mean' when one is close.

    `elsewhere` lists full key paths of other sections, suggested when a key sits at the
    wrong level. Keys starting with '_' are comments (CoreScope's example has `_comment_*`).
    """
    by_lower = {k.lower(): f"{where}.{k}" if where else k for k in known}
    by_leaf = {path.rsplit(".", 1)[-1].lower(): path for path in elsewhere}
    notes = []
    for name in raw:
        if name in known or name.startswith("_"):
            continue
        path = f"{where}.{name}" if where else name
        notes.append(f"unknown config key {path!r} ignored{_hint(name, by_lower, by_leaf)}")
    return notes


def _hint(name: str, here: Mapping[str, str], elsewhere: Mapping[str, str]) -> str:
    """' (did you mean ...?)': a same-named key here or in another section, else a close one."""
    wanted = name.lower()
    for candidates in (here, elsewhere):
        if wanted in candidates:
            return f" (did you mean {candidates[wanted]!r}?)"
    for candidates, cutoff in ((here, 0.6), (elsewhere, 0.8)):
        close = difflib.get_close_matches(wanted, list(candidates), n=1, cutoff=cutoff)
        if close:
            return f" (did you mean {candidates[close[0]]!r}?)"
    return ""


_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def json_from_text(kind: Kind, text: str, key: str, expected: str) -> object:
    """Read a string as the JSON shape `kind`: numbers, booleans, comma lists or JSON."""
    stripped = text.strip()
    if kind == "integer":
        try:
            return int(stripped)
        except ValueError:
            raise ConfigError(key, expected, text) from None
    if kind == "number":
        try:
            return float(stripped)
        except ValueError:
            raise ConfigError(key, expected, text) from None
    if kind == "boolean":
        if stripped.lower() in _TRUE:
            return True
        if stripped.lower() in _FALSE:
            return False
        raise ConfigError(key, "true or false (also 1/0, yes/no, on/off)", text)
    if kind == "string":
        return text
    if kind == "list" and not stripped.startswith("["):
        return [item.strip() for item in stripped.split(",") if item.strip()]
    try:
        return json.loads(stripped)
    except json.JSONDecodeError as exc:
        raise ConfigError(key, f"JSON text ({exc.msg} at column {exc.colno})") from None


def as_int(value: object) -> int | None:
    """The value as an int for JSON integers (and integral floats like 300.0), else None.

    Booleans are never numbers, even though Python's bool is an int.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def as_float(value: object) -> float | None:
    """The value as a float for finite JSON numbers, else None (booleans included)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    result = float(value)
    return result if math.isfinite(result) else None


def integer(low: int | None = None, high: int | None = None) -> Parser[int]:
    """An integer within [low, high]."""
    if low is not None and high is not None:
        expected = f"an integer from {low} to {high}"
    elif low is not None:
        expected = f"an integer >= {low}"
    else:
        expected = "an integer"

    def convert(value: object, key: str) -> int:
        number = as_int(value)
        if number is None or (low is not None and number < low):
            raise ConfigError(key, expected, value)
        if high is not None and number > high:
            raise ConfigError(key, expected, value)
        return number

    return Parser("integer", expected, convert)


def positive_int(default: int) -> Parser[int]:
    """A positive integer; 0 means the default, as in CoreScope, and negatives are errors."""
    expected = "an integer > 0 (0 means the default)"

    def convert(value: object, key: str) -> int:
        number = as_int(value)
        if number is None or number < 0:
            raise ConfigError(key, expected, value)
        return number or default

    return Parser("integer", expected, convert)


def optional_positive_int() -> Parser[int | None]:
    """A positive integer, or None for 0 (CoreScope: a value <= 0 means 'use the default')."""
    expected = "an integer > 0 (0 means the default)"

    def convert(value: object, key: str) -> int | None:
        number = as_int(value)
        if number is None or number < 0:
            raise ConfigError(key, expected, value)
        return number or None

    return Parser("integer", expected, convert)


def number(low: float = 0.0) -> Parser[float]:
    """A finite number >= low."""
    expected = f"a number >= {low:g}"

    def convert(value: object, key: str) -> float:
        result = as_float(value)
        if result is None or result < low:
            raise ConfigError(key, expected, value)
        return result

    return Parser("number", expected, convert)


def fraction() -> Parser[float]:
    """A number greater than 0 and at most 1 (a share of something)."""
    expected = "a number greater than 0 and at most 1"

    def convert(value: object, key: str) -> float:
        result = as_float(value)
        if result is None or not 0.0 < result <= 1.0:
            raise ConfigError(key, expected, value)
        return result

    return Parser("number", expected, convert)


def positive_number(default: float) -> Parser[float]:
    """A finite number > 0; 0 means the default, as in CoreScope, and negatives are errors."""
    expected = "a number > 0 (0 means the default)"

    def convert(value: object, key: str) -> float:
        result = as_float(value)
        if result is None or result < 0:
            raise ConfigError(key, expected, value)
        return result or default

    return Parser("number", expected, convert)


def _convert_boolean(value: object, key: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(key, "true or false", value)
    return value


BOOLEAN: Parser[bool] = Parser("boolean", "true or false", _convert_boolean)


def text(allow_empty: bool = True) -> Parser[str]:
    """A string (trimmed)."""
    expected = "a string" if allow_empty else "a non-empty string"

    def convert(value: object, key: str) -> str:
        if not isinstance(value, str) or (not allow_empty and not value.strip()):
            raise ConfigError(key, expected, value)
        return value.strip()

    return Parser("string", expected, convert)


def choice(*options: str) -> Parser[str]:
    """One of a few strings, compared case-insensitively."""
    expected = "one of " + ", ".join(repr(o) for o in options)

    def convert(value: object, key: str) -> str:
        if not isinstance(value, str) or value.strip().lower() not in options:
            raise ConfigError(key, expected, value)
        return value.strip().lower()

    return Parser("string", expected, convert)


def _convert_path(value: object, key: str) -> Path:
    if not isinstance(value, str) or not value.strip() or "\0" in value:
        raise ConfigError(key, "a file or directory path", value)
    return Path(value.strip())


PATH: Parser[Path] = Parser("string", "a file or directory path", _convert_path)


def _convert_optional_path(value: object, key: str) -> Path | None:
    if isinstance(value, str) and not value.strip():
        return None
    return _convert_path(value, key)


OPTIONAL_PATH: Parser[Path | None] = Parser(
    "string", "a file path (empty for none)", _convert_optional_path
)


def _convert_secret(value: object, key: str) -> Secret | None:
    # The value itself is never echoed into the error: it may be the real key.
    if not isinstance(value, str):
        raise ConfigError(key, "a string", type(value).__name__)
    return Secret(value.strip()) if value.strip() else None


OPTIONAL_SECRET: Parser[Secret | None] = Parser(
    "string", "a string (empty for none)", _convert_secret
)


def strings(normalise: Callable[[str], str] = str.strip) -> Parser[tuple[str, ...]]:
    """A list of strings, each normalised; empty items and repeats are dropped."""
    expected = "a list of strings"

    def convert(value: object, key: str) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise ConfigError(key, expected, value)
        out: dict[str, None] = {}
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise ConfigError(f"{key}[{index}]", "a string", item)
            if item.strip():
                out[normalise(item.strip())] = None
        return tuple(out)

    return Parser("list", expected, convert)


def hashtag(name: str) -> str:
    """protocol §4.4 and §8: hashtag channel and region names get a leading '#'."""
    name = name.strip()
    return name if name.startswith("#") else "#" + name


def lower(item: str) -> str:
    """Trim and lower-case (pubkeys and observer ids compare this way, api-resources §0.3)."""
    return item.strip().lower()


def upper(item: str) -> str:
    """Trim and upper-case (IATA codes compare this way, protocol §2.3)."""
    return item.strip().upper()


_HEX_KEY = re.compile(r"^[0-9a-fA-F]{32}$")


def channel_key(value: object, key: str) -> Secret:
    """A 16-byte AES channel key as 32 hex characters, kept as a Secret."""
    # The bad value is described, never echoed: a near-miss key is still a secret.
    if not isinstance(value, str):
        raise ConfigError(key, "32 hex characters (a 16-byte key)", type(value).__name__)
    candidate = value.strip()
    if not _HEX_KEY.match(candidate):
        detail = f"{len(candidate)} characters" if candidate else "an empty string"
        if candidate and not all(c in "0123456789abcdefABCDEF" for c in candidate):
            detail += " with non-hex characters"
        raise ConfigError(key, f"32 hex characters (a 16-byte key), got {detail}")
    return Secret(candidate.lower())


def _convert_channel_keys(value: object, key: str) -> Mapping[str, Secret]:
    if not isinstance(value, dict):
        raise ConfigError(key, "an object of channel name -> 32-hex-character key", value)
    out: dict[str, Secret] = {}
    for name, hex_key in value.items():
        if not name.strip():
            raise ConfigError(key, "non-empty channel names", name)
        out[name.strip()] = channel_key(hex_key, f"{key}.{name}")
    return MappingProxyType(out)


CHANNEL_KEYS: Parser[Mapping[str, Secret]] = Parser(
    "object", "an object of channel name -> 32 hex characters", _convert_channel_keys
)


def coordinate(value: object, key: str) -> tuple[float, float]:
    """A [lat, lon] pair in degrees."""
    expected = "a [lat, lon] pair with lat in -90..90 and lon in -180..180"
    if not isinstance(value, list) or len(value) != 2:
        raise ConfigError(key, expected, value)
    lat, lon = as_float(value[0]), as_float(value[1])
    if lat is None or lon is None or not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise ConfigError(key, expected, value)
    return (lat, lon)


def polygon(value: object, key: str) -> tuple[tuple[float, float], ...]:
    """A polygon of at least three [lat, lon] points (protocol §18)."""
    if not isinstance(value, list) or len(value) < 3:
        raise ConfigError(key, "a list of at least 3 [lat, lon] points", value)
    return tuple(coordinate(point, f"{key}[{index}]") for index, point in enumerate(value))


def degrees(value: object, key: str, limit: float) -> float:
    """A latitude (limit 90) or longitude (limit 180) in degrees."""
    result = as_float(value)
    if result is None or not -limit <= result <= limit:
        raise ConfigError(key, f"a number from {-limit:g} to {limit:g}", value)
    return result
