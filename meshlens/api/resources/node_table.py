"""The node list as columns and its rows as JSON, kept while the store's node table stands.

The store replaces its tuple of nodes only when an advert upserts one, and keeps the Node
objects it did not change, so the columns (filters and sort orders as numpy) are rebuilt
per node tuple, not per request or store generation, and a node's JSON object is built
once per Node object, relay figures and relay-active state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from meshlens.api.resources.visibility import Visibility
from meshlens.records import JSONObject, JSONValue, Node

I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]
ROLE_COUNTS = {"repeater": "repeaters", "room": "rooms", "companion": "companions",
               "sensor": "sensors"}  # fmt: skip


def role_counts(nodes: tuple[Node, ...] | list[Node]) -> JSONObject:
    """`{repeaters, rooms, companions, sensors}` over `nodes` (plural keys)."""
    counts = dict.fromkeys(ROLE_COUNTS.values(), 0)
    for node in nodes:
        key = ROLE_COUNTS.get(node.role)
        if key is not None:
            counts[key] += 1
    return dict[str, JSONValue](counts)


@dataclass(slots=True)
class NodeTable:
    """Columns of one node tuple, for filtering and sorting without a loop per node."""

    nodes: tuple[Node, ...]
    shown: Mask  # neither hidden nor outside the geo filter (§0.3)
    role: npt.NDArray[np.object_]  # Python strings: compared as Python compares them
    first_seen_ms: I64
    last_seen_ms: I64
    counts: JSONObject
    _orders: dict[str, I64] = field(default_factory=dict)
    _lower_names: list[str] | None = None

    @classmethod
    def of(cls, nodes: tuple[Node, ...], visibility: Visibility) -> NodeTable:
        """The columns of `nodes` under the operator's filters."""
        n = len(nodes)
        shown = np.fromiter(
            (not visibility.node_hidden(x) and visibility.node_local(x) for x in nodes),
            np.bool_, n,
        )  # fmt: skip
        return cls(
            nodes=nodes,
            shown=shown,
            role=np.fromiter((x.role for x in nodes), np.object_, n),
            first_seen_ms=np.fromiter((x.first_seen_ms for x in nodes), np.int64, n),
            last_seen_ms=np.fromiter((x.last_seen_ms for x in nodes), np.int64, n),
            counts=role_counts(nodes),
        )

    def order(self, sort: str) -> I64:
        """Every node's index in the list's order for `sort`, ties by public key (§4.1)."""
        found = self._orders.get(sort)
        if found is None:
            nodes = self.nodes
            key: Callable[[int], tuple[int, str] | tuple[str, str]]
            if sort == "name":
                key = lambda i: (nodes[i].name, nodes[i].public_key)  # noqa: E731
            elif sort == "packetCount":
                key = lambda i: (-nodes[i].advert_count, nodes[i].public_key)  # noqa: E731
            else:
                key = lambda i: (-nodes[i].last_seen_ms, nodes[i].public_key)  # noqa: E731
            found = np.array(sorted(range(len(nodes)), key=key), np.int64)
            self._orders[sort] = found
        return found

    def lower_names(self, lower: Callable[[str], str]) -> list[str]:
        """Every node's name, lower-cased for the search filter."""
        if self._lower_names is None:
            self._lower_names = [lower(x.name) for x in self.nodes]
        return self._lower_names


@dataclass(frozen=True, slots=True)
class _Row:
    node: Node
    extras: object
    active: bool
    json: JSONObject


class NodeCache:
    """The node table of the latest node tuple, and node JSON objects (event loop only)."""

    def __init__(self) -> None:
        self._table: NodeTable | None = None
        self._rows: dict[str, _Row] = {}

    def table(self, nodes: tuple[Node, ...], visibility: Visibility) -> NodeTable:
        """The table of `nodes`, rebuilt only when the tuple is another one."""
        table = self._table
        if table is None or table.nodes is not nodes:
            table = NodeTable.of(nodes, visibility)
            if self._table is None or len(nodes) >= len(self._table.nodes):
                self._table = table  # an older pinned tuple does not replace the latest
        return table

    def row(
        self, node: Node, extras: object, active: bool, build: Callable[[], JSONObject]
    ) -> JSONObject:
        """`build()`'s JSON for this node object, relay figures and activity; do not modify."""
        found = self._rows.get(node.public_key)
        if (
            found is not None
            and found.node is node
            and found.extras is extras
            and found.active == active
        ):
            return found.json
        json = build()
        self._rows[node.public_key] = _Row(node, extras, active, json)
        return json
