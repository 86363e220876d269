"""decode_document: the order of evidence, the WHATWG label table and the mojibake guard."""

from __future__ import annotations

import codecs

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.decode import decode_document, looks_garbled, python_codec
from aggregator.errors import ExtractError

# GB18030-only characters (€ as A2E3, 𠮷 four bytes): Python's gbk codec rejects them.
CHINESE = "朱镕基谈€欧元与𠮷，中国人民银行今天宣布下调存款准备金率。"
PAGE = "<html><head>{meta}<title>新闻</title></head><body><p>{text}</p></body></html>"


def page(meta: str = "", text: str = CHINESE) -> str:
    return PAGE.format(meta=meta, text=text)


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        # GBK under a wrong header: the <meta> label wins because the bytes are not UTF-8
        (page('<meta charset="gbk">').encode("gb18030"), "text/html; charset=utf-8"),
        (page('<meta charset="gb2312">').encode("gb18030"), "text/html; charset=ISO-8859-1"),
        (
            page('<meta http-equiv="Content-Type" content="text/html; charset=GB2312">').encode(
                "gb18030"
            ),
            "text/html",
        ),
        # no label at all: charset-normalizer finds it
        (page().encode("gb18030"), "text/html"),
        (page().encode("gb18030"), ""),
        # the header is right
        (page().encode("gb18030"), "text/html; charset=x-gbk"),
        # UTF-8 with and without a BOM, whatever the labels say
        (page('<meta charset="gbk">').encode("utf-8"), "text/html; charset=gbk"),
        (codecs.BOM_UTF8 + page('<meta charset="gbk">').encode("utf-8"), "text/html"),
        ("\ufeff".encode("utf-16-le") + page().encode("utf-16-le"), "text/html"),
    ],
)
def test_chinese_pages_decode(data: bytes, content_type: str) -> None:
    text = decode_document(data, content_type=content_type, source="s")
    assert CHINESE in text
    assert not text.startswith("\ufeff")


def test_xml_declaration_is_read() -> None:
    feed = f'<?xml version="1.0" encoding="GB2312"?><rss><channel><title>{CHINESE}</title></channel></rss>'
    assert decode_document(feed.encode("gb18030"), content_type="application/rss+xml") == feed


def test_big5_label() -> None:
    text = page('<meta charset="big5">', "香港特別行政區政府今日公布財政預算案").replace(
        "新闻", "新聞"
    )
    assert decode_document(text.encode("big5hkscs"), source="s") == text


def test_latin1_label_means_cp1252() -> None:
    text = "“Smart quotes” — café"
    assert (
        decode_document(text.encode("cp1252"), content_type="text/html; charset=iso-8859-1") == text
    )


def test_ascii_is_utf8() -> None:
    assert decode_document(b"<p>plain</p>", content_type="text/html; charset=gbk") == "<p>plain</p>"


def test_empty() -> None:
    assert decode_document(b"") == ""


def test_replacement_characters_are_refused() -> None:
    with pytest.raises(ExtractError) as caught:
        decode_document("新闻\ufffd正文".encode(), source="cn-news")
    assert str(caught.value) == (
        "cn-news: encoding suspect (utf-8 (valid UTF-8): U+FFFD replacement characters)"
    )


def test_double_encoded_utf8_is_refused() -> None:
    garbled = CHINESE.encode("utf-8").decode("cp1252", errors="ignore")
    with pytest.raises(ExtractError) as caught:
        decode_document(garbled.encode("utf-8"), source="cn-news")
    assert (
        str(caught.value) == "cn-news: encoding suspect (utf-8 (valid UTF-8): looks like mojibake)"
    )


def test_undecodable_bytes_are_refused() -> None:
    with pytest.raises(ExtractError, match=r"^s: encoding suspect \(.*\)$"):
        decode_document(b"\x81\x82\x83\xff\xfe\x00\x01", source="s")


def test_unknown_and_dangerous_labels_are_ignored() -> None:
    assert python_codec("utf-7") is None
    assert python_codec("unicode_escape") is None
    assert python_codec(" GBK ") == "gb18030"
    assert python_codec('"latin1"') == "cp1252"
    # a utf-7 label must not turn +ADw- into '<'
    data = b"<meta charset=utf-7><p>+ADw-script+AD4-</p>"
    assert decode_document(data) == data.decode("ascii")


@pytest.mark.parametrize(
    "text",
    ["café au lait, crème brûlée", "Größe und Übermaß", "«Ça va», dit-il", "北京 ÀÉ", "plain"],
)
def test_real_latin_text_is_not_mojibake(text: str) -> None:
    assert looks_garbled(text) is None


@pytest.mark.parametrize(
    "text",
    [
        CHINESE.encode("gb18030").decode("cp1252", errors="ignore"),
        CHINESE.encode("utf-8").decode("cp1252", errors="ignore"),
        "Ã©tÃ© Ã  la plage, trÃ¨s chaud",
    ],
)
def test_mojibake_is_detected(text: str) -> None:
    assert looks_garbled(text) == "looks like mojibake"


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=2048), content_type=st.text(max_size=60))
def test_never_raises_anything_but_extract_error(data: bytes, content_type: str) -> None:
    try:
        text = decode_document(data, content_type=content_type, source="s")
    except ExtractError as exc:
        assert str(exc).startswith("s: encoding suspect (")
    else:
        assert looks_garbled(text) is None


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(
        alphabet=st.characters(codec="gb18030", exclude_characters="\ufffd\ufeff"),
        max_size=200,
    ),
    label=st.sampled_from(["gbk", "gb2312", "GB18030", "x-gbk"]),
)
def test_labelled_gb18030_round_trips(text: str, label: str) -> None:
    document = f'<meta charset="{label}"><p>中文{text}</p>'
    try:
        decoded = decode_document(
            document.encode("gb18030"), content_type="text/html; charset=utf-8"
        )
    except ExtractError:
        # only text that itself looks garbled (runs of Latin-1 letters) may be refused
        assert looks_garbled(document) is not None
    else:
        assert decoded == document
