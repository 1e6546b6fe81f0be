"""What the API answers: pre-encoded snapshot replies, JSON bodies and errors.

A `Reply` is status, raw headers and body bytes, so the fast path can send it in one
RSGI call and Starlette endpoints can return it as a `ReplyResponse`. Snapshot
replies carry the validators of recomputer.md point 11 (ETag/304, Last-Modified, Age,
Cache-Control); errors are `{"error": message}` with the status from one table.
"""

from __future__ import annotations

import functools
import gzip
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import formatdate

import orjson
from starlette.responses import Response

from meshlens.errors import (
    AmbiguousError,
    AuthError,
    ConfigError,
    DecodeError,
    DisabledError,
    ExpiredError,
    InputError,
    MeshlensError,
    NotBuiltError,
    NotFoundError,
    NotReadyError,
    QueryError,
    TooLargeError,
)
from meshlens.recomputer import Published, etag_of
from meshlens.records import JSONValue

Headers = list[tuple[bytes, bytes]]

JSON_TYPE = (b"content-type", b"application/json")
NO_STORE = (b"cache-control", b"no-store")
STALE_HEADER = b"x-meshlens-stale"


@dataclass(frozen=True, slots=True)
class Reply:
    """One HTTP answer, ready to send."""

    status: int
    headers: Headers
    body: bytes = b""


class ReplyResponse(Response):
    """A Reply handed back from a Starlette endpoint, sent as it is."""

    def __init__(self, reply: Reply) -> None:
        self.status_code = reply.status
        self.background = None
        self.body = reply.body
        self.raw_headers = list(reply.headers)


def json_reply(
    value: JSONValue, status: int = 200, headers: Sequence[tuple[bytes, bytes]] = ()
) -> Reply:
    """A JSON body with its length and type."""
    body = orjson.dumps(value)
    return Reply(status, [JSON_TYPE, _length(body), *headers], body)


