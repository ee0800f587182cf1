"""Which network addresses an upload URL may be fetched from.

An address is fetched from when it is globally routable: not loopback, private, link-local,
unspecified, multicast, reserved, shared (100.64.0.0/10), documentation or benchmarking,
and not one of those in IPv6 clothing: IPv4-mapped (``::ffff:127.0.0.1``), IPv4-compatible
(``::7f00:1``, deprecated: always refused), 6to4 (``2002:7f00:1::``), Teredo (``2001::/32``)
or NAT64 (``64:ff9b::7f00:1``; ``64:ff9b:1::/48`` is local-use). Python's ``is_global``
alone says yes to several of these (multicast, IPv4-compatible, NAT64), so every case is
spelled out here.

An operator's allow-list (CIDR networks) admits addresses that the rule would refuse, such
as a local mirror of catalogs on a private network. An IPv4-mapped IPv6 address is matched
by its IPv4 address too, since that is where a dual-stack socket connects.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_SHARED = ipaddress.IPv4Network("100.64.0.0/10")
_COMPATIBLE = ipaddress.IPv6Network("::/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")


def parse_networks(items: Iterable[str]) -> tuple[Network, ...]:
    """CIDR networks (``10.1.0.0/16``, ``127.0.0.1``, ``fd00::/8``); ValueError names a bad one."""
    networks: list[Network] = []
    for item in items:
        text = item.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(
                f"{text!r} is not a network in CIDR notation (e.g. 10.1.0.0/16 or fd00::/8)"
            ) from None
    return tuple(networks)


def is_public(address: Address) -> bool:
    """Whether ``address`` is globally routable, in itself and in what it embeds."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public(address.ipv4_mapped)
        if address in _COMPATIBLE or address in _NAT64_LOCAL or address.teredo is not None:
            return False
        if address.sixtofour is not None:
            return is_public(address.sixtofour)
        if address in _NAT64:
            return is_public(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    elif address in _SHARED:
        return False
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_unspecified
        or address.is_multicast
        or address.is_reserved
    )


def is_allowed(address: Address, allow: Sequence[Network] = ()) -> bool:
    """Whether an upload may be fetched from ``address``: public, or in ``allow``."""
    if is_public(address):
        return True
    candidates: list[Address] = [address]
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        candidates.append(address.ipv4_mapped)
    return any(a in network for a in candidates for network in allow)
