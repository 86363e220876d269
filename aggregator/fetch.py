"""The one HTTP client of a run: conditional GET, limits, our own redirects, the SSRF guard.

httpx is used for framing only. We add what its defaults leave out: a wall-clock deadline per
request (its timeouts measure inactivity), a cap on the *decoded* body (it decompresses without
bounds), redirect handling that re-checks every hop, and conditional GET.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata
import threading
import time
import zlib
from collections.abc import Callable, Mapping, MutableMapping
from types import TracebackType

import httpcore

from aggregator.errors import BlockedAddressError, FetchError
from aggregator.hostlimit import HostLimiter, host_of
from aggregator.httpxlib import httpx
from aggregator.models import FetchResult, FetchSettings, MiB, Validators
from aggregator.netguard import (
    AddressPolicy,
    BlockedAddress,
    BoundedDecoder,
    Deadline,
    DeadlineBackend,
    GuardedBackend,
    PrivateAllowlist,
    Resolver,
    allow_any_address,
    deadline_scope,
    describe_network_error,
    is_public_address,
    resolve_checked,
    system_resolver,
)

PROJECT_URL = "https://github.com/aggregator-rss/aggregator"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
KEEPALIVE_SECONDS = 5.0  # httpx's default: idle connections are closed after this
# Headers a source configured for its own host; never forwarded to another origin.
_ORIGIN_BOUND_HEADERS = ("authorization", "cookie", "proxy-authorization")
# What the transport and the OS raise for network trouble or bad input; anything else is a bug.
_TRANSPORT_ERRORS = (
    httpx.HTTPError,
    httpx.InvalidURL,
    httpx.StreamError,
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    BlockedAddress,
    OSError,
    UnicodeError,
)


def default_user_agent() -> str:
    try:
        version = importlib.metadata.version("aggregator")
    except importlib.metadata.PackageNotFoundError:
        version = "0.1.0"
    return f"aggregator/{version} (+{PROJECT_URL})"


class HttpFetcher:
    """Implements `models.Fetcher`. One httpx.Client per distinct proxy, created on first use.

    `validators` maps an original (pre-redirect) URL to the validators of its last 200; the
    pipeline loads it from and saves it to SQLite. It is only read and written for
    `conditional=True` requests, so one-off fetches do not grow it.

    Test seams: `transport` replaces the network (httpx.MockTransport), `resolver` replaces DNS
    and `address_policy` replaces the SSRF verdict (default: `is_public_address`, or allow-all
    when `settings.allow_private_networks`).
    """

    def __init__(
        self,
        settings: FetchSettings,
        *,
        validators: MutableMapping[str, Validators] | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        resolver: Resolver = system_resolver,
        address_policy: AddressPolicy | None = None,
        host_limiter: HostLimiter | None = None,
    ) -> None:
        self.settings = settings
        self.validators: MutableMapping[str, Validators] = {} if validators is None else validators
        # shared by the fetchers of one process (the daemon), else one per fetcher
        self.host_limiter = host_limiter or HostLimiter(settings.per_host, settings.host_spacing)
        self.requests_sent = 0  # hops handed to the transport after passing the guard
        self._transport = transport
        self._clock = clock
        self._resolver = resolver
        allowlist = PrivateAllowlist.parse(settings.private_allowlist)
        if address_policy is None:
            if settings.allow_private_networks:
                address_policy = allow_any_address
            else:
                address_policy = allowlist.admits if allowlist else is_public_address
        self._trusted_hosts = allowlist.hosts
        self._policy = address_policy
        self._guarded = address_policy is not allow_any_address
        self._clients: dict[str | None, httpx.Client] = {}
        self._lock = threading.Lock()  # adapters may fetch from several threads
        self._default_headers = {
            "User-Agent": settings.user_agent or default_user_agent(),
            # No br: we only decode codings we can bound (see netguard.BoundedDecoder).
            "Accept-Encoding": "gzip, deflate",
        }

    # -- public API ------------------------------------------------------------------------

    def get(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        proxy: str | None = None,
        conditional: bool = True,
    ) -> FetchResult:
        """GET `url`; `proxy` overrides `settings.proxy` ("" forces a direct connection)."""
        return self.get_with(
            self.validators, url, headers=headers, proxy=proxy, conditional=conditional
        )

    def for_source(self, validators: MutableMapping[str, Validators]) -> SourceFetcher:
        """A view that shares this fetcher's clients and host limits but keeps `validators` of its
        own, so several sources can be fetched at once from different threads."""
        return SourceFetcher(self, validators)

    def get_with(
        self,
        validators: MutableMapping[str, Validators],
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        proxy: str | None = None,
        conditional: bool = True,
    ) -> FetchResult:
        """`get` reading and updating `validators` instead of `self.validators`."""
        effective_proxy = self.settings.proxy if proxy is None else (proxy or None)
        try:
            hop_headers = httpx.Headers(headers or {})
        except UnicodeError as exc:  # httpx sends header values as ASCII
            raise FetchError(url, f"{url}: header values must be ASCII: {exc}") from exc
        stored = validators.get(url) if conditional else None
        if stored is not None:
            if stored.etag is not None:
                hop_headers["If-None-Match"] = stored.etag
            if stored.last_modified is not None:
                hop_headers["If-Modified-Since"] = stored.last_modified
        # politeness: wait for the host's slot first, so queueing does not eat the deadline
        with self.host_limiter.slot(host_of(url)):
            deadline = Deadline(self.settings.deadline, self._clock)
            with deadline_scope(deadline):
                return self._follow(
                    url, hop_headers, effective_proxy, deadline, validators if conditional else None
                )

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    def __enter__(self) -> HttpFetcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- redirects and results ---------------------------------------------------------------

    def _follow(
        self,
        original: str,
        hop_headers: httpx.Headers,
        proxy: str | None,
        deadline: Deadline,
        validators: MutableMapping[str, Validators] | None,  # None: not a conditional request
    ) -> FetchResult:
        current = _checked_url(original, original)
        visited: list[str] = []
        permanent: str | None = None  # end of the leading run of 301/308 hops (politeness)
        only_permanent = True
        while True:
            if deadline.expired():  # also covers transports without sockets (MockTransport)
                raise _deadline_error(str(current), original, deadline)
            hop = self._exchange(current, original, hop_headers, proxy, deadline)
            with contextlib.closing(hop) as response:
                status = response.status_code
                location = response.headers.get("location")
                if status not in REDIRECT_STATUSES or location is None:
                    result = self._result(response, original, visited, deadline, validators)
                    return dataclasses.replace(result, permanent_redirect=permanent)
            target = _redirect_target(current, location, original)
            only_permanent = only_permanent and status in PERMANENT_REDIRECTS
            if only_permanent:
                permanent = str(target)
            visited.append(str(current))
            chain = " -> ".join([*visited, str(target)])
            if str(target) in visited:
                raise FetchError(original, f"{original}: redirect loop: {chain}")
            if len(visited) > self.settings.max_redirects:
                limit = self.settings.max_redirects
                raise FetchError(original, f"{original}: too many redirects (max {limit}): {chain}")
            if not _same_origin(current, target):
                for name in _ORIGIN_BOUND_HEADERS:
                    hop_headers.pop(name, None)
            current = target

    def _result(
        self,
        response: httpx.Response,
        original: str,
        visited: list[str],
        deadline: Deadline,
        validators: MutableMapping[str, Validators] | None,
    ) -> FetchResult:
        url = str(response.url)
        headers = {name.lower(): value for name, value in response.headers.items()}
        status = response.status_code
        if status == 304:
            # read to its (empty) end: only a response read to the end frees its connection for
            # the next request; otherwise every 304 of a pass opens a new connection
            self._read_body(response, url, original, deadline)
            known = (self.validators if validators is None else validators).get(
                original, Validators()
            )
            return FetchResult(url, 304, b"", headers, known, tuple(visited))
        if not 200 <= status < 300:
            reason = response.reason_phrase or "error"
            message = f"{url}: HTTP {status} {reason}"
            raise FetchError(original, message, status=status, headers=headers)
        content = self._read_body(response, url, original, deadline)
        fresh = Validators(headers.get("etag"), headers.get("last-modified"))
        if validators is not None:
            if fresh.etag is None and fresh.last_modified is None:
                validators.pop(original, None)  # stale: the server stopped sending them
            else:
                validators[original] = fresh
        return FetchResult(url, status, content, headers, fresh, tuple(visited))

    # -- one hop -----------------------------------------------------------------------------

    def _exchange(
        self,
        url: httpx.URL,
        original: str,
        hop_headers: httpx.Headers,
        proxy: str | None,
        deadline: Deadline,
    ) -> httpx.Response:
        self._check_port(url, original)
        if self._guarded:
            self._precheck(url, original)
        client = self._client(proxy, original)
        try:
            request = client.build_request("GET", url, headers=hop_headers)
            with self._lock:
                self.requests_sent += 1
            response = client.send(request, stream=True)
        except _TRANSPORT_ERRORS as exc:
            raise _as_fetch_error(exc, str(url), original, deadline) from exc
        return response

    def _precheck(self, url: httpx.URL, original: str) -> None:
        """Refuse a blocked host before anything is sent (also the only check behind a proxy)."""
        host = url.raw_host.decode("ascii")
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            resolve_checked(host, port, self._policy, self._resolver, self._trusted_hosts)
        except BlockedAddress as exc:
            raise BlockedAddressError(original, f"{url}: {exc}") from exc
        except (OSError, UnicodeError) as exc:
            raise FetchError(original, f"{url}: {describe_network_error(exc)}") from exc

    def _check_port(self, url: httpx.URL, original: str) -> None:
        """Non-default ports only when the config allows them (its URLs' ports, `allowed_ports`)."""
        allowed = self.settings.allowed_ports
        if allowed is None or url.port is None:  # None: the scheme's default port
            return
        if url.port not in allowed:
            message = f"{url}: port {url.port} is not allowed (add it to [fetch] allowed_ports)"
            raise BlockedAddressError(original, message)

    def _read_body(
        self, response: httpx.Response, url: str, original: str, deadline: Deadline
    ) -> bytes:
        limit = self.settings.max_body_bytes
        too_large = FetchError(original, f"{url}: response body too large (>{_size(limit)})")
        declared = response.headers.get("content-length", "")
        if declared.strip().isdigit() and int(declared) > limit:
            raise too_large
        coding = response.headers.get("content-encoding", "")
        decoder = BoundedDecoder.for_coding(coding)
        if decoder is None:
            message = f"{url}: unsupported content encoding {coding.strip()!r}"
            raise FetchError(original, message)
        if response.is_stream_consumed:
            # Built in memory (a MockTransport handler passing `content=`): httpx already decoded it.
            if len(response.content) > limit:
                raise too_large
            return response.content
        parts: list[bytes] = []
        total = 0
        try:
            for chunk in response.iter_raw():
                for piece in decoder.feed(chunk, limit - total):
                    total += len(piece)
                    if total > limit:
                        raise too_large
                    parts.append(piece)
                if deadline.expired():
                    raise _deadline_error(url, original, deadline)
            tail = decoder.finish()
            if total + len(tail) > limit:
                raise too_large
            parts.append(tail)
        except zlib.error as exc:
            message = f"{url}: could not decode {coding.strip()} body: {exc}"
            raise FetchError(original, message) from exc
        except _TRANSPORT_ERRORS as exc:
            raise _as_fetch_error(exc, url, original, deadline) from exc
        return b"".join(parts)

    # -- clients -----------------------------------------------------------------------------

    def _client(self, proxy: str | None, original: str) -> httpx.Client:
        with self._lock:
            return self._clients.get(proxy) or self._new_client(proxy, original)

    def _new_client(self, proxy: str | None, original: str) -> httpx.Client:
        client = httpx.Client(
            transport=self._transport or self._network_transport(proxy, original),
            headers=self._default_headers,
            timeout=httpx.Timeout(
                connect=self.settings.connect_timeout,
                read=self.settings.read_timeout,
                write=self.settings.read_timeout,
                pool=self.settings.connect_timeout,
            ),
            follow_redirects=False,
            trust_env=False,  # env proxies would be mounted around our guarded transport
        )
        self._clients[proxy] = client
        return client

    def _network_transport(self, proxy: str | None, original: str) -> httpx.HTTPTransport:
        """An httpx transport whose sockets are opened by our backend (guard + deadline).

        httpx has no public hook for the network backend, so the transport's connection pool is
        replaced by an equivalent one built with public httpcore API.
        """
        ssl_context = httpx.create_ssl_context()
        transport = httpx.HTTPTransport(verify=ssl_context)  # reuse: loading CAs is slow
        # httpcore's own default is 10 connections, fewer than one host's per_host may ask for:
        # allow httpx's 100 plus a busy host's slots, and keep each of those slots alive
        connections = 100 + self.settings.per_host
        keepalive = max(20, self.settings.per_host)
        if proxy is None:
            backend = GuardedBackend(self._policy, self._resolver, self._trusted_hosts)
            transport._pool = httpcore.ConnectionPool(
                ssl_context=ssl_context,
                network_backend=backend,
                max_connections=connections,
                max_keepalive_connections=keepalive,
                keepalive_expiry=KEEPALIVE_SECONDS,
            )
            return transport
        try:
            parsed = httpx.Proxy(proxy)
        except (httpx.InvalidURL, ValueError) as exc:
            raise FetchError(original, f"{original}: invalid proxy {proxy!r}: {exc}") from exc
        if parsed.url.scheme not in ("http", "https"):
            message = f"{original}: unsupported proxy scheme {parsed.url.scheme!r}"
            raise FetchError(original, message)
        # The proxy is trusted config: its own address is not checked, targets are (_precheck).
        transport._pool = httpcore.HTTPProxy(
            proxy_url=httpcore.URL(
                scheme=parsed.url.raw_scheme,
                host=parsed.url.raw_host,
                port=parsed.url.port,
                target=parsed.url.raw_path,
            ),
            proxy_auth=parsed.raw_auth,
            proxy_headers=parsed.headers.raw,
            ssl_context=ssl_context,
            network_backend=DeadlineBackend(),
            max_connections=connections,
            max_keepalive_connections=keepalive,
            keepalive_expiry=KEEPALIVE_SECONDS,
        )
        return transport


class SourceFetcher:
    """One source's view of an HttpFetcher (see `HttpFetcher.for_source`); a `models.Fetcher`."""

    def __init__(self, inner: HttpFetcher, validators: MutableMapping[str, Validators]) -> None:
        self.inner = inner
        self.validators = validators

    def get(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        proxy: str | None = None,
        conditional: bool = True,
    ) -> FetchResult:
        return self.inner.get_with(
            self.validators, url, headers=headers, proxy=proxy, conditional=conditional
        )


def _checked_url(text: str, original: str) -> httpx.URL:
    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, ValueError) as exc:
        raise FetchError(original, f"{text}: invalid URL: {exc}") from exc
    if url.scheme not in ("http", "https"):
        raise FetchError(original, f"{text}: unsupported URL scheme {url.scheme!r}")
    if not url.raw_host:
        raise FetchError(original, f"{text}: URL has no host")
    if url.userinfo:
        raise FetchError(original, f"{text}: credentials in URLs are not allowed")
    if url.port is not None and not 0 < url.port < 65536:
        raise FetchError(original, f"{text}: invalid port {url.port}")
    return url


