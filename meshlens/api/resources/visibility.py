"""Operator filters from config (api-resources §0.3) and named areas (§0.2).

Hidden and blacklisted nodes vanish from node lists and answer 404 on per-node routes;
blacklisted observers vanish from the observer list and answer 404 on their detail.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from meshlens.config import Area, Settings
from meshlens.errors import QueryError
from meshlens.geo import inside_polygon
from meshlens.records import Node

GeoCheck = Callable[[float | None, float | None], bool]


@dataclass(frozen=True, slots=True)
class Visibility:
    """Which nodes and observers the operator hides, and the named areas."""

    node_blacklist: frozenset[str] = frozenset()
    hidden_prefixes: tuple[str, ...] = ()
    observer_blacklist: frozenset[str] = frozenset()
    inside_geofilter: GeoCheck | None = None
    areas: Mapping[str, Area] | None = None

    @classmethod
    def of(cls, settings: Settings, inside_geofilter: GeoCheck | None) -> Visibility:
        """The filters configured in `settings`."""
        return cls(
            node_blacklist=frozenset(k.strip().lower() for k in settings.node_blacklist),
            hidden_prefixes=tuple(p for p in settings.hidden_name_prefixes if p),
            observer_blacklist=frozenset(o.strip().lower() for o in settings.observer_blacklist),
            inside_geofilter=inside_geofilter,
            areas=settings.areas,
        )

    def node_hidden(self, node: Node) -> bool:
        """Blacklisted, or named with a hidden prefix."""
        if node.public_key in self.node_blacklist:
            return True
        return any(node.name.startswith(prefix) for prefix in self.hidden_prefixes)

    def node_local(self, node: Node) -> bool:
        """§0.3 geo_filter: no position, a foreign flag, or inside the filter."""
        if self.inside_geofilter is None or node.foreign:
            return True
        return self.inside_geofilter(node.lat, node.lon)

    def observer_hidden(self, observer_id: str) -> bool:
        """On the observer blacklist (trimmed, case-insensitive)."""
        return observer_id.strip().lower() in self.observer_blacklist

    def area(self, key: str) -> Area:
        """A configured area; an unknown key is a 400 naming the keys there are."""
        area = (self.areas or {}).get(key)
        if area is None:
            known = ", ".join(sorted(self.areas or {})) or "none are configured"
            raise QueryError("area", f"an area key from config `areas` ({known})", key)
        return area


def in_area(area: Area, node: Node) -> bool:
    """§0.2: a node with a real position (not 0,0) inside the area's polygon or box."""
    if not node.has_gps or node.lat is None or node.lon is None:
        return False
    if area.polygon:
        return inside_polygon(node.lat, node.lon, area.polygon)
    box = area.box
    return box is not None and (
        box.lat_min <= node.lat <= box.lat_max and box.lon_min <= node.lon <= box.lon_max
    )
