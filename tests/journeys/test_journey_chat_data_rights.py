"""A shopper who only ever used the chat has the rights a mini-program shopper has: to take
their data out (我的数据: a single-use link to the archive) and to erase the account
(注销账号, confirmed), refused while an order is awaiting payment and done once it lapsed.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

from aiohttp.test_utils import TestClient

from models.chat import ChatIdentity
from models.order import Order, OrderStatus
from models.privacy import Erasure
from tests.journeys.doors import Doors
from tests.support.factories import make_campaign, make_community

LINK = re.compile(r"https?://\S+(/h5/my-data\?token=\S+)")


async def _download(client: TestClient, path: str) -> tuple[int, str, bytes]:
    """Open the link's page and press its button: (status, content type, body)."""
    page = await client.get(path)
    assert page.status == 200
    html = await page.text()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html)
    token = re.search(r'name="token" value="([^"]+)"', html)
    if csrf is None or token is None:  # a spent or expired link offers no button
        return 410, page.content_type, html.encode()
    answer = await client.post(
        "/h5/my-data",
        data={"csrf_token": csrf.group(1), "token": token.group(1)},
        cookies={"qs_csrf": page.cookies["qs_csrf"].value},
    )
    return answer.status, answer.content_type, await answer.read()


async def test_a_chat_only_shopper_takes_their_data_out_and_erases_the_account(
    doors: Doors,
) -> None:
    community = await make_community()
    campaign = await make_campaign(community, team_size=3, group_price=1990)
    mini = await doors.log_in("code-rights-head", "o-mini-rights-head")
    resp = await doors.client.post(f"/api/v1/campaigns/{campaign.id}/teams", json={}, headers=mini)
    code = (await resp.json())["team"]["code"]
    head = await Order.get(team__code=code)
    await doors.notify_paid(head.out_trade_no, head.amount, "o-mini-rights-head")
    assert "已为你占座" in await doors.say_to_oa(f"参团 {code}")
    held = await Order.get(team__code=code, status=OrderStatus.PENDING_PAYMENT)

    # 我的数据: a link, whose page's button downloads the archive once.
    reply = await doors.say_to_oa("我的数据")
    assert "只能使用一次" in reply
    path = LINK.search(reply).group(1)
    status, kind, body = await _download(doors.client, path)
    assert status == 200 and kind == "application/json"
    archive = json.loads(body)
    assert archive["user_id"] == str(held.user_id)
    assert [o["id"] for o in archive["tables"]["orders"]] == [str(held.id)]
    assert archive["tables"]["chat_identities"][0]["platform"] == "wechat"
    status, _, again = await _download(doors.client, path)
    assert status == 410 and "已经用过或已过期" in again.decode()

    # 注销账号 asks first; confirmed, it is refused while the seat awaits payment.
    assert "注销账号 确认" in await doors.say_to_oa("注销账号")
    refused = await doors.say_to_oa("注销账号 确认")
    assert "现在还不能注销" in refused and "待支付" in refused
    assert not await Erasure.exists(user_id=held.user_id)
    unused = LINK.search(await doors.say_to_oa("我的数据")).group(1)

    # The seat lapses; now the account goes, and the chat starts over with someone new.
    doors.clock.set(held.reserved_until + timedelta(seconds=1))
    await doors.jobs.sweep(doors.clock.now())
    assert (await Order.get(id=held.id)).status is OrderStatus.CANCELLED
    erased = await doors.say_to_oa("注销账号 确认")
    assert "你的账号已注销" in erased
    assert await Erasure.exists(user_id=held.user_id)
    assert (
        not await ChatIdentity.filter(user_id=held.user_id)
        .exclude(external_id__startswith="erased:")
        .exists()
    )
    status, _, gone = await _download(doors.client, unused)  # asked for before the erasure
    assert status == 401 and "这个账号已经注销" in gone.decode()
    assert "你还没有订单" in await doors.say_to_oa("我的订单")


async def test_data_rights_are_asked_for_one_to_one(doors: Doors) -> None:
    await make_community()
    for command in ("我的数据", "注销账号 确认", "my-data"):
        answer = await doors.say_in_group(command, sender="li")
        assert "请私聊我发送" in answer and "token=" not in answer
