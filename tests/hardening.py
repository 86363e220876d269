"""Helpers of the hardening tests (tests/test_hardening_*.py): sites, CLI runs, the XSS oracle.

Each hardening test is named after the RELIABILITY catalogue item it proves (test_A1_..., test_B3_...)
and uses the catalogue's own input.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import html5lib

DATA = Path(__file__).parent / "data"
FIXED_NOW = "1654041600"  # 2022-06-01 00:00:00 UTC

SITE_HEAD = """
[site]
title = "Hardening"
url = "https://news.example"

[fetch]
deadline = 10
"""


def feed_source(name: str, url: str, **extra: str) -> str:
    lines = [f'name = "{name}"', 'type = "feed"', f'url = "{url}"', "full_text = false"]
    lines += [f"{key} = {value}" for key, value in extra.items()]
    return "\n[[sources]]\n" + "\n".join(lines) + "\n"


def write_site(root: Path, sources: str, *, fetch: str = "allow_private_networks = true") -> Path:
    """A config in `root` whose [fetch] table gets `fetch` lines; returns the config path."""
    head = SITE_HEAD.replace("deadline = 10\n", "") if "deadline" in fetch else SITE_HEAD
    text = head.replace("[fetch]\n", f"[fetch]\n{fetch}\n") + sources
    path = root / "feeds_config.toml"
    path.write_text(text, encoding="utf-8")
    return path


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str
    max_rss_kib: int  # peak resident set of the CLI process in KiB (0 without /proc)


# Runs the CLI and, on the way out, records the process's own peak RSS (VmHWM). The rusage of a
# child is no good here: Linux starts a child's maxrss at its parent's peak (vfork + exec).
_CHILD = """
import atexit, os, runpy, sys
def _report():
    with open('/proc/self/status') as status:
        peak = next(line.split()[1] for line in status if line.startswith('VmHWM:'))
    with open(os.environ['AGGREGATOR_TEST_PEAK_FILE'], 'w') as out:
        out.write(peak)
if os.path.exists('/proc/self/status'):
    atexit.register(_report)
sys.argv = ['aggregator', *sys.argv[1:]]
runpy.run_module('aggregator', run_name='__main__', alter_sys=True)
"""


def run_cli(
    config: Path, *args: str, env: Mapping[str, str] | None = None, timeout: float = 120
) -> Run:
    """`aggregator --config CONFIG ARGS` in a subprocess, with a fixed clock."""
    with tempfile.TemporaryDirectory() as scratch:
        peak_file = Path(scratch) / "peak"
        full_env = {
            **os.environ,
            "SOURCE_DATE_EPOCH": FIXED_NOW,
            "AGGREGATOR_TEST_PEAK_FILE": str(peak_file),
            **(env or {}),
        }
        full_env.pop("AGGREGATOR_CONFIG", None)
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, "--config", str(config), *args],
            capture_output=True,
            env=full_env,
            cwd=config.parent,
            timeout=timeout,
            check=False,
        )
        peak = int(peak_file.read_text()) if peak_file.exists() else 0
    return Run(done.returncode, done.stdout.decode(), done.stderr.decode(), peak)


def tree(root: Path) -> dict[str, str]:
    """Every file under `root` (state folder excluded) -> sha256 of its bytes."""
    files = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not rel.startswith(".aggregator/"):
            files[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


# --- the XSS oracle ----------------------------------------------------------------------------

FORBIDDEN_ELEMENTS = frozenset(
    {"script", "iframe", "object", "embed", "form", "meta", "base", "style", "link", "frame",
     "frameset", "applet", "svg", "math", "input", "button", "textarea", "select", "template"}
)  # fmt: skip
URL_ATTRIBUTES = frozenset(
    {"href", "src", "srcset", "action", "formaction", "poster", "background", "data", "xlink:href",
     "lowsrc", "dynsrc", "cite", "longdesc", "usemap", "ping", "codebase", "archive", "manifest"}
)  # fmt: skip
_IGNORED_IN_URLS = re.compile("[\x00-\x20\x7f]+")  # browsers skip these inside a scheme
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*:")  # WHATWG URL: anything else is a relative URL
SAFE_SCHEMES = ("http:", "https:", "mailto:")
SAFE_DATA_IMAGE = re.compile(r"data:image/(?:png|jpeg|gif|webp)[;,]")


def active_content(fragment: str) -> list[str]:
    """Everything a browser could run or be navigated by in `fragment`, as re-parsed by html5lib.

    Attribute values come back entity-decoded from the parser; TAB/LF/CR and other C0 controls
    are then removed, as browsers do, before the scheme is judged.
    """
    found: list[str] = []
    document = html5lib.parseFragment(fragment, namespaceHTMLElements=False)
    for element in document.iter():
        if not isinstance(element.tag, str):
            continue  # comments
        tag = element.tag.rsplit("}", 1)[-1].lower()
        if tag in FORBIDDEN_ELEMENTS:
            found.append(f"<{tag}>")
        for name, value in element.attrib.items():
            attribute = (name if isinstance(name, str) else name[1]).rsplit("}", 1)[-1].lower()
            if attribute.startswith("on"):
                found.append(f"{tag}[{attribute}]")
            elif attribute == "style":
                found.append(f"{tag}[style]")
            elif attribute in URL_ATTRIBUTES or attribute.endswith("href"):
                url = _IGNORED_IN_URLS.sub("", value).lower()
                if _SCHEME.match(url) and not (
                    url.startswith(SAFE_SCHEMES)
                    or (tag == "img" and attribute == "src" and SAFE_DATA_IMAGE.match(url))
                ):
                    found.append(f"{tag}[{attribute}={value!r}]")
            elif attribute == "srcdoc" or (attribute == "http-equiv"):
                found.append(f"{tag}[{attribute}]")
        if tag == "a" and "href" in element.attrib:
            rel = set(element.attrib.get("rel", "").split())
            if not {"noopener", "noreferrer", "nofollow"} <= rel:
                found.append("a without rel=noopener noreferrer nofollow")
    return found


def load_vectors() -> list[str]:
    """tests/data/xss_vectors.txt: one vector per line; `\\n` stands for a line break."""
    lines = (DATA / "xss_vectors.txt").read_text(encoding="utf-8").splitlines()
    return [
        line.replace("\\n", "\n").replace("\\t", "\t")
        for line in lines
        if line.strip() and not line.startswith("#")
    ]
