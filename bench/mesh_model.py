"""A synthetic mesh whose true relays are known: for resolver accuracy tests and benchmarks.

Nodes are scattered over a region; repeaters within radio range link up, and every
packet floods from the repeater nearest its origin along shortest repeater routes to
each observer in reach. Paths carry 1- or 2-byte pubkey prefixes, so prefixes collide
the way they do on real meshes, and `truth` keeps the node behind every hop.
Stand-in until the simulator (`meshlens simulate`) is on main.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from meshlens.records import Node, Observer, ObserverId, PubKey
from meshlens.store.batch import ObsBatch, ObserverRow, StoreBatch, TxRow
from meshlens.store.store import PacketStore

T_END = 1_767_225_600_000  # 2026-01-01T00:00:00Z
DAY = 86_400_000
RADIO_KM = 28.0
KM_PER_DEG = 111.0


@dataclass(frozen=True, slots=True)
class MeshModel:
    """A stored synthetic mesh and the true node index behind every stored hop."""

    store: PacketStore
    truth: npt.NDArray[np.int64]  # aligned with snapshot().hops: true node index per hop
    now_ms: int


def build_mesh(
    *,
    seed: int = 1,
    nodes: int = 2000,
    transmissions: int = 80_000,
    observers: int = 60,
    span_deg: float = 2.0,
    two_byte_share: float = 0.2,
    gps_share: float = 0.85,
    max_hops: int = 10,
) -> MeshModel:
    """Generate and store a mesh; sizes default to the staging profile."""
    rng = np.random.default_rng(seed)
    lat = 47.0 + rng.random(nodes) * span_deg
    lon = -122.0 + rng.random(nodes) * span_deg * 1.4
    roles = ["repeater", "companion", "room", "sensor"]
    role = rng.choice(roles, nodes, p=[0.45, 0.45, 0.05, 0.05])
    keys = [rng.bytes(32).hex() for _ in range(nodes)]
    gps = rng.random(nodes) < gps_share
    width = np.where(rng.random(nodes) < two_byte_share, 2, 1)
    relays = np.flatnonzero(role == "repeater")
    parent = _routes(lat, lon, relays)
    obs_nodes = rng.choice(relays, observers, replace=False)
    node_rows = [
        Node(
            PubKey(keys[i]),
            f"n{i}",
            str(role[i]),
            float(lat[i]) if gps[i] else None,
            float(lon[i]) if gps[i] else None,
            T_END - 30 * DAY,
            T_END - int(rng.integers(0, 5 * DAY)),
            int(rng.integers(1, 60)),
        )
        for i in range(nodes)
    ]
    observer_rows = [
        ObserverRow(j + 1, Observer(ObserverId(keys[o].upper()), f"obs{j}",
                                    "SEA" if lon[o] < -121.3 else "PDX", 0, T_END))
        for j, o in enumerate(obs_nodes.tolist())
    ]  # fmt: skip
    entry = _nearest(lat, lon, relays)
    tx_rows: list[TxRow] = []
    cols: dict[str, list[int]] = {k: [] for k in ("tx", "observer", "ts", "width")}
    paths: list[bytes] = []
    truth: list[int] = []
    origins = rng.integers(0, nodes, transmissions)
    times = np.sort(T_END - rng.integers(0, 7 * DAY, transmissions))
    advert = rng.random(transmissions) < 0.15
    route_cache: dict[tuple[int, int], list[int] | None] = {}
    for t in range(transmissions):
        o = int(origins[t])
        origin = keys[o] if advert[t] else None
        kind = 4 if advert[t] else 2
        tx_rows.append(TxRow(t + 1, f"{t + 1:016x}", int(times[t]), 1, kind, 1, 0, b"\x00\x00",
                             from_pubkey=origin))  # fmt: skip
        start = int(entry[o])
        w = int(width[o])
        for j, obs in enumerate(obs_nodes.tolist()):
            if obs == o:
                continue
            if _km(lat, lon, o, obs) <= RADIO_KM and rng.random() < 0.5:
                route: list[int] | None = []
            else:
                key = (start, obs)
                if key not in route_cache:
                    route_cache[key] = _route(parent, start, obs)
                route = route_cache[key]
            if route is None or len(route) > max_hops or rng.random() < 0.2:
                continue
            cols["tx"].append(t + 1)
            cols["observer"].append(j + 1)
            cols["ts"].append(int(times[t]) + int(rng.integers(0, 2000)))
            cols["width"].append(w)
            paths.append(b"".join(bytes.fromhex(keys[h][: 2 * w]) for h in route))
            truth.extend(route)
    n = len(paths)
    batch = StoreBatch(
        transmissions=tx_rows,
        observations=ObsBatch(
            db_id=np.arange(1, n + 1, dtype=np.int64),
            tx_db_id=np.array(cols["tx"], np.int64),
            observer_rowid=np.array(cols["observer"], np.int64),
            ts_ms=np.array(cols["ts"], np.int64),
            snr_db=(rng.integers(-40, 50, n) / 4).astype(np.float32),
            rssi_dbm=rng.integers(-120, -60, n).astype(np.float32),
            direction=np.ones(n, np.uint8),
            path_byte=np.array([len(p) for p in paths], np.uint8),
            hop_width=np.array(cols["width"], np.uint8),
            paths=paths,
        ),
        nodes=node_rows,
        observers=observer_rows,
    )
    store = PacketStore()
    store.append(batch)
    return MeshModel(store, np.array(truth, np.int64), T_END)


def _km(lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64], a: int, b: int) -> float:
    d_lat = (lat[a] - lat[b]) * KM_PER_DEG
    d_lon = (lon[a] - lon[b]) * KM_PER_DEG * np.cos(np.radians(lat[a]))
    return float(np.hypot(d_lat, d_lon))


def _nearest(
    lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64], relays: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Per node: the repeater nearest to it (itself for a repeater)."""
    d = np.hypot(lat[:, None] - lat[relays][None, :], (lon[:, None] - lon[relays][None, :]) * 0.68)
    return np.asarray(relays[np.argmin(d, axis=1)], np.int64)


def _routes(
    lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64], relays: npt.NDArray[np.int64]
) -> dict[int, list[int]]:
    """The repeater radio graph: each repeater's repeaters within range."""
    rl, ro = lat[relays], lon[relays]
    d = np.hypot((rl[:, None] - rl[None, :]) * KM_PER_DEG,
                 (ro[:, None] - ro[None, :]) * KM_PER_DEG * 0.68)  # fmt: skip
    near = (d <= RADIO_KM) & (d > 0)
    return {int(relays[i]): relays[np.flatnonzero(near[i])].tolist() for i in range(relays.size)}


def _route(graph: dict[int, list[int]], start: int, observer: int) -> list[int] | None:
    """Shortest repeater route from `start` to a repeater next to `observer`, or None."""
    prev: dict[int, int] = {start: start}
    queue = deque([start])
    while queue:
        here = queue.popleft()
        if observer in graph[here] or here == observer:
            route = [here]
            while route[-1] != start:
                route.append(prev[route[-1]])
            route.reverse()
            return [r for r in route if r != observer] or None
        for nxt in graph[here]:
            if nxt not in prev:
                prev[nxt] = here
                queue.append(nxt)
    return None
