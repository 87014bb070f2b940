"""The dispatcher's error replies: a code without a template reads the generic one, but a
template that breaks (a missing variable) fails loudly instead of sending a blank."""

from __future__ import annotations

from datetime import UTC, datetime

import jinja2
import pytest
from aiohttp.test_utils import TestClient

from handlers.dispatcher import ChatDispatcher
from handlers.routing import Command, Context, Router
from qunshop.chat import ChatType, Platform, Reply, Text, Update
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from qunshop.errors import Conflict, ErrorCode
from qunshop.keys import REDIS, TASKS
from services.chat_users import Senders


def _dispatcher(client: TestClient, settings: Settings) -> ChatDispatcher:
    router = Router("errors")

    @router.route(Command("full"))
    async def full(ctx: Context, args: str = "") -> Reply:
        raise Conflict(ErrorCode.TEAM_FULL, "the team is full")

    @router.route(Command("closed"))
    async def closed(ctx: Context, args: str = "") -> Reply:
        raise Conflict(ErrorCode.TEAM_CLOSED, "the team is closed")

    templates = jinja2.Environment(
        loader=jinja2.DictLoader(
            {
                "errors/generic.j2": "出错了：{{ error.detail }}",
                "errors/team_full.j2": "满员了，{{ not_given }}",  # a variable nobody passes
            }
        ),
        undefined=jinja2.StrictUndefined,
    )
    app = client.server.app
    return ChatDispatcher(
        router,
        redis=app[REDIS],
        settings=settings,
        clock=FrozenClock(datetime.now(tz=UTC)),
        templates=templates,
        senders=Senders(app[TASKS]),
    )


def _update(text: str) -> Update:
    return Update(
        platform=Platform.WECOM_BOT,
        chat_id="someone",
        chat_type=ChatType.SINGLE,
        sender="someone",
        msg_id=text,
        created_at=datetime.now(tz=UTC),
        text=text,
    )


async def test_a_code_without_a_template_reads_the_generic_one(
    client: TestClient, settings: Settings
) -> None:
    reply = await _dispatcher(client, settings)(_update("closed"))
    assert reply == Text("出错了：the team is closed")


async def test_a_broken_error_template_fails_loudly(client: TestClient, settings: Settings) -> None:
    with pytest.raises(jinja2.UndefinedError):
        await _dispatcher(client, settings)(_update("full"))
