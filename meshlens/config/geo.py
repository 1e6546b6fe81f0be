"""Geographic settings: the advert geofilter (protocol §18) and named areas (api §0.2)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from meshlens.config.values import Parser, degrees, number, polygon, text, unknown_keys
from meshlens.errors import ConfigError

Point = tuple[float, float]  # (lat, lon) in degrees

_BOX_KEYS = ("latMin", "latMax", "lonMin", "lonMax")
_GEO_KEYS = ("polygon", "bufferKm", *_BOX_KEYS)
_AREA_KEYS = ("label", "polygon", *_BOX_KEYS)


@dataclass(frozen=True, slots=True)
class BoundingBox:
    """A latitude/longitude rectangle (the legacy form of a geofilter or area)."""

    lat_min: float
    lat_max: float
    lon_min: float
    lon_max: float


@dataclass(frozen=True, slots=True)
class GeoFilter:
    """Which advertised positions count as local (protocol §18)."""

    polygon: tuple[Point, ...] = ()  # empty: use `box`
    buffer_km: float = 0.0  # also pass points this close to the polygon's edge
    box: BoundingBox | None = None  # used only when there is no polygon


@dataclass(frozen=True, slots=True)
class Area:
    """A named region of the map that `?area=<key>` filters nodes by."""

    label: str
    polygon: tuple[Point, ...] = ()
    box: BoundingBox | None = None


def _box(raw: Mapping[str, object], key: str) -> BoundingBox | None:
    """The bounding box when all four bounds are given; None when none or only some are."""
    lat_min, lat_max, lon_min, lon_max = (
        None if raw.get(name) is None else degrees(raw[name], f"{key}.{name}", limit)
        for name, limit in zip(_BOX_KEYS, (90.0, 90.0, 180.0, 180.0), strict=True)
    )
    if lat_min is None or lat_max is None or lon_min is None or lon_max is None:
        return None
    if lat_min > lat_max:
        raise ConfigError(f"{key}.latMin", f"a value <= latMax ({lat_max:g})", lat_min)
    if lon_min > lon_max:
        raise ConfigError(f"{key}.lonMin", f"a value <= lonMax ({lon_max:g})", lon_min)
    return BoundingBox(lat_min, lat_max, lon_min, lon_max)


def _shape(raw: Mapping[str, object], key: str) -> tuple[tuple[Point, ...], BoundingBox | None]:
    points = polygon(raw["polygon"], f"{key}.polygon") if raw.get("polygon") else ()
    return points, _box(raw, key)


def _parse_geo_filter(value: object, key: str) -> GeoFilter | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ConfigError(key, "an object with 'polygon' (and 'bufferKm') or lat/lon bounds", value)
    points, box = _shape(value, key)
    buffer = value.get("bufferKm")
    buffer_km = 0.0 if buffer is None else number(0.0)(buffer, f"{key}.bufferKm")
    return GeoFilter(points, buffer_km, box)


def _geo_filter_notes(value: object, key: str) -> list[str]:
    if not isinstance(value, dict):
        return []
    notes = unknown_keys(value, _GEO_KEYS, key)
    has_box = all(value.get(name) is not None for name in _BOX_KEYS)
    if not value.get("polygon") and not has_box:
        notes.append(
            f"{key} has no polygon and no complete latMin/latMax/lonMin/lonMax box,"
            " so it lets every advert pass"
        )
    return notes


GEO_FILTER: Parser[GeoFilter | None] = Parser(
    "object",
    "an object with 'polygon' (and 'bufferKm') or lat/lon bounds",
    _parse_geo_filter,
    _geo_filter_notes,
)


def _parse_area(value: object, key: str, name: str) -> Area:
    if not isinstance(value, dict):
        raise ConfigError(key, "an object with 'label' and 'polygon' or lat/lon bounds", value)
    points, box = _shape(value, key)
    if not points and box is None:
        raise ConfigError(key, "a 'polygon' of at least 3 points or all of " + "/".join(_BOX_KEYS))
    label = text()(value["label"], f"{key}.label") if value.get("label") is not None else ""
    return Area(label or name, points, box)


def _parse_areas(value: object, key: str) -> Mapping[str, Area]:
    if not isinstance(value, dict):
        raise ConfigError(key, "an object of area key -> area", value)
    return MappingProxyType(
        {name: _parse_area(area, f"{key}.{name}", name) for name, area in value.items()}
    )


def _areas_notes(value: object, key: str) -> list[str]:
    if not isinstance(value, dict):
        return []
    notes: list[str] = []
    for name, area in value.items():
        if isinstance(area, dict):
            notes += unknown_keys(area, _AREA_KEYS, f"{key}.{name}")
    return notes


AREAS: Parser[Mapping[str, Area]] = Parser(
    "object", "an object of area key -> area", _parse_areas, _areas_notes
)
