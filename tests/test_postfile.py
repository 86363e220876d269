"""Post file rendering and parsing: the seed's bytes, the fixture posts, YAML-hostile strings."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from aggregator.models import Post
from aggregator.postfile import (
    PostFileError,
    parse_filename,
    parse_post,
    render_post,
    yaml_double_quoted,
    yaml_scalar,
)

DATA = Path(__file__).parent / "data"
FIXTURES = DATA / "finews_posts"
SHANGHAI = ZoneInfo("Asia/Shanghai")
CST = timezone(timedelta(hours=8))
PROVENANCE_KEYS = ("source_url:", "source_name:", "guid:", "fetched_at:", "updated:")


def render_marker(body: str) -> str:
    """A stand-in for normalise's renderer that shows it was called with the body."""
    return f"<rendered>{body}</rendered>"


def make_post(**changes: object) -> Post:
    post = Post(
        post_id="NW202112162215638061",
        title="“十四五”工业绿色发展蓝图绘就",
        date=datetime(2021, 12, 16, 9, 30, tzinfo=SHANGHAI),
        category="renminyoudianbao",
        tag="人民邮电报新闻",
        body="<p>正文</p>\n\n<http://example.com/a>\n",
        content_html="<rendered><p>正文</p>\n\n<http://example.com/a>\n</rendered>",
        source_url="http://choicewzp1.eastmoney.com/html_News/NewsShare.html?infoCode=NW202112162215638061",
        guid="urn:eastmoney:NW202112162215638061",
        source_name="em-media",
        first_seen=datetime(2021, 12, 16, 9, 31, tzinfo=SHANGHAI),
    )
    return dataclasses.replace(post, **changes)  # type: ignore[arg-type]


def roundtrip(post: Post) -> Post:
    return parse_post(render_post(post), post.filename, render_marker)


# ------------------------------------------------------------------ exact bytes


def test_render_reproduces_the_seed_post_byte_for_byte() -> None:
    seed = (DATA / "seed_post.md").read_bytes()
    body = seed.decode("utf-8").split("\n---\n", 1)[1]
    post = make_post(body=body)

    rendered = render_post(post)

    without_provenance = b"".join(
        line
        for line in rendered.splitlines(keepends=True)
        if not line.decode("utf-8").startswith(PROVENANCE_KEYS)
    )
    assert without_provenance == seed


def test_render_writes_every_key_in_a_fixed_order() -> None:
    post = make_post(
        body="body\n",
        title='He said "hi"',
        updated=datetime(2021, 12, 17, 10, 0, tzinfo=SHANGHAI),
    )
    assert (
        render_post(post)
        == (
            "---\n"
            "layout: post\n"
            'title: "He said \\"hi\\""\n'
            "date: 2021-12-16 09:30:00 +0800\n"
            "categories: renminyoudianbao\n"
            "tags: 人民邮电报新闻\n"
            'source_url: "http://choicewzp1.eastmoney.com/html_News/NewsShare.html'
            '?infoCode=NW202112162215638061"\n'
            'source_name: "em-media"\n'
            'guid: "urn:eastmoney:NW202112162215638061"\n'
            "fetched_at: 2021-12-16 09:31:00 +0800\n"
            "updated: 2021-12-17 10:00:00 +0800\n"
            "---\n"
            "body\n"
        ).encode()
    )


def test_render_never_writes_an_id_key_and_adds_no_newline_after_the_body() -> None:
    rendered = render_post(make_post(body="no newline at the end"))
    assert not any(line.startswith(b"id:") for line in rendered.splitlines())
    assert rendered.endswith(b"\n---\nno newline at the end")


def test_dates_are_written_in_the_zone_they_carry() -> None:
    post = make_post(
        date=datetime(2021, 12, 16, 1, 30, tzinfo=UTC),
        first_seen=datetime(2021, 12, 16, 1, 30, tzinfo=timezone(timedelta(hours=-5))),
    )
    text = render_post(post).decode()
    assert "\ndate: 2021-12-16 01:30:00 +0000\n" in text
    assert "\nfetched_at: 2021-12-16 01:30:00 -0500\n" in text


def test_render_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="naive"):
        render_post(make_post(date=datetime(2021, 12, 16, 9, 30)))


# ------------------------------------------------------------------ round trip

