"""`aggregator --help` must not import the heavy libraries (they are imported inside the commands).

Start-up time itself is measured in bench/ (never asserted here: machines are noisy); this test
keeps the cause of a slow start from coming back.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).parent / "data"

HEAVY = (
    "httpx",
    "bs4",
    "nh3",
    "feedgen",
    "lxml",
    "pypinyin",
    "yaml",
    "markdown_it",
    "paka.cmark",
    "feedparser",
)


def loaded_line(probe: str, *args: str) -> str:
    """The last line `probe` prints (its "loaded: ..." report), run in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", probe, *args], capture_output=True, text=True, check=True
    )
    return done.stdout.splitlines()[-1]


# Runs `--help` of the group and of every command in one fresh interpreter, then lists what loaded.
_PROBE = """
import sys
import aggregator.cli as cli
for argv in [["--help"]] + [[name, "--help"] for name in cli.cli.commands]:
    try:
        cli.cli.main(argv, prog_name="aggregator")
    except SystemExit:
        pass
print("loaded:", " ".join(sorted(m for m in sys.argv[1:] if m in sys.modules)))
"""


def test_help_imports_no_heavy_library() -> None:
    assert loaded_line(_PROBE, *HEAVY) == "loaded: "


# A feed that answers 304 through its adapter, in a fresh interpreter, then lists what loaded.
_NOT_MODIFIED_PROBE = """
import sys
from aggregator.models import FetchResult, Source, Validators
from aggregator.sources import adapter_for

class NotModified:
    def get(self, url, **kwargs):
        return FetchResult(url, 304, b"", {}, Validators())

source = Source(name="f", type="feed", urls=("http://example.com/feed.xml",))
assert adapter_for(source)(source, NotModified()).not_modified
print("loaded:", " ".join(sorted(m for m in sys.argv[1:] if m in sys.modules)))
"""

UNNEEDED_ON_304 = (
    "bs4",
    "feedparser",
    "charset_normalizer",
    "aggregator.sources.eastmoney",
    "aggregator.sources.fulltext",
    "aggregator.sources.listing",
    "aggregator.sources.page",
)


def test_a_feed_answering_304_loads_no_parser_and_no_other_adapter() -> None:
    assert loaded_line(_NOT_MODIFIED_PROBE, *UNNEEDED_ON_304) == "loaded: "


# `build` over a few posts, in a fresh interpreter, then lists what loaded.
_BUILD_PROBE = """
import sys
import aggregator.cli as cli
try:
    cli.cli.main(["--config", sys.argv[1], "build"], prog_name="aggregator")
except SystemExit as exit:
    assert not exit.code, exit.code
print("loaded:", " ".join(sorted(m for m in sys.argv[2:] if m in sys.modules)))
"""

# the fetching side, the scheduler, the HTML site and the reference Atom writer
UNNEEDED_BY_BUILD = (
    "httpx",
    "bs4",
    "feedparser",
    "apscheduler",
    "asyncio",
    "jinja2",
    "feedgen",
    "tomlkit",
)


def test_build_loads_nothing_it_does_not_use(tmp_path: Path) -> None:
    posts = tmp_path / "_posts"
    posts.mkdir()
    for post in sorted((DATA / "finews_posts").glob("2*.md"))[:3]:
        shutil.copy(post, posts / post.name)
    config = tmp_path / "feeds_config.toml"
    config.write_text(
        '[site]\ntitle = "T"\nurl = "https://example.org"\n\n[storage]\ndir = "."\n', "utf-8"
    )
    assert loaded_line(_BUILD_PROBE, str(config), *UNNEEDED_BY_BUILD) == "loaded: "
    assert (tmp_path / "feed.xml").is_file()


_FETCH_MODULES_PROBE = """
import sys
import aggregator.config, aggregator.fetch, aggregator.health, aggregator.pipeline, aggregator.runview
print("loaded:", " ".join(sorted(m for m in sys.argv[1:] if m in sys.modules)))
"""


def test_fetch_loads_no_scheduler_and_no_terminal_view() -> None:
    # APScheduler (and the asyncio it imports) is only needed for a cron schedule or the daemon;
    # rich only on a terminal (httpx would load it, and pygments, for its own CLI: httpxlib)
    modules = ("apscheduler", "asyncio", "rich", "pygments")
    assert loaded_line(_FETCH_MODULES_PROBE, *modules) == "loaded: "
