"""The radio model: who hears whom, and at what SNR and RSSI.

Log-distance path loss at ~915 MHz whose exponent and clutter loss depend on how high
both antennas sit (ground, roof, hill), plus a fixed shadowing term per pair of nodes
(terrain, buildings) that is the same in both directions. Each transmission adds fading;
a frame is received when its SNR clears the LoRa demodulation floor. Only pairs that can
ever hear each other are kept, so the tables stay small at any mesh size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from meshlens.sim.geography import REGIONS_PER_CLUSTER
from meshlens.sim.mesh import Mesh, Site

FSPL_1KM_DB: Final = 91.7  # free-space path loss at 1 km, ~915 MHz
ANTENNA_GAINS_DB: Final = 4.0  # both ends together
SNR_FLOOR_DB: Final = -9.0  # a frame whose SNR (after fading) is below this is lost
FADING_SIGMA_DB: Final = 2.5  # per-transmission fading
SHADOW_SIGMA_DB: Final = 6.0  # per-pair terrain and clutter
CAPTURE_DB: Final = 8.0  # a frame survives an overlapping one this much weaker
_KEEP_ABOVE_DB: Final = SNR_FLOOR_DB - 2.5 * FADING_SIGMA_DB  # never heard below this
SOLID_ABOVE_DB: Final = SNR_FLOOR_DB + 4 * FADING_SIGMA_DB  # always heard above this
_CHUNK: Final = 512

# (exponent, clutter loss dB) by the two antennas' sites, lower site first; the comment
# gives the median range at the demodulation floor for a 22 dBm transmitter.
_PROPAGATION: Final = {
    (Site.GROUND, Site.GROUND): (3.8, 54.6),  # ~1.5 km
    (Site.GROUND, Site.ROOF): (3.5, 47.4),  # ~2.5 km
    (Site.GROUND, Site.HILL): (3.2, 36.4),  # ~6 km
    (Site.ROOF, Site.ROOF): (3.3, 41.4),  # ~4 km
    (Site.ROOF, Site.HILL): (3.0, 31.3),  # ~10 km
    (Site.HILL, Site.HILL): (2.7, 21.4),  # ~30 km
}

Link = tuple[int, float]  # (receiving node, SNR in dB before fading)


@dataclass(frozen=True, slots=True)
class Links:
    """For every node, the nodes that can hear it, with their mean SNR and RSSI."""

    heard_by: tuple[tuple[Link, ...], ...]  # by transmitting node
    signal_dbm: dict[tuple[int, int], float]  # (tx, rx) -> mean received signal

    def snr(self, tx: int, rx: int) -> float | None:
        """Mean SNR of tx -> rx, or None when rx can never hear tx."""
        for node, snr in self.heard_by[tx]:
            if node == rx:
                return snr
        return None


def build_links(mesh: Mesh) -> Links:
    """Compute every usable link of the mesh, cluster by cluster, in bounded row chunks.

    Metro clusters sit beyond radio range of each other (mesh.CLUSTER_SPACING_KM), so
    only pairs within a cluster are computed.
    """
    nodes = mesh.nodes
    n = len(nodes)
    x = np.array([nd.x_km for nd in nodes])
    y = np.array([nd.y_km for nd in nodes])
    site = np.array([int(nd.site) for nd in nodes], np.int64)
    power = np.array([nd.tx_power_dbm for nd in nodes])
    noise = np.array([nd.noise_floor_dbm for nd in nodes])
    cluster = np.array([nd.region // REGIONS_PER_CLUSTER for nd in nodes], np.int64)
    exponent = np.zeros((3, 3))
    clutter = np.zeros((3, 3))
    for (a, b), (e, c) in _PROPAGATION.items():
        exponent[a, b] = exponent[b, a] = e
        clutter[a, b] = clutter[b, a] = c
    heard_by: list[list[Link]] = [[] for _ in range(n)]
    signal: dict[tuple[int, int], float] = {}
    for group in np.unique(cluster):
        cols = np.flatnonzero(cluster == group).astype(np.int64)
        for lo in range(0, cols.size, _CHUNK):
            rows = cols[lo : lo + _CHUNK]
            dist = np.maximum(
                np.hypot(x[rows, None] - x[None, cols], y[rows, None] - y[None, cols]), 0.05
            )
            s_r, s_c = site[rows, None], site[None, cols]
            loss = (
                FSPL_1KM_DB
                + 10 * exponent[s_r, s_c] * np.log10(dist)
                + clutter[s_r, s_c]
                + shadowing(rows[:, None], cols[None, :], mesh.seed)
            )
            rx_signal = power[rows, None] + ANTENNA_GAINS_DB - loss
            snr = rx_signal - noise[None, cols]
            snr[rows[:, None] == cols[None, :]] = -np.inf  # a node does not hear itself
            r_idx, c_idx = np.nonzero(snr >= _KEEP_ABOVE_DB)
            for r, c in zip(r_idx.tolist(), c_idx.tolist(), strict=True):
                tx, rx = int(rows[r]), int(cols[c])
                heard_by[tx].append((rx, round(float(snr[r, c]), 2)))
                signal[(tx, rx)] = float(rx_signal[r, c])
    return Links(tuple(tuple(links) for links in heard_by), signal)


def shadowing(
    a: npt.NDArray[np.int64], b: npt.NDArray[np.int64], seed: int
) -> npt.NDArray[np.float64]:
    """A normal(0, SHADOW_SIGMA_DB) value per unordered pair, the same both ways."""
    lo = np.minimum(a, b).astype(np.uint64)
    hi = np.maximum(a, b).astype(np.uint64)
    key = (lo << np.uint64(32)) ^ hi ^ np.uint64(seed * 0x9E3779B1 & 0xFFFFFFFF)
    u1 = (_mix(key) >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    u2 = (_mix(key ^ np.uint64(0xA5A5A5A5)) >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    normal = np.sqrt(-2.0 * np.log(np.maximum(u1, 1e-12))) * np.cos(2 * np.pi * u2)
    return SHADOW_SIGMA_DB * normal


def _mix(key: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """splitmix64's finaliser: a fast, well-spread integer hash."""
    with np.errstate(over="ignore"):
        z = key + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))