HOSTILE_TITLES = [
    'He said "hi"',
    "a: b",
    "a #b",
    "# leading hash",
    "---",
    "a\n---\nevil: 1",
    "--- leading",
    "!!python/object/apply:os.system ['id']",
    "yes",
    "no",
    "~",
    "null",
    "1e10",
    "0o17",
    "2024-01-01",
    "12:30",
    "back\\slash \\n not a newline",
    "tab\there",
    "nul\x00byte",
    "nel\x85here",
    "ls\u2028ps\u2029",
    "bom\ufeff and nonchars \ufffe\uffff",
    "del\x7f and c1 \x80\x9f",
    "bell\x07 esc\x1b vt\x0b ff\x0c cr\r",
    "  leading and trailing spaces  ",
    "'single' \"double\" # : - [x] {y} & * ! | > % @ `",
    "",
    "emoji 🚀 and CJK 人民邮电报 and full-width ＣＣＴＶ",
    "\u00a0nbsp\u3000ideographic space",
]


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_hostile_titles_round_trip(title: str) -> None:
    post = make_post(title=title, source_name=title, guid=title or "urn:x", source_url=title)
    assert roundtrip(post) == post


@pytest.mark.parametrize("value", [*HOSTILE_TITLES, "renminyoudianbao", "21shijijingjibaodao"])
def test_categories_and_tags_round_trip(value: str) -> None:
    post = make_post(category=value, tag=value)
    assert roundtrip(post) == post


def test_title_is_quoted_and_keeps_cjk_unescaped_on_one_line() -> None:
    assert yaml_double_quoted("“十四五”工业 🚀") == '"“十四五”工业 🚀"'
    assert yaml_double_quoted("a\n---\nb") == '"a\\n---\\nb"'
    assert yaml_double_quoted("\x00\x85\u2028\u2029\x9f") == '"\\0\\N\\L\\P\\x9F"'


@pytest.mark.parametrize("loader", [yaml.SafeLoader, getattr(yaml, "CSafeLoader", yaml.SafeLoader)])
def test_every_code_point_survives_the_double_quoted_escaper(loader: type) -> None:
    # Brute force instead of hypothesis: every code point but the surrogates, 4096 at a time, read
    # back by PyYAML and (when built) libyaml, which is what Ruby's Psych in Jekyll uses.
    for start in range(0, 0x110000, 4096):
        chunk = "".join(
            chr(c) for c in range(start, min(start + 4096, 0x110000)) if not 0xD800 <= c <= 0xDFFF
        )
        if not chunk:
            continue
        quoted = yaml_double_quoted(chunk)
        assert "\n" not in quoted
        loaded = yaml.load(f"t: {quoted}\n".encode(), Loader=loader)
        assert loaded == {"t": chunk}, f"chunk at U+{start:04X}"


def test_lone_surrogates_become_replacement_characters() -> None:
    # The only lossy case: a UTF-8 file cannot hold them and libyaml rejects their escapes.
    post = make_post(title="a\ud800b")
    assert roundtrip(post).title == "a\ufffdb"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("renminyoudianbao", "renminyoudianbao"),
        ("21shijijingjibaodao", "21shijijingjibaodao"),
        ("人民邮电报新闻", "人民邮电报新闻"),
        ("a b", "a b"),
        ("yes", '"yes"'),
        ("Off", '"Off"'),
        ("y", '"y"'),
        ("~", '"~"'),
        ("1e10", '"1e10"'),
        ("0o17", '"0o17"'),
        ("0x1F", '"0x1F"'),
        (".inf", '".inf"'),
        ("1_000", '"1_000"'),
        ("1:20", '"1:20"'),
        ("2024-01-01", '"2024-01-01"'),
        ("a: b", '"a: b"'),
        ("a #b", '"a #b"'),
        ("-x", '"-x"'),
        ("<<", '"<<"'),
        (" a", '" a"'),
        ("", '""'),
    ],
)
def test_plain_only_when_every_yaml_reads_a_string(value: str, expected: str) -> None:
    assert yaml_scalar(value) == expected


def test_bodies_round_trip_exactly() -> None:
    for body in ["", "\n", "\nleading newline", "a\r\nb\r\n", "x\n---\ny: 1\n---\n", "no end"]:
        post = make_post(body=body)
        parsed = roundtrip(post)
        assert parsed.body == body
        assert parsed.content_html == render_marker(body)


def test_updated_round_trips() -> None:
    post = make_post(updated=datetime(2022, 1, 1, 0, 0, 1, tzinfo=SHANGHAI))
    assert roundtrip(post) == post


# ------------------------------------------------------------------ fixture posts


def fixture_posts() -> list[Path]:
    return sorted(p for p in FIXTURES.glob("*.md") if p.name[:1].isdigit())


