"""The page behind 我的数据's chat link: a button that downloads the person's archive.

The token is spent only by the button's POST, so a link preview (which only GETs) cannot use
it up, as the console's login link."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from qunshop.keys import CLOCK, REDIS, SETTINGS
from services import privacy_links
from web.page import page

if TYPE_CHECKING:
    from multidict import MultiDictProxy

    from qunshop.keys import Resources


@page("GET", "/h5/my-data", template="h5/my_data.html", forms=True)
async def my_data_page(*, query: MultiDictProxy[str], config: Resources) -> dict[str, Any]:
    token = query.get("token", "")[:64]
    live = await privacy_links.is_live(token=token, redis=config[REDIS])
    return {"token": token if live else "", "state": "open"}


@page("POST", "/h5/my-data", forms=True)
async def my_data_download(*, form: dict[str, str], config: Resources) -> web.StreamResponse:
    archive = await privacy_links.export_by_link(
        token=form.get("token", ""),
        redis=config[REDIS],
        settings=config[SETTINGS],
        now=config[CLOCK].now(),
    )
    return web.Response(
        body=archive,
        content_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{privacy_links.FILENAME}"',
            "Cache-Control": "no-store",
        },
    )
