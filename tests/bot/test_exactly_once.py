"""Exactly once under WeChat's overlapping retries, and the 5-second rule."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.test_utils import TestClient

from models.chat import ChatIdentity
from models.outbox import OutboxMessage
from qunshop.assembly.app import create_app
from qunshop.chat import Text
from qunshop.config import Settings
from tests.bot.conftest import FakeMessenger, MakeClient, Recorder
from tests.bot.helpers import OA, WeComApp, nonce, now_ts, oa_event, oa_text


async def test_three_overlapping_deliveries_dispatch_once(
    bot_client: TestClient, recorder: Recorder
) -> None:
    recorder.delay = 0.1  # the first attempt is still running when the retries land
    oa = OA(bot_client)
    xml = oa_text("帮助", sender="o_retry")
    ts, n = now_ts(), nonce()
    query, body = oa.seal(xml, ts, n)  # byte-identical deliveries, as WeChat re-sends them
    responses = await asyncio.gather(
        *(bot_client.post("/bot/wechat", params=query, data=body) for _ in range(3))
    )
    assert [r.status for r in responses] == [200, 200, 200]
    bodies = [await r.text() for r in responses]
    assert bodies.count("success") == 2
    [answer] = [b for b in bodies if b != "success"]
    assert "参团" in oa.open(answer)
    assert len(recorder.calls) == 1
    identity = await ChatIdentity.get(platform="wechat", external_id="o_retry")
    assert identity.last_seen_at is not None
    assert await ChatIdentity.filter(external_id="o_retry").count() == 1


async def test_event_retries_dedupe_on_sender_and_time(
    bot_client: TestClient, recorder: Recorder
) -> None:
    oa = OA(bot_client)
    xml = oa_event("subscribe", "qrscene_7", sender="o_follow", create_time="1700000000")
    results = await asyncio.gather(*(oa.post(xml) for _ in range(3)))
    bodies = [await r.text() for r in results]
    assert bodies.count("success") == 2  # one welcome, two acknowledgements
    assert len(recorder.calls) == 1
    await oa.post(oa_event("subscribe", "qrscene_7", sender="o_follow", create_time="1700000001"))
    assert len(recorder.calls) == 2  # another event time is another event


async def test_a_slow_answer_goes_out_through_the_messenger(
    make_client: MakeClient, recorder: Recorder, messenger: FakeMessenger
) -> None:
    client = await make_client(chat_reply_budget=0.2)
    recorder.hold = asyncio.Event()  # the handler cannot finish until the webhook answered
    oa = OA(client)
    resp = await oa.post_safe(oa_text("帮助", sender="o_slow"))
    assert await resp.text() == "success"  # the budget, not the handler, decided
    assert messenger.delivered == []
    recorder.hold.set()
    await messenger.wait()
    [(update, reply)] = messenger.delivered
    assert update.sender == "o_slow" and isinstance(reply, Text) and "参团" in reply.content
    assert len(recorder.calls) == 1


async def test_a_slow_wecom_app_answer_and_its_retry(
    make_client: MakeClient, recorder: Recorder, messenger: FakeMessenger
) -> None:
    client = await make_client(chat_reply_budget=0.1)
    recorder.delay = 0.3
    wecom = WeComApp(client)
    xml = wecom.xml("help", sender="wangwu", msg_id="9911")
    first = await wecom.post(xml)
    retry = await wecom.post(xml)  # WeChat's retry while we are still working
    assert await first.text() == await retry.text() == "success"
    await messenger.wait()
    [(update, reply)] = messenger.delivered
    assert update.msg_id == "9911" and isinstance(reply, Text)
    assert len(recorder.calls) == 1


async def test_a_failing_handler_is_acknowledged(
    bot_client: TestClient, recorder: Recorder, messenger: FakeMessenger
) -> None:
    def boom(update: object) -> None:
        raise RuntimeError("handler bug")

    recorder.answer = boom
    resp = await OA(bot_client).post(oa_text("help"))
    assert resp.status == 200 and await resp.text() == "success"
    assert messenger.delivered == []


async def test_a_slow_answer_reaches_the_real_messengers_outbox(
    make_settings: Callable[..., Settings],
    start_client: Callable[[web.Application], Awaitable[TestClient]],
    recorder: Recorder,
) -> None:
    app = create_app(make_settings(chat_reply_budget=0.1), background=False)  # no double
    client = await start_client(app)
    recorder.delay = 0.3
    resp = await OA(client).post(oa_text("帮助", sender="o_outbox"))
    assert await resp.text() == "success"
    async with asyncio.timeout(3):
        while not await OutboxMessage.filter(kind="chat.send").exists():
            await asyncio.sleep(0.02)
    [row] = await OutboxMessage.filter(kind="chat.send")
    assert row.payload["via"] == "custom" and row.payload["to"] == "o_outbox"
    assert "参团" in json.dumps(row.payload["message"], ensure_ascii=False)
