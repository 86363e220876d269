"""Bytes of a page or feed -> text, or a clear "encoding suspect" error.

Chinese sites often send GBK under a `charset=utf-8` header, or no charset at all. The order of
evidence follows the HTML standard's sniffing: a byte-order mark, then bytes that are valid UTF-8
(they almost never are by accident), then the HTTP charset, then `<meta charset>` /
`http-equiv` / the XML declaration in the first 1024 bytes, then charset-normalizer's guess.
Labels map through the WHATWG table, so `gb2312`/`gbk` decode as gb18030 (a superset that
real pages need) and `iso-8859-1`/`ascii` as cp1252. A candidate that fails to decode strictly or
yields replacement characters or mojibake is skipped; when none is clean the document is refused,
because publishing garbled text is worse than publishing nothing.
"""

from __future__ import annotations

import codecs
import re
from typing import NoReturn

from charset_normalizer import from_bytes

from aggregator.errors import ExtractError

__all__ = ["decode_document", "looks_garbled", "python_codec"]

_SNIFF_BYTES = 1024

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

# WHATWG encoding labels (https://encoding.spec.whatwg.org/#names-and-labels) -> Python codecs.
# Only labels listed here are honoured: an unknown label is ignored rather than handed to
# codecs.lookup, which would accept utf-7 (an XSS vector) or unicode_escape.
_LABEL_GROUPS: dict[str, tuple[str, ...]] = {
    "utf-8": (
        "unicode-1-1-utf-8",
        "unicode11utf8",
        "unicode20utf8",
        "utf-8",
        "utf8",
        "x-unicode20utf8",
    ),
    "gb18030": (
        "chinese",
        "csgb2312",
        "csiso58gb231280",
        "gb2312",
        "gb_2312",
        "gb_2312-80",
        "gbk",
        "iso-ir-58",
        "x-gbk",
        "gb18030",
        "cp936",
        "ms936",
        "windows-936",
    ),
    "big5hkscs": ("big5", "big5-hkscs", "cn-big5", "csbig5", "x-x-big5"),
    "cp932": (
        "csshiftjis",
        "ms932",
        "ms_kanji",
        "shift-jis",
        "shift_jis",
        "sjis",
        "windows-31j",
        "x-sjis",
    ),
    "euc_jp": ("cseucpkdfmtjapanese", "euc-jp", "x-euc-jp"),
    "iso2022_jp": ("csiso2022jp", "iso-2022-jp"),
    "cp949": (
        "cseuckr",
        "csksc56011987",
        "euc-kr",
        "iso-ir-149",
        "korean",
        "ks_c_5601-1987",
        "ks_c_5601-1989",
        "ksc5601",
        "ksc_5601",
        "windows-949",
    ),
    "cp1252": (
        "ansi_x3.4-1968",
        "ascii",
        "cp1252",
        "cp819",
        "csisolatin1",
        "ibm819",
        "iso-8859-1",
        "iso-ir-100",
        "iso8859-1",
        "iso88591",
        "iso_8859-1",
        "iso_8859-1:1987",
        "l1",
        "latin1",
        "us-ascii",
        "windows-1252",
        "x-cp1252",
    ),
    "utf-16-le": (
        "csunicode",
        "iso-10646-ucs-2",
        "ucs-2",
        "unicode",
        "unicodefeff",
        "utf-16",
        "utf-16le",
    ),
    "utf-16-be": ("unicodefffe", "utf-16be"),
    "koi8_r": ("cskoi8r", "koi", "koi8", "koi8-r", "koi8_r"),
    "koi8_u": ("koi8-ru", "koi8-u"),
    "cp866": ("866", "cp866", "csibm866", "ibm866"),
    "iso8859_2": ("csisolatin2", "iso-8859-2", "iso8859-2", "iso_8859-2", "l2", "latin2"),
    "iso8859_5": ("csisolatincyrillic", "cyrillic", "iso-8859-5", "iso8859-5", "iso_8859-5"),
    "iso8859_7": ("greek", "iso-8859-7", "iso8859-7", "iso_8859-7"),
    "iso8859_15": ("csisolatin9", "iso-8859-15", "iso8859-15", "iso_8859-15", "l9"),
    "cp874": ("dos-874", "iso-8859-11", "tis-620", "windows-874"),
    **{f"cp125{n}": (f"windows-125{n}", f"cp125{n}", f"x-cp125{n}") for n in range(9) if n != 2},
}
_LABELS: dict[str, str] = {
    label: codec for codec, labels in _LABEL_GROUPS.items() for label in labels
}

