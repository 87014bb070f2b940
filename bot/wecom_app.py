"""``/bot/wecom``: the WeCom self-built app callback, always encrypted (receive id = corpid)."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.crypto import ACCOUNTS, BadPayload
from bot.dedupe import check_fresh
from bot.http import answer_xml, plus_quirk, refusing, the_query
from bot.safexml import parse_xml, read_body
from bot.updates import from_xml
from qunshop.chat import Platform
from qunshop.keys import CLOCK

logger = logging.getLogger(__name__)


@refusing
async def verify_url(request: web.Request) -> web.StreamResponse:
    app = request.config_dict
    check_fresh(app, request.query.get("timestamp"))
    msg_signature, ts, nonce, echostr = the_query(
        request, "msg_signature", "timestamp", "nonce", "echostr"
    )
    plain = app[ACCOUNTS].wecom.open(plus_quirk(echostr), msg_signature, ts, nonce)
    # Only the plaintext: no quotes, BOM or newline.
    return web.Response(text=plain, content_type="text/plain")


@refusing
async def receive(request: web.Request) -> web.StreamResponse:
    app = request.config_dict  # looked up once: each access builds a new chain
    ts = check_fresh(app, request.query.get("timestamp"))
    msg_signature, _, nonce = the_query(request, "msg_signature", "timestamp", "nonce")
    body = await read_body(request)
    encrypt = parse_xml(body).get("Encrypt")
    if not isinstance(encrypt, str) or not encrypt:
        raise BadPayload("no Encrypt field")
    account = app[ACCOUNTS].wecom
    xml = account.open(encrypt, msg_signature, ts, nonce)
    update = from_xml(Platform.WECOM, parse_xml(xml), xml, app[CLOCK].now())

    def seal(reply: str, now: str) -> str:
        return account.seal_xml(reply, nonce, now)

    return await answer_xml(request, app, update, seal)
