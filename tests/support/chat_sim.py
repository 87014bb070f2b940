"""The chat simulator as a group member, pointed at a test server."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qunshop.assembly.simulator import Simulator

if TYPE_CHECKING:
    import aiohttp
    from aiohttp.test_utils import TestClient

    from qunshop.config import Settings


def in_group(
    client: TestClient,
    settings: Settings,
    http: aiohttp.ClientSession,
    *,
    user: str,
    group: str | None,
) -> Simulator:
    """``user`` in the WeCom group ``group`` of ``client``'s server (None: alone with the
    bot, as ``qunshop chat --single``); what it prints is dropped."""
    return Simulator(
        url=str(client.make_url("")),
        settings=settings,
        platform="wecom-bot",
        user=user,
        group=group,
        http=http,
        out=lambda _: None,
    )
