"""Where Rapport may connect on a workspace's behalf (webhook receivers, SMTP servers): a host
name is resolved and every address it resolves to is judged, so that an API caller cannot make
the server reach its own loopback, private or link-local network (SSRF).

A host is checked when it is saved and again before every connection, because what a name
resolves to can change; the connection then goes to an address that was checked, so a name
cannot resolve to a public address for the check and to a private one for the connection.
Callers word the refusals for their API (`Unresolvable`, `OffLimits`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

RESOLVE_TIMEOUT_SECONDS = 5.0


class HostRefused(Exception):
    """The host may not be connected to."""


class Unresolvable(HostRefused):
    def __init__(self, host: str) -> None:
        super().__init__(f"The host {host!r} does not resolve")
        self.host = host


class OffLimits(HostRefused):
    """The host is, or resolves to, an address that is not public (`kind` says which)."""

    def __init__(self, host: str, address: IPAddress, kind: str) -> None:
        super().__init__(f"The host {host!r} resolves to {address}, a {kind} address")
        self.host = host
        self.address = address
        self.kind = kind


def address_kind(address: IPAddress) -> str | None:
    """Why an address is off limits (None for a public address)."""
    if isinstance(address, ipaddress.IPv6Address):  # IPv4 inside IPv6 is judged as IPv4
        teredo = address.teredo[1] if address.teredo else None
        address = address.ipv4_mapped or address.sixtofour or teredo or address
    for kind in ("loopback", "private", "link_local", "multicast", "unspecified", "reserved"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    return None if address.is_global else "non-public"


async def resolve(host: str, port: int, *, allow_private: bool) -> list[IPAddress]:
    """The addresses to connect to, in the resolver's order; `Unresolvable` if the name does
    not resolve (within RESOLVE_TIMEOUT_SECONDS), `OffLimits` if any address it resolves to is
    loopback, private, link-local or otherwise not public (unless `allow_private`, for
    development servers)."""
    try:
        addresses: list[IPAddress] = [ipaddress.ip_address(host)]
    except ValueError:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, TimeoutError) as exc:
            raise Unresolvable(host) from exc
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    if not allow_private:
        for address in addresses:
            kind = address_kind(address)
            if kind is not None:
                raise OffLimits(host, address, kind)
    return addresses
