"""People's rights over their data, the gaps closed (issue 19, item 5), through the doors.

- A home delivery's recipient (name and phone) is sealed at rest; its owner sees it opened in
  the API and the archive; the leader who dispatches it reads it with an audit entry; the
  erasure takes it away.
- A token of an erased account is refused at once (401 ``account_erased``).
- Staff erase their accounts after giving up what others rely on: an operator's admin role
  is revoked first, a leader's community handed over first.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from models.audit import AuditEntry
from models.community import Community
from models.user import Role, User
from qunshop.config import Settings
from services import batches
from tests.journeys.test_journey_privacy import books, pay, tables_mentioning
from tests.support.factories import auth, make_community, make_sku, make_user
from tests.support.fake_wechat import FakeWeChat

OPENID, NICKNAME = "o-home-0042", "阿红"
RECIPIENT, RECIPIENT_PHONE = "张三丰", "13912345678"


async def _log_in(client: TestClient, wechat: FakeWeChat) -> tuple[dict[str, str], str]:
    wechat.sessions["home-code"] = {"openid": OPENID, "session_key": "c2Vzc2lvbmtleTEyMzQ1Ng=="}
    session = await (await client.post("/api/v1/session", json={"code": "home-code"})).json()
    me = {"Authorization": f"Bearer {session['token']}"}
    named = await client.patch("/api/v1/me/profile", json={"nickname": NICKNAME}, headers=me)
    assert named.status == 200
    return me, session["user"]["id"]


async def _call(
    client: TestClient, method: str, path: str, headers: dict[str, str], **kw: Any
) -> tuple[int, Any]:
    resp = await client.request(method, path, headers=headers, **kw)
    return resp.status, await resp.json()


async def test_a_home_deliverys_recipient_is_sealed_read_audited_and_erased(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    community = await make_community()
    leader = await User.get(id=community.leader_id)
    sku = await make_sku(community, price=2990)
    lead = auth(leader, settings)
    status, _ = await _call(
        client,
        "PUT",
        f"/api/v1/communities/{community.id}/delivery-plan",
        lead,
        json={"cutoff": "20:00", "home_delivery": True, "delivery_fee": 500},
    )
    assert status == 200
    me, user_id = await _log_in(client, wechat)
    status, address = await _call(
        client,
        "POST",
        "/api/v1/me/addresses",
        me,
        json={"recipient": RECIPIENT, "phone": RECIPIENT_PHONE, "detail": "翠湖 3 栋 501"},
    )
    assert (status, address["recipient"], address["phone"]) == (201, RECIPIENT, RECIPIENT_PHONE)
    status, order = await _call(
        client,
        "POST",
        "/api/v1/orders",
        me,
        json={"sku_id": str(sku.id), "community_id": str(community.id)},
    )
    assert status == 201, order
    home = f"/api/v1/orders/{order['id']}/home-delivery"
    status, chosen = await _call(client, "POST", home, me, json={"address_id": address["id"]})
    assert (status, chosen["recipient"], chosen["phone"]) == (201, RECIPIENT, RECIPIENT_PHONE)
    await pay(client, wechat, me, order["id"])

    # At rest the recipient's name and phone are nowhere in the clear.
    assert await tables_mentioning(RECIPIENT, RECIPIENT_PHONE) == {}
    status, listed = await _call(client, "GET", "/api/v1/me/addresses", me)
    assert [(a["recipient"], a["phone"]) for a in listed["items"]] == [(RECIPIENT, RECIPIENT_PHONE)]
    status, seen = await _call(client, "GET", home, me)
    assert (seen["recipient"], seen["phone"]) == (RECIPIENT, RECIPIENT_PHONE)
    assert not await AuditEntry.filter(action="personal.read").exists()  # her own read

    # The clock cuts the day's batch (the scheduler's job); 到货; the leader dispatches it to
    # the door: reading the recipient is in the audit log.
    await batches.cut_due(now=datetime.now(tz=UTC) + timedelta(days=1))
    status, _ = await _call(client, "POST", "/api/v1/pickups/arrived", lead, json={})
    assert status == 200
    sheet = f"/api/v1/communities/{community.id}/home-deliveries"
    status, route = await _call(client, "GET", sheet, lead)
    assert status == 200, route
    assert [(d["recipient"], d["phone"]) for d in route["items"]] == [(RECIPIENT, RECIPIENT_PHONE)]
    (read,) = await AuditEntry.filter(action="personal.read")
    assert (read.actor_id, read.target) == (leader.id, f"user:{user_id}")
    dispatch = f"/api/v1/home-deliveries/{order['id']}/dispatch"
    status, sent = await _call(client, "POST", dispatch, lead, json={"tracking_no": "SF123456"})
    assert status == 200, sent
    assert (sent["recipient"], sent["phone"]) == (RECIPIENT, RECIPIENT_PHONE)
    assert await AuditEntry.filter(action="personal.read", actor_id=leader.id).count() == 2
    status, done = await _call(
        client, "POST", f"/api/v1/home-deliveries/{order['id']}/delivered", lead
    )
    assert (status, done["status"]) == (200, "delivered")
    assert await AuditEntry.filter(action="personal.read").count() == 3

    # Her archive shows them opened, and the reads of them.
    archive = await (await client.get("/api/v1/me/export", headers=me)).json()
    (saved,) = archive["tables"]["addresses"]
    (delivery,) = archive["tables"]["home_deliveries"]
    for row in (saved, delivery):
        assert (row["recipient"], row["phone"]) == (RECIPIENT, RECIPIENT_PHONE)
        assert "phone_sealed" not in row
    assert len(archive["tables"]["audit_log"]) == 3

    before = await books()
    gone = await client.delete("/api/v1/me", headers=me)
    assert gone.status == 200, await gone.text()
    assert await tables_mentioning(OPENID, NICKNAME, RECIPIENT, RECIPIENT_PHONE) == {}
    assert await books() == before


async def test_an_erased_accounts_token_is_refused_at_once(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    me, _ = await _log_in(client, wechat)
    assert (await client.get("/api/v1/me", headers=me)).status == 200
    gone = await client.delete("/api/v1/me", headers=me)
    assert gone.status == 200
    for method, path in (("GET", "/api/v1/me"), ("GET", "/api/v1/me/export")):
        status, problem = await _call(client, method, path, me)
        assert (status, problem["code"]) == (401, "account_erased")
    # The same person logging in again is someone new: nothing of before is theirs.
    again, new_id = await _log_in(client, wechat)
    status, mine = await _call(client, "GET", "/api/v1/me", again)
    assert status == 200 and mine["id"] == new_id


async def test_an_operator_is_erased_after_their_admin_role_is_revoked(
    client: TestClient, settings: Settings
) -> None:
    operator = await make_user(Role.ADMIN, nickname="运营老周")
    other = await make_user(Role.ADMIN, nickname="运营小张")
    shopper = await make_user()
    # The operator acts: the audit log names them as the actor.
    status, _ = await _call(
        client, "GET", f"/api/v1/admin/users/{shopper.id}/personal", auth(operator, settings)
    )
    assert status == 200
    status, refused = await _call(client, "DELETE", "/api/v1/me", auth(operator, settings))
    assert (status, refused["code"]) == (409, "erasure_refused_admin")

    status, _ = await _call(
        client, "DELETE", f"/api/v1/admin/users/{operator.id}/roles/admin", auth(other, settings)
    )
    assert status == 200
    status, _ = await _call(client, "DELETE", "/api/v1/me", auth(operator, settings))
    assert status == 200
    assert await tables_mentioning(operator.openid, "运营老周") == {}
    # Their acts stay in the log, under a pseudonym.
    assert await AuditEntry.filter(actor_id=operator.id, action="personal.read").exists()


async def test_a_leader_is_erased_after_handing_the_community_over(
    client: TestClient, settings: Settings
) -> None:
    leader = await make_user(Role.LEADER, nickname="老团长")
    community = await make_community(leader)
    successor, operator = await make_user(nickname="新团长"), await make_user(Role.ADMIN)
    status, refused = await _call(client, "DELETE", "/api/v1/me", auth(leader, settings))
    assert (status, refused["code"]) == (409, "erasure_refused_leader")

    handover = f"/api/v1/communities/{community.id}/leader"
    status, problem = await _call(
        client, "PUT", handover, auth(leader, settings), json={"leader_id": str(successor.id)}
    )
    assert status == 403  # only an operator hands a community over
    status, card = await _call(
        client, "PUT", handover, auth(operator, settings), json={"leader_id": str(successor.id)}
    )
    assert (status, card["leader"]["id"]) == (200, str(successor.id)), card
    assert (await User.get(id=successor.id)).role is Role.LEADER
    assert await AuditEntry.filter(action="community.leader").exists()

    status, _ = await _call(client, "DELETE", "/api/v1/me", auth(leader, settings))
    assert status == 200
    erased = await User.get(id=leader.id)
    assert erased.role is Role.SHOPPER and erased.nickname == ""
    assert (await Community.get(id=community.id)).leader_id == successor.id
    assert await tables_mentioning(leader.openid, leader.nickname) == {}
    # Nobody hands a community to an erased account.
    status, problem = await _call(
        client, "PUT", handover, auth(operator, settings), json={"leader_id": str(leader.id)}
    )
    assert (status, problem["code"]) == (422, "user_not_found")


async def test_a_leader_with_unsettled_earnings_is_refused_erasure(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    """A leader earns a share of an order paid in their community, hands the community over
    and asks to be erased: refused while the share is owed, the ledger and the account kept."""
    leader = await make_user(Role.LEADER, nickname="老团长")
    community = await make_community(leader)
    sku = await make_sku(community, price=2990)
    me, _ = await _log_in(client, wechat)
    status, order = await _call(
        client,
        "POST",
        "/api/v1/orders",
        me,
        json={"sku_id": str(sku.id), "community_id": str(community.id)},
    )
    assert status == 201, order
    await pay(client, wechat, me, order["id"])
    operator, successor = await make_user(Role.ADMIN), await make_user(nickname="新团长")
    status, _ = await _call(
        client,
        "PUT",
        f"/api/v1/communities/{community.id}/leader",
        auth(operator, settings),
        json={"leader_id": str(successor.id)},
    )
    assert status == 200
    before = await books()
    assert before["earnings"][1] > 0  # the leader's 5 % share, frozen until pickup

    status, refused = await _call(client, "DELETE", "/api/v1/me", auth(leader, settings))
    assert (status, refused["code"]) == (409, "erasure_earnings_unsettled"), refused
    assert "frozen 149 fen" in refused["detail"]
    kept = await User.get(id=leader.id)
    assert kept.nickname == "老团长" and await books() == before
