"""The `aggregator` command: thin shells over `pipeline`; errors become one line and an exit code.

Exit codes: 0 all well, 1 a source (or the storage dir) failed, 2 usage or config error.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import cast

import click

from .config import Config, find_config, load_config
from .errors import ConfigError, StoreError
from .feedpaths import written_summary
from .models import Source, SourceResult, SourceType

# Heavy modules (pipeline, store, sources: httpx, bs4, nh3, feedgen, lxml, pypinyin, yaml) are
# imported inside the commands, so `aggregator --help` starts in a fraction of the time.

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def now() -> datetime:
    """The run's clock, in whole seconds as post files store them.

    SOURCE_DATE_EPOCH (the reproducible-builds convention) fixes it.
    """
    fixed = os.environ.get("SOURCE_DATE_EPOCH")
    if fixed and fixed.strip().isdigit():
        return datetime.fromtimestamp(int(fixed), UTC)
    return datetime.now(UTC).replace(microsecond=0)


def _fail(message: str, code: int) -> None:
    click.echo(f"aggregator: {message}", err=True)
    sys.exit(code)


def _load(ctx: click.Context) -> Config:
    try:
        return load_config(find_config(ctx.obj))
    except ConfigError as exc:
        _fail(str(exc), EXIT_USAGE)
        raise AssertionError("unreachable") from exc


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    help="Config file (default ./feeds_config.toml, else $AGGREGATOR_CONFIG).",
)
@click.version_option(package_name="aggregator")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """Aggregate news sources into a Jekyll site with per-category Atom feeds."""
    ctx.obj = config_path


def summary_line(result: SourceResult) -> str:
    """`name: 3 new, 1 changed, 96 unchanged (2140 ms)`, `name: not modified (35 ms)` or
    `name: error: <reason> (12 ms)`; a source where some items failed shows both."""
    counts = f"{result.new} new, {result.changed} changed, {result.unchanged} unchanged"
    counts += f", {result.duplicates} duplicate" * bool(result.duplicates)
    counts += f", {result.filtered} filtered" * bool(result.filtered)
    if result.outcome == "not_modified":
        status = "not modified"
    elif result.outcome == "skipped":  # disabled (410 Gone) or, with --due, not due yet
        status = f"skipped: {result.error}"
    elif result.error is None:
        status = counts
    elif result.new or result.changed or result.unchanged:
        status = f"{counts}; error: {result.error}"
    else:
        status = f"error: {result.error}"
    status += f"; degraded: {result.degraded}" * bool(result.degraded)
    if result.warnings:
        more = len(result.warnings) - 1
        status += f"; warning: {result.warnings[0]}" + f" (+{more} more)" * bool(more)
    return f"{result.source}: {status} ({result.elapsed_ms} ms)"


def _adhoc_sources(urls: Sequence[str]) -> list[Source]:
    from .sources import guess_type

    sources = []
    for i, url in enumerate(urls):
        kind = guess_type(url)
        if kind is None:
            raise click.UsageError(
                f"--url {url}: not an absolute http(s) URL (an article page, or an eastmoney "
                "share link …/html_News/NewsShare.html?infoCode=NW…)"
            )
        sources.append(Source(name=url, type=cast(SourceType, kind), urls=(url,), index=i))
    return sources


@cli.command()
@click.argument("names", nargs=-1)
@click.option(
    "--url", "urls", multiple=True, metavar="URL", help="Fetch this URL once (repeatable)."
)
@click.option(
    "--dry-run", is_flag=True, help="Print the posts that would be written; write nothing."
)
@click.option(
    "--force",
    is_flag=True,
    help="Ignore ETag/Last-Modified and rewrite the posts whose content changed.",
)
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait while another aggregator (the daemon) is writing.",
)
@click.option(
    "--due",
    is_flag=True,
    help="Only sources that are due: interval or cron, backoff, Retry-After (for crontab).",
)
@click.pass_context
def fetch(
    ctx: click.Context,
    names: tuple[str, ...],
    urls: tuple[str, ...],
    dry_run: bool = False,
    force: bool = False,
    wait: float = 30.0,
    due: bool = False,
) -> None:
    """One pass over all sources, the named ones, or ad-hoc URLs; rebuild the feeds that changed."""
    config = _load(ctx)
    unknown = [n for n in names if config.source(n) is None]
    if unknown:
        known = ", ".join(s.name for s in config.sources) or "none"
        raise click.UsageError(f"unknown source {unknown[0]!r} (configured: {known})")
    selected = [s for s in config.sources if s.name in names] if names else []
    selected += _adhoc_sources(urls)
    if not names and not urls:
        selected = list(config.sources)

    from . import pipeline
    from .dryrun import DryRunStore, describe
    from .runview import fetch_view, one_writer, tracker_for
    from .store import Store

    view = fetch_view(len(selected))  # progress bar + table on a terminal, None when piped

    def report(result: SourceResult) -> None:
        if view is not None:
            view.add(result)
        else:
            click.echo(summary_line(result), err=result.outcome == "error")

    try:
        opened = DryRunStore(config.storage_dir) if dry_run else Store(config.storage_dir)
        with (
            one_writer(config, wait, dry_run=dry_run),
            opened as store,
            pipeline.open_fetcher(config, selected) as fetcher,
            view or contextlib.nullcontext(),
        ):
            # a dry run fetches everything, so it shows what the source yields today
            run = pipeline.run_once(
                dataclasses.replace(config, retention_days=None) if dry_run else config,
                fetcher=fetcher,
                store=store,
                clock=now,
                sources=selected,
                on_result=report,
                force=force or dry_run,
                health=None if dry_run else tracker_for(config, store, due=due, clock=now),
            )
    except StoreError as exc:
        _fail(str(exc), EXIT_FAILED)
    if view is not None:
        view.print_summary()
    if isinstance(opened, DryRunStore):
        for filename, post in opened.written.items():
            click.echo(describe(filename, post))
        click.echo(f"dry run: {len(opened.written)} posts would be written; nothing was written")
    if run.feeds_written:
        click.echo(f"feeds written: {written_summary(run.feeds_written)}")
    sys.exit(EXIT_OK if run.ok else EXIT_FAILED)


@cli.command()
@click.option("--html", is_flag=True, help="Also render the standalone site into <storage>/_site/.")
@click.pass_context
def build(ctx: click.Context, html: bool) -> None:
    """Rebuild every feed (and the site pages) from the post files on disk."""
    config = _load(ctx)
    from . import pipeline
    from .store import Store

    try:
        with Store(config.storage_dir) as store:
            written, problems = pipeline.rebuild_feeds(config, store, html=html)
    except StoreError as exc:
        _fail(str(exc), EXIT_FAILED)
    for problem in problems:
        click.echo(f"skipped {problem}", err=True)
    click.echo(f"feeds written: {written_summary(written)}" if written else "feeds unchanged")


def main() -> None:
    cli(prog_name="aggregator")


# run, status (cli_daemon); serve, import-opml, export-opml (cli_publish): imported last, they
# attach themselves to `cli`
from . import cli_daemon, cli_publish  # noqa: E402, F401