def test_every_well_formed_fixture_post_parses() -> None:
    names = [p.name for p in fixture_posts()]
    assert len(names) == 24
    for path in fixture_posts():
        post = parse_post(path.read_bytes(), path.name, render_marker)
        assert post.filename == path.name
        assert post.date.utcoffset() == timedelta(hours=8)
        assert post.title and post.category and post.tag


def test_seed_fixture_values() -> None:
    path = FIXTURES / "2021-12-16-NW202112162215638061.md"
    post = parse_post(path.read_bytes(), path.name, render_marker)
    assert post.post_id == "NW202112162215638061"
    assert post.title == "“十四五”工业绿色发展蓝图绘就"
    assert post.date == datetime(2021, 12, 16, 9, 30, tzinfo=CST)
    assert post.category == "renminyoudianbao"
    assert post.tag == "人民邮电报新闻"
    assert post.body.startswith("<p>“十四五”时期")
    assert "</p>\r\n <p>《规划》" in post.body  # CRLF kept as written
    assert post.body.endswith("[返回首页](//finews.withounder.com/)")
    # keys the old posts lack get defaults
    assert post.guid == "urn:aggregator:post:NW202112162215638061"
    assert post.source_url == ""
    assert post.source_name == ""
    assert post.first_seen == post.date
    assert post.updated is None


def test_old_post_with_naive_date_and_leading_blank_line() -> None:
    path = FIXTURES / "2021-12-08-202112082206703990.md"
    post = parse_post(path.read_bytes(), path.name, render_marker)
    assert post.title == "FF：有充足的现金支持到FF 91完成投产"
    assert post.date == datetime(2021, 12, 8, 10, 18, 31, tzinfo=SHANGHAI)
    assert post.category == "emnews"
    assert post.tag == "东财滚动新闻"
    assert post.body.startswith("\nFaraday Future (FF)")


def test_site_bootstrap_post() -> None:
    path = FIXTURES / "2021-12-01-init.md"
    post = parse_post(path.read_bytes(), path.name, render_marker)
    assert (post.post_id, post.title, post.category, post.tag, post.body) == (
        "init",
        "开站大吉",
        "sitenews",
        "站长消息",
        "\n祝贺开站\n",
    )
    assert post.date == datetime(2021, 12, 1, 13, 33, 50, tzinfo=SHANGHAI)


def test_category_starting_with_digits() -> None:
    path = FIXTURES / "2022-01-24-NW202201242259229980.md"
    post = parse_post(path.read_bytes(), path.name, render_marker)
    assert post.category == "21shijijingjibaodao"
    assert post.tag == "21世纪经济报道新闻"
    assert post.date == datetime(2022, 1, 24, 18, 6, 2, tzinfo=CST)


def test_naive_dates_use_the_zone_parameter() -> None:
    path = FIXTURES / "2021-12-01-init.md"
    post = parse_post(path.read_bytes(), path.name, render_marker, zone=UTC)
    assert post.date == datetime(2021, 12, 1, 13, 33, 50, tzinfo=UTC)


def test_malformed_fixture_is_refused_with_a_clear_message() -> None:
    path = FIXTURES / "-202205262391921712.md"
    with pytest.raises(PostFileError) as caught:
        parse_post(path.read_bytes(), path.name, render_marker)
    assert str(caught.value) == "-202205262391921712.md: file name is not YYYY-MM-DD-<id>.md"


def test_malformed_fixture_content_under_a_good_name_is_refused_for_its_empty_date() -> None:
    data = (FIXTURES / "-202205262391921712.md").read_bytes()
    with pytest.raises(PostFileError) as caught:
        parse_post(data, "2022-05-26-202205262391921712.md", render_marker)
    assert str(caught.value) == ("2022-05-26-202205262391921712.md: date: not a date: '+0800'")


# ------------------------------------------------------------------ bad files


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b"no front matter",
            "2021-01-01-x.md: no front matter (--- ... ---) at the start of the file",
        ),
        (
            b"---\ntitle: a\n",
            "2021-01-01-x.md: no front matter (--- ... ---) at the start of the file",
        ),
        (b"---\ntitle: [a\n---\n", "2021-01-01-x.md: front matter is not valid YAML"),
        (b"---\n- a\n- b\n---\n", "2021-01-01-x.md: front matter is not a key: value mapping"),
        (b"---\ntitle: a\n---\n", "2021-01-01-x.md: front matter has no date"),
        (b"---\ndate:\n---\n", "2021-01-01-x.md: front matter has no date"),
        (b"---\ndate: tomorrow\n---\n", "2021-01-01-x.md: date: not a date: 'tomorrow'"),
        (b"---\ndate: 2021-01-01\n---\n\xff", "2021-01-01-x.md: not UTF-8 (byte 25)"),
        (
            b"---\ntitle: !!python/object/apply:os.system ['id']\ndate: 2021-01-01\n---\n",
            "2021-01-01-x.md: front matter is not valid YAML",
        ),
    ],
)
def test_unreadable_files_raise_one_line_errors(data: bytes, message: str) -> None:
    with pytest.raises(PostFileError) as caught:
        parse_post(data, "2021-01-01-x.md", str)
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith(message)


