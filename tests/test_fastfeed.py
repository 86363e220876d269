"""The lxml Atom path (fastfeed) gives exactly the FeedDoc of the feedparser path (xmlfeed) on
every feed it accepts, and leaves everything unusual to feedparser."""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path

import pytest
from feedparser.html import _cp1252
from feedparser.urls import resolve_relative_uris
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree  # type: ignore[import-untyped]

from aggregator import fastfeed, xmlfeed
from aggregator.decode import decode_document

DATA = Path(__file__).parent / "data"
URL = "https://news.example.org/feeds/atom.xml"


def both(data: bytes, url: str = URL) -> tuple[object, object]:
    text = decode_document(data, content_type="application/atom+xml", source="t")
    return fastfeed.parse_atom(text, url=url), xmlfeed.parse_xml_feed(text, url=url, source="t")


def atom(entries: str, head: str = "<title>Feed</title>") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'
        f"{head}\n<id>urn:feed</id>\n<updated>2024-06-01T08:00:00+08:00</updated>\n{entries}\n"
        "</feed>\n"
    ).encode()


def feed_files() -> list[Path]:
    return sorted(p for p in DATA.rglob("*") if p.suffix in {".xml", ".rdf"})


@pytest.mark.parametrize("path", feed_files(), ids=lambda p: p.relative_to(DATA).as_posix())
def test_every_feed_fixture_reads_the_same_on_both_paths(path: Path) -> None:
    fast, slow = both(path.read_bytes())
    assert fast is None or fast == slow


def test_the_atom_feeds_we_write_take_the_fast_path() -> None:
    written = sorted((DATA / "golden").rglob("feed*.xml"))
    assert written
    for path in written:
        fast, slow = both(path.read_bytes())
        assert fast is not None, path
        assert fast == slow


ENTRY = """<entry>
<title>{title}</title>
<id> urn:entry:1 </id>
<link rel="alternate" href="{link}"/>
<link rel="enclosure" href="https://cdn.example.org/a.mp3" type="audio/mpeg" length="9"/>
<link rel="enclosure" href="pic.png"/>
<published>2024-06-01T08:00:00+08:00</published>
<updated>2024-06-02T08:00:00+08:00</updated>
<author><name> 作者 </name></author>
<category term="tech" label="Technik"/>
<category term="tech" label="Technik"/>
<category term="news"/>
<category scheme="urn:x"/>
<summary>{summary}</summary>
<content type="html">{content}</content>
</entry>"""

FAST_CASES = {
    "plain": ENTRY.format(
        title="A &amp; B",
        link="https://news.example.org/a/1.html",
        summary="摘要",
        content="&lt;p&gt;x&lt;/p&gt;",
    ),
    "relative links": ENTRY.format(
        title="t",
        link="../a/2.html",
        summary="s",
        content='&lt;p&gt;&lt;a href="b.html"&gt;b&lt;/a&gt;&lt;img src="/i.png"&gt;&lt;br&gt;&lt;/p&gt;',
    ),
    "html title": ENTRY.replace("<title>", '<title type="html">').format(
        title="&lt;b&gt;Bold&lt;/b&gt; &amp;amp; more", link="x.html", summary="s", content="c"
    ),
    "text content and cdata": ENTRY.replace('type="html"', 'type="text"').format(
        title="t", link="x", summary="", content="<![CDATA[para one\n\n<b>para</b> two]]>"
    ),
    "windows-1252 and latin-1 repair": ENTRY.format(
        title="\u0093quoted\u0094 caf\u00c3\u00a9", link="x", summary="\u0080", content="c"
    ),
    "whitespace": ENTRY.format(
        title="\n  spaced  \n", link=" x ", summary="  ", content="\n &lt;p&gt;x&lt;/p&gt; \n"
    ),
    "bare entry": "<entry><id>urn:2</id><title>only</title></entry>",
    "relative id, no link": "<entry><id> 7 </id></entry>",
    "id after the link": '<entry><link href="a.html"/><id>b</id></entry>',
    "id and an enclosure only": '<entry><id>c</id><link rel="enclosure" href="e.png"/></entry>',
    "comments in the body": ENTRY.format(
        title="t", link="x", summary="s", content="&lt;p&gt;a&lt;!-- c --&gt;b&lt;/p&gt;"
    ),
}


