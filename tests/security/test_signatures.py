"""Every webhook and notify endpoint refuses missing, wrong and stale signatures and acts once
on a replayed request; a refused request changes no row.

The chat webhooks are fed "参团 <code>" (which holds a seat and makes an order), so acting
twice would show as a second seat. WeChat Pay v2 notifies carry no signed timestamp (WeChat
Pay retries one for up to a day): their freshness is the transaction applied once, checked
here by replaying a genuine notify days later.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from wechatpy.enterprise.crypto import PrpCrypto as WeComPrp

from models.groupbuy import Seat, Team
from models.order import Order, OrderStatus
from models.payment import Payment, Refund, RefundStatus
from qunshop.assembly.app import create_app
from qunshop.assembly.background import outbox_handlers
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from services import orders, outbox, refunds
from tests.bot.helpers import OA, WeComApp, WeComBot, next_msg_id, oa_text, sign
from tests.conftest import TEST_SECRETS
from tests.security.rows import changed_tables, snapshot
from tests.support.factories import auth, make_campaign, make_community, make_user
from tests.support.fake_wechat import FakeWeChat
from tests.support.growth import paid_order
from wechat import pay

WINDOW = 300  # Settings.webhook_replay_window's default
_senders = itertools.count(1)
_nonces = itertools.count(900000001)


def _ts(offset: int = 0) -> str:
    return str(int(datetime.now(tz=UTC).timestamp()) + offset)


@dataclass(frozen=True)
class Signed:
    """One request as the platform sends it; ``signature`` names its signature parameter."""

    method: str
    path: str
    params: dict[str, str]
    data: str
    signature: str

    def without_signature(self) -> Signed:
        return replace(self, params={k: v for k, v in self.params.items() if k != self.signature})

    def with_signature(self, value: str) -> Signed:
        return replace(self, params={**self.params, self.signature: value})

    async def send(self, client: TestClient) -> tuple[int, str]:
        resp = await client.request(self.method, self.path, params=self.params, data=self.data)
        return resp.status, await resp.text()


# Builders: (text, sender, timestamp) -> a request signed as the platform signs it -----------


def oa_plain(text: str, sender: str, ts: str) -> Signed:
    n = str(next(_nonces))
    token = TEST_SECRETS["wechat_token"]
    return Signed(
        "POST",
        "/bot/wechat",
        {"signature": sign(token, ts, n), "timestamp": ts, "nonce": n, "openid": sender},
        oa_text(text, sender=sender),
        "signature",
    )


def oa_safe(text: str, sender: str, ts: str) -> Signed:
    n = str(next(_nonces))
    oa = OA(client=None)  # type: ignore[arg-type]  # only its crypto is used
    query, body = oa.seal(oa_text(text, sender=sender), ts, n)
    return Signed("POST", "/bot/wechat", query, body, "msg_signature")


def wecom_app(text: str, sender: str, ts: str) -> Signed:
    n = str(next(_nonces))
    app = WeComApp(client=None)  # type: ignore[arg-type]
    xml = app.xml(text, sender=sender)
    encrypt = WeComPrp(app.crypto.key).encrypt(xml, app.corp_id).decode()
    body = (
        f"<xml><ToUserName><![CDATA[{app.corp_id}]]></ToUserName>"
        f"<Encrypt><![CDATA[{encrypt}]]></Encrypt><AgentID>1000002</AgentID></xml>"
    )
    query = {"msg_signature": sign(app.token, ts, n, encrypt), "timestamp": ts, "nonce": n}
    return Signed("POST", "/bot/wecom", query, body, "msg_signature")


def wecom_bot(text: str, sender: str, ts: str) -> Signed:
    n = str(next(_nonces))
    bot = WeComBot(client=None)  # type: ignore[arg-type]
    payload = WeComBot.text(text, chat_id=None, sender=sender, msg_id=next_msg_id())
    query, encrypt = bot.sealed_query(json.dumps(payload, ensure_ascii=False), ts, n)
    return Signed(
        "POST", "/bot/wecom-bot", query, json.dumps({"encrypt": encrypt}), "msg_signature"
    )


def oa_verify(ts: str) -> Signed:
    n = str(next(_nonces))
    token = TEST_SECRETS["wechat_token"]
    query = {"signature": sign(token, ts, n), "timestamp": ts, "nonce": n, "echostr": "ECHO-4711"}
    return Signed("GET", "/bot/wechat", query, "", "signature")


def _echo_verify(path: str, token: str, key: bytes, receive_id: str, ts: str) -> Signed:
    n = str(next(_nonces))
    echostr = WeComPrp(key).encrypt("ECHO-4711", receive_id).decode()
    query = {
        "msg_signature": sign(token, ts, n, echostr),
        "timestamp": ts,
        "nonce": n,
        "echostr": echostr,
    }
    return Signed("GET", path, query, "", "msg_signature")


def wecom_verify(ts: str) -> Signed:
    app = WeComApp(client=None)  # type: ignore[arg-type]
    return _echo_verify("/bot/wecom", app.token, app.crypto.key, app.corp_id, ts)


def wecom_bot_verify(ts: str) -> Signed:
    bot = WeComBot(client=None)  # type: ignore[arg-type]
    return _echo_verify("/bot/wecom-bot", bot.token, bot.crypto.key, "", ts)


MESSAGES: dict[str, Callable[[str, str, str], Signed]] = {
    "wechat-plain": oa_plain,
    "wechat-safe": oa_safe,
    "wecom-app": wecom_app,
    "wecom-bot": wecom_bot,
}
VERIFICATIONS: dict[str, Callable[[str], Signed]] = {
    "wechat": oa_verify,
    "wecom-app": wecom_verify,
    "wecom-bot": wecom_bot_verify,
}


def _wrong(request: Signed) -> str:
    """A well-formed signature over the same parts, made with another token."""
    parts = [request.params["timestamp"], request.params["nonce"]]
    if request.signature == "msg_signature":
        if request.method == "GET":
            parts.append(request.params["echostr"])
        else:
            parts.append(_encrypt_field(request))
    return sign("not-the-token", *parts)


def _encrypt_field(request: Signed) -> str:
    if request.data.startswith("{"):
        return json.loads(request.data)["encrypt"]
    return request.data.split("<Encrypt><![CDATA[", 1)[1].split("]]>", 1)[0]


def _tampered(request: Signed) -> str:
    good = request.params[request.signature]
    return good[:-1] + ("0" if good[-1] != "0" else "1")


BREAKS = ("missing", "empty", "wrong", "tampered", "stale", "future", "no-timestamp")


def broken(how: str, build: Callable[[str], Signed]) -> Signed:
    """``build(timestamp)``'s request, broken as ``how`` says."""
    if how == "stale":  # signed correctly, but outside the replay window
        return build(_ts(-WINDOW - 60))
    if how == "future":
        return build(_ts(WINDOW + 60))
    request = build(_ts())
    if how == "missing":
        return request.without_signature()
    if how == "empty":
        return request.with_signature("")
    if how == "wrong":
        return request.with_signature(_wrong(request))
    if how == "tampered":
        return request.with_signature(_tampered(request))
    assert how == "no-timestamp"
    return replace(request, params={k: v for k, v in request.params.items() if k != "timestamp"})


