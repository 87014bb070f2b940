"""领券, 我的券 and 积分 through the dispatcher, checked against the database."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient

from models.chat import ChatIdentity
from models.coupon import Coupon
from models.user import User
from qunshop.chat import Platform, Text
from services import checkin, points
from services.auth import Principal
from tests.handlers.conftest import Say
from tests.services.marketing_world import make_template, now
from tests.support.factories import make_community, make_user


async def _shopper(sender: str) -> User:
    user = await make_user()
    await ChatIdentity.create(platform=Platform.WECOM_BOT.value, external_id=sender, user=user)
    return user


async def test_claim_in_private_then_list_mine(say: Say, client: TestClient) -> None:
    await make_template(name="全场无门槛", threshold=0, amount_off=300, stock_total=5)
    user = await _shopper("li")
    listing = await say("coupons", sender="li", chat_id=None)
    assert (
        isinstance(listing, Text) and "1. 全场无门槛 · 无门槛减¥3.00 · 剩 5 张" in listing.content
    )
    claimed = await say("领券 1", sender="li", chat_id=None)
    assert isinstance(claimed, Text) and claimed.content.startswith("🎉 领到了：全场无门槛")
    assert await Coupon.filter(user_id=user.id).count() == 1
    unknown = await say("领券 9", sender="li", chat_id=None)
    assert isinstance(unknown, Text) and "没有第 9 张券（现在共 1 张可领）" in unknown.content
    mine = await say("我的券", sender="li", chat_id=None)
    assert isinstance(mine, Text) and "全场无门槛" in mine.content and "可用" in mine.content


async def test_concurrent_chat_claims_stop_at_the_stock(say: Say, client: TestClient) -> None:
    template = await make_template(threshold=0, amount_off=100, stock_total=3)
    for i in range(12):
        await _shopper(f"s{i}")
    answers = await asyncio.gather(
        *(say("领券 1", sender=f"s{i}", chat_id=None) for i in range(12))
    )
    texts = [a.content for a in answers if isinstance(a, Text)]
    assert sum(t.startswith("🎉 领到了") for t in texts) == 3
    assert sum("被领完了" in t for t in texts) + sum("没有可以领" in t for t in texts) == 9
    assert await Coupon.filter(template_id=template.id).count() == 3


async def test_points_in_chat(say: Say, client: TestClient) -> None:
    community = await make_community()
    user = await _shopper("li")
    await checkin.check_in(
        principal=Principal(user_id=user.id, role=user.role),
        community_id=community.id,
        now=now(),
        from_group_chat=True,
    )
    reply = await say("积分", sender="li", chat_id=None)
    assert isinstance(reply, Text)
    assert reply.content.startswith("你有 1 积分（100 积分抵 1 元") and "签到 +1" in reply.content
    assert await points.balance(user.id) == 1
