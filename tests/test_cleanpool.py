"""CleanPool.ahead: streamed bodies cleaned in a worker process, handed on in order.

Whoever cleans a body (the worker, or the writer taking over a chunk the worker has not begun),
the result is clean_html's, and the outcomes keep their order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import test_end_to_end as e2e
from test_ingest_paths import bodies

from aggregator import cleanpool
from aggregator.cleanpool import CleanPool
from aggregator.models import RawItem
from aggregator.normalise import clean_html, safe_link


def item(n: int, html: str) -> RawItem:
    return RawItem(
        source_name="s",
        key=f"k{n}",
        guid=f"urn:x:{n}",
        title=f"t{n}",
        date_text=None,
        timezone="Asia/Shanghai",
        link=f"https://example.com/a/{n}.html" if n % 3 else "",
        html=html,
    )


def outcomes() -> list[RawItem | str | None]:
    """Items (every fixture body) with error lines and unchanged markers between them."""
    found: list[RawItem | str | None] = []
    for n, html in enumerate(bodies()[:40]):
        found.append(item(n, html))
        if n % 7 == 0:
            found.append(None)
        if n % 11 == 0:
            found.append(f"NW{n}: HTTP 500")
    return found


def expected(stream: list[RawItem | str | None]) -> list[tuple[RawItem | str | None, str | None]]:
    return [
        (one, clean_html(one.html, base_url=safe_link(one.link) or None))
        if isinstance(one, RawItem)
        else (one, None)
        for one in stream
    ]


@pytest.mark.parametrize(("min_items", "chunk", "ahead"), [(10_000, 8, 64), (1, 8, 64), (1, 3, 1)])
def test_ahead_gives_each_outcome_in_order_with_its_cleaned_body(
    monkeypatch: pytest.MonkeyPatch, min_items: int, chunk: int, ahead: int
) -> None:
    # (no worker; a worker; a worker the writer keeps taking chunks from)
    monkeypatch.setattr(cleanpool, "MIN_ITEMS", min_items)
    monkeypatch.setattr(cleanpool, "CHUNK", chunk)
    monkeypatch.setattr(cleanpool, "AHEAD", ahead)
    stream = outcomes()
    with CleanPool(workers=1) as pool:
        got = list(pool.ahead(iter(stream)))
    assert got == expected(stream)


def test_ahead_hands_on_what_arrived_before_the_stream_ends() -> None:
    # the writer stores earlier items while later bodies are still being fetched
    arrived: list[int] = []

    def stream() -> Iterator[RawItem | str | None]:
        for n in range(3):
            arrived.append(n)
            yield item(n, f"<p>{n}</p>")

    seen = []
    with CleanPool(workers=1) as pool:
        for one, body in pool.ahead(stream()):
            assert isinstance(one, RawItem)
            seen.append((one.key, body, len(arrived)))
    # below MIN_ITEMS the writer cleans each body itself, as soon as it arrives
    assert seen == [("k0", "<p>0</p>", 1), ("k1", "<p>1</p>", 2), ("k2", "<p>2</p>", 3)]


@pytest.fixture
def pool_always(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(cleanpool, "MIN_ITEMS", 1)
    monkeypatch.setattr(cleanpool, "CHUNK", 2)
    yield


em = e2e.em
site = e2e.site


@pytest.mark.usefixtures("pool_always")
def test_eastmoney_bodies_cleaned_in_a_worker_process_give_the_golden_tree(site: Path) -> None:
    e2e.test_first_fetch_matches_the_golden_tree(site)
