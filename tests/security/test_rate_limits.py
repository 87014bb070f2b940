"""Rate limits: logins per client address and per code (before WeChat is asked), and chat
commands per sender, through the real doors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
import xmltodict
from aiohttp.test_utils import TestClient

from qunshop.assembly.app import create_app
from qunshop.keys import REDIS
from services import chat_gate, ratelimit
from tests.bot.helpers import WeComApp
from tests.support.fake_wechat import FakeWeChat

SESSION = "/api/v1/session"
JSCODE = "/sns/jscode2session"


async def test_a_window_counts_what_fits_and_gives_back(client: TestClient) -> None:
    redis = client.server.app[REDIS]
    hits = [await ratelimit.take(redis, "t:one", limit=3, window_seconds=60) for _ in range(5)]
    assert hits == [True, True, True, False, False]
    assert await redis.get(ratelimit.key("t:one")) == b"3"  # refused hits are not counted
    assert await ratelimit.take(redis, "t:other", limit=3, window_seconds=60)  # keys are apart
    assert 0 < await redis.ttl(ratelimit.key("t:one")) <= 60  # the window always expires
    await ratelimit.give_back(redis, "t:one")
    assert await ratelimit.take(redis, "t:one", limit=3, window_seconds=60)
    assert not await ratelimit.take(redis, "t:one", limit=3, window_seconds=60)
    await redis.delete(ratelimit.key("t:one"))  # the window ended
    await ratelimit.give_back(redis, "t:one")  # nothing to give back: never below zero
    assert await redis.get(ratelimit.key("t:one")) is None
    assert await ratelimit.take(redis, "t:one", limit=3, window_seconds=60)  # a new window


def test_clock_windows_turn_with_the_clock() -> None:
    at = datetime(2026, 3, 2, 1, 0, 59, tzinfo=UTC)
    assert ratelimit.period_key("m", at, 60) != ratelimit.period_key(
        "m", at + timedelta(seconds=1), 60
    )
    assert ratelimit.period_key("m", at, 60) == ratelimit.period_key(
        "m", at - timedelta(seconds=59), 60
    )


async def test_login_is_limited_per_client_address(client: TestClient, wechat: FakeWeChat) -> None:
    statuses = []
    for i in range(ratelimit.LOGIN_PER_IP + 2):
        resp = await client.post(SESSION, json={"code": f"bad-code-{i}"})
        statuses.append(resp.status)
        body = await resp.json()
    assert statuses == [401] * ratelimit.LOGIN_PER_IP + [429, 429]
    assert body["code"] == "rate_limited" and body["retry_after"] == 60
    assert resp.content_type == "application/problem+json"
    # Refused logins never reached WeChat.
    assert len(wechat.calls_to(JSCODE)) == ratelimit.LOGIN_PER_IP

    # Another client address has its own allowance (both are on this machine's loopback).
    wechat.sessions["good-code"] = {"openid": "o-elsewhere", "session_key": "a2V5a2V5a2V5a2V5"}
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
    async with (
        aiohttp.ClientSession(connector=connector) as other,
        other.post(client.make_url(SESSION), json={"code": "good-code"}) as resp,
    ):
        assert resp.status == 200, await resp.text()
    assert len(wechat.calls_to(JSCODE)) == ratelimit.LOGIN_PER_IP + 1


async def test_login_is_limited_per_code(client: TestClient, wechat: FakeWeChat) -> None:
    statuses = [
        (await client.post(SESSION, json={"code": "same-code"})).status
        for _ in range(ratelimit.LOGIN_PER_CODE + 1)
    ]
    assert statuses == [401] * ratelimit.LOGIN_PER_CODE + [429]
    assert len(wechat.calls_to(JSCODE)) == ratelimit.LOGIN_PER_CODE
    wechat.sessions["fresh-code"] = {"openid": "o-fresh", "session_key": "a2V5a2V5a2V5a2V5"}
    assert (await client.post(SESSION, json={"code": "fresh-code"})).status == 200


async def test_the_429_is_documented(client: TestClient) -> None:
    doc = await (await client.get("/openapi.json")).json()
    assert "429" in doc["paths"][SESSION]["post"]["responses"]


def _reply_text(app: WeComApp, body: str) -> str:
    return xmltodict.parse(app.open(body))["xml"]["Content"]


async def test_chat_commands_are_limited_per_sender(client: TestClient) -> None:
    """Through the WeCom app webhook as WeCom sends it: 20 a minute per sender."""
    wecom = WeComApp(client)
    replies = []
    for _ in range(21):
        resp = await wecom.post(wecom.xml("帮助", sender="fast-typist"))
        assert resp.status == 200
        replies.append(_reply_text(wecom, await resp.text()))
    limited = "消息太快啦，请稍等一分钟再试。"
    assert limited not in replies[:20]
    assert len(set(replies[:20])) == 1  # the help text, every time
    assert replies[20] == limited
    # Someone else in the same minute is answered as usual.
    resp = await wecom.post(wecom.xml("帮助", sender="calm-typist"))
    assert _reply_text(wecom, await resp.text()) == replies[0]


async def test_re_deliveries_do_not_count_against_the_sender(client: TestClient) -> None:
    """WeChat's retries of one message are claimed once and counted once."""
    wecom = WeComApp(client)
    again = wecom.xml("帮助", sender="patient", msg_id="424242")
    for _ in range(chat_gate.RATE_LIMIT + 5):
        assert (await wecom.post(again)).status == 200
    replies = []
    for _ in range(chat_gate.RATE_LIMIT - 1):  # the first delivery counted one
        resp = await wecom.post(wecom.xml("帮助", sender="patient"))
        replies.append(_reply_text(wecom, await resp.text()))
    assert "消息太快啦，请稍等一分钟再试。" not in replies
    resp = await wecom.post(wecom.xml("帮助", sender="patient"))
    assert _reply_text(wecom, await resp.text()) == "消息太快啦，请稍等一分钟再试。"


