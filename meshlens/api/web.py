"""The browser dashboard's files, served from the package with their security headers.

The dashboard is static (meshlens/web/: HTML, CSS, ES modules and the vendored chart
library), so the files are read once when the app is built, each with its ETag and a gzip
copy, and answered from memory. Every answer carries the Content-Security-Policy that
keeps API data from ever running as code (docs/dashboard.md, "Security").
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request

from meshlens.api.responses import Headers, Reply, accepts_gzip, gzip_etag, matching_etag
from meshlens.api.routes import ERROR_DOC, Doc, Param, RouteSpec, guarded
from meshlens.errors import NotFoundError
from meshlens.recomputer import etag_of

WEB_DIR = Path(__file__).resolve().parents[1] / "web"

# No inline script or style anywhere: a name that smuggled markup in could not run.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS: Headers = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
# No build step fingerprints the names, so browsers revalidate every time (a cheap 304).
CACHE = (b"cache-control", b"no-cache")

CONTENT_TYPES = {
    ".html": b"text/html; charset=utf-8",
    ".js": b"text/javascript; charset=utf-8",
    ".css": b"text/css; charset=utf-8",
    ".svg": b"image/svg+xml",
    ".json": b"application/json",
    ".md": b"text/plain; charset=utf-8",
    ".txt": b"text/plain; charset=utf-8",
}
GZIP_MIN_BYTES = 1400  # below one packet, compressing saves nothing


class AssetNotFoundError(NotFoundError):
    """No dashboard file has this name."""

    def __init__(self, name: str) -> None:
        super().__init__("asset", name)


@dataclass(frozen=True, slots=True)
class Asset:
    """One dashboard file, ready to answer."""

    body: bytes
    gzip_body: bytes | None
    content_type: bytes
    etag: str

    def reply(self, request: Request) -> Reply:
        """200 (gzip when accepted), or 304 when If-None-Match names this file."""
        wanted = None
        encoding = None
        for key, value in request.scope["headers"]:
            if key == b"if-none-match":
                wanted = value
            elif key == b"accept-encoding":
                encoding = value
        zipped = self.gzip_body is not None and accepts_gzip(encoding)
        etag = (gzip_etag(self.etag) if zipped else self.etag).encode()
        headers: Headers = [(b"etag", etag), CACHE, *SECURITY_HEADERS]
        if self.gzip_body is not None:
            headers.append((b"vary", b"accept-encoding"))
        if wanted is not None and matching_etag(wanted, (etag,)) is not None:
            return Reply(304, headers)
        body = self.gzip_body if zipped and self.gzip_body is not None else self.body
        headers += [(b"content-type", self.content_type), (b"content-length", b"%d" % len(body))]
        if zipped:
            headers.append((b"content-encoding", b"gzip"))
        return Reply(200, headers, b"" if request.method == "HEAD" else body)


def load_assets(root: Path = WEB_DIR) -> dict[str, Asset]:
    """Every servable file under `root`, keyed by its path relative to it (`lib/dom.js`)."""
    assets: dict[str, Asset] = {}
    for path in sorted(root.rglob("*")):
        content_type = CONTENT_TYPES.get(path.suffix)
        if not path.is_file() or content_type is None:
            continue
        body = path.read_bytes()
        packed = gzip.compress(body, mtime=0) if len(body) >= GZIP_MIN_BYTES else None
        assets[path.relative_to(root).as_posix()] = Asset(body, packed, content_type, etag_of(body))
    return assets


class Dashboard:
    """Answers `/` with index.html and `/web/<file>` with the dashboard's files."""

    def __init__(self, assets: dict[str, Asset]) -> None:
        self._assets = assets

    def index(self, request: Request) -> Reply:
        """The dashboard's page."""
        return self.asset(request, "index.html")

    def asset(self, request: Request, name: str) -> Reply:
        """One file by its relative name; unknown names are a 404."""
        found = self._assets.get(name)
        if found is None:
            raise AssetNotFoundError(name)
        return found.reply(request)


def web_routes(dashboard: Dashboard) -> list[RouteSpec]:
    """`/` and `/web/{asset}`: the dashboard (docs/dashboard.md)."""

    async def index(request: Request) -> Reply:
        return dashboard.index(request)

    async def asset(request: Request) -> Reply:
        return dashboard.asset(request, request.path_params["asset"])

    html = Doc("The dashboard's page.", {"type": "string"}, "text/html")
    not_modified = Doc("The file named by If-None-Match is still current.")
    missing = Doc("No dashboard file has this name.", ERROR_DOC)
    return [
        RouteSpec("/", "GET", guarded(index), "The browser dashboard.", "dashboard",
                  {200: html, 304: not_modified}),
        RouteSpec("/web/{asset:path}", "GET", guarded(asset),
                  "The dashboard's files (HTML, CSS, JavaScript, the chart library).",
                  "dashboard",
                  {200: Doc("The file.", {"type": "string"}, "text/javascript"),
                   304: not_modified, 404: missing},
                  (Param("asset", "path", {"type": "string"}, "Path under meshlens/web/."),)),
    ]  # fmt: skip
