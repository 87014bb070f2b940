"""Leaders' 公告 through moderation: refused with the reason, held for an operator, passed."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from models.chat import ChatIdentity
from models.community import Community
from models.moderation import BannedWord, ItemStatus, ModerationItem
from models.outbox import OutboxMessage
from models.user import Role, User
from qunshop.chat import Platform
from qunshop.config import Settings
from tests.handlers.conftest import Say
from tests.support.factories import auth, make_community, make_user
from tests.support.fake_wechat import FakeWeChat


async def _bound_group(robot_key: str | None = None) -> tuple[Community, User]:
    community = await make_community()
    await Community.filter(id=community.id).update(chat_id="group-1", robot_key=robot_key)
    leader = await community.leader
    await ChatIdentity.create(platform=Platform.WECOM_BOT.value, external_id="wang", user=leader)
    return await Community.get(id=community.id), leader


async def test_a_notice_with_a_banned_word_is_refused_with_the_reason(
    say: Say, client: TestClient, settings: Settings
) -> None:
    await _bound_group()
    admin = await make_user(Role.ADMIN)
    resp = await client.post(
        "/api/v1/admin/moderation/words",
        json={"words": ["加我 微信"], "category": "广告"},
        headers=auth(admin, settings),
    )
    assert resp.status == 201
    assert [w["word"] for w in (await resp.json())["items"]] == ["加我微信"]

    reply = await say("公告 特价！加 我-微信 详聊", sender="wang")
    assert "没有发出" in reply.content and "违禁词" in reply.content and "广告" in reply.content
    # The refusal goes into the group: it never repeats the text or the word.
    assert "微信" not in reply.content and "特价" not in reply.content
    fine = await say("公告 明早九点到货", sender="wang")
    assert "明早九点到货" in fine.content


async def test_a_notice_wechat_wants_reviewed_waits_for_an_operator(
    say: Say, client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    community, leader = await _bound_group(robot_key="robot-key-12345678")
    wechat.review_words["团购群"] = 10001
    reply = await say("公告 欢迎加入团购群", sender="wang")
    assert "审核" in reply.content and "欢迎加入" not in reply.content
    assert wechat.sec_checks[-1]["openid"] == leader.openid and wechat.sec_checks[-1]["scene"] == 3
    item = await ModerationItem.get(kind="announcement")
    assert item.status is ItemStatus.REVIEW and "广告" in item.reason
    assert not await OutboxMessage.filter(kind="chat.send").exists()

    admin = await make_user(Role.ADMIN)
    headers = auth(admin, settings)
    queue = await (await client.get("/api/v1/admin/moderation/queue", headers=headers)).json()
    assert [i["id"] for i in queue["items"]] == [str(item.id)]
    resp = await client.post(f"/api/v1/admin/moderation/items/{item.id}/approve", headers=headers)
    assert resp.status == 200 and (await resp.json())["status"] == "approved"
    sent = await OutboxMessage.get(kind="chat.send")
    assert sent.payload["via"] == "robot" and "欢迎加入团购群" in sent.payload["message"]["text"]
    again = await client.post(f"/api/v1/admin/moderation/items/{item.id}/approve", headers=headers)
    assert again.status == 409 and (await again.json())["code"] == "moderation_item_decided"
    assert community.name in sent.payload["message"]["text"]


async def test_risky_notices_mute_the_leader_after_three(say: Say, wechat: FakeWeChat) -> None:
    await _bound_group()
    wechat.risky_words["赌"] = 20006
    for _ in range(3):
        reply = await say("公告 来赌一把", sender="wang")
        assert "违法犯罪" in reply.content
    muted = await say("公告 明早到货", sender="wang")
    assert "禁言" in muted.content
    assert await BannedWord.all().count() == 0  # WeChat's verdict, not the word list
