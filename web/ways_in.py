"""The ways from an H5 page into the mini-program: its path, a URL link, a QR code for desktop."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

import segno
from markupsafe import Markup

from qunshop.keys import HTTP, REDIS, SETTINGS
from services import h5_links, share_codes

if TYPE_CHECKING:
    from aiohttp import web

    from qunshop.keys import Resources

QR_TITLE = "用微信扫码打开"
SHARER = "s"  # the sharer's code in a shared link, as the mini-program's share paths name it


@lru_cache(maxsize=2048)
def qr_svg(text: str) -> Markup:
    """Inline SVG of a QR code for ``text``; drawn once per text (a few ms each)."""
    code = segno.make(text, error="m", micro=False)
    svg = code.svg_inline(scale=4, border=2, title=QR_TITLE, svgclass="qr", lineclass="qrl")
    return Markup(svg)


def sharer(request: web.Request) -> str | None:
    """The sharer's code the page was opened with (``?s=``), if this server issued it."""
    code = request.query.get(SHARER, "")
    if not code:
        return None
    secret = request.config_dict[SETTINGS].secret_key.get_secret_value()
    return share_codes.carried(code, secret=secret)


def with_sharer(query: str, share: str | None) -> str:
    """``query`` carrying the sharer's code on, so whoever goes on into the mini-program
    arrives as by the sharer's own mini-program share (its entry binds them to the sharer)."""
    if share is None:
        return query
    return f"{query}&{SHARER}={share}" if query else f"{SHARER}={share}"


async def ways_in(
    config: Resources, *, path: str, query: str, page_url: str, share: str | None = None
) -> dict[str, Any]:
    """The template's ``ways`` : the path, the URL link (None while WeChat has none for us)
    and a QR code of the link, or of this page when there is no link; each carries the
    sharer's code (``share``) when the page was opened with one."""
    settings = config[SETTINGS]
    query = with_sharer(query, share)
    link = await h5_links.url_link(
        path=path, query=query, http=config[HTTP], redis=config[REDIS], settings=settings
    )
    return {
        "appid": settings.wechat_appid,
        "path": f"{path}?{query}" if query else path,
        "url_link": link,
        "qr": qr_svg(link or page_url),
    }
