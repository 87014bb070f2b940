from __future__ import annotations

from aiohttp.test_utils import TestClient

from models.bargain import BargainOffer
from models.catalog import Product, Sku
from models.community import Community, Membership, PickupPoint
from models.groupbuy import Campaign, Team, TeamStatus
from models.user import Role, User
from qunshop.config import Settings
from services import aftersales, demo
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

    (offer,) = await BargainOffer.all().prefetch_related("sku__product")
    assert (offer.sku.product.title, offer.sku.name, offer.active) == ("东北五常大米", "10斤", True)
    assert offer.floor_price < offer.sku.price and "砍价" in summary

    again = await demo.seed(settings=settings)
    assert "already has data" in again
    assert await User.all().count() == 3


async def test_the_demo_fruit_and_eggs_take_no_seven_day_no_reason_return(
    client: TestClient, settings: Settings
) -> None:
    """消费者权益保护法 art. 25 exempts fresh and perishable goods: the demo shop says so for
    its oranges and eggs, as a real shop's admin would, and keeps it for its rice."""
    await demo.seed(settings=settings)
    for title, takes_it in (("赣南脐橙", False), ("散养土鸡蛋", False), ("东北五常大米", True)):
        sku = await Sku.filter(product__title=title).first()
        assert sku is not None
        assert await aftersales.no_reason_return(sku.id) is takes_it, title
