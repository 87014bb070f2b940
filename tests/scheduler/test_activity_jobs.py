"""The clock's side of activities: Jobs renders each kind with its templates, and a clock
that starts after a deadline passed fires it once at start-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from models.activity import Activity, ActivityKind, ActivityRun
from models.catalog import Sku
from models.chat import ChatIdentity
from models.community import Community
from models.order import Order, OrderKind, OrderStatus
from models.outbox import OutboxMessage
from models.user import User
from qunshop.clock import FrozenClock
from qunshop.keys import CHAT_TEMPLATES, FLASH_GATE, REDIS
from scheduler.clockwork import Clockwork
from scheduler.jobs import Jobs
from services import activities, deadlines, flashbuy, notify
from services.activities import Draft
from services.auth import Principal
from services.flashsale import FlashSpec
from tests.support.factories import make_community, make_sku, make_user

NOW = datetime(2026, 3, 4, 0, 30, tzinfo=UTC)  # Wednesday 08:30 in Shanghai
NINE = datetime(2026, 3, 4, 1, 0, tzinfo=UTC)


@pytest.fixture
def jobs(client: TestClient, settings: Any) -> Jobs:
    app = client.server.app
    return Jobs(settings=settings, templates=app[CHAT_TEMPLATES], redis=app[REDIS])


async def _community() -> tuple[Community, User]:
    community = await make_community(name="阳光小区")
    await Community.filter(id=community.id).update(robot_key="robot-1")
    return await Community.get(id=community.id), await community.leader


async def _schedule(community: Community, leader: User, **draft: Any) -> activities.View:
    return await activities.create_activity(
        principal=Principal(user_id=leader.id, role=leader.role),
        community_id=community.id,
        draft=Draft(**draft),
        now=NOW,
    )


async def _messages() -> list[dict[str, Any]]:
    rows = await OutboxMessage.filter(kind=notify.KIND).order_by("created_at")
    return [row.payload for row in rows]


async def test_announcement_and_checkin_call_are_posted_into_the_group(jobs: Jobs) -> None:
    community, leader = await _community()
    await _schedule(
        community, leader, kind=ActivityKind.ANNOUNCEMENT, cron="0 9 * * *", text="到货"
    )
    await _schedule(community, leader, kind=ActivityKind.CHECKIN, cron="0 9 * * *")
    await jobs.due(NOW)
    assert await _messages() == []
    await jobs.due(NINE)
    sent = await _messages()
    assert {m["via"] for m in sent} == {notify.VIA_ROBOT}
    notice, call = sorted((m["message"]["text"] for m in sent), key=lambda t: "签到" in t)
    assert "阳光小区" in notice and "到货" in notice
    assert "发送「签到」" in call


async def test_flash_sale_card_is_posted_at_the_start(jobs: Jobs, settings: Any) -> None:
    community, leader = await _community()
    sku = await make_sku(community, stock=100)
    view = await _schedule(
        community,
        leader,
        kind=ActivityKind.FLASH_SALE,
        title="鸡蛋",
        run_at=NINE,
        flash=FlashSpec(sku_id=str(sku.id), price=990, stock=30, per_user_limit=2, minutes=60),
    )
    await jobs.due(NINE - timedelta(seconds=1))
    assert await _messages() == []
    await jobs.due(NINE)
    [posted] = await _messages()
    card = posted["message"]
    assert card["type"] == "card" and "鸡蛋" in card["title"] and "9.90" in card["title"]
    assert "限量 30 件" in card["description"] and "10:00" in card["description"]
    assert card["url"] == f"{settings.public_base_url}/h5/flash-sales/{view.flash_sale.id}"


async def test_a_flash_sale_without_a_title_names_its_goods(jobs: Jobs) -> None:
    """「活动 秒杀 明天 20:00 2 9.9 50」 gives no title: the card says what is on sale."""
    community, leader = await _community()
    sku = await make_sku(community, stock=100)  # 测试商品, its one SKU 默认
    await _schedule(
        community,
        leader,
        kind=ActivityKind.FLASH_SALE,
        run_at=NINE,
        flash=FlashSpec(sku_id=str(sku.id), price=990, stock=5, minutes=30),
    )
    await jobs.due(NINE)
    [posted] = await _messages()
    assert posted["message"]["title"] == "⚡ 秒杀开始：测试商品 ¥9.90"


async def test_a_flash_sale_over_while_the_server_was_down_posts_no_card(jobs: Jobs) -> None:
    community, leader = await _community()
    sku = await make_sku(community, stock=100)
    view = await _schedule(
        community,
        leader,
        kind=ActivityKind.FLASH_SALE,
        run_at=NINE,
        flash=FlashSpec(sku_id=str(sku.id), price=990, stock=30, minutes=30),
    )
    await jobs.due(NINE + timedelta(hours=2))
    assert await _messages() == []
    assert await ActivityRun.filter(activity_id=view.activity.id).count() == 1
    assert (await Activity.get(id=view.activity.id)).next_run_at is None


async def test_weekly_statement_goes_to_the_leader_only(jobs: Jobs) -> None:
    community, leader = await _community()
    await ChatIdentity.create(
        platform="wechat", external_id="leader-openid", user=leader, last_seen_at=NOW
    )
    sku = await make_sku(community)
    buyer = await make_user()
    last_week = NOW - timedelta(days=5)  # Friday of the week before
    for n, amount in enumerate((1990, 3010)):
        await Order.create(
            out_trade_no=f"QSWEEK{n}",
            kind=OrderKind.DIRECT,
            user=buyer,
            community=community,
            sku=sku,
            unit_price=amount,
            amount=amount,
            status=OrderStatus.CONFIRMED,
            paid_at=last_week,
        )
    await _schedule(community, leader, kind=ActivityKind.EARNINGS_STATEMENT, cron="0 9 * * 3")
    await jobs.due(NINE)
    [sent] = await _messages()
    assert sent["via"] == notify.VIA_CUSTOM and sent["to"] == "leader-openid"
    text = sent["message"]["text"]
    assert "2026-02-23 ~ 2026-03-01" in text
    assert "2 笔" in text and "50.00" in text


async def test_an_unpaid_flash_order_lapses_at_its_deadline(client: TestClient, jobs: Jobs) -> None:
    community, leader = await _community()
    sku = await make_sku(community, stock=100)
    view = await _schedule(
        community,
        leader,
        kind=ActivityKind.FLASH_SALE,
        run_at=NINE,
        flash=FlashSpec(sku_id=str(sku.id), price=990, stock=30, minutes=60),
    )
    await jobs.due(NINE)  # the card
    buyer = await make_user()
    order = (
        await flashbuy.buy(
            principal=Principal(user_id=buyer.id, role=buyer.role),
            sale_id=str(view.flash_sale.id),
            gate=client.server.app[FLASH_GATE],
            now=NINE + timedelta(minutes=1),
        )
    ).order
    assert await deadlines.next_due(NINE + timedelta(minutes=1)) == order.reserved_until
    await jobs.due(order.reserved_until - timedelta(seconds=1))
    assert (await Order.get(id=order.id)).status is OrderStatus.PENDING_PAYMENT
    await jobs.due(order.reserved_until)
    assert (await Order.get(id=order.id)).status is OrderStatus.CANCELLED
    assert (await Sku.get(id=sku.id)).stock == 70 + 1


async def test_a_clock_started_after_the_deadline_fires_it_once(
    client: TestClient, settings: Any, jobs: Jobs
) -> None:
    community, leader = await _community()
    await _schedule(community, leader, kind=ActivityKind.ANNOUNCEMENT, cron="0 9 * * *", text="早")
    # the server was down for two days; it starts with the clock there
    clockwork = Clockwork(
        redis=client.server.app[REDIS],
        settings=settings,
        clock=FrozenClock(NINE + timedelta(days=2, hours=1)),
        due=jobs.due,
        sweep=jobs.sweep,
    )
    await clockwork.sweep()
    await clockwork.sweep()
    assert len(await _messages()) == 1
    assert await ActivityRun.all().count() == 1
