"""What each analytic's result costs the server to take back from a compute child.

A compute child pickles its `Rendered` result down a pipe, and the server unpickles it
(`ForkRunner._resolve`) holding the GIL, so the event loop waits that long. This renders
every default-shape analytic on the staging store in this process, then times
`pickle.loads` of each result, best of five:

    flock /work/bench.lock env PYTHONPATH=. python -m bench.result_unpickle
"""

from __future__ import annotations

import functools
import pickle
import time
import timeit

from bench.analytics_skew_hashes import load
from bench.dataset import STAGING_DB
from meshlens.analytics.query import Query
from meshlens.analytics.registry import ANALYTICS
from meshlens.api.recompute import render_analytic

REPEATS = 5


def main() -> None:
    """Print each result's pickled size, its side outputs and the best unpickle time."""
    snap = load(STAGING_DB)
    query = Query(now_ms=int(time.time() * 1000))
    print("| analytic | pickled MB | side outputs | unpickle ms |")
    print("|---|---|---|---|")
    for analytic in ANALYTICS:
        if analytic.compute is None:
            continue
        rendered = render_analytic(analytic, snap, query)
        blob = pickle.dumps(rendered, protocol=pickle.HIGHEST_PROTOCOL)
        best = min(timeit.repeat(functools.partial(pickle.loads, blob), number=1, repeat=REPEATS))
        extra = f"{type(rendered.extra).__name__}, {len(rendered.extra):,} keys"
        print(f"| {analytic.name} | {len(blob) / 1e6:.2f} | {extra} | {best * 1000:.2f} |")


if __name__ == "__main__":
    main()