@pytest.mark.parametrize("entries", FAST_CASES.values(), ids=list(FAST_CASES))
def test_plain_atom_is_read_by_lxml_with_feedparser_values(entries: str) -> None:
    fast, slow = both(atom(entries))
    assert fast is not None
    assert fast == slow


UNUSUAL = {
    "xml:base": atom("<entry xml:base='/x/'><id>1</id></entry>"),
    "xhtml title": atom(
        '<entry><title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">x</div></title>'
        "</entry>"
    ),
    "out-of-line content": atom('<entry><content src="https://x/"/></entry>'),
    "mime content": atom('<entry><content type="text/html">x</content></entry>'),
    "author email": atom("<entry><author><name>a</name><email>a@b.c</email></author></entry>"),
    "two summaries": atom("<entry><summary>a</summary><summary>b</summary></entry>"),
    "foreign element": atom(
        '<entry><media:content xmlns:media="http://search.yahoo.com/mrss/" url="https://x/"/>'
        "</entry>"
    ),
    "comment": atom("<entry><!-- c --><id>1</id></entry>"),
    "doctype": b'<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY e "x">]>'
    + atom("<entry><title>&e;</title></entry>").split(b"?>", 1)[1],
    "not well-formed": atom("<entry><title>a & b</title></entry>"),
    "rss": b'<rss version="2.0"><channel><title>x</title></channel></rss>',
    "unknown attribute": atom('<entry><title foo="1">x</title></entry>'),
}


@pytest.mark.parametrize("data", UNUSUAL.values(), ids=list(UNUSUAL))
def test_anything_unusual_is_left_to_feedparser(data: bytes) -> None:
    text = decode_document(data, content_type="application/atom+xml", source="t")
    assert fastfeed.parse_atom(text, url=URL) is None


def test_a_feed_over_the_entry_cap_is_left_to_feedparser() -> None:
    entries = "".join(
        f"<entry><id>urn:{n}</id></entry>" for n in range(xmlfeed.MAX_FEED_ENTRIES + 1)
    )
    text = atom(entries).decode()
    assert fastfeed.parse_atom(text, url=URL) is None
    assert fastfeed.parse_atom(atom(entries[: entries.rindex("<entry>")]).decode(), url=URL)


# --- feedparser's HTML steps, computed without its SGML parser --------------------------------

BASES = [URL, "", "https://例え.jp/a/b?c=1#d", "http://127.0.0.1:8080/feed/0.xml", "file:///tmp/x"]


def html_bodies() -> list[str]:
    """Every stored body: post files (with and without their link line), pages, feed values."""
    bodies = []
    for path in sorted(DATA.glob("**/*.md")):
        body = path.read_text("utf-8").split("---\n", 2)[-1]
        bodies += [body, body.rpartition("\n\n<")[0]]
    bodies += [path.read_text("utf-8", "replace") for path in sorted(DATA.glob("pages/*.html"))]
    recover = etree.XMLParser(recover=True, resolve_entities=False, no_network=True)
    for path in feed_files():
        root = etree.fromstring(path.read_bytes(), recover)
        if root is not None:
            bodies += [e.text for e in root.iter() if isinstance(e.tag, str) and e.text]
    return [body.strip() for body in bodies if body.strip()]


def feedparser_html(html: str, base: str) -> str:
    return str(resolve_relative_uris(html, base, "utf-8", "text/html"))


def test_resolve_uris_equals_feedparser_on_every_stored_body() -> None:
    taken = 0
    for html in html_bodies():
        for base in BASES:
            fast = fastfeed._resolve_uris(html, base)
            if fast is not None:
                taken += 1
                assert fast == feedparser_html(html, base), (html, base)
    assert taken > 100  # the post bodies and feed values: the fast path is the usual one


