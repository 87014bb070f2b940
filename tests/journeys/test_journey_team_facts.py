"""What a mini-program shopper is told about her team and her order, walked through the JSON
API (and the chat, for a follower): whether a team is guaranteed, in every view of it; why a
paid order waiting for its team cannot be cancelled; and that an order picked up and then
refunded in full reads refunded."""

from __future__ import annotations

from tests.journeys.doors import Doors
from tests.support.factories import make_campaign


async def test_every_view_of_a_team_says_whether_it_is_guaranteed(doors: Doors) -> None:
    sure = await make_campaign(team_size=3, guaranteed=True)
    plain = await make_campaign(sure.community, team_size=3)  # type: ignore[arg-type]
    head = await doors.log_in("code-head", "o-head")
    friend = await doors.log_in("code-friend", "o-friend")
    payer = await doors.log_in("code-payer", "o-payer")

    for campaign, expected in ((sure, True), (plain, False)):
        path = f"/api/v1/campaigns/{campaign.id}/teams"
        status, started = await doors.api("POST", path, head, json={})
        assert status == 201 and started["team"]["guaranteed"] is expected, started
        code = started["team"]["code"]
        status, joined = await doors.api("POST", f"/api/v1/teams/{code}/join", friend, json={})
        assert status == 201 and joined["team"]["guaranteed"] is expected, joined
        status, listed = await doors.api("GET", path)  # joinable: one seat left
        assert status == 200 and [t["guaranteed"] for t in listed["items"]] == [expected], listed
        # Asked to pay: the one statement that also fixes the price for WeChat Pay.
        status, paying = await doors.api(
            "POST", f"/api/v1/teams/{code}/join", payer, json={"pay": True}
        )
        assert status == 201 and paying["team"]["guaranteed"] is expected, paying

        status, one = await doors.api("GET", f"/api/v1/teams/{code}")
        assert status == 200 and one["guaranteed"] is expected, one

    status, mine = await doors.api("GET", "/api/v1/me/teams", head)
    assert status == 200 and sorted(t["guaranteed"] for t in mine["items"]) == [False, True]

    # Under an Idempotency-Key the recorded answer is the same, and so is its replay.
    keyed = {**(await doors.log_in("code-keyed", "o-keyed")), "Idempotency-Key": "k-join-1"}
    other = await doors.log_in("code-other", "o-other")
    status, started = await doors.api("POST", f"/api/v1/campaigns/{sure.id}/teams", other)
    assert status == 201 and started["team"]["guaranteed"] is True, started
    code = started["team"]["code"]
    for _ in range(2):
        status, answer = await doors.api("POST", f"/api/v1/teams/{code}/join", keyed, json={})
        assert status == 201 and answer["team"]["guaranteed"] is True, answer

    status, spec = await doors.api("GET", "/openapi.json")
    field = spec["components"]["schemas"]["TeamOut"]["properties"]["guaranteed"]
    assert field["type"] == "boolean" and "null" not in str(field), field


async def test_a_paid_order_waiting_for_its_team_is_not_cancelled(doors: Doors) -> None:
    campaign = await make_campaign(team_size=2)
    me = await doors.log_in("code-waiting", "o-waiting")
    status, started = await doors.api(
        "POST", f"/api/v1/campaigns/{campaign.id}/teams", me, json={"pay": True}
    )
    assert status == 201, started
    order_id = started["order"]["id"]
    await doors.prepay_and_pay(order_id, me)

    status, refused = await doors.api("POST", f"/api/v1/orders/{order_id}/cancel", me)
    assert status == 409 and refused["code"] == "order_awaiting_team", refused
    assert "automatically" in refused["detail"] and "after-sales" in refused["detail"]
    status, order = await doors.api("GET", f"/api/v1/orders/{order_id}", me)
    assert status == 200 and order["status"] == "paid_awaiting_team", order

    status, spec = await doors.api("GET", "/openapi.json")
    cancel = spec["paths"]["/api/v1/orders/{order_id}/cancel"]["post"]["responses"]["409"]
    assert "order_awaiting_team" in str(cancel), cancel
