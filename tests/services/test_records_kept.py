"""Money and order records never vanish by a cascade (migration 0280), nor does a community
with its leader, or what a person made or decided with that person (migration 0310).

Deleting what an order names (its buyer, the community, its leader, the product, the SKU,
the campaign, the team) is refused by the database, naming the key, and every record stays,
counted row by row. The one door that takes a person away, ``DELETE /api/v1/me``, erases
the person and keeps the records (services/privacy_erasure.py); no door deletes the rest
(campaigns close, activities are cancelled), so a delete by hand is what these refuse.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.models import Model

from models.catalog import Product, Sku
from models.community import Community, PickupPoint
from models.groupbuy import Campaign, Seat, Team
from models.growth import EarningEntry
from models.order import Order, OrderStatus
from models.payment import Payment, Refund
from models.privacy import Erasure
from models.user import ApplicationStatus, LeaderApplication, Role, User
from qunshop.config import Settings
from services import checkout, groupbuy, refunds
from tests.support.aftersale_world import pay
from tests.support.factories import auth, make_campaign, make_community, make_user
from tests.support.fake_wechat import FakeWeChat
from tests.support.growth import paid_order, principal_of

World = dict[str, tuple[type[Model], Any]]  # a name: the model and the id of a row to delete
RECORDS: tuple[type[Model], ...] = (Order, Payment, Refund, Seat, EarningEntry, Team, Campaign)

# The children whose every key restricts, and the keys among theirs that still cascade
# (each part of its parent: the migration's docstring says why).
RECORD_TABLES = {
    "orders", "payments", "refunds", "seats", "earnings_ledger", "earning_statements",
    "points_ledger", "points_balances", "coupons", "after_sales", "group_claims",
    "claim_lines", "home_deliveries", "delivery_batches", "batch_orders", "batch_shortages",
    "pickup_arrivals", "pickup_verifications", "bargains", "bargain_cuts", "bill_differences",
}  # fmt: skip
STILL_CASCADING = [("bargain_cuts", "bargain_id"), ("bill_differences", "run_id")]

# The tables whose leader or maker key restricts (0310); since 0320 every other key of theirs
# restricts too (tests/services/test_records_kept_everywhere.py pins the whole schema).
MADE_BY_TABLES = {
    "communities", "activities", "bargain_offers", "broadcasts", "campaigns",
    "coupon_templates", "products", "segments", "growth_rules", "leader_applications",
    "listing_reviews", "review_decisions", "suppliers",
}  # fmt: skip
# A column that says who made, changed or decided a row, on any table, today's or a new one.
WHO_DID_IT = ("_by_id", "actor_id")

KEYS_SQL = """
SELECT c.conrelid::regclass::text AS child, a.attname AS col, c.confdeltype::text AS on_delete,
       c.convalidated AS validated
FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
WHERE c.contype = 'f'
"""


@pytest.fixture(autouse=True)
async def orm(client: TestClient) -> None:
    """The app's start-up opens the ORM these tests use."""


def _now() -> datetime:
    return datetime.now(tz=UTC)


async def counts() -> dict[str, int]:
    return {model.__name__: await model.all().count() for model in RECORDS}


async def team_world(settings: Settings, wechat: FakeWeChat) -> World:
    """A team of a campaign: its head cancelled and paid all the same (the payment is sent
    back), a member holds a seat unpaid. No ledger row: the ledgers' append-only triggers
    would refuse a cascade of their own, so only the keys keep these."""
    campaign = await make_campaign(team_size=3, stock_cap=10, group_price=990)
    head, member = await make_user(), await make_user()
    started = await groupbuy.start_team(
        principal=principal_of(head), campaign_id=str(campaign.id), now=_now()
    )
    await groupbuy.join_team(principal=principal_of(member), team_ref=started.team.code, now=_now())
    cancelled = await checkout.cancel(
        principal=principal_of(head), order_id=str(started.order.id), now=_now(), after_sale_days=7
    )
    await pay(settings, wechat, cancelled, _now(), honoured=False)  # came late: sent back
    assert await counts() == {
        "Order": 2, "Payment": 1, "Refund": 1, "Seat": 2, "EarningEntry": 0, "Team": 1,
        "Campaign": 1,
    }  # fmt: skip
    community = await Community.get(id=campaign.community_id)
    sku = await Sku.get(id=campaign.sku_id)
    return {
        "head": (User, head.id),
        "member": (User, member.id),
        "leader": (User, community.leader_id),
        "community": (Community, community.id),
        "product": (Product, sku.product_id),
        "sku": (Sku, sku.id),
        "campaign": (Campaign, campaign.id),
        "team": (Team, started.team.id),
    }


async def paid_world(settings: Settings, wechat: FakeWeChat) -> World:
    """A direct order paid (the leader's share accrued) and partly refunded (taken back).
    The ledger's trigger would refuse a cascade with an error of its own: the key is
    refused first, by name."""
    community = await make_community()
    buyer = await make_user()
    order = await paid_order(settings, wechat, buyer, community, price=2000)
    await refunds.refund_part(order_id=order.id, amount=500, reason="test", cause="t", now=_now())
    before = await counts()
    assert (before["Order"], before["Payment"], before["Refund"]) == (1, 1, 1)
    assert before["EarningEntry"] >= 2  # the share, and what the refund took back of it
    return {
        "buyer": (User, buyer.id),
        "leader": (User, community.leader_id),
        "community": (Community, community.id),
        "sku": (Sku, order.sku_id),
    }


