"""Every route of the web door, and its resources (the HTML environment)."""

from __future__ import annotations

from aiohttp import web

from web import (  # noqa: F401  (they declare their pages)
    admin,
    admin_campaigns,
    admin_coupons,
    admin_flash,
    admin_marketing,
    admin_moderation,
    aftercare,
    console,
    console_doors,
    console_plan,
    console_stats,
    console_teams,
    h5,
    home,
    my_data,
    supply,
    withdrawals,
)
from web.page import setup_pages
from web.render import TEMPLATES, environment


def setup_web(app: web.Application) -> None:
    app[TEMPLATES] = environment()
    setup_pages(app)
    h5.setup(app)
