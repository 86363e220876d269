"""frontmatter_fast reads what YAML reads, or declines."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.frontmatter_fast import simple_meta

DATA = Path(__file__).parent / "data"
FRONT_MATTER = re.compile(r"\A(?:[ \t]*\r?\n)*---[ \t]*\r?\n(?P<yaml>(?:[^\n]*\n)*?)---")


def with_yaml(source: str) -> object:
    return yaml.load(source, Loader=yaml.SafeLoader) or {}


def front_matters() -> list[str]:
    found = []
    for path in sorted(DATA.glob("**/*.md")):
        match = FRONT_MATTER.match(path.read_text("utf-8", errors="replace"))
        if match:
            found.append(match["yaml"])
    return found


def test_every_stored_front_matter_reads_as_with_yaml() -> None:
    sources = front_matters()
    fast = [source for source in sources if simple_meta(source) is not None]
    assert len(fast) >= 45  # the posts we write and most of the original site's
    for source in fast:
        assert simple_meta(source) == with_yaml(source)


def test_our_lines() -> None:
    source = (
        "layout: post\n"
        'title: "“十四五”工业绿色发展蓝图绘就"\n'
        "date: 2021-12-16 09:30:00 +0800\n"
        "categories: renminyoudianbao\n"
        'tags: ["人民邮电报新闻", "5G"]\n'
        'source_url: ""\n'
    )
    assert simple_meta(source) == {
        "layout": "post",
        "title": "“十四五”工业绿色发展蓝图绘就",
        "date": "2021-12-16 09:30:00 +0800",
        "categories": "renminyoudianbao",
        "tags": ["人民邮电报新闻", "5G"],
        "source_url": "",
    }


def test_plain_words_with_inner_spaces() -> None:
    source = "tags: Bench feed 14\ncategories: a  b\n"
    assert (
        simple_meta(source) == with_yaml(source) == {"tags": "Bench feed 14", "categories": "a  b"}
    )


@pytest.mark.parametrize(
    "line",
    [
        "date: 2021-12-16 09:30:00\n",  # YAML reads a date without an offset as a datetime
        "n: 123\n",
        "n: 0x1f\n",
        "flag: yes\n",
        "on: post\n",
        'title: "a \\" b"\n',
        "title: 'single'\n",
        "title: a: b\n",
        "tags:\n- a\n",
        "title: x\r\n",
        "title: x",
        "tags: a \n",  # YAML drops the trailing space
        "tags: a #b\n",  # a comment
        "tags: 2021-12-16 a\n",  # a date to YAML's resolver
    ],
)
def test_other_lines_go_to_yaml(line: str) -> None:
    assert simple_meta(line) is None


key = st.sampled_from(["layout", "title", "date", "tags", "categories", "on", "null", "x_y"])
value = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=12).map(lambda t: f'"{t}"'),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=12),
    st.lists(st.text(max_size=5).map(lambda t: f'"{t}"'), min_size=1, max_size=3).map(
        lambda items: "[" + ", ".join(items) + "]"
    ),
    st.sampled_from(["2021-12-16 09:30:00 +0800", "2021-12-16 09:30:00", "1_000", "TRUE", "~"]),
)


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.tuples(key, value), max_size=6))
def test_generated_lines_read_as_with_yaml_or_decline(lines: list[tuple[str, str]]) -> None:
    source = "".join(f"{k}: {v}\n" for k, v in lines)
    fast = simple_meta(source)
    if fast is not None:
        assert fast == with_yaml(source)
