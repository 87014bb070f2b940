"""The messenger against the fake WeChat server: shared tokens, limits, the outbox handler."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.messenger import Messenger
from models.community import Community
from models.outbox import OutboxMessage, OutboxStatus
from qunshop.assembly.app import create_app
from qunshop.assembly.background import outbox_handlers
from qunshop.chat import Card, ChatType, Platform, Text, Update
from qunshop.clock import FrozenClock
from qunshop.keys import MESSENGER, REDIS
from services import notify, outbox, ratelimit
from tests.support.factories import make_community, make_user
from tests.support.fake_wechat import FakeWeChat

SHANGHAI = ZoneInfo("Asia/Shanghai")
CUSTOM = "/cgi-bin/message/custom/send"
ROBOT = "/cgi-bin/webhook/send"
TOKEN_KEY = "qunshop:token:wechat:wx1234567890test"
ROBOT_KEY = "robot-key-0123456789abcdef"


@dataclass
class Env:
    app: web.Application
    messenger: Messenger
    clock: FrozenClock
    redis: Redis
    fake: FakeWeChat
    base: str

    async def run_outbox(self) -> int:
        return await outbox.run_once(outbox_handlers(self.app), now=self.clock.now())

    async def rows(self) -> dict[str, OutboxMessage]:
        return {row.dedupe_key: row for row in await OutboxMessage.all()}


MakeEnv = Callable[..., Awaitable[Env]]


@pytest.fixture
def make_env(
    make_settings: Callable[..., Any],
    start_client: Callable[[web.Application], Awaitable[TestClient]],
    fake_wechat: tuple[FakeWeChat, str],
) -> MakeEnv:
    fake, base = fake_wechat

    async def build(
        start: datetime = datetime(2026, 5, 1, 12, 0, 10, tzinfo=SHANGHAI), **overrides: Any
    ) -> Env:
        clock = FrozenClock(start)
        fake.robot_clock = clock.now  # the fake counts the robot's minutes on the same clock
        client = await start_client(
            create_app(make_settings(**overrides), clock=clock, background=False)
        )
        app = client.server.app
        return Env(app, app[MESSENGER], clock, app[REDIS], fake, base)

    return build


@pytest.fixture
async def env(make_env: MakeEnv) -> Env:
    return await make_env()


async def _robot_community() -> Community:
    community = await make_community()
    community.robot_key = ROBOT_KEY
    await community.save()
    return community


def _update(platform: Platform, *, chat_type: ChatType = ChatType.SINGLE, **extra: Any) -> Update:
    values: dict[str, Any] = {
        "platform": platform,
        "chat_id": "o-user" if chat_type is ChatType.SINGLE else "wrkGROUP1",
        "chat_type": chat_type,
        "sender": "o-user",
        "msg_id": "100001",
        "created_at": datetime(2026, 5, 1, 12, 0, 0, tzinfo=SHANGHAI),
        "text": "我的订单",
        **extra,
    }
    return Update(**values)


# Tokens -------------------------------------------------------------------------------------


async def test_one_token_fetch_when_two_workers_send_twenty_at_once(env: Env) -> None:
    env.fake.token_delay = 0.05  # a slow fetch: every sender misses the cache at once
    async with aiohttp.ClientSession() as other_http:
        other = Messenger(
            http=other_http, redis=env.redis, settings=env.messenger.settings, clock=env.clock
        )
        await asyncio.gather(
            *(
                (env.messenger if n % 2 else other).send_custom(f"o-{n}", notify.text("到货了"))
                for n in range(20)
            )
        )

    assert env.fake.token_fetches == 1
    assert len(env.fake.custom_messages) == 20
    token = env.fake.wechat_token
    assert {c.query["access_token"] for c in env.fake.calls_to(CUSTOM)} == {token}
    assert await env.redis.get(TOKEN_KEY) == token.encode()
    assert 6800 <= await env.redis.ttl(TOKEN_KEY) <= 6900


async def test_an_expired_token_is_refreshed_once_and_the_send_succeeds(env: Env) -> None:
    await env.messenger.send_custom("o-1", notify.text("一"))
    env.fake.expire_tokens()

    await env.messenger.send_custom("o-2", notify.text("二"))

    assert env.fake.token_fetches == 2
    assert [c.query["access_token"] for c in env.fake.calls_to(CUSTOM)] == [
        "ACCESS_TOKEN_000001",
        "ACCESS_TOKEN_000001",  # answered 42001
        "ACCESS_TOKEN_000002",
    ]
    assert [m["touser"] for m in env.fake.custom_messages] == ["o-1", "o-2"]
    assert await env.redis.get(TOKEN_KEY) == b"ACCESS_TOKEN_000002"


async def test_a_stale_token_in_redis_is_replaced(env: Env) -> None:
    await env.redis.set(TOKEN_KEY, "left-by-an-old-deploy", ex=3600)

    await env.messenger.send_custom("o-1", notify.text("hi"))

    assert env.fake.token_fetches == 1
    assert len(env.fake.custom_messages) == 1
    assert await env.redis.get(TOKEN_KEY) == env.fake.wechat_token.encode()


async def test_a_revoked_current_token_forces_a_refresh_at_most_every_30_seconds(env: Env) -> None:
    await env.messenger.send_custom("o-1", notify.text("一"))
    env.fake.revoked_tokens.add("ACCESS_TOKEN_000001")

    await env.messenger.send_custom("o-2", notify.text("二"))

    forces = [b"true" in c.body for c in env.fake.calls_to("/cgi-bin/stable_token")]
    assert forces == [False, False, True]
    env.fake.revoked_tokens.add(env.fake.wechat_token)
    await notify.queue(
        {"via": "custom", "to": "o-3", "message": notify.text("三")},
        dedupe_key="c",
        now=env.clock.now(),
    )
    assert await env.run_outbox() == 1
    row = (await env.rows())["c"]
    assert (row.status, row.attempts) == (OutboxStatus.PENDING, 1)  # retried later, not forced
    assert [b"true" in c.body for c in env.fake.calls_to("/cgi-bin/stable_token")] == [
        False,
        False,
        True,
        False,
    ]


# Customer service: window and quota -----------------------------------------------------------


async def test_out_of_window_and_quota_used_are_parked_not_retried(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    env.fake.out_of_window.add("o-gone")
    env.fake.custom_sent["o-chatty"] = 5
    for key, openid in (("gone", "o-gone"), ("chatty", "o-chatty"), ("fine", "o-fine")):
        await notify.queue(
            {"via": "custom", "to": openid, "message": notify.text("hi")},
            dedupe_key=key,
            now=env.clock.now(),
        )

    with caplog.at_level(logging.WARNING, logger="bot.messenger"):
        assert await env.run_outbox() == 3
    env.clock.advance(timedelta(hours=1))
    assert await env.run_outbox() == 0

    rows = await env.rows()
    assert (rows["gone"].status, rows["gone"].attempts) == (OutboxStatus.DEAD, 1)
    assert "45015" in rows["gone"].last_error
    assert (rows["chatty"].status, rows["chatty"].attempts) == (OutboxStatus.DEAD, 1)
    assert "45047" in rows["chatty"].last_error
    assert rows["fine"].status is OutboxStatus.DONE
    assert len(env.fake.calls_to(CUSTOM)) == 3
    assert [m["touser"] for m in env.fake.custom_messages] == ["o-fine"]
    assert sum("is final" in r.getMessage() for r in caplog.records) == 2


# The group robot ----------------------------------------------------------------------------


async def test_robot_sends_at_most_twenty_a_minute_and_the_rest_later(env: Env) -> None:
    community = await _robot_community()
    for n in range(25):
        await notify.to_group(
            community=community,
            message=notify.text(f"第 {n} 条"),
            dedupe_key=f"m:{n}",
            now=env.clock.now(),
        )

    assert await env.run_outbox() == 25
    first_minute = env.clock.now()
    assert env.fake.robot_sent_in_minute(ROBOT_KEY, first_minute) == 20
    assert len(env.fake.calls_to(ROBOT)) == 20  # the five were held back, not refused by WeChat
    statuses = [row.status for row in (await env.rows()).values()]
    assert statuses.count(OutboxStatus.DONE) == 20
    assert statuses.count(OutboxStatus.PENDING) == 5

    env.clock.advance(timedelta(seconds=30))  # still within 60 s of the twenty
    assert await env.run_outbox() == 5
    assert len(env.fake.calls_to(ROBOT)) == 20

    env.clock.advance(timedelta(seconds=31))
    assert await env.run_outbox() == 5
    assert env.fake.robot_sent_in_minute(ROBOT_KEY, env.clock.now()) == 5
    assert env.fake.robot_sent_in_minute(ROBOT_KEY, first_minute) == 20
    texts = {body["text"]["content"] for _, body in env.fake.robot_messages[ROBOT_KEY]}
    assert texts == {f"第 {n} 条" for n in range(25)}
    assert {row.status for row in (await env.rows()).values()} == {OutboxStatus.DONE}


async def test_robot_rate_limited_by_wechat_is_retried_later(env: Env) -> None:
    community = await _robot_community()
    env.fake.messaging_failures[ROBOT] = [45009]
    await notify.to_group(
        community=community, message=notify.text("hi"), dedupe_key="m", now=env.clock.now()
    )

    await env.run_outbox()
    row = (await env.rows())["notify:group:m"]
    assert (row.status, row.attempts) == (OutboxStatus.PENDING, 1) and "45009" in row.last_error

    env.clock.advance(timedelta(seconds=5))
    await env.run_outbox()
    assert (await env.rows())["notify:group:m"].status is OutboxStatus.DONE
    assert len(env.fake.robot_messages[ROBOT_KEY]) == 1
    day = env.clock.now().astimezone(SHANGHAI).strftime("%Y%m%d")
    # Only the delivered message counts against the group's day.
    quota = ratelimit.key(f"group-quota:{community.chat_id}:{day}")
    assert await env.redis.get(quota) == b"1"


async def test_group_daily_quota_drops_the_rest_until_the_shanghai_day_turns(
    make_env: MakeEnv,
) -> None:
    # 23:59 in Shanghai is 15:59 UTC: the UTC date does not change at the Shanghai midnight.
    env = await make_env(
        start=datetime(2026, 5, 1, 23, 59, 0, tzinfo=SHANGHAI), group_daily_quota=3
    )
    community = await _robot_community()
    for n in range(5):
        await notify.to_group(
            community=community,
            message=notify.text(f"{n}"),
            dedupe_key=f"d1:{n}",
            now=env.clock.now(),
        )

    assert await env.run_outbox() == 5
    statuses = [row.status for row in (await env.rows()).values()]
    assert statuses.count(OutboxStatus.DONE) == 3
    assert statuses.count(OutboxStatus.DEAD) == 2
    assert len(env.fake.robot_messages[ROBOT_KEY]) == 3

    env.clock.advance(timedelta(minutes=2))  # 00:01 on 2 May in Shanghai
    await notify.to_group(
        community=community, message=notify.text("新的一天"), dedupe_key="d2", now=env.clock.now()
    )
    assert await env.run_outbox() == 1
    assert (await env.rows())["notify:group:d2"].status is OutboxStatus.DONE
    assert len(env.fake.robot_messages[ROBOT_KEY]) == 4


# deliver(): late answers to chat updates -------------------------------------------------------


async def test_deliver_queues_one_row_and_the_outbox_sends_it_once(env: Env) -> None:
    update = _update(Platform.WECHAT)

    await env.messenger.deliver(update, Text("您有 2 笔订单"))
    await env.messenger.deliver(update, Text("您有 2 笔订单"))

    [row] = await OutboxMessage.all()
    assert row.kind == "chat.send" and row.dedupe_key == f"reply:{update.dedupe_key}"
    assert row.payload == {
        "via": "custom",
        "to": "o-user",
        "message": {"type": "text", "text": "您有 2 笔订单"},
    }
    handled = await asyncio.gather(env.run_outbox(), env.run_outbox())
    assert sum(handled) == 1
    env.clock.advance(timedelta(hours=1))
    assert await env.run_outbox() == 0
    assert env.fake.custom_messages == [
        {"touser": "o-user", "msgtype": "text", "text": {"content": "您有 2 笔订单"}}
    ]
    assert (await OutboxMessage.get(id=row.id)).status is OutboxStatus.DONE


async def test_deliver_to_the_wecom_app_user(env: Env) -> None:
    card = Card(title="三人团", description="还差 1 人", url="https://s.example/t/A")
    await env.messenger.deliver(_update(Platform.WECOM, sender="zhangsan"), card)

    assert await env.run_outbox() == 1
    assert env.fake.wecom_app_messages == [
        {
            "touser": "zhangsan",
            "agentid": env.messenger.settings.wecom_agent_id,
            "msgtype": "textcard",
            "textcard": {
                "title": "三人团",
                "description": "还差 1 人",
                "url": "https://s.example/t/A",
                "btntxt": "去看看",
            },
        }
    ]
    assert env.fake.wecom_token_fetches == 1 and env.fake.token_fetches == 0


async def test_deliver_through_the_bot_response_url(env: Env) -> None:
    card = Card(title="三人团", description="还差 1 人", url="https://s.example/t/A")
    url = f"{env.base}/cgi-bin/aibot/response?response_code="
    group = _update(
        Platform.WECOM_BOT, chat_type=ChatType.GROUP, msg_id="g1", response_url=url + "RC1"
    )
    single = _update(Platform.WECOM_BOT, msg_id="s1", response_url=url + "RC2")
    old = _update(
        Platform.WECOM_BOT,
        msg_id="o1",
        response_url=url + "RC3",
        created_at=env.clock.now() - timedelta(hours=2),
    )
    lost = _update(Platform.WECOM_BOT, msg_id="n1")
    for update in (group, single, old, lost):
        await env.messenger.deliver(update, card)

    assert await env.run_outbox() == 3  # no response_url: nothing to queue
    assert env.fake.responses["RC1"] == {
        "msgtype": "markdown",
        "markdown": {"content": "**三人团**\n还差 1 人\n[去看看](https://s.example/t/A)"},
    }
    assert env.fake.responses["RC2"]["msgtype"] == "template_card"
    assert "RC3" not in env.fake.responses
    rows = await env.rows()
    assert rows[f"reply:{old.dedupe_key}"].status is OutboxStatus.DEAD
    assert "expired" in rows[f"reply:{old.dedupe_key}"].last_error
    assert len(env.fake.calls_to("/cgi-bin/aibot/response")) == 2


# Subscribe messages and malformed rows ---------------------------------------------------------


async def test_subscribe_messages_and_refusals(env: Env) -> None:
    yes, no = await make_user(), await make_user()
    env.fake.subscribe_refused.add(no.openid)
    for user in (yes, no):
        await notify.subscribe(
            user=user,
            template_id="TPL",
            page="pages/order/index",
            data={"thing1": "苹果"},
            dedupe_key=str(user.id),
            now=env.clock.now(),
        )

    assert await env.run_outbox() == 2
    assert env.fake.subscribe_messages == [
        {
            "touser": yes.openid,
            "template_id": "TPL",
            "page": "pages/order/index",
            "data": {"thing1": {"value": "苹果"}},
        }
    ]
    rows = await env.rows()
    refused = rows[f"notify:subscribe:{no.id}"]
    assert refused.status is OutboxStatus.DEAD and "43101" in refused.last_error


async def test_a_malformed_row_is_parked(env: Env) -> None:
    await outbox.enqueue("chat.send", {"via": "custom"}, dedupe_key="bad", now=env.clock.now())
    await outbox.enqueue("chat.send", {"via": "pigeon"}, dedupe_key="odd", now=env.clock.now())
    assert await env.run_outbox() == 2
    rows = await env.rows()
    assert {rows["bad"].status, rows["odd"].status} == {OutboxStatus.DEAD}
    assert env.fake.calls == []
