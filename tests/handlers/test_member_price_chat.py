"""参团 in chat tells a member the price their tier gives, the one the order charges."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from models.chat import ChatIdentity
from models.community import Community
from models.groupbuy import Team
from models.order import Order
from qunshop.chat import Platform
from qunshop.config import Settings
from tests.handlers.conftest import Say
from tests.miniapp_api.test_money_doors import SILVER, _paid, _set_ladder
from tests.support.factories import make_campaign, make_community, make_user


async def test_a_member_is_told_the_tier_price_when_joining(
    client: TestClient, settings: Settings, say: Say
) -> None:
    await _set_ladder(client, settings, SILVER)
    community = await make_community()
    await Community.filter(id=community.id).update(chat_id="group-1")
    leader = await community.leader
    await ChatIdentity.create(platform=Platform.WECOM_BOT.value, external_id="wang", user=leader)
    await make_campaign(community, team_size=3, group_price=1990)
    await say("start 1", sender="wang")
    li = await ChatIdentity.create(
        platform=Platform.WECOM_BOT.value, external_id="li", user=await make_user()
    )
    await _paid(li.user_id, 990)  # growth 990: 银卡, 2 % off group prices

    team = await Team.get()
    reply = await say(f"参团 {team.code}", sender="li")
    assert "支付 ¥19.51（会员已减 ¥0.39）" in reply.content
    order = await Order.get(user_id=li.user_id, team_id=team.id)
    assert (order.member_off, order.amount) == (39, 1951)
