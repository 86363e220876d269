"""A local server of many Atom feeds with ETag / If-None-Match (304), for the ingest benchmarks.

    with FeedServer(feeds=200, entries=50) as server:   # ~90 MiB in total, built in memory
        server.urls                                     # http://127.0.0.1:<port>/feed/0.xml ...
        server.requests, server.not_modified            # counters

Entries are the media articles of tests/data/finews_posts (real eastmoney markup), padded to ~9 KB
each, with unique ids and dates one minute apart; every feed is well-formed Atom 1.0.
"""

from __future__ import annotations

import hashlib
import threading
from datetime import datetime, timedelta, timezone
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from gen_posts import article_bodies

ZONE = timezone(timedelta(hours=8))
START = datetime(2024, 6, 1, 8, 0, 0, tzinfo=ZONE)
ENTRY_BYTES = 9000  # content size of one entry: 200 x 50 entries ~ 90 MiB


def atom_feed(number: int, entries: int, bodies: list[str]) -> bytes:
    """Feed `number`: `entries` entries, newest first."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n',
        f"<title>Bench feed {number}</title>\n<id>urn:bench:feed:{number}</id>\n",
        f'<link rel="alternate" href="https://news{number}.example.org/"/>\n',
    ]
    newest = START + timedelta(minutes=number * entries + entries)
    parts.append(f"<updated>{newest.isoformat()}</updated>\n")
    for index in reversed(range(entries)):
        serial = number * entries + index
        when = START + timedelta(minutes=serial)
        body = bodies[serial % len(bodies)]
        while len(body.encode("utf-8")) < ENTRY_BYTES:
            body += "\n" + bodies[(serial + len(body)) % len(bodies)]
        body = body.encode("utf-8")[:ENTRY_BYTES].decode("utf-8", "ignore")
        body = body[: body.rfind("</p>") + 4] if "</p>" in body else body
        parts.append(
            "<entry>\n"
            f"<title>新闻 {serial}：第{number}号源的第{index}条</title>\n"
            f"<id>urn:bench:entry:{serial}</id>\n"
            f'<link rel="alternate" href="https://news{number}.example.org/a/{serial}.html"/>\n'
            f"<published>{when.isoformat()}</published>\n"
            f"<updated>{when.isoformat()}</updated>\n"
            f"<author><name>作者{number}</name></author>\n"
            f"<summary>摘要 {serial}</summary>\n"
            f'<content type="html">{escape(body, quote=False)}</content>\n'
            "</entry>\n"
        )
    parts.append("</feed>\n")
    return "".join(parts).encode("utf-8")


class FeedServer:
    def __init__(self, feeds: int = 200, entries: int = 50) -> None:
        bodies = article_bodies()
        self.documents = {f"/feed/{n}.xml": atom_feed(n, entries, bodies) for n in range(feeds)}
        self.etags = {
            path: '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
            for path, data in self.documents.items()
        }
        self.requests = 0
        self.not_modified = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def total_bytes(self) -> int:
        return sum(len(data) for data in self.documents.values())

    @property
    def urls(self) -> list[str]:
        host, port = self._server.server_address[:2]
        return [f"http://{host!s}:{port}{path}" for path in self.documents]

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out at once: no 40 ms delayed ACK

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            data = server.documents.get(path)
            with server._lock:
                server.requests += 1
            if data is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            etag = server.etags[path]
            if self.headers.get("If-None-Match") == etag:
                with server._lock:
                    server.not_modified += 1
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/atom+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler
