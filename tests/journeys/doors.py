"""The doors a person uses in a journey, and what they see through them.

Chat through signed and encrypted webhooks stamped with the injected clock, the HTTP API,
WeChat Pay's notifies as WeChat Pay sends them, the outbox and the clock's jobs run as the
server runs them; what WeChat was asked to deliver is read back from the fake.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from typing import Any

import xmltodict
from aiohttp.test_utils import TestClient

from models.community import Community
from models.user import User
from qunshop.assembly.background import outbox_handlers
from qunshop.clock import FrozenClock
from qunshop.config import Settings
from qunshop.keys import CHAT_TEMPLATES, REDIS
from scheduler.jobs import Jobs
from services import outbox
from tests.bot.helpers import OA, OPENID, WeComBot, oa_text
from tests.support.factories import auth, make_community
from tests.support.fake_wechat import FakeWeChat

GROUP = "wrkSFfCgAAxxxx"  # the WeCom group chat the journeys speak in
ROBOT = "robot-key-journey-1"
LINK_TOKEN = re.compile(r"pages/link/index\?token=([A-Za-z0-9_-]+)")


class ClockedBot(WeComBot):
    """The platform stamps its callbacks with the time: the journey's injected clock."""

    def __init__(self, client: TestClient, clock: FrozenClock) -> None:
        super().__init__(client)
        self.clock = clock

    async def post(self, payload: dict[str, Any], *, ts: str | None = None) -> Any:
        return await super().post(payload, ts=ts or str(int(self.clock.now().timestamp())))


