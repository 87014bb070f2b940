"""A new mini-program shopper and her friends, walked through the JSON API only.

Browse before logging in (the page already sends ``Authorization: Bearer `` with no token),
log in, name herself, start a team asking to pay in the same call, friends join and pay
until the team is full; the leader marks the arrival; she picks up and reviews, and the
review she is shown carries her name; an account with an order still awaiting payment is not
erased from under it.
"""

from __future__ import annotations

from models.user import User
from tests.journeys.doors import Doors
from tests.support.factories import auth, make_campaign


async def test_a_new_shopper_walks_from_browsing_to_her_review(doors: Doors) -> None:
    campaign = await make_campaign(team_size=3, group_price=2990)
    community = await campaign.community

    # Browsing before logging in: a mini-program's request helper sends an empty bearer.
    no_token = {"Authorization": "Bearer "}
    for path in ("/api/v1/products", f"/api/v1/products/{(await campaign.sku).product_id}"):
        status, body = await doors.api("GET", path, no_token)
        assert status == 200, body

    # She logs in, names herself and starts a team asking to pay in the same call.
    me = await doors.log_in("code-xiaoming", "o-xiaoming")
    status, named = await doors.api("PATCH", "/api/v1/me/profile", me, json={"nickname": "小明"})
    assert status == 200, named
    status, started = await doors.api(
        "POST", f"/api/v1/campaigns/{campaign.id}/teams", me, json={"pay": True}
    )
    assert status == 201, started
    assert started["payment"]["package"].startswith("prepay_id=")
    code = started["team"]["code"]
    await doors.prepay_and_pay(started["order"]["id"], me)

    status, listed = await doors.api("GET", f"/api/v1/campaigns/{campaign.id}/teams")
    assert status == 200 and [t["seats_left"] for t in listed["items"]] == [2], listed

    # Friends join with pay until the team is full; one more finds it full.
    for n in (1, 2):
        friend = await doors.log_in(f"code-friend{n}", f"o-friend{n}")
        status, joined = await doors.api(
            "POST", f"/api/v1/teams/{code}/join", friend, json={"pay": True}
        )
        assert status == 201 and joined["payment"] is not None, joined
        await doors.prepay_and_pay(joined["order"]["id"], friend)
    late = await doors.log_in("code-late", "o-late")
    status, full = await doors.api("POST", f"/api/v1/teams/{code}/join", late, json={"pay": True})
    assert status == 409 and full["code"] == "team_closed", full
    assert (full["state"], full["team_code"]) == ("succeeded", code), full  # it filled: 成团
    status, shown = await doors.api("GET", f"/api/v1/teams/{code}")
    assert shown["status"] == "succeeded"

    # The leader marks the arrival, hands her order over; she reviews and sees her name on it.
    leader = auth(await User.get(id=community.leader_id), doors.settings, doors.clock.now())
    status, arrived = await doors.api("POST", "/api/v1/pickups/arrived", leader, json={})
    assert status == 200 and arrived["orders"] == 3, arrived
    status, pickup = await doors.api("GET", f"/api/v1/orders/{started['order']['id']}/pickup", me)
    assert status == 200, pickup
    status, handed = await doors.api(
        "POST", "/api/v1/pickups/verify", leader, json={"code": pickup["code"]}
    )
    assert status == 200, handed
    status, written = await doors.api(
        "POST", f"/api/v1/orders/{started['order']['id']}/review", me, json={"rating": 5}
    )
    assert status == 201, written
    assert written["review"]["author"] == "小明"
    status, replied = await doors.api(
        "POST", f"/api/v1/reviews/{written['review']['id']}/reply", leader, json={"text": "谢谢"}
    )
    assert status == 200 and replied["author"] == "小明", replied


async def test_an_account_with_an_order_awaiting_payment_is_not_erased(doors: Doors) -> None:
    campaign = await make_campaign(team_size=2)
    me = await doors.log_in("code-xiaohong", "o-xiaohong")
    started = await doors.start_team(campaign.id, me, pay=True)

    # WeChat Pay's cashier may still be open: erasing now would take money for nobody.
    status, refused = await doors.api("DELETE", "/api/v1/me", me)
    assert status == 409 and refused["code"] == "erasure_orders_open", refused
    assert "cancel" in refused["detail"]

    status, cancelled = await doors.api(
        "POST", f"/api/v1/orders/{started['order']['id']}/cancel", me
    )
    assert status == 200, cancelled
    status, erased = await doors.api("DELETE", "/api/v1/me", me)
    assert status == 200, erased
