"""JSON (or JSONP) text -> data, and dotted paths into it (`data.list`, `items.0.url`)."""

from __future__ import annotations

import json
import re

__all__ = ["dig", "load_json", "scalar_text", "valid_path"]

_JSONP = re.compile(r"[A-Za-z_$][\w$.]*\s*\((.*)\)\s*;?", re.DOTALL)
_SEGMENT = re.compile(r"[^.\s]+")


def load_json(text: str) -> object:
    """JSON or JSONP (`callback({...});`); raw control characters inside strings are accepted.

    Any failure is a ValueError with a one-line reason.
    """
    text = text.strip()
    if not text.startswith(("{", "[")) and (match := _JSONP.fullmatch(text)):
        text = match.group(1)
    try:
        return json.loads(text, strict=False)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON: {exc.msg} at line {exc.lineno}") from None


def valid_path(path: str) -> bool:
    """ "" (the document itself) or dot-separated non-empty names / list indexes."""
    return path == "" or all(_SEGMENT.fullmatch(part) for part in path.split("."))


def dig(data: object, path: str) -> object:
    """The value at `path`, or None when any step is missing."""
    if path == "":
        return data
    for part in path.split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def scalar_text(value: object) -> str | None:
    """A string or number as stripped text; None for anything else or blank."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None
