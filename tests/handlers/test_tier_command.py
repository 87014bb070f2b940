"""会员/tier in chat: the sender's tier, growth and perks."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp.test_utils import TestClient

from models.chat import ChatIdentity
from qunshop.chat import Platform
from qunshop.config import Settings
from services import tiers
from tests.handlers.conftest import Say
from tests.miniapp_api.test_tiers import _set, _spent


async def test_chat_tier(client: TestClient, settings: Settings, say: Say) -> None:
    await _set(client, settings)
    refused = await say("会员", sender="li")  # in the group: its growth is what li spent
    assert "私聊" in refused.content and "成长值" not in refused.content, refused
    reply = await say("会员", sender="li", chat_id=None)
    assert "你还不是会员" in reply.content and "再消费 ¥100.00 升级为「银卡」" in reply.content
    li = await ChatIdentity.get(platform=Platform.WECOM_BOT.value, external_id="li")
    await _spent(li.user_id, 12000)
    await tiers.recalculate(li.user_id, now=datetime.now(tz=UTC))
    reply = await say("tier", sender="li", chat_id=None)
    assert "你是「银卡」" in reply.content and "成长值 120.00" in reply.content
    assert "9.8 折" in reply.content and "积分 1.2 倍" in reply.content
    assert "再消费 ¥380.00 升级为「金卡」" in reply.content
