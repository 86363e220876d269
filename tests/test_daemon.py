"""`aggregator run` as a real subprocess against a local server, with one-second intervals.

Timing assertions are lower bounds only (a request must not come *before* the backoff or
Retry-After allows it); a slow machine can only make them more true. Upper bounds are timeouts.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from httpserver import Reply
from lxml import etree
from newsroom import Newsroom

from aggregator.postfile import parse_post
from aggregator.store import TEMP_PREFIX

GRACE = 5.0


@pytest.fixture
def room() -> Iterator[Newsroom]:
    with Newsroom() as server:
        yield server


class Daemon:
    def __init__(self, config: Path, *args: str) -> None:
        self.log_path = config.parent / "daemon.log"
        self._log = self.log_path.open("w", encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "aggregator", "--config", str(config), "run", *args],
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            cwd=config.parent,
        )

    @property
    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8")

    def wait_for(self, what: Callable[[], bool], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not what():
            if self.process.poll() is not None:
                raise AssertionError(f"daemon exited {self.process.returncode}:\n{self.log}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; log so far:\n{self.log}")
            time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = GRACE + 5) -> int:
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self._log.close()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._log.close()


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    yield started
    for daemon in started:
        daemon.kill()


def start(daemons: list[Daemon], config: Path, *args: str) -> Daemon:
    daemon = Daemon(config, *args)
    daemons.append(daemon)
    return daemon


def posts(root: Path) -> list[str]:
    folder = root / "storage" / "_posts"
    return sorted(p.name for p in folder.glob("*.md")) if folder.is_dir() else []


def assert_every_file_whole(storage: Path) -> None:
    """Every post parses, every feed is well-formed XML, no temp file is left in the site."""
    for path in storage.rglob("*"):
        if ".aggregator" in path.parts or not path.is_file():
            continue
        assert not path.name.startswith(TEMP_PREFIX), path
        if path.suffix == ".md":
            parse_post(path.read_bytes(), path.name, lambda body: body)
        elif path.suffix == ".xml":
            etree.fromstring(path.read_bytes())


def source_lines(log: str) -> list[str]:
    """`source=… new=… …` lines without their timestamp and level."""
    return [line.split(" ", 2)[2] for line in log.splitlines() if " source=room new=" in line]


def test_new_items_appear_and_sigterm_exits_0(room: Newsroom, tmp_path: Path, daemons) -> None:
    room.add(2)
    daemon = start(daemons, room.config(tmp_path))
    daemon.wait_for(lambda: len(posts(tmp_path)) == 2)
    room.add(1)
    daemon.wait_for(lambda: len(posts(tmp_path)) == 3)
    assert daemon.stop() == 0
    log = daemon.log
    lines = source_lines(log)
    assert lines[0].startswith("source=room new=2 changed=0 unchanged=0 status=ok ms=")
    assert any(
        line.startswith("source=room new=1 changed=0 unchanged=2 status=ok") for line in lines
    )
    assert "interval under a minute" in log.splitlines()[0]
    assert log.splitlines()[-1].endswith("info daemon stopped")
    assert_every_file_whole(tmp_path / "storage")
    assert (tmp_path / "storage" / "feed" / "room.xml").is_file()


def test_failing_source_backs_off_and_recovers(room: Newsroom, tmp_path: Path, daemons) -> None:
    room.add(1)
    room.script(Reply(500), Reply(500))
    room.hold_from = 4  # the pass after the recovery waits, so the status below sees the third
    config = room.config(tmp_path, interval="0.5s")
    daemon = start(daemons, config)
    daemon.wait_for(lambda: "status=ok" in daemon.log)
    lines = source_lines(daemon.log)
    assert [line.split(" status=")[1].split(" ")[0] for line in lines[:3]] == [
        "error",
        "error",
        "ok",
    ]
    assert 'error="' + room.list_url + ': HTTP 500 Internal Server Error"' in lines[0]
    # interval 0.5 s: backoff 1 s then 2 s (+-20% jitter); never earlier
    first, second, third = room.list_times[:3]
    assert second - first >= 1 * 0.8 - 0.05
    assert third - second >= 2 * 0.8 - 0.05
    assert 'reason="backoff after 1 failures"' in daemon.log
    assert 'reason="backoff after 2 failures"' in daemon.log

    status = subprocess.run(
        [sys.executable, "-m", "aggregator", "--config", str(config), "status", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    payload = json.loads(status.stdout)
    assert payload["daemon"] == {"running": True, "pid": daemon.process.pid}
    (row,) = payload["sources"]
    assert row["consecutive_failures"] == 0
    assert row["last_error"] == f"{room.list_url}: HTTP 500 Internal Server Error"
    assert row["last_outcome"] == "new"
    assert row["degraded"] is False
    assert row["fetches"] == 3 and row["not_modified"] == 0 and row["posts"] == 1
    assert row["next_run"] is not None and row["next_run"].endswith("Z")
    room.release()
    assert daemon.stop() == 0


def test_429_retry_after_is_respected(room: Newsroom, tmp_path: Path, daemons) -> None:
    room.add(1)
    room.script(Reply(429, headers={"Retry-After": "2"}))
    daemon = start(daemons, room.config(tmp_path, interval="0.5s"))
    daemon.wait_for(lambda: "status=ok" in daemon.log)
    first, second = room.list_times[:2]
    # Retry-After 2 s wins over the 0.5 s interval and over the backoff (1 s)
    assert second - first >= 2.0 - 0.05
    assert "reason=Retry-After" in daemon.log
    assert daemon.stop() == 0


def test_sigterm_mid_batch_lets_the_source_finish(room: Newsroom, tmp_path: Path, daemons) -> None:
    room.add(4)
    room.text_delay = 0.5  # four bodies, two at a time per host: about a second
    daemon = start(daemons, room.config(tmp_path), "--log-format", "json")
    daemon.wait_for(lambda: bool(room.list_times))
    assert daemon.stop() == 0
    records = [json.loads(line) for line in daemon.log.splitlines()]
    events = [r.get("message") or f"source={r['source']}" for r in records]
    assert events[-4:] == ["stopping", "source=room", "batch done", "daemon stopped"]
    result = records[-3]
    assert {k: result[k] for k in ("level", "new", "changed", "unchanged", "status")} == {
        "level": "info",
        "new": 4,
        "changed": 0,
        "unchanged": 0,
        "status": "ok",
    }
    assert isinstance(result["ms"], int) and result["time"].endswith("Z")
    assert records[-4]["signal"] == "SIGTERM"
    assert len(posts(tmp_path)) == 4
    assert_every_file_whole(tmp_path / "storage")


def test_grace_expiry_abandons_the_batch_and_still_exits_0(
    room: Newsroom, tmp_path: Path, daemons
) -> None:
    room.add(6)
    room.text_delay = 1.5
    daemon = start(daemons, room.config(tmp_path, grace="1s"))
    daemon.wait_for(lambda: bool(room.list_times))
    assert daemon.stop(timeout=10) == 0
    assert "abandoning the batch in flight" in daemon.log
    assert_every_file_whole(tmp_path / "storage")


def test_manual_fetch_while_the_daemon_runs(room: Newsroom, tmp_path: Path, daemons) -> None:
    room.add(3)
    config = room.config(tmp_path, interval="2s")
    daemon = start(daemons, config)
    daemon.wait_for(lambda: "batch done" in daemon.log)
    command = [sys.executable, "-m", "aggregator", "--config", str(config)]
    fetched = subprocess.run([*command, "fetch", "--wait", "30"], capture_output=True, text=True)
    assert fetched.returncode == 0, fetched.stderr
    assert fetched.stdout.startswith("room: 0 new, 0 changed, 3 unchanged (")
    second = subprocess.run([*command, "run"], capture_output=True, text=True, timeout=20)
    assert second.returncode == 1
    assert second.stderr == (
        f"aggregator: a daemon (pid {daemon.process.pid}) already runs on {tmp_path / 'storage'}\n"
    )
    assert daemon.stop() == 0
    assert len(posts(tmp_path)) == 3
    assert_every_file_whole(tmp_path / "storage")


@pytest.mark.skipif(not hasattr(os, "getpgid"), reason="POSIX signals")
def test_second_signal_exits_at_once(room: Newsroom, tmp_path: Path, daemons) -> None:
    room.add(4)
    room.text_delay = 2.0
    daemon = start(daemons, room.config(tmp_path, grace="30s"))
    daemon.wait_for(lambda: bool(room.list_times))
    daemon.process.send_signal(signal.SIGTERM)
    daemon.wait_for(lambda: "stopping signal=SIGTERM" in daemon.log)
    assert daemon.stop(signal.SIGINT, timeout=10) == 0
    assert "second signal" in daemon.log
    assert_every_file_whole(tmp_path / "storage")
