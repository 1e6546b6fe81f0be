"""Which transmissions a packet query keeps (api-resources §9.1-9.2), as numpy masks.

Every mask is over the transmission rows of one snapshot. Masks that scan observations
(heard by these observers, relayed by a node) grow with the store in the ObservationIndex
(a new generation scans only its new sightings) and are memoised on the snapshot.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from meshlens.api.resources.index import I64, ObservationIndex
from meshlens.api.resources.visibility import in_area as node_in_area
from meshlens.config import Area
from meshlens.records import Node
from meshlens.store.batch import DECRYPTION_DECRYPTED
from meshlens.store.snapshot import Snapshot

Mask = npt.NDArray[np.bool_]
GRP_TXT = 5
ADVERT = 4
# Node-prefix lengths (hex digits) that hops can have: 1, 2, 3, 4 and 8 bytes.
HOP_PREFIXES = (2, 4, 6, 8, 16)


def heard_by(snap: Snapshot, observers: list[int], index: ObservationIndex) -> Mask:
    """Transmissions with at least one observation by one of these observer indexes."""
    if not observers:
        return np.zeros(len(snap.tx), np.bool_)
    chosen = tuple(sorted(set(observers)))
    wanted = np.zeros(max(chosen) + 1, np.bool_)
    wanted[list(chosen)] = True

    def marker(s: Snapshot, start: int, stop: int) -> I64:
        who = s.obs.observer[start:stop]
        hit = (who < wanted.shape[0]) & wanted[np.minimum(who, wanted.shape[0] - 1)]
        return s.obs.tx[start:stop][hit].astype(np.int64)

    key = ("heard", chosen)
    return snap.memo(f"resources:heard:{chosen}", lambda: index.marked(snap, key, marker))


def region_observers(snap: Snapshot, region: frozenset[str]) -> list[int]:
    """Observer indexes whose trimmed, upper-cased IATA is one of `region`."""
    return [i for i, o in enumerate(snap.observers) if o.iata.strip().upper() in region]


def observer_indexes(snap: Snapshot, ids: tuple[str, ...]) -> list[int]:
    """Indexes of the observers with these exact ids (unknown ids are skipped)."""
    found = (snap.observer_ids.id_of(i) for i in ids)
    return [i for i in found if i is not None]


def first_seen_s(snap: Snapshot) -> npt.NDArray[np.int64]:
    """First-seen times truncated to the second, as the API shows them (in ms)."""
    return snap.memo(
        "resources:first_seen_s", lambda: snap.tx.first_seen_ms - snap.tx.first_seen_ms % 1000
    )


def between(snap: Snapshot, since_ms: int | None, until_ms: int | None, *, inclusive: bool) -> Mask:
    """First seen after `since` and before `until` (strict, or inclusive for `nodes=`)."""
    shown = first_seen_s(snap)
    mask = np.ones(shown.shape[0], np.bool_)
    if since_ms is not None:
        mask &= shown >= since_ms if inclusive else shown > since_ms
    if until_ms is not None:
        mask &= shown <= until_ms if inclusive else shown < until_ms
    return mask


def channel(snap: Snapshot, value: str) -> Mask:
    """GRP_TXT whose channel label is `value`, or whose hash byte is `enc_<HEX>`."""
    tx = snap.tx
    mask = tx.payload_type == GRP_TXT
    label_id = snap.strings.id_of(value)
    by_label = (tx.channel == label_id) & (tx.decryption == DECRYPTION_DECRYPTED)
    if label_id is None:
        by_label = np.zeros(len(tx), np.bool_)
    by_hash = np.zeros(len(tx), np.bool_)
    if value.startswith("enc_") and len(value) == 6:
        try:
            byte = int(value[4:], 16)
        except ValueError:
            byte = -1
        if value[4:] == f"{byte:02X}":
            by_hash = tx.channel_hash == byte
    kept: Mask = mask & (by_label | by_hash)
    return kept


def from_keys(snap: Snapshot, public_keys: set[str]) -> Mask:
    """Transmissions whose advert originator is one of `public_keys`."""
    ids = [i for i in (snap.strings.id_of(k) for k in public_keys) if i is not None]
    if not ids:
        return np.zeros(len(snap.tx), np.bool_)
    found: Mask = np.isin(snap.tx.from_key, np.array(ids, np.int32))
    return found


def unique_prefix_hops(snap: Snapshot, public_key: str) -> list[int]:
    """Hop ids that name this node alone among the known nodes (protocol §15 cold rule)."""
    owners = snap.memo("resources:prefix_owners", lambda: _prefix_owners(snap.nodes))
    upper = public_key.upper()
    out = []
    for width in HOP_PREFIXES:
        prefix = upper[:width]
        if len(prefix) == width and owners.get(prefix) == upper:
            hop = _hop_id(snap, prefix)
            if hop is not None:
                out.append(hop)
    return out


def _prefix_owners(nodes: tuple[Node, ...]) -> dict[str, str | None]:
    owners: dict[str, str | None] = {}
    for node in nodes:
        upper = node.public_key.upper()
        for width in HOP_PREFIXES:
            prefix = upper[:width]
            owners[prefix] = upper if prefix not in owners else None
    return owners


def _hop_id(snap: Snapshot, hex_prefix: str) -> int | None:
    table = snap.memo("resources:hop_ids", lambda: {h: i for i, h in enumerate(snap.hop_hex)})
    return table.get(hex_prefix)


def relayed_by(snap: Snapshot, hop_ids: list[int], index: ObservationIndex) -> Mask:
    """Transmissions with an observation whose path holds one of `hop_ids`."""
    if not hop_ids:
        return np.zeros(len(snap.tx), np.bool_)
    chosen = tuple(sorted(set(hop_ids)))

    def marker(s: Snapshot, start: int, stop: int) -> I64:
        obs = s.obs
        if start >= stop:
            return np.empty(0, np.int64)
        first = int(obs.path_off[start])
        last = int(obs.path_off[stop - 1]) + int(obs.path_len[stop - 1])
        hops = s.hops[first:last]
        # Hop ids interned later than this snapshot cannot appear in its paths.
        lookup = np.zeros(max(len(s.hop_hex), max(chosen) + 1), np.bool_)
        lookup[list(chosen)] = True
        positions = np.flatnonzero(lookup[hops]) + first
        if not positions.size:
            return np.empty(0, np.int64)
        offsets = obs.path_off[start:stop]
        rows = np.searchsorted(offsets, positions, side="right") - 1 + start
        return obs.tx[rows].astype(np.int64)

    return index.marked(snap, ("relayed", chosen), marker)


def node_public_key(snap: Snapshot, value: str) -> str:
    """§9.1 `node`: a known public key, a node's name, or else the value as it is."""
    lowered = value.strip().lower()
    if snap.node(lowered) is not None:
        return lowered
    for node in snap.nodes:
        if node.name == value:
            return node.public_key
    return lowered


def node_index(snap: Snapshot, public_key: str, index: ObservationIndex) -> Mask:
    """The node's transmissions: its own adverts and those it relayed (unique prefix)."""
    return snap.memo(
        f"resources:node:{public_key}",
        lambda: (
            from_keys(snap, {public_key})
            | relayed_by(snap, unique_prefix_hops(snap, public_key), index)
        ),
    )


def in_area(snap: Snapshot, area_nodes: set[str]) -> Mask:
    """§9.1 `area`: adverts whose originator is in the area's node set."""
    adverts: Mask = snap.tx.payload_type == ADVERT
    return adverts & from_keys(snap, area_nodes)


def area_node_keys(snap: Snapshot, area: Area) -> set[str]:
    """Public keys of the nodes inside `area` (§0.2)."""
    return {n.public_key for n in snap.nodes if node_in_area(area, n)}
