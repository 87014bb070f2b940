"""The async WeChat clients against the fake WeChat server (and a few hostile ones)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer, unused_port

from tests.support.fake_wechat import FakeWeChat
from wechat import pay
from wechat.api import PayClient, PayError, WeChatError, code_to_session

APPID = "wx1234567890test"
MCH_ID = "1230000109"
API_KEY = "192006250b4c09247ec02edce69f6a2d"
NOTIFY_URL = "https://shop.example/pay/notify"
REFUND_NOTIFY_URL = "https://shop.example/pay/refund-notify"

StartApp = Callable[[web.Application], Awaitable[str]]


@pytest.fixture
async def start_app() -> AsyncIterator[StartApp]:
    """Serve an aiohttp app on a real port; returns its base URL."""
    servers: list[TestServer] = []

    async def start(app: web.Application) -> str:
        server = TestServer(app)
        await server.start_server()
        servers.append(server)
        return str(server.make_url("")).rstrip("/")

    yield start
    for server in reversed(servers):
        await server.close()


@pytest.fixture
async def fake_server(start_app: StartApp) -> tuple[FakeWeChat, str]:
    fake = FakeWeChat()
    return fake, await start_app(fake.build())


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def client(http: aiohttp.ClientSession, base: str, **overrides: Any) -> PayClient:
    values: dict[str, Any] = {
        "http": http,
        "base": base,
        "appid": APPID,
        "mch_id": MCH_ID,
        "api_key": API_KEY,
        **overrides,
    }
    return PayClient(**values)


async def order(pay_client: PayClient, **overrides: Any) -> dict[str, str]:
    values: dict[str, Any] = {
        "out_trade_no": "T202601010001",
        "body": "团购-有机苹果 5斤",
        "total_fee": 990,
        "openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
        "notify_url": NOTIFY_URL,
        "client_ip": "203.0.113.7",
        **overrides,
    }
    return await pay_client.unified_order(**values)


# unified_order -------------------------------------------------------------------------------


async def test_unified_order_returns_a_prepay_id(
    fake_server: tuple[FakeWeChat, str], http: aiohttp.ClientSession
) -> None:
    fake, base = fake_server
    answer = await order(
        client(http, base),
        time_expire=datetime(2026, 1, 1, 4, 30, tzinfo=UTC),
        attach="team=42",
    )

    assert answer["return_code"] == "SUCCESS"
    assert answer["result_code"] == "SUCCESS"
    assert answer["prepay_id"].startswith("wx")
    assert answer["prepay_id"] == fake.pay_orders["T202601010001"]["prepay_id"]

    [call] = fake.calls_to("/pay/unifiedorder")
    sent = pay.parse_xml(call.body)
    assert pay.verify(sent, API_KEY)
    assert len(sent["nonce_str"]) == 32
    assert {k: v for k, v in sent.items() if k not in ("nonce_str", "sign")} == {
        "appid": APPID,
        "mch_id": MCH_ID,
        "sign_type": "HMAC-SHA256",
        "body": "团购-有机苹果 5斤",
        "out_trade_no": "T202601010001",
        "total_fee": "990",
        "spbill_create_ip": "203.0.113.7",
        "notify_url": NOTIFY_URL,
        "trade_type": "JSAPI",
        "openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
        "attach": "team=42",
        # 04:30 UTC is 12:30 in Asia/Shanghai.
        "time_expire": "20260101123000",
    }
    assert sent["sign"] == pay.sign(sent, API_KEY, "HMAC-SHA256")


async def test_unified_order_with_md5_and_a_long_body(
    fake_server: tuple[FakeWeChat, str], http: aiohttp.ClientSession
) -> None:
    fake, base = fake_server
    answer = await order(client(http, base, sign_type="MD5"), body="苹" * 200)

    sent = pay.parse_xml(fake.calls_to("/pay/unifiedorder")[0].body)
    assert sent["sign_type"] == "MD5"
    assert sent["sign"] == pay.sign(sent, API_KEY, "MD5")
    assert sent["body"] == "苹" * 127
    assert "time_expire" not in sent
    assert "attach" not in sent
    assert answer["prepay_id"] == fake.pay_orders["T202601010001"]["prepay_id"]


async def test_unified_order_repeat_gives_the_same_prepay_id(
    fake_server: tuple[FakeWeChat, str], http: aiohttp.ClientSession
) -> None:
    fake, base = fake_server
    pay_client = client(http, base)
    first = await order(pay_client)
    second = await order(pay_client)

    assert second["prepay_id"] == first["prepay_id"]
    assert len(fake.pay_orders) == 1
    assert len(fake.calls_to("/pay/unifiedorder")) == 2

    other = await order(pay_client, out_trade_no="T202601010002")
    assert other["prepay_id"] != first["prepay_id"]


async def test_unified_order_repeat_with_another_amount_is_refused(
    fake_server: tuple[FakeWeChat, str], http: aiohttp.ClientSession
) -> None:
    fake, base = fake_server
    pay_client = client(http, base)
    await order(pay_client)

    with pytest.raises(PayError) as caught:
        await order(pay_client, total_fee=991)
    assert caught.value.code == "OUT_TRADE_NO_USED"
    assert caught.value.retryable is False
    assert fake.pay_orders["T202601010001"]["total_fee"] == "990"


async def test_unified_order_with_the_wrong_key_is_signerror(
    fake_server: tuple[FakeWeChat, str], http: aiohttp.ClientSession
) -> None:
    fake, base = fake_server
    with pytest.raises(PayError) as caught:
        await order(client(http, base, api_key="0" * 32))

    assert caught.value.code == "SIGNERROR"
    assert caught.value.retryable is False
    assert fake.pay_orders == {}
    assert len(fake.calls_to("/pay/unifiedorder")) == 1


async def test_unified_order_refuses_bad_arguments_before_sending(
    fake_server: tuple[FakeWeChat, str], http: aiohttp.ClientSession
) -> None:
    fake, base = fake_server
    pay_client = client(http, base)
    with pytest.raises(ValueError, match="total_fee"):
        await order(pay_client, total_fee=0)
    with pytest.raises(ValueError, match="total_fee"):
        await order(pay_client, total_fee=9.9)
    with pytest.raises(ValueError, match="timezone"):
        await order(pay_client, time_expire=datetime(2026, 1, 1, 12, 0))  # noqa: DTZ001
    with pytest.raises(ValueError, match="attach"):
        await order(pay_client, attach="x" * 128)
    assert fake.calls == []


# refund --------------------------------------------------------------------------------------


async def refund(pay_client: PayClient, **overrides: Any) -> dict[str, str]:
    values: dict[str, Any] = {
        "out_trade_no": "T202601010001",
        "out_refund_no": "R202601010001",
        "total_fee": 990,
        "refund_fee": 300,
        "notify_url": REFUND_NOTIFY_URL,
        **overrides,
    }
    return await pay_client.refund(**values)


async def test_refund_succeeds_and_is_idempotent(
    fake_server: tuple[FakeWeChat, str], http: aiohttp.ClientSession
) -> None:
    fake, base = fake_server
    pay_client = client(http, base)
    first = await refund(pay_client)
    second = await refund(pay_client)

    assert first["result_code"] == "SUCCESS"
    assert first["refund_id"]
    assert second["refund_id"] == first["refund_id"]
    assert first["refund_fee"] == "300"
    assert first["out_refund_no"] == "R202601010001"
    assert list(fake.refunds) == ["R202601010001"]
    recorded = fake.refunds["R202601010001"]
    assert recorded["refund_id"] == first["refund_id"]
    assert (recorded["out_trade_no"], recorded["total_fee"], recorded["refund_fee"]) == (
        "T202601010001",
        "990",
        "300",
    )
    assert recorded["notify_url"] == REFUND_NOTIFY_URL

    calls = fake.calls_to("/secapi/pay/refund")
    assert len(calls) == 2
    sent = pay.parse_xml(calls[0].body)
    assert sent["sign_type"] == "HMAC-SHA256"
    assert pay.verify(sent, API_KEY)

    another = await refund(pay_client, out_refund_no="R202601010002", refund_fee=690)
    assert another["refund_id"] != first["refund_id"]
    assert len(fake.refunds) == 2


async def test_refund_systemerror_is_retryable(
    fake_server: tuple[FakeWeChat, str], http: aiohttp.ClientSession
) -> None:
    fake, base = fake_server
    fake.refund_failures = 2
    pay_client = client(http, base)

    for _ in range(2):
        with pytest.raises(PayError) as caught:
            await refund(pay_client)
        assert caught.value.code == "SYSTEMERROR"
        assert caught.value.retryable is True
    assert fake.refunds == {}

    answer = await refund(pay_client)
    assert answer["refund_id"] == fake.refunds["R202601010001"]["refund_id"]
    assert fake.refund_failures == 0
    assert len(fake.calls_to("/secapi/pay/refund")) == 3


async def test_refund_above_the_total_is_refused(
    fake_server: tuple[FakeWeChat, str], http: aiohttp.ClientSession
) -> None:
    fake, base = fake_server
    with pytest.raises(PayError) as caught:
        await refund(client(http, base), refund_fee=991)
    assert caught.value.code == "INVALID_REQUEST"
    assert caught.value.retryable is False
    assert fake.refunds == {}


async def test_refund_with_the_wrong_key_is_signerror(
    fake_server: tuple[FakeWeChat, str], http: aiohttp.ClientSession
) -> None:
    fake, base = fake_server
    with pytest.raises(PayError) as caught:
        await refund(client(http, base, api_key="f" * 32, sign_type="MD5"))
    assert caught.value.code == "SIGNERROR"
    assert caught.value.retryable is False
    assert fake.refunds == {}


# failures of the network and of the other side -----------------------------------------------


async def test_unreachable_pay_server_is_retryable(http: aiohttp.ClientSession) -> None:
    base = f"http://127.0.0.1:{unused_port()}"
    pay_client = client(http, base)
    with pytest.raises(PayError) as caught:
        await order(pay_client)
    assert caught.value.code == "NETWORK_ERROR"
    assert caught.value.retryable is True

    with pytest.raises(PayError) as caught:
        await refund(pay_client)
    assert caught.value.code == "NETWORK_ERROR"
    assert caught.value.retryable is True


async def test_slow_servers_time_out(start_app: StartApp, http: aiohttp.ClientSession) -> None:
    release = asyncio.Event()

    async def stall(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(text="late")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", stall)
    base = await start_app(app)
    try:
        with pytest.raises(PayError) as caught:
            await order(client(http, base, timeout=0.05))
        assert caught.value.code == "NETWORK_ERROR"
        assert caught.value.retryable is True

        with pytest.raises(WeChatError) as wx_caught:
            await code_to_session(
                http, base=base, appid=APPID, secret="s", js_code="c", timeout=0.05
            )
        assert wx_caught.value.errcode == -1
    finally:
        release.set()


async def serve_one_answer(
    start_app: StartApp, body: bytes, status: int = 200, content_type: str = "text/xml"
) -> str:
    async def answer(request: web.Request) -> web.Response:
        return web.Response(body=body, status=status, content_type=content_type)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    return await start_app(app)


async def test_a_success_with_a_forged_signature_is_refused(
    start_app: StartApp, http: aiohttp.ClientSession
) -> None:
    forged: dict[str, object] = {
        "return_code": "SUCCESS",
        "result_code": "SUCCESS",
        "appid": APPID,
        "mch_id": MCH_ID,
        "nonce_str": pay.nonce(),
        "prepay_id": "wx-forged",
        "trade_type": "JSAPI",
    }
    forged["sign"] = pay.sign(forged, "not-the-merchant-key", "HMAC-SHA256")
    base = await serve_one_answer(start_app, pay.to_xml(forged))

    with pytest.raises(PayError) as caught:
        await order(client(http, base))
    assert caught.value.code == "BAD_RESPONSE_SIGNATURE"
    assert caught.value.retryable is False


async def test_an_unsigned_success_is_refused(
    start_app: StartApp, http: aiohttp.ClientSession
) -> None:
    body = pay.to_xml({"return_code": "SUCCESS", "result_code": "SUCCESS", "prepay_id": "wx1"})
    base = await serve_one_answer(start_app, body)
    with pytest.raises(PayError) as caught:
        await order(client(http, base))
    assert caught.value.code == "BAD_RESPONSE_SIGNATURE"


async def test_return_code_fail_is_reported_with_its_message(
    start_app: StartApp, http: aiohttp.ClientSession
) -> None:
    base = await serve_one_answer(start_app, pay.fail_reply("参数格式校验错误"))
    with pytest.raises(PayError) as caught:
        await order(client(http, base))
    assert caught.value.code == "参数格式校验错误"
    assert caught.value.message == "参数格式校验错误"
    assert caught.value.retryable is False


@pytest.mark.parametrize(
    ("status", "body", "retryable"),
    [
        (502, b"<html>Bad Gateway</html>", True),
        (200, b"<html><body>maintenance", True),
        (200, b'<!DOCTYPE x [<!ENTITY a "b">]><xml><a>&a;</a></xml>', True),
        (404, b"not found", False),
    ],
    ids=["502", "not-xml", "dtd", "404"],
)
async def test_bad_pay_responses(
    start_app: StartApp,
    http: aiohttp.ClientSession,
    status: int,
    body: bytes,
    retryable: bool,
) -> None:
    base = await serve_one_answer(start_app, body, status=status)
    with pytest.raises(PayError) as caught:
        await order(client(http, base))
    assert caught.value.code == "BAD_RESPONSE"
    assert caught.value.retryable is retryable


# code_to_session -----------------------------------------------------------------------------


async def test_code_to_session_returns_the_session(
    fake_server: tuple[FakeWeChat, str], http: aiohttp.ClientSession
) -> None:
    fake, base = fake_server
    fake.sessions["code-1"] = {"openid": "o-1", "session_key": "c2Vzc2lvbmtleQ=="}
    fake.sessions["code-2"] = {
        "openid": "o-2",
        "session_key": "a2V5Mg==",
        "unionid": "u-2",
        "errcode": 0,
        "errmsg": "ok",
    }

    first = await code_to_session(
        http, base=base, appid=APPID, secret="app-secret", js_code="code-1"
    )
    second = await code_to_session(
        http, base=base, appid=APPID, secret="app-secret", js_code="code-2"
    )

    assert first == {"openid": "o-1", "session_key": "c2Vzc2lvbmtleQ=="}
    assert second == {"openid": "o-2", "session_key": "a2V5Mg==", "unionid": "u-2"}
    [call, _] = fake.calls_to("/sns/jscode2session")
    assert call.query == {
        "appid": APPID,
        "secret": "app-secret",
        "js_code": "code-1",
        "grant_type": "authorization_code",
    }


async def test_code_to_session_invalid_code(
    fake_server: tuple[FakeWeChat, str], http: aiohttp.ClientSession
) -> None:
    _, base = fake_server
    with pytest.raises(WeChatError) as caught:
        await code_to_session(http, base=base, appid=APPID, secret="s", js_code="used-code")
    assert caught.value.errcode == 40029
    assert caught.value.errmsg == "invalid code"


async def test_code_to_session_unreachable(http: aiohttp.ClientSession) -> None:
    base = f"http://127.0.0.1:{unused_port()}"
    with pytest.raises(WeChatError) as caught:
        await code_to_session(http, base=base, appid=APPID, secret="s", js_code="c")
    assert caught.value.errcode == -1


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, b"<html>busy</html>"),
        (200, b"[1, 2]"),
        (200, b'{"errcode": 0}'),
        (503, b'{"errcode": 0}'),
    ],
    ids=["not-json", "not-object", "no-openid", "503"],
)
async def test_code_to_session_bad_answers(
    start_app: StartApp, http: aiohttp.ClientSession, status: int, body: bytes
) -> None:
    base = await serve_one_answer(start_app, body, status=status, content_type="text/plain")
    with pytest.raises(WeChatError) as caught:
        await code_to_session(http, base=base, appid=APPID, secret="s", js_code="c")
    assert caught.value.errcode == -1


async def test_code_to_session_busy(start_app: StartApp, http: aiohttp.ClientSession) -> None:
    body = b'{"errcode": -1, "errmsg": "system error"}'
    base = await serve_one_answer(start_app, body, content_type="text/plain")
    with pytest.raises(WeChatError) as caught:
        await code_to_session(http, base=base, appid=APPID, secret="s", js_code="c")
    assert (caught.value.errcode, caught.value.errmsg) == (-1, "system error")


# the fake's notify builders, as WeChat Pay would send them -----------------------------------


@pytest.mark.parametrize(
    ("sign_type", "include_sign_type"),
    [("MD5", True), ("HMAC-SHA256", True), ("HMAC-SHA256", False)],
)
def test_payment_notify_is_signed_as_wechat_signs(sign_type: str, include_sign_type: bool) -> None:
    fake = FakeWeChat()
    notify = pay.parse_xml(
        fake.payment_notify(
            out_trade_no="T1",
            total_fee=990,
            openid="o-1",
            transaction_id="4200000001",
            sign_type=sign_type,
            include_sign_type=include_sign_type,
        )
    )
    assert pay.verify(notify, API_KEY)
    assert notify["sign"] == pay.sign(notify, API_KEY, sign_type)
    assert ("sign_type" in notify) is include_sign_type
    assert (notify["out_trade_no"], notify["total_fee"], notify["transaction_id"]) == (
        "T1",
        "990",
        "4200000001",
    )
    assert (notify["appid"], notify["mch_id"], notify["result_code"]) == (
        APPID,
        MCH_ID,
        "SUCCESS",
    )


def test_refund_notify_decrypts_with_the_merchant_key() -> None:
    fake = FakeWeChat()
    notify = pay.parse_xml(
        fake.refund_notify(
            out_refund_no="R1", out_trade_no="T1", refund_fee=300, total_fee=990, refund_id="5001"
        )
    )
    assert "sign" not in notify
    assert (notify["appid"], notify["mch_id"]) == (APPID, MCH_ID)
    info = pay.decrypt_refund_info(notify["req_info"], API_KEY)
    assert (info["out_refund_no"], info["out_trade_no"], info["refund_id"]) == ("R1", "T1", "5001")
    assert (info["refund_fee"], info["total_fee"], info["refund_status"]) == (
        "300",
        "990",
        "SUCCESS",
    )
