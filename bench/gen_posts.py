"""Generate N posts in the seed site's format, spread over 10 categories.

Bodies are the media articles of tests/data/finews_posts (real eastmoney markup), one after another;
each post gets its own 18-digit id, a date one minute after the previous one, the five front-matter
keys of the original site, the article link line and the footer.

    python bench/gen_posts.py SITE_DIR N
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "data" / "finews_posts"
START = datetime(2021, 1, 1, 8, 0, 0)
CATEGORIES = [  # (slug, media name) as the seed site names them
    ("renminyoudianbao", "人民邮电报"),
    ("21shijijingjibaodao", "21世纪经济报道"),
    ("zhongguozhengquanbao", "中国证券报"),
    ("shanghaizhengquanbao", "上海证券报"),
    ("zhengquanshibao", "证券时报"),
    ("jingjicankaobao", "经济参考报"),
    ("xinhuawang", "新华网"),
    ("renminribao", "人民日报"),
    ("diyicaijing", "第一财经"),
    ("emnews", "东财滚动"),
]


def article_bodies() -> list[str]:
    """The article part (before the link line) of every NW fixture post."""
    bodies = []
    for path in sorted(FIXTURES.glob("*-NW*.md")):
        text = path.read_text(encoding="utf-8")
        body = text.split("---\n", 2)[2]
        bodies.append(body.rpartition("\n\n<")[0])
    return bodies


def post_text(index: int, bodies: list[str]) -> tuple[str, str]:
    """(file name, file text) of post number `index`."""
    slug, media = CATEGORIES[index % len(CATEGORIES)]
    when = START + timedelta(minutes=index)
    code = f"{when:%Y%m%d}{index:010d}"
    info_code = f"NW{code}"
    link = f"http://choicewzp1.eastmoney.com/html_News/NewsShare.html?infoCode={info_code}"
    body = bodies[index % len(bodies)]
    text = (
        "---\n"
        "layout: post\n"
        f'title: "第{index}号新闻：{media}报道"\n'
        f"date: {when:%Y-%m-%d %H:%M:%S} +0800\n"
        f"categories: {slug}\n"
        f"tags: {media}新闻\n"
        "---\n"
        f"{body}\n\n<{link}>\n\n"
        f"[返回{media}新闻](//finews.withounder.com/category/{slug}.html)"
        "｜[返回首页](//finews.withounder.com/)"
    )
    return f"{when:%Y-%m-%d}-{info_code}.md", text


def generate(site: Path, count: int, *, start: int = 0) -> list[Path]:
    """Write posts `start` .. `start + count - 1` into `site/_posts`; returns their paths."""
    posts_dir = site / "_posts"
    posts_dir.mkdir(parents=True, exist_ok=True)
    bodies = article_bodies()
    written = []
    for index in range(start, start + count):
        name, text = post_text(index, bodies)
        path = posts_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    generate(Path(sys.argv[1]), int(sys.argv[2]))
