"""httpx, imported without its command-line client.

httpx's `__init__` imports its CLI (`httpx._main`: click, rich.progress, rich.syntax, pygments)
whenever those are installed, as they are beside the aggregator (rich is ours): ~60 ms of every
`fetch`, for a client this process never runs. A stand-in takes that module's place before httpx
is first imported, so `httpx.main` only says it is not there. Every module of the aggregator
that uses httpx imports it from here.
"""

from __future__ import annotations

import sys
import types

__all__ = ["httpx"]

if "httpx" not in sys.modules and "httpx._main" not in sys.modules:
    _cli = types.ModuleType("httpx._main", "Stand-in: see aggregator.httpxlib.")

    def _main() -> None:
        raise SystemExit("httpx's command-line client is not loaded by the aggregator")

    _cli.main = _main  # type: ignore[attr-defined]
    sys.modules["httpx._main"] = _cli

import httpx  # (after the stand-in)
