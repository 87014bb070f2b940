"""Two communities side by side, each with its leader, shopper, products, campaign, team,
orders (pending and paid, with a pickup code), a flash sale and share codes; and an admin.

Built through the HTTP door where a door exists, so every row is what the app itself makes.
Prices differ between the sides, and the orders' amounts are multiples no price shows, so an
order's amount in a response body is recognisably a leak.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from models.catalog import Product
from models.community import Community
from models.groupbuy import Campaign
from models.user import Role, User
from qunshop.config import Settings
from services import batches
from tests.support.factories import auth, join, make_campaign, make_community, make_sku, make_user
from tests.support.fake_wechat import FakeWeChat
from tests.support.growth import direct_order, pay


@dataclass
class Side:
    """One community and everything its people made."""

    name: str
    leader: User
    shopper: User
    community: Community
    product_id: str
    sku_id: str
    hidden_product_id: str  # inactive: only its leader and admins may see it
    campaign: Campaign
    team_id: str
    team_code: str
    group_order_id: str
    direct_order_id: str
    paid_order_id: str
    pickup_code: str
    activity_id: str
    sale_id: str
    share_code: str
    private_amounts: tuple[int, ...]  # the orders' amounts: no public price equals one
    after_sale_id: str = ""  # the shopper's after-sales request on the paid order
    batch_id: str = ""  # the delivery batch the paid order was cut into
    bargain_offer_id: str = ""  # an offer on this side's SKU (build_world opens it)
    bargain_code: str = ""  # this side's shopper's bargain on it

    @property
    def community_id(self) -> str:
        return str(self.community.id)

    @property
    def campaign_id(self) -> str:
        return str(self.campaign.id)

    def private_ids(self) -> set[str]:
        """What only this side's shopper, its leader and admins may see."""
        return {
            self.group_order_id,
            self.direct_order_id,
            self.paid_order_id,
            self.pickup_code,
            self.hidden_product_id,
            self.after_sale_id,
        }


@dataclass
class World:
    a: Side
    b: Side
    admin: User
    settings: Settings
    session_keys: dict[uuid.UUID, str] = field(default_factory=dict)  # WeChat's, per user

    def headers(self, user: User | None) -> dict[str, str]:
        return {} if user is None else auth(user, self.settings)


async def _ok(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    return await resp.json()


async def build_side(
    client: TestClient,
    settings: Settings,
    wechat: FakeWeChat,
    name: str,
    *,
    price: int,
    group_price: int,
    paid_price: int,
) -> Side:
    leader = await make_user(Role.LEADER, nickname=f"{name}-leader")
    shopper = await make_user(nickname=f"{name}-shopper")
    community = await make_community(leader, name=f"{name}-community")
    await join(shopper, community)
    as_leader, as_shopper = auth(leader, settings), auth(shopper, settings)

    sku = await make_sku(community, price=price, stock=100)
    hidden = await make_sku(community, price=price + 1, stock=5)
    await Product.filter(id=hidden.product_id).update(active=False)
    campaign = await make_campaign(community, group_price=group_price, stock_cap=20)

    started = await _ok(
        await client.post(f"/api/v1/campaigns/{campaign.id}/teams", json={}, headers=as_shopper),
        201,
    )
    direct = await _ok(
        await client.post(
            "/api/v1/orders",
            json={"sku_id": str(sku.id), "community_id": str(community.id), "quantity": 3},
            headers=as_shopper,
        ),
        201,
    )
    paid = await pay(
        settings, wechat, await direct_order(shopper, community, price=paid_price, quantity=2)
    )
    ticket = await _ok(
        await client.get(f"/api/v1/orders/{paid.id}/pickup", headers=as_shopper), 200
    )
    run_at = (datetime.now(tz=UTC) + timedelta(hours=2)).isoformat()
    activity = await _ok(
        await client.post(
            f"/api/v1/communities/{community.id}/activities",
            json={
                "kind": "flash_sale",
                "title": f"{name} flash",
                "run_at": run_at,
                "flash_sale": {"sku_id": str(sku.id), "price": price - 1, "stock": 5},
            },
            headers=as_leader,
        ),
        201,
    )
    shared = await _ok(
        await client.get(f"/api/v1/campaigns/{campaign.id}/share", headers=as_shopper), 200
    )
    after_sale = await _ok(
        await client.post(
            f"/api/v1/orders/{paid.id}/after-sales",
            json={"kind": "refund_only", "reason": "quality", "amount": 100},
            headers=as_shopper,
        ),
        201,
    )
    plan = await _ok(
        await client.put(
            f"/api/v1/communities/{community.id}/delivery-plan",
            json={"cutoff": "20:00"},
            headers=as_leader,
        ),
        200,
    )
    (batch,) = await batches.cut_due(now=datetime.fromisoformat(plan["next_cutoff_at"]))
    return Side(
        name=name,
        leader=leader,
        shopper=shopper,
        community=community,
        product_id=str(sku.product_id),
        sku_id=str(sku.id),
        hidden_product_id=str(hidden.product_id),
        campaign=campaign,
        team_id=started["team"]["id"],
        team_code=started["team"]["code"],
        group_order_id=started["order"]["id"],
        direct_order_id=direct["id"],
        paid_order_id=str(paid.id),
        pickup_code=ticket["code"],
        activity_id=activity["id"],
        sale_id=activity["flash_sale"]["id"],
        share_code=shared["code"],
        private_amounts=(direct["amount"], paid.amount),
        after_sale_id=after_sale["id"],
        batch_id=str(batch.id),
    )


async def build_world(client: TestClient, settings: Settings, wechat: FakeWeChat) -> World:
    a = await build_side(
        client, settings, wechat, "a", price=31_337, group_price=27_183, paid_price=16_180
    )
    b = await build_side(
        client, settings, wechat, "b", price=14_142, group_price=17_320, paid_price=22_360
    )
    admin = await make_user(Role.ADMIN, nickname="admin")
    offer = await _ok(
        await client.post(
            "/api/v1/admin/bargain-offers",
            json={"sku_id": a.sku_id, "floor_price": 1_001, "helpers_needed": 3, "hours": 48},
            headers=auth(admin, settings),
        ),
        201,
    )
    bargain = await _ok(
        await client.post(
            f"/api/v1/bargain-offers/{offer['id']}/bargains", headers=auth(a.shopper, settings)
        ),
        201,
    )
    a.bargain_offer_id, a.bargain_code = offer["id"], bargain["code"]
    return World(a=a, b=b, admin=admin, settings=settings)
