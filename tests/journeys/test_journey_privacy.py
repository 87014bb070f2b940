"""A shopper's rights over their data, through the real doors (PIPL).

A shopper logs in, names herself, leaves her phone number and real name, opens a friend's
share card, joins the team with an Idempotency-Key, pays, is picked up; an operator reads her
details (audited). She downloads her archive: every table that mentions her is in it (the
tables are found by scanning every row of every table, not from a list). She erases her
account: afterwards no row of any table holds her openid, nickname, phone or real name, and
the books (orders, payments, refunds, earnings) add up as before. Past the retention period
the clock's retention job strips what is left and the books still add up.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiohttp.test_utils import TestClient
from tortoise import connections

from models.order import Order
from models.payment import Payment
from models.privacy import Erasure
from models.user import Role
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from qunshop.keys import CHAT_TEMPLATES, REDIS
from scheduler.jobs import Jobs
from tests.support.factories import auth, make_campaign, make_user
from tests.support.fake_wechat import FakeWeChat

OPENID, NICKNAME, PHONE, REAL_NAME = "o-xiaoli-0099", "小李同学", "13800138000", "李小龙"

_TABLES = """
SELECT table_name FROM information_schema.tables
WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
"""


async def tables_mentioning(*needles: str) -> dict[str, int]:
    """Every table with a row whose text holds one of ``needles``: a scan of everything."""
    db = connections.get("default")
    found: dict[str, int] = {}
    for row in await db.execute_query_dict(_TABLES):
        table = row["table_name"]
        for needle in needles:
            count = (
                await db.execute_query_dict(
                    f'SELECT count(*) AS n FROM "{table}" AS r WHERE strpos(r::text, $1) > 0',
                    [needle],
                )
            )[0]["n"]
            if count:
                found[table] = found.get(table, 0) + count
    return found


async def books() -> dict[str, Any]:
    db = connections.get("default")
    sums = {}
    for name, sql in {
        "orders": "SELECT count(*) AS n, coalesce(sum(amount), 0) AS s FROM orders",
        "paid": "SELECT count(*) AS n, coalesce(sum(amount), 0) AS s FROM orders "
        "WHERE paid_at IS NOT NULL",
        "payments": "SELECT count(*) AS n, coalesce(sum(amount), 0) AS s FROM payments",
        "refunds": "SELECT count(*) AS n, coalesce(sum(amount), 0) AS s FROM refunds",
        "earnings": "SELECT count(*) AS n, coalesce(sum(amount), 0) AS s FROM earnings_ledger",
    }.items():
        row = (await db.execute_query_dict(sql))[0]
        sums[name] = (row["n"], row["s"])
    return sums


async def pay(
    client: TestClient, wechat: FakeWeChat, headers: dict[str, str], order_id: str
) -> None:
    prepay = await client.post(f"/api/v1/orders/{order_id}/prepay", headers=headers)
    assert prepay.status == 200, await prepay.text()
    trade = (await Order.get(id=order_id)).out_trade_no
    (sent,) = [o for o in wechat.pay_orders.values() if o["out_trade_no"] == trade]
    notify = wechat.payment_notify(
        out_trade_no=trade, total_fee=int(sent["total_fee"]), openid=sent["openid"]
    )
    answer = await client.post(
        "/pay/wechat/notify", data=notify, headers={"Content-Type": "text/xml"}
    )
    assert answer.status == 200 and "SUCCESS" in await answer.text()


async def a_shoppers_week(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> tuple[dict[str, str], str, Any]:
    """Her activity through the doors; returns her headers, her user id and the operator."""
    campaign = await make_campaign(team_size=2, group_price=2990)
    leader = await (await campaign.community).leader
    friend = await make_user(nickname="王阿姨")
    started = await client.post(
        f"/api/v1/campaigns/{campaign.id}/teams", headers=auth(friend, settings)
    )
    team = await started.json()
    await pay(client, wechat, auth(friend, settings), team["order"]["id"])
    card = await (
        await client.get(
            f"/api/v1/teams/{team['team']['code']}/share", headers=auth(friend, settings)
        )
    ).json()

    wechat.sessions["xiaoli-code"] = {"openid": OPENID, "session_key": "c2Vzc2lvbmtleTEyMzQ1Ng=="}
    session = await (await client.post("/api/v1/session", json={"code": "xiaoli-code"})).json()
    me = {"Authorization": f"Bearer {session['token']}"}
    named = await client.patch("/api/v1/me/profile", json={"nickname": NICKNAME}, headers=me)
    assert named.status == 200
    details = await client.patch(
        "/api/v1/me/personal", json={"phone": PHONE, "real_name": REAL_NAME}, headers=me
    )
    assert details.status == 200, await details.text()
    assert await details.json() == {"phone": PHONE, "real_name": REAL_NAME}
    query = parse_qs(urlsplit(card["path"]).query)
    entered = await client.post(
        "/api/v1/attribution/entries", json={"code": query["s"][0]}, headers=me
    )
    assert entered.status == 200, await entered.text()
    joined = await client.post(
        f"/api/v1/teams/{team['team']['code']}/join",
        headers={**me, "Idempotency-Key": "join-once"},
    )
    assert joined.status == 201, await joined.text()
    order_id = (await joined.json())["order"]["id"]
    await pay(client, wechat, me, order_id)

    arrived = await client.post("/api/v1/pickups/arrived", json={}, headers=auth(leader, settings))
    assert arrived.status == 200, await arrived.text()
    ticket = await (await client.get(f"/api/v1/orders/{order_id}/pickup", headers=me)).json()
    verified = await client.post(
        "/api/v1/pickups/verify", json={"code": ticket["code"]}, headers=auth(leader, settings)
    )
    assert verified.status == 200, await verified.text()

    operator = await make_user(Role.ADMIN, nickname="运营小张")
    user_id = session["user"]["id"]
    read = await client.get(
        f"/api/v1/admin/users/{user_id}/personal", headers=auth(operator, settings)
    )
    assert read.status == 200
    assert await read.json() == {"phone": PHONE, "real_name": REAL_NAME}
    return me, str(user_id), operator


async def test_the_archive_holds_every_table_that_mentions_her(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    me, user_id, operator = await a_shoppers_week(client, settings, wechat)
    # At rest her phone number and real name are nowhere in the clear.
    assert await tables_mentioning(PHONE, REAL_NAME) == {}

    resp = await client.get("/api/v1/me/export", headers=me)
    assert resp.status == 200
    assert resp.headers["Content-Disposition"].startswith("attachment")
    archive = await resp.json()
    mentioning = await tables_mentioning(user_id, OPENID, NICKNAME)
    assert set(mentioning) <= set(archive["tables"]), set(mentioning) - set(archive["tables"])
    for table in (
        "users",
        "orders",
        "payments",
        "seats",
        "visits",
        "audit_log",
        "idempotency_records",
        "personal_details",
    ):
        assert table in archive["tables"], table
    (mine,) = archive["tables"]["personal_details"]
    assert (mine["phone"], mine["real_name"]) == (PHONE, REAL_NAME)
    assert "phone_sealed" not in mine
    (entry,) = archive["tables"]["audit_log"]
    assert (entry["action"], entry["actor_id"]) == ("personal.read", str(operator.id))


async def test_after_erasure_nothing_names_her_and_the_books_balance(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    me, user_id, _ = await a_shoppers_week(client, settings, wechat)
    before = await books()
    assert set(await tables_mentioning(OPENID, NICKNAME)) >= {"users", "payments"}

    gone = await client.delete("/api/v1/me", headers=me)
    assert gone.status == 200, await gone.text()
    answer = await gone.json()
    assert answer["keep_until"] > answer["erased_at"]
    # Her token is refused at once, not when it expires: the account is gone.
    for method, path in (("DELETE", "/api/v1/me"), ("GET", "/api/v1/me/personal")):
        refused = await client.request(method, path, headers=me)
        assert refused.status == 401
        assert (await refused.json())["code"] == "account_erased"

    assert await tables_mentioning(OPENID, NICKNAME, PHONE, REAL_NAME) == {}
    assert await books() == before

    # Past the retention period the clock strips the last traces; the books still add up.
    erasure = await Erasure.get(user_id=user_id)
    clock = FrozenClock(erasure.keep_until + timedelta(days=1))
    app = client.server.app
    jobs = Jobs(settings=settings, templates=app[CHAT_TEMPLATES], redis=app[REDIS])
    await jobs.retention(clock.now())
    assert (await Erasure.get(id=erasure.id)).swept_at is not None
    order = await Order.get(user_id=user_id)
    assert order.pickup_code is None and order.amount == 2990
    assert (await Payment.get(order_id=order.id)).payload == {}
    assert await books() == before


async def test_staff_and_open_orders_are_refused(client: TestClient, settings: Settings) -> None:
    leader = await (await (await make_campaign()).community).leader
    refused = await client.delete("/api/v1/me", headers=auth(leader, settings))
    assert refused.status == 409
    assert (await refused.json())["code"] == "erasure_refused_leader"
    shopper = await make_user()
    await Order.create(
        out_trade_no="QSOPEN0001",
        kind="direct",
        user=shopper,
        sku_id=(await make_campaign()).sku_id,
        unit_price=100,
        amount=100,
        status="confirmed",
    )
    open_orders = await client.delete("/api/v1/me", headers=auth(shopper, settings))
    assert open_orders.status == 409
    assert (await open_orders.json())["code"] == "erasure_orders_open"
    shopper_row = await Order.filter(user_id=shopper.id).count()
    assert shopper_row == 1


async def test_only_operators_read_personal_details(client: TestClient, settings: Settings) -> None:
    shopper, other = await make_user(), await make_user()
    denied = await client.get(
        f"/api/v1/admin/users/{other.id}/personal", headers=auth(shopper, settings)
    )
    assert denied.status == 403
    admin = await make_user(Role.ADMIN)
    missing = await client.get(
        "/api/v1/admin/users/not-an-id/personal", headers=auth(admin, settings)
    )
    assert missing.status == 404
