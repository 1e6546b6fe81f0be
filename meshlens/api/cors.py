"""Cross-origin rules of api-resources §0.1, from `corsAllowedOrigins`."""

from __future__ import annotations

from collections.abc import Iterable

from meshlens.api.responses import Headers, Reply, error_reply

_METHODS = (b"access-control-allow-methods", b"GET, HEAD, OPTIONS")
_ALLOW_HEADERS = (b"access-control-allow-headers", b"Content-Type, X-API-Key")
# Not in the reference; lets a dashboard on another origin read the snapshot validators.
_EXPOSE = (
    b"access-control-expose-headers",
    b"ETag, Age, Last-Modified, Retry-After, X-Meshlens-Stale",
)


class CorsPolicy:
    """Which browser origins may call the API, and the headers that say so."""

    def __init__(self, origins: Iterable[str]) -> None:
        listed = [o.strip() for o in origins if o.strip()]
        self.enabled = bool(listed)
        self._any = "*" in listed
        self._origins = frozenset(o.encode() for o in listed if o != "*")

    def headers_for(self, origin: bytes | None) -> Headers | None:
        """CORS headers for a request from `origin`; None when it gets none."""
        if not self.enabled or origin is None:
            return None
        if origin in self._origins:
            allow = [(b"access-control-allow-origin", origin), (b"vary", b"Origin")]
        elif self._any:
            allow = [(b"access-control-allow-origin", b"*")]
        else:
            return None
        return [*allow, _METHODS, _ALLOW_HEADERS, _EXPOSE]

    def preflight(self, origin: bytes) -> Reply:
        """The answer to an OPTIONS request from `origin`: 204 when listed, else 403."""
        headers = self.headers_for(origin)
        if headers is None:
            return error_reply(403, "origin not allowed")
        return Reply(204, headers)
