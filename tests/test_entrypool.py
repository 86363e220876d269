"""Archive entries made by forked workers are the ones made in-process, in the same order."""

from __future__ import annotations

from pathlib import Path

import pytest
from site_helpers import make_site, published, run

from aggregator import entrypool
from aggregator.atomxml import Entry
from aggregator.models import SiteSettings
from aggregator.normalise import render_body
from aggregator.postloader import PostLoader
from aggregator.store import Store

SITE = SiteSettings(title="金融消息", url="https://finews.withounder.com")


def render(body: str) -> str:
    return render_body(body, base_url=SITE.url)


def test_workers_give_the_in_process_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(tmp_path)
    posts = site / "storage" / "_posts"
    (posts / "2021-12-09-broken.md").write_text("---\ndate: [\n---\nbody", encoding="utf-8")
    names = [*sorted(p.name for p in posts.iterdir()), "2021-12-10-gone.md"]
    with Store(site / "storage") as store:
        alone = list(entrypool.entries(store, render, SITE, names))
        monkeypatch.setattr(entrypool, "_workers", lambda count: 2)
        spread = list(entrypool.entries(store, render, SITE, names))
    assert spread == alone
    assert [name for name, _ in spread] == names
    assert sum(isinstance(result, Entry) for _, result in spread) == len(names) - 2
    assert isinstance(dict(spread)["2021-12-09-broken.md"], str)  # the file's problem
    assert dict(spread)["2021-12-10-gone.md"] is None


def test_a_build_with_workers_writes_the_same_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alone = make_site(tmp_path / "alone", entries=4)
    assert run(alone, "build").exit_code == 0
    monkeypatch.setattr(entrypool, "_workers", lambda count: 2)
    spread = make_site(tmp_path / "spread", entries=4)
    assert run(spread, "build").exit_code == 0
    files = published(spread / "storage")
    assert files == published(alone / "storage")
    assert "feed/archive/5.xml" in files  # 24 posts, 4 a page: the archive pages are there


def test_entries_made_ahead_are_the_ones_made_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(tmp_path)
    posts = site / "storage" / "_posts"
    names = sorted(p.name for p in posts.iterdir())
    monkeypatch.setattr(entrypool, "_workers", lambda count: 2)
    with Store(site / "storage") as store:
        loader = PostLoader(store, render, SITE.url)
        expected = list(loader.entries(names[1::2], SITE))
        assert loader.prefetch_entries(names, SITE) is True
        assert list(loader.entries(names[1::2], SITE)) == expected  # every other one, in order
        # out of the order made ahead: the ones after it are made when asked
        assert loader.prefetch_entries(names, SITE) is True
        wanted = [names[2], names[0], names[1]]
        assert list(loader.entries(wanted, SITE)) == list(loader.entries(wanted, SITE))
        assert [name for name, _ in loader.entries(wanted, SITE)] == wanted
        monkeypatch.setattr(entrypool, "_workers", lambda count: 1)
        assert loader.prefetch_entries(names, SITE) is False  # in-process: nothing is done ahead
    assert loader.problems == []