def test_every_eastmoney_body_takes_the_fast_path() -> None:
    for path in sorted((DATA / "finews_posts").glob("*-NW*.md")):
        body = path.read_text("utf-8").split("---\n", 2)[2].rpartition("\n\n<")[0].strip()
        assert fastfeed._resolve_uris(body, URL) == feedparser_html(body, URL), path


RESOLVED = {
    "relative links": (
        '<p><a href=" b.html ">b</a><img src="/i.png"><br></p>',
        '<p><a href="https://news.example.org/feeds/b.html">b</a>'
        '<img src="https://news.example.org/i.png" /><br /></p>',
    ),
    "attributes sorted, names lowercased, last duplicate kept": (
        '<a title="t" HREF="x" rel="NoFollow" href="y" data-x=\'"q"\'>a</a>',
        '<a data-x="&quot;q&quot;" href="https://news.example.org/feeds/y" rel="nofollow"'
        ' title="t">a</a>',
    ),
    "bare attribute, empty elements, void end tag": (
        "<input disabled/><p/><br/><hr></br>",
        '<input disabled="disabled" /><p></p><br /><hr />',
    ),
    "references": (
        "&#150;&#x96;&#X41;&#xAB;&#39;&#34;&apos;&nbsp;&bogus;&#160;",
        "&#x2013;&#x2013;&#x41;&#xab;'\"&apos;&nbsp;&amp;bogus&#160;",
    ),
    "references in values": (
        '<a href="x?a=1&amp;b=2&#38" title="a&b &#150 &#x41;">x</a>',
        '<a href="https://news.example.org/feeds/x?a=1&amp;b=2&#38;" title="a&amp;b &#150; &#x41;">'
        "x</a>",
    ),
    "comments, declarations, unsafe schemes": (
        '<!-- c --><!x><q cite="javascript:alert(1)">q</q><a href="mailto:a@b.c">m</a>',
        '<!-- c -->&lt;!x><q cite="javascript:alert(1)">q</q><a href="mailto:a@b.c">m</a>',
    ),
}


@pytest.mark.parametrize(("html", "expected"), RESOLVED.values(), ids=list(RESOLVED))
def test_resolve_uris_writes_what_feedparser_writes(html: str, expected: str) -> None:
    assert fastfeed._resolve_uris(html, URL) == expected
    assert feedparser_html(html, URL) == expected


LEFT_TO_FEEDPARSER = [
    "a & b",
    "a < b",
    "<P>x</P>",
    "<p class=x>a</p>",
    '<a href="<x>">a</a>',
    '<a href="x"class="y">a</a>',
    "<!DOCTYPE html><p>x</p>",
    "<?php x ?>",
    "<![CDATA[x]]>",
    "<!-- a -- b -->",
    "<!-- a --->",
    "<o:p>x</o:p>",
    "<my-tag>x</my-tag>",
    "&#12345678901;",
    "&#x;",
    "<a href = 'x'>a</a>",
]


@pytest.mark.parametrize("html", LEFT_TO_FEEDPARSER)
def test_resolve_uris_leaves_anything_unusual_to_feedparser(html: str) -> None:
    assert fastfeed._resolve_uris(html, URL) is None


_PIECES = [
    *("<", ">", "&", "/", "!", "-", "--", "<!--", "-->", '"', "'", "=", " ", "\n", "\t", "\r"),
    *("a", "p", "br", "img", "href", "src", "A", "#", "x", "39", ";", "amp", "nbsp", "150"),
    *("x96", "X9F", "<a ", "<img ", "<p>", "</p>", "<br/>", "<br />", "/>", "http://x/", "../y"),
    *(' href="', ' src="', "\xa0", "\u3000", "\x85", "é", "中", "$", "?", "DOCTYPE", "[", "<?"),
    *(" rel=", " type=", "Text/HTML", "</a>", "<hr>", "</br>", "<q cite=", "&#", "&#x", "&amp;"),
    *("&#39;", "&#34;", "&#150;", "&#X41;", "&apos;", "&bogus;", "<!", "<!x", "<P>", "<p/>"),
    *("<input disabled>", " data-x=", "'v'", '"v"', '""', "<area href=", "mailto:a@b", "//h/p"),
]
_TAGS = ["p", "a", "img", "br", "div", "q", "hr", "input", "source", "video", "area", "del"]
_NAMES = ["href", "src", "cite", "class", "rel", "type", "poster", "usemap", "HREF", "data-x"]
_VALUES = [
    *("", "a.html", "/i.png", "../x", "http://e.org/a?b=1&amp;c=2", "x?a=1&b=2", "&#150;"),
    *("&#39;", "&#9", "&#x41;", "&bogus;", "it's", " spaced ", "javascript:x", "中文", "#f"),
    *("//h/p", "TEXT/HTML", "&", "a b", "\n", "http://[::1/", "http://a:99999/"),
]
_TEXTS = ["x", "中文", " ", "\n", "&amp;", "&nbsp;", "&#150;", "&#x96;", "&#160;", ">", "&bogus;"]


