"""The daemon commands: `run` (schedule every source until SIGTERM/SIGINT) and `status`.

APScheduler and rich are imported inside the commands, so the rest of the CLI starts without them.
"""

from __future__ import annotations

import sys
from typing import Literal
from zoneinfo import ZoneInfo

import click

from .cli import EXIT_FAILED, _fail, _load, cli
from .errors import StoreError

DAEMON_LOCK_WAIT = 2.0  # a `status` probing the lock holds it for an instant


@cli.command()
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="key=value lines, or one JSON object per line.",
)
@click.pass_context
def run(ctx: click.Context, log_format: Literal["text", "json"]) -> None:
    """Fetch every source on its schedule until SIGTERM or SIGINT (then exit 0).

    One pass at start, then each source by its interval or cron ([schedule] gives the default).
    Logs go to stderr, one line per source per pass.
    """
    config = _load(ctx)
    from . import logs
    from .lock import LockBusy, daemon_lock
    from .schedule import Daemon
    from .store import Store

    logs.configure(log_format)
    lock = daemon_lock(config.storage_dir)
    try:
        lock.acquire(DAEMON_LOCK_WAIT)
    except LockBusy as exc:
        holder = f"pid {exc.pid}" if exc.pid is not None else "another process"
        _fail(f"a daemon ({holder}) already runs on {config.storage_dir}", EXIT_FAILED)
    except OSError as exc:
        _fail(f"cannot lock {lock.path}: {exc.strerror or exc}", EXIT_FAILED)
    try:
        with Store(config.storage_dir) as store:
            store.clean_temp_files()  # left by a process killed mid-write
            code = Daemon(config, store).run()
    except StoreError as exc:
        _fail(str(exc), EXIT_FAILED)
    finally:
        lock.release()
    sys.exit(code)


@cli.command()
@click.option(
    "--json/--table",
    "as_json",
    default=None,
    help="Output format (default: a table on a terminal, JSON when piped).",
)
@click.pass_context
def status(ctx: click.Context, as_json: bool | None) -> None:
    """Per source: last attempt and success, last error, failures, next run, posts, 304 share."""
    config = _load(ctx)
    from . import status as status_mod
    from .store import Store

    try:
        with Store(config.storage_dir) as store:
            daemon, rows = status_mod.collect(config, store)
    except StoreError as exc:
        _fail(str(exc), EXIT_FAILED)
    if as_json is None:
        as_json = not sys.stdout.isatty()
    if as_json:
        click.echo(status_mod.to_json(daemon, rows))
        return
    from . import termview

    out = termview.console()
    zone = ZoneInfo(config.site.timezone)
    out.print(termview.status_table(daemon, rows, zone, out.width))
