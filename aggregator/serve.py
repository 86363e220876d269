"""`aggregator serve`: the published files over HTTP, read-only (Starlette on uvicorn).

What is served is a map from URL path to file, built by walking the root, never a request path
joined to a directory (RELIABILITY §I1): a name that is not in the map is a 404, so `..`,
`%2e%2e`, backslashes, NUL, overlong UTF-8, `//host` and device names cannot reach anything.
The walk leaves out dot-names (the `.aggregator` state, temp files), `_`-names (`_posts`,
`_config.yml`, `_layouts`: Jekyll does not publish them either), the config file, and every link
or file whose real path is outside the root. The map is rebuilt on a miss, at most once a second.

Root: `_site/` when the standalone site was built (`aggregator build --html`), else the storage
dir, whose public files are the feeds, feeds.opml and the Jekyll category pages.

Responses: strong ETag = the SHA-256 of the bytes sent, Last-Modified = the file's mtime, 304 for
If-None-Match (weak comparison, lists, `*`) or else If-Modified-Since, HEAD, gzip when asked
(its own ETag, `-gzip` suffixed), `X-Content-Type-Options: nosniff`, a CSP on HTML that forbids
scripts. Each file is read once per request through one descriptor, and the store replaces files
atomically, so a reader always gets a whole file (§I4).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import stat
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "SiteFiles", "content_type", "make_app"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
RESCAN_INTERVAL = 1.0  # seconds; bounds the cost of a flood of 404s
GZIP_MIN_BYTES = 256
CACHE_ENTRIES = 512
HTML_CSP = (
    "default-src 'none'; img-src http: https: data:; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".opml": "text/x-opml; charset=utf-8",
    ".xml": "application/xml",
    ".css": "text/css; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
}
_COMPRESSIBLE = ("text/", "application/atom+xml", "application/feed+json", "application/json",
                 "application/xml", "image/svg+xml")  # fmt: skip


def content_type(path: str) -> str:
    """Media type of a site path: feeds by where we put them, the rest by extension."""
    is_feed = path in ("feed.xml", "feed.json") or path.startswith("feed/")
    if is_feed and path.endswith(".xml"):
        return "application/atom+xml; charset=utf-8"
    if is_feed and path.endswith(".json"):
        return "application/feed+json"
    return _TYPES.get(os.path.splitext(path)[1].lower(), "application/octet-stream")


class SiteFiles:
    """URL path (`/feed.xml`, `/category/`) -> file, for the public files under `root`."""

    def __init__(
        self,
        root: Path,
        *,
        hidden: Iterable[Path] = (),
        rescan_interval: float = RESCAN_INTERVAL,
        skip_jekyll_sources: bool = False,
    ) -> None:
        self.root = Path(root).resolve()
        # in an unbuilt Jekyll dir, pages with front matter are templates, not pages to show
        self.skip_jekyll_sources = skip_jekyll_sources
        self.hidden = {Path(p).resolve() for p in hidden}
        self.rescan_interval = rescan_interval
        self._lock = threading.Lock()
        self._files: dict[str, Path] = {}
        self._scanned = float("-inf")
        self.rescan()

    def rescan(self) -> None:
        files: dict[str, Path] = {}
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if _public_name(d))
            base = Path(dirpath)
            for name in filenames:
                if not _public_name(name):
                    continue
                real = (base / name).resolve()
                if not real.is_relative_to(self.root) or real in self.hidden or not real.is_file():
                    continue
                if self.skip_jekyll_sources and _has_front_matter(real):
                    continue
                rel = (base / name).relative_to(self.root).as_posix()
                files["/" + rel] = real
                if name == "index.html":
                    parent = rel.removesuffix("index.html")
                    files["/" + parent] = real
        with self._lock:
            self._files = files
            self._scanned = time.monotonic()

    def lookup(self, url_path: str) -> Path | None:
        found = self._files.get(url_path)
        if found is None and time.monotonic() - self._scanned >= self.rescan_interval:
            self.rescan()
            found = self._files.get(url_path)
        return found


def _has_front_matter(path: Path) -> bool:
    if path.suffix not in (".html", ".md", ".markdown"):
        return False
    try:
        with path.open("rb") as handle:
            return handle.read(4) == b"---\n"
    except OSError:
        return True


def _public_name(name: str) -> bool:
    return not name.startswith((".", "_")) and "\\" not in name


@dataclass(frozen=True)
class _Body:
    data: bytes
    etag: str
    gzipped: bytes | None


class _BodyCache:
    """(file, inode, size, mtime) -> bytes, hash and gzip, so a hot feed is hashed once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[tuple[str, int, int, int], _Body] = {}

    def get(self, key: tuple[str, int, int, int], data: bytes, compressible: bool) -> _Body:
        with self._lock:
            hit = self._items.get(key)
        if hit is not None:
            return hit
        digest = hashlib.sha256(data).hexdigest()
        packed = None
        if compressible and len(data) >= GZIP_MIN_BYTES:
            packed = gzip.compress(data, compresslevel=6, mtime=0)
        body = _Body(data, f'"{digest}"', packed)
        with self._lock:
            if len(self._items) >= CACHE_ENTRIES:
                self._items.clear()
            self._items[key] = body
        return body


