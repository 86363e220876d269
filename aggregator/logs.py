"""Structured log lines for the daemon: `key=value` text or one JSON object per line.

    2025-06-01T08:00:00Z info source=em-rolling new=3 changed=1 unchanged=96 status=ok ms=2140
    {"time": "2025-06-01T08:00:00Z", "level": "info", "source": "em-rolling", "new": 3, ...}

Modules log through `event(name_or_message, **fields)`; the fields ride on the record, so both
formats show the same values. Until `configure` is called (the daemon does) nothing is printed:
`aggregator fetch` keeps its own plain output.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import IO, Any, Literal

from .models import SourceResult

LOGGER = "aggregator"
LogFormat = Literal["text", "json"]

logging.getLogger(LOGGER).addHandler(logging.NullHandler())  # no stderr fallback for `fetch`


def event(message: str, *, level: int = logging.INFO, **fields: Any) -> None:
    """Log `message` with `fields` (`key=value` pairs in text, keys in JSON)."""
    logging.getLogger(LOGGER).log(level, message, extra={"fields": fields})


def source_fields(result: SourceResult) -> dict[str, Any]:
    """The one-line-per-source fields: source, new, changed, unchanged, status, ms[, error]."""
    status = {"new": "ok", "changed": "ok", "unchanged": "ok"}.get(result.outcome, result.outcome)
    if result.outcome == "error" and (result.new or result.changed or result.unchanged):
        status = "partial"
    fields: dict[str, Any] = {
        "source": result.source,
        "new": result.new,
        "changed": result.changed,
        "unchanged": result.unchanged,
        "status": status,
        "ms": result.elapsed_ms,
    }
    if result.error:
        fields["reason" if result.outcome == "skipped" else "error"] = result.error
    return fields


class _Formatter(logging.Formatter):
    def __init__(self, style: LogFormat) -> None:
        super().__init__()
        self.style = style

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        level = record.levelname.lower()
        fields: dict[str, Any] = dict(getattr(record, "fields", {}))
        message = record.getMessage()
        if record.exc_info:  # a bug: keep the traceback, but on the record's own lines
            fields["traceback"] = self.formatException(record.exc_info)
        if self.style == "json":
            payload = {"time": when, "level": level}
            if message:
                payload["message"] = message
            payload.update(fields)
            return json.dumps(payload, ensure_ascii=False, default=str)
        parts = [when, level]
        if message:
            parts.append(message)
        parts += [f"{key}={_text_value(value)}" for key, value in fields.items()]
        return " ".join(parts)


def _text_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if text and not any(ch in text for ch in ' "=\n\t\\'):
        return text
    return json.dumps(text, ensure_ascii=False)


def configure(style: LogFormat = "text", stream: IO[str] | None = None) -> logging.Handler:
    """Send our records and APScheduler's warnings (missed runs, skipped overlaps) to `stream`."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(_Formatter(style))
    ours = logging.getLogger(LOGGER)
    ours.setLevel(logging.INFO)
    ours.addHandler(handler)
    library = logging.getLogger("apscheduler")
    library.setLevel(logging.WARNING)
    library.addHandler(handler)
    library.propagate = False
    return handler
