"""The client's address: the peer, or behind trusted reverse proxies the one they name.

Each proxy appends the address it received the request from to X-Forwarded-For, so the list
is read from the right: every trusted proxy is skipped and the first address left is the
client. Anything further left was written by the client and is not believed. A request
whose peer is not a trusted proxy is the client itself, whatever its headers say.
"""

from __future__ import annotations

from ipaddress import ip_address
from typing import TYPE_CHECKING

from qunshop.keys import SETTINGS

if TYPE_CHECKING:
    from ipaddress import IPv4Network, IPv6Network

    from aiohttp import web


def _trusted(address: str, networks: tuple[IPv4Network | IPv6Network, ...]) -> bool:
    try:
        ip = ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request: web.Request) -> str | None:
    peer = request.remote
    networks = request.config_dict[SETTINGS].trusted_networks
    if peer is None or not networks or not _trusted(peer, networks):
        return peer
    hops = [h.strip() for v in request.headers.getall("X-Forwarded-For", ()) for h in v.split(",")]
    for hop in reversed(hops):
        if not hop:
            continue
        if not _trusted(hop, networks):
            return hop
        peer = hop
    return peer  # every hop was a trusted proxy: the leftmost is as close as it gets