def make_app(files: SiteFiles) -> Starlette:
    cache = _BodyCache()

    async def serve_file(request: Request) -> Response:
        url_path = request.scope["path"]  # percent-decoded by the server, never normalised
        path = files.lookup(url_path) if _plain(url_path) else None
        loaded = _read(path) if path is not None else None
        if path is None or loaded is None:
            return _not_found()
        data, info = loaded
        rel = path.relative_to(files.root).as_posix()
        media_type = content_type(rel)
        compressible = media_type.startswith(_COMPRESSIBLE)
        body = cache.get(
            (str(path), info.st_ino, info.st_size, info.st_mtime_ns), data, compressible
        )
        use_gzip = body.gzipped is not None and _accepts_gzip(
            request.headers.get("accept-encoding")
        )
        etag = body.etag[:-1] + '-gzip"' if use_gzip else body.etag
        headers = {
            "ETag": etag,
            "Last-Modified": formatdate(int(info.st_mtime), usegmt=True),
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
        }
        if compressible:
            headers["Vary"] = "Accept-Encoding"
        if media_type.startswith("text/html"):
            headers["Content-Security-Policy"] = HTML_CSP
        if _not_modified(request, body.etag, int(info.st_mtime)):
            return Response(status_code=304, headers=headers)
        content = body.gzipped if use_gzip and body.gzipped is not None else body.data
        if use_gzip:
            headers["Content-Encoding"] = "gzip"
        headers["Content-Length"] = str(len(content))
        if request.method == "HEAD":
            return Response(status_code=200, headers=headers, media_type=media_type)
        return Response(content, headers=headers, media_type=media_type)

    return Starlette(routes=[Route("/{path:path}", serve_file, methods=["GET", "HEAD"])])


def _plain(url_path: str) -> bool:
    """Cheap first filter before the map: anything a walk can never produce."""
    return url_path.startswith("/") and not any(c in url_path for c in ("\x00", "\\", "//"))


def _read(path: Path) -> tuple[bytes, os.stat_result] | None:
    """Bytes and stat from one descriptor; None when the file is gone or not a regular file."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(), info
    finally:
        os.close(fd)


def _not_found() -> Response:
    return Response(
        "not found\n",
        status_code=404,
        media_type="text/plain; charset=utf-8",
        headers={"X-Content-Type-Options": "nosniff"},
    )


def _accepts_gzip(header: str | None) -> bool:
    for part in (header or "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            q = params.strip().lower()
            return not (q.startswith("q=") and _qvalue(q[2:]) == 0)
    return False


def _qvalue(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 1.0


def _not_modified(request: Request, etag: str, mtime: int) -> bool:
    """RFC 9110 §13.2.2: If-None-Match wins; If-Modified-Since only without it."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        if if_none_match.strip() == "*":
            return True
        wanted = etag.strip('"')
        for tag in if_none_match.split(","):
            opaque = tag.strip().removeprefix("W/").strip('"').removesuffix("-gzip")
            if opaque == wanted:
                return True
        return False
    since = request.headers.get("if-modified-since")
    if since is None:
        return False
    try:
        return mtime <= parsedate_to_datetime(since).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return False