async def test_behind_trusted_proxies_the_forwarded_client_is_limited(
    make_settings: Any, start_client: Any, wechat: FakeWeChat
) -> None:
    """QUNSHOP_TRUSTED_PROXIES: the proxy's many clients each have their own allowance, and
    a client cannot escape its own by writing addresses into X-Forwarded-For."""
    settings = make_settings(trusted_proxies="127.0.0.1, 10.0.0.0/8")
    client = await start_client(create_app(settings, background=False))

    async def login(forwarded: str, code: str) -> int:
        resp = await client.post(
            SESSION, json={"code": code}, headers={"X-Forwarded-For": forwarded}
        )
        return resp.status

    # one client, through two proxy hops, forging a different leftmost address each time
    statuses = [
        await login(f"198.51.100.{i}, 203.0.113.7, 10.1.2.3", f"spoofed-{i}")
        for i in range(ratelimit.LOGIN_PER_IP + 1)
    ]
    assert statuses == [401] * ratelimit.LOGIN_PER_IP + [429]
    # the proxy's other clients are not limited by that one
    wechat.sessions["good-code"] = {"openid": "o-behind", "session_key": "a2V5a2V5a2V5a2V5"}
    assert await login("203.0.113.8", "good-code") == 200


async def test_without_trusted_proxies_forwarded_for_is_not_believed(
    client: TestClient, wechat: FakeWeChat
) -> None:
    statuses = [
        (
            await client.post(
                SESSION, json={"code": f"bad-{i}"}, headers={"X-Forwarded-For": f"192.0.2.{i}"}
            )
        ).status
        for i in range(ratelimit.LOGIN_PER_IP + 1)
    ]
    assert statuses[-1] == 429


def test_trusted_proxies_must_be_addresses(make_settings: Any) -> None:
    assert [str(n) for n in make_settings(trusted_proxies=" 10.0.0.0/8,::1").trusted_networks] == [
        "10.0.0.0/8",
        "::1/128",
    ]
    with pytest.raises(ValueError, match="comma-separated"):
        make_settings(trusted_proxies="10.0.0.0/8, the-proxy")
