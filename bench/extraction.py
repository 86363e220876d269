"""Automatic article extraction: trafilatura (the one `aggregator.extract` uses) vs readability-lxml.

    python bench/extraction.py [--repeat N]

Runs both libraries on the hand-labelled pages in tests/data/pages/ (labels.json; <name>.txt is the
hand-checked body text) and prints, side by side, per page and overall:

- time: wall time of one extraction (the fastest of --repeat runs per page, then the median and the
  95th percentile over pages);
- quality: precision, recall and F1 of the extracted text against the hand-checked body, counting
  tokens (each CJK character is a token, other text splits into words) as multisets. Low
  precision = boilerplate got in (menus, comments, related links); low recall = article text lost.

Pages are decoded with `aggregator.decode` exactly as fetched pages are. Needs the bench extra:
`pip install -e '.[bench]'`.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aggregator.decode import decode_document
from aggregator.errors import ExtractError
from aggregator.extract import auto_body, drop_repeated_title, extract_article, html_text

PAGES = Path(__file__).resolve().parent.parent / "tests" / "data" / "pages"
_TOKEN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\W_]+", re.UNICODE)

Extractor = Callable[[str, str, str], str]  # (html, url, title) -> body text


@dataclass(frozen=True)
class Page:
    name: str
    url: str
    html: str
    expected: str
    title: str


@dataclass(frozen=True)
class Score:
    seconds: float
    precision: float
    recall: float

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def trafilatura_text(html: str, url: str, title: str) -> str:
    """What extract_article does without selectors, minus the title/date metadata."""
    return html_text(drop_repeated_title(auto_body(html, url), title))


def readability_text(html: str, url: str, title: str) -> str:
    from readability import Document  # the bench extra; not a dependency of the package

    return html_text(drop_repeated_title(Document(html, url=url).summary(html_partial=True), title))


EXTRACTORS: dict[str, Extractor] = {
    "trafilatura": trafilatura_text,
    "readability-lxml": readability_text,
}


def load_pages() -> list[Page]:
    labels = json.loads((PAGES / "labels.json").read_text(encoding="utf-8"))
    pages = []
    for name, label in labels.items():
        if name.startswith("_"):
            continue
        raw = (PAGES / f"{name}.html").read_bytes()
        html = decode_document(raw, content_type=label["content_type"], source=label["url"])
        expected = (PAGES / f"{name}.txt").read_text(encoding="utf-8")
        pages.append(Page(name, label["url"], html, expected, label["title"]))
    return pages


def tokens(text: str) -> Counter[str]:
    return Counter(token.lower() for token in _TOKEN.findall(text))


def score(extractor: Extractor, page: Page, repeat: int) -> Score:
    times, text = [], ""
    for _ in range(repeat):
        started = time.perf_counter()
        try:
            text = extractor(page.html, page.url, page.title)
        except ExtractError:
            text = ""
        times.append(time.perf_counter() - started)
    got, want = tokens(text), tokens(page.expected)
    common = sum((got & want).values())
    precision = common / sum(got.values()) if got else 0.0
    recall = common / sum(want.values()) if want else 0.0
    return Score(min(times), precision, recall)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:6.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per page (fastest counts)")
    args = parser.parse_args()
    pages = load_pages()
    names = list(EXTRACTORS)
    for extractor in EXTRACTORS.values():  # warm-up: imports and lazy initialisation
        extractor(pages[0].html, pages[0].url, pages[0].title)

    results = {
        name: [score(EXTRACTORS[name], page, args.repeat) for page in pages] for name in names
    }
    width = max(len(page.name) for page in pages)
    header = "  ".join(f"{name:>24}" for name in names)
    print(f"{'page':<{width}}  {header}")
    print(f"{'':<{width}}  " + "  ".join(f"{'ms    P     R     F1':>24}" for _ in names))
    for index, page in enumerate(pages):
        cells = []
        for name in names:
            s = results[name][index]
            cells.append(f"{ms(s.seconds)} {s.precision:5.2f} {s.recall:5.2f} {s.f1:5.2f}")
        print(f"{page.name:<{width}}  " + "  ".join(f"{cell:>24}" for cell in cells))

    print()
    print(f"{'':<20}" + "".join(f"{name:>20}" for name in names))
    rows: list[tuple[str, Callable[[list[Score]], float], str]] = [
        ("time median (ms)", lambda s: statistics.median(x.seconds for x in s) * 1000, ".1f"),
        ("time p95 (ms)", lambda s: p95([x.seconds for x in s]) * 1000, ".1f"),
        ("precision (mean)", lambda s: statistics.mean(x.precision for x in s), ".3f"),
        ("recall (mean)", lambda s: statistics.mean(x.recall for x in s), ".3f"),
        ("F1 (mean)", lambda s: statistics.mean(x.f1 for x in s), ".3f"),
        ("F1 (worst page)", lambda s: min(x.f1 for x in s), ".3f"),
    ]
    for label, figure, spec in rows:
        print(f"{label:<20}" + "".join(f"{figure(results[name]):>20{spec}}" for name in names))
    first, second = (statistics.median(x.seconds for x in results[name]) for name in names[:2])
    print(f"\n{names[0]} / {names[1]} median time: {first / second:.2f}x")

    full = []
    for page in pages:
        started = time.perf_counter()
        extract_article(page.html, page.url)
        full.append(time.perf_counter() - started)
    print(
        f"extract_article (trafilatura body + title/date metadata) over {len(pages)} pages: "
        f"median {statistics.median(full) * 1000:.1f} ms, p95 {p95(full) * 1000:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
