"""RELIABILITY G1/G2: `aggregator fetch` killed with SIGKILL anywhere, then run again, loses nothing.

The kill points come from `aggregator.crashpoints` (AGGREGATOR_CRASH_AT=<point>:<n> kills the
process the n-th time it reaches <point>), so every run dies at a known place: after a source was
fetched, mid-write (temp file written, not yet renamed), right after a rename, before and after
SQLite commits, and between the feed files of a rebuild. After the second, normal run the storage
dir must equal that of one uninterrupted run, byte for byte.
"""

from __future__ import annotations

import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fake_eastmoney import FakeEastmoney
from hardening import run_cli, tree, write_site

from aggregator.crashpoints import ENV
from aggregator.store import TEMP_PREFIX

KILL_POINTS = [
    "fetched:1",  # the first source's lists and texts are fetched, nothing written
    "fetched:2",  # the first source is fully stored, the second fetched
    "before-replace:1",  # the very first write: temp file complete, not renamed
    "before-replace:7",  # mid-way through the posts
    "after-replace:3",  # a post renamed into place, its state not yet committed
    "before-commit:4",  # a state transaction about to commit
    "after-commit:9",  # a state transaction committed, the next write not started
    "feed:1",  # every post stored, no feed written yet
    "feed:2",  # during the rebuild: the first feed replaced, the others not
]


@pytest.fixture(scope="module")
def em() -> Iterator[FakeEastmoney]:
    with FakeEastmoney() as server:
        yield server


def site(root: Path, em: FakeEastmoney) -> Path:
    sources = f"""
[[sources]]
name = "em-rolling"
type = "eastmoney"
url = "{em.rolling_url(100)}"
text_api = "{em.text_api}"
category = "emnews"
tag = "东财滚动新闻"

[[sources]]
name = "em-media"
type = "eastmoney"
url = "{em.media_url(100)}"
text_api = "{em.text_api}"
"""
    return write_site(root, sources)


@pytest.fixture(scope="module")
def reference(em: FakeEastmoney, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("uninterrupted")
    run = run_cli(site(root, em), "fetch")
    assert run.code == 0, run.stderr
    return tree(root / "storage")


def check_consistent(storage: Path, reference: dict[str, str]) -> None:
    assert tree(storage) == reference
    leftovers = [
        p
        for p in storage.rglob(f"{TEMP_PREFIX}*")
        if ".aggregator" not in p.relative_to(storage).parts
    ]
    assert leftovers == []
    guids = []
    for post in sorted((storage / "_posts").glob("*.md")):
        front = post.read_text(encoding="utf-8").split("---\n", 2)[1]
        guids.append(yaml.safe_load(front)["guid"])
    assert (
        len(guids) == len(set(guids)) == sum(1 for name in reference if name.startswith("_posts/"))
    )
    with sqlite3.connect(storage / ".aggregator" / "state.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        seen = {row[0] for row in db.execute("SELECT filename FROM seen")}
    assert {f"_posts/{name}" for name in seen} == {n for n in reference if n.startswith("_posts/")}


def test_G2_reference_run_writes_posts_and_feeds(reference: dict[str, str]) -> None:
    assert sum(1 for name in reference if name.startswith("_posts/")) >= 10
    assert "feed.xml" in reference


@pytest.mark.parametrize("point", KILL_POINTS)
def test_G2_sigkill_at_any_point_then_a_rerun_equals_an_uninterrupted_run(
    point: str, em: FakeEastmoney, reference: dict[str, str], tmp_path: Path
) -> None:
    config = site(tmp_path, em)
    killed = run_cli(config, "fetch", env={ENV: point})
    assert killed.code == -signal.SIGKILL, f"{point} was never reached: {killed.stdout}"
    rerun = run_cli(config, "fetch")
    assert rerun.code == 0, rerun.stderr
    check_consistent(tmp_path / "storage", reference)
