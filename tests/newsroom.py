"""A scriptable eastmoney-style rolling-news server for daemon tests.

    with Newsroom() as room:
        room.add(3)                                # three articles in the list
        room.script(Reply(500), Reply(500))        # the next two list requests answer 500
        room.script(Reply(429, headers={"Retry-After": "3"}))
        room.text_delay = 1.0                      # every article body takes a second
        room.old_status = 308                      # /old-list redirects to the list with 308
        room.list_times                            # time.monotonic() of every list request
        room.hold_from = 4; room.release()         # the 4th list request on waits until released
        room.config(tmp_path, interval="1s")       # a feeds_config.toml for it

The list is `/web/webapi?type=102…` ({"records": [...]}), bodies come from
`/NewsData/GetNewsText.do?id=NW<code>` ({"content": ...}); see fake_eastmoney for the real shapes.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from contextlib import ExitStack
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

from httpserver import Reply, serve


class Newsroom:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._articles: list[tuple[str, str, str]] = []  # (code, title, showtime)
        self._script: deque[Reply] = deque()
        self.list_times: list[float] = []
        self.text_delay = 0.0
        self.old_status = 301  # what /old-list answers: a redirect to the list (or any status)
        # list requests from this number on wait for `release` (a pass held in flight)
        self.hold_from: int | None = None
        self._released = threading.Event()
        self._stack = ExitStack()
        self.url = ""

    def __enter__(self) -> Newsroom:
        routes = {
            "/web/webapi": self._list,
            "/NewsData/GetNewsText.do": self._text,
            "/old-list": self._old_list,
        }
        self.url = self._stack.enter_context(serve(routes))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
        self._stack.close()

    def release(self) -> None:
        """Answer the held list requests, and every later one at once."""
        self._released.set()

    @property
    def list_url(self) -> str:
        return f"{self.url}/web/webapi?type=102&count=100&newsid=1"

    def add(self, count: int, day: str = "2022-06-01") -> list[str]:
        """Add `count` articles dated `day`; returns their codes (18 digits)."""
        with self._lock:
            start = len(self._articles)
            codes = []
            for n in range(start, start + count):
                code = f"2022060110{n:08d}"
                showtime = f"{day} 10:{n // 60:02d}:{n % 60:02d}"
                self._articles.append((code, f"新闻 {n}", showtime))
                codes.append(code)
            return codes

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def config(
        self,
        root: Path,
        *,
        interval: str = "1s",
        grace: str = "5s",
        url: str | None = None,
        extra: str = "",
    ) -> Path:
        path = root / "feeds_config.toml"
        path.write_text(
            f"""
[site]
title = "newsroom"
url = "https://news.example.org"

[fetch]
allow_private_networks = true
deadline = 10

[schedule]
jitter = "0s"
shutdown_grace = "{grace}"

[[sources]]
name = "room"
type = "eastmoney"
url = "{url or self.list_url}"
text_api = "{self.url}/NewsData/GetNewsText.do?id={{infoCode}}"
interval = "{interval}"
category = "room"
tag = "房间"
{extra}
""",
            encoding="utf-8",
        )
        return path

    # -- handlers ---------------------------------------------------------------------------

    def _list(self, handler: BaseHTTPRequestHandler) -> Reply:
        with self._lock:
            self.list_times.append(time.monotonic())
            held = self.hold_from is not None and len(self.list_times) >= self.hold_from
        if held:
            self._released.wait(timeout=60)
        with self._lock:
            if self._script:
                return self._script.popleft()
            records = [
                {
                    "id": code,
                    "infoCode": "NW" + code,
                    "title": title,
                    "digest": f"【{title}】摘要",
                    "showtime": showtime,
                    "url_w": "",
                }
                for code, title, showtime in reversed(self._articles)
            ]
        body = json.dumps({"records": records}, ensure_ascii=False).encode("utf-8")
        return Reply(200, body, {"Content-Type": "application/json; charset=utf-8"})

    def _old_list(self, handler: BaseHTTPRequestHandler) -> Reply:
        return Reply(self.old_status, b"", {"Location": self.list_url})

    def _text(self, handler: BaseHTTPRequestHandler) -> Reply:
        if self.text_delay:
            time.sleep(self.text_delay)
        wanted = parse_qs(urlsplit(handler.path).query).get("id", [""])[0]
        with self._lock:
            found = [a for a in self._articles if "NW" + a[0] == wanted or a[0] == wanted]
        if not found:
            return Reply(404, b"not found")
        body = json.dumps({"content": f"<p>{found[0][1]} 的正文。</p>"}, ensure_ascii=False)
        return Reply(200, body.encode("utf-8"), {"Content-Type": "application/json"})
