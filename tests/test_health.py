"""Source health through `aggregator fetch` and `status` with a fixed clock: permanent redirects,
410 Gone, `--due`, `--wait`, the status JSON field by field, and the schema migration."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from httpserver import Reply
from newsroom import Newsroom

from aggregator import healthdb
from aggregator.cli import cli
from aggregator.lock import writer_lock
from aggregator.store import SCHEMA_VERSION, Store

T0 = 1654041600  # 2022-06-01 00:00:00 UTC
T0_TEXT = "2022-06-01T00:00:00Z"


@pytest.fixture
def room() -> Iterator[Newsroom]:
    with Newsroom() as server:
        yield server


def run(config: Path, *args: str, at: int = T0) -> Result:
    return CliRunner().invoke(
        cli,
        ["--config", str(config), *args],
        env={"SOURCE_DATE_EPOCH": str(at)},
        catch_exceptions=False,
    )


def status(config: Path) -> dict[str, object]:
    result = run(config, "status", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["daemon"] == {"running": False, "pid": None}
    (row,) = payload["sources"]
    return row  # type: ignore[no-any-return]


def test_status_json_field_by_field(room: Newsroom, tmp_path: Path) -> None:
    room.add(2)
    config = room.config(tmp_path, interval="5m")
    assert status(config) == {
        "name": "room",
        "type": "eastmoney",
        "url": room.list_url,
        "urls": [room.list_url],
        "moved": {},
        "enabled": True,
        "disabled_reason": None,
        "degraded": False,
        "last_attempt": None,
        "last_success": None,
        "last_outcome": None,
        "last_error": None,
        "last_error_at": None,
        "consecutive_failures": 0,
        "next_run": None,
        "not_before": None,
        "not_before_reason": None,
        "posts": 0,
        "fetches": 0,
        "not_modified": 0,
        "not_modified_share": None,
        "degraded_reason": None,
    }
    assert run(config, "fetch").exit_code == 0
    room.script(Reply(500))
    assert run(config, "fetch", at=T0 + 60).exit_code == 1
    assert status(config) == {
        "name": "room",
        "type": "eastmoney",
        "url": room.list_url,
        "urls": [room.list_url],
        "moved": {},
        "enabled": True,
        "disabled_reason": None,
        "degraded": False,
        "last_attempt": "2022-06-01T00:01:00Z",
        "last_success": T0_TEXT,
        "last_outcome": "error",
        "last_error": f"{room.list_url}: HTTP 500 Internal Server Error",
        "last_error_at": "2022-06-01T00:01:00Z",
        "consecutive_failures": 1,
        "next_run": None,  # no daemon
        "not_before": status(config)["not_before"],  # jittered backoff, checked below
        "not_before_reason": "backoff after 1 failures",
        "posts": 2,
        "fetches": 2,
        "not_modified": 0,
        "not_modified_share": 0.0,
        "degraded_reason": None,
    }
    not_before = str(status(config)["not_before"])
    # 5 min x 2^1, +-20 %: between 8 and 12 minutes after the failure
    assert "2022-06-01T00:09:00Z" <= not_before <= "2022-06-01T00:13:00Z"


def test_three_failures_mark_a_source_degraded(room: Newsroom, tmp_path: Path) -> None:
    config = room.config(tmp_path)
    room.script(Reply(500), Reply(502), Reply(503))
    for minute in range(3):
        assert run(config, "fetch", at=T0 + 60 * minute).exit_code == 1
    row = status(config)
    assert (row["consecutive_failures"], row["degraded"]) == (3, True)
    room.add(1)
    assert run(config, "fetch", at=T0 + 600).exit_code == 0
    row = status(config)
    assert (row["consecutive_failures"], row["degraded"]) == (0, False)


def test_status_shows_the_canary_verdict_until_a_pass_is_judged_healthy(
    room: Newsroom, tmp_path: Path
) -> None:
    room.add(2)
    config = room.config(tmp_path)
    assert run(config, "fetch").exit_code == 0
    empty = Reply(200, b'{"records": []}', {"Content-Type": "application/json"})
    room.script(empty)
    fetched = run(config, "fetch", at=T0 + 60)
    assert "degraded: no items (the last good pass had 2)" in fetched.output
    verdict = "no items (the last good pass had 2)"
    row = status(config)
    assert (row["degraded"], row["degraded_reason"], row["consecutive_failures"]) == (
        True,
        verdict,
        0,
    )
    wide = {"COLUMNS": "200"}  # the error column is cut to the terminal's width
    table = CliRunner().invoke(cli, ["--config", str(config), "status", "--table"], env=wide)
    assert table.exit_code == 0
    (line,) = [line for line in table.output.splitlines() if "│ room " in line]
    cells = [cell.strip() for cell in line.strip(" │").split("│")]
    assert (cells[8], cells[-1]) == ("degraded", f"degraded: {verdict}")  # state, last error
    room.script(Reply(500))  # a failed fetch says nothing about the items: the verdict stays
    assert run(config, "fetch", at=T0 + 120).exit_code == 1
    assert (status(config)["degraded"], status(config)["degraded_reason"]) == (True, verdict)
    assert run(config, "fetch", at=T0 + 600).exit_code == 0  # the list is back
    assert (status(config)["degraded"], status(config)["degraded_reason"]) == (False, None)


def test_permanent_redirect_moves_the_url_after_three_fetches(
    room: Newsroom, tmp_path: Path
) -> None:
    room.add(1)
    old = f"{room.url}/old-list"
    config = room.config(tmp_path, url=old)
    for n in range(3):
        assert run(config, "fetch", at=T0 + n).exit_code == 0
        assert status(config)["url"] == (old if n < 2 else room.list_url)
    row = status(config)
    assert row["moved"] == {old: room.list_url}
    assert row["urls"] == [room.list_url]
    room.old_status = 500  # the old URL is not asked any more
    assert run(config, "fetch", at=T0 + 10).exit_code == 0
    assert len(room.list_times) == 4


@pytest.mark.parametrize("sequence", [(302, 302, 302, 307), (301, 301, 302, 301, 301)])
def test_temporary_redirects_are_never_stored(
    room: Newsroom, tmp_path: Path, sequence: tuple[int, ...]
) -> None:
    room.add(1)
    old = f"{room.url}/old-list"
    config = room.config(tmp_path, url=old)
    for n, code in enumerate(sequence):
        room.old_status = code
        assert run(config, "fetch", at=T0 + n).exit_code == 0
    assert status(config)["moved"] == {}
    assert status(config)["url"] == old


def test_410_disables_until_the_config_changes(room: Newsroom, tmp_path: Path) -> None:
    room.add(2)
    config = room.config(tmp_path)
    assert run(config, "fetch").exit_code == 0
    room.script(Reply(410))
    gone = run(config, "fetch", at=T0 + 60)
    assert gone.exit_code == 1
    assert gone.output.startswith(f"room: error: {room.list_url}: HTTP 410 Gone (")
    skipped = run(config, "fetch", at=T0 + 120)
    assert skipped.exit_code == 0
    assert skipped.output == (
        "room: skipped: disabled: HTTP 410 Gone at 2022-06-01T00:01:00Z;"
        " change its config to re-enable (0 ms)\n"
    )
    assert len(room.list_times) == 2  # nothing was requested
    row = status(config)
    assert (row["enabled"], row["degraded"]) == (False, True)
    assert row["disabled_reason"] == "HTTP 410 Gone at 2022-06-01T00:01:00Z"
    assert row["posts"] == 2  # its posts stay
    # any change of the source's config re-enables it
    config.write_text(config.read_text(encoding="utf-8").replace('"1s"', '"2s"'), "utf-8")
    again = run(config, "fetch", at=T0 + 180)
    assert again.exit_code == 0 and again.output.startswith("room: 0 new, 0 changed, 2 unchanged")
    assert status(config)["enabled"] is True


def test_fetch_due_waits_for_the_interval_and_the_backoff(room: Newsroom, tmp_path: Path) -> None:
    room.add(1)
    config = room.config(tmp_path, interval="5m")
    assert run(config, "fetch", "--due").output.startswith("room: 1 new")
    early = run(config, "fetch", "--due", at=T0 + 60)
    assert early.output == "room: skipped: not due until 2022-06-01T00:05:00Z (0 ms)\n"
    assert run(config, "fetch", "--due", at=T0 + 300).output.startswith("room: 0 new")
    room.script(Reply(429, headers={"Retry-After": "3600"}))
    assert run(config, "fetch", "--due", at=T0 + 600).exit_code == 1
    waiting = run(config, "fetch", "--due", at=T0 + 1200)
    assert waiting.output == (
        "room: skipped: not before 2022-06-01T01:10:00Z (Retry-After) (0 ms)\n"
    )
    assert run(config, "fetch", at=T0 + 1200).output.startswith("room: 0 new")  # manual: fetches


def test_fetch_waits_for_the_writer_lock_then_names_the_holder(
    room: Newsroom, tmp_path: Path
) -> None:
    config = room.config(tmp_path)
    with writer_lock(tmp_path / "storage").acquire():
        result = run(config, "fetch", "--wait", "0.3")
    assert result.exit_code == 1
    assert result.output == (
        f"aggregator: another aggregator (pid {os.getpid()}) is writing to "
        f"{tmp_path / 'storage'}; gave up after 0.3 s (see --wait)\n"
    )
    assert room.list_times == []
    assert run(config, "fetch").exit_code == 0  # released


def test_schema_1_state_is_migrated_and_kept(tmp_path: Path) -> None:
    state = tmp_path / ".aggregator" / "state.sqlite"
    state.parent.mkdir()
    with sqlite3.connect(state) as db:
        db.executescript(
            """
            CREATE TABLE validators (scope TEXT NOT NULL, url TEXT NOT NULL, etag TEXT,
                last_modified TEXT, PRIMARY KEY (scope, url));
            CREATE TABLE slugs (name TEXT PRIMARY KEY, slug TEXT NOT NULL);
            CREATE TABLE seen (source TEXT NOT NULL, key TEXT NOT NULL, filename TEXT NOT NULL,
                first_seen TEXT NOT NULL, PRIMARY KEY (source, key));
            INSERT INTO validators VALUES ('em', 'http://x/list', '"e1"', NULL);
            INSERT INTO slugs VALUES ('人民邮电报', 'renminyoudianbao');
            INSERT INTO seen VALUES ('eastmoney', 'NW1', '2022-06-01-NW1.md',
                '2022-06-01T00:00:00+00:00');
            PRAGMA user_version = 1;
            """
        )
    db.close()
    with Store(tmp_path) as store:
        assert store.slug_map() == {"人民邮电报": "renminyoudianbao"}
        assert store.seen("eastmoney", "NW1") is not None
        assert store.load_validators("em")["http://x/list"].etag == '"e1"'
        with store.state() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert version == SCHEMA_VERSION >= 3
    assert {"source_health", "source_redirects"} <= tables


def test_schema_5_health_gets_the_canary_column_and_keeps_its_rows(tmp_path: Path) -> None:
    with Store(tmp_path) as store, store.state():
        pass  # a current state, taken back to schema 5 below
    state = tmp_path / ".aggregator" / "state.sqlite"
    with sqlite3.connect(state) as db:
        db.executescript(
            """
            ALTER TABLE source_health DROP COLUMN degraded_reason;
            INSERT INTO source_health (source, failures, last_outcome) VALUES ('em', 2, 'error');
            PRAGMA user_version = 5;
            """
        )
    db.close()
    with Store(tmp_path) as store, store.state() as conn:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        health = healthdb.load(conn, "em")
    assert version == SCHEMA_VERSION >= 6
    assert health == healthdb.Health("em", last_outcome="error", failures=2)
