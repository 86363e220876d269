"""The publishing commands: `serve`, `import-opml FILE`, `export-opml`.

Heavy modules (starlette, uvicorn, tomlkit) are imported inside the commands, so the rest of the
CLI starts without them.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import click

from .cli import EXIT_FAILED, EXIT_USAGE, _fail, _load, cli
from .config import find_config
from .errors import AggregatorError

SITE_DIR = "_site"  # render.SITE_DIR, without importing jinja2 here


def serve_root(storage_dir: Path) -> Path:
    """`_site/` once the standalone site was built, else the storage dir itself."""
    built = storage_dir / SITE_DIR
    return built if (built / "index.html").is_file() else storage_dir


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="Port."
)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int) -> None:
    """Serve the feeds, OPML and site pages over HTTP, read-only (ETag, 304, gzip)."""
    config = _load(ctx)
    root = serve_root(config.storage_dir)
    if not root.is_dir():
        _fail(
            f"nothing to serve: {root} does not exist (run `aggregator build` first)", EXIT_FAILED
        )
    import uvicorn

    from .serve import SiteFiles, make_app

    unbuilt = root == config.storage_dir  # Jekyll sources there are templates, not pages
    app = make_app(SiteFiles(root, hidden=[config.path], skip_jekyll_sources=unbuilt))
    click.echo(f"serving {root} at http://{host}:{port}/ (Ctrl-C stops)")
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        lifespan="off",
        ws="none",
        server_header=False,
    )


@cli.command("import-opml")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def import_opml(ctx: click.Context, file: Path) -> None:
    """Add every feed of an OPML file as a `type = "feed"` source; comments are kept."""
    from .opml import add_feed_sources, parse_opml

    config_path = find_config(ctx.obj)
    try:
        feeds = parse_opml(file.read_bytes())
    except OSError as exc:
        _fail(f"cannot read {file}: {exc.strerror or exc}", EXIT_USAGE)
        return
    except AggregatorError as exc:
        _fail(f"{file}: {exc}", EXIT_USAGE)
        return
    try:
        text = config_path.read_text(encoding="utf-8")
        new_text, added, skipped = add_feed_sources(text, feeds)
    except FileNotFoundError:
        _fail(f"config file not found: {config_path}", EXIT_USAGE)
        return
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"cannot read {config_path}: {exc}", EXIT_USAGE)
        return
    except AggregatorError as exc:
        _fail(f"{config_path}: {exc}", EXIT_USAGE)
        return
    if added:
        _replace(config_path, new_text.encode("utf-8"))
    click.echo(f"added {len(added)} source(s): {', '.join(added)}" if added else "added none")
    for url in skipped:
        click.echo(f"already configured: {url}")


@cli.command("export-opml")
@click.pass_context
def export_opml(ctx: click.Context) -> None:
    """Print the configured sources as OPML 2.0 (feeds as type="rss", others as links)."""
    from .opml import Outline, build_opml

    config = _load(ctx)
    outlines = [
        Outline(text=s.name, xml_url=url) if s.type == "feed" else Outline(text=s.name, url=url)
        for s in config.sources
        for url in s.urls
    ]
    click.echo(build_opml(config.site.title, outlines).decode("utf-8"), nl=False)


def _replace(path: Path, data: bytes) -> None:
    """Rewrite the config atomically (temp file beside it, then rename), keeping its mode."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        mode = path.stat().st_mode & 0o777
        temp.write_bytes(data)
        os.chmod(temp, mode)
        os.replace(temp, path)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        _fail(f"cannot write {path}: {exc.strerror or exc}", EXIT_FAILED)
