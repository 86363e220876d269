"""The `aggregator` command: thin shells over `pipeline`; errors become one line and an exit code.

Exit codes: 0 all well, 1 a source (or the storage dir) failed, 2 usage or config error.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

import click

from . import pipeline
from .config import Config, find_config, load_config
from .errors import ConfigError, StoreError
from .models import Source, SourceResult
from .sources import guess_type
from .store import Store

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
    if result.outcome == "not_modified":
        status = "not modified"
    elif result.error is None:
        status = counts
    elif result.new or result.changed or result.unchanged:
        status = f"{counts}; error: {result.error}"
    else:
        status = f"error: {result.error}"
    return f"{result.source}: {status} ({result.elapsed_ms} ms)"


def _adhoc_sources(urls: Sequence[str]) -> list[Source]:
    sources = []
    for i, url in enumerate(urls):
        kind = guess_type(url)
        if kind is None:
            raise click.UsageError(
                f"--url {url}: no adapter for this URL (supported: eastmoney share links "
                "…/html_News/NewsShare.html?infoCode=NW…)"
            )
        sources.append(Source(name=url, type="eastmoney", urls=(url,), index=i))
    return sources


@cli.command()
@click.argument("names", nargs=-1)
@click.option(
    "--url", "urls", multiple=True, metavar="URL", help="Fetch this URL once (repeatable)."
)
@click.pass_context
def fetch(ctx: click.Context, names: tuple[str, ...], urls: tuple[str, ...]) -> None:
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

    def report(result: SourceResult) -> None:
        click.echo(summary_line(result), err=result.outcome == "error")

    try:
        with Store(config.storage_dir) as store, pipeline.open_fetcher(config) as fetcher:
            run = pipeline.run_once(
                config, fetcher=fetcher, store=store, clock=now, sources=selected, on_result=report
            )
    except StoreError as exc:
        _fail(str(exc), EXIT_FAILED)
    if run.feeds_written:
        click.echo(f"feeds written: {', '.join(run.feeds_written)}")
    sys.exit(EXIT_OK if run.ok else EXIT_FAILED)


@cli.command()
@click.pass_context
def build(ctx: click.Context) -> None:
    """Rebuild every feed from the post files on disk."""
    config = _load(ctx)
    try:
        with Store(config.storage_dir) as store:
            written, problems = pipeline.rebuild_feeds(config, store)
    except StoreError as exc:
        _fail(str(exc), EXIT_FAILED)
    for problem in problems:
        click.echo(f"skipped {problem}", err=True)
    click.echo(f"feeds written: {', '.join(written)}" if written else "feeds unchanged")


def main() -> None:
    cli(prog_name="aggregator")
