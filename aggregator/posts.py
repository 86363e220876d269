"""RawItem -> Post, and the decision "new, changed or unchanged". Pure: values in, values out.

The post body keeps the seed site's layout:

    [> digest]            rolling news only
    <article HTML>
    <original link>
    footer                from the `[site] footer` template

separated by blank lines, with no trailing newline.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from . import normalise, slugs
from .models import Post, RawItem, SiteSettings

# Tags per post, the primary one included, and characters per tag: every tag is a feed of its
# own, so a source listing dozens of categories per entry must not make dozens of feeds.
MAX_TAGS = 10
MAX_TAG_CHARS = 50


@dataclass(frozen=True)
class Placement:
    """Where an item goes; `remember` is a new name -> slug pair for the persisted slug map."""

    category: str
    tag: str
    remember: tuple[str, str] | None = None


def place(
    item: RawItem,
    media: str | None,
    *,
    fallback: str,
    known: Mapping[str, str],
    overrides: Mapping[str, str],
) -> Placement:
    """Category and tag of an item.

    A fixed category/tag from the source wins; otherwise the media name drives both, as on the
    seed site (人民邮电报 -> renminyoudianbao, tag 人民邮电报新闻); without a media name the
    source's name (`fallback`) stands in.
    """
    tag = item.tag or (f"{media}新闻" if media else fallback)
    if item.category:
        return Placement(item.category, tag)
    name = media or fallback
    slug, is_new = assign_slug(name, known=known, overrides=overrides)
    return Placement(slug, tag, (name, slug) if is_new else None)


def assign_slug(
    name: str, *, known: Mapping[str, str], overrides: Mapping[str, str]
) -> tuple[str, bool]:
    """Slug for a media/category name, and whether it is newly assigned (to be remembered).

    Overrides from the config win; a slug once used for a name never changes; a fresh slug that
    another name already holds gets a numeric suffix (新华社 and 信华社 are both `xinhuashe`).
    """
    if name in overrides:
        return overrides[name], overrides[name] != known.get(name)
    if name in known:
        return known[name], False
    # another spelling of a known name (NFD, full-width, zero-width space) is that name
    key = slugs.name_key(name)
    spelling = next((n for n in (*overrides, *known) if slugs.name_key(n) == key), None)
    if spelling is not None:
        return overrides.get(spelling) or known[spelling], False
    base = normalise.slugify(name)
    taken = set(known.values()) | set(overrides.values())
    slug, n = base, 1
    while slug in taken:
        n += 1
        slug = f"{base}-{n}"
    return slug, True


def extra_tags(primary: str, candidates: Iterable[str]) -> tuple[str, ...]:
    """The tags after `primary`: one line each, at most MAX_TAG_CHARS, in the given order, without
    repeats (letter case ignored, so `HTTP` and `http` are one tag), at most MAX_TAGS in all."""
    seen = {primary.casefold()}
    found: list[str] = []
    for candidate in candidates:
        if len(found) >= MAX_TAGS - 1:
            break
        tag = normalise.one_line(candidate)[:MAX_TAG_CHARS].rstrip()
        if tag and tag.casefold() not in seen:
            seen.add(tag.casefold())
            found.append(tag)
    return tuple(found)


def site_without_scheme(site_url: str) -> str:
    """`https://finews.withounder.com/x` -> `//finews.withounder.com/x` (the seed's footer links)."""
    parts = urlsplit(site_url)
    return f"//{parts.netloc}{parts.path}".rstrip("/")


def compose_body(*, article_html: str, digest: str | None, link: str, footer: str) -> str:
    parts = []
    if digest:
        # the digest is plain text; escape it so Markdown/HTML/Liquid never read markup into it
        parts.append("> " + normalise.inert_text(digest))
    parts += [article_html.strip("\n"), f"<{link}>" if link else "", footer]
    return "\n\n".join(p for p in parts if p)


def clean_article(html: str, link: str) -> str:
    """An item's article HTML as its post body: cleaned, relative links resolved against `link`
    (when it is a safe http(s) URL). Pure, so a worker process gives the same bytes."""
    return normalise.clean_html(html, normalise.safe_link(link) or None)


def make_post(
    item: RawItem,
    *,
    site: SiteSettings,
    category: str,
    tag: str,
    first_seen: datetime,
    now: datetime,
    render: bool = True,
    cleaned: str | None = None,
) -> Post:
    """Build the post for an item. `first_seen` stands in for a missing date, so the file never moves.

    render=False leaves `content_html` empty: storing compares and writes the body, and feeds
    render it when they read the file back (content_html is a function of the body).
    `cleaned` is the article body as clean_article makes it, when already done (cleanpool)."""
    zone = ZoneInfo(site.timezone)
    link = normalise.safe_link(item.link)  # only http(s), never able to end `<link>` early
    article = cleaned if cleaned is not None else clean_article(item.html, item.link)
    digest = normalise.digest_text(item.digest) if item.digest else None
    footer = site.footer.format(
        tag=normalise.inert_text(tag), category=category, site=site_without_scheme(site.url)
    )
    body = compose_body(article_html=article, digest=digest, link=link, footer=footer)
    published = normalise.parse_date(item.date_text, item.timezone, now) or first_seen
    # a future date was clamped to the fetch time; clamping to the first fetch keeps it still
    published = min(published, first_seen)
    return Post(
        post_id=item.key,
        title=normalise.plain_text(item.title),
        date=published.astimezone(zone),
        category=category,
        tag=tag,
        body=body,
        content_html=normalise.render_body(body, base_url=site.url) if render else "",
        source_url=link,
        guid=item.guid,
        source_name=item.source_name,
        first_seen=first_seen.astimezone(zone),
        extra_tags=extra_tags(tag, item.extra_tags),
    )


Decision = Literal["new", "changed", "unchanged"]


def decide(existing: Post | None, candidate: Post, now: datetime) -> tuple[Decision, Post]:
    """Compare a fresh post with the stored one; return what to do and the post to write.

    A stored post keeps its `fetched_at`; a real change stamps `updated` so feed readers see it.
    """
    if existing is None:
        return "new", candidate
    same = replace(candidate, first_seen=existing.first_seen, updated=existing.updated)
    if same == existing:
        return "unchanged", existing
    return "changed", replace(same, updated=now.astimezone(candidate.date.tzinfo))
