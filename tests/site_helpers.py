"""Helpers for the publishing tests: a storage dir made from the 25 real posts of the original
site, the CLI with a fixed clock, and `aggregator serve`'s app on uvicorn in a thread."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from click.testing import CliRunner, Result

from aggregator.cli import cli
from aggregator.serve import SiteFiles, make_app

DATA = Path(__file__).parent / "data"
FIXTURE_POSTS = DATA / "finews_posts"
FIXED_NOW = "1654041600"  # 2022-06-01 00:00:00 UTC
SITE_URL = "https://finews.withounder.com"


def make_site(tmp: Path, *, extra: str = "", entries: int = 50) -> Path:
    """`tmp/feeds_config.toml` and `tmp/storage/_posts/` holding the original site's posts."""
    posts = tmp / "storage" / "_posts"
    posts.mkdir(parents=True)
    for path in sorted(FIXTURE_POSTS.glob("*.md")):
        if path.name[:1].isdigit():  # leave out INDEX.md and the malformed `-2022...md`
            shutil.copy(path, posts / path.name)
    (tmp / "feeds_config.toml").write_text(
        f'[site]\ntitle = "金融消息"\nurl = "{SITE_URL}"\n\n[feeds]\nentries = {entries}\n{extra}',
        encoding="utf-8",
    )
    return tmp


def run(site: Path, *args: str, now: str = FIXED_NOW) -> Result:
    return CliRunner().invoke(
        cli,
        ["--config", str(site / "feeds_config.toml"), *args],
        env={"SOURCE_DATE_EPOCH": now},
        catch_exceptions=False,
    )


def published(root: Path) -> dict[str, bytes]:
    """Every file under `root` but the state dir and the posts, by relative path."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not {".aggregator", "_posts"} & set(p.relative_to(root).parts)
    }


@contextmanager
def serving(root: Path, *, hidden: tuple[Path, ...] = ()) -> Iterator[str]:
    """The serve app for `root` on 127.0.0.1:<free port>; yields the base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = make_app(SiteFiles(root, hidden=hidden, rescan_interval=0))
    config = uvicorn.Config(
        app, log_level="warning", lifespan="off", ws="none", http="h11", server_header=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