@pytest.mark.parametrize(
    "name", ["x.md", "2021-12-16.md", "2021-12-16-.md", "2021-13-40-a.md", "2021-12-16-a.txt"]
)
def test_file_names_without_a_date_prefix_are_refused(name: str) -> None:
    with pytest.raises(PostFileError, match="file name"):
        parse_filename(name)


def test_hand_written_dates_in_other_forms() -> None:
    cases = {
        "2021-12-01": datetime(2021, 12, 1, tzinfo=SHANGHAI),
        "2021-12-01T13:33:50+00:00": datetime(2021, 12, 1, 13, 33, 50, tzinfo=UTC),
        "2021-12-01 13:33 +0800": datetime(2021, 12, 1, 13, 33, tzinfo=CST),
        '"2021-12-01T13:33:50"': datetime(2021, 12, 1, 13, 33, 50, tzinfo=SHANGHAI),
    }
    for text, expected in cases.items():
        data = f"---\ntitle: t\ndate: {text}\n---\nbody".encode()
        post = parse_post(data, "2021-12-01-x.md", str)
        assert post.date == expected, text
        assert post.date.utcoffset() is not None


def test_list_valued_categories_take_the_first_item() -> None:
    data = b"---\ndate: 2021-12-01 10:00:00 +0800\ncategories: [emnews, other]\ntags: [a]\n---\n"
    post = parse_post(data, "2021-12-01-x.md", str)
    assert (post.category, post.tag, post.title) == ("emnews", "a", "")


# ------------------------------------------------------------------ several tags


def test_several_tags_are_a_quoted_flow_list_that_reads_back() -> None:
    post = make_post(extra_tags=("5G", 'say "hi"', "a, [b]"))
    text = render_post(post).decode()
    assert text.splitlines()[5] == 'tags: ["人民邮电报新闻", "5G", "say \\"hi\\"", "a, [b]"]'
    meta = yaml.safe_load(text.split("---\n")[1])
    assert meta["tags"] == ["人民邮电报新闻", "5G", 'say "hi"', "a, [b]"]
    back = roundtrip(post)
    assert (back.tag, back.extra_tags) == ("人民邮电报新闻", ("5G", 'say "hi"', "a, [b]"))
    assert back == post


def test_one_tag_stays_a_plain_scalar() -> None:
    assert render_post(make_post()).decode().splitlines()[5] == "tags: 人民邮电报新闻"


def test_hand_written_tag_lists_keep_every_non_empty_tag() -> None:
    data = b"---\ndate: 2021-12-01 10:00:00 +0800\ntags: [a, '', 3, b]\n---\n"
    post = parse_post(data, "2021-12-01-x.md", str)
    assert (post.tag, post.extra_tags, post.tags) == ("a", ("3", "b"), ("a", "3", "b"))


@pytest.mark.parametrize(
    "text",
    [
        "2021-12-16 09:30:00 +0800",
        "2021-12-16 09:30:00 -0530",
        "2021-12-16 09:30:00 -0000",
        "2021-12-16 09:30:00 +2359",
        "2021-02-29 09:30:00 +0800",  # no such day
        "2021-12-16 24:00:00 +0800",
        "2021-12-16 09:30:60 +0800",
        "2021-12-16 09:30:00 +2400",  # an offset of a whole day
        "2021-12-16 09:30:00 +0860",
        "2021-12-16 9:30:00 +0800",  # not in full: strptime alone reads it
        "2021-12-16 09:30 +0800",
    ],
)
def test_dates_read_without_strptime_are_the_ones_it_reads(text: str) -> None:
    data = f"---\ntitle: t\ndate: {text}\n---\nbody".encode()
    expected: datetime | str = "error"
    for read in ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M %z", None):  # what parse_post tries
        try:
            expected = datetime.strptime(text, read) if read else datetime.fromisoformat(text)
            break
        except ValueError:
            pass
    try:
        got: datetime | str = parse_post(data, "2021-12-16-x.md", render_marker).date
    except PostFileError:
        got = "error"
    assert got == expected
    if isinstance(got, datetime) and isinstance(expected, datetime):
        assert (got.isoformat(), got.tzinfo) == (expected.isoformat(), expected.tzinfo)
