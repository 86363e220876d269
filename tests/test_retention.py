"""`[retention] keep_days`: old posts move to `_archive/`, stay in the feeds, never come back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result
from lxml import etree
from newsroom import Newsroom

from aggregator.cli import cli
from aggregator.retention import cutoff

JUNE_2 = 1654128000  # 2022-06-02 00:00:00 UTC (08:00 in Shanghai)
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def room() -> Iterator[Newsroom]:
    with Newsroom() as server:
        yield server


def run(config: Path, *args: str, at: int = JUNE_2) -> Result:
    return CliRunner().invoke(
        cli, ["--config", str(config), *args], env={"SOURCE_DATE_EPOCH": str(at)}
    )


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.md")) if folder.is_dir() else []


def entry_ids(feed: Path) -> list[str]:
    return [e.findtext(f"{ATOM}id") or "" for e in etree.parse(str(feed)).iter(f"{ATOM}entry")]


def test_cutoff_counts_days_in_the_site_zone() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    now = datetime(2022, 6, 3, 17, 0, tzinfo=UTC)  # already June 4 in Shanghai
    assert str(cutoff(now, 3, shanghai)) == "2022-06-01"
    assert str(cutoff(now, 3, UTC)) == "2022-05-31"


def test_old_posts_move_to_the_archive_and_stay_in_the_feeds(
    room: Newsroom, tmp_path: Path
) -> None:
    room.add(1, day="2022-05-20")
    room.add(2, day="2022-06-01")
    config = room.config(tmp_path, extra="")
    config.write_text(config.read_text("utf-8") + "\n[retention]\nkeep_days = 3\n", "utf-8")
    storage = tmp_path / "storage"

    first = run(config, "fetch")
    assert first.exit_code == 0, first.output
    assert first.output.splitlines()[0].startswith("room: 3 new, 0 changed, 0 unchanged (")
    old = "2022-05-20-202206011000000000.md"
    assert names(storage / "_archive") == [old]
    assert len(names(storage / "_posts")) == 2
    feed = storage / "feed" / "room.xml"
    assert len(entry_ids(feed)) == 3  # the archived post is still in its feed
    before = feed.read_bytes()

    # the list still has the old article: seen before, file archived -> never written back
    again = run(config, "fetch", at=JUNE_2 + 600)
    assert again.output.startswith("room: 0 new, 0 changed, 3 unchanged (")
    assert names(storage / "_archive") == [old] and len(names(storage / "_posts")) == 2
    assert feed.read_bytes() == before

    # a new post rebuilds the category feed: the archived post is still read from _archive/
    room.add(1, day="2022-06-02")
    assert run(config, "fetch", at=JUNE_2 + 1200).exit_code == 0
    assert len(entry_ids(feed)) == 4