_HTTP_CHARSET = re.compile(r"""charset\s*=\s*["']?([^"';\s]+)""", re.IGNORECASE)
_META_CHARSET = re.compile(
    rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE
)
_XML_ENCODING = re.compile(
    rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""", re.IGNORECASE
)

# Characters that UTF-8 or GBK bytes turn into when misread as cp1252/latin-1: the Latin-1
# supplement and cp1252's extra punctuation in 0x80-0x9F.
_LATIN_RUN = re.compile(
    "[\u00a0-\u00ff\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]{2,}"
)
_TAG = re.compile(rb"<[^<>]*>")
_CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_MIN_GARBLED_CHARS = 6  # a few accented capitals in a row can be a real name


def python_codec(label: str) -> str | None:
    """The Python codec for a WHATWG encoding label, or None for a label we do not honour."""
    return _LABELS.get(label.strip().strip("\"'").lower())


def looks_garbled(text: str) -> str | None:
    """Why `text` looks wrongly decoded (replacement characters, mojibake), or None."""
    if "\ufffd" in text:
        return "U+FFFD replacement characters"
    if _CJK.search(text):
        return None
    # Real Latin text puts accented letters between plain ones ("café"); misread multi-byte text
    # comes out as runs of them ("Ã©", "ÖÐ¹ú").
    runs = _LATIN_RUN.findall(text)
    in_runs = sum(len(run) for run in runs)
    if in_runs >= _MIN_GARBLED_CHARS and in_runs * 2 >= sum(1 for c in text if c >= "\u00a0"):
        return "looks like mojibake"
    return None


def decode_document(data: bytes, *, content_type: str = "", source: str = "") -> str:
    """Decode a fetched page or feed; raise ExtractError("<source>: encoding suspect (...)")."""
    if not data:
        return ""
    tried: list[str] = []
    for codec, evidence in _candidates(data, content_type):
        label = f"{codec} ({evidence})"
        try:
            text = data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            tried.append(f"{label}: does not decode")
            continue
        problem = looks_garbled(text)
        if problem is None:
            return text
        tried.append(f"{label}: {problem}")
        if codec.startswith("utf-"):
            # Bytes that decode cleanly as Unicode were garbled before they were encoded:
            # no other codec can repair them, and a guess would only invent text.
            return _refuse(source, tried)
    guess = _guess(data)
    if guess is None:
        tried.append("no detectable encoding")
        return _refuse(source, tried)
    codec, text = guess
    problem = looks_garbled(text)
    if problem is None:
        return text
    tried.append(f"{codec} (detected): {problem}")
    return _refuse(source, tried)


def _refuse(source: str, tried: list[str]) -> NoReturn:
    prefix = f"{source}: " if source else ""
    raise ExtractError(f"{prefix}encoding suspect ({'; '.join(tried)})")


def _candidates(data: bytes, content_type: str) -> list[tuple[str, str]]:
    """Codecs to try in order of evidence, each with where it came from."""
    for bom, bom_codec in _BOMS:
        if data.startswith(bom):
            return [(bom_codec, "byte-order mark")]
    found = [("utf-8", "valid UTF-8")]
    seen = {"utf-8"}
    header = _HTTP_CHARSET.search(content_type)
    header_codec = python_codec(header.group(1)) if header else None
    if header and header_codec and header_codec not in seen:
        seen.add(header_codec)
        found.append((header_codec, f"HTTP charset={header.group(1)}"))
    head = data[:_SNIFF_BYTES]
    for pattern, evidence in ((_XML_ENCODING, "XML declaration"), (_META_CHARSET, "<meta>")):
        match = pattern.search(head)
        if match:
            label = match.group(1).decode("ascii", "replace")
            codec = python_codec(label)
            # A document that declares UTF-16 in ASCII bytes is not UTF-16 (WHATWG: use UTF-8).
            if codec and not codec.startswith("utf-16") and codec not in seen:
                seen.add(codec)
                found.append((codec, f"{evidence} {label}"))
    return found


def _guess(data: bytes) -> tuple[str, str] | None:
    """charset-normalizer's best guess, mapped through the WHATWG table when it can be."""
    # Markup is ASCII and drowns the text's statistics (a short GBK page scores as Thai); the
    # trail bytes of GBK, Big5 and Shift_JIS never equal `<` or `>`, so cutting tags is safe.
    best = from_bytes(_TAG.sub(b" ", data)).best()
    # Unicode without a BOM would have been found above; a UTF-16/32 guess here is noise.
    if best is None or best.encoding.startswith("utf"):
        return None
    codec = python_codec(best.encoding.replace("_", "-")) or best.encoding
    try:
        return codec, data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return best.encoding, str(best)