@pytest.fixture
async def team_code(client: TestClient, settings: Settings) -> str:
    campaign = await make_campaign(team_size=10, stock_cap=20)
    head = await make_user()
    resp = await client.post(
        f"/api/v1/campaigns/{campaign.id}/teams", json={}, headers=auth(head, settings)
    )
    assert resp.status == 201, await resp.text()
    return (await resp.json())["team"]["code"]


async def _seats() -> int:
    return await Seat.all().count()


@pytest.mark.parametrize("platform", sorted(MESSAGES))
@pytest.mark.parametrize("how", BREAKS)
async def test_a_bad_signature_or_timestamp_is_refused_and_changes_nothing(
    client: TestClient, team_code: str, platform: str, how: str
) -> None:
    build = MESSAGES[platform]
    sender = f"intruder-{next(_senders)}"
    request = broken(how, lambda ts: build(f"参团 {team_code}", sender, ts))
    before = await snapshot()

    status, text = await request.send(client)

    assert status == 403, text
    assert team_code not in text
    await asyncio.sleep(0.05)  # anything dispatched in the background would have begun
    assert changed_tables(before, await snapshot()) == []


@pytest.mark.parametrize("platform", sorted(MESSAGES))
async def test_a_replayed_message_acts_once(
    client: TestClient, team_code: str, platform: str
) -> None:
    sender = f"member-{next(_senders)}"
    request = MESSAGES[platform](f"参团 {team_code}", sender, _ts())
    seats = await _seats()

    together = await asyncio.gather(*(request.send(client) for _ in range(3)))
    later = await request.send(client)

    assert [status for status, _ in [*together, later]] == [200] * 4
    async with asyncio.timeout(5):  # a slow answer finishes in a tracked task
        while await _seats() == seats:
            await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)
    assert await _seats() == seats + 1
    team = await Team.get(code=team_code)
    assert team.seats_held == 2  # the head and this member, once


