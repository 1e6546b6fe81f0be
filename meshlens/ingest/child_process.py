"""Child processes of the server's ingest: how they start, and sightings over their pipes.

A child is a fresh interpreter started with `python -m MODULE FD`, not multiprocessing's
spawn: spawn would import the server's whole main module into it and start a resource
tracker beside it. FD is the child's end of a socketpair, wrapped on both sides in
multiprocessing's Connection, as multiprocessing.Pipe is on POSIX. A sighting crosses it
as a row of plain values (pickled in ~1 µs, where a Sighting object costs ~16).
"""

from __future__ import annotations

import dataclasses
import operator
import os
import site
import socket
import subprocess
import sys
from collections.abc import Iterable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from meshlens.frozen import constructor
from meshlens.records import Sighting

_SIGHTING_FIELDS = tuple(f.name for f in dataclasses.fields(Sighting))
sighting_row = operator.attrgetter(*_SIGHTING_FIELDS)
"""A Sighting as a tuple of its fields, in order."""
new_sighting = constructor(Sighting)
"""A Sighting from its fields (`new_sighting(*row)`)."""


def sighting_rows(sightings: Iterable[Sighting]) -> list[tuple[Any, ...]]:
    """Sightings as rows for a pipe."""
    return list(map(sighting_row, sightings))


def sightings_of(rows: Iterable[tuple[Any, ...]]) -> list[Sighting]:
    """Sightings from the rows a pipe carried."""
    return [new_sighting(*row) for row in rows]


def start_child(module: str) -> tuple[subprocess.Popen[bytes], Connection]:
    """A new `python -m module FD` process, and the server's end of its pipe."""
    ours, theirs = socket.socketpair()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", module, str(theirs.fileno())],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            env=child_environment(),
        )
    except BaseException:
        ours.close()
        raise
    finally:
        theirs.close()
    return process, Connection(ours.detach())


def child_environment() -> dict[str, str]:
    """The server's environment, with this meshlens on the path when it is not installed.

    A checkout run with `PYTHONPATH=.` from another directory, say, would otherwise start
    a child that cannot import meshlens. An installed one is found as it is: putting
    site-packages on PYTHONPATH would put it ahead of the standard library.
    """
    root = Path(__file__).resolve().parents[2]
    if any(root == Path(p).resolve() for p in site.getsitepackages()):
        return dict(os.environ)
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{path}" if path else str(root)}
