"""Post files named by the index -> Posts, with bodies rendered at most once.

A body's HTML is looked up in the index's `rendered` table (feedindex) by body and base URL before
it is rendered; what the subscription documents need is kept there for the next run, so adding one
post renders one body. Archive pages take Atom entries (`entries`), rendered without keeping
(they are written once); a cold build starts them on the workers early (`prefetch_entries`), so
they are rendered while the feeds are planned. The posts of subscription documents made from
those entries are named to `prefetch_entries`: the workers hand their bodies back to be kept.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Collection, Generator, Iterable, Iterator, Sequence
from contextlib import closing

from . import entrypool, feedindex
from .atomxml import Entry
from .errors import StoreError
from .models import Post, SiteSettings
from .store import Store

__all__ = ["PostLoader"]

_FLUSH_EVERY = 200  # new entries kept in memory before they are written to the table
_MEMO_POSTS = 256  # posts of recent subscription documents (a category's and its tag's overlap)

Made = Generator[tuple[str, entrypool.Result, entrypool.Body | None], None, None]


class PostLoader:
    def __init__(self, store: Store, render: Callable[[str], str], base: str) -> None:
        self.store = store
        self.problems: list[str] = []
        self._render = render
        self._base = base
        self._fresh: dict[str, str] = {}  # rendered this run, not yet in the table
        self._keep = True
        self._memo: OrderedDict[str, Post] = OrderedDict()
        self._prefetched: Made | None = None
        self._kept: frozenset[str] = frozenset()  # names whose bodies the workers hand back
        self._counts: dict[feedindex.Scope, int] = {}

    def load(self, names: Iterable[str], *, keep: bool) -> list[Post]:
        """The posts of `names` (archived ones included); a file gone or broken since it was
        indexed is left out, its row dropped or marked, and its problem recorded.
        keep=True stores newly rendered bodies for later runs."""
        posts: list[Post] = []
        for name in names:
            post = self.load_one(name, keep=keep)
            if post is not None:
                posts.append(post)
        return posts

    def load_one(self, name: str, *, keep: bool = False) -> Post | None:
        self._keep = keep
        memo = self._memo.get(name)
        if memo is not None:
            self._memo.move_to_end(name)
            return memo
        try:
            post = self.store.read_post(name, self._html, archived=True)
        except StoreError as exc:
            self.problems.append(str(exc))
            self._forget(name, str(exc))
            return None
        if post is None:
            self._forget(name, None)
        elif self._keep:
            self._memo[name] = post
            if len(self._memo) > _MEMO_POSTS:
                self._memo.popitem(last=False)
        return post

    def entries(
        self, names: Sequence[str], site: SiteSettings
    ) -> Iterator[tuple[str, Entry | None]]:
        """(name, Atom entry) of each of `names`, in order, for archive pages (nothing kept;
        many are spread over the cores: entrypool). None, with the row dropped or marked and the
        problem recorded, for a file gone or broken since it was indexed, as in `load`."""
        self._keep = False
        for name, result, body in self._results(names, site):
            if body is not None:
                self._keep_rendered(*body)
            if isinstance(result, Entry):
                yield name, result
                continue
            if result is not None:
                self.problems.append(result)
            self._forget(name, result)
            yield name, None

    def prefetch_entries(
        self, names: Sequence[str], site: SiteSettings, keep: Collection[str] = ()
    ) -> bool:
        """Start making the entries of `names` on the workers now, for a later `entries` call
        whose names come in the same order (some may be left out); False when they would not be
        spread over workers (then nothing is done ahead). The bodies of `keep` are kept, as
        `load(keep=True)` does, when their entries are made (now or later)."""
        self._kept = frozenset(keep)
        if not entrypool.spread(len(names)):
            return False
        self._prefetched = self._made(names, site, self._render)
        return True

    def _made(self, names: Sequence[str], site: SiteSettings, render: Callable[[str], str]) -> Made:
        return entrypool.entries(self.store, render, site, names, keep=self._kept, base=self._base)

    def _results(self, names: Sequence[str], site: SiteSettings) -> Made:
        ahead, self._prefetched = self._prefetched, None
        done = 0
        if ahead is not None and names:
            with closing(ahead):  # (leaving it stops the workers)
                for made in ahead:  # the names' results, in order; others are skipped
                    if made[0] == names[done]:
                        yield made
                        done += 1
                        if done == len(names):
                            return
        # not made ahead (none started, or a name out of its order): made now. In-process, bodies
        # rendered for subscription documents come from the table; a forked worker must not
        # touch the state's connection, so it renders every body
        rest = names[done:]
        render = self._html if len(rest) < entrypool.PARALLEL_FROM else self._render
        yield from self._made(rest, site, render)

    def count(self, scope: feedindex.Scope) -> int:
        """How many readable posts `scope` has by the index, remembered until a row is dropped
        or marked (a publish asks for the site's several times; counting 100,000 rows takes
        ~4 ms)."""
        total = self._counts.get(scope)
        if total is None:
            with self.store.state() as db:
                total = self._counts[scope] = feedindex.count(db, scope)
        return total

    def newest(self, scope: feedindex.Scope, limit: int) -> list[Post]:
        """The newest `limit` readable posts of `scope` by the index (kept for later runs)."""
        posts: list[Post] = []
        offset = 0
        while len(posts) < limit:
            with self.store.state() as db:
                names = feedindex.newest(db, scope, limit - len(posts), offset)
            if not names:
                break
            # a dropped or marked row leaves the query, so the next one shifts up
            posts += self.load(names, keep=True)
            offset = len(posts)
        return posts

    def flush(self, cap: int | None = None) -> None:
        """Write the bodies rendered for subscription documents; keep the newest `cap`."""
        if not self._fresh:
            return
        with self.store.state(write=True) as db:
            feedindex.keep_rendered(db, self._fresh, cap)
        self._fresh.clear()

    def _html(self, body: str) -> str:
        key = feedindex.render_key(body, self._base)
        html = self._fresh.get(key)
        if html is None:
            with self.store.state() as db:
                html = feedindex.rendered(db, [key]).get(key)
        if html is None:
            html = self._render(body)
            if self._keep:
                self._keep_rendered(key, html)
        return html

    def _forget(self, name: str, problem: str | None) -> None:
        """Drop (problem None: the file is gone) or mark the row of a file that cannot be read."""
        self.store.forget_post(name, problem)
        self._counts.clear()

    def _keep_rendered(self, key: str, html: str) -> None:
        """Keep a body's HTML for later runs (written to the table every _FLUSH_EVERY)."""
        self._fresh[key] = html
        if len(self._fresh) >= _FLUSH_EVERY:
            self.flush()
