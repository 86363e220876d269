"""The README stays true to the program: every command is in its commands table (with exit codes)
and has help text, the quick start is what CI runs, and every runtime dependency says why."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import click

from aggregator.cli import cli

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def table_rows(header: str) -> list[list[str]]:
    """The cells of the Markdown table that starts with `header` (its first line)."""
    lines = README[README.index(header) :].splitlines()[2:]
    rows = []
    for line in lines:
        if not line.startswith("|"):
            break
        cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
        rows.append([cell.strip() for cell in cells])
    return rows


def test_every_command_has_help_and_a_row_in_the_readme_table() -> None:
    rows = table_rows("| command | does | exit |")
    documented = [re.match(r"`aggregator ([a-z-]+)", row[0]) for row in rows]
    names = [m.group(1) for m in documented if m]
    assert sorted(names) == sorted(cli.commands)  # each once, none missing, none stale
    for row in rows:
        assert row[1] and re.match(r"0\b", row[2]), row  # what it does; exit codes from 0
    ctx = click.Context(cli, info_name="aggregator")
    for name, command in cli.commands.items():
        assert command.get_short_help_str(limit=200).strip(), name
        assert command.get_help(ctx).strip(), name


def test_quick_start_is_first_and_is_what_ci_runs() -> None:
    blocks = re.findall(r"```sh\n(.*?)\n```", README, re.S)
    assert blocks[0] == (
        "python3 -m venv .venv && .venv/bin/pip install -q . && .venv/bin/aggregator fetch"
    )
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert blocks[1] in ci
    assert re.findall(r"^## (.+)$", README, re.M)[0] == "Quick start"


def test_every_runtime_dependency_is_in_the_design_notes_table() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = {re.split(r"[<>=!~ \[]", dep)[0].lower() for dep in project["dependencies"]}
    listed = set()
    for package, used_in, why in table_rows("| package | used in | why |"):
        assert used_in and why, package
        listed |= {name.split()[0].lower() for name in package.split("+")}
    assert wanted <= listed, sorted(wanted - listed)
