"""`qunshop chat` plays the platform against a real server."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from models.community import Community
from qunshop.assembly.simulator import Simulator, banner, platform_api
from qunshop.assembly.standin import StandIn
from qunshop.config import Settings
from tests.support.chat_sim import in_group
from tests.support.factories import make_campaign, make_community


@pytest.mark.parametrize("platform", ["wecom-bot", "wechat"])
async def test_help_round_trip(client: TestClient, settings: Settings, platform: str) -> None:
    printed: list[str] = []
    async with aiohttp.ClientSession() as http:
        sim = Simulator(
            url=str(client.make_url("")),
            settings=settings,
            platform=platform,
            user="sim-user",
            group="sim-group" if platform == "wecom-bot" else None,
            http=http,
            out=printed.append,
        )
        lines = await sim.say("帮助")
    assert any("参团" in line for line in lines)
    assert printed and all(line.startswith("bot> ") for line in printed)


async def test_group_deals_and_start_card(client: TestClient, settings: Settings) -> None:
    community = await make_community()
    await Community.filter(id=community.id).update(chat_id="sim-group")
    await make_campaign(community, team_size=3)
    async with aiohttp.ClientSession() as http:
        sim = in_group(client, settings, http, user="someone", group="sim-group")
        deals = await sim.say("团购")
    assert any("测试拼团" in line for line in deals)


async def test_platform_api_prints_what_the_server_sends() -> None:
    printed: list[str] = []
    server = TestServer(platform_api(printed.append))
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(
                server.make_url("/cgi-bin/webhook/send?key=K"),
                json={"msgtype": "text", "text": {"content": "还差 2 人"}},
            ) as resp:
                assert (await resp.json())["errcode"] == 0
            async with http.post(server.make_url("/cgi-bin/stable_token"), json={}) as resp:
                assert (await resp.json())["access_token"]
    finally:
        await server.close()
    assert printed == [
        'server sent /cgi-bin/webhook/send: {"msgtype": "text", "text": {"content": "还差 2 人"}}'
    ]


def test_chat_command_has_help(capsys: Any) -> None:
    from qunshop.assembly.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["chat", "--help"])
    assert "--platform" in capsys.readouterr().out


async def test_the_banner_says_where_the_servers_own_sends_go(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """A development server left at its defaults sends to its own stand-in, which logs each
    send: the banner says so, and how to have them printed here instead."""
    said = banner(
        url="http://127.0.0.1:8080", user="li-si", platform="wecom-bot", group="g", api_port=8081
    )
    assert said.startswith(
        "Chatting with http://127.0.0.1:8080 as 'li-si' on wecom-bot in group 'g'."
    )
    assert "built-in stand-in (/__dev/wechat)" in said and "server's log as 'server sent" in said
    assert (
        "QUNSHOP_WECHAT_API_BASE=http://127.0.0.1:8081 QUNSHOP_WECOM_API_BASE=http://127.0.0.1:8081"
        in said
    )
    caplog.set_level(logging.INFO, logger="qunshop.assembly.standin")
    server = TestServer(StandIn(settings).build())  # the server's own, with its default sink
    await server.start_server()
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                server.make_url("/cgi-bin/webhook/send?key=K"),
                json={"msgtype": "text", "text": {"content": "还差 2 人"}},
            ) as resp,
        ):
            assert (await resp.json())["errcode"] == 0
    finally:
        await server.close()
    assert any(
        r.getMessage().startswith("server sent /cgi-bin/webhook/send") for r in caplog.records
    )
