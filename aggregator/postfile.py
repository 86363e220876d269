"""Render and parse one Jekyll post file (YAML front matter + body); pure, no disk.

The front matter is written by hand, never by a YAML dumper, so the bytes are exactly the seed's:

    ---
    layout: post
    title: "<always double-quoted>"
    date: 2021-12-16 09:30:00 +0800
    categories: renminyoudianbao
    tags: 人民邮电报新闻                     (several: ["人民邮电报新闻", "5G"])
    source_url: "http://..."
    source_name: "em-media"
    guid: "urn:..."
    fetched_at: 2021-12-16 09:31:00 +0800
    updated: 2021-12-17 10:00:00 +0800      (only when the post was rewritten)
    ---
    <body, exactly as Post.body>

Dates carry `+0800` without a colon on purpose: that is not a YAML timestamp, so every YAML reader
(PyYAML, Ruby's Psych in Jekyll) keeps it as the string we wrote and no reader shifts it to UTC.

Strings go through `yaml_double_quoted`, which escapes everything a YAML reader would fold, drop or
reject (controls, NEL, LS, PS, BOM, non-characters) and leaves CJK alone. Lone surrogates cannot be
stored in a UTF-8 file and libyaml rejects their escapes, so they are written as U+FFFD: the one case
where `parse_post(render_post(p)) != p`. The pipeline already turns controls into spaces in titles
(normalise.plain_text); the escaper still makes any `str` safe.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from frontmatter.default_handlers import YAMLHandler

from .errors import StoreError
from .frontmatter_fast import simple_meta
from .models import Post

__all__ = [
    "DEFAULT_ZONE",
    "PostFileError",
    "format_date",
    "parse_filename",
    "parse_post",
    "render_post",
    "yaml_double_quoted",
    "yaml_scalar",
    "yaml_tags",
]

DEFAULT_ZONE = ZoneInfo("Asia/Shanghai")  # the zone of naive dates in the old hand-made posts
DATE_FORMAT = "%Y-%m-%d %H:%M:%S %z"


class PostFileError(StoreError):
    """A post file that cannot be read as a post; the message names the file."""


# ---------------------------------------------------------------- rendering

_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\x00": "\\0",
    "\x07": "\\a",
    "\x08": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\x0b": "\\v",
    "\x0c": "\\f",
    "\r": "\\r",
    "\x1b": "\\e",
    "\x85": "\\N",
    "\u2028": "\\L",
    "\u2029": "\\P",
}
# Characters written as an escape: C0, DEL, C1, BOM and non-characters (not printable for YAML, or
# silently eaten by some readers), plus those with a short escape above. Everything else (CJK, emoji,
# NBSP, ...) is written as itself.
_NEEDS_ESCAPE = re.compile('[\\\\"\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]')
_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    short = _ESCAPES.get(char)
    if short is not None:
        return short
    code = ord(char)
    return f"\\x{code:02X}" if code <= 0xFF else f"\\u{code:04X}"


def yaml_double_quoted(value: str) -> str:
    """`value` as one YAML double-quoted scalar on one line; reads back equal in YAML 1.1 and 1.2."""
    value = _SURROGATE.sub("\ufffd", value)
    return '"' + _NEEDS_ESCAPE.sub(_escape, value) + '"'


# What a plain scalar may resolve to instead of a string. YAML 1.1 (PyYAML, Psych) is checked by
# asking PyYAML itself, plus the one-letter booleans it skips; YAML 1.2 core schema by these regexes.
_YAML11_BOOL_LETTERS = frozenset({"y", "Y", "n", "N"})
_YAML12_NON_STRING = re.compile(
    r"""(?x)
    ~ | null | Null | NULL
    | true | True | TRUE | false | False | FALSE
    | [-+]? [0-9]+ | 0o [0-7]+ | 0x [0-9a-fA-F]+
    | [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
    | [-+]? \. ( inf | Inf | INF ) | \. ( nan | NaN | NAN )
    """
)
_PLAIN_SAFE = re.compile(r"[^\s\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]+")
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`=<~")


@lru_cache(maxsize=1024)  # a source's posts repeat a few categories and tags; PyYAML is slow
def _is_safe_plain(value: str) -> bool:
    """True when `value` written unquoted reads back as the same string in YAML 1.1 and 1.2."""
    if value != value.strip(" ") or not _PLAIN_SAFE.fullmatch(value.replace(" ", "x")):
        return False  # empty, leading/trailing space, tabs, line breaks, controls
    if value[0] in _INDICATORS or value.endswith(":"):
        return False
    if ": " in value or " #" in value:
        return False
    if value in _YAML11_BOOL_LETTERS or _YAML12_NON_STRING.fullmatch(value):
        return False
    try:
        loaded = yaml.load(value, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return False
    return loaded == value and type(loaded) is str


def yaml_scalar(value: str) -> str:
    """`value` plain when that is safe (so `renminyoudianbao` stays as in the seed), else quoted."""
    return value if _is_safe_plain(value) else yaml_double_quoted(value)


def yaml_tags(post: Post) -> str:
    """One tag as the seed writes it (`tags: 人民邮电报新闻`); several as a flow list of quoted
    strings, which Jekyll reads as a list (a plain scalar in a flow list may hold no `,[]{}`)."""
    if not post.extra_tags:
        return yaml_scalar(post.tag)
    return "[" + ", ".join(yaml_double_quoted(tag) for tag in post.tags) + "]"


def format_date(value: datetime) -> str:
    """`2021-12-16 09:30:00 +0800` in the zone the datetime carries (whole seconds)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime cannot be written to a post: {value!r}")
    return value.strftime(DATE_FORMAT)


def render_post(post: Post) -> bytes:
    """The exact bytes of `post`'s file: front matter in a fixed order, then the body unchanged."""
    lines = [
        "---",
        "layout: post",
        f"title: {yaml_double_quoted(post.title)}",
        f"date: {format_date(post.date)}",
        f"categories: {yaml_scalar(post.category)}",
        f"tags: {yaml_tags(post)}",
        f"source_url: {yaml_double_quoted(post.source_url)}",
        f"source_name: {yaml_double_quoted(post.source_name)}",
        f"guid: {yaml_double_quoted(post.guid)}",
        f"fetched_at: {format_date(post.first_seen)}",
    ]
    if post.updated is not None:
        lines.append(f"updated: {format_date(post.updated)}")
    lines.append("---")
    return ("\n".join(lines) + "\n" + post.body).encode("utf-8")


# ---------------------------------------------------------------- parsing

_FILENAME = re.compile(r"(?P<date>\d{4}-\d{2}-\d{2})-(?P<id>[^/\\\x00]+)\.md")
# Leading blank lines are tolerated (the earliest hand-made posts start with one); the closing
# delimiter is the first line that is exactly `---` (trailing spaces / CR allowed, as in Jekyll).
_FRONT_MATTER = re.compile(
    r"\A(?:[ \t]*\r?\n)*---[ \t]*\r?\n(?P<yaml>(?:[^\n]*\n)*?)---[ \t]*(?:\r?\n|\Z)"
)
_YAML = YAMLHandler()
# libyaml's SafeLoader is ~10x faster (`build` reads every post); what render_post writes reads back
# the same with either loader (tests/test_postfile.py checks every code point with both).
_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_filename(filename: str) -> str:
    """`2021-12-16-NW202112162215638061.md` -> `NW202112162215638061`; PostFileError otherwise."""
    match = _FILENAME.fullmatch(filename)
    if match is None:
        raise PostFileError(f"{filename}: file name is not YYYY-MM-DD-<id>.md")
    try:
        date.fromisoformat(match["date"])
    except ValueError:
        raise PostFileError(f"{filename}: file name has an invalid date") from None
    return match["id"]


def parse_post(
    data: bytes,
    filename: str,
    render: Callable[[str], str],
    *,
    zone: tzinfo = DEFAULT_ZONE,
) -> Post:
    """Read a post file written by `render_post` or by hand.

    Naive dates are read in `zone`; keys the old hand-made posts lack get defaults. Anything that
    cannot be a post raises PostFileError with a one-line reason naming `filename`.
    """
    post_id = parse_filename(filename)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PostFileError(f"{filename}: not UTF-8 (byte {exc.start})") from None
    text = text.removeprefix("\ufeff")
    match = _FRONT_MATTER.match(text)
    if match is None:
        raise PostFileError(f"{filename}: no front matter (--- ... ---) at the start of the file")
    fast = simple_meta(match["yaml"])  # our own lines without YAML; anything else with it
    meta = _load_yaml(match["yaml"], filename) if fast is None else fast
    body = text[match.end() :]

    post_date = _read_date(meta.get("date"), "date", filename, zone)
    if post_date is None:
        raise PostFileError(f"{filename}: front matter has no date")
    first_seen = _read_date(meta.get("fetched_at"), "fetched_at", filename, zone) or post_date
    tags = _read_tags(meta.get("tags", meta.get("tag")))
    return Post(
        post_id=post_id,
        title=_read_text(meta.get("title")),
        date=post_date,
        category=_read_text(meta.get("categories", meta.get("category"))),
        tag=tags[0] if tags else "",
        body=body,
        content_html=render(body),
        source_url=_read_text(meta.get("source_url")),
        guid=_read_text(meta.get("guid")) or f"urn:aggregator:post:{post_id}",
        source_name=_read_text(meta.get("source_name")),
        first_seen=first_seen,
        updated=_read_date(meta.get("updated"), "updated", filename, zone),
        extra_tags=tuple(tags[1:]),
    )


def _load_yaml(source: str, filename: str) -> Mapping[str, Any]:
    try:
        # python-frontmatter's YAML handler with a safe loader: no tag can construct an object.
        loaded = _YAML.load(source, Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise PostFileError(
            f"{filename}: front matter is not valid YAML: {problem}{where}"
        ) from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise PostFileError(f"{filename}: front matter is not a key: value mapping")
    return loaded


def _read_text(value: object) -> str:
    """A front-matter value as text; the first item of a list (Jekyll allows lists of tags)."""
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _read_tags(value: object) -> list[str]:
    """Every tag of a list (empty items skipped), else the one tag; [] when there is none."""
    if isinstance(value, list):
        return [tag for tag in map(_read_text, value) if tag]
    tag = _read_text(value)
    return [tag] if tag else []


_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M %z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")
# the dates our writer and the seed site write: the first format with every field in full
_WRITTEN_DATE = re.compile(
    r"(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)([0-5]\d)", re.ASCII
)


def _read_date(value: object, key: str, filename: str, zone: tzinfo) -> datetime | None:
    """A front-matter date as an aware datetime; None when absent or empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    parsed: datetime | None = None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime.combine(value, time())
    elif isinstance(value, str):
        parsed = _parse_date_text(value.strip())
    if parsed is None:
        raise PostFileError(f"{filename}: {key}: not a date: {str(value)[:40]!r}")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed


def _parse_date_text(text: str) -> datetime | None:
    written = _written_date(text)
    if written is not None:
        return written
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            pass
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _written_date(text: str) -> datetime | None:
    """strptime's value for "%Y-%m-%d %H:%M:%S %z" with every field in full, at a tenth of its
    cost (a cold `build` reads every post's date); None for anything else, strptime decides."""
    match = _WRITTEN_DATE.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, sign, off_h, off_m = match.groups()
    offset = timedelta(hours=int(off_h), minutes=int(off_m))
    try:
        zone = timezone(-offset if sign == "-" else offset)
        return datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=zone
        )
    except ValueError:  # out of range (a 13th month, a 24-hour offset): as strptime judges
        return None
