"""The messaging clients against the fake WeChat server, a silent server and a closed port."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer, unused_port

from tests.support.fake_wechat import FakeWeChat
from wechat import messaging
from wechat.messaging import MessagingError

APPID = "wx1234567890test"
SECRET = "test-wechat-app-secret-value"
CORP_ID = "wx5823bf96d3bd56c7"
WECOM_SECRET = "test-wecom-app-secret"
ROBOT_KEY = "robot-key-0123456789abcdef"

CARD = {
    "type": "card",
    "title": "三人团 ¥9.9",
    "description": "还差 1 人",
    "url": "https://shop.example/t/ABC",
    "picture_url": "https://shop.example/p.png",
    "button_text": "参团",
    "mini_program_path": "pages/team/index?code=ABC",
}


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def server() -> AsyncIterator[tuple[FakeWeChat, str]]:
    fake = FakeWeChat()
    test_server = TestServer(fake.build())
    await test_server.start_server()
    try:
        yield fake, str(test_server.make_url("")).rstrip("/")
    finally:
        await test_server.close()


async def test_stable_token_is_the_same_until_forced(
    http: aiohttp.ClientSession, server: tuple[FakeWeChat, str]
) -> None:
    fake, base = server
    first = await messaging.stable_token(http, base=base, appid=APPID, secret=SECRET)
    again = await messaging.stable_token(http, base=base, appid=APPID, secret=SECRET)
    forced = await messaging.stable_token(
        http, base=base, appid=APPID, secret=SECRET, force_refresh=True
    )

    assert first == again and first[1] == 7200
    assert forced[0] != first[0] and forced[0] == fake.wechat_token
    bodies = [json.loads(c.body) for c in fake.calls_to("/cgi-bin/stable_token")]
    assert [b["force_refresh"] for b in bodies] == [False, False, True]
    assert {(b["grant_type"], b["appid"]) for b in bodies} == {("client_credential", APPID)}
    assert fake.token_fetches == 3


async def test_a_wrong_secret_is_final_and_not_repeated_in_the_error(
    http: aiohttp.ClientSession, server: tuple[FakeWeChat, str]
) -> None:
    _, base = server
    with pytest.raises(MessagingError) as caught:
        await messaging.stable_token(http, base=base, appid=APPID, secret="wrong-secret")
    assert caught.value.errcode == 40125 and not caught.value.retryable
    assert "wrong-secret" not in str(caught.value)


async def test_wecom_token(http: aiohttp.ClientSession, server: tuple[FakeWeChat, str]) -> None:
    fake, base = server
    token, expires_in = await messaging.wecom_token(
        http, base=base, corp_id=CORP_ID, secret=WECOM_SECRET
    )
    assert (token, expires_in) == (fake.wecom_token, 7200)
    [call] = fake.calls_to("/cgi-bin/gettoken")
    assert call.query == {"corpid": CORP_ID, "corpsecret": WECOM_SECRET}


async def test_custom_send_with_a_bad_token_says_so(
    http: aiohttp.ClientSession, server: tuple[FakeWeChat, str]
) -> None:
    fake, base = server
    body = messaging.custom_body("o-user", {"type": "text", "text": "你好"})
    with pytest.raises(MessagingError) as caught:
        await messaging.send_custom(http, base=base, token="not-a-token", payload=body)
    assert caught.value.errcode == 40001 and caught.value.invalid_token
    assert not caught.value.retryable
    assert fake.custom_messages == []


async def test_custom_send_delivers_with_the_current_token(
    http: aiohttp.ClientSession, server: tuple[FakeWeChat, str]
) -> None:
    fake, base = server
    token, _ = await messaging.stable_token(http, base=base, appid=APPID, secret=SECRET)
    answer = await messaging.send_custom(
        http, base=base, token=token, payload=messaging.custom_body("o-user", CARD)
    )
    assert answer["errcode"] == 0
    assert fake.custom_messages == [
        {
            "touser": "o-user",
            "msgtype": "news",
            "news": {
                "articles": [
                    {
                        "title": CARD["title"],
                        "description": CARD["description"],
                        "url": CARD["url"],
                        "picurl": CARD["picture_url"],
                    }
                ]
            },
        }
    ]
    [call] = fake.calls_to("/cgi-bin/message/custom/send")
    assert call.query == {"access_token": token}


async def test_window_and_quota_errors_are_final(
    http: aiohttp.ClientSession, server: tuple[FakeWeChat, str]
) -> None:
    fake, base = server
    token, _ = await messaging.stable_token(http, base=base, appid=APPID, secret=SECRET)
    fake.out_of_window.add("o-gone")
    fake.custom_sent["o-chatty"] = 5
    for openid, errcode in (("o-gone", 45015), ("o-chatty", 45047)):
        body = messaging.custom_body(openid, {"type": "text", "text": "hi"})
        with pytest.raises(MessagingError) as caught:
            await messaging.send_custom(http, base=base, token=token, payload=body)
        assert caught.value.errcode == errcode and not caught.value.retryable


async def test_robot_over_the_minute_limit_is_retryable(
    http: aiohttp.ClientSession, server: tuple[FakeWeChat, str]
) -> None:
    fake, base = server
    minute = datetime(2026, 5, 1, 4, 0, 30, tzinfo=UTC)
    fake.robot_clock = lambda: minute
    body = messaging.robot_body({"type": "text", "text": "hi"})
    for _ in range(20):
        await messaging.send_robot(http, base=base, key=ROBOT_KEY, payload=body)
    with pytest.raises(MessagingError) as caught:
        await messaging.send_robot(http, base=base, key=ROBOT_KEY, payload=body)

    assert caught.value.errcode == 45009 and caught.value.retryable
    assert ROBOT_KEY not in str(caught.value)
    assert fake.robot_sent_in_minute(ROBOT_KEY, minute) == 20
    assert all(call.query == {"key": ROBOT_KEY} for call in fake.calls_to("/cgi-bin/webhook/send"))


async def test_response_url_works_once(
    http: aiohttp.ClientSession, server: tuple[FakeWeChat, str]
) -> None:
    fake, base = server
    url = f"{base}/cgi-bin/aibot/response?response_code=RC123"
    body = messaging.response_body({"type": "text", "text": "**好的**"}, single=False)
    await messaging.post_response_url(http, url=url, payload=body)
    with pytest.raises(MessagingError) as caught:
        await messaging.post_response_url(http, url=url, payload=body)

    assert fake.responses == {"RC123": {"msgtype": "markdown", "markdown": {"content": "**好的**"}}}
    assert not caught.value.retryable and "RC123" not in str(caught.value)


async def test_network_failures_are_retryable_and_keep_secrets(
    http: aiohttp.ClientSession,
) -> None:
    base = f"http://127.0.0.1:{unused_port()}"
    with pytest.raises(MessagingError) as caught:
        await messaging.send_robot(
            http, base=base, key=ROBOT_KEY, payload={"msgtype": "text"}, timeout=2
        )
    assert caught.value.errcode == -1 and caught.value.retryable
    assert ROBOT_KEY not in str(caught.value)


async def test_a_silent_server_times_out_as_retryable(http: aiohttp.ClientSession) -> None:
    async def hang(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.json_response({"errcode": 0})

    app = web.Application()
    app.router.add_post("/cgi-bin/message/custom/send", hang)
    server = TestServer(app)
    await server.start_server()
    try:
        base = str(server.make_url("")).rstrip("/")
        with pytest.raises(MessagingError) as caught:
            await messaging.send_custom(http, base=base, token="t", payload={}, timeout=0.1)
    finally:
        await server.close()
    assert caught.value.errcode == -1 and caught.value.retryable


async def test_a_server_error_is_retryable_and_a_non_json_body_too(
    http: aiohttp.ClientSession,
) -> None:
    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=502, text="bad gateway")

    async def html(request: web.Request) -> web.Response:
        return web.Response(text="<html>busy</html>", content_type="text/html")

    app = web.Application()
    app.router.add_post("/cgi-bin/message/custom/send", broken)
    app.router.add_post("/cgi-bin/message/subscribe/send", html)
    server = TestServer(app)
    await server.start_server()
    try:
        base = str(server.make_url("")).rstrip("/")
        for send in (messaging.send_custom, messaging.send_subscribe):
            with pytest.raises(MessagingError) as caught:
                await send(http, base=base, token="t", payload={})
            assert caught.value.errcode == -1 and caught.value.retryable
    finally:
        await server.close()


def test_bodies_for_each_platform() -> None:
    text = {"type": "text", "text": "字" * 1000}  # 3000 UTF-8 bytes
    assert len(messaging.robot_body(text)["text"]["content"].encode()) <= 2048
    assert messaging.robot_body(CARD)["news"]["articles"][0]["url"] == CARD["url"]
    markdown = {"type": "markdown", "text": "# 今日团购"}
    assert messaging.robot_body(markdown) == {
        "msgtype": "markdown",
        "markdown": {"content": "# 今日团购"},
    }
    assert messaging.wecom_app_body("zhangsan", 1000002, CARD) == {
        "touser": "zhangsan",
        "agentid": 1000002,
        "msgtype": "textcard",
        "textcard": {
            "title": CARD["title"],
            "description": CARD["description"],
            "url": CARD["url"],
            "btntxt": "参团",
        },
    }
    single = messaging.response_body(CARD, single=True)
    assert single["msgtype"] == "template_card"
    assert single["template_card"]["card_action"] == {"type": 1, "url": CARD["url"]}
    group = messaging.response_body(CARD, single=False)
    assert group == {
        "msgtype": "markdown",
        "markdown": {"content": f"**{CARD['title']}**\n还差 1 人\n[参团]({CARD['url']})"},
    }
    assert messaging.custom_body("o", {"type": "markdown", "text": "**x**"})["text"] == {
        "content": "**x**"
    }
