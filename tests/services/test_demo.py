from __future__ import annotations

from aiohttp.test_utils import TestClient

from models.catalog import Product, Sku
from models.community import Community, Membership, PickupPoint
from models.groupbuy import Campaign, Team, TeamStatus
from models.user import Role, User
from qunshop.config import Settings
from services import demo
from tests.support.factories import stock_left


async def test_demo_seeds_a_shop_once(client: TestClient, settings: Settings) -> None:
    summary = await demo.seed(settings=settings)
    assert "demo seeded" in summary
    assert await User.filter(role=Role.ADMIN).count() == 1
    leader = await User.get(role=Role.LEADER)
    community = await Community.get(leader=leader)
    assert community.chat_id
    point = await PickupPoint.get(community=community)
    assert point.address
    assert await Membership.filter(community=community).count() == 2
    assert await Product.filter(community=community).count() == len(demo.DEMO_PRODUCTS)
    skus = await Sku.all()
    assert skus and all(s.price > 0 and s.stock > 0 for s in skus)

    campaign = await Campaign.get()
    team = await Team.get(campaign=campaign)
    assert team.status is TeamStatus.OPEN and team.seats_held == 1
    assert await stock_left(campaign.id) == campaign.stock_cap - 1

    again = await demo.seed(settings=settings)
    assert "already has data" in again
    assert await User.all().count() == 3
