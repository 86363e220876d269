"""Limits httpx does not enforce: SSRF address policy, wall-clock deadline, bounded decoding.

The guard sits where the socket is opened (a custom httpcore network backend), so the address that
is checked is the address that is connected to: the host is resolved once, every resolved address
is validated, and the connection goes to a validated IP. A DNS answer that changes between a check
and the connect (rebinding) therefore cannot slip through.

The deadline is carried in a context variable set by the fetcher for the duration of one `get`;
every connect, read and write clamps its timeout to the time left, so a server that drips one byte
per second (which never trips an inactivity timeout) is cut off on time.

`BoundedDecoder` undoes one gzip/deflate coding with `max_length`, so a compression bomb never
inflates past the body cap; `describe_network_error` turns a transport exception chain into a
short cause ("connection refused", "name resolution failed", "timed out").
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import zlib
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from contextvars import ContextVar
from ipaddress import IPv6Address, ip_address
from typing import Any

import httpcore

from aggregator.addresses import (
    IPAddress,
    PrivateAllowlist,
    allow_any_address,
    host_key,
    is_public_address,
)
from aggregator.httpxlib import httpx

__all__ = [
    "AddressPolicy",
    "BlockedAddress",
    "BoundedDecoder",
    "Deadline",
    "DeadlineBackend",
    "GuardedBackend",
    "PrivateAllowlist",
    "Resolver",
    "allow_any_address",
    "deadline_scope",
    "describe_network_error",
    "is_public_address",
    "resolve_checked",
    "system_resolver",
]

AddressPolicy = Callable[[IPAddress], bool]  # True when the address may be connected to
Resolver = Callable[[str, int], Sequence[str]]  # (host, port) -> IP address strings


class BlockedAddress(Exception):
    """Raised by the guard; the fetcher turns it into `BlockedAddressError` with the URL."""

    def __init__(self, address: IPAddress, host: str) -> None:
        self.address = address
        self.host = host
        super().__init__(f"blocked non-public address {_display(address)} for host {host}")


def _display(ip: IPAddress) -> str:
    # Python prints ::ffff:127.0.0.1 as ::ffff:7f00:1, which hides the loopback address.
    if isinstance(ip, IPv6Address) and ip.ipv4_mapped is not None:
        return f"::ffff:{ip.ipv4_mapped}"
    return str(ip)


def system_resolver(host: str, port: int) -> list[str]:
    """Every address `getaddrinfo` gives for a TCP connection, in its order, without duplicates."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def resolve_checked(
    host: str,
    port: int,
    policy: AddressPolicy,
    resolver: Resolver,
    trusted_hosts: Container[str] = frozenset(),
) -> list[IPAddress]:
    """Resolve `host` once and validate every address; raise `BlockedAddress` on the first bad one.

    All addresses are checked, not just the first: a name with one public and one private record
    must not reach the private one through a connection fallback. A host in `trusted_hosts`
    (the allowlist's names) may resolve to anything.
    Resolver errors (`socket.gaierror`, `UnicodeError`) propagate to the caller.
    """
    if host_key(host) in trusted_hosts:
        policy = allow_any_address
    literal = _parse_ip(host)
    addresses = (
        [literal] if literal is not None else [_parse_ip_strict(a) for a in resolver(host, port)]
    )
    if not addresses:
        raise socket.gaierror(socket.EAI_NONAME, f"no address for {host}")
    for address in addresses:
        if not policy(address):
            raise BlockedAddress(address, host)
    return addresses


def _parse_ip(text: str) -> IPAddress | None:
    try:
        return ip_address(text.strip("[]"))
    except ValueError:
        return None


def _parse_ip_strict(text: str) -> IPAddress:
    # getaddrinfo may add an IPv6 zone ("fe80::1%eth0"); the zone does not change the verdict.
    parsed = _parse_ip(text.split("%", 1)[0])
    if parsed is None:
        raise socket.gaierror(socket.EAI_FAIL, f"resolver returned a non-address {text!r}")
    return parsed


class Deadline:
    """A wall-clock budget measured with an injectable monotonic clock."""

    def __init__(self, seconds: float, clock: Callable[[], float]) -> None:
        self.seconds = seconds
        self._clock = clock
        self._ends_at = clock() + seconds

    def remaining(self) -> float:
        return self._ends_at - self._clock()

    def expired(self) -> bool:
        return self.remaining() <= 0

    def clamp(self, timeout: float | None) -> float | None:
        """The smaller of `timeout` and the time left; None when nothing is left."""
        left = self.remaining()
        if left <= 0:
            return None
        return left if timeout is None else min(timeout, left)


current_deadline: ContextVar[Deadline | None] = ContextVar("current_deadline", default=None)


