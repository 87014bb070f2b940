"""Every route of the HTTP door, in one place."""

from __future__ import annotations

from aiohttp import web

from miniapp_api import health


def setup_routes(app: web.Application) -> None:
    health.setup(app)
