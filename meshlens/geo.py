"""Geometry on latitude/longitude: great-circle distance, polygons, the geofilter test."""

from __future__ import annotations

import math
from collections.abc import Sequence

EARTH_RADIUS_KM = 6371.0
_KM_PER_DEGREE = 111.0  # protocol §18's flat-earth scale

Point = tuple[float, float]  # (lat, lon) in degrees


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km on a sphere of radius 6371 km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.atan2(math.sqrt(a), math.sqrt(1 - a))


def inside_polygon(lat: float, lon: float, polygon: Sequence[Point]) -> bool:
    """Ray casting with latitude as y and longitude as x (protocol §18)."""
    inside = False
    n = len(polygon)
    for i in range(n):
        y1, x1 = polygon[i]
        y2, x2 = polygon[(i + 1) % n]
        if (y1 > lat) != (y2 > lat):
            x_cross = x1 + (lat - y1) * (x2 - x1) / (y2 - y1)
            if lon < x_cross:
                inside = not inside
    return inside


def distance_to_segment_km(lat: float, lon: float, a: Point, b: Point) -> float:
    """Flat-earth distance from a point to a segment: 111 km per degree, lon by cos(lat)."""
    scale = math.cos(math.radians((a[0] + b[0]) / 2))
    px, py = lon * scale, lat
    ax, ay = a[1] * scale, a[0]
    bx, by = b[1] * scale, b[0]
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length2))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy)) * _KM_PER_DEGREE


def near_polygon(lat: float, lon: float, polygon: Sequence[Point], buffer_km: float) -> bool:
    """Within `buffer_km` of any edge of the polygon."""
    n = len(polygon)
    return any(
        distance_to_segment_km(lat, lon, polygon[i], polygon[(i + 1) % n]) <= buffer_km
        for i in range(n)
    )
