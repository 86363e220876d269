"""WebSub (W3C): tell the hub which feeds changed, so subscribers get them without polling.

After a rebuild that changed feeds, one `hub.mode=publish` POST names them all (`hub.url` once
per topic, the form hubs such as the reference hub and Superfeedr accept). The hub is the
operator's own configured endpoint, so it is reached directly, without the source fetcher's
private-network guard. A failed ping is logged and never fails the run: subscribers still poll.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlencode

if TYPE_CHECKING:
    import httpx

__all__ = ["PING_TIMEOUT", "ping_hub"]

log = logging.getLogger(__name__)
PING_TIMEOUT = 10.0


def ping_hub(
    hub: str, topics: Sequence[str], *, transport: httpx.BaseTransport | None = None
) -> str | None:
    """Ping `hub` about `topics`; returns None on success, else the one-line reason (logged)."""
    if not topics:
        return None
    from .httpxlib import httpx  # here: every `build` imports this module, few ping

    form = [("hub.mode", "publish"), *(("hub.url", topic) for topic in topics)]
    try:
        with httpx.Client(timeout=PING_TIMEOUT, transport=transport) as client:
            response = client.post(
                hub,
                content=urlencode(form),
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
    except httpx.HTTPError as exc:
        reason = f"websub: {hub}: {exc or type(exc).__name__}"
    else:
        if 200 <= response.status_code < 300:
            return None
        reason = f"websub: {hub}: HTTP {response.status_code}"
    log.warning("%s", reason)
    return reason
