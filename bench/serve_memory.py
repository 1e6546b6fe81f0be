"""Memory of a live `meshlens serve` while it ingests, ingest on threads or in processes.

One server on a copy of the staging database, recomputing as shipped, is fed at 500
observations/s through Mosquitto by bench.serve's publisher, and every `--every` seconds
the proportional set size (PSS) of the serving process and of its children (the receipt
process and the pipeline process, when ingest runs in them, and any compute child alive
at the time) is read. bench/memory.py measures a server that ingests nothing; this one
says what ingest adds, and where, against issue 3's 300 MB for all of meshlens'
processes. One placement a run: a second server in the same process would start on the
first one's freed heap, which the allocator keeps.

    flock /work/bench.lock env PYTHONPATH=. .venv/bin/python -m bench.serve_memory \
        threads|processes [--seconds 120] [--every 20]
"""

from __future__ import annotations

import argparse
import os
import time

import psutil

from bench.dataset import STAGING_DB
from bench.load import pss_kb
from bench.mqtt_load import load_for
from bench.serve import fed_server

RATE = 500  # observations a second, as bench.serve's churn
INGEST_CHILDREN = ("meshlens.ingest.mqtt_child", "meshlens.ingest.pipeline_child")


def children_kb() -> dict[str, int]:
    """PSS of this process's meshlens children: ingest's by module, forked computes as one.

    The harness's own children (the publisher, wrk) are left out: a forked compute child
    runs this process's command line, an ingest child its module's.
    """
    ours = psutil.Process().cmdline()
    found: dict[str, int] = {}
    for child in psutil.Process().children(recursive=True):
        try:
            command = child.cmdline()
            module = next((m for m in INGEST_CHILDREN if m in command), None)
            if module is None and command != ours:
                continue
            name = "compute" if module is None else module.rsplit(".", 1)[1]
            found[name] = found.get(name, 0) + pss_kb(child.pid)
        except (psutil.Error, OSError):  # ended between the listing and the reads
            continue
    return found


def sample(elapsed_s: float, stored: int) -> str:
    """One line: the PSS of the server and of each kind of child, and of ingest's part, in MB.

    Compute children are shown apart: one alive at the time takes a share of the pages
    it shares with the server (PSS moves it from the server to the child) and holds a
    round's working memory for a moment, whatever ingest does.
    """
    server = pss_kb(os.getpid())
    children = children_kb()
    parts = "".join(f", {name} {kb / 1024:.0f}" for name, kb in sorted(children.items()))
    ingest = (server + sum(kb for name, kb in children.items() if name != "compute")) / 1024
    return (f"  {elapsed_s:4.0f} s, {stored:,} stored: server {server / 1024:.0f}{parts};"
            f" server and ingest {ingest:.0f} MB")  # fmt: skip


def run(processes: bool, seconds: float, every: float) -> None:
    """One placement's server, fed for `seconds`, sampled every `every` seconds."""
    print(f"ingest {'in processes' if processes else 'on threads'}:", flush=True)
    mqtt = load_for("mlmem", RATE, seconds + 10)
    serving = fed_server(STAGING_DB, mqtt, child_process=processes, pipeline_process=processes)
    with serving as (server, _):
        stored_before = server.worker.counters.snapshot().stored_observations
        print(sample(0, 0), flush=True)
        mqtt.go()
        started = time.perf_counter()
        while (elapsed := time.perf_counter() - started) < seconds:
            time.sleep(min(every, seconds - elapsed))
            stored = server.worker.counters.snapshot().stored_observations - stored_before
            print(sample(time.perf_counter() - started, stored), flush=True)
        mqtt.pause()


def main() -> None:
    """One placement's server, sampled while it ingests."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("placement", choices=("threads", "processes"), help="where ingest runs")
    parser.add_argument("--seconds", type=float, default=120.0, help="how long it ingests")
    parser.add_argument("--every", type=float, default=20.0, help="seconds between samples")
    args = parser.parse_args()
    run(args.placement == "processes", args.seconds, args.every)


if __name__ == "__main__":
    main()
