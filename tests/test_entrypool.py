"""Archive entries made by forked workers are the ones made in-process, in the same order, and
subscription documents made on a cold pass are the ones made in-process."""

from __future__ import annotations

from pathlib import Path

import pytest
from site_helpers import make_site, published, run

from aggregator import entrypool, feedindex, feedpages, normalise, publish
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
    assert [name for name, _, _ in spread] == names
    assert sum(isinstance(result, Entry) for _, result, _ in spread) == len(names) - 2
    results = {name: result for name, result, _ in spread}
    assert isinstance(results["2021-12-09-broken.md"], str)  # the file's problem
    assert results["2021-12-10-gone.md"] is None
    assert {body for _, _, body in spread} == {None}  # none was to be kept


def test_workers_give_the_bodies_to_keep(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = make_site(tmp_path)
    names = sorted(p.name for p in (site / "storage" / "_posts").iterdir())
    keep = set(names[::3])
    monkeypatch.setattr(entrypool, "_workers", lambda count: 2)
    with Store(site / "storage") as store:
        made = list(entrypool.entries(store, render, SITE, names, keep=keep, base=SITE.url))
        for name, entry, body in made:
            assert isinstance(entry, Entry)
            if name not in keep:
                assert body is None
                continue
            post = store.read_post(name, render)
            assert post is not None
            assert body == (feedindex.render_key(post.body, SITE.url), post.content_html)


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


def subscription_documents(storage: Path) -> dict[str, bytes]:
    """feed.xml and every category's and tag's feed (no archive pages)."""
    paths = [storage / "feed.xml", *(storage / "feed").glob("*.xml")]
    paths += (storage / "feed" / "by_tag").glob("*.xml")
    return {p.relative_to(storage).as_posix(): p.read_bytes() for p in paths}


def count_calls(monkeypatch: pytest.MonkeyPatch, name: str, *owners: object) -> list[object]:
    """Calls of the function `name` of the first of `owners` (each has it as a global)."""
    calls: list[object] = []
    original = getattr(owners[0], name)

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return original(*args, **kwargs)

    for owner in owners:
        monkeypatch.setattr(owner, name, counted)
    return calls


def rebuilt_without_documents(site: Path) -> dict[str, bytes]:
    """The subscription documents a `build` writes again once they are deleted."""
    storage = site / "storage"
    for path in subscription_documents(storage):
        (storage / path).unlink()
    assert run(site, "build").exit_code == 0
    return subscription_documents(storage)


@pytest.mark.parametrize("workers", [1, 2])
def test_documents_made_on_the_cold_pass_are_the_in_process_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    monkeypatch.setattr(entrypool, "_workers", lambda count: workers)
    site = make_site(tmp_path, entries=2)  # 24 posts: 12 pages of the site feed, a cold pass
    storage = site / "storage"
    in_process = count_calls(monkeypatch, "current_files", feedpages, publish)
    assert run(site, "build").exit_code == 0
    assert in_process == []  # every document rode the pass
    cold = subscription_documents(storage)
    assert len(cold) > 10
    # archives in place: the documents are made in-process, with the same bytes
    assert rebuilt_without_documents(site) == cold
    assert len(in_process) == len(cold)


def test_a_document_whose_post_is_gone_is_made_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(entrypool, "_workers", lambda count: 2)
    site = make_site(tmp_path, entries=2)
    storage = site / "storage"
    gone = max(p.name for p in (storage / "_posts").iterdir())  # on the site's document
    read_post = Store.read_post

    def reading(self: Store, filename: str, *args: object, **kwargs: object) -> object:
        return None if filename == gone else read_post(self, filename, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Store, "read_post", reading)
    in_process = count_calls(monkeypatch, "current_files", feedpages, publish)
    assert run(site, "build").exit_code == 0
    assert in_process  # the documents that held it
    made = subscription_documents(storage)
    assert rebuilt_without_documents(site) == made


def test_a_cold_pass_keeps_the_bodies_of_its_documents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(entrypool, "_workers", lambda count: 2)
    site = make_site(tmp_path, entries=2)
    assert run(site, "build").exit_code == 0
    monkeypatch.setattr(entrypool, "_workers", lambda count: 1)
    renders = count_calls(monkeypatch, "render_body", normalise)
    for path in subscription_documents(site / "storage"):
        (site / "storage" / path).unlink()
    assert run(site, "build").exit_code == 0
    assert renders == []  # every body of the documents was kept by the cold pass


def test_a_cold_pass_keeps_at_most_its_share_of_bodies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(entrypool, "_workers", lambda count: 2)
    monkeypatch.setattr(feedpages, "_SEED_BODIES", 0)
    site = make_site(tmp_path, entries=2)
    assert run(site, "build").exit_code == 0
    with Store(site / "storage") as store, store.state() as db:
        assert db.execute("SELECT COUNT(*) FROM rendered").fetchone()[0] == 0
