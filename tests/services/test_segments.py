"""Segments: a rule's members equal a recount from the raw orders; a send reaches members
within consent, the 48-hour window and a daily quota, and later orders are attributed."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from models.catalog import Product, Sku
from models.chat import ChatIdentity
from models.community import Membership
from models.order import Order, OrderStatus
from models.outbox import OutboxMessage
from models.segment import Broadcast
from models.user import Role
from qunshop.chat import Platform
from qunshop.config import Settings
from services import subscriptions
from tests.support.factories import auth, make_community, make_user

_n = itertools.count(1)


async def sku_of(community: Any, category: str) -> Sku:
    product = await Product.create(
        title=category, category=category, community=community, created_by_id=community.leader_id
    )
    return await Sku.create(product=product, name="默认", price=1000, stock=0)


async def paid(user: Any, community: Any, sku: Sku, days_ago: float, *, refunded: bool = False):
    when = datetime.now(tz=UTC) - timedelta(days=days_ago)
    return await Order.create(
        out_trade_no=f"QSSEG{next(_n):06d}",
        kind="direct",
        user=user,
        community=community,
        sku=sku,
        unit_price=1000,
        amount=1000,
        paid_at=when,
        status=OrderStatus.REFUNDED if refunded else OrderStatus.PICKED_UP,
    )


async def a_community() -> dict[str, Any]:
    community = await make_community()
    fruit, veg = await sku_of(community, "fruit"), await sku_of(community, "veg")
    people = {name: await make_user(nickname=name) for name in "abcdefg"}
    for name, person in people.items():
        if name != "g":  # g never pressed 加入 but buys there: a member all the same
            await Membership.create(user=person, community=community)
    history = {  # (category, days ago, refunded)
        "a": [("fruit", 30, False), ("fruit", 20, False)],  # in: twice, silent 20 days
        "b": [("fruit", 40, False), ("fruit", 35, False), ("veg", 3, False)],  # bought lately
        "c": [("fruit", 30, False)],  # once only
        "d": [("fruit", 30, False), ("fruit", 25, True)],  # the second was refunded
        "e": [("veg", 30, False), ("veg", 20, False), ("fruit", 16, False), ("fruit", 15, False)],
        "f": [],
        "g": [("fruit", 30, False), ("fruit", 29, False)],  # in: a buyer is a member
    }
    for name, orders in history.items():
        for category, days, refunded in orders:
            sku = fruit if category == "fruit" else veg
            await paid(people[name], community, sku, days, refunded=refunded)
    elsewhere = await make_community()
    outsider = await make_user()  # buys fruit in another community: not this one's member
    await paid(outsider, elsewhere, await sku_of(elsewhere, "fruit"), 30)
    await paid(outsider, elsewhere, await sku_of(elsewhere, "fruit"), 29)
    return {"community": community, "people": people, "history": history, "fruit": fruit}


def recount(history: dict[str, list[Any]], *, category: str, times: int, silent: int) -> set[str]:
    found = set()
    for name, orders in history.items():
        kept = [o for o in orders if not o[2]]
        matching = [o for o in kept if o[0] == category]
        last = min((o[1] for o in kept), default=None)
        if len(matching) >= times and (last is None or last >= silent):
            found.add(name)
    return found


async def test_a_rule_matches_a_recount_and_news_reaches_within_consent_and_quota(
    client: TestClient, settings: Settings
) -> None:
    world = await a_community()
    community, people = world["community"], world["people"]
    leader = auth(await community.leader, settings)
    rule = {"category": "fruit", "min_orders": 2, "silent_days": 14}
    expected = recount(world["history"], category="fruit", times=2, silent=14)
    assert expected == {"a", "e", "g"}

    made = await client.post(
        f"/api/v1/communities/{community.id}/segments",
        json={"name": "水果老客", "rule": rule},
        headers=leader,
    )
    assert made.status == 201, await made.text()
    segment = await made.json()
    assert segment["members"] == len(expected)
    listed = await client.get(f"/api/v1/segments/{segment['id']}/members", headers=leader)
    ids = {m["user_id"] for m in (await listed.json())["items"]}
    assert ids == {str(people[n].id) for n in expected}

    rfm = await (await client.get(f"/api/v1/communities/{community.id}/rfm", headers=leader)).json()
    scores = {m["user_id"]: m for m in rfm["items"]}
    assert scores[str(people["b"].id)]["recency"] == 5  # bought three days ago
    assert scores[str(people["f"].id)]["frequency"] == 1 and len(scores) == 7

    # a: wrote to the Official Account an hour ago; e: accepted the template once.
    now = datetime.now(tz=UTC)
    await ChatIdentity.create(
        platform=Platform.WECHAT.value,
        external_id="oa-a",
        user=people["a"],
        last_seen_at=now - timedelta(hours=1),
    )
    promo = settings.subscribe_template_promotion
    unknown = await client.post(
        f"/api/v1/segments/{segment['id']}/broadcasts",
        json={"text": "新到的脐橙", "template_id": "made-up"},
        headers=leader,
    )
    assert unknown.status == 422
    assert (await unknown.json())["code"] == "unknown_subscribe_template"
    assert not await Broadcast.filter(segment_id=segment["id"]).exists()  # nothing sent
    await subscriptions.accepted(user_id=people["e"].id, template_ids=[promo], known=[promo])
    sent = await client.post(
        f"/api/v1/segments/{segment['id']}/broadcasts",
        json={"text": "新到的脐橙，老客专享", "template_id": promo},
        headers=leader,
    )
    assert sent.status == 201, await sent.text()
    first = await sent.json()
    # g (a member by buying) never wrote nor accepted: the news is not sent to them.
    assert (first["audience"], first["sent"], first["skipped_consent"]) == (3, 2, 1)
    queued = await OutboxMessage.filter(dedupe_key__contains=f"broadcast:{first['id']}").count()
    assert queued == 2
    again = await (
        await client.post(
            f"/api/v1/segments/{segment['id']}/broadcasts",
            json={"text": "再说一次"},
            headers=leader,
        )
    ).json()
    assert (again["sent"], again["skipped_quota"]) == (0, 2)  # one a day each

    # a buys fruit after the news: the order is attributed to the first send.
    await paid(people["a"], community, world["fruit"], -0.01)
    sends = await (
        await client.get(f"/api/v1/segments/{segment['id']}/broadcasts", headers=leader)
    ).json()
    by_id = {s["id"]: s for s in sends["items"]}
    assert (by_id[first["id"]]["converted_buyers"], by_id[first["id"]]["converted_gmv"]) == (
        1,
        1000,
    )


async def test_segments_are_the_leaders_own(client: TestClient, settings: Settings) -> None:
    world = await a_community()
    community = world["community"]
    stranger = auth(await make_user(Role.LEADER), settings)
    refused = await client.post(
        f"/api/v1/communities/{community.id}/segments",
        json={"name": "x", "rule": {}},
        headers=stranger,
    )
    assert refused.status == 403
    bad = await client.post(
        f"/api/v1/communities/{community.id}/segments",
        json={"name": "x", "rule": {"min_orders": -1}},
        headers=auth(await community.leader, settings),
    )
    assert bad.status == 422
