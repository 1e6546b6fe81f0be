"""Topology (analytics-part-a §2): path lengths, busiest repeaters and links, per-observer reach.

Works on each in-scope transmission's best observation. Counting is vectorised over hop
occurrences; hops are resolved once per distinct hop id with the scope's union context.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from meshlens.analytics.hops.arrays import distinct, distinct_inverse, expand
from meshlens.analytics.hops.context import resolve_with_union
from meshlens.analytics.hops.roster import Roster, hop_candidates, roster_of
from meshlens.analytics.query import Query
from meshlens.analytics.reach import Labels, cross_observer, per_observer_reach, reach_of
from meshlens.analytics.scope import transmissions_in_scope
from meshlens.records import JSONObject, JSONValue
from meshlens.store.snapshot import Snapshot

I64 = npt.NDArray[np.int64]

WEEK_MS = 7 * 24 * 3_600_000
HOP_DISTRIBUTION_MAX = 25
HOPS_VS_SNR_MAX = 20
TOP_REPEATERS = 20
TOP_PAIRS = 15


def compute(snap: Snapshot, query: Query) -> JSONValue:
    """The topology response for one query shape."""
    roster = roster_of(snap)
    in_scope = np.flatnonzero(transmissions_in_scope(snap, query) & (snap.tx.best_obs >= 0))
    tx_rows = in_scope.astype(np.int64)
    best = snap.tx.best_obs[tx_rows].astype(np.int64)
    plen = snap.obs.path_len[best].astype(np.int64)
    with_path = plen > 0
    best, plen = best[with_path], plen[with_path]
    owner, within = expand(plen)
    hop = snap.hops[snap.obs.path_off[best][owner] + within].astype(np.int64)
    dist = plen[owner] - within
    observer = snap.obs.observer[best].astype(np.int64)
    n_hops = len(snap.hop_hex)
    hop_hex = list(snap.hop_hex)
    hop_rank = _rank(hop_hex)
    hop_ids = distinct(hop)
    node_of = np.full(n_hops, -1, np.int64)
    node_of[hop_ids] = resolve_with_union(snap, tx_rows, hop_ids, query.now_ms)
    labels = _labels(
        snap,
        roster,
        hop_hex=hop_hex,
        hop_rank=hop_rank,
        node_of=node_of,
        blacklist=query.node_blacklist,
    )
    hop_freq = np.bincount(hop, minlength=n_hops)
    reach = reach_of(observer[owner], hop, dist, n_hops)
    multi, best_list = cross_observer(reach, labels)
    observers_used = distinct(observer).tolist()
    out: JSONObject = {
        "uniqueNodes": sum(1 for n in snap.nodes if n.last_seen_ms > query.now_ms - WEEK_MS),
        **_summary(plen, snap.obs.snr_db[best]),
        "topRepeaters": _top_repeaters(snap, hop_freq, hop_hex, labels),
        "topPairs": _top_pairs(snap, hop, owner, hop_hex=hop_hex, hop_rank=hop_rank, labels=labels),
        "observers": [
            {"id": labels.observer_id[o], "name": labels.observer_name[o] or labels.observer_id[o]}
            for o in sorted(observers_used, key=labels.observer_id.__getitem__)
            if labels.observer_id[o]
        ],
        "perObserverReach": per_observer_reach(reach, labels),
        "multiObsNodes": multi,
        "bestPathList": best_list,
    }
    return out


def _rank(hop_hex: list[str]) -> I64:
    order = sorted(range(len(hop_hex)), key=hop_hex.__getitem__)
    rank = np.empty(len(hop_hex), np.int64)
    rank[order] = np.arange(len(hop_hex))
    return rank


def _labels(
    snap: Snapshot,
    roster: Roster,
    *,
    hop_hex: list[str],
    hop_rank: I64,
    node_of: I64,
    blacklist: frozenset[str],
) -> Labels:
    keys, names = roster.keys, roster.names
    nodes = node_of.tolist()

    def hop_node(h: int) -> tuple[str | None, str | None]:
        n = nodes[h]
        return (None, None) if n < 0 else (names[n], keys[n])

    black = frozenset(k.lower() for k in blacklist)
    return Labels(
        hop_hex=hop_hex,
        hop_rank=hop_rank,
        hop_node=hop_node,
        observer_id=[o.id for o in snap.observers],
        observer_name=[o.name for o in snap.observers],
        hidden=(lambda pk: pk is not None and pk in black) if black else (lambda pk: False),
    )


def _summary(plen: I64, snr: npt.NDArray[np.float32]) -> JSONObject:
    """avgHops, medianHops, maxHops, hopDistribution and hopsVsSnr (§2.3 steps 4-5, 10)."""
    if plen.size == 0:
        return {"avgHops": 0, "medianHops": 0, "maxHops": 0, "hopDistribution": [],
                "hopsVsSnr": []}  # fmt: skip
    counts = np.bincount(plen)
    upper = int(np.searchsorted(np.cumsum(counts), plen.size // 2, side="right"))
    has_snr = ~np.isnan(snr)
    snr_n = np.bincount(plen[has_snr], minlength=counts.size)
    snr_sum = np.bincount(plen[has_snr], weights=snr[has_snr].astype(np.float64),
                          minlength=counts.size)  # fmt: skip
    return {
        "avgHops": float(plen.mean()),
        "medianHops": upper,
        "maxHops": int(plen.max()),
        "hopDistribution": [
            {"hops": n, "count": int(counts[n])}
            for n in range(1, min(counts.size, HOP_DISTRIBUTION_MAX + 1))
            if counts[n]
        ],
        "hopsVsSnr": [
            {"hops": n, "count": int(snr_n[n]), "avgSnr": float(snr_sum[n] / snr_n[n])}
            for n in range(1, min(counts.size, HOPS_VS_SNR_MAX + 1))
            if snr_n[n]
        ],
    }


def _top_repeaters(
    snap: Snapshot, hop_freq: I64, hop_hex: list[str], labels: Labels
) -> list[JSONValue]:
    """§2.3 steps 6 and 8: counts merged by unique node, the 20 busiest."""
    merge = hop_candidates(snap).merge_node
    totals: dict[str, int] = {}
    display: dict[int, str] = {}  # node -> its longest hop string
    for h in np.flatnonzero(hop_freq).tolist():
        text, node = hop_hex[h], int(merge[h])
        if node < 0:
            totals[text] = totals.get(text, 0) + int(hop_freq[h])
            continue
        shown = display.get(node)
        if shown is None or (len(text), text) > (len(shown), shown):
            display[node] = text
        totals[f"\0{node}"] = totals.get(f"\0{node}", 0) + int(hop_freq[h])
    rows = [(display[int(k[1:])] if k.startswith("\0") else k, n) for k, n in totals.items()]
    rows.sort(key=lambda r: (-r[1], r[0]))
    out: list[JSONValue] = []
    for text, n in rows:
        name, pubkey = _resolve_text(snap, text, labels)
        if labels.hidden(pubkey):
            continue
        out.append({"hop": text, "count": n, "name": name, "pubkey": pubkey})
        if len(out) == TOP_REPEATERS:
            break
    return out


def _top_pairs(
    snap: Snapshot, hop: I64, owner: I64, *, hop_hex: list[str], hop_rank: I64, labels: Labels
) -> list[JSONValue]:
    """§2.3 steps 7 and 9: consecutive hop pairs, merged by node pair, the 15 busiest."""
    if hop.size < 2:
        return []
    same = owner[1:] == owner[:-1]
    a, b = hop[:-1][same], hop[1:][same]
    swap = hop_rank[a] > hop_rank[b]
    lo, hi = np.where(swap, b, a), np.where(swap, a, b)
    n_hops = max(len(hop_hex), 1)
    pairs, inverse = distinct_inverse(lo * n_hops + hi)
    counts = np.bincount(inverse)
    merge = hop_candidates(snap).merge_node.tolist()
    totals: dict[tuple[str, str], int] = {}
    longest: dict[int, str] = {}
    merged: dict[tuple[int, int], int] = {}
    for k, n in zip(pairs.tolist(), counts.tolist(), strict=True):
        x, y = divmod(k, n_hops)
        nx, ny = merge[x], merge[y]
        if nx < 0 or ny < 0:
            totals[(hop_hex[x], hop_hex[y])] = n
            continue
        for node, h in ((nx, x), (ny, y)):
            shown = longest.get(node)
            if shown is None or (len(hop_hex[h]), hop_hex[h]) > (len(shown), shown):
                longest[node] = hop_hex[h]
        pair = (min(nx, ny), max(nx, ny))
        merged[pair] = merged.get(pair, 0) + n
    for (nx, ny), n in merged.items():
        sx, sy = sorted((longest[nx], longest[ny]))
        totals[(sx, sy)] = totals.get((sx, sy), 0) + n
    rows = sorted(totals.items(), key=lambda r: (-r[1], r[0]))
    out: list[JSONValue] = []
    for (ha, hb), n in rows:
        name_a, pk_a = _resolve_text(snap, ha, labels)
        name_b, pk_b = _resolve_text(snap, hb, labels)
        if labels.hidden(pk_a) or labels.hidden(pk_b):
            continue
        out.append({"hopA": ha, "hopB": hb, "count": n, "nameA": name_a, "nameB": name_b,
                    "pubkeyA": pk_a, "pubkeyB": pk_b})  # fmt: skip
        if len(out) == TOP_PAIRS:
            break
    return out


def _resolve_text(snap: Snapshot, text: str, labels: Labels) -> tuple[str | None, str | None]:
    """Name and pubkey of a hop string that occurs in scope (so it has an interned id)."""
    hop_id = _hop_id(snap, text)
    return labels.hop_node(hop_id) if hop_id is not None else (None, None)


def _hop_id(snap: Snapshot, text: str) -> int | None:
    index: dict[str, int] = snap.memo(
        "topology.hop_index", lambda: {h: i for i, h in enumerate(snap.hop_hex)}
    )
    return index.get(text)
