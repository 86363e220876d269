"""The exception tree.

    AggregatorError
     +-- ConfigError          bad config file or key (CLI exit 2)
     +-- SourceError          one source failed; recorded in the run report, never stops the run
     |    +-- FetchError      network, HTTP status, size, deadline, SSRF policy
     |    +-- ExtractError    the response is not what the adapter expected
     +-- StoreError           the storage dir or its state cannot be read or written
     +-- FeedError            a feed cannot be generated

Expected I/O problems become one of these; anything else is a bug and propagates.
"""

from __future__ import annotations

from collections.abc import Mapping


class AggregatorError(Exception):
    """Base class of every error the aggregator raises on purpose."""


class ConfigError(AggregatorError):
    """The configuration is invalid; the message starts with the key path."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        self.detail = message
        super().__init__(f"{key}: {message}" if key else message)


class SourceError(AggregatorError):
    """A source could not be fetched or understood."""


class FetchError(SourceError):
    """The HTTP request failed or was refused by policy.

    `status` and `headers` (lower-cased names) are set when the server answered with an error
    status, so the scheduler can honour Retry-After and 410 Gone.
    """

    def __init__(
        self,
        url: str,
        message: str,
        *,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.url = url
        self.status = status
        self.headers: Mapping[str, str] = headers or {}
        super().__init__(message)


class BlockedAddressError(FetchError):
    """The SSRF guard refused an address before any request was sent."""


class ExtractError(SourceError):
    """The response was fetched but could not be turned into items."""


class StoreError(AggregatorError):
    """The storage dir or its SQLite state could not be used."""


class FeedError(AggregatorError):
    """A feed could not be generated."""
