"""The ingest pipeline in a child process: the serving process keeps only the store appends.

Under one GIL, ingest's Python (frame identity, decodes, the write transaction's
statements, ~25 ms a second at 500 observations/s) takes turns with the event loop that
serves reads, and a niced ingest thread that holds the GIL when the scheduler passes it
over keeps the loop waiting too. Here the whole pipeline runs in a process of its own at a
low priority: the server's ingest worker sends each batch's sightings over a pipe and gets
back the results and the store batches the pipeline's commits produced, which it appends
to the store itself (docs/architecture.md, "The pipeline process").

The child has no store: what is stored already it reads from the database
(known.DatabaseKnown), and it writes on a connection of its own while the server holds the
database's writer lock for it (it ends with the server: its pipe closes). Retention, which
drops transmissions from the store before it deletes their rows, tells it which ids are
condemned until the rows are gone. A child that dies fails the batch it had (QoS 1 leaves
those messages unacknowledged, so the broker sends them again) and is started again for
the next one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from meshlens.db.database import DirectWriter, connect
from meshlens.errors import StorageError
from meshlens.frozen import constructor
from meshlens.ingest.child_process import sighting_rows, sightings_of, start_child
from meshlens.ingest.counters import IngestCounters
from meshlens.ingest.known import DatabaseKnown
from meshlens.ingest.outcome import Outcome, Result
from meshlens.ingest.pipeline import Pipeline, PipelineOptions
from meshlens.ingest.status import ObserverStatus
from meshlens.priority import lower_thread_priority_to
from meshlens.records import Node, Observer, Sighting
from meshlens.store.batch import StoreBatch
from meshlens.store.store import PacketStore
from meshlens.wire import ChannelKeys, RegionKeys

log = logging.getLogger("meshlens.ingest")

_OUTCOMES = tuple(Outcome)
_CODES = {outcome: i for i, outcome in enumerate(_OUTCOMES)}
_new_result = constructor(Result)
_STOP_WAIT_S = 15.0  # for the child to finish its batch and exit before it is killed
_MODULE = "meshlens.ingest.pipeline_child"

ResultRow = tuple[int, str | None, int | None, int | None, str | None, str]


@dataclass(frozen=True, slots=True)
class PipelineSpec:
    """What the child builds its pipeline from (all of it crosses the pipe pickled)."""

    db_path: Path
    keys: ChannelKeys | None = None
    regions: RegionKeys | None = None
    options: PipelineOptions | None = None
    niceness: int = 0  # the child's own, whatever that of the thread that started it
    idle: bool = False  # Linux SCHED_IDLE: the child runs only on a CPU nothing else wants


class PipelineProcess:
    """The ingest worker's pipeline, run in a child process; the store appended here.

    Its methods are the Pipeline's the worker and the importers call; call them from one
    thread at a time (the ingest worker's), except `condemn` and `release` (retention's).
    """

    def __init__(
        self, spec: PipelineSpec, store: PacketStore, *, counters: IngestCounters | None = None
    ) -> None:
        self.spec = spec
        self._store = store
        self.counters = counters or IngestCounters("total")
        self._lock = threading.Lock()  # one request and its reply at a time
        self._child: tuple[subprocess.Popen[bytes], Connection] | None = None
        self._stopped = False
        self._condemned: set[int] = set()  # told again to a child started anew
        self.restarts = 0  # children that died (each replaced at the next request)

    @property
    def pid(self) -> int | None:
        """The child process's id, while one runs."""
        child = self._child
        return None if child is None else child[0].pid

    def start(self) -> None:
        """Start the child now rather than at the first batch."""
        with self._lock:
            self._ensure_child()

    def stop(self, timeout_s: float = _STOP_WAIT_S) -> None:
        """Tell the child to end once its batch is done; kill it if it takes too long."""
        with self._lock:
            self._stopped = True
            child, self._child = self._child, None
        if child is None:
            return
        process, conn = child
        with contextlib.suppress(OSError):
            conn.send(("stop",))
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            log.error("the pipeline process did not stop within %.0f s; killed", timeout_s)
            process.kill()
            process.wait()
        conn.close()

    def process(self, sightings: Sequence[Sighting]) -> list[Result]:
        """Store a batch of sightings; one Result per sighting, in order (Pipeline.process)."""
        if not sightings:
            return []
        counters = self.counters
        counters.received(len(sightings))
        rows: list[ResultRow] = self._call(("process", sighting_rows(sightings)))
        results = [_new_result(_OUTCOMES[row[0]], *row[1:]) for row in rows]
        # The counts the pipeline would have made in this process (Pipeline._publish).
        tally = [0] * len(_OUTCOMES)
        for s, r in zip(sightings, results, strict=True):
            tally[_CODES[r.outcome]] += 1
            if r.outcome is Outcome.REJECTED:
                counters.rejected(r.reason or "", s.where, r.detail)
        new = tally[_CODES[Outcome.NEW]]
        counters.stored(new + tally[_CODES[Outcome.STORED]], new, tally[_CODES[Outcome.DUPLICATE]])
        return results

    def apply_statuses(self, statuses: Sequence[ObserverStatus]) -> None:
        """Write observer status messages (Pipeline.apply_statuses)."""
        if statuses:
            self._call(("statuses", list(statuses)))

    def adopt(self, nodes: Sequence[Node], observers: Sequence[Observer]) -> None:
        """Take node and observer rows from another system (Pipeline.adopt)."""
        self._call(("adopt", list(nodes), list(observers)))

    def condemn(self, tx_ids: Iterable[int]) -> None:
        """Retention dropped these transmissions from the store: their hashes are new again."""
        ids = list(tx_ids)
        with self._lock:
            self._condemned.update(ids)
        self._tell(("condemn", ids))

    def release(self, tx_ids: Iterable[int]) -> None:
        """Retention deleted these transmissions' rows: nothing to remember of them."""
        ids = list(tx_ids)
        with self._lock:
            self._condemned.difference_update(ids)
        self._tell(("release", ids))

    def _tell(self, request: tuple[Any, ...]) -> None:
        """Tell a running child; never fails: a child started later is told at its start.

        Retention calls this in the middle of its store swap, which must not fail for a
        child that happens to be down.
        """
        if self._child is None:
            return
        try:
            self._call(request)
        except StorageError as err:
            log.warning("the pipeline process was not told of %s: %s", request[0], err)

    def _call(self, request: tuple[Any, ...]) -> Any:
        """Send a request, append the store batches it produced, return its answer."""
        with self._lock:
            try:
                _, conn = self._ensure_child()
                conn.send(request)
                status, answer, batches = conn.recv()
            except (EOFError, OSError) as err:
                code = self._lost_child()
                raise StorageError(
                    f"the pipeline process exited (code {code}) during a {request[0]!r}"
                    " request; what it had committed of it is not in the store until a"
                    " restart"
                ) from err
            # Appended under the lock: batches reach the store in the order of their commits.
            for batch in batches:
                self._store.append(batch)
        if status != "ok":
            raise StorageError(f"the pipeline process failed a {request[0]!r} request: {answer}")
        return answer

    def _ensure_child(self) -> tuple[subprocess.Popen[bytes], Connection]:
        """The running child, started first if there is none (the lock held)."""
        if self._stopped:
            raise StorageError("the pipeline process has been stopped")
        if self._child is None:
            self._child = start_child(_MODULE)
            conn = self._child[1]
            conn.send(("start", self.spec))
            if self._condemned:
                conn.send(("condemn", sorted(self._condemned)))
                conn.recv()
        return self._child

    def _lost_child(self) -> int | None:
        """Forget a child whose pipe broke; its exit code (the lock held).

        None when no child was there to lose (starting one failed).
        """
        if self._child is None:
            return None
        process, conn = self._child
        self._child = None
        self.restarts += 1
        conn.close()
        try:
            process.wait(_STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.error("the pipeline process exited (code %s); a new one takes the next batch",
                  process.returncode)  # fmt: skip
        return process.returncode


# --- the child ----------------------------------------------------------------------


def child_main(conn: Connection) -> None:
    """The child process: build the pipeline, answer requests until told to stop or orphaned."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle
    try:
        _, spec = conn.recv()  # ("start", spec), sent first
    except (EOFError, OSError):
        return  # the server went away before it said what to do
    _lower_priority(spec)
    db = connect(spec.db_path)
    known = DatabaseKnown(db)
    # Counted (and rejections logged) by the server, from each batch's results.
    pipeline = Pipeline(
        DirectWriter(db), known, keys=spec.keys, regions=spec.regions, options=spec.options,
        counters=IngestCounters("pipeline process", log_rejected=False),
    )  # fmt: skip
    with contextlib.suppress(EOFError, OSError):  # the server is gone: stop as for "stop"
        while True:
            request = conn.recv()
            if request[0] == "stop":
                break
            conn.send(_answer(request, pipeline, known))
    db.close()
    conn.close()


def _answer(
    request: tuple[Any, ...], pipeline: Pipeline, known: DatabaseKnown
) -> tuple[str, Any, list[StoreBatch]]:
    """("ok", answer, store batches) or ("error", what went wrong, store batches)."""
    kind = request[0]
    answer: Any = None
    try:
        if kind == "process":
            answer = [_result_row(r) for r in pipeline.process(sightings_of(request[1]))]
        elif kind == "statuses":
            pipeline.apply_statuses(request[1])
        elif kind == "adopt":
            pipeline.adopt(request[1], request[2])
        elif kind == "condemn":
            known.condemn(request[1])
        elif kind == "release":
            known.release(request[1])
        else:
            raise ValueError(f"unknown request {kind!r}")
        status = "ok"
    except Exception as err:  # reported to the server, whose worker logs it; the child lives on
        status, answer = "error", f"{type(err).__name__}: {err}"
    # Whatever committed goes to the store, even when a later step of the request failed.
    batches, known.outbox = known.outbox, []
    return status, answer, batches


def _result_row(r: Result) -> ResultRow:
    return (_CODES[r.outcome], r.content_hash, r.transmission_id, r.observation_id,
            r.reason, r.detail)  # fmt: skip


def _lower_priority(spec: PipelineSpec) -> None:
    """The child's one thread below the server's: reads first, ingest in their gaps."""
    lower_thread_priority_to(spec.niceness)
    if spec.idle:
        # Not Linux, or not permitted: the niceness alone applies.
        with contextlib.suppress(AttributeError, OSError):
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
