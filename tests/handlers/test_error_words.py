"""Every refusal a chat command can meet is answered in Chinese: its code's own template, else
the catalogue's words (qunshop/error_words.py), which the pages say too; never the service's
English detail, which is written for the API's callers."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from aiohttp.test_utils import TestClient

from handlers.dispatcher import ChatDispatcher
from handlers.routing import Command, Context, Router
from qunshop.chat import ChatType, Platform, Reply, Text, Update
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from qunshop.error_words import HAN, MESSAGES
from qunshop.errors import Conflict, ErrorCode
from qunshop.keys import CHAT_TEMPLATES, REDIS, TASKS
from services.chat_users import Senders

ENGLISH = "the service explains this refusal in plain English for callers of its API"
ASCII_WORD = re.compile(r"[A-Za-z]+")


def _refusing(client: TestClient, settings: Settings) -> ChatDispatcher:
    """The app's chat templates and dispatcher, behind a command that refuses with the code
    it is given, as a service would: with the service's English words."""
    router = Router("refusals")

    @router.route(Command("refuse"))
    async def refuse(ctx: Context, args: str = "") -> Reply:
        raise Conflict(ErrorCode(args), ENGLISH)

    app = client.server.app
    return ChatDispatcher(
        router,
        redis=app[REDIS],
        settings=settings,
        clock=FrozenClock(datetime.now(tz=UTC)),
        templates=app[CHAT_TEMPLATES],
        senders=Senders(app[TASKS]),
    )


def _update(code: ErrorCode, chat_type: ChatType) -> Update:
    return Update(
        platform=Platform.WECOM_BOT,
        chat_id="refusals" if chat_type is ChatType.GROUP else "someone",
        chat_type=chat_type,
        sender="someone",
        msg_id=f"{code.value}-{chat_type.value}",
        created_at=datetime.now(tz=UTC),
        text=f"refuse {code.value}",
        sender_count=1,  # counted by the webhook's gate; here under any limit
    )


def test_every_code_has_chinese_words_in_the_one_catalogue() -> None:
    assert [code.value for code in ErrorCode if not HAN.search(MESSAGES.get(code, ""))] == []


async def test_every_code_is_refused_in_chinese_in_the_chat(
    client: TestClient, settings: Settings
) -> None:
    dispatch = _refusing(client, settings)
    english = {word.lower() for word in ASCII_WORD.findall(ENGLISH)}
    leaks = []
    for code in ErrorCode:
        for chat_type in (ChatType.SINGLE, ChatType.GROUP):
            reply = await dispatch(_update(code, chat_type))
            assert isinstance(reply, Text), code
            said = {word.lower() for word in ASCII_WORD.findall(reply.content)}
            if not HAN.search(reply.content) or said & english:
                leaks.append((code.value, chat_type.value, reply.content))
    assert leaks == []


async def test_a_code_without_a_template_says_the_catalogues_words(
    client: TestClient, settings: Settings
) -> None:
    reply = await _refusing(client, settings)(_update(ErrorCode.ORDER_NOT_PAYABLE, ChatType.SINGLE))
    assert reply == Text(MESSAGES[ErrorCode.ORDER_NOT_PAYABLE])
