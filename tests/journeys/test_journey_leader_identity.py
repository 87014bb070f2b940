"""A new leader's community takes no payment until the leader's real name and phone are
verified by the verification provider (the stand-in, as development and tests run)."""

from __future__ import annotations

from models.community import Community
from models.user import Role, User
from tests.journeys.doors import Doors
from tests.support.factories import auth, make_sku, make_user


async def test_payments_wait_for_the_leaders_verified_identity(doors: Doors) -> None:
    zhao = await make_user(nickname="赵团长")
    operator = await make_user(Role.ADMIN)
    as_zhao = auth(zhao, doors.settings, doors.clock.now())
    as_operator = auth(operator, doors.settings, doors.clock.now())
    status, applied = await doors.api(
        "POST",
        "/api/v1/me/leader/application",
        as_zhao,
        json={"community_name": "翠湖小区团", "pickup_name": "北门", "pickup_address": "翠湖 1 号"},
    )
    assert status == 201, applied
    status, approved = await doors.api(
        "POST", f"/api/v1/admin/leader-applications/{applied['id']}/approve", as_operator
    )
    assert status == 200, approved
    zhao = await User.get(id=zhao.id)  # a leader now
    as_zhao = auth(zhao, doors.settings, doors.clock.now())

    # A shopper orders in the new community: paying waits for the leader's identity.
    community = await Community.get(id=approved["community_id"])
    sku = await make_sku(community, price=1990)
    shopper = await doors.log_in("code-qian", "o-mini-qian")
    status, order = await doors.api(
        "POST",
        "/api/v1/orders",
        shopper,
        json={"sku_id": str(sku.id), "community_id": str(community.id)},
    )
    assert status == 201, order
    prepay = f"/api/v1/orders/{order['id']}/prepay"
    status, refused = await doors.api("POST", prepay, shopper)
    assert (status, refused["code"]) == (409, "leader_not_verified"), refused

    # A shopper cannot verify; the leader's mismatching details are refused with why.
    identity = "/api/v1/me/leader/identity"
    status, refused = await doors.api(
        "POST", identity, shopper, json={"real_name": "钱多多", "phone": "13900139000"}
    )
    assert (status, refused["code"]) == (403, "forbidden")
    status, refused = await doors.api(
        "POST", identity, as_zhao, json={"real_name": "假名字", "phone": "13900139000"}
    )
    assert (status, refused["code"]) == (422, "identity_not_matched"), refused
    status, kept = await doors.api("GET", identity, as_zhao)
    assert (kept["status"], kept["reason"]) == ("failed", "姓名与手机号实名信息不一致")
    status, refused = await doors.api("POST", prepay, shopper)
    assert status == 409

    # Verified: the phone shows masked, and the shopper pays.
    status, verified = await doors.api(
        "POST", identity, as_zhao, json={"real_name": "赵大海", "phone": "13900139000"}
    )
    assert status == 200, verified
    assert (verified["status"], verified["phone"], verified["provider"]) == (
        "verified",
        "139****9000",
        "standin",
    )
    await doors.prepay_and_pay(order["id"], shopper)
    status, paid = await doors.api("GET", f"/api/v1/orders/{order['id']}", shopper)
    assert paid["status"] == "confirmed", paid
