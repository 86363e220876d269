"""The parts of `aggregator fetch` that concern the daemon: the writer lock, the health tracker,
and the terminal view (progress bar, summary table). Kept out of cli.py so it stays a thin shell.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

from .config import Config
from .errors import StoreError
from .health import HealthTracker
from .lock import LockBusy, writer_lock
from .models import SourceResult
from .store import Store


@contextmanager
def one_writer(config: Config, wait: float, *, dry_run: bool = False) -> Iterator[None]:
    """Hold the storage dir's writer lock (a dry run writes nothing and takes none).

    Raises StoreError naming the holder's pid after `wait` seconds.
    """
    if dry_run:
        yield
        return
    lock = writer_lock(config.storage_dir)
    try:
        lock.acquire(wait)
    except LockBusy as exc:
        holder = f"pid {exc.pid}" if exc.pid is not None else "another process"
        raise StoreError(
            f"another aggregator ({holder}) is writing to {config.storage_dir};"
            f" gave up after {wait:g} s (see --wait)"
        ) from None
    except OSError as exc:
        raise StoreError(f"cannot lock {lock.path}: {exc.strerror or exc}") from exc
    try:
        yield
    finally:
        lock.release()


def tracker_for(
    config: Config, store: Store, *, due: bool = False, clock: Callable[[], datetime] | None = None
) -> HealthTracker:
    """`fetch`'s tracker: only configured sources; `due` also waits for interval and backoff."""
    return HealthTracker(
        store,
        mode="due" if due else "all",
        schedule=config.schedule,
        zone=ZoneInfo(config.site.timezone),
        names=frozenset(s.name for s in config.sources),
        clock=clock,
    )


class FetchView:
    """Progress bar while fetching, then the summary table (terminal only)."""

    def __init__(self, total: int) -> None:
        from . import termview  # rich: only on a terminal

        self._termview = termview
        self.console = termview.console()
        self.progress = termview.FetchProgress(self.console, total)

    def __enter__(self) -> FetchView:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)

    def add(self, result: SourceResult) -> None:
        self.progress.add(result)

    def print_summary(self) -> None:
        self.console.print(self._termview.fetch_table(self.progress.results))


def fetch_view(total: int) -> FetchView | None:
    """A FetchView when stdout is a terminal; None when piped (plain summary lines)."""
    return FetchView(total) if sys.stdout.isatty() else None