class Doors:
    def __init__(
        self, client: TestClient, settings: Settings, wechat: FakeWeChat, clock: FrozenClock
    ) -> None:
        self.client, self.settings, self.wechat, self.clock = client, settings, wechat, clock
        self.bot, self.oa = ClockedBot(client, clock), OA(client)
        app = client.server.app
        self.jobs = Jobs(settings=settings, templates=app[CHAT_TEMPLATES], redis=app[REDIS])
        self.handlers = outbox_handlers(app)

    # Chat -----------------------------------------------------------------------------------

    async def frame_in_group(self, text: str, sender: str) -> dict[str, Any]:
        frame = await self.bot.reply(self.bot.text(f"@群团购助手 {text}", sender=sender))
        assert frame is not None and frame["stream"]["finish"] is True
        return frame

    async def say_in_group(self, text: str, sender: str = "wang") -> str:
        return str((await self.frame_in_group(text, sender))["stream"]["content"])

    async def say_alone(self, text: str, sender: str) -> str:
        """A one-to-one chat with the bot."""
        frame = await self.bot.reply(self.bot.text(text, sender=sender, chat_id=None))
        assert frame is not None and frame["stream"]["finish"] is True
        return str(frame["stream"]["content"])

    async def say_to_oa(self, text: str) -> str:
        stamp = str(int(self.clock.now().timestamp()))
        resp = await self.oa.post_safe(oa_text(text, create_time=stamp), ts=stamp)
        assert resp.status == 200
        return str(xmltodict.parse(self.oa.open(await resp.text()))["xml"]["Content"])

    # The mini-program -----------------------------------------------------------------------

    async def log_in(self, code: str, openid: str) -> dict[str, str]:
        """wx.login's code, exchanged by the server with WeChat."""
        self.wechat.sessions[code] = {"openid": openid, "session_key": "c2Vzc2lvbmtleTAxMjM0NQ=="}
        resp = await self.client.post("/api/v1/session", json={"code": code})
        assert resp.status == 200, await resp.text()
        return {"Authorization": f"Bearer {(await resp.json())['token']}"}

    async def accept_news(self, headers: dict[str, str]) -> None:
        """wx.requestSubscribeMessage accepted for every piece of news."""
        s = self.settings
        templates = [
            s.subscribe_template_team_succeeded,
            s.subscribe_template_arrived,
            s.subscribe_template_team_failed,
            s.subscribe_template_refunded,
        ]
        resp = await self.client.post(
            "/api/v1/me/subscriptions", json={"template_ids": templates}, headers=headers
        )
        assert resp.status == 200, await resp.text()

    async def api(
        self, method: str, path: str, headers: dict[str, str] | None = None, **kw: Any
    ) -> tuple[int, Any]:
        resp = await self.client.request(method, path, headers=headers, **kw)
        return resp.status, await resp.json()

    async def start_team(
        self, campaign_id: object, headers: dict[str, str], **body: Any
    ) -> dict[str, Any]:
        """The caller starts a team in the mini-program: the answer (a Reservation)."""
        path = f"/api/v1/campaigns/{campaign_id}/teams"
        status, started = await self.api("POST", path, headers, json=body)
        assert status == 201, started
        return started

    async def prepay_and_pay(self, order_id: str, headers: dict[str, str]) -> None:
        """The mini-program's prepay, then WeChat Pay's notify once the shopper paid."""
        status, prepay = await self.api("POST", f"/api/v1/orders/{order_id}/prepay", headers)
        assert status == 200 and prepay["package"].startswith("prepay_id="), prepay
        prepay_id = prepay["package"].removeprefix("prepay_id=")
        (sent,) = [o for o in self.wechat.pay_orders.values() if o["prepay_id"] == prepay_id]
        await self.notify_paid(sent["out_trade_no"], int(sent["total_fee"]), sent["openid"])

    async def notify_paid(
        self, out_trade_no: str, total_fee: int, openid: str, *, deliveries: int = 1
    ) -> None:
        """WeChat Pay's notify, delivered ``deliveries`` times at once, each answered SUCCESS."""
        body = self.wechat.payment_notify(
            out_trade_no=out_trade_no, total_fee=total_fee, openid=openid
        )

        async def deliver() -> None:
            resp = await self.client.post(
                "/pay/wechat/notify", data=body, headers={"Content-Type": "text/xml"}
            )
            assert resp.status == 200 and "SUCCESS" in await resp.text()

        await asyncio.gather(*(deliver() for _ in range(deliveries)))

    async def refunds_done(self) -> None:
        """WeChat Pay reports each refund it was asked for as done (twice, as it may)."""
        for asked in self.wechat.refunds.values():
            body = self.wechat.refund_notify(
                out_refund_no=asked["out_refund_no"],
                out_trade_no=asked["out_trade_no"],
                refund_fee=int(asked["refund_fee"]),
                total_fee=int(asked["total_fee"]),
            )
            for _ in range(2):
                resp = await self.client.post("/pay/wechat/refund-notify", data=body)
                assert resp.status == 200 and "SUCCESS" in await resp.text()

    async def wechat_pushes_media_verdicts(self) -> None:
        """WeChat's wxa_media_check push for every image it was asked about, signed as the
        message push server's (plain mode) are."""
        for trace in list(self.wechat.media_checks):
            created = int(self.clock.now().timestamp())
            stamp, nonce = str(created), f"n{trace}"
            token = self.settings.wechat_token.get_secret_value()
            signature = hashlib.sha1("".join(sorted([token, stamp, nonce])).encode()).hexdigest()
            resp = await self.client.post(
                "/bot/wechat",
                params={"signature": signature, "timestamp": stamp, "nonce": nonce},
                data=self.wechat.media_check_push(trace, created).encode(),
                headers={"Content-Type": "text/xml"},
            )
            assert resp.status == 200 and await resp.text() == "success"

    # The server's own work ------------------------------------------------------------------

    async def send(self) -> None:
        """The outbox, as the server runs it after each commit, until nothing is due."""
        while await outbox.run_once(self.handlers, now=self.clock.now()):
            pass

    # What people received -------------------------------------------------------------------

    def group_sees(self) -> list[str]:
        return [m["text"]["content"] for _, m in self.wechat.robot_messages.get(ROBOT, [])]

    def follower_receives(self) -> list[str]:
        return [m["text"]["content"] for m in self.wechat.custom_messages if m["touser"] == OPENID]

    def wecom_member_receives(self, userid: str) -> list[str]:
        return [
            m["text"]["content"] for m in self.wechat.wecom_app_messages if m["touser"] == userid
        ]

    def mini_user_receives(self, openid: str) -> list[tuple[str, dict[str, str]]]:
        return [
            (m["template_id"], {k: v["value"] for k, v in m["data"].items()})
            for m in self.wechat.subscribe_messages
            if m["touser"] == openid
        ]

    # A leader's first steps -----------------------------------------------------------------

    async def leader_binds_chat(self, leader: User, sender: str) -> None:
        """The leader asks the API for a one-time code and types it in the group: 认证."""
        status, code = await self.api(
            "POST", "/api/v1/me/leader/chat-code", auth(leader, self.settings, self.clock.now())
        )
        assert status == 201, code
        verified = await self.say_in_group(f"认证 {code['code']}", sender=sender)
        assert "认证成功" in verified, verified

    async def bound_community(self, sender: str = "wang") -> Community:
        """A community whose leader (``sender`` in the group) verifies in the group chat and
        binds it with the group robot's key, as a new leader starts."""
        community = await make_community()
        await Community.filter(id=community.id).update(chat_id=None)  # not yet bound to a group
        await self.leader_binds_chat(await User.get(id=community.leader_id), sender=sender)
        await self.leader_binds_group(community, sender=sender)
        return community

    async def leader_binds_group(self, community: Community, sender: str) -> None:
        """绑定 with the group robot's key: the clock may post news into the group."""
        bound = await self.say_in_group(f"绑定 {ROBOT}", sender=sender)
        assert community.name in bound and "群机器人已开通" in bound, bound

    async def leader_opens_team(self, sender: str, number: int = 1) -> str:
        """开团: the team card, whose button sends 参团 <code>; the code."""
        frame = await self.frame_in_group(f"开团 {number}", sender)
        assert frame["msgtype"] == "stream_with_template_card", frame
        command = frame["template_card"]["button_list"][0]["key"]
        assert command.startswith("参团 ")
        return str(command.removeprefix("参团 "))