@pytest.mark.parametrize("endpoint", sorted(VERIFICATIONS))
@pytest.mark.parametrize("how", BREAKS)
async def test_url_verification_refuses_bad_signatures(
    client: TestClient, endpoint: str, how: str
) -> None:
    build = VERIFICATIONS[endpoint]
    assert await build(_ts()).send(client) == (200, "ECHO-4711")  # the genuine one passes

    status, text = await broken(how, build).send(client)

    assert status == 403 and "ECHO-4711" not in text


# WeChat Pay v2 notifies ---------------------------------------------------------------------

NOTIFY = "/pay/wechat/notify"
REFUND_NOTIFY = "/pay/wechat/refund-notify"
XML = {"Content-Type": "application/xml"}


async def _post(client: TestClient, path: str, body: bytes) -> tuple[int, bytes]:
    resp = await client.post(path, data=body, headers=XML)
    return resp.status, await resp.read()


def _is_fail(reply: bytes) -> bool:
    return pay.parse_xml(reply)["return_code"] == "FAIL"


async def _pending_order(client: TestClient, settings: Settings) -> Order:
    campaign = await make_campaign(team_size=3, stock_cap=10, group_price=990)
    user = await make_user()
    resp = await client.post(
        f"/api/v1/campaigns/{campaign.id}/teams", json={}, headers=auth(user, settings)
    )
    assert resp.status == 201, await resp.text()
    return await Order.get(id=(await resp.json())["order"]["id"])


async def _notify_for(wechat: FakeWeChat, order: Order, **kw: Any) -> bytes:
    user = await order.user
    return wechat.payment_notify(
        out_trade_no=order.out_trade_no, total_fee=order.amount, openid=user.openid, **kw
    )


def _unsigned(body: bytes) -> bytes:
    fields = pay.parse_xml(body)
    fields.pop("sign")
    return pay.to_xml(fields)


def _resigned_with(body: bytes, key: str) -> bytes:
    fields = pay.parse_xml(body)
    fields["sign"] = pay.sign(fields, key, fields.get("sign_type", pay.MD5))
    return pay.to_xml(fields)


def _with(body: bytes, **changes: str) -> bytes:
    """The notify with some fields changed and its sign left as it was."""
    return pay.to_xml({**pay.parse_xml(body), **changes})


PAY_BREAKS: dict[str, Callable[[bytes], bytes]] = {
    "missing": _unsigned,
    "empty": lambda body: _with(body, sign=""),
    "wrong-key": lambda body: _resigned_with(body, "f" * 32),
    "tampered": lambda body: _with(body, openid="o-someone-else"),
    "unknown-sign-type": lambda body: _with(body, sign_type="NONE"),
}


@pytest.mark.parametrize("how", sorted(PAY_BREAKS))
async def test_pay_notify_refuses_bad_signatures_and_changes_nothing(
    client: TestClient, settings: Settings, wechat: FakeWeChat, how: str
) -> None:
    order = await _pending_order(client, settings)
    body = PAY_BREAKS[how](await _notify_for(wechat, order))
    before = await snapshot()

    status, reply = await _post(client, NOTIFY, body)

    assert status == 200 and _is_fail(reply)  # FAIL: WeChat Pay would retry a genuine one
    assert changed_tables(before, await snapshot()) == []


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(tz=UTC))


@pytest.fixture
async def clocked_client(
    settings: Settings, clock: FrozenClock, start_client: Callable[..., Awaitable[TestClient]]
) -> TestClient:
    """The app on a clock the test moves (one app per process: Tortoise has one context)."""
    return await start_client(create_app(settings, clock=clock, background=False))