@contextlib.contextmanager
def deadline_scope(deadline: Deadline) -> Iterator[None]:
    """Make every socket operation in this block respect `deadline`."""
    token = current_deadline.set(deadline)
    try:
        yield
    finally:
        current_deadline.reset(token)


def _clamped(timeout: float | None, exc_class: type[Exception]) -> float | None:
    deadline = current_deadline.get()
    if deadline is None:
        return timeout
    clamped = deadline.clamp(timeout)
    if clamped is None:
        raise exc_class("deadline exceeded")
    return clamped


class DeadlineStream(httpcore.NetworkStream):
    """Wraps a stream so each read/write waits no longer than the current deadline allows."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamped(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamped(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _clamped(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.SyncBackend):
    """httpcore's own sockets, with every stream bounded by the current deadline.

    Used for connections to a configured proxy: the proxy is trusted config, so its address is
    not checked (the fetcher checks the target host before sending).
    """

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _clamped(timeout, httpcore.ConnectTimeout)
        stream = super().connect_tcp(host, port, timeout, local_address, socket_options)
        return DeadlineStream(stream)


class GuardedBackend(DeadlineBackend):
    """Resolves once with `resolver`, validates every address with `policy`, connects to an IP."""

    def __init__(
        self,
        policy: AddressPolicy,
        resolver: Resolver = system_resolver,
        trusted_hosts: Container[str] = frozenset(),
    ) -> None:
        self._policy = policy
        self._resolver = resolver
        self._trusted_hosts = trusted_hosts

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = resolve_checked(
                host, port, self._policy, self._resolver, self._trusted_hosts
            )
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"name resolution failed for {host}") from exc
        last_error: httpcore.ConnectError | None = None
        for address in addresses:  # in resolver order, like socket.create_connection
            try:
                return super().connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                last_error = exc
        assert last_error is not None  # resolve_checked never returns an empty list
        raise last_error


class BoundedDecoder:
    """Undoes at most one content coding without ever producing more than the caller allows."""

    def __init__(self, wbits: int | None) -> None:
        self._decompressor = None if wbits is None else zlib.decompressobj(wbits)
        # "deflate" should be zlib-wrapped (RFC 9110) but many servers send raw deflate.
        self._may_be_raw_deflate = wbits == zlib.MAX_WBITS

    @classmethod
    def for_coding(cls, header: str) -> BoundedDecoder | None:
        codings = [c.strip().lower() for c in header.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if not codings:
            return cls(None)
        if len(codings) > 1:
            return None  # a chain multiplies the expansion; no legitimate server needs one
        wbits = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS}.get(codings[0])
        if codings[0] == "deflate":
            wbits = zlib.MAX_WBITS  # zlib-wrapped; raw deflate is detected on the first chunk
        return None if wbits is None else cls(wbits)

    def feed(self, data: bytes, budget: int) -> Iterator[bytes]:
        """Decoded pieces of `data`; stops once more than `budget` bytes came out."""
        if self._decompressor is None:
            yield data
            return
        piece = self._decompress(data, budget + 1)
        yield piece
        budget -= len(piece)
        # max_length leaves input in unconsumed_tail; drain it only while within budget.
        while self._decompressor.unconsumed_tail and budget >= 0:
            piece = self._decompress(self._decompressor.unconsumed_tail, budget + 1)
            yield piece
            budget -= len(piece)

    def _decompress(self, data: bytes, max_length: int) -> bytes:
        assert self._decompressor is not None
        if self._may_be_raw_deflate:
            self._may_be_raw_deflate = False
            try:
                return self._decompressor.decompress(data, max_length)
            except zlib.error:
                self._decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
        return self._decompressor.decompress(data, max_length)

    def finish(self) -> bytes:
        """What the decompressor still holds. `feed` drained every input (or the caller gave up),
        so this is at most one window; flush's argument is a buffer size, not a limit."""
        return b"" if self._decompressor is None else self._decompressor.flush()


def describe_network_error(exc: BaseException) -> str:
    """A short human cause, taken from the most specific exception in the chain."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    for cause in chain:
        if isinstance(cause, socket.gaierror):
            return "name resolution failed"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, ConnectionResetError):
            return "connection reset by peer"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS certificate verification failed: {cause.verify_message}"
        if isinstance(cause, ssl.SSLError):
            return f"TLS error: {cause.reason or cause}"
        if isinstance(cause, TimeoutError | httpx.TimeoutException | httpcore.TimeoutException):
            return "timed out"
    if isinstance(exc, httpx.RemoteProtocolError | httpcore.RemoteProtocolError):
        return f"protocol error: {_one_line(exc)}"
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return f"invalid URL: {_one_line(exc)}"
    return _one_line(exc)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
