"""On a terminal `fetch` shows a progress bar and a summary table and `status` a table; piped,
they print plain lines and JSON (the other tests pipe)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from newsroom import Newsroom

pty = pytest.importorskip("pty", reason="needs a POSIX pseudo-terminal")


@pytest.fixture
def room() -> Iterator[Newsroom]:
    with Newsroom() as server:
        yield server


def on_terminal(*args: str, cwd: Path) -> tuple[int, str]:
    """Run `aggregator ARGS` with stdout on a pseudo-terminal 160 columns wide."""
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "160", "LINES": "40", "TERM": "xterm", "NO_COLOR": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "aggregator", *args],
        stdout=follower,
        stderr=subprocess.DEVNULL,
        cwd=cwd,
        env=env,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    code = process.wait(timeout=30)
    return code, b"".join(chunks).decode("utf-8", "replace")


def test_fetch_on_a_terminal_shows_a_summary_table(room: Newsroom, tmp_path: Path) -> None:
    room.add(2)
    room.config(tmp_path)
    code, out = on_terminal("fetch", cwd=tmp_path)
    assert code == 0
    assert "fetch summary" in out
    row = next(line for line in out.splitlines() if "│ room" in line)
    assert [cell.strip() for cell in row.strip("│ \r").split("│")][:4] == ["room", "2", "0", "0"]
    assert "room: 2 new" not in out  # the plain line is for pipes
    assert "feeds written: " in out

    code, out = on_terminal("status", cwd=tmp_path)
    assert code == 0
    assert "aggregator status · daemon not running" in out
    assert "│ room " in out and "│ eastmoney " in out
