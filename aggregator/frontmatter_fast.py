"""The front matter our writer and the seed site produce, read without YAML: the same values.

Every line is `key: value` with a value that is a date with a numeric offset (`2021-12-16 09:30:00
+0800`, which YAML reads as a string), a double-quoted string without escapes, a flow list of
those, or a plain word that YAML reads as a string. `simple_meta` returns None for anything else,
and the caller parses with YAML (postfile). This takes ~10 us where YAML takes ~100 us, and a cold
`build` reads every post; tests/test_frontmatter_fast.py compares both on every post file we have.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["PLAIN", "not_a_yaml_string", "simple_meta"]

_QUOTED = r'"[^"\\\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]*"'
_WORD = r"[A-Za-z0-9_\-\u3000-\u303f\u3400-\u9fff\uff00-\uffef]"
# a plain scalar: words with spaces between them (YAML keeps inner spaces as they are;
# ": " and " #" cannot occur, the word characters have neither ':' nor '#')
PLAIN = rf"[A-Za-z0-9\u3400-\u9fff]{_WORD}*(?: +{_WORD}+)*"
_DATE = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}"
_LINE = re.compile(
    rf"([a-z_]+): (?:({_DATE})|({_QUOTED})|(\[{_QUOTED}(?:, {_QUOTED})*\])|({PLAIN}))\n"
)
_ITEM = re.compile(_QUOTED)
# plain words YAML 1.1 reads as something else than a string (ints, dates, booleans, null)
_NOT_A_STRING = re.compile(r"[0-9_]+|0[bx][0-9a-fA-F_]*|\d{4}-\d\d?-\d\d?.*")
_YAML_WORDS = frozenset(
    [
        "y",
        "Y",
        "n",
        "N",
        "yes",
        "Yes",
        "YES",
        "no",
        "No",
        "NO",
        "on",
        "On",
        "ON",
        "off",
        "Off",
        "OFF",
        "true",
        "True",
        "TRUE",
        "false",
        "False",
        "FALSE",
        "null",
        "Null",
        "NULL",
    ]
)


def not_a_yaml_string(plain: str) -> bool:
    """True when YAML 1.1 reads the plain scalar `plain` as an int, date, boolean or null."""
    return plain in _YAML_WORDS or _NOT_A_STRING.fullmatch(plain) is not None


def simple_meta(source: str) -> dict[str, Any] | None:
    """The mapping YAML would read from `source` (the lines between the `---`), or None when a
    line is not one of the simple kinds."""
    meta: dict[str, Any] = {}
    position = 0
    while position < len(source):
        match = _LINE.match(source, position)
        if match is None:
            return None
        key, date, quoted, items, plain = match.groups()
        if key in _YAML_WORDS:  # a key YAML reads as a boolean or null
            return None
        if date is not None:
            meta[key] = date
        elif quoted is not None:
            meta[key] = quoted[1:-1]
        elif items is not None:
            meta[key] = [item[1:-1] for item in _ITEM.findall(items)]
        elif not_a_yaml_string(plain):
            return None
        else:
            meta[key] = plain
        position = match.end()
    return meta
