"""The parts that hold and write meshlens' data, built from Settings.

`open_storage` opens the database, fills the store from it and builds the pipeline that
writes both; `meshlens serve`, `meshlens import`, the tests and the benchmarks all start
here. The rest turns settings into the values those parts take (channel and region keys,
the geofilter, ingest and retention rules).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass

from meshlens.config import GeoFilter, Settings
from meshlens.db.database import Database
from meshlens.geo import inside_polygon, near_polygon
from meshlens.ingest import retention
from meshlens.ingest.loader import load_store
from meshlens.ingest.pipeline import Pipeline, PipelineOptions
from meshlens.store.store import LoadProgress, PacketStore
from meshlens.wire import ChannelKeys, RegionKeys

log = logging.getLogger("meshlens")


def channel_keys(settings: Settings) -> ChannelKeys:
    """The channel keys of protocol §4.4, in the reference loading order; warns on bad ones."""
    keys, warnings = ChannelKeys.build(
        rainbow={name: key.reveal() for name, key in settings.rainbow_keys.items()},
        hash_channels=settings.hash_channels,
        explicit={name: key.reveal() for name, key in settings.channel_keys.items()},
    )
    for warning in warnings:
        log.warning("channel keys: %s", warning)
    return keys


def region_keys(settings: Settings) -> RegionKeys:
    """The transport-scope regions of protocol §8 (`hashRegions`)."""
    return RegionKeys.from_names(settings.hash_regions)


def geofilter_check(geo: GeoFilter | None) -> Callable[[float | None, float | None], bool] | None:
    """protocol §18 as a predicate: True when an advertised position counts as local."""
    if geo is None or (not geo.polygon and geo.box is None):
        return None
    # A partial of a module function, not a closure: it is pickled to the pipeline process.
    return functools.partial(_inside_geofilter, geo)


def _inside_geofilter(geo: GeoFilter, lat: float | None, lon: float | None) -> bool:
    if lat is None or lon is None or (lat == 0.0 and lon == 0.0):
        return True
    if geo.polygon:
        return inside_polygon(lat, lon, geo.polygon) or (
            geo.buffer_km > 0 and near_polygon(lat, lon, geo.polygon, geo.buffer_km)
        )
    box = geo.box
    assert box is not None
    return box.lat_min <= lat <= box.lat_max and box.lon_min <= lon <= box.lon_max


def retention_policy(settings: Settings) -> retention.RetentionPolicy:
    """What retention keeps, from the `retention` settings."""
    r = settings.retention
    return retention.RetentionPolicy(
        packet_days=r.packet_days, max_database_mb=r.max_database_mb,
        observer_days=r.observer_days, metrics_days=r.metrics_days,
        interval_s=r.check_interval_min * 60.0,
    )  # fmt: skip


def pipeline_options(settings: Settings) -> PipelineOptions:
    """Ingest rules from the settings."""
    return PipelineOptions(
        validate_signatures=settings.validate_signatures,
        inside_geofilter=geofilter_check(settings.geo_filter),
        drop_foreign_adverts=settings.foreign_adverts.mode == "drop",
        metrics_interval_s=settings.metrics.sample_interval_s,
    )


@dataclass(slots=True)
class Storage:
    """An open database with its store and the pipeline that writes both."""

    db: Database
    store: PacketStore
    pipeline: Pipeline
    keys: ChannelKeys

    def close(self) -> None:
        """Close the database (queued writes finish first)."""
        self.db.close()


def open_storage(
    settings: Settings,
    *,
    load: bool = True,
    on_progress: Callable[[LoadProgress], None] | None = None,
) -> Storage:
    """Open the configured database, optionally fill the store from it, build the pipeline."""
    db = Database(settings.db_path)
    store = PacketStore()
    keys = channel_keys(settings)
    regions = region_keys(settings)
    if load:
        load_store(db, store, keys=keys, regions=regions, on_progress=on_progress)
    pipeline = Pipeline(db, store, keys=keys, regions=regions, options=pipeline_options(settings))
    return Storage(db, store, pipeline, keys)
