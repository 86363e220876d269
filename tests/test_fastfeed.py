"""The lxml Atom path (fastfeed) gives exactly the FeedDoc of the feedparser path (xmlfeed) on
every feed it accepts, and leaves everything unusual to feedparser."""

from __future__ import annotations

from pathlib import Path

import pytest

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
