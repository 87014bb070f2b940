"""A shopper who bought up to a campaign's limit asks 团购 again: the list says so for that
deal and does not invite a join that would be refused.

An Official Account follower joins a team of two by writing 参团 and pays; the team
succeeds. The leader opens another team of the same campaign in the group. Before, 团购 (in
the group and one-to-one) listed that team's code with 「发送「参团 团码」加入」, and 参团
answered 「每人限购，你已经达到上限了」. Now the deal is shown as 已达限购, without a code to
join; another shopper still sees the code. A group member holding a seat in an open team is
at the limit too: the group's list shows them that team, to share, not a join.
"""

from __future__ import annotations

from models.order import Order, OrderStatus
from tests.bot.helpers import OPENID
from tests.journeys.doors import Doors
from tests.support.factories import make_campaign

LIMIT_LINE = "你已达限购（每人 1 份），不能再参团"


async def test_a_deal_bought_up_to_its_limit_is_not_offered_again(doors: Doors) -> None:
    campaign = await make_campaign(await doors.bound_community(), team_size=2, group_price=1990)
    mini = await doors.log_in("code-lh", "o-mini-limit-head")
    first = (await doors.start_team(campaign.id, mini))["team"]["code"]
    assert "已为你占座" in await doors.say_to_oa(f"参团 {first}")
    head, follower = await Order.filter(team__code=first).order_by("created_at")
    await doors.notify_paid(head.out_trade_no, head.amount, "o-mini-limit-head")
    await doors.notify_paid(follower.out_trade_no, follower.amount, f"wechat:{OPENID}")
    assert {o.status for o in await Order.filter(team__code=first)} == {OrderStatus.CONFIRMED}
    second = await doors.leader_opens_team(sender="wang")

    alone = await doors.say_to_oa("团购")
    assert LIMIT_LINE in alone and second not in alone, alone
    assert "参团 团码" not in alone

    # In the group: a member who holds a seat (unpaid) has reached the limit of one too; they
    # are shown their own team to share, not asked to join, and another member still is.
    assert "已为你占座" in await doors.say_in_group(f"参团 {second}", sender="li")
    held = await doors.say_in_group("团购", sender="li")
    assert f"团码 {second}：你已在这个团里，还差 1 人，把团码发给朋友一起拼" in held, held
    assert "参团 团码" not in held
    others = await doors.say_in_group("团购", sender="zhao")
    assert f"团码 {second}" in others and LIMIT_LINE not in others, others
    assert "发送「参团 团码」加入。" in others
