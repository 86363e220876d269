"""Property tests (hypothesis) of the parts that take hostile input: the sanitiser, slugs, front
matter, the date parser and the decoder. Examples are generated from a small HTML grammar rich in
the constructs the XSS corpus uses, plus arbitrary text and bytes."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from hardening import active_content
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregator import normalise
from aggregator.decode import decode_document
from aggregator.errors import ExtractError
from aggregator.models import Post
from aggregator.postfile import parse_post, render_post
from aggregator.slugs import MAX_SLUG_LENGTH, slugify

PROFILE = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TAGS = ["a", "img", "p", "b", "script", "style", "svg", "math", "iframe", "form", "noscript",
        "object", "embed", "table", "textarea", "title", "template", "base", "meta", "div", "mglyph"]  # fmt: skip
ATTRIBUTES = ["href", "src", "srcset", "onerror", "onload", "style", "xlink:href", "action",
              "formaction", "poster", "srcdoc", "http-equiv", "title", "target"]  # fmt: skip
VALUES = ["javascript:alert(1)", "java&#x09;script:alert(1)", " JaVaScRiPt:x", "data:text/html,x",
          "data:image/png;base64,AA", "http://ok.example/", "x", "vbscript:x", "&#106;avascript:x",
          "\"><script>alert(1)</script>", "--><img src=x onerror=1>"]  # fmt: skip
SNIPPETS = ["<!--", "-->", "<!---->", "<![CDATA[", "]]>", "</", ">", "<", '"', "'", "&", "&lt;"]


@st.composite
def html_fragments(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.integers(0, 3))
        if kind == 0:
            tag = draw(st.sampled_from(TAGS))
            attrs = draw(
                st.lists(
                    st.tuples(st.sampled_from(ATTRIBUTES), st.sampled_from(VALUES)), max_size=3
                )
            )
            rendered = "".join(f' {name}="{value}"' for name, value in attrs)
            parts.append(f"<{tag}{rendered}>")
        elif kind == 1:
            parts.append(f"</{draw(st.sampled_from(TAGS))}>")
        elif kind == 2:
            parts.append(draw(st.sampled_from(SNIPPETS)))
        else:
            parts.append(draw(st.text(max_size=10)))
    return "".join(parts)


@PROFILE
@given(html_fragments())
def test_sanitiser_output_never_has_active_content(fragment: str) -> None:
    for sanitise in (normalise.clean_html, normalise.sanitise_html, normalise.render_body):
        assert active_content(sanitise(fragment)) == []


@PROFILE
@given(st.text())
def test_sanitiser_never_adds_active_content_to_any_text(text: str) -> None:
    assert active_content(normalise.clean_html(text)) == []


@PROFILE
@given(st.text())
def test_slugs_are_always_nonempty_lowercase_ascii_words(name: str) -> None:
    slug = slugify(name)
    assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", slug)
    assert len(slug) <= MAX_SLUG_LENGTH + 2  # a reserved device name gets "-1"


NOW = datetime(2022, 6, 1, 8, 0, tzinfo=UTC)


@PROFILE
@given(title=st.text(), tag=st.text(), url=st.text(), body=st.text())
def test_front_matter_round_trips(title: str, tag: str, url: str, body: str) -> None:
    post = Post(
        post_id="k1", title=title, date=NOW, category="c", tag=tag, body=body,
        content_html="", source_url=url, guid="urn:test:k1", source_name="s", first_seen=NOW,
    )  # fmt: skip
    back = parse_post(render_post(post), post.filename, lambda text: "")
    assert (back.title, back.tag, back.source_url, back.body) == (title, tag, url, body)
    assert (back.date, back.first_seen) == (NOW, NOW)


@PROFILE
@given(st.text(max_size=60), st.sampled_from(["Asia/Shanghai", "UTC", "America/New_York"]))
def test_date_parser_never_raises_and_gives_aware_times_not_after_now(text: str, zone: str) -> None:
    parsed = normalise.parse_date(text, zone, NOW)
    assert parsed is None or (parsed.tzinfo is not None and parsed <= NOW)


@PROFILE
@given(
    st.binary(max_size=300),
    st.sampled_from(["", "text/html", "text/html; charset=utf-8", "text/xml; charset=gbk",
                     "application/rss+xml; charset=iso-8859-1", "text/html; charset=bogus"]),
)  # fmt: skip
def test_decoder_never_raises_anything_but_a_source_error(data: bytes, content_type: str) -> None:
    try:
        text = decode_document(data, content_type=content_type, source="s")
    except ExtractError as exc:
        assert str(exc).startswith("s: encoding suspect (")
    else:
        assert isinstance(text, str)
