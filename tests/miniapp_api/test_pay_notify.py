"""WeChat Pay's notify endpoint as WeChat Pay calls it, prepay, and the simulated payment."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from models.groupbuy import Campaign, Seat, Team
from models.order import Order, OrderStatus
from models.outbox import OutboxMessage
from models.payment import Payment, Refund
from models.user import User
from qunshop.assembly.app import create_app
from qunshop.config import Settings
from tests.support.factories import auth, make_campaign, make_sku, make_user
from tests.support.fake_wechat import FakeWeChat
from wechat import pay

NOTIFY = "/pay/wechat/notify"
XML = {"Content-Type": "application/xml"}


async def snapshot() -> dict[str, Any]:
    """Everything a notify may change, to compare before and after."""
    return {
        "payments": await Payment.all().count(),
        "refunds": await Refund.all().count(),
        "outbox": await OutboxMessage.all().count(),
        "orders": sorted(
            (str(o.id), o.status.value, o.paid_at, o.transaction_id) for o in await Order.all()
        ),
        "teams": sorted(
            (str(t.id), t.status.value, t.seats_held, t.seats_paid) for t in await Team.all()
        ),
        "seats": sorted((str(s.id), s.status.value) for s in await Seat.all()),
        "stock": sorted((str(c.id), c.stock_left) for c in await Campaign.all()),
    }


async def start_team(client: TestClient, settings: Settings, **campaign: Any) -> dict[str, Any]:
    """A team started through the API by a new user; returns the reservation and the user."""
    found = await make_campaign(**{"team_size": 3, "stock_cap": 10, "group_price": 990, **campaign})
    user = await make_user()
    resp = await client.post(
        f"/api/v1/campaigns/{found.id}/teams", json={}, headers=auth(user, settings)
    )
    assert resp.status == 201, await resp.text()
    return {**await resp.json(), "user": user}


async def notify_of(wechat: FakeWeChat, order_id: str, **kw: Any) -> bytes:
    order = await Order.get(id=order_id)
    user = await User.get(id=order.user_id)
    kw.setdefault("total_fee", order.amount)
    return wechat.payment_notify(out_trade_no=order.out_trade_no, openid=user.openid, **kw)


async def post_notify(client: TestClient, body: bytes) -> tuple[int, bytes]:
    resp = await client.post(NOTIFY, data=body, headers=XML)
    return resp.status, await resp.read()


def is_fail(reply: bytes) -> bool:
    return pay.parse_xml(reply)["return_code"] == "FAIL"


# Exactly once --------------------------------------------------------------------------------


async def test_fifteen_deliveries_five_at_once_apply_once(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    """Fifteen signed deliveries of one payment, five of them at once: one transition."""
    started = await start_team(client, settings)
    order_id = started["order"]["id"]
    body = await notify_of(wechat, order_id, sign_type="HMAC-SHA256")

    together = await asyncio.gather(*(post_notify(client, body) for _ in range(5)))
    one_by_one = [await post_notify(client, body) for _ in range(10)]

    assert together + one_by_one == [(200, pay.SUCCESS_REPLY)] * 15
    assert await Payment.all().count() == 1
    payment = await Payment.get()
    order = await Order.get(id=order_id)
    assert (payment.order_id, payment.outcome) == (order.id, "honoured")
    assert order.status is OrderStatus.PAID_AWAITING_TEAM
    assert order.transaction_id == payment.transaction_id
    team = await Team.get(id=started["team"]["id"])
    assert (team.seats_held, team.seats_paid) == (1, 1)
    assert await Refund.all().count() == 0
    assert await OutboxMessage.all().count() == 0


@pytest.mark.parametrize("sign_type", ["MD5", "HMAC-SHA256"])
@pytest.mark.parametrize("include_sign_type", [True, False])
async def test_md5_and_hmac_notifies_are_accepted(
    client: TestClient,
    settings: Settings,
    wechat: FakeWeChat,
    sign_type: str,
    include_sign_type: bool,
) -> None:
    started = await start_team(client, settings)
    body = await notify_of(
        wechat, started["order"]["id"], sign_type=sign_type, include_sign_type=include_sign_type
    )
    assert (b"<sign_type>" in body) is include_sign_type

    assert await post_notify(client, body) == (200, pay.SUCCESS_REPLY)

    order = await Order.get(id=started["order"]["id"])
    assert order.status is OrderStatus.PAID_AWAITING_TEAM
    assert await Payment.filter(order_id=order.id, outcome="honoured").count() == 1


# Refusals ------------------------------------------------------------------------------------


XXE = (
    b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b"<xml><return_code>&xxe;</return_code></xml>"
)
LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
    b'<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">'
    b"]><xml><return_code>&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;</return_code></xml>"
)


async def _bad(case: str, wechat: FakeWeChat, order_id: str) -> bytes:
    order = await Order.get(id=order_id)
    genuine = await notify_of(wechat, order_id)
    if case == "tampered_total_fee":
        return genuine.replace(
            f"<total_fee>{order.amount}</total_fee>".encode(), b"<total_fee>1</total_fee>"
        )
    if case == "wrong_key":
        return await notify_of(FakeWeChat(api_key="f" * 32), order_id)
    if case == "wrong_appid":
        return await notify_of(wechat, order_id, appid="wxffffffffffffffff")
    if case == "wrong_mch_id":
        return await notify_of(wechat, order_id, mch_id="1000000001")
    if case == "amount_mismatch":
        return await notify_of(wechat, order_id, total_fee=order.amount + 100)
    if case == "unknown_out_trade_no":
        return wechat.payment_notify(out_trade_no="QSNOSUCHORDER", total_fee=990, openid="o-1")
    return {
        "malformed": genuine.replace(b"</xml>", b""),
        "external_entity": XXE,
        "billion_laughs": LAUGHS,
    }[case]


@pytest.mark.parametrize(
    "case",
    [
        "tampered_total_fee",
        "wrong_key",
        "wrong_appid",
        "wrong_mch_id",
        "amount_mismatch",
        "unknown_out_trade_no",
        "malformed",
        "external_entity",
        "billion_laughs",
    ],
)
async def test_refused_notify_answers_fail_and_changes_nothing(
    client: TestClient, settings: Settings, wechat: FakeWeChat, case: str
) -> None:
    started = await start_team(client, settings)
    body = await _bad(case, wechat, started["order"]["id"])
    before = await snapshot()

    status, reply = await post_notify(client, body)

    assert status == 200 and is_fail(reply)
    assert await snapshot() == before
    assert (before["payments"], before["refunds"], before["outbox"]) == (0, 0, 0)


async def test_failed_payment_is_acknowledged_and_changes_nothing(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    started = await start_team(client, settings)
    before = await snapshot()

    body = await notify_of(wechat, started["order"]["id"], result_code="FAIL")
    assert await post_notify(client, body) == (200, pay.SUCCESS_REPLY)

    assert await snapshot() == before


def _padded(body: bytes, to: int) -> bytes:
    """The notify with a comment that takes it to ``to`` bytes (comments are not signed)."""
    filler = b"<!--" + b"x" * (to - len(body) - 7) + b"-->"
    return body.replace(b"</xml>", filler + b"</xml>")


async def test_body_over_64_kib_is_refused(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    started = await start_team(client, settings)
    genuine = await notify_of(wechat, started["order"]["id"])
    big = _padded(genuine, 64 * 1024 + 1)
    assert len(big) == 64 * 1024 + 1
    before = await snapshot()

    status, reply = await post_notify(client, big)
    assert status == 413 and is_fail(reply)

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked
        for start in range(0, len(big), 8192):
            yield big[start : start + 8192]

    resp = await client.post(NOTIFY, data=chunks(), headers=XML)
    assert resp.status == 413 and is_fail(await resp.read())
    resp = await client.post("/pay/wechat/refund-notify", data=big, headers=XML)
    assert resp.status == 413 and is_fail(await resp.read())
    assert await snapshot() == before

    # Just under the limit the same notify is read and applied.
    assert await post_notify(client, _padded(genuine, 64 * 1024)) == (200, pay.SUCCESS_REPLY)
    assert await Payment.all().count() == 1


async def test_notify_arriving_in_pieces_is_read_whole(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    """A body split across TCP segments (a proxy, a slow link) is still one notify."""
    started = await start_team(client, settings)
    body = await notify_of(wechat, started["order"]["id"])
    head = (
        f"POST {NOTIFY} HTTP/1.1\r\nHost: {client.host}:{client.port}\r\n"
        f"Content-Type: application/xml\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    reader, writer = await asyncio.open_connection(client.host, client.port)
    try:
        writer.write(head + body[:200])
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(body[200:])
        await writer.drain()
        answer = await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()

    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 200 OK"
    assert rest.endswith(pay.SUCCESS_REPLY), answer
    assert await Payment.all().count() == 1


async def test_chunked_notify_is_read_whole(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    started = await start_team(client, settings)
    body = await notify_of(wechat, started["order"]["id"])

    async def pieces() -> AsyncIterator[bytes]:
        yield body[:200]
        await asyncio.sleep(0.05)
        yield body[200:]

    resp = await client.post(NOTIFY, data=pieces(), headers=XML)

    assert (resp.status, await resp.read()) == (200, pay.SUCCESS_REPLY)
    assert await Payment.all().count() == 1


# Direct orders ---------------------------------------------------------------------------


async def test_direct_order_paid_is_confirmed(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    sku = await make_sku(price=1290, stock=4)
    user = await make_user()
    headers = auth(user, settings)
    resp = await client.post(
        "/api/v1/orders", json={"sku_id": str(sku.id), "quantity": 2}, headers=headers
    )
    assert resp.status == 201, await resp.text()
    created = await resp.json()
    assert (created["kind"], created["status"], created["amount"]) == (
        "direct",
        "pending_payment",
        2580,
    )

    body = await notify_of(wechat, created["id"], transaction_id="4200DIRECT01")
    assert await post_notify(client, body) == (200, pay.SUCCESS_REPLY)

    resp = await client.get(f"/api/v1/orders/{created['id']}", headers=headers)
    shown = await resp.json()
    assert shown["status"] == "confirmed" and shown["paid_at"] is not None
    payment = await Payment.get(order_id=created["id"])
    assert (payment.transaction_id, payment.amount, payment.outcome) == (
        "4200DIRECT01",
        2580,
        "honoured",
    )


# Prepay ------------------------------------------------------------------------------------


async def test_prepay_params_are_signed_for_request_payment(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    started = await start_team(client, settings)
    order = await Order.get(id=started["order"]["id"])

    resp = await client.post(
        f"/api/v1/orders/{order.id}/prepay", headers=auth(started["user"], settings)
    )

    assert resp.status == 200, await resp.text()
    params = await resp.json()
    assert set(params) == {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert params["package"] == f"prepay_id={wechat.pay_orders[order.out_trade_no]['prepay_id']}"
    assert params["appId"] == settings.wechat_appid
    key = settings.pay_api_key.get_secret_value()
    unsigned = {k: v for k, v in params.items() if k != "paySign"}
    assert pay.verify({**unsigned, "sign": params["paySign"]}, key)
    assert params["paySign"] == pay.sign(unsigned, key, params["signType"])
    placed = wechat.pay_orders[order.out_trade_no]
    assert placed["notify_url"] == f"{settings.public_base_url}{NOTIFY}"
    assert placed["total_fee"] == str(order.amount)


async def test_prepay_of_another_users_order_is_not_found(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    started = await start_team(client, settings)
    stranger = await make_user()

    resp = await client.post(
        f"/api/v1/orders/{started['order']['id']}/prepay", headers=auth(stranger, settings)
    )

    assert resp.status == 404
    assert (await resp.json())["code"] == "order_not_found"
    assert wechat.pay_orders == {}


async def test_prepay_of_a_cancelled_order_is_refused(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    started = await start_team(client, settings)
    headers = auth(started["user"], settings)
    order_id = started["order"]["id"]
    resp = await client.post(f"/api/v1/orders/{order_id}/cancel", headers=headers)
    assert resp.status == 200 and (await resp.json())["status"] == "cancelled"

    resp = await client.post(f"/api/v1/orders/{order_id}/prepay", headers=headers)

    assert resp.status == 409
    assert (await resp.json())["code"] == "order_not_payable"
    assert wechat.pay_orders == {}


# The simulated payment (development only) -------------------------------------------------


async def test_simulated_payment_is_refused_outside_development(
    client: TestClient, settings: Settings
) -> None:
    started = await start_team(client, settings)

    resp = await client.post(
        f"/api/v1/dev/orders/{started['order']['id']}/simulate-payment",
        headers=auth(started["user"], settings),
    )

    assert resp.status == 403
    assert (await resp.json())["code"] == "simulation_disabled"
    assert await Payment.all().count() == 0
    assert (await Order.get(id=started["order"]["id"])).status is OrderStatus.PENDING_PAYMENT


async def test_simulated_payment_pays_through_the_real_notify(
    make_settings: Callable[..., Settings], start_client: Callable[..., Any]
) -> None:
    settings = make_settings(mode="development")
    client = await start_client(create_app(settings, background=False))
    started = await start_team(client, settings, team_size=2)
    order_id = started["order"]["id"]
    path = f"/api/v1/dev/orders/{order_id}/simulate-payment"

    stranger = await make_user()
    resp = await client.post(path, headers=auth(stranger, settings))
    assert resp.status == 404

    resp = await client.post(path, headers=auth(started["user"], settings))

    assert resp.status == 200, await resp.text()
    answer = await resp.json()
    assert (answer["order_id"], answer["notify_status"]) == (order_id, 200)
    assert pay.parse_xml(answer["notify_reply"].encode())["return_code"] == "SUCCESS"
    payment = await Payment.get(order_id=order_id)
    assert payment.transaction_id.startswith("SIM") and payment.outcome == "honoured"
    assert payment.payload["sign_type"] == "HMAC-SHA256"
    assert (await Order.get(id=order_id)).status is OrderStatus.PAID_AWAITING_TEAM
    assert (await Team.get(id=started["team"]["id"])).seats_paid == 1

    # The order no longer awaits payment: a second simulation is refused and changes nothing.
    resp = await client.post(path, headers=auth(started["user"], settings))
    assert resp.status == 409
    assert (await resp.json())["code"] == "order_not_payable"
    assert [p.outcome for p in await Payment.filter(order_id=order_id)] == ["honoured"]
    assert (await Order.get(id=order_id)).status is OrderStatus.PAID_AWAITING_TEAM
    assert (await Team.get(id=started["team"]["id"])).seats_paid == 1
    assert await Refund.filter(order_id=order_id).count() == 0
