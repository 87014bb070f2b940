"""Speaking from services: one "chat.send" outbox row per message, or False when nobody hears."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient
from tortoise.transactions import in_transaction

from models.chat import ChatIdentity
from models.outbox import OutboxMessage, OutboxStatus
from services import notify
from tests.support.factories import make_community, make_user


@pytest.fixture(autouse=True)
async def orm(client: TestClient) -> None:
    """The app's start-up opens the ORM these tests use."""


def _now() -> datetime:
    return datetime.now(tz=UTC).replace(microsecond=0)


async def test_to_group_without_a_robot_sends_nothing() -> None:
    community = await make_community()
    sent = await notify.to_group(
        community=community, message=notify.text("开团啦"), dedupe_key="k", now=_now()
    )
    assert sent is False
    assert await OutboxMessage.all().count() == 0


async def test_to_group_queues_one_row_per_key() -> None:
    community = await make_community()
    community.robot_key = "robot-key-1"
    await community.save()
    message = notify.card(title="三人团", description="还差 1 人", url="https://s.example/t/A")

    for _ in range(2):
        assert await notify.to_group(
            community=community, message=message, dedupe_key="team:1:60", now=_now()
        )

    [row] = await OutboxMessage.all()
    assert (row.kind, row.dedupe_key, row.status) == (
        notify.KIND,
        "notify:group:team:1:60",
        OutboxStatus.PENDING,
    )
    assert row.payload == {
        "via": "robot",
        "key": "robot-key-1",
        "group": community.chat_id,
        "message": {
            "type": "card",
            "title": "三人团",
            "description": "还差 1 人",
            "url": "https://s.example/t/A",
            "picture_url": "",
            "button_text": "去看看",
            "mini_program_path": None,
        },
    }


async def test_a_rolled_back_transaction_leaves_no_message() -> None:
    community = await make_community()
    community.robot_key = "robot-key-1"
    await community.save()
    with pytest.raises(RuntimeError):
        async with in_transaction():
            await notify.to_group(
                community=community, message=notify.text("x"), dedupe_key="k", now=_now()
            )
            raise RuntimeError("the use case failed")
    assert await OutboxMessage.all().count() == 0


async def test_to_user_within_48_hours_of_their_last_message() -> None:
    now = _now()
    user = await make_user()
    await ChatIdentity.create(
        platform="wechat", external_id="o-oa-1", user=user, last_seen_at=now - timedelta(hours=47)
    )
    assert await notify.to_user(
        user=user, message=notify.text("明天 9 点取货"), dedupe_key="pickup:1", now=now
    )
    [row] = await OutboxMessage.all()
    assert row.dedupe_key == "notify:user:pickup:1"
    assert row.payload == {
        "via": "custom",
        "to": "o-oa-1",
        "message": {"type": "text", "text": "明天 9 点取货"},
    }


async def test_to_user_outside_the_window_or_without_a_chat_is_none() -> None:
    now = _now()
    quiet = await make_user()
    await ChatIdentity.create(
        platform="wechat", external_id="o-quiet", user=quiet, last_seen_at=now - timedelta(hours=49)
    )
    for user in (quiet, await make_user()):
        assert (
            await notify.to_user(
                user=user, message=notify.text("hi"), dedupe_key=f"k:{user.id}", now=now
            )
            is None
        )
    assert await OutboxMessage.all().count() == 0


async def test_to_user_reaches_a_wecom_member_by_the_app_at_any_time() -> None:
    """WeCom's app message needs no window: a WeCom shopper is told too, where they chat
    last when they have both."""
    now = _now()
    wecom_only = await make_user()
    await ChatIdentity.create(
        platform="wecom_bot", external_id="zhangsan", user=wecom_only, last_seen_at=None
    )
    both = await make_user()
    await ChatIdentity.create(platform="wecom", external_id="lisi", user=both, last_seen_at=None)
    await ChatIdentity.create(
        platform="wechat", external_id="o-lisi", user=both, last_seen_at=now - timedelta(hours=1)
    )
    for user, via, to in ((wecom_only, "wecom_app", "zhangsan"), (both, "custom", "o-lisi")):
        sent = await notify.to_user(
            user=user, message=notify.text("hi"), dedupe_key=f"k:{user.id}", now=now
        )
        assert sent == via
        row = await OutboxMessage.get(dedupe_key=f"notify:user:k:{user.id}")
        assert (row.payload["via"], row.payload["to"]) == (via, to)
    assert await notify.reachable([wecom_only.id, both.id, (await make_user()).id], now) == {
        wecom_only.id,
        both.id,
    }


async def test_subscribe_needs_a_mini_program_openid() -> None:
    now = _now()
    shopper = await make_user()
    assert await notify.subscribe(
        user=shopper,
        template_id="TPL-1",
        page="pages/order/index?id=1",
        data={"thing1": "苹果", "amount2": {"value": "¥9.90"}},
        dedupe_key="paid:1",
        now=now,
    )
    met_in_chat = await make_user()
    met_in_chat.openid = "wechat:o-oa-2"
    await met_in_chat.save()
    assert not await notify.subscribe(
        user=met_in_chat, template_id="TPL-1", page="p", data={}, dedupe_key="paid:2", now=now
    )

    [row] = await OutboxMessage.all()
    assert row.payload == {
        "via": "subscribe",
        "to": shopper.openid,
        "template_id": "TPL-1",
        "page": "pages/order/index?id=1",
        "data": {"thing1": {"value": "苹果"}, "amount2": {"value": "¥9.90"}},
    }


async def test_long_keys_are_hashed_to_fit() -> None:
    community = await make_community()
    community.robot_key = "robot-key-1"
    await community.save()
    key = "x" * 200
    assert await notify.to_group(
        community=community, message=notify.text("x"), dedupe_key=key, now=_now()
    )
    [row] = await OutboxMessage.all()
    assert len(row.dedupe_key) <= 128 and row.dedupe_key.startswith("notify:group:sha256:")


def test_messages_no_platform_can_send_are_refused() -> None:
    with pytest.raises(ValueError):
        notify.check_message({"type": "image", "url": "x"})
    with pytest.raises(ValueError):
        notify.check_message({"type": "text", "text": ""})
    with pytest.raises(ValueError):
        notify.check_message({"type": "card", "title": "no url"})
