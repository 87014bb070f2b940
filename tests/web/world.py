"""Teams, campaigns and flash sales in each state a page shows, reached through services."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from models.user import Role
from services import accounts, chat_users, flashbuy, groupbuy
from services.auth import Principal
from tests.services.flash_world import cancel_sale, start_sale
from tests.support.factories import make_campaign, make_community, make_user

if TYPE_CHECKING:
    from models.activity import FlashSale
    from models.groupbuy import Campaign
    from models.user import User
    from qunshop.clock import FrozenClock
    from qunshop.config import Settings
    from services.flashgate import FlashGate

START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
NAMES = ["王芳", "李雷", "韩梅梅", "张伟"]
TEAM_STATES = ("open", "full", "closed", "sold_out")
SALE_STATES = ("upcoming", "open", "sold_out", "closed", "cancelled")


def who(user: User) -> Principal:
    return Principal(user_id=user.id, role=user.role)


async def people(n: int) -> list[User]:
    return [await make_user(Role.SHOPPER, nickname=NAMES[i % len(NAMES)]) for i in range(n)]


async def team_in(
    state: str, clock: FrozenClock, *, guaranteed: bool = False
) -> tuple[str, Campaign]:
    """A team of three in ``state``; returns its code and campaign."""
    community = await make_community(name="幸福里社区")
    campaign = await make_campaign(
        community,
        team_size=3,
        stock_cap=2 if state == "sold_out" else 50,
        group_price=1990,
        guaranteed=guaranteed,
        now=clock.now(),
    )
    members = await people(3)
    started = await groupbuy.start_team(
        principal=who(members[0]), campaign_id=str(campaign.id), now=clock.now()
    )
    code = started.team.code
    joining = {"open": 1, "full": 2, "closed": 1, "sold_out": 1}[state]
    for member in members[1 : 1 + joining]:
        await groupbuy.join_team(principal=who(member), team_ref=code, now=clock.now())
    if state == "closed":  # the deadline passes and the clock's sweep settles the team
        clock.advance(timedelta(hours=campaign.team_hours, minutes=1))
        await groupbuy.release_expired(now=clock.now())
        await groupbuy.settle_due_teams(now=clock.now())
    return code, campaign


async def sale_in(state: str, clock: FrozenClock, gate: FlashGate) -> FlashSale:
    if state == "upcoming":  # made, and looked at before its start
        sale = await start_sale(clock, stock=2, limit=1)
        clock.advance(timedelta(minutes=-5))
        return sale
    sale = await start_sale(clock, stock=2, limit=1)
    if state == "sold_out":
        for buyer in await people(2):
            await flashbuy.buy(
                principal=who(buyer), sale_id=str(sale.id), gate=gate, now=clock.now()
            )
    elif state == "closed":
        clock.advance(timedelta(minutes=31))
    elif state == "cancelled":
        await cancel_sale(sale, clock, gate.redis)
    return sale


async def leader_and_community() -> tuple[User, object]:
    leader = await make_user(Role.LEADER, nickname="刘团长")
    return leader, await make_community(leader, name="幸福里社区")


async def link_token(clock: FrozenClock, settings: Settings, sender: str = "li-si") -> str:
    """A chat sender's fresh account-link token, as the bot offers it."""
    await chat_users.user_for(platform="wecom_bot", external_id=sender, now=clock.now())
    offer = await accounts.offer_link(
        platform="wecom_bot",
        external_id=sender,
        secret=settings.secret_key.get_secret_value(),
        base_url="",
        now=clock.now(),
    )
    assert offer is not None
    return offer.token
