"""Each node's home region: where its zero-hop adverts are heard most (part-b §1.4).

A zero-hop direct advert is heard only by observers in radio range of its sender, so
the region of the observers that hear those adverts most often is where the node
lives. Ties go to the alphabetically first region. Only active observers with a
region count.
"""

from __future__ import annotations

import numpy as np

from meshlens.analytics.hash_info import zero_hop_direct
from meshlens.store.snapshot import Snapshot
from meshlens.wire import PayloadType


def home_regions(snap: Snapshot) -> dict[str, str]:
    """Public key -> IATA code; computed once per snapshot."""
    return snap.memo("home-regions", lambda: build_home_regions(snap))


def build_home_regions(snap: Snapshot) -> dict[str, str]:
    """Count each node's zero-hop adverts per observer region and keep the top region.

    The reference reads the path byte at offset 1 even for TRANSPORT_DIRECT frames
    (a transport code byte there); meshlens uses the frame's real path byte.
    """
    iatas = sorted(
        {o.iata.strip().upper() for o in snap.observers if not o.inactive and o.iata.strip()}
    )
    if not iatas:
        return {}
    code_of = {iata: i for i, iata in enumerate(iatas)}
    observer_code = np.array(
        [
            -1 if o.inactive or not o.iata.strip() else code_of[o.iata.strip().upper()]
            for o in snap.observers
        ],
        np.int64,
    )
    tx = snap.tx
    direct = (tx.payload_type == PayloadType.ADVERT) & (tx.from_key >= 0) & zero_hop_direct(snap)
    if not direct.any():
        return {}
    rows = np.flatnonzero(direct[snap.obs.tx])
    code = observer_code[snap.obs.observer[rows]]
    heard = code >= 0
    key = tx.from_key[snap.obs.tx[rows[heard]]].astype(np.int64)
    pairs, counts = np.unique(key * len(iatas) + code[heard], return_counts=True)
    node, region = np.divmod(pairs, len(iatas))
    # Most heard first, then the alphabetically first region: the first row per node wins.
    order = np.lexsort((region, -counts, node))
    node, region = node[order], region[order]
    first = np.ones(node.shape[0], np.bool_)
    first[1:] = node[1:] != node[:-1]
    return {
        snap.strings[int(k)]: iatas[int(r)]
        for k, r in zip(node[first].tolist(), region[first].tolist(), strict=True)
    }
