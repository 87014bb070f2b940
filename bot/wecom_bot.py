"""``/bot/wecom-bot``: the WeCom intelligent bot, @-mentioned in group chats (WECHAT.md 10).

JSON ``{"encrypt"}`` in, the encrypted envelope ``{encrypt, msgsignature, timestamp, nonce}``
out (receive id ""). A user message opens a stream whose first frame leaves within ~0.8 s;
refresh polls are answered from the state in Redis; a re-delivered message gets its stream.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web

from bot import streams
from bot.budget import dispatch_later, dispatch_within, messenger_later, retry_later
from bot.cards import task_id, template_card
from bot.crypto import ACCOUNTS, BadPayload
from bot.dedupe import check_fresh, claim, claimed_value
from bot.http import plus_quirk, refusing, the_query
from bot.safexml import read_body
from bot.updates import from_bot_json
from qunshop.chat import Card, Text, Update
from qunshop.keys import CLOCK, REDIS, SETTINGS, Resources

logger = logging.getLogger(__name__)

FIRST_FRAME_BUDGET = 0.8  # seconds; the first frame must be back within about a second


def _json_object(text: str | bytes) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise BadPayload(f"not JSON: {type(exc).__name__}") from exc
    if not isinstance(value, dict):
        raise BadPayload("JSON is not an object")
    return value


def _empty() -> web.Response:
    return web.Response(text="", content_type="text/plain")  # "空包": always allowed


@refusing
async def verify_url(request: web.Request) -> web.StreamResponse:
    app = request.config_dict
    check_fresh(app, request.query.get("timestamp"))
    msg_signature, ts, nonce, echostr = the_query(
        request, "msg_signature", "timestamp", "nonce", "echostr"
    )
    account = app[ACCOUNTS].wecom_bot
    plain = account.open(plus_quirk(echostr), msg_signature, ts, nonce)
    return web.Response(text=plain, content_type="text/plain")


@refusing
async def receive(request: web.Request) -> web.StreamResponse:
    app = request.config_dict  # looked up once: each access builds a new chain
    ts = check_fresh(app, request.query.get("timestamp"))
    msg_signature, _, nonce = the_query(request, "msg_signature", "timestamp", "nonce")
    encrypt = _json_object(await read_body(request)).get("encrypt")
    if not isinstance(encrypt, str) or not encrypt:
        raise BadPayload("no encrypt field")
    account = app[ACCOUNTS].wecom_bot
    payload = _json_object(account.open(encrypt, msg_signature, ts, nonce))

    def sealed(plain: dict[str, Any]) -> web.Response:
        return web.json_response(account.seal_json(plain, ts, nonce))

    if payload.get("msgtype") == "stream":
        return sealed(await _refresh(app, payload))
    update = from_bot_json(payload, app[CLOCK].now())
    if update is None:
        logger.info("wecom bot: %s not handled; acknowledged", payload.get("msgtype"))
        return _empty()
    if update.event == "template_card_event":
        return await _card_event(app, update)
    if update.event == "enter_chat":
        welcome = await _welcome(app, update)
        return _empty() if welcome is None else sealed(welcome)
    first = await _open_stream(app, update)
    return _empty() if first is None else sealed(first)


async def _refresh(app: Resources, payload: dict[str, Any]) -> dict[str, Any]:
    """A refresh poll: the current state of that stream, or finish=true if it is unknown."""
    stream = payload.get("stream")
    stream_id = stream.get("id") if isinstance(stream, dict) else None
    if not isinstance(stream_id, str) or not 0 < len(stream_id) <= 128:
        raise BadPayload("stream refresh without stream.id")
    redis = app[REDIS]
    state = await streams.load(redis, stream_id)
    if state is None:
        logger.info("wecom bot: refresh of unknown stream %s", stream_id)
        state = streams.EXPIRED
    return await streams.frame(redis, stream_id, state)


async def _open_stream(app: Resources, update: Update) -> dict[str, Any] | None:
    """The first frame for a user message; a re-delivery gets the same stream back."""
    redis = app[REDIS]
    stream_id = streams.new_stream_id()
    admitted = await claim(app, update, value=stream_id)
    if admitted is None:
        known = await claimed_value(app, update)
        if known is None:
            return None
        state = await streams.load(redis, known) or streams.PENDING
        return await streams.frame(redis, known, state)
    await streams.save(redis, stream_id, streams.PENDING)
    budget = min(FIRST_FRAME_BUDGET, app[SETTINGS].chat_reply_budget)
    outcome = await dispatch_within(
        app, admitted, budget=budget, later=streams.stream_later(redis, stream_id)
    )
    if outcome is not None and outcome.outage:  # WeCom will not re-deliver: we try again
        retry_later(app, admitted, outcome, later=streams.stream_later(redis, stream_id))
        outcome = None
    if outcome is None:
        return await streams.frame(redis, stream_id, streams.PENDING)
    state = streams.finished(outcome, stream_id)
    await streams.save(redis, stream_id, state)
    if outcome.reply is None and not outcome.failed:
        return None  # nothing to say: an empty answer, no stream
    return await streams.frame(redis, stream_id, state)


async def _welcome(app: Resources, update: Update) -> dict[str, Any] | None:
    """enter_chat: a text or template-card welcome, or nothing (no stream here)."""
    admitted = await claim(app, update)
    if admitted is None:
        return None
    outcome = await dispatch_within(
        app,
        admitted,
        budget=app[SETTINGS].chat_reply_budget,
        later=messenger_later(app),
    )
    if outcome is not None and outcome.outage:  # the welcome follows through the messenger
        retry_later(app, admitted, outcome, later=messenger_later(app))
        return None
    reply = outcome.reply if outcome is not None else None
    if isinstance(reply, Text):
        return {"msgtype": "text", "text": {"content": reply.content}}
    if isinstance(reply, Card):
        return {
            "msgtype": "template_card",
            "template_card": template_card(reply, task_id=task_id("welcome", update.msg_id)),
        }
    return None


async def _card_event(app: Resources, update: Update) -> web.Response:
    """A card button: acknowledged at once (WeCom waits 5 s, once); the answer goes out
    through the messenger (the callback's response_url)."""
    admitted = await claim(app, update)
    if admitted is not None:
        dispatch_later(app, admitted, later=messenger_later(app))
    return _empty()
