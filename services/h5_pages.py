"""What the H5 pages show: the live state of a team, a campaign, a flash sale or an invite.

Read-only views over the same rows the chat and the API change; each names its state
(open, full, sold out, closed ...) so the page and its tests agree on one word. The ways
into the mini-program (its path, a URL link) are the doors' business, from ``path``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from models.activity import FlashSale
from models.catalog import Sku
from models.community import Community
from models.groupbuy import Campaign, Seat, SeatStatus, Team, TeamStatus
from models.user import User
from qunshop.errors import ErrorCode, NotFound, QunshopError
from services import campaigns, flashsale, groupbuy, reviews, share_codes
from services.ids import parse_uuid

if TYPE_CHECKING:
    from models.catalog import Product

OPEN_TEAMS_SHOWN = 5
# A member who never gave a nickname (a chat-only shopper) is drawn as 友 (群友), never as
# the ? of an empty seat: a full team of them looked like nobody had joined.
NAMELESS = "友"


class State:
    """The words a page's state is named by (also its CSS class and its tests' key)."""

    OPEN = "open"
    FULL = "full"  # every seat held, waiting for payments
    SUCCEEDED = "succeeded"
    CLOSED = "closed"  # failed, past its deadline, or its campaign ended
    SOLD_OUT = "sold_out"
    UPCOMING = "upcoming"
    CANCELLED = "cancelled"
    PAUSED = "paused"  # its leader paused the campaign: no new teams, no joins (0019)


@dataclass(frozen=True)
class Member:
    initial: str  # the first character of the nickname: the avatar drawn for them
    is_head: bool
    paid: bool


@dataclass(frozen=True)
class Goods:
    title: str
    description: str
    sku_name: str
    list_price: int  # fen: the SKU's own price, struck through beside the deal's
    image: str  # "" when the product has none


@dataclass(frozen=True)
class TeamPage:
    team: Team
    campaign: Campaign
    goods: Goods
    state: str
    members: list[Member]
    seats_left: int
    deadline: datetime
    path: str  # mini-program page, no leading '/'
    query: str


@dataclass(frozen=True)
class OpenTeam:
    code: str
    seats_left: int
    deadline: datetime


@dataclass(frozen=True)
class CampaignPage:
    campaign: Campaign
    stock_left: int  # the reserve and the stock slices (services.campaigns.stock_left)
    goods: Goods
    state: str
    open_teams: list[OpenTeam]
    deadline: datetime  # when it starts (upcoming) or ends
    path: str
    query: str
    reviews: reviews.Summary | None = None


@dataclass(frozen=True)
class ProductPage:
    goods: Goods
    reviews: reviews.Summary
    running: list[Campaign]  # its campaigns open now, soonest ending first: where to buy it
    path: str = "pages/index/index"  # the mini-program has no product page: its home
    query: str = ""


@dataclass(frozen=True)
class FlashSalePage:
    sale: FlashSale
    goods: Goods
    community: Community
    state: str
    deadline: datetime
    path: str
    query: str


@dataclass(frozen=True)
class InvitePage:
    inviter: str  # the inviter's nickname
    community: Community | None
    path: str
    query: str
    code: str | None = None  # the share code, when the invite carries one
    extra: dict[str, str] = field(default_factory=dict)


def _initial(nickname: str) -> str:
    name = nickname.strip()
    return name[0] if name else NAMELESS


def _goods(sku: Sku, product: Product) -> Goods:
    images = product.images if isinstance(product.images, list) else []
    image = str(images[0]) if images else ""
    return Goods(
        title=product.title,
        description=product.description,
        sku_name=sku.name,
        list_price=sku.price,
        image=image if image.startswith(("https://", "http://")) else "",
    )


async def _goods_of(sku_id: uuid.UUID) -> Goods:
    sku = await Sku.get(id=sku_id).select_related("product")
    return _goods(sku, sku.product)


async def _stock_left(campaign: Campaign) -> int:
    return (await campaigns.stock_left([campaign.id]))[campaign.id]


def _team_state(team: Team, campaign: Campaign, stock_left: int, now: datetime) -> str:
    if team.status is TeamStatus.SUCCEEDED:
        return State.SUCCEEDED
    if team.status is TeamStatus.FAILED or team.deadline_at <= now:
        return State.CLOSED
    if team.seats_held >= team.size:
        return State.FULL
    if campaign.paused_at is not None and campaign.starts_at <= now < campaign.ends_at:
        return State.PAUSED
    if not campaigns.is_running(campaign, now):
        return State.CLOSED
    if stock_left <= 0:
        return State.SOLD_OUT
    return State.OPEN


# A failed team's members paid and were refunded: still shown as its members.
_SHOWN = (SeatStatus.RESERVED, SeatStatus.PAID, SeatStatus.REFUNDED)


async def team_page(ref: str, *, now: datetime) -> TeamPage:
    team = await groupbuy.find_team(ref, with_campaign=True)
    campaign = team.campaign
    goods = await _goods_of(campaign.sku_id)
    seats = (
        await Seat.filter(team_id=team.id, status__in=_SHOWN)
        .select_related("user")
        .order_by("-is_head", "created_at")
    )
    members = [
        Member(
            initial=_initial(seat.user.nickname),
            is_head=seat.is_head,
            paid=seat.status is not SeatStatus.RESERVED,  # paid, or paid and refunded
        )
        for seat in seats
    ]
    return TeamPage(
        team=team,
        campaign=campaign,
        goods=goods,
        state=_team_state(team, campaign, await _stock_left(campaign), now),
        members=members,
        seats_left=max(team.size - team.seats_held, 0),
        deadline=min(team.deadline_at, campaign.ends_at),
        path="pages/team/index",
        query=f"code={team.code}",
    )


def _campaign_state(campaign: Campaign, stock_left: int, now: datetime) -> str:
    if now < campaign.starts_at:
        return State.UPCOMING
    if now >= campaign.ends_at:
        return State.CLOSED
    if campaign.paused_at is not None:
        return State.PAUSED
    if stock_left <= 0:
        return State.SOLD_OUT
    return State.OPEN


async def campaign_page(campaign_id: str, *, now: datetime) -> CampaignPage:
    campaign = await campaigns.get_campaign(campaign_id)
    stock_left = await _stock_left(campaign)
    state = _campaign_state(campaign, stock_left, now)
    teams: list[OpenTeam] = []
    if state == State.OPEN:
        rows = (
            await Team.filter(campaign_id=campaign.id, status=TeamStatus.OPEN, deadline_at__gt=now)
            .order_by("deadline_at")
            .limit(OPEN_TEAMS_SHOWN * 4)
        )
        teams = [
            OpenTeam(code=t.code, seats_left=t.size - t.seats_held, deadline=t.deadline_at)
            for t in rows
            if t.seats_held < t.size
        ][:OPEN_TEAMS_SHOWN]
    return CampaignPage(
        campaign=campaign,
        stock_left=stock_left,
        goods=await _goods_of(campaign.sku_id),
        state=state,
        open_teams=teams,
        deadline=campaign.starts_at if state == State.UPCOMING else campaign.ends_at,
        path="pages/campaign/index",
        query=f"id={campaign.id}",
        reviews=await reviews.for_campaign(campaign.id),
    )


async def product_page(product_id: str, *, now: datetime) -> ProductPage:
    """A product with its reviews (shown ones only) and their average, and the campaigns
    selling it now: a shared product link leads somewhere to buy it."""
    found = await reviews.for_product(product_id)  # refuses an unknown product
    sku = await Sku.filter(product_id=product_id).order_by("price").select_related("product")
    if not sku:
        raise NotFound(ErrorCode.PRODUCT_NOT_FOUND, "no such product")
    running = (
        await Campaign.filter(
            sku__product_id=sku[0].product_id, starts_at__lte=now, ends_at__gt=now, paused_at=None
        )
        .order_by("ends_at")
        .limit(OPEN_TEAMS_SHOWN)
    )
    return ProductPage(goods=_goods(sku[0], sku[0].product), reviews=found, running=running)


def _sale_state(sale: FlashSale, now: datetime) -> str:
    if not sale.activity.active:
        return State.CANCELLED
    if now < sale.starts_at:
        return State.UPCOMING
    if now >= sale.ends_at:
        return State.CLOSED
    if sale.stock_left <= 0:
        return State.SOLD_OUT
    return State.OPEN


async def flash_sale_page(sale_id: str, *, now: datetime) -> FlashSalePage:
    key = (await flashsale.get_sale(sale_id)).id
    sale = await FlashSale.get(id=key).select_related("activity", "activity__community")
    state = _sale_state(sale, now)
    return FlashSalePage(
        sale=sale,
        goods=await _goods_of(sale.sku_id),
        community=sale.activity.community,
        state=state,
        deadline=sale.starts_at if state == State.UPCOMING else sale.ends_at,
        path="pages/flash/index",
        query=f"id={sale.id}",
    )


async def invite_page(ref: str, *, secret: str, now: datetime) -> InvitePage:
    """``ref`` is a personal invite code, or (cards made before codes) the inviter's id."""
    user_id = parse_uuid(ref)
    if user_id is not None:
        user = await User.get_or_none(id=user_id)
        if user is None:
            raise NotFound(ErrorCode.USER_NOT_FOUND, "no such inviter")
        return InvitePage(
            inviter=user.nickname, community=None, path="pages/index/index", query=f"from={ref}"
        )
    try:
        share = await share_codes.resolve(ref, secret=secret, now=now)
    except QunshopError as exc:
        raise NotFound(exc.code, "this invite is not valid") from None
    sharer = await User.get(id=share.sharer_id)
    community = await Community.get_or_none(id=share.community_id) if share.community_id else None
    code = share_codes.code_of(share, secret=secret)
    return InvitePage(
        inviter=sharer.nickname,
        community=community,
        path="pages/index/index",
        query=f"s={code}",
        code=code,
    )
