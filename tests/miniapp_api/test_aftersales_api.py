"""The after-sales endpoints: what they refuse and the codes they answer, as documented."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient

from models.community import Community
from models.user import Role, User
from qunshop.config import Settings
from tests.support.aftersale_world import decided, paid_order, refund_asked
from tests.support.factories import auth, make_community, make_user
from tests.support.fake_wechat import FakeWeChat
from tests.support.pages import every_page
from tests.support.statements import Statements


async def test_ask_decide_and_the_rules_through_the_api(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    order = await paid_order(settings, wechat, now=datetime.now(tz=UTC), price=2000)
    buyer = auth(await User.get(id=order.user_id), settings)
    path = f"/api/v1/orders/{order.id}/after-sales"

    bad = await client.post(
        path,
        json={"kind": "refund_only", "reason": "quality", "photos": ["ftp://x"]},
        headers=buyer,
    )
    assert bad.status == 422 and (await bad.json())["code"] == "validation_failed"
    too_much = await client.post(
        path, json={"kind": "refund_only", "reason": "quality", "amount": 2001}, headers=buyer
    )
    assert too_much.status == 422 and (await too_much.json())["code"] == "refund_exceeds_paid"

    admin = auth(await make_user(Role.ADMIN), settings)
    rule = await client.put(
        "/api/v1/admin/return-rules",
        json={"category": "fresh", "no_reason_return": False, "note": "鲜活易腐"},
        headers=admin,
    )
    assert rule.status == 200 and (await rule.json())["no_reason_return"] is False
    listed = await (await client.get("/api/v1/admin/return-rules", headers=admin)).json()
    assert [r["category"] for r in listed["items"]] == ["fresh"]
    fresh = await client.post(
        path, json={"kind": "return_refund", "reason": "no_reason"}, headers=buyer
    )
    assert fresh.status == 409 and (await fresh.json())["code"] == "no_reason_return_excluded"

    asked = await client.post(
        path, json={"kind": "refund_only", "reason": "missing", "amount": 700}, headers=buyer
    )
    assert asked.status == 201, await asked.text()
    sale = await asked.json()
    assert (sale["amount"], sale["status"], sale["refund_status"]) == (700, "pending", None)

    community = await Community.get(id=order.community_id)
    leader = auth(await User.get(id=community.leader_id), settings)
    queue = await (await client.get("/api/v1/leader/after-sales", headers=leader)).json()
    [queued] = queue["items"]
    assert queued["id"] == sale["id"] and queued["buyer"]["name"] == "shopper"
    assert {k: queued["order"][k] for k in ("out_trade_no", "quantity", "paid", "refunded")} == {
        "out_trade_no": order.out_trade_no,
        "quantity": 1,
        "paid": 2000,
        "refunded": 0,
    }
    assert queued["order"]["status"] == "confirmed" and queued["order"]["picked_up_at"] is None
    no_reason = await client.post(
        f"/api/v1/after-sales/{sale['id']}/reject", json={}, headers=leader
    )
    assert no_reason.status == 422
    rejected = await client.post(
        f"/api/v1/after-sales/{sale['id']}/reject",
        json={"reason": "自提时已当面确认"},
        headers=leader,
    )
    assert rejected.status == 200
    assert ((await rejected.json())["status"], (await rejected.json())["note"]) == (
        "rejected",
        "自提时已当面确认",
    )
    late = await client.post(f"/api/v1/after-sales/{sale['id']}/approve", headers=leader)
    assert late.status == 409 and (await late.json())["code"] == "after_sale_decided"
    shown = await (await client.get(f"/api/v1/after-sales/{sale['id']}", headers=buyer)).json()
    assert shown["status"] == "rejected"


async def test_the_document_lists_the_after_sales_codes(client: TestClient) -> None:
    doc = await (await client.get("/openapi.json")).json()
    ask = doc["paths"]["/api/v1/orders/{order_id}/after-sales"]["post"]
    text = str(ask["responses"])
    for code in (
        "after_sale_window_closed",
        "no_reason_return_excluded",
        "order_already_refunded",
        "after_sale_open",
        "refund_exceeds_paid",
    ):
        assert code in text, code
    approve = str(doc["paths"]["/api/v1/after-sales/{after_sale_id}/approve"]["post"]["responses"])
    assert "after_sale_decided" in approve and "not_community_leader" in approve
    assert "own_after_sale" in approve


async def test_a_leader_does_not_approve_their_own_request(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    """A leader who buys in their own community asks like any buyer, but the refund is the
    shop's money: an admin (or the clock) decides it, never the leader who asked."""
    now = datetime.now(tz=UTC)
    first = await paid_order(settings, wechat, now=now, price=2000)
    community = await Community.get(id=first.community_id)
    leader_user = await User.get(id=community.leader_id)
    order = await paid_order(
        settings, wechat, now=now, community=community, buyer=leader_user, price=2000
    )
    leader = auth(leader_user, settings)
    asked = await client.post(
        f"/api/v1/orders/{order.id}/after-sales",
        json={"kind": "refund_only", "reason": "quality"},
        headers=leader,
    )
    assert asked.status == 201, await asked.text()
    sale = await asked.json()

    own = await client.post(f"/api/v1/after-sales/{sale['id']}/approve", headers=leader)
    assert own.status == 403 and (await own.json())["code"] == "own_after_sale"
    shown = await (await client.get(f"/api/v1/after-sales/{sale['id']}", headers=leader)).json()
    assert (shown["status"], shown["refund_status"]) == ("pending", None)

    admin = auth(await make_user(Role.ADMIN), settings)
    decided = await client.post(f"/api/v1/after-sales/{sale['id']}/approve", headers=admin)
    assert decided.status == 200 and (await decided.json())["status"] == "approved"


