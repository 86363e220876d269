"""A fake eastmoney server built from the finews fixture posts (tests/data/finews_posts/).

The posts are read with plain string splitting (never with the project's code), so the fake is an
independent witness of what eastmoney served:

* 2022 `emnews` posts (`> digest` line + body) are rolling-news articles: `content` = the body between
  the blank line after the digest line and the blank line before the `<http…>` link line;
  `url_w` = that link; the list's `digest` = `【title】` + the digest line.
* `NW…` posts are media articles: `text` = the body up to the blank line before the link line, byte
  exact (CRLFs kept); `from` = the tag without its final `新闻`; `showtime` = the date without offset.
* Twins (both posts of one article) become one Article serving both `content` and `text`.
  The 2021 emnews posts (no body), the init post and the undated malformed twin are skipped.

Usage::

    with FakeEastmoney() as em:                       # 127.0.0.1, free port, daemon thread
        em.rolling_url(count=100)                     # /web/webapi?type=102&count=100&newsid=1
        em.media_url()                                # /web/webapi?type=45&count=100&newsid=1
        em.market_url()                               # /information/newmarket/web/webapi?marketType=37…
        em.columns_url(callback="cb")                 # /comm/web/getNewsByColumns?… (JSONP if callback)
        em.text_url("NW…"), em.share_url("NW…")       # GetNewsText.do / NewsShare.html
        em.text_api                                   # "<base>/NewsData/GetNewsText.do?id={infoCode}"
        em.share_template                             # "<base>/html_News/NewsShare.html?infoCode={infoCode}"
        em.articles["NW202201072239307540"]           # Article values (read-only snapshot)

Routes (anything else answers 404):

    /web/webapi?type=102&count=N                      {"records": [...]} rolling news, newest first
    /web/webapi?type=45&count=N                       {"nodeList": [...]} media articles
    /web/webapi?type=<other>                          {"rc": 1, "message": "unknown type"} (200)
    /information/newmarket/web/webapi?marketType=M&count=N   {"record": [...]} media articles
    /comm/web/getNewsByColumns?page_size=N[&callback=cb]     {"data": {"list": [...]}} media articles
    /NewsData/GetNewsText.do?id=<infoCode or code>    {"content": …, "text": …} (fields the article has;
                                                      strong ETag = hash of the body; If-None-Match -> 304)
    /html_News/NewsShare.html?infoCode=<infoCode>     JS shell: <title>{title} - 东方财富网</title> + <script>

Controls (thread-safe; take effect on the next request):

    em.update_article(info_code, **changes)   replace Article fields (e.g. text=… -> new ETag, title="")
    em.add_article(Article(...))              a new article (listed where it has content/text)
    em.fail(route, status)                    answer `status` (empty body) on a route
    em.override(route, body, status=200, content_type="application/json")   serve fixed bytes
    em.clear_overrides()
    em.list_etags = True                      lists send an ETag and honour If-None-Match (default off,
                                              like the real APIs)
    em.text_in_data = True                    text API answers {"data": {...}} instead of {...}
    em.text_meta = True                       text API also sends `title` and `showtime`
    em.count(path) -> int                     requests received for a path (query ignored)
    em.received -> list[Received]             every request: path, query, headers (lower-case names);
                                              Received.if_none_match / .if_modified_since
    em.reset_log()

A `route` is a path (`/NewsData/GetNewsText.do`: every query) or a path with a query
(`/NewsData/GetNewsText.do?id=NW…`: request targets starting with it).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

POSTS_DIR = Path(__file__).parent / "data" / "finews_posts"
UNIQUE_URL = "http://finance.eastmoney.com/a/{code}.html"
_POST_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})-(NW)?(\d{18})\.md")


@dataclass(frozen=True)
class Article:
    """One article as the fake serves it; None = the field is absent."""

    code: str  # 18 digits
    title: str
    showtime: str  # "YYYY-MM-DD HH:MM:SS", CST, may be ""
    media: str | None = None  # media name (from the NW post's tag); media lists need it
    url_w: str | None = None  # channel link of the rolling-news record
    digest: str | None = None  # digest tail (the emnews post's `> ` line)
    content: str | None = None  # GetNewsText `content` (rolling news); listed in type=102
    text: str | None = None  # GetNewsText `text` (media); listed in the three media lists

    @property
    def info_code(self) -> str:
        return "NW" + self.code


@dataclass(frozen=True)
class Received:
    """One request as the fake saw it."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names

    @property
    def if_none_match(self) -> str | None:
        return self.headers.get("if-none-match")

    @property
    def if_modified_since(self) -> str | None:
        return self.headers.get("if-modified-since")