def _redirect_target(current: httpx.URL, location: str, original: str) -> httpx.URL:
    try:
        target = current.join(location.strip())
    except (httpx.InvalidURL, ValueError) as exc:
        message = f"{current}: invalid redirect Location {location!r}: {exc}"
        raise FetchError(original, message) from exc
    if target.scheme not in ("http", "https"):
        refused = location.strip()
        message = f"{current}: refused redirect to unsupported scheme {target.scheme!r}: {refused}"
        raise FetchError(original, message)
    return _checked_url(str(target), original)


def _same_origin(a: httpx.URL, b: httpx.URL) -> bool:
    return (a.scheme, a.raw_host, a.port) == (b.scheme, b.raw_host, b.port)


def _size(limit: int) -> str:
    return f"{limit // MiB} MiB" if limit % MiB == 0 else f"{limit} bytes"


def _deadline_error(url: str, original: str, deadline: Deadline) -> FetchError:
    return FetchError(original, f"{url}: deadline of {deadline.seconds:g}s exceeded")


def _as_fetch_error(exc: Exception, url: str, original: str, deadline: Deadline) -> FetchError:
    """One-line FetchError for anything the transport or the OS raised."""
    if isinstance(exc, FetchError):
        return exc
    if isinstance(exc, BlockedAddress):  # raised where the socket is opened
        return BlockedAddressError(original, f"{url}: {exc}")
    if isinstance(exc, httpx.TimeoutException | httpcore.TimeoutException) and deadline.expired():
        return _deadline_error(url, original, deadline)
    return FetchError(original, f"{url}: {describe_network_error(exc)}")
