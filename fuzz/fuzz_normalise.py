"""Coverage-guided fuzzing of the HTML normaliser with atheris (optional; CI does not run it).

    pip install atheris
    python fuzz/fuzz_normalise.py -max_len=4096 -runs=1000000 fuzz/corpus

Every input goes through `clean_html`, `sanitise_html` and `render_body`. A crash is any
exception, or output that the XSS oracle of the tests (tests/hardening.py: html5lib re-parse, no
script, handler, script URL or embedding) finds active. Seed the corpus with
tests/data/xss_vectors.txt (one file per line) for a quick start.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

with atheris.instrument_imports():
    from hardening import active_content

    from aggregator import normalise


def test_one_input(data: bytes) -> None:
    html = atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(len(data))
    for sanitise in (normalise.clean_html, normalise.sanitise_html, normalise.render_body):
        found = active_content(sanitise(html))
        if found:
            raise AssertionError(f"{sanitise.__name__} let through {found} from {html!r}")


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
