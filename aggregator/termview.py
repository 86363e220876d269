"""What a person sees on a terminal (rich): the fetch progress bar and summary table, and the
status table. Piped output never comes here: `fetch` prints its plain lines, `status` its JSON.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, tzinfo
from typing import IO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .models import SourceResult
from .status import DaemonStatus, SourceStatus

_URL_PREFIX = re.compile(r"^https?://\S+: ")  # errors start with the URL; the url column has it
_OUTCOME_STYLE = {"error": "red", "skipped": "yellow", "not_modified": "dim"}


def console(file: IO[str] | None = None, *, force_terminal: bool | None = None) -> Console:
    return Console(file=file, force_terminal=force_terminal, highlight=False)


class FetchProgress:
    """`with FetchProgress(console, total) as view:` then `view.add(result)` per source."""

    def __init__(self, out: Console, total: int) -> None:
        self.out = out
        self.results: list[SourceResult] = []
        self._progress = Progress(
            TextColumn("[bold]fetching"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=out,
            transient=True,
        )
        self._task = self._progress.add_task("", total=total)

    def __enter__(self) -> FetchProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def add(self, result: SourceResult) -> None:
        self.results.append(result)
        self._progress.update(self._task, advance=1, description=result.source)


def fetch_table(results: Sequence[SourceResult]) -> Table:
    table = Table(title="fetch summary", title_justify="left")
    table.add_column("source")
    for name in ("new", "changed", "unchanged", "ms"):
        table.add_column(name, justify="right")
    table.add_column("status")
    for r in results:
        status = r.outcome.replace("_", " ")
        if r.error:
            status = f"{status}: {r.error}"
        style = _OUTCOME_STYLE.get(r.outcome, "green" if r.new or r.changed else "")
        counts = (str(r.new), str(r.changed), str(r.unchanged), str(r.elapsed_ms))
        table.add_row(r.source, *counts, status, style=style)
    return table


def status_table(
    daemon: DaemonStatus, rows: Sequence[SourceStatus], zone: tzinfo, width: int = 160
) -> Table:
    """Short columns keep their width; the URL and the error share the rest of `width` and are
    cut with an ellipsis."""
    state = f"running (pid {daemon.pid})" if daemon.running else "not running"
    cells = [_status_cells(row, zone) for row in rows]
    headers: tuple[str, ...] = ("source", "type", "last attempt", "last success", "fails")
    headers += ("next run", "posts", "304", "state", "url", "last error")
    table = Table(title=f"aggregator status · daemon {state}", title_justify="left")
    widths = [max([len(name), *(len(c[0][i]) for c in cells)]) for i, name in enumerate(headers)]
    keep = list(range(len(headers)))
    for optional in ("url", "type", "last success", "304"):  # narrow terminal: drop these first
        fixed = sum(widths[i] + 3 for i in keep if headers[i] not in ("url", "last error")) + 1
        if width - fixed >= 40 or optional not in headers:
            break
        keep.remove(headers.index(optional))
    fixed = sum(widths[i] + 3 for i in keep if headers[i] not in ("url", "last error")) + 1
    has_url = headers.index("url") in keep
    rest = max(16, (width - fixed - 3 * (1 + has_url)) // (1 + has_url))
    cells = [(tuple(values[i] for i in keep), style) for values, style in cells]
    headers = tuple(headers[i] for i in keep)
    widths = [widths[i] for i in keep]
    for name, needed in zip(headers, widths, strict=True):
        if name in ("url", "last error"):
            table.add_column(name, overflow="ellipsis", no_wrap=True, max_width=rest)
            continue
        right = name in ("fails", "posts", "304")
        table.add_column(name, no_wrap=True, min_width=needed, justify="right" if right else "left")
    for values, style in cells:
        table.add_row(*values, style=style)
    return table


def _status_cells(row: SourceStatus, zone: tzinfo) -> tuple[tuple[str, ...], str]:
    if not row.enabled:
        health, style = "disabled", "red"
    elif row.degraded:
        health, style = "degraded", "yellow"
    else:
        health, style = "ok", ""
    next_run = row.next_run
    if row.not_before and (not next_run or row.not_before >= next_run):
        next_run = row.not_before  # backoff, Retry-After or a cache lifetime decides
        health += f", {(row.not_before_reason or 'waiting').split(' after ')[0]}"
    share = "-" if row.not_modified_share is None else f"{row.not_modified_share:.0%}"
    values = (
        row.name,
        row.type,
        _local(row.last_attempt, zone),
        _local(row.last_success, zone),
        str(row.consecutive_failures),
        _local(next_run, zone),
        str(row.posts),
        share,
        health,
        row.url,
        _problem(row),
    )
    return values, style


def _problem(row: SourceStatus) -> str:
    """The "last error" cell: why the source is disabled, else the canary's verdict, else the
    last error (without the URL, which has its own column)."""
    if row.disabled_reason:
        return row.disabled_reason
    if row.degraded_reason:
        return f"degraded: {row.degraded_reason}"
    return _URL_PREFIX.sub("", row.last_error or "")


@contextmanager
def maybe_progress(out: Console | None, total: int) -> Iterator[FetchProgress | None]:
    if out is None:
        yield None
        return
    with FetchProgress(out, total) as view:
        yield view


def _local(stamp: str | None, zone: tzinfo) -> str:
    if not stamp:
        return "-"
    when = datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(zone)
    return when.strftime("%m-%d %H:%M:%S")