async def test_the_buyers_list_costs_the_same_statements_however_many_requests(
    client: TestClient, settings: Settings, wechat: FakeWeChat, caplog: pytest.LogCaptureFixture
) -> None:
    """Each request with its refund's state, read in one statement with the requests (it was
    a statement more for each approved request: 21 for a full list of 20)."""
    now = datetime.now(tz=UTC)
    community = await make_community()
    leader = await User.get(id=community.leader_id)
    buyer = await make_user(nickname="小王")
    statements = Statements(caplog)
    seen = []
    for each in (1, 5):  # one approved and one waiting, then six of each
        for approve in [True] * each + [False] * each:
            order = await paid_order(settings, wechat, now=now, community=community, buyer=buyer)
            sale = await refund_asked(order, now)
            if approve:
                await decided(sale, leader, now)
        statements.start()
        answer = await client.get("/api/v1/after-sales", headers=auth(buyer, settings, now))
        assert answer.status == 200, await answer.text()
        items = (await answer.json())["items"]
        seen.append((len(items), len(statements.since())))
        refunded = [i for i in items if i["refund_status"] is not None]
        assert len(refunded) == len(items) // 2
        assert {i["status"] for i in refunded} == {"approved"}
    # The requests with their refunds joined, one statement (the token names the buyer): 2
    # requests or 12. It was one more for each approved request: 2, then 7.
    assert seen == [(2, 1), (12, 1)], seen


async def test_the_buyers_list_pages_each_request_once(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    """GET /api/v1/after-sales stopped at 20 without saying so: next_cursor leads on, and
    requests made the same instant keep one order across the pages."""
    now = datetime.now(tz=UTC)
    community, buyer = await make_community(), await make_user()
    asked = set()
    for _ in range(5):
        order = await paid_order(settings, wechat, now=now, community=community, buyer=buyer)
        asked.add(str((await refund_asked(order, now)).id))
    pages = [
        [i["id"] for i in page]
        for page in await every_page(
            client, "/api/v1/after-sales", headers=auth(buyer, settings), limit="2"
        )
    ]
    assert [len(p) for p in pages] == [2, 2, 1]
    listed = [i for p in pages for i in p]
    assert len(listed) == len(set(listed)) and set(listed) == asked
    for bad in ({"cursor": "nope"}, {"limit": "0"}, {"limit": "101"}):
        refused = await client.get("/api/v1/after-sales", params=bad, headers=auth(buyer, settings))
        assert refused.status == 422, bad
