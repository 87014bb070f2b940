"""The constraints the models declare exist in the migrated database, on either backend."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient
from tortoise.exceptions import IntegrityError, OperationalError

from models.catalog import Sku
from models.groupbuy import Campaign
from models.order import Order
from tests.support.factories import make_campaign, make_sku, make_user

pytestmark = pytest.mark.usefixtures("client")


async def test_stock_cannot_go_negative() -> None:
    sku = await make_sku(stock=1)
    with pytest.raises((IntegrityError, OperationalError)):
        await Sku.filter(id=sku.id).update(stock=-1)
    campaign = await make_campaign(stock_cap=2)
    with pytest.raises((IntegrityError, OperationalError)):
        await Campaign.filter(id=campaign.id).update(stock_left=-1)


async def test_order_amount_check_survives_later_migrations(client: TestClient) -> None:
    campaign = await make_campaign()
    user = await make_user()
    with pytest.raises((IntegrityError, OperationalError)):
        await Order.create(
            out_trade_no="QSNEGATIVE",
            kind="direct",
            user=user,
            sku_id=campaign.sku_id,
            unit_price=1,
            amount=-5,
        )
