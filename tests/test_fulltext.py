"""The "auto" full-text decision reads only the tail of a long text for its ellipsis check; the
answer must be the one the whole-text search gives."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.feedmodel import FeedEntry
from aggregator.sources import fulltext


def whole_search(text: str) -> bool:
    return bool(fulltext._TRUNCATED.search(text))


_PIECE = st.sampled_from(
    [
        *("…", "...", "..", ".", "[…]", "[...]", "阅读全文", "查看全文", "Read more", "READ MORE"),
        *("Continue reading", "continue Reading", " ", "\n", "!", "»", "→", "_", "a", "文", "1"),
        *("新闻正文" * 20, "word " * 30, "。" * 30, "-" * 50, "\u3000"),
    ]
)


@settings(max_examples=1000)
@given(text=st.lists(_PIECE, max_size=12).map("".join))
def test_truncated_equals_the_whole_text_search(text: str) -> None:
    assert fulltext._truncated(text) == whole_search(text)


@pytest.mark.parametrize(
    ("tail", "expected"),
    [
        ("……", True),
        ("阅读全文>>", True),
        ("Continue reading →", True),
        ("[...]" + "!" * 60, True),  # a non-word run longer than the tail read
        ("Read more" + "。" * 47, True),
        ("完。", False),
        ("Read more_", False),  # `_` is a word character
        ("... and more", False),
    ],
)
def test_truncated_reads_the_end_of_a_long_text(tail: str, expected: bool) -> None:
    text = "新闻正文。" * 200 + tail
    assert fulltext._truncated(text) is expected
    assert whole_search(text) is expected


def entry(content: str | None) -> FeedEntry:
    return FeedEntry(
        guid="g",
        link="https://e.example/a/1.html",
        title_html="t",
        date_text=None,
        content_html=content,
        summary_html=None,
    )


@pytest.mark.parametrize(
    ("content", "wanted"),
    [
        (None, True),
        ("<p>" + "字" * 499 + "</p>", True),
        ("<p>" + "字" * 500 + "</p>", False),
        ("<p>" + "字" * 600 + "</p><p>阅读全文</p>", True),
        ("<p>" + "字" * 600 + "…</p><!-- c -->", True),
        ("<p>" + "字" * 600 + "</p><p>完</p>", False),
    ],
)
def test_auto_mode_wants_short_or_truncated_content(content: str | None, wanted: bool) -> None:
    assert fulltext.wants_full_text("auto", entry(content)) is wanted
