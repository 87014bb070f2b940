"""``/bot/wechat``: the Official Account (and mini-program customer service) message push.

GET verifies the URL; POST carries XML in plain mode (``signature``) or in safe mode
(``encrypt_type=aes``, ``msg_signature`` over the Encrypt field, AES with the appid).
"""

from __future__ import annotations

import logging

from aiohttp import web

from bot.crypto import ACCOUNTS, BadPayload, verify
from bot.dedupe import check_fresh, signed_once
from bot.http import answer_xml, refusing, success, the_query
from bot.safexml import parse_xml, read_body
from bot.updates import from_xml
from qunshop.chat import Platform
from qunshop.keys import CLOCK, SETTINGS
from services import moderation
from wechat import security

logger = logging.getLogger(__name__)


@refusing
async def verify_url(request: web.Request) -> web.StreamResponse:
    app = request.config_dict
    check_fresh(app, request.query.get("timestamp"))
    signature, ts, nonce, echostr = the_query(request, "signature", "timestamp", "nonce", "echostr")
    verify(signature, app[SETTINGS].wechat_token.get_secret_value(), ts, nonce)
    return web.Response(text=echostr, content_type="text/plain")  # verbatim, plain in all modes


@refusing
async def receive(request: web.Request) -> web.StreamResponse:
    app = request.config_dict  # looked up once: each access builds a new chain
    ts = check_fresh(app, request.query.get("timestamp"))
    nonce = request.query.get("nonce", "")
    settings = app[SETTINGS]
    safe = request.query.get("encrypt_type", "raw").lower() == "aes"
    if safe:
        (msg_signature,) = the_query(request, "msg_signature")  # checked once Encrypt is read
    else:
        (signature,) = the_query(request, "signature")
        verify(signature, settings.wechat_token.get_secret_value(), ts, nonce)
    body = await read_body(request)
    if not safe:
        await signed_once(app, ts, nonce, body)
    fields = parse_xml(body)
    account = app[ACCOUNTS].oa
    if safe:  # msg_signature over the Encrypt field, not the plain signature (issue #739)
        encrypt = fields.get("Encrypt")
        if not isinstance(encrypt, str) or not encrypt:
            raise BadPayload("safe mode without an Encrypt field")
        xml = account.open(encrypt, msg_signature, ts, nonce)
        fields = parse_xml(xml)
    else:
        xml = body.decode("utf-8", errors="replace")
    media_check = security.read_media_check_event(fields)  # the mini-program's push
    if media_check is not None:
        await moderation.media_verdict(media_check, now=app[CLOCK].now())
        return success()
    update = from_xml(Platform.WECHAT, fields, xml, app[CLOCK].now())

    def seal(reply: str, now: str) -> str:
        return account.seal_xml(reply, nonce, now) if safe else reply

    return await answer_xml(request, app, update, seal)
