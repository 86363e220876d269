"""A local news site made of the labelled pages (tests/data/pages) and lists (tests/data/listing).

/roll/                 HTML list, GBK under a wrong `charset=utf-8` header
/api/list              JSON list (data.list[]: docId, title, showTime, mediaName, uniqueUrl)
/api/text/<docId>      JSON text API (data.title, data.content)
/a/<name>.html         labelled article pages, each with an ETag (answers 304 to it)
/news/<docId>.html     the article pages of the JSON list
"""

from __future__ import annotations

import json
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from httpserver import Reply

DATA = Path(__file__).parent / "data"
PAGES = DATA / "pages"
LISTING = DATA / "listing"
UTF8_HTML = {"Content-Type": "text/html; charset=utf-8"}
JSON = {"Content-Type": "application/json"}

Route = Reply | Callable[[BaseHTTPRequestHandler], "Reply | None"]


def page_reply(name: str, *, etag: str | None = None) -> Callable[[BaseHTTPRequestHandler], Reply]:
    """A labelled page with its own Content-Type; answers 304 to its ETag."""
    label = json.loads((PAGES / "labels.json").read_text(encoding="utf-8"))[name]
    body = (PAGES / f"{name}.html").read_bytes()

    def reply(handler: BaseHTTPRequestHandler) -> Reply:
        headers = {"Content-Type": label["content_type"]}
        if etag:
            headers["ETag"] = etag
            if handler.headers.get("If-None-Match") == etag:
                return Reply(304, b"", headers)
        return Reply(200, body, headers)

    return reply


def routes() -> dict[str, Route]:
    # the GBK list is served under a wrong charset=utf-8 header, as Chinese portals often do
    table: dict[str, Route] = {
        "/roll/": Reply(200, (LISTING / "roll_news.html").read_bytes(), UTF8_HTML),
        "/api/list": Reply(200, (LISTING / "column_list.json").read_bytes(), JSON),
    }
    for name in ("sina_finance", "xinhua", "people_gb2312", "kr36_tech", "netease_gbk"):
        table[f"/a/{name}.html"] = page_reply(name, etag=f'"{name}-v1"')
    table["/roll/a/xinhua.html"] = page_reply("xinhua")
    for doc in ("20230907A01", "20240102B07", "20211208C03"):
        table[f"/api/text/{doc}"] = Reply(200, (LISTING / f"text_{doc}.json").read_bytes(), JSON)
    for doc, name in (("20230907A01", "kr36_tech"), ("20240102B07", "thepaper_next")):
        table[f"/news/{doc}.html"] = page_reply(name)
    return table
