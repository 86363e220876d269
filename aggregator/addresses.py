"""Which IP addresses a fetch may connect to: the SSRF address policy, stdlib only.

`is_public_address` is the default policy: globally routable unicast only, looking through the
IPv6 forms that embed an IPv4 address (a NAT64 or 6to4 address of 127.0.0.1 is loopback).
`PrivateAllowlist` is `allow_private_networks = [...]`: networks and host names the operator
trusts although they are not public (an intranet RSSHub). `netguard` applies both where the socket
is opened; `config` validates the list without importing the HTTP stack.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network

IPAddress = IPv4Address | IPv6Address

# Ranges Python's `is_global` still counts as global (or that embed another address).
_CGNAT = IPv4Network("100.64.0.0/10")  # RFC 6598; holds Alibaba Cloud's 100.100.100.200
_NAT64 = IPv6Network("64:ff9b::/96")  # RFC 6052 well-known prefix: embeds an IPv4 address
_NAT64_LOCAL = IPv6Network("64:ff9b:1::/48")  # RFC 8215 local-use translation
_IPV4_COMPATIBLE = IPv6Network("::/96")  # deprecated ::a.b.c.d
_SITE_LOCAL = IPv6Network("fec0::/10")  # deprecated, still routed inside some networks


def is_public_address(ip: IPAddress) -> bool:
    """True only for globally routable unicast addresses, looking through IPv6 embeddings."""
    if isinstance(ip, IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return is_public_address(embedded)
        if ip in _NAT64_LOCAL or ip in _IPV4_COMPATIBLE or ip in _SITE_LOCAL:
            return False
    elif ip in _CGNAT:
        return False
    return ip.is_global and not (
        ip.is_multicast
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_private
        or ip.is_reserved
        or ip.is_unspecified
    )


def _embedded_ipv4(ip: IPv6Address) -> IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour  # 2002::/16 (6to4), else None


def allow_any_address(ip: IPAddress) -> bool:
    """The policy of `allow_private_networks = true`."""
    return True


@dataclass(frozen=True)
class PrivateAllowlist:
    """`allow_private_networks = ["10.1.0.0/16", "rsshub.lan"]`: trusted non-public targets.

    A network admits the addresses inside it (an IPv6 form that embeds an IPv4 address is judged
    by that address); a host name admits whatever it resolves to, because the operator named it.
    """

    networks: tuple[IPv4Network | IPv6Network, ...] = ()
    hosts: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> PrivateAllowlist:
        """Raises ValueError naming the first entry that is neither a network nor a host name."""
        networks: list[IPv4Network | IPv6Network] = []
        hosts: set[str] = set()
        for entry in entries:
            try:
                networks.append(ip_network(entry.strip().strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            host = host_key(entry)
            if not _HOST_NAME.fullmatch(host):
                raise ValueError(f"{entry!r} is neither a CIDR/IP address nor a host name")
            hosts.add(host)
        return cls(tuple(networks), frozenset(hosts))

    def __bool__(self) -> bool:
        return bool(self.networks or self.hosts)

    def admits(self, ip: IPAddress) -> bool:
        """The address policy: public addresses, plus those inside an allowed network."""
        if is_public_address(ip):
            return True
        forms: list[IPAddress] = [ip]
        if isinstance(ip, IPv6Address) and (embedded := _embedded_ipv4(ip)) is not None:
            forms.append(embedded)
        return any(
            form in network
            for form in forms
            for network in self.networks
            if form.version == network.version
        )


_HOST_NAME = re.compile(r"(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,62})(?:\.[a-z0-9_-]{1,63})*")


def host_key(host: str) -> str:
    """A host name as compared with the allowlist: lower case, no trailing dot."""
    return host.strip().lower().rstrip(".")
