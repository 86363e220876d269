"""The summary line of the feed files a run wrote."""

from __future__ import annotations

from pathlib import Path

from site_helpers import make_site, run

from aggregator.feedpaths import LISTED_PAGES, written_summary


def test_a_few_archive_pages_are_named() -> None:
    paths = ["feed.xml", "feed/archive/3.xml", "feed/emnews.xml", "feed/emnews/archive/1.xml"]
    assert written_summary(paths) == (
        "feed.xml, feed/archive/3.xml, feed/emnews.xml, feed/emnews/archive/1.xml"
    )
    assert written_summary([]) == ""


def test_many_archive_pages_are_counted_after_the_documents() -> None:
    pages = [f"feed/archive/{n}.xml" for n in range(1, LISTED_PAGES + 1)]
    paths = ["feed.xml", *pages, "feed/by_tag/x.xml", "_site/feed/archive/1.xml", "feed/x.json"]
    assert written_summary(paths) == (
        f"feed.xml, feed/by_tag/x.xml, feed/x.json, {LISTED_PAGES + 1} archive pages"
    )
    assert written_summary(paths, ",") == (
        f"feed.xml,feed/by_tag/x.xml,feed/x.json,{LISTED_PAGES + 1} archive pages"
    )
    # a feed whose slug is `archive` is a subscription document, not a page
    assert written_summary(["feed/archive.xml", *pages]) == ", ".join(["feed/archive.xml", *pages])


def test_a_cold_build_counts_its_archive_pages(tmp_path: Path) -> None:
    site = make_site(tmp_path, entries=2)
    result = run(site, "build")
    pages = sorted((site / "storage/feed").rglob("archive/*.xml"))
    assert len(pages) > LISTED_PAGES
    line = result.output.removesuffix("\n")
    assert line.startswith("feeds written: feed.xml, ")
    assert line.endswith(f", {len(pages)} archive pages")
    assert "/archive/" not in line
