"""Steps the bargain journeys share: an admin opens an offer, a chat member links the
mini-program with the link the bot sent them alone."""

from __future__ import annotations

from typing import Any

from models.catalog import Sku
from models.user import Role
from tests.journeys.doors import LINK_TOKEN, Doors
from tests.support.factories import auth, make_sku, make_user


async def admin_opens_offer(doors: Doors) -> tuple[dict[str, Any], dict[str, str], Sku]:
    """A SKU at ¥99.00 (five in stock) opened for bargaining down to ¥9.90 with three
    helpers over 24 hours, through the API: (the offer, the admin's headers, the SKU)."""
    sku = await make_sku(price=9900, stock=5)
    admin = auth(await make_user(Role.ADMIN), doors.settings, doors.clock.now())
    status, offer = await doors.api(
        "POST",
        "/api/v1/admin/bargain-offers",
        admin,
        json={"sku_id": str(sku.id), "floor_price": 990, "helpers_needed": 3, "hours": 24},
    )
    assert status == 201, offer
    return offer, admin, sku


async def member_links_mini(
    doors: Doors, userid: str, *, code: str, openid: str
) -> tuple[dict[str, str], dict[str, Any]]:
    """The WeCom member logs in to the mini-program and links it with the link the bot sent
    them: (their headers, the link's answer)."""
    (token,) = {
        found.group(1)
        for text in doors.wecom_member_receives(userid)
        if (found := LINK_TOKEN.search(text))
    }
    headers = await doors.log_in(code, openid)
    status, linked = await doors.api("POST", "/api/v1/me/links", headers, json={"token": token})
    assert status == 200, linked
    return headers, linked
