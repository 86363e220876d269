"""`aggregator --help` must not import the heavy libraries (they are imported inside the commands).

Start-up time itself is measured in bench/ (never asserted here: machines are noisy); this test
keeps the cause of a slow start from coming back.
"""

from __future__ import annotations

import subprocess
import sys

HEAVY = (
    "httpx",
    "bs4",
    "nh3",
    "feedgen",
    "lxml",
    "pypinyin",
    "yaml",
    "markdown_it",
    "paka.cmark",
    "feedparser",
)

# Runs `--help` of the group and of every command in one fresh interpreter, then lists what loaded.
_PROBE = """
import sys
import aggregator.cli as cli
for argv in [["--help"]] + [[name, "--help"] for name in cli.cli.commands]:
    try:
        cli.cli.main(argv, prog_name="aggregator")
    except SystemExit:
        pass
print("loaded:", " ".join(sorted(m for m in sys.argv[1:] if m in sys.modules)))
"""


def test_help_imports_no_heavy_library() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *HEAVY], capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines()[-1] == "loaded: "
