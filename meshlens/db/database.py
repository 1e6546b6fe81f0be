"""The SQLite database: one thread owns the write connection; readers get their own.

Writers hand the writer thread a function of a connection (datasette's pattern); each
runs in one transaction that commits when it returns and rolls back when it raises.
"""

from __future__ import annotations

import fcntl  # POSIX only; meshlens is a server for Linux (and macOS for development)
import logging
import os
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Protocol, TypeVar

from meshlens.cpus import move_thread
from meshlens.db.schema import SCHEMA_VERSION, migrate
from meshlens.errors import StorageError
from meshlens.priority import lower_thread_priority

log = logging.getLogger(__name__)

T = TypeVar("T")

_STOP = object()


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """Open a connection with meshlens' PRAGMAs."""
    if readonly:
        conn = sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, check_same_thread=False, isolation_level=None
        )
    else:
        conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 5000")
    conn.execute("PRAGMA foreign_keys = ON")
    if not readonly:
        # auto_vacuum must be chosen before the first table exists; later it is a no-op.
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL mode: a power cut may lose the last commits, never corrupts.
        conn.execute("PRAGMA synchronous = NORMAL")
    return conn


class Database:
    """A meshlens database file: schema on open, a writer thread, read connections."""

    def __init__(
        self, path: Path, *, writer_niceness: int = 0, writer_cpus: frozenset[int] | None = None
    ) -> None:
        """Open (or create) the file; the writer thread runs `writer_niceness` below normal,
        on `writer_cpus` (None: any)."""
        self.path = path
        self._writer_niceness = writer_niceness
        self._writer_cpus = writer_cpus
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StorageError(f"cannot create the folder of {path}: {err}") from err
        self._lock_file = _take_writer_lock(path)
        conn: sqlite3.Connection | None = None
        try:
            conn = connect(path)
            migrate(conn)
        except BaseException as err:
            if conn is not None:
                conn.close()
            self._lock_file.close()
            if isinstance(err, sqlite3.Error):
                raise StorageError(f"cannot open database {path}: {err}") from err
            raise
        self._write_conn = conn
        self._tasks: queue.Queue[Any] = queue.Queue()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False
        self._writer = threading.Thread(target=self._run_writes, name="db-writer", daemon=True)
        self._writer.start()

    # Infinite loop of the thread that protects the single write connection.
    def _run_writes(self) -> None:
        lower_thread_priority(self._writer_niceness)
        move_thread(self._writer_cpus)
        conn = self._write_conn
        transactions = DirectWriter(conn)  # this thread is the connection's one user
        while True:
            task = self._tasks.get()
            if task is _STOP:
                return
            fn, future, in_transaction = task
            if not future.set_running_or_notify_cancel():
                continue
            if not in_transaction:
                try:
                    result = fn(conn)
                except BaseException as err:
                    future.set_exception(err)
                else:
                    future.set_result(result)
                continue
            try:
                result = transactions.write(fn)
            except BaseException as err:  # delivered to the caller, who decides
                future.set_exception(err)
            else:
                future.set_result(result)

    def submit(self, fn: Callable[[sqlite3.Connection], T]) -> Future[T]:
        """Queue a write transaction; the future resolves after it commits."""
        if self._closed:
            raise StorageError(f"database {self.path} is closed")
        future: Future[T] = Future()
        self._tasks.put((fn, future, True))
        return future

    def maintain(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn` on the writer thread outside any transaction (vacuum, checkpoint)."""
        if self._closed:
            raise StorageError(f"database {self.path} is closed")
        future: Future[T] = Future()
        self._tasks.put((fn, future, False))
        return future.result()

    def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run a write transaction on the writer thread and wait for it to commit."""
        return self.submit(fn).result()

    def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run a read on this thread's own read-only connection."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path, readonly=True)
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return fn(conn)

    def close(self) -> None:
        """Finish queued writes, checkpoint the WAL and close every connection."""
        if self._closed:
            return
        self._closed = True
        self._tasks.put(_STOP)
        self._writer.join()
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        try:
            self._write_conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as err:  # a reader elsewhere may hold the WAL; not fatal
            log.warning("WAL checkpoint at close failed: %s", err)
        self._write_conn.close()
        self._lock_file.close()  # closing the file releases the lock

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Writer(Protocol):
    """Runs write transactions: a Database's writer thread, or a DirectWriter."""

    def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn` in one transaction: committed when it returns, rolled back if it raises."""
        ...


class DirectWriter:
    """Write transactions on the calling thread, on one connection it is given.

    Database's writer thread runs its transactions through one; so does a process whose
    one thread writes (the pipeline process, meshlens/ingest/pipeline_process.py), which
    needs no writer thread to hand its transactions to.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn` in one transaction on this thread: committed, or rolled back if it raises."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result


def _take_writer_lock(path: Path) -> Any:
    """One process writes a database: hold an exclusive lock on `<db>.lock` while open.

    Two writers would each keep their own in-memory store, blind to the other's rows.
    """
    lock_path = path.with_name(path.name + ".lock")
    try:
        lock_file = lock_path.open("a+")
    except OSError as err:
        raise StorageError(f"cannot create lock file {lock_path}: {err}") from err
    try:
        fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock_file.seek(0)
        holder = lock_file.read().strip() or "unknown"
        lock_file.close()
        raise StorageError(
            f"database {path} is in use by another meshlens process (pid {holder}); stop it, "
            "or send packets to it with POST /api/packets"
        ) from None
    lock_file.seek(0)
    lock_file.truncate()
    lock_file.write(str(os.getpid()))
    lock_file.flush()
    return lock_file


class ReadOnlyDatabase:
    """A database opened only to read (benchmarks, tools): no writer, no lock, no migration."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise StorageError(f"no database at {path}")
        self.path = path
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        version = self.read(lambda c: int(c.execute("PRAGMA user_version").fetchone()[0]))
        if version != SCHEMA_VERSION:
            self.close()
            raise StorageError(
                f"database {path} has schema version {version}; this meshlens reads "
                f"{SCHEMA_VERSION} (open it once with 'meshlens serve' or 'import' to migrate)"
            )

    def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run a read on this thread's own read-only connection."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path, readonly=True)
            self._local.conn = conn
            with self._lock:
                self._readers.append(conn)
        return fn(conn)

    def close(self) -> None:
        """Close every read connection."""
        with self._lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()

    def __enter__(self) -> ReadOnlyDatabase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