@st.composite
def attribute(draw: st.DrawFn) -> str:
    name, value = draw(st.sampled_from(_NAMES)), draw(st.sampled_from(_VALUES))
    quote = draw(st.sampled_from(['"', "'", None]))
    if quote is None or quote in value:
        return f" {name}"
    return f" {name}={quote}{value}{quote}"


@st.composite
def html_fragment(draw: st.DrawFn, depth: int = 0) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["text", "comment", "element"]))
        if kind == "text":
            parts.append(draw(st.sampled_from(_TEXTS)))
        elif kind == "comment":
            parts.append(f"<!--{draw(st.sampled_from(['', ' c ', 'a-b', '&x;', '>']))}-->")
        else:
            tag = draw(st.sampled_from(_TAGS))
            attributes = "".join(draw(st.lists(attribute(), max_size=3)))
            ending = draw(st.sampled_from([">", ">", " >", "/>", " />"]))
            inner = draw(html_fragment(depth + 1)) if depth < 3 and ending.endswith(" >") else ""
            parts.append(f"<{tag}{attributes}{ending}{inner}</{tag}>")
    return "".join(parts)


@settings(max_examples=400)
@given(html=html_fragment(), base=st.sampled_from(BASES))
def test_resolve_uris_equals_feedparser_on_generated_html(html: str, base: str) -> None:
    html = html.strip()
    fast = fastfeed._resolve_uris(html, base)
    assert fast is None or fast == feedparser_html(html, base)


@settings(max_examples=400)
@given(html=st.lists(st.sampled_from(_PIECES), min_size=1, max_size=25).map("".join))
def test_resolve_uris_equals_feedparser_on_stray_markup(html: str) -> None:
    html = html.strip()
    fast = fastfeed._resolve_uris(html, URL)
    assert fast is None or fast == feedparser_html(html, URL)


def feedparser_finish(value: str) -> str:
    """FeedParserMixin.pop's last steps as fastfeed first wrote them."""
    with suppress(UnicodeEncodeError, UnicodeDecodeError):
        value = value.encode("iso-8859-1").decode("utf-8")
    return value.translate(_cp1252)


_MOJIBAKE = st.text(
    st.sampled_from(["a", " ", "é", "\u00c3", "\u00a9", "\u00e4", "\u00b8", "\x80", "\x81", "\x93"])
    | st.sampled_from(["\x9f", "\xff", "中", "\u20ac", "\U0001f600", "\x00", "\n"])
)


@settings(max_examples=500)
@given(value=_MOJIBAKE | st.text())
def test_finish_equals_feedparser(value: str) -> None:
    assert fastfeed._finish(value) == feedparser_finish(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("caf\u00c3\u00a9", "café"),
        ("\u0093quoted\u0094", "\u201cquoted\u201d"),
        ("中\u0093", "中\u201c"),
        ("\u00c3\u00a9 \u00e2\u0080\u009c", "é \u201c"),  # UTF-8 read as Latin-1
        ("\u00c3\u00a9 \u0093", "\u00c3\u00a9 \u201c"),  # not UTF-8 then: mapped only
        ("plain", "plain"),
        ("\u00e9", "\u00e9"),  # Latin-1 that is not UTF-8 read as Latin-1
    ],
)
def test_finish_repairs_and_maps(value: str, expected: str) -> None:
    assert fastfeed._finish(value) == expected
