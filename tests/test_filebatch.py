"""Published files written in a batch (Store.file_batch, filebatch): the bytes of one-by-one
writes, in place when the block ends (also after an error), nothing staged left behind, no
thread left running, a bounded number of bytes waiting for the helper thread."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from aggregator import filebatch
from aggregator.atomicfile import Staged
from aggregator.errors import StoreError
from aggregator.filebatch import FileBatch
from aggregator.store import TEMP_PREFIX, Store


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob(f"{TEMP_PREFIX}*") if ".aggregator" not in p.parts]


def test_files_written_in_a_batch_are_in_place_when_it_ends(tmp_path: Path) -> None:
    (tmp_path / "feed.xml").write_bytes(b"same")
    with Store(tmp_path) as store, store.file_batch():
        assert store.write_file("feed/a.xml", b"first") is True
        assert store.write_file("feed.xml", b"same") is False  # unchanged bytes: not written
        assert store.has_file("feed/a.xml")  # written counts as there
        assert store.write_file("feed/a.xml", b"second") is True  # the first is put in place
        assert (tmp_path / "feed" / "a.xml").read_bytes() == b"first"
        assert store.write_file("feed/a.xml", b"second") is False  # compared with the second
    assert (tmp_path / "feed" / "a.xml").read_bytes() == b"second"
    assert (tmp_path / "feed.xml").read_bytes() == b"same"
    assert temp_files(tmp_path) == []
    assert threading.active_count() == 1


def test_an_error_in_the_block_still_puts_the_written_files_in_place(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), Store(tmp_path) as store, store.file_batch():
        store.write_file("feed/b.xml", b"kept")
        raise RuntimeError("stop")
    assert (tmp_path / "feed" / "b.xml").read_bytes() == b"kept"
    assert temp_files(tmp_path) == []
    assert threading.active_count() == 1


def test_files_are_committed_in_groups_in_the_order_written(tmp_path: Path) -> None:
    batch = FileBatch(limit=2)
    for number in range(1, 6):
        batch.add(tmp_path / f"{number}.xml", f"page {number}".encode())
    assert tmp_path / "5.xml" in batch
    batch.commit()
    assert tmp_path / "5.xml" not in batch
    assert [(tmp_path / f"{n}.xml").read_text() for n in range(1, 6)] == [
        f"page {n}" for n in range(1, 6)
    ]
    batch.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{n}.xml" for n in range(1, 6)]
    assert threading.active_count() == 1


def test_a_failed_file_stops_the_batch_and_is_raised(tmp_path: Path) -> None:
    batch = FileBatch(limit=10)
    batch.add(tmp_path / "1.xml", b"one")
    batch.add(tmp_path / "missing" / "2.xml", b"two")  # its directory does not exist
    batch.add(tmp_path / "3.xml", b"three")
    with pytest.raises(StoreError, match=r"2\.xml"):
        batch.commit()
    batch.close()
    assert (tmp_path / "1.xml").read_bytes() == b"one"  # the file before it is in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1.xml"]  # nothing after it


def test_the_bytes_given_ahead_of_the_helper_thread_are_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(filebatch, "MAX_QUEUED", 10)
    gate = threading.Event()
    stage = filebatch.stage

    def held(path: Path, data: bytes) -> Staged:
        gate.wait()
        return stage(path, data)

    monkeypatch.setattr(filebatch, "stage", held)
    batch = FileBatch()
    added: list[int] = []

    def write() -> None:
        for number in range(4):
            batch.add(tmp_path / f"{number}.xml", b"123456")
            added.append(number)

    writer = threading.Thread(target=write)
    writer.start()
    writer.join(0.3)
    assert writer.is_alive() and added == [0, 1]  # 12 bytes queued: the third waits
    gate.set()
    writer.join()
    batch.commit()
    batch.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{n}.xml" for n in range(4)]
