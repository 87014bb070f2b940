"""Q&A on a product: a neighbour asks, a buyer and the leader answer (marked so), someone
who never bought it cannot; the asker picks the best answer, which is then shown first."""

from __future__ import annotations

from models.user import User
from tests.journeys.doors import Doors
from tests.support.factories import auth, make_community, make_sku


async def test_questions_are_answered_by_buyers_and_the_leader(doors: Doors) -> None:
    community = await make_community()
    leader = auth(await User.get(id=community.leader_id), doors.settings, doors.clock.now())
    sku = await make_sku(community, price=1290)
    base = f"/api/v1/products/{sku.product_id}/questions"

    asker = await doors.log_in("code-ask", "o-mini-ask")
    status, asked = await doors.api("POST", base, asker, json={"text": "甜不甜？"})
    assert status == 201 and asked["held"] is False, asked
    question = asked["question"]["id"]
    answers = f"/api/v1/questions/{question}/answers"

    stranger = await doors.log_in("code-stranger", "o-mini-stranger")
    status, refused = await doors.api("POST", answers, stranger, json={"text": "很甜"})
    assert status == 403 and refused["code"] == "not_a_buyer"

    buyer = await doors.log_in("code-buyer", "o-mini-buyer")
    status, order = await doors.api(
        "POST",
        "/api/v1/orders",
        buyer,
        json={"sku_id": str(sku.id), "community_id": str(community.id)},
    )
    assert status == 201, order
    await doors.prepay_and_pay(order["id"], buyer)
    status, by_buyer = await doors.api("POST", answers, buyer, json={"text": "买过，很甜"})
    assert status == 201 and by_buyer["by_buyer"] is True and by_buyer["by_leader"] is False
    status, by_leader = await doors.api("POST", answers, leader, json={"text": "今年的果子糖度高"})
    assert status == 201 and by_leader["by_leader"] is True

    status, listing = await doors.api("GET", base)
    (shown,) = listing["items"]
    assert [a["text"] for a in shown["answers"]] == ["今年的果子糖度高", "买过，很甜"]

    status, _ = await doors.api("POST", f"/api/v1/answers/{by_buyer['id']}/best", stranger)
    assert status == 403
    status, best = await doors.api("POST", f"/api/v1/answers/{by_buyer['id']}/best", asker)
    assert status == 200 and best["best"] is True
    status, listing = await doors.api("GET", base)
    ordered = listing["items"][0]["answers"]
    assert [(a["text"], a["best"]) for a in ordered] == [
        ("买过，很甜", True),
        ("今年的果子糖度高", False),
    ]
    status, best = await doors.api("POST", f"/api/v1/answers/{by_leader['id']}/best", leader)
    ordered = (await doors.api("GET", base))[1]["items"][0]["answers"]
    assert [a["best"] for a in ordered] == [True, False] and ordered[0]["id"] == by_leader["id"]