async def test_pay_notify_replayed_applies_once_even_days_later(
    clocked_client: TestClient, clock: FrozenClock, settings: Settings, wechat: FakeWeChat
) -> None:
    client = clocked_client
    order = await _pending_order(client, settings)
    body = await _notify_for(wechat, order)

    together = await asyncio.gather(*(_post(client, NOTIFY, body) for _ in range(3)))
    assert together == [(200, pay.SUCCESS_REPLY)] * 3
    assert await Payment.filter(order_id=order.id).count() == 1
    paid = await Order.get(id=order.id)
    assert paid.status is OrderStatus.PAID_AWAITING_TEAM
    before = await snapshot()

    clock.advance(timedelta(days=3))
    assert await _post(client, NOTIFY, body) == (200, pay.SUCCESS_REPLY)
    assert changed_tables(before, await snapshot()) == []


async def _refund_owed(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> tuple[Order, Refund]:
    """A paid, confirmed order being refunded: its refund submitted to WeChat Pay."""
    community = await make_community()
    order = await paid_order(settings, wechat, await make_user(), community, price=4_321)
    payment = await Payment.get(order_id=order.id)
    await orders.transition(order, OrderStatus.REFUNDING)
    refund = await refunds.owe(
        order=order, payment=payment, amount=order.amount, reason="test", now=datetime.now(tz=UTC)
    )
    # Submitted as the server does it: the app's outbox sends it to (the fake) WeChat Pay.
    await outbox.run_once(
        outbox_handlers(client.server.app), now=datetime.now(tz=UTC) + timedelta(seconds=1)
    )
    await refund.refresh_from_db()
    assert refund.status is RefundStatus.SUBMITTED
    return order, refund


def _refund_notify(wechat: FakeWeChat, order: Order, refund: Refund) -> bytes:
    return wechat.refund_notify(
        out_refund_no=refund.out_refund_no,
        out_trade_no=order.out_trade_no,
        refund_fee=refund.amount,
        total_fee=refund.total,
    )


REFUND_BREAKS: dict[str, Callable[[FakeWeChat, Order, Refund], bytes]] = {
    "missing": lambda w, o, r: pay.to_xml(
        {k: v for k, v in pay.parse_xml(_refund_notify(w, o, r)).items() if k != "req_info"}
    ),
    "wrong-key": lambda w, o, r: _refund_notify(FakeWeChat(api_key="f" * 32), o, r),
    "tampered": lambda w, o, r: pay.to_xml(
        {
            **pay.parse_xml(_refund_notify(w, o, r)),
            "req_info": "A" * 64,
        }
    ),
}


@pytest.mark.parametrize("how", sorted(REFUND_BREAKS))
async def test_refund_notify_refuses_what_is_not_sealed_with_our_key(
    client: TestClient, settings: Settings, wechat: FakeWeChat, how: str
) -> None:
    order, refund = await _refund_owed(client, settings, wechat)
    body = REFUND_BREAKS[how](wechat, order, refund)
    before = await snapshot()

    status, reply = await _post(client, REFUND_NOTIFY, body)

    assert status == 200 and _is_fail(reply)
    assert changed_tables(before, await snapshot()) == []


async def test_refund_notify_replayed_settles_once_even_days_later(
    clocked_client: TestClient, clock: FrozenClock, settings: Settings, wechat: FakeWeChat
) -> None:
    client = clocked_client
    order, refund = await _refund_owed(client, settings, wechat)
    body = _refund_notify(wechat, order, refund)

    together = await asyncio.gather(*(_post(client, REFUND_NOTIFY, body) for _ in range(3)))
    assert together == [(200, pay.SUCCESS_REPLY)] * 3
    settled = await Refund.get(id=refund.id)
    assert settled.status is RefundStatus.SUCCEEDED
    assert (await Order.get(id=order.id)).status is OrderStatus.REFUNDED
    before = await snapshot()

    clock.advance(timedelta(days=3))
    assert await _post(client, REFUND_NOTIFY, body) == (200, pay.SUCCESS_REPLY)
    assert changed_tables(before, await snapshot()) == []