def error_reply(
    status: int,
    message: str,
    *,
    fields: dict[str, JSONValue] | None = None,
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> Reply:
    """`{"error": message, ...fields}` with `status` (api-resources §0.1)."""
    value: dict[str, JSONValue] = {"error": message}
    if fields:
        value.update(fields)
    return json_reply(value, status, headers)


# The one exception -> status table; the first matching class wins, so subclasses first.
STATUS_OF: tuple[tuple[type[MeshlensError], int], ...] = (
    (QueryError, 400),
    (DecodeError, 400),
    (TooLargeError, 413),
    (InputError, 400),
    (AuthError, 401),
    (DisabledError, 403),
    (NotFoundError, 404),
    (ExpiredError, 410),
    (AmbiguousError, 409),
    (NotBuiltError, 501),
    (NotReadyError, 503),
    (ConfigError, 500),
    (MeshlensError, 500),
)


def status_of(error: MeshlensError) -> int:
    """The HTTP status of a meshlens error."""
    for cls, status in STATUS_OF:
        if isinstance(error, cls):
            return status
    return 500


def error_fields(error: MeshlensError) -> dict[str, JSONValue]:
    """Machine-readable details some errors add beside their message."""
    if isinstance(error, QueryError):
        return {"parameter": error.parameter}
    if isinstance(error, DecodeError):
        return {"reason": error.reason, "offset": error.offset}
    if isinstance(error, NotReadyError):
        return {"retry_after_s": error.retry_after_s}
    if isinstance(error, InputError):
        return {"reason": error.reason, "where": error.where}
    return {}


def reply_for(error: MeshlensError) -> Reply:
    """The error reply for a meshlens error, from STATUS_OF."""
    headers: Headers = []
    if isinstance(error, NotReadyError):
        headers.append((b"retry-after", str(error.retry_after_s).encode()))
    return error_reply(status_of(error), str(error), fields=error_fields(error), headers=headers)


@functools.lru_cache(maxsize=256)
def http_date(ms: int) -> bytes:
    """An IMF-fixdate for Last-Modified (cached: a snapshot's date is asked for often)."""
    return formatdate(ms / 1000.0, usegmt=True).encode()


def _length(body: bytes) -> tuple[bytes, bytes]:
    return (b"content-length", str(len(body)).encode())


def gzip_etag(etag: str) -> str:
    """A distinct validator for the gzip representation (RFC 9110 §8.8.3)."""
    return etag[:-1] + '-gzip"'


def matching_etag(if_none_match: bytes, etags: tuple[bytes, ...]) -> bytes | None:
    """The tag of `etags` that If-None-Match names (weak comparison), or None."""
    for token in if_none_match.split(b","):
        tag = token.strip().removeprefix(b"W/")
        if tag == b"*":
            return etags[0]
        if tag in etags:
            return tag
    return None


def accepts_gzip(accept_encoding: bytes | None) -> bool:
    """True when Accept-Encoding allows gzip (a `q=0` refuses it)."""
    if not accept_encoding:
        return False
    for item in accept_encoding.split(b","):
        coding, _, params = item.partition(b";")
        if coding.strip().lower() in (b"gzip", b"*"):
            q = params.strip().lower()
            return not (q.startswith(b"q=0") and q.rstrip(b"0.") in (b"q=", b"q"))
    return False


class Representation:
    """A body prepared for serving: its validators and fixed headers, built once."""

    __slots__ = ("_computed_at_ms", "_etags", "_gzip", "_plain", "_validators", "body", "gzip_body")

    def __init__(
        self,
        body: bytes,
        etag: str,
        *,
        computed_at_ms: int,
        max_age_s: int,
        gzip_body: bytes | None = None,
    ) -> None:
        self.body = body
        self.gzip_body = gzip_body
        control = f"max-age={max_age_s}, stale-while-revalidate={max_age_s}".encode()
        plain_tag = etag.encode()
        gzip_tag = gzip_etag(etag).encode()
        self._etags = (plain_tag, gzip_tag) if gzip_body is not None else (plain_tag,)
        common: Headers = [
            (b"last-modified", http_date(computed_at_ms)),
            (b"cache-control", control),
        ]
        if gzip_body is not None:
            common.append((b"vary", b"accept-encoding"))
        self._validators = common
        self._plain: Headers = [JSON_TYPE, _length(body), (b"etag", plain_tag), *common]
        self._gzip: Headers | None = None
        if gzip_body is not None:
            self._gzip = [
                JSON_TYPE,
                _length(gzip_body),
                (b"content-encoding", b"gzip"),
                (b"etag", gzip_tag),
                *common,
            ]
        self._computed_at_ms = computed_at_ms

    @classmethod
    def of(cls, published: Published, max_age_s: int) -> Representation:
        """The representation of a recomputer's snapshot."""
        return cls(
            published.body,
            published.etag,
            computed_at_ms=published.computed_at_ms,
            max_age_s=max_age_s,
            gzip_body=published.gzip_body,
        )

    @classmethod
    def detail(cls, compressed: bytes, published: Published, max_age_s: int) -> Representation:
        """One side output of a snapshot (a per-key body, stored gzip), with its own ETag."""
        body = gzip.decompress(compressed)
        return cls(
            body,
            etag_of(body),
            computed_at_ms=published.computed_at_ms,
            max_age_s=max_age_s,
            # A tiny body gzips larger than it is: then only the plain one is offered.
            gzip_body=compressed if len(compressed) < len(body) else None,
        )

    def reply(
        self,
        *,
        now_ms: int,
        if_none_match: bytes | None = None,
        accept_encoding: bytes | None = None,
        head: bool = False,
        stale_s: float | None = None,
    ) -> Reply:
        """200 with the body (gzip when accepted and smaller), or 304 when the tag matches."""
        age = (b"age", str(max(0, (now_ms - self._computed_at_ms) // 1000)).encode())
        extra = [age] if stale_s is None else [age, (STALE_HEADER, f"{stale_s:.0f}".encode())]
        if if_none_match:
            tag = matching_etag(if_none_match, self._etags)
            if tag is not None:
                return Reply(304, [(b"etag", tag), *self._validators, *extra])
        if self._gzip is not None and self.gzip_body is not None and accepts_gzip(accept_encoding):
            return Reply(200, [*self._gzip, *extra], b"" if head else self.gzip_body)
        return Reply(200, [*self._plain, *extra], b"" if head else self.body)
