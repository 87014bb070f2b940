"""The app's resources as a webhook request sees them, looked up once per request.

``request.config_dict`` builds a new chain of the app's maps on every access, and a chat
message reads a dozen resources through it; this keeps the first chain on the request.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.helpers import ChainMapProxy

_CONFIG = web.RequestKey("qunshop.bot.config", ChainMapProxy)


def config(request: web.Request) -> ChainMapProxy:
    found = request.get(_CONFIG)
    if found is None:
        found = request[_CONFIG] = request.config_dict
    return found
