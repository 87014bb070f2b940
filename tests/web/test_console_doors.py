"""The leader console's doors: answering a product review, and setting the delivery cut-off
the batches page asks for."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient

from models.chat import ChatIdentity
from models.delivery import DeliveryPlan
from models.moderation import Shown
from models.review import Review
from models.user import User
from qunshop.chat import Platform
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from tests.support.factories import make_community, make_user
from tests.support.fake_wechat import FakeWeChat
from tests.support.growth import now, paid_order
from tests.web.test_console import _login, _say


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(tz=UTC))


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


async def _leader(client: TestClient, name: str = "幸福里社区") -> tuple[object, str]:
    community = await make_community(name=name)
    leader = await User.get(id=community.leader_id)
    await ChatIdentity.create(platform=Platform.WECOM_BOT.value, external_id="liu", user=leader)
    link = re.search(r"http\S+/console/login\?token=\S+", await _say(client, "后台", "liu"))
    return community, await _login(client, link.group(0))


async def test_a_leader_replies_to_a_review_once(
    web_client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    community, cookies = await _leader(web_client)
    buyer = await make_user(nickname="小李")
    order = await paid_order(settings, wechat, buyer, community)
    await order.fetch_related("sku__product")
    review = await Review.create(
        order=order,
        author=buyer,
        product=order.sku.product,
        community=community,
        rating=4,
        text="橙子很甜",
        shown=Shown.VISIBLE,
        created_at=now(),
    )
    home = await (await web_client.get("/console", headers={"Cookie": cookies})).text()
    assert 'href="/console/reviews"' in home and 'href="/console/delivery"' in home
    page = await web_client.get("/console/reviews", headers={"Cookie": cookies})
    html = await page.text()
    assert page.status == 200 and "小李：橙子很甜" in html and "★★★★☆" in html
    assert f"{order.sku.product.title} · " in html
    done = await web_client.post(
        "/console/reviews/reply",
        data={"csrf_token": _csrf(html), "review_id": str(review.id), "text": "谢谢支持"},
        headers={"Cookie": cookies},
    )
    html = await done.text()
    # The reply names who wrote it: the leader, by nickname (the factory's is "leader").
    assert done.status == 200 and "已回复" in html and "leader 回复：谢谢支持" in html
    assert (await Review.get(id=review.id)).reply_text == "谢谢支持"
    again = await web_client.post(
        "/console/reviews/reply",
        data={"csrf_token": _csrf(html), "review_id": str(review.id), "text": "再说一次"},
        headers={"Cookie": cookies},
    )
    assert again.status == 409 and "text/html" in again.content_type
    forged = await web_client.post(
        "/console/reviews/reply",
        data={"csrf_token": "0" * 64, "review_id": str(review.id), "text": "x"},
        headers={"Cookie": cookies},
    )
    assert forged.status == 403


async def test_a_leader_sets_the_delivery_cutoff(web_client: TestClient) -> None:
    community, cookies = await _leader(web_client)
    page = await web_client.get("/console/delivery", headers={"Cookie": cookies})
    html = await page.text()
    assert page.status == 200 and "幸福里社区" in html and "还没有设置截单时间" in html
    batches = await (await web_client.get("/console/batches", headers={"Cookie": cookies})).text()
    assert 'href="/console/delivery"' in batches
    done = await web_client.post(
        "/console/delivery",
        data={
            "csrf_token": _csrf(html),
            "community_id": str(community.id),
            "cutoff": "21:30",
            "home_delivery": "on",
            "delivery_fee": "3.50",
        },
        headers={"Cookie": cookies},
    )
    html = await done.text()
    assert done.status == 200 and "已设置：每天 21:30 截单" in html and "送货上门 ¥3.50/单" in html
    plan = await DeliveryPlan.get(community_id=community.id)
    assert (plan.cutoff, plan.home_delivery, plan.delivery_fee) == ("21:30", True, 350)
    assert plan.next_cutoff_at is not None
    bad = await web_client.post(
        "/console/delivery",
        data={"csrf_token": _csrf(html), "community_id": str(community.id), "cutoff": "25:00"},
        headers={"Cookie": cookies},
    )
    assert bad.status == 400 and "text/html" in bad.content_type
    assert "截单时间：请按 20:00 这样填写（00:00 到 23:59）" in await bad.text()
    dear = await web_client.post(
        "/console/delivery",
        data={
            "csrf_token": _csrf(html),
            "community_id": str(community.id),
            "cutoff": "21:30",
            "home_delivery": "on",
            "delivery_fee": "9999999",
        },
        headers={"Cookie": cookies},
    )
    assert dear.status == 422 and "配送设置有误" in await dear.text()
    assert (await DeliveryPlan.get(community_id=community.id)).delivery_fee == 350
