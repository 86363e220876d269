"""Category slugs: a media name (usually Chinese) -> a safe `[a-z0-9-]` path segment.

The slug names a directory, a feed file and a URL, so it is an allowlist, never a blocklist:
pypinyin passes anything that is not Han straight through (`../../etc`, `/`, emoji), and
everything outside `[a-z0-9]` collapses to a single '-'. Slugs must not change once used, so the
stored name -> slug map (in `store`) is the authority; this is only the first guess.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

__all__ = ["MAX_SLUG_LENGTH", "name_key", "slugify"]

MAX_SLUG_LENGTH = 80

# Invisible characters that would otherwise split one name into two categories.
_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
# Device names Windows refuses as file names (a checkout of the site on Windows must work).
_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(10)} | {f"lpt{i}" for i in range(10)}
)


def name_key(name: str) -> str:
    """What makes two spellings one name: NFC/NFD, full-width/ASCII, case and invisible
    characters do not (`ＣＣＴＶ`, `cctv` and `CC\u200bTV` are one category)."""
    return unicodedata.normalize("NFKC", _INVISIBLE.sub("", name)).casefold().strip()


def slugify(name: str) -> str:
    """Return the pinyin slug of `name`: `人民邮电报` -> `renminyoudianbao`.

    NFKC first (full-width letters and digits become ASCII), Han characters become toneless
    pinyin joined without a separator, Latin letters lose their accents, then every run of
    other characters becomes one '-'. An empty result gets `misc-<hash of the name>`.
    """
    # imported here: loading its dictionaries takes ~0.2 s, which `build` and `--help` never need
    from pypinyin import Style, lazy_pinyin

    text = unicodedata.normalize("NFKC", _INVISIBLE.sub("", name))
    text = "".join(lazy_pinyin(text, style=Style.NORMAL))
    # Café -> Cafe: drop the combining marks left by decomposition.
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    slug = _NOT_SLUG.sub("-", text.lower()).strip("-")
    slug = slug[:MAX_SLUG_LENGTH].rstrip("-")
    if not slug:
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()
        return f"misc-{digest[:8]}"
    if slug in _RESERVED:
        return f"{slug}-1"
    return slug
