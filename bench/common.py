"""Shared bench helpers: run a command as a subprocess with its time and peak RSS, write configs,
format result lines.

Every benchmark measures the real `aggregator` CLI (the console script of this interpreter's venv)
and its reference in the same run, on the same machine, and reports a `Target` line per goal.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
FIXED_EPOCH = "1735689600"  # 2025-01-01T00:00:00Z: every run writes the same bytes


@dataclass(frozen=True)
class Run:
    """One finished subprocess."""

    seconds: float
    peak_rss_mb: float  # the child's own peak (getrusage of that child via wait4)
    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Target:
    """One line of the report: a figure against its target; passed None means skipped."""

    name: str
    figure: str
    reference: str
    passed: bool | None
    note: str = ""

    def line(self) -> str:
        verdict = "SKIP" if self.passed is None else "PASS" if self.passed else "FAIL"
        text = f"{verdict:4}  {self.name}: {self.figure} | {self.reference}"
        return text + (f"  ({self.note})" if self.note else "")


def aggregator_cmd() -> list[str]:
    """The installed console script next to this interpreter, else `python -m aggregator`
    (with its modules compiled, as an installed package's are)."""
    _compile_package()
    script = Path(sys.executable).parent / "aggregator"
    return [str(script)] if script.exists() else [sys.executable, "-m", "aggregator"]


@functools.cache
def _compile_package() -> None:
    """Write the package's bytecode once: an editable install run with PYTHONDONTWRITEBYTECODE
    set (as on the bench machine) would compile every module again in every process."""
    import compileall

    import aggregator

    compileall.compile_dir(Path(aggregator.__file__).parent, quiet=1)


def run(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> Run:
    """Run `argv`, return wall time and the child's peak RSS (ru_maxrss, KiB on Linux)."""
    full_env = {**os.environ, "SOURCE_DATE_EPOCH": FIXED_EPOCH, **(env or {})}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        child = subprocess.Popen(argv, cwd=cwd, env=full_env, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        result = Run(
            seconds,
            usage.ru_maxrss / 1024,
            child.returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
        )
    if check and result.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(argv)} exited {result.returncode}:\n{result.stderr[-2000:]}")
    return result


def best_of(times: int, argv: Sequence[str], **kwargs: object) -> Run:
    """The fastest of `times` runs (the least disturbed by other load)."""
    runs = [run(argv, **kwargs) for _ in range(times)]  # type: ignore[arg-type]
    return min(runs, key=lambda r: r.seconds)


# Bench directories are removed when the run is over, not after their own bench: a file system
# that skips recently freed inodes when it allocates new ones (ext4 without a journal, as on this
# bench machine, does for minutes after a removal) creates files up to 20x slower right after
# thousands were removed (measured: 33 us -> 900 us per file), and that would be charged to
# the next measurement.
_REMOVE_AT_EXIT: list[Path] = []


@contextmanager
def workdir(name: str) -> Iterator[Path]:
    """A fresh temporary directory, removed when the process exits (BENCH_KEEP=1 keeps it)."""
    path = Path(tempfile.mkdtemp(prefix=f"aggregator-bench-{name}-"))
    if not _REMOVE_AT_EXIT:
        atexit.register(_remove_workdirs)
    _REMOVE_AT_EXIT.append(path)
    yield path


def _remove_workdirs() -> None:
    for path in _REMOVE_AT_EXIT:
        if os.environ.get("BENCH_KEEP"):
            print(f"  kept {path}", file=sys.stderr)
        else:
            shutil.rmtree(path, ignore_errors=True)


def write_config(path: Path, sources: str, *, entries: int = 50, storage: str = "site") -> Path:
    """A feeds_config.toml for a bench: local servers allowed, `sources` appended verbatim."""
    path.write_text(
        f"""[site]
title = "Bench"
url = "https://bench.example.org"
timezone = "Asia/Shanghai"

[storage]
dir = "{storage}"

[feeds]
entries = {entries}

[fetch]
allow_private_networks = true

{sources}""",
        encoding="utf-8",
    )
    return path


def tool(name: str) -> str | None:
    return shutil.which(name)


def log(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def seconds(value: float) -> str:
    return f"{value:.2f} s" if value >= 0.1 else f"{value * 1000:.0f} ms"
