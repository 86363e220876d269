"""A lean fake eastmoney server with added latency, for the eastmoney ingest benchmark.

Serves the same formats as tests/fake_eastmoney.py (the `type=45` media list and GetNewsText.do
with a strong ETag), for `items` articles built from the fixture bodies, and sleeps `latency`
seconds before every answer (a server far away). Lookups are dict hits, so the server's own CPU
stays small next to the client's.

    with EastmoneyServer(items=2000, latency=0.02) as em:
        em.list_url, em.text_api, em.text_urls
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

from gen_posts import CATEGORIES, article_bodies


class EastmoneyServer:
    def __init__(self, items: int = 2000, latency: float = 0.02) -> None:
        self.latency = latency
        bodies = article_bodies()
        nodes = []
        self.texts: dict[str, tuple[bytes, str]] = {}
        for index in range(items):
            code = f"2024{index:014d}"
            media = CATEGORIES[index % len(CATEGORIES)][1]
            showtime = f"2024-06-{1 + index // 1440:02d} {index // 60 % 24:02d}:{index % 60:02d}:00"
            nodes.append(
                {
                    "infocode": f"NW{code}",
                    "title": f"第{index}条新闻",
                    "showtime": showtime,
                    "from": media,
                    "simtitle": f"第{index}条新闻",
                    "simdigest": "",
                }
            )
            body = json.dumps({"text": bodies[index % len(bodies)]}, ensure_ascii=False).encode()
            self.texts[f"NW{code}"] = (body, '"' + hashlib.sha256(body).hexdigest()[:20] + '"')
        nodes.reverse()  # newest first, as the real list
        self.list_body = json.dumps({"nodeList": nodes}, ensure_ascii=False).encode()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._server.request_queue_size = 128
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def list_url(self) -> str:
        return f"{self.base_url}/web/webapi?type=45&count={len(self.texts)}&newsid=1"

    @property
    def text_api(self) -> str:
        return self.base_url + "/NewsData/GetNewsText.do?id={infoCode}"

    @property
    def text_urls(self) -> list[str]:
        return [self.text_api.replace("{infoCode}", code) for code in self.texts]

    def __enter__(self) -> EastmoneyServer:
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


def _handler(server: EastmoneyServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out at once: no 40 ms delayed ACK

        def do_GET(self) -> None:
            time.sleep(server.latency)
            parts = urlsplit(self.path)
            status, body, etag = 404, b"not found", None
            if parts.path == "/web/webapi":
                status, body = 200, server.list_body
            elif parts.path == "/NewsData/GetNewsText.do":
                found = server.texts.get(parse_qs(parts.query).get("id", [""])[0])
                if found is not None:
                    status, (body, etag) = 200, found
                    if self.headers.get("If-None-Match") == etag:
                        status, body = 304, b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            if etag:
                self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler
