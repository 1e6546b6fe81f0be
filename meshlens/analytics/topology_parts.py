"""Topology's parts, served alone: the body without its reach rings, and one observer's rings.

`perObserverReach` is exact and unbounded: ~95% of the topology body (1.8 MB of 1.9 MB
at the staging profile). A client that shows one observer's rings at a time (the
dashboard) reads `summary` and then the observer it shows, instead of all of them.
"""

from __future__ import annotations

from collections.abc import Mapping

from meshlens.records import JSONObject, JSONValue

NOT_FOUND = "No such topology part (summary, or an observer id)"
SUMMARY = "summary"


def parts(body: JSONValue) -> Mapping[str, JSONValue]:
    """`summary` plus one entry per observer id (lower-case, as detail keys are matched)."""
    assert isinstance(body, dict)
    reach = body.get("perObserverReach")
    assert isinstance(reach, dict)
    summary: JSONObject = {k: v for k, v in body.items() if k != "perObserverReach"}
    index: list[JSONValue] = []
    out: dict[str, JSONValue] = {}
    for observer_id in sorted(reach):
        entry = reach[observer_id]
        assert isinstance(entry, dict)
        rings = entry.get("rings")
        assert isinstance(rings, list)
        sizes = [
            len(r["nodes"]) for r in rings if isinstance(r, dict) and isinstance(r["nodes"], list)
        ]
        index.append(
            {
                "id": observer_id,
                "name": entry.get("observer_name"),
                "rings": len(rings),
                "nodes": sum(sizes),
            }
        )
        if observer_id:  # an empty id cannot be named in a path
            out[observer_id.lower()] = {"observer_id": observer_id, **entry}
    summary["reachObservers"] = index
    out[SUMMARY] = summary
    return out