def load_articles(posts_dir: Path = POSTS_DIR) -> dict[str, Article]:
    """The fixture posts as Articles keyed by infoCode, oldest first."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(posts_dir.iterdir()):
        match = _POST_NAME.fullmatch(path.name)
        if match is None:
            continue
        front, body = _split_post(path.read_bytes().decode("utf-8"))
        head, _, tail = body.rpartition("\n\n<")
        link = tail.split(">", 1)[0]
        fields = found.setdefault(match.group(3), {})
        fields.update(title=front["title"], showtime=front["date"].rsplit(" +", 1)[0].strip())
        if match.group(2):  # NW… media post
            fields.update(text=head, media=front["tags"].removesuffix("新闻"))
        elif head.startswith("> "):  # 2022 emnews post: digest line, blank line, content
            digest_line, _, content = head.partition("\n\n")
            fields.update(digest=digest_line[2:], content=content, url_w=link)
    articles = (Article(code=code, **fields) for code, fields in sorted(found.items()))
    return {a.info_code: a for a in articles if a.content is not None or a.text is not None}


def _split_post(raw: str) -> tuple[dict[str, str], str]:
    _, front, body = raw.split("---\n", 2)
    values = {}
    for line in front.splitlines():
        name, _, value = line.partition(":")
        value = value.strip()
        values[name] = value[1:-1] if value.startswith('"') else value
    return values, body


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:20] + '"'


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags


class FakeEastmoney:
    """The fake server; a context manager that starts and stops it (see the module docstring)."""

    def __init__(self, posts_dir: Path = POSTS_DIR, *, list_etags: bool = False) -> None:
        self._articles = load_articles(posts_dir)
        self._lock = threading.Lock()
        self._overrides: dict[str, tuple[int, bytes, str]] = {}
        self._received: list[Received] = []
        self.list_etags = list_etags
        self.text_in_data = False
        self.text_meta = False
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # --- lifecycle ---
    def __enter__(self) -> FakeEastmoney:
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
        self._thread.join()

    # --- URLs ---
    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def rolling_url(self, count: int = 100) -> str:
        return f"{self.base_url}/web/webapi?type=102&count={count}&newsid=1"

    def media_url(self, count: int = 100) -> str:
        return f"{self.base_url}/web/webapi?type=45&count={count}&newsid=1"

    def market_url(self, count: int = 100, market: int = 37) -> str:
        return f"{self.base_url}/information/newmarket/web/webapi?marketType={market}&count={count}"

    def columns_url(self, page_size: int = 20, callback: str | None = None) -> str:
        url = (
            f"{self.base_url}/comm/web/getNewsByColumns?client=web&biz=web_news_col&column=1207"
            f"&order=1&needInteractData=0&page_index=1&page_size={page_size}"
            "&fields=code,showTime,title,mediaName,summary,image,url,uniqueUrl,Np_dst&types=1,20"
        )
        return url + (f"&callback={callback}" if callback else "")

    @property
    def text_api(self) -> str:
        return self.base_url + "/NewsData/GetNewsText.do?id={infoCode}"

    @property
    def share_template(self) -> str:
        return self.base_url + "/html_News/NewsShare.html?infoCode={infoCode}"

    def text_url(self, info_code: str) -> str:
        return self.text_api.replace("{infoCode}", info_code)

    def share_url(self, info_code: str) -> str:
        return self.share_template.replace("{infoCode}", info_code)

    # --- controls ---
    @property
    def articles(self) -> Mapping[str, Article]:
        with self._lock:
            return dict(self._articles)

    def update_article(self, info_code: str, **changes: Any) -> Article:
        with self._lock:
            article = dataclasses.replace(self._articles[info_code], **changes)
            self._articles[info_code] = article
            return article

    def add_article(self, article: Article) -> None:
        with self._lock:
            self._articles[article.info_code] = article

    def override(
        self, route: str, body: bytes, status: int = 200, content_type: str = "application/json"
    ) -> None:
        with self._lock:
            self._overrides[route] = (status, body, content_type)

    def fail(self, route: str, status: int) -> None:
        self.override(route, b"", status, "text/plain")

    def clear_overrides(self) -> None:
        with self._lock:
            self._overrides.clear()

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def count(self, path: str) -> int:
        return sum(1 for request in self.received if request.path == path)

    def reset_log(self) -> None:
        with self._lock:
            self._received.clear()

    # --- serving (called from the handler threads) ---
    def _respond(
        self, target: str, headers: Mapping[str, str]
    ) -> tuple[int, bytes, dict[str, str]]:
        parts = urlsplit(target)
        query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        with self._lock:
            self._received.append(Received(parts.path, query, dict(headers)))
            override = self._find_override(parts.path, target)
            articles = sorted(
                self._articles.values(), key=lambda a: (a.showtime, a.code), reverse=True
            )
        if override:
            status, body, content_type = override
            return status, body, {"Content-Type": content_type}
        if parts.path == "/NewsData/GetNewsText.do":
            return self._text(articles, query.get("id", ""), headers)
        if parts.path == "/html_News/NewsShare.html":
            return self._share_page(articles, query.get("infoCode", ""))
        payload = self._list(parts.path, query, articles)
        if payload is None:
            return 404, b"not found", {"Content-Type": "text/plain"}
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        content_type = "application/json; charset=utf-8"
        if parts.path == "/comm/web/getNewsByColumns" and query.get("callback"):
            body = query["callback"].encode() + b"(" + body + b");"
            content_type = "application/javascript; charset=utf-8"
        if not self.list_etags:
            return 200, body, {"Content-Type": content_type}
        return self._conditional(body, content_type, headers)

    def _find_override(self, path: str, target: str) -> tuple[int, bytes, str] | None:
        for route, answer in self._overrides.items():
            if ("?" in route and target.startswith(route)) or route == path:
                return answer
        return None

    def _list(self, path: str, query: Mapping[str, str], articles: list[Article]) -> object:
        media = [a for a in articles if a.text is not None and a.media is not None]
        if path == "/web/webapi":
            count = int(query.get("count", "100"))
            if query.get("type") == "102":
                rolling = [a for a in articles if a.content is not None]
                return {"records": [_record_102(a) for a in rolling[:count]]}
            if query.get("type") == "45":
                return {"nodeList": [_node_45(a) for a in media[:count]]}
            return {"rc": 1, "message": "unknown type"}
        if path == "/information/newmarket/web/webapi":
            count = int(query.get("count", "100"))
            return {"record": [_market_record(a) for a in media[:count]]}
        if path == "/comm/web/getNewsByColumns":
            size = int(query.get("page_size", "20"))
            rows = [_column_row(a) for a in media[:size]]
            data = {"list": rows, "page_index": 1, "page_size": size, "total_hits": len(media)}
            return {"req_trace": query.get("req_trace", ""), "code": "1", "data": data}
        return None

    def _text(
        self, articles: list[Article], wanted: str, headers: Mapping[str, str]
    ) -> tuple[int, bytes, dict[str, str]]:
        article = next((a for a in articles if wanted in (a.info_code, a.code)), None)
        if article is None:
            return 404, b"not found", {"Content-Type": "text/plain"}
        fields: dict[str, str] = {}
        if self.text_meta:
            fields.update(title=article.title, showtime=article.showtime)
        if article.content is not None:
            fields["content"] = article.content
        if article.text is not None:
            fields["text"] = article.text
        payload: object = {"data": fields} if self.text_in_data else fields
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        return self._conditional(body, "application/json; charset=utf-8", headers)

    def _share_page(
        self, articles: list[Article], info_code: str
    ) -> tuple[int, bytes, dict[str, str]]:
        article = next((a for a in articles if a.info_code == info_code), None)
        if article is None:
            return 404, b"not found", {"Content-Type": "text/plain"}
        page = (
            '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n'
            f"<title>{_html_escape(article.title)} - 东方财富网</title>\n"
            '<script src="js/newsShare.js"></script>\n</head>\n'
            '<body><div id="app"></div></body>\n</html>\n'
        )
        return 200, page.encode("utf-8"), {"Content-Type": "text/html; charset=utf-8"}

    @staticmethod
    def _conditional(
        body: bytes, content_type: str, headers: Mapping[str, str]
    ) -> tuple[int, bytes, dict[str, str]]:
        etag = _etag(body)
        if _matches(headers.get("if-none-match"), etag):
            return 304, b"", {"ETag": etag}
        return 200, body, {"Content-Type": content_type, "ETag": etag}


def _record_102(a: Article) -> dict[str, str]:
    return {
        "id": a.code,
        "infoCode": a.info_code,
        "title": a.title,
        "digest": f"【{a.title}】{a.digest or ''}",
        "showtime": a.showtime,
        "url_w": a.url_w or "",
    }


def _node_45(a: Article) -> dict[str, str]:
    return {
        "infocode": a.info_code,
        "title": a.title,
        "showtime": a.showtime,
        "from": a.media or "",
        "simtitle": a.title,
        "simdigest": f"【{a.title}】{a.digest or ''}",
    }


def _market_record(a: Article) -> dict[str, str]:
    return {
        "infoCode": a.info_code,
        "title": a.title,
        "datetime": a.showtime,
        "medianame": a.media or "",
    }


def _column_row(a: Article) -> dict[str, str]:
    unique = UNIQUE_URL.format(code=a.code)
    return {
        "code": a.code,
        "showTime": a.showtime,
        "title": a.title,
        "mediaName": a.media or "",
        "summary": a.digest or "",
        "image": "",
        "url": a.url_w or unique,
        "uniqueUrl": unique,
        "Np_dst": "",
    }


def _html_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _make_handler(fake: FakeEastmoney) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, body, extra = fake._respond(self.path, headers)
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            if status != 304:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if status != 304:
                self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    return Handler
