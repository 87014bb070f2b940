"""Every route of the web door, and its resources (the HTML environment)."""

from __future__ import annotations

from aiohttp import web

from web import admin, console, console_plan, h5, supply  # noqa: F401  (they declare their pages)
from web.page import setup_pages
from web.render import TEMPLATES, environment


def setup_web(app: web.Application) -> None:
    app[TEMPLATES] = environment()
    setup_pages(app)
    h5.setup(app)
