"""A dispatch that meets an outage after its webhook was answered is tried again here: the
platform will not re-deliver it, and the message must not be lost."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest
from aiohttp.test_utils import TestClient

import bot.budget
from qunshop.chat import Reply, Text, Update
from tests.bot.conftest import FakeMessenger, MakeClient, Recorder
from tests.bot.helpers import OA, WeComBot, oa_text


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bot.budget, "OUTAGE_RETRY_SECONDS", (0.05, 0.05))


def down_for(tries: int) -> Callable[[Update], Reply | None]:
    """An answer that meets a database outage ``tries`` times, then works."""
    seen: list[Update] = []

    def answer(update: Update) -> Reply | None:
        seen.append(update)
        if len(seen) <= tries:
            raise ConnectionError("connection refused")
        return Text(f"答复 {update.text}")

    return answer


async def test_a_late_answer_that_met_an_outage_is_tried_again_and_delivered(
    make_client: MakeClient, recorder: Recorder, messenger: FakeMessenger
) -> None:
    client = await make_client(chat_reply_budget=0.1)
    recorder.delay = 0.2  # past the budget: the webhook says success first
    recorder.answer = down_for(1)

    resp = await OA(client).post_safe(oa_text("帮助", sender="o_outage"))

    assert await resp.text() == "success"
    await messenger.wait()
    [(update, reply)] = messenger.delivered
    assert update.sender == "o_outage" and reply == Text("答复 帮助")
    assert len(recorder.calls) == 2


async def test_an_outage_that_outlasts_the_tries_is_logged_not_sent(
    make_client: MakeClient,
    recorder: Recorder,
    messenger: FakeMessenger,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = await make_client(chat_reply_budget=0.05)
    recorder.delay = 0.1
    recorder.answer = down_for(10)

    with caplog.at_level(logging.ERROR, logger="bot.budget"):
        resp = await OA(client).post_safe(oa_text("帮助", sender="o_long_outage"))
        assert await resp.text() == "success"
        async with asyncio.timeout(3):
            while len(recorder.calls) < 3:  # the first try and both retries
                await asyncio.sleep(0.02)
            while not any("given up" in r.getMessage() for r in caplog.records):
                await asyncio.sleep(0.02)

    assert messenger.delivered == [] and len(recorder.calls) == 3


async def test_the_bot_stream_stays_open_while_an_outage_is_retried(
    bot_client: TestClient, recorder: Recorder
) -> None:
    recorder.answer = down_for(1)  # quick, but the first try meets the outage
    bot = WeComBot(bot_client)

    first = await bot.reply(bot.text("帮助", chat_id="wrkGroup2"))

    assert first is not None and first["stream"]["finish"] is False
    stream_id = first["stream"]["id"]
    async with asyncio.timeout(3):
        while True:
            frame = await bot.reply(bot.refresh(stream_id, chat_id="wrkGroup2"))
            assert frame is not None
            if frame["stream"]["finish"]:
                break
            await asyncio.sleep(0.02)
    assert frame["stream"]["content"] == "答复 帮助"
    assert len(recorder.calls) == 2


async def test_a_welcome_that_met_an_outage_follows_through_the_messenger(
    bot_client: TestClient, recorder: Recorder, messenger: FakeMessenger
) -> None:
    recorder.answer = down_for(1)
    bot = WeComBot(bot_client)

    assert await bot.reply(bot.event("enter_chat")) is None  # nothing passive this time

    await messenger.wait()
    [(update, reply)] = messenger.delivered
    assert update.event == "enter_chat" and isinstance(reply, Text)
    assert len(recorder.calls) == 2
