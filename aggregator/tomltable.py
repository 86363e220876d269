"""A parsed TOML table that knows its key path, so every config error names the exact key.

    t = TomlTable(data, "sources[1]")
    t.only("name", "url")              # unknown key -> `sources[1].nmae: unknown key (did you mean 'name'?)`
    t.string("name", required=True)    # wrong type -> `sources[1].name: expected a string, got integer`

Knows nothing about the aggregator's sections: configsections.py and configsources.py do.
"""

from __future__ import annotations

import difflib
from typing import Any, TypeVar, cast

from .errors import ConfigError

__all__ = ["TomlTable", "type_name"]

T = TypeVar("T")


def type_name(value: object) -> str:
    """The TOML name of a parsed value's type, for "expected ..., got ..." messages."""
    names = {
        str: "string",
        bool: "boolean",
        int: "integer",
        float: "number",
        list: "array",
        dict: "table",
    }
    return names.get(type(value), type(value).__name__)


class TomlTable:
    """A TOML table with its key path, so every error can name the exact key."""

    def __init__(self, data: object, prefix: str) -> None:
        if not isinstance(data, dict):
            raise ConfigError(prefix, f"expected a table, got {type_name(data)}")
        self.data: dict[str, Any] = data
        self.prefix = prefix

    def path(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def __contains__(self, key: str) -> bool:
        return key in self.data

    def keys(self) -> list[str]:
        return list(self.data)

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def only(self, *allowed: str) -> None:
        for key in self.data:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ConfigError(self.path(key), f"unknown key{hint}")

    def _typed(
        self, key: str, kind: type[T] | tuple[type, ...], what: str, required: bool
    ) -> T | None:
        if key not in self.data:
            if required:
                raise ConfigError(self.path(key), "required key is missing")
            return None
        value = self.data[key]
        # bool is an int in Python; a TOML boolean is never a valid number here
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise ConfigError(self.path(key), f"expected {what}, got {type_name(value)}")
        return cast(T, value)

    def string(self, key: str, required: bool = False) -> str | None:
        value = self._typed(key, str, "a string", required)
        if required and value is not None and not value.strip():
            raise ConfigError(self.path(key), "must not be empty")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self._typed(key, bool, "true or false", False)
        return default if value is None else value

    def integer(self, key: str, *, default: int, low: int, high: int) -> int:
        value = self._typed(key, int, "an integer", False)
        return default if value is None else self._in_range(key, value, low, high)

    def number(self, key: str, default: float, low: float, high: float) -> float:
        value = self._typed(key, (int, float), "a number", False)
        return default if value is None else float(self._in_range(key, value, low, high))

    def _in_range(self, key: str, value: Any, low: float, high: float) -> Any:
        if not low <= value <= high:
            raise ConfigError(self.path(key), f"{value} is out of range [{low}, {high}]")
        return value

    def table(self, key: str, required: bool = False) -> TomlTable:
        if key not in self.data:
            if required:
                raise ConfigError(self.path(key), "required table is missing")
            return TomlTable({}, self.path(key))
        return TomlTable(self.data[key], self.path(key))

    def array_of_tables(self, key: str) -> list[Any]:
        value = self.data.get(key, [])
        if not isinstance(value, list):
            raise ConfigError(self.path(key), "expected an array of tables ([[sources]])")
        return value
