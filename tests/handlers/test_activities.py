"""活动 and 签到 through the dispatcher, checked against the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from models.activity import Activity, ActivityKind, CheckIn, FlashSale, PointsEntry
from models.chat import ChatIdentity
from models.community import Community, Membership
from models.user import Role, User
from qunshop.chat import Platform, Text
from tests.handlers.conftest import Say
from tests.support.factories import make_community, make_sku, make_user

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def _as(user: User, sender: str) -> None:
    await ChatIdentity.create(platform=Platform.WECOM_BOT.value, external_id=sender, user=user)


async def _bound_group() -> Community:
    community = await make_community()
    await Community.filter(id=community.id).update(chat_id="group-1", robot_key="robot-1")
    await _as(await community.leader, "wang")
    return await Community.get(id=community.id)


async def _content(say: Say, text: str, **kw: object) -> str:
    reply = await say(text, **kw)
    assert isinstance(reply, Text)
    return reply.content


async def test_leader_schedules_a_daily_announcement(say: Say) -> None:
    await _bound_group()
    reply = await _content(say, "活动 公告 每天 09:00 明早九点到货", sender="wang")
    assert "已安排公告：每天 09:00，下次" in reply and "* *" not in reply
    activity = await Activity.get()
    assert activity.kind is ActivityKind.ANNOUNCEMENT and activity.cron == "0 9 * * *"
    assert activity.payload["text"] == "明早九点到货"
    local = activity.next_run_at.astimezone(SHANGHAI)
    assert (local.hour, local.minute) == (9, 0)
    assert timedelta(0) < activity.next_run_at - datetime.now(tz=UTC) <= timedelta(days=1)


async def test_the_schedule_grammar(say: Say) -> None:
    await _bound_group()
    tomorrow = datetime.now(tz=SHANGHAI).date() + timedelta(days=1)
    for command, cron in (
        ("活动 签到 工作日 8:30", "30 8 * * mon-fri"),
        ("活动 周报 每周一 09:00", "0 9 * * mon"),
        ("活动 公告 每周日 20:00 周末愉快", "0 20 * * sun"),
        ("activity notice cron 0 9 * * 1-5 早安", "0 9 * * 1-5"),
    ):
        assert "已安排" in await _content(say, command, sender="wang"), command
        assert await Activity.filter(cron=cron).exists(), command
    await _content(say, f"活动 公告 {tomorrow.isoformat()} 07:45 一次性", sender="wang")
    once = await Activity.get(cron__isnull=True)
    assert once.run_at.astimezone(SHANGHAI) == datetime(
        tomorrow.year, tomorrow.month, tomorrow.day, 7, 45, tzinfo=SHANGHAI
    )
    assert await _content(say, "活动 公告 明天 07:46 也可以", sender="wang")
    assert await Activity.filter(cron__isnull=True).count() == 2


async def test_bad_input_gets_a_friendly_answer(say: Say) -> None:
    await _bound_group()
    usage = await _content(say, "活动", sender="wang")
    assert "活动 公告 每天 09:00" in usage
    assert "活动 公告 每天" in await _content(say, "活动 公告 每天 25:00 x", sender="wang")
    assert "活动 公告 每天" in await _content(say, "活动 旅游 每天 09:00", sender="wang")
    past = await _content(say, "活动 公告 2020-01-01 09:00 过去了", sender="wang")
    assert "已经过去" in past
    cron = await _content(say, "活动 公告 cron 0 9 31 2 * 不存在的一天", sender="wang")
    assert "时间表达式不对" in cron and "cron expression" not in cron, cron
    empty = await _content(say, "活动 公告 每天 09:00", sender="wang")
    assert "公告需要写上内容" in empty
    assert await Activity.all().count() == 0


async def test_only_this_communitys_leader(say: Say) -> None:
    await _bound_group()
    assert "只有团长" in await _content(say, "活动 公告 每天 09:00 x", sender="li")
    outsider = await make_user(Role.LEADER)
    await make_community(outsider)
    await _as(outsider, "zhao")
    refused = await _content(say, "活动 公告 每天 09:00 x", sender="zhao")
    assert "只有本社区的团长" in refused
    assert "还没有绑定" in await _content(say, "活动 列表", sender="wang", chat_id="unbound-group")
    assert await Activity.all().count() == 0


async def test_list_reschedule_and_cancel_by_number(say: Say) -> None:
    await _bound_group()
    assert "还没有安排活动" in await _content(say, "活动 列表", sender="wang")
    await _content(say, "活动 公告 每天 09:00 第一条", sender="wang")
    await _content(say, "活动 签到 每天 08:00", sender="wang")
    listing = await _content(say, "活动 列表", sender="wang")
    assert "1. 公告" in listing and "2. 签到" in listing and "第一条" in listing

    moved = await _content(say, "活动 改期 2 每天 07:30", sender="wang")
    assert "已安排签到：每天 07:30" in moved
    call = await Activity.get(kind=ActivityKind.CHECKIN)
    assert call.next_run_at.astimezone(SHANGHAI).strftime("%H:%M") == "07:30"

    assert "已取消第 1 个活动" in await _content(say, "活动 取消 1", sender="wang")
    first = await Activity.get(kind=ActivityKind.ANNOUNCEMENT)
    assert not first.active and first.next_run_at is None
    listing = await _content(say, "活动 列表", sender="wang")
    assert "1. 签到" in listing and "公告" not in listing
    assert "没有这个序号的活动" in await _content(say, "活动 取消 9", sender="wang")
    assert "活动 取消 <序号>" in await _content(say, "活动 取消 abc", sender="wang")


async def test_leader_schedules_a_flash_sale(say: Say) -> None:
    community = await _bound_group()
    sku = await make_sku(community, stock=80)
    tomorrow = datetime.now(tz=SHANGHAI).date() + timedelta(days=1)
    reply = await _content(
        say,
        f"活动 秒杀 {tomorrow.isoformat()} 20:00 {sku.id} 9.9 50 限购2 15分钟 新鲜鸡蛋",
        sender="wang",
    )
    assert "已安排秒杀" in reply and "¥9.90" in reply and "20:15" in reply
    sale = await FlashSale.get()
    assert (sale.price, sale.stock, sale.per_user_limit) == (990, 50, 2)
    assert sale.ends_at - sale.starts_at == timedelta(minutes=15)
    recurring = await _content(say, f"活动 秒杀 每天 20:00 {sku.id} 9.9 10", sender="wang")
    assert "秒杀只能安排一次" in recurring
    assert "活动 秒杀" in await _content(say, "活动 秒杀 明天 20:00 鸡蛋", sender="wang")


async def test_shoppers_check_in_once_a_day(say: Say) -> None:
    community = await _bound_group()
    first = await _content(say, "签到", sender="li")
    assert "签到成功" in first and "连续签到 1 天" in first and "+1 积分" in first
    assert "共" not in first  # the balance is said alone (积分), not to the group
    again = await _content(say, "checkin", sender="li")
    assert "今天已经签到过了" in again
    assert await CheckIn.filter(community_id=community.id).count() == 1
    assert await PointsEntry.filter(community_id=community.id).count() == 1
    # writing in the community's group made li a member of it
    li = (await CheckIn.get(community_id=community.id)).user_id
    assert await Membership.exists(user_id=li, community_id=community.id)
    assert "社区群" in await _content(say, "签到", sender="li", chat_id=None)
    assert "还没有绑定" in await _content(say, "签到", sender="li", chat_id="unbound-group")


async def test_deals_end_pointing_to_flash_sales_while_one_runs_or_is_to_come(say: Say) -> None:
    """团购 ends with one line sending people to 秒杀 while a sale of the group's community
    is running or to come (alone: of any community of theirs); without one, no such line."""
    community = await _bound_group()
    sku = await make_sku(community, stock=80)
    before = await _content(say, "团购", sender="li")
    assert "现在没有进行中的团购" in before and "秒杀" not in before
    tomorrow = datetime.now(tz=SHANGHAI).date() + timedelta(days=1)
    scheduled = f"活动 秒杀 {tomorrow.isoformat()} 20:00 {sku.id} 9.9 50 限购2 新鲜鸡蛋"
    assert "已安排秒杀" in await _content(say, scheduled, sender="wang")

    deals = await _content(say, "团购", sender="li")
    assert deals.endswith("⚡ 还有秒杀在进行或即将开始，发送「秒杀」看看。"), deals
    assert "⚡ 还有秒杀" in await _content(say, "团购", sender="wang", chat_id=None)
    listed = await _content(say, "秒杀", sender="li")
    assert "秒杀价 ¥9.90" in listed

    assert "已取消第 1 个活动" in await _content(say, "活动 取消 1", sender="wang")
    after = await _content(say, "团购", sender="li")
    assert "秒杀" not in after, after
