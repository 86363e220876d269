"""Reference clients for the eastmoney benchmark: fetch a list URL, then every text URL.

    python bench/baselines.py sequential LIST_URL URL...     one by one, as the original scripts did
    python bench/baselines.py httpx N LIST_URL URL...        bare httpx, N requests in flight

Both only download (no parsing, no files): the floor for the network part of an ingest. The
sequential one keeps one connection open, so it is if anything faster than the original scripts.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

import httpx


def sequential(list_url: str, urls: list[str]) -> int:
    with httpx.Client(timeout=30) as client:
        total = len(client.get(list_url).content)
        for url in urls:
            total += len(client.get(url).content)
    return total


def concurrent(workers: int, list_url: str, urls: list[str]) -> int:
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    with httpx.Client(timeout=30, limits=limits) as client:
        total = len(client.get(list_url).content)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            total += sum(pool.map(lambda url: len(client.get(url).content), urls))
    return total


if __name__ == "__main__":
    mode, rest = sys.argv[1], sys.argv[2:]
    if mode == "sequential":
        print(sequential(rest[0], rest[1:]))
    else:
        print(concurrent(int(rest[0]), rest[1], rest[2:]))
