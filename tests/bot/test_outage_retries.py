"""A dispatch that meets an outage after its webhook was answered is tried again here: the
platform will not re-deliver it, and the message must not be lost."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

import bot.budget
import bot.dedupe
import bot.streams
from models.outbox import OutboxMessage, OutboxStatus
from qunshop.chat import Reply, Text, Update
from qunshop.keys import CLOCK, TASKS
from services import outbox
from tests.bot.conftest import FakeMessenger, MakeClient, Recorder
from tests.bot.helpers import OA, WeComBot, oa_text


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bot.budget, "OUTAGE_TRIES", 2)
    monkeypatch.setattr(bot.budget, "OUTAGE_FIRST", timedelta(milliseconds=50))
    monkeypatch.setattr(bot.budget, "OUTAGE_CAP", timedelta(milliseconds=50))


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


async def test_an_outage_that_outlasts_the_tries_is_left_to_the_outbox(
    make_client: MakeClient,
    recorder: Recorder,
    messenger: FakeMessenger,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = await make_client(chat_reply_budget=0.05)
    recorder.delay = 0.1
    recorder.answer = down_for(3)

    with caplog.at_level(logging.WARNING, logger="bot.budget"):
        resp = await OA(client).post_safe(oa_text("帮助", sender="o_long_outage"))
        assert await resp.text() == "success"
        row = await _redispatch_row()
    assert "the outage outlasted its tries" in caplog.text
    assert messenger.delivered == [] and len(recorder.calls) == 3  # the first try and two more

    # Once the outage is over, the outbox dispatches it again and the answer goes out.
    await _run_outbox(client)
    [(update, reply)] = messenger.delivered
    assert update.sender == "o_long_outage" and reply == Text("答复 帮助")
    assert update.dedupe_key == Update.from_payload(row.payload).dedupe_key
    assert (await OutboxMessage.get(id=row.id)).status is OutboxStatus.DONE


async def _redispatch_row() -> OutboxMessage:
    async with asyncio.timeout(5):
        while (row := await OutboxMessage.get_or_none(kind=bot.budget.REDISPATCH)) is None:
            await asyncio.sleep(0.02)
    return row


async def _run_outbox(client: TestClient) -> None:
    app = client.server.app
    handlers = {bot.budget.REDISPATCH: bot.budget.redispatcher(app)}  # as the server's outbox
    await outbox.run_once(handlers, now=app[CLOCK].now())


async def test_a_late_answer_whose_hand_over_meets_an_outage_is_delivered_later(
    make_client: MakeClient, recorder: Recorder, messenger: FakeMessenger
) -> None:
    client = await make_client(chat_reply_budget=0.05)
    recorder.delay = 0.1
    messenger.down = 1  # the outbox row of the late answer cannot be written, once

    resp = await OA(client).post_safe(oa_text("帮助", sender="o_hand_over"))

    assert await resp.text() == "success"
    await messenger.wait()
    [(update, reply)] = messenger.delivered
    assert update.sender == "o_hand_over" and isinstance(reply, Text)
    assert len(recorder.calls) == 1  # answered once; only the hand-over was tried again


async def test_a_retry_waiting_at_shutdown_is_left_to_the_outbox(
    make_client: MakeClient,
    recorder: Recorder,
    messenger: FakeMessenger,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = await make_client(chat_reply_budget=0.05)
    recorder.delay = 0.1  # past the budget: the webhook says success first
    recorder.answer = down_for(1)
    # the retry would wait past the shutdown
    monkeypatch.setattr(bot.budget, "OUTAGE_FIRST", timedelta(hours=1))
    monkeypatch.setattr(bot.budget, "OUTAGE_CAP", timedelta(hours=1))

    resp = await OA(client).post_safe(oa_text("帮助", sender="o_shutdown"))
    assert await resp.text() == "success"
    async with asyncio.timeout(5):
        while not recorder.calls:
            await asyncio.sleep(0.02)
    await asyncio.sleep(0.05)  # the late task is now waiting for its retry
    await client.server.app[TASKS].drain(timeout=0.01)  # what shutdown does

    row = await _redispatch_row()
    assert Update.from_payload(row.payload).sender == "o_shutdown"
    assert messenger.delivered == []


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


async def test_a_slow_stream_answer_whose_save_meets_an_outage_is_saved_later(
    bot_client: TestClient, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder.delay = 1.5  # past the first frame's budget: the answer is saved to the stream
    real_save = bot.streams.save
    saves: list[str] = []

    async def save(redis: Any, stream_id: str, state: Any) -> None:
        saves.append(stream_id)
        if len(saves) == 2:  # the late answer's save: Redis is down this once
            raise ConnectionRefusedError("connection refused")
        await real_save(redis, stream_id, state)

    monkeypatch.setattr(bot.streams, "save", save)
    wecom = WeComBot(bot_client)
    first = await wecom.reply(wecom.text("帮助", chat_id="wrkGroup3"))
    assert first is not None and first["stream"]["finish"] is False
    stream_id = first["stream"]["id"]
    async with asyncio.timeout(5):
        while True:
            frame = await wecom.reply(wecom.refresh(stream_id, chat_id="wrkGroup3"))
            assert frame is not None
            if frame["stream"]["finish"]:
                break
            await asyncio.sleep(0.05)
    assert "参团" in frame["stream"]["content"]
    assert len(saves) == 3 and len(recorder.calls) == 1


async def test_an_outage_whose_claim_cannot_be_given_back_is_tried_again_here(
    make_client: MakeClient,
    recorder: Recorder,
    messenger: FakeMessenger,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Redis, which holds the claim, is what is down: a 503 would bring re-deliveries that the
    claim turns away as duplicates, and the message would never be answered."""

    async def redis_down(*_: Any) -> None:
        raise ConnectionError("Redis refused the connection")

    monkeypatch.setattr(bot.dedupe.chat_gate, "release", redis_down)
    client = await make_client()
    recorder.answer = down_for(1)  # within the budget: an outage, then an answer

    resp = await OA(client).post_safe(oa_text("帮助", sender="o_claim_kept"))

    assert resp.status == 200 and await resp.text() == "success"
    await messenger.wait()
    [(update, reply)] = messenger.delivered
    assert update.sender == "o_claim_kept" and reply == Text("答复 帮助")
    assert len(recorder.calls) == 2