WORLDS: dict[str, Callable[..., Awaitable[World]]] = {
    "team": team_world,
    "paid": paid_world,
}
CASES = [
    *(("team", p) for p in ("head", "member", "leader", "community", "product", "sku", "campaign")),
    ("team", "team"),
    *(("paid", p) for p in ("buyer", "leader", "community", "sku")),
]


@pytest.mark.parametrize(("world", "parent"), CASES, ids=[f"{w}-{p}" for w, p in CASES])
async def test_deleting_what_an_order_names_is_refused_and_keeps_every_record(
    settings: Settings, wechat: FakeWeChat, world: str, parent: str
) -> None:
    model, key = (await WORLDS[world](settings, wechat))[parent]
    before = await counts()

    with pytest.raises(IntegrityError, match="_fkey"):
        await model.filter(id=key).delete()

    assert await counts() == before
    assert await model.filter(id=key).exists()


async def cascading(tables: set[str]) -> list[tuple[str, str]]:
    """The keys of ``tables`` that do not restrict (each table checked to have keys)."""
    keys = await connections.get("default").execute_query_dict(KEYS_SQL)
    assert {k["child"] for k in keys} >= tables
    return sorted(
        (k["child"], k["col"]) for k in keys if k["child"] in tables and k["on_delete"] != "r"
    )


async def test_every_key_of_a_money_or_order_record_restricts() -> None:
    assert await cascading(RECORD_TABLES) == STILL_CASCADING


async def test_an_erased_shopper_keeps_the_records_and_no_delete_takes_them(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    """The member gives up her unpaid seat, then erases her account: she is a pseudonym,
    her order and seat are still counted, and deleting her row is refused."""
    world = await team_world(settings, wechat)
    member_id = world["member"][1]
    member = await User.get(id=member_id)
    order = await Order.get(user_id=member_id)
    await checkout.cancel(
        principal=principal_of(member), order_id=str(order.id), now=_now(), after_sale_days=7
    )
    before = await counts()

    erased = await client.delete("/api/v1/me", headers=auth(member, settings))

    assert erased.status == 200, await erased.text()
    assert await Erasure.exists(user_id=member_id)
    assert (await User.get(id=member_id)).openid == f"erased:{member_id.hex}"
    assert (await Order.get(id=order.id)).status is OrderStatus.CANCELLED
    assert await counts() == before
    with pytest.raises(IntegrityError, match="orders_user_id_fkey"):
        await User.filter(id=member_id).delete()
    assert await counts() == before


async def test_a_leader_and_whoever_made_or_decided_a_thing_are_keys_that_restrict() -> None:
    assert await cascading(MADE_BY_TABLES) == []
    keys = await connections.get("default").execute_query_dict(KEYS_SQL)
    who = {(k["child"], k["col"]): k["on_delete"] for k in keys if k["col"].endswith(WHO_DID_IT)}
    assert ("campaigns", "created_by_id") in who and ("review_decisions", "actor_id") in who
    assert {key: rule for key, rule in who.items() if rule != "r"} == {}
    assert [(k["child"], k["col"]) for k in keys if not k["validated"]] == []  # 0310 validated


async def test_deleting_a_leader_is_refused_and_keeps_their_community() -> None:
    """A community with nothing bought yet (no order's key to refuse it): its leader's row
    goes by hand only with the community, and that is refused, naming the key."""
    campaign = await make_campaign(team_size=3, stock_cap=10, group_price=990)
    community = await Community.get(id=campaign.community_id)

    with pytest.raises(IntegrityError, match="communities_leader_id_fkey"):
        await User.filter(id=community.leader_id).delete()

    assert await Community.filter(id=community.id, leader_id=community.leader_id).exists()
    assert await PickupPoint.exists(community_id=community.id)
    assert await Campaign.exists(id=campaign.id)
    assert await Sku.exists(id=campaign.sku_id)


@pytest.mark.parametrize("what", ["made", "decided"])
async def test_deleting_an_operator_keeps_what_they_made_or_decided_and_who_did(what: str) -> None:
    operator = await make_user(Role.ADMIN)
    community = await make_community()
    if what == "made":
        row: Model = await Product.create(
            title="运营上架的商品", category="fresh", community=community, created_by=operator
        )
        key = "products_created_by_id_fkey"
    else:  # decided_by is nullable: set to NULL it would read as nobody decided
        row = await LeaderApplication.create(
            user=await make_user(),
            community_name="新社区",
            pickup_name="门口",
            pickup_address="1 号楼",
            status=ApplicationStatus.REJECTED,
            decided_by=operator,
            decided_at=_now(),
            reason="地址不全",
            created_at=_now(),
        )
        key = "leader_applications_decided_by_id_fkey"

    with pytest.raises(IntegrityError, match=key):
        await User.filter(id=operator.id).delete()

    kept = await type(row).get(id=row.id)
    assert getattr(kept, "created_by_id" if what == "made" else "decided_by_id") == operator.id
