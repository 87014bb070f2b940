"""待到货 and 待提货 told apart wherever a pickup list is counted: the leader's 提货单 in the
group, the shopper's 取货码 alone with the bot, the console's pickup page and its CSV.

A paid order whose goods have not arrived is 待到货: it has its pickup code early (shown with
「到货后凭码提货」), but the code is refused at the counter until the leader confirms 到货.
"""

from __future__ import annotations

import re
import uuid

from handlers.growth import CHAT_LINES
from models.chat import ChatIdentity
from models.order import Order, OrderStatus
from models.user import User
from qunshop.chat import Platform
from services import pickup
from tests.journeys.doors import Doors
from tests.support.factories import auth, make_user
from tests.support.growth import paid_order
from tests.web.test_console import _login


async def _shopper(nickname: str, sender: str) -> User:
    user = await make_user(nickname=nickname)
    await ChatIdentity.create(platform=Platform.WECOM_BOT.value, external_id=sender, user=user)
    return user


async def test_arrived_orders_are_to_pick_up_the_others_to_arrive(doors: Doors) -> None:
    community = await doors.bound_community()
    zhao, li = await _shopper("小赵", "zhao"), await _shopper("小李", "li")
    first = await paid_order(doors.settings, doors.wechat, zhao, community)
    await paid_order(doors.settings, doors.wechat, li, community)

    before = await doors.say_in_group("提货单", sender="wang")
    assert "待提货 0 单" in before and "待到货 2 单" in before, before

    assert "2 份订单可以提货了" in await doors.say_in_group("到货", sender="wang")
    later = await paid_order(doors.settings, doors.wechat, zhao, community)  # after 到货

    listed = await doors.say_in_group("提货单", sender="wang")
    assert "待提货 2 单" in listed and "待到货 1 单" in listed, listed
    waiting, arriving = listed.split("待到货", 1)
    assert "小李" in waiting and waiting.count("小赵") == 1 and "小赵" in arriving

    # Her codes: the arrived one to pick up, the other shown early with its note.
    codes = await doors.say_alone("取货码", sender="zhao")
    first_code = (await Order.get(id=first.id)).pickup_code or ""
    later_code = (await Order.get(id=later.id)).pickup_code or ""
    assert first_code and later_code and first_code != later_code
    assert "待提货 1 单" in codes and "待到货 1 单" in codes, codes
    ready_part, arriving_part = codes.split("待到货", 1)
    assert f"提货码 {first_code} · 已到货，可以来取" in ready_part, codes
    assert f"提货码 {later_code} · 还没到货，到货后凭码提货" in arriving_part, codes

    # The early code is refused at the counter, saying why; the order stays as it was.
    early = await doors.say_alone(f"核销 {later_code}", sender="wang")
    assert "待到货" in early and "货还没到" in early, early
    assert (await Order.get(id=later.id)).status is OrderStatus.CONFIRMED

    # The console counts as the chat does, and refuses the early code the same way.
    link = re.search(r"http\S+/console/login\?token=\S+", await doors.say_alone("后台", "wang"))
    assert link is not None
    cookies = await _login(doors.client, link.group(0))
    html = await (await doors.client.get("/console/pickups", headers={"Cookie": cookies})).text()
    assert "待提货（2）" in html and "待到货（1）" in html, html
    arriving_html = html.split('id="arriving-h"', 1)[1].split("</section>", 1)[0]
    assert arriving_html.count("<tr>") == 1 and "<td>小赵</td>" in arriving_html
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    refused = await doors.client.post(
        "/console/pickups/verify",
        data={"csrf_token": csrf, "code": later_code},
        headers={"Cookie": cookies},
    )
    assert "这个订单待到货：货还没到，不能提货" in await refused.text()
    assert (await Order.get(id=later.id)).status is OrderStatus.CONFIRMED
    csv = await doors.client.get("/console/pickups.csv", headers={"Cookie": cookies})
    sheet = await csv.text()
    states = [row.split(",", 1)[0] for row in sheet.lstrip("\ufeff").splitlines()[1:]]
    assert sorted(states) == ["待到货", "待提货", "待提货"], sheet

    done = await doors.say_alone(f"核销 {first_code}", sender="wang")
    assert "核销成功" in done, done
    after = await doors.say_in_group("提货单", sender="wang")
    assert "待提货 1 单" in after and "待到货 1 单" in after and "今日已提货 1 单" in after


async def test_counts_are_true_above_the_lines_shown(doors: Doors) -> None:
    """Each section lists its first lines (200 on the page and in the API, 50 in chat); its
    count is every order (it read 200 above 200); the CSV lists them all."""
    community = await doors.bound_community()
    zhao = await _shopper("小赵", "zhao")
    paid = await paid_order(doors.settings, doors.wechat, zhao, community)
    # 200 more paid orders of hers, as the first (the notify's path is walked above; 200
    # notifies here would only repeat it).
    fields = {k: v for k, v in paid.__dict__.items() if not k.startswith("_")}
    unique = {"transaction_id": None, "pickup_code": None}
    await Order.bulk_create(
        [
            Order(**{**fields, "id": uuid.uuid4(), "out_trade_no": f"T{n:030d}", **unique})
            for n in range(pickup.SHOWN)
        ]
    )
    listed = await doors.say_in_group("提货单", sender="wang")
    assert "待到货 201 单" in listed and "……另有 151 单未列出" in listed, listed[-300:]
    assert listed.count("小赵 · ") == CHAT_LINES

    link = re.search(r"http\S+/console/login\?token=\S+", await doors.say_alone("后台", "wang"))
    assert link is not None
    cookies = {"Cookie": await _login(doors.client, link.group(0))}
    html = await (await doors.client.get("/console/pickups", headers=cookies)).text()
    arriving_html = html.split('id="arriving-h"', 1)[1].split("</section>", 1)[0]
    assert "待到货（201）" in html and arriving_html.count("<tr>") == pickup.SHOWN
    assert "只列出前 200 单，另有 1 单" in arriving_html
    sheet = await (await doors.client.get("/console/pickups.csv", headers=cookies)).text()
    rows = sheet.lstrip("\ufeff").splitlines()[1:]
    assert len(rows) == 201 and {row.split(",", 1)[0] for row in rows} == {"待到货"}
    numbers = {row.rsplit(",", 1)[1] for row in rows}
    assert len(numbers) == 201 and paid.out_trade_no in numbers

    leader = await User.get(id=community.leader_id)
    status, day = await doors.api("GET", "/api/v1/pickups/today", auth(leader, doors.settings))
    assert status == 200 and len(day["arriving"]) == pickup.SHOWN
    assert (day["arriving_count"], day["waiting_count"], day["picked_up_count"]) == (201, 0, 0)
