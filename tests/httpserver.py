"""A real HTTP server on 127.0.0.1:<free port> in a thread, for tests that need actual sockets.

    with serve({"/feed.xml": Reply(200, b"<rss/>", {"Content-Type": "application/rss+xml"})}) as url:
        fetcher.get(url + "/feed.xml")
        assert url.requests[0].headers["user-agent"].startswith("aggregator/")

`serve` takes either a routes mapping (path without query -> `Reply`, or a function of the request
handler returning a `Reply`, or returning None after writing the response itself) or any
`BaseHTTPRequestHandler` subclass. It yields the base URL (a `str`) that also carries `.requests`,
the requests the server has seen, in order. Unknown paths answer 404. Responses are HTTP/1.0
(one request per connection) unless `keep_alive=True`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Reply:
    """A canned response. Content-Length is added unless `headers` sets it."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)


Route = Reply | Callable[[BaseHTTPRequestHandler], "Reply | None"]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # as sent, query included
    headers: Mapping[str, str]  # lower-cased names
    client_port: int  # the same port on two requests means one reused connection


class ServerURL(str):
    """The base URL (`http://127.0.0.1:PORT`, no trailing slash) plus what the server saw."""

    requests: list[RecordedRequest]


def send_reply(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
    handler.send_response(reply.status)
    names = {name.lower() for name in reply.headers}
    for name, value in reply.headers.items():
        handler.send_header(name, value)
    if "content-length" not in names:
        handler.send_header("Content-Length", str(len(reply.body)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(reply.body)


def _routes_handler(routes: Mapping[str, Route]) -> type[BaseHTTPRequestHandler]:
    class RoutesHandler(BaseHTTPRequestHandler):
        def _dispatch(self) -> None:
            route = routes.get(urlsplit(self.path).path)
            if route is None:
                send_reply(self, Reply(404, b"not found"))
                return
            reply = route if isinstance(route, Reply) else route(self)
            if reply is not None:
                send_reply(self, reply)

        do_GET = do_HEAD = do_POST = _dispatch

    return RoutesHandler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up early (deadline, size cap) is what many tests provoke.
        pass


@contextmanager
def serve(
    handler: Mapping[str, Route] | type[BaseHTTPRequestHandler],
    *,
    keep_alive: bool = False,
) -> Iterator[ServerURL]:
    """Run the server for the duration of the block; `keep_alive` answers with HTTP/1.1."""
    base = _routes_handler(handler) if isinstance(handler, Mapping) else handler
    protocol = "HTTP/1.1" if keep_alive else base.protocol_version
    seen: list[RecordedRequest] = []

    class Recording(base):  # type: ignore[valid-type,misc]
        protocol_version = protocol

        def parse_request(self) -> bool:
            ok = bool(super().parse_request())
            if ok:
                headers = {name.lower(): value for name, value in self.headers.items()}
                seen.append(
                    RecordedRequest(self.command, self.path, headers, self.client_address[1])
                )
            return ok

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = _QuietServer(("127.0.0.1", 0), Recording)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    url = ServerURL(f"http://127.0.0.1:{server.server_address[1]}")
    url.requests = seen
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
