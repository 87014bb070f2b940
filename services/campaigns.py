"""Group-buy campaigns: created by a community's leader (or an admin) for one SKU, then
edited, paused and resumed, or closed early by them.

A paused campaign keeps its teams (they close at their own deadlines) but takes no new
starts and no joins; the join function (0019) refuses with campaign_paused. Closing ends the
campaign now.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from tortoise import connections
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from models.catalog import Sku
from models.community import Community
from models.groupbuy import Campaign
from models.limits import MAX_PRICE
from qunshop.errors import Conflict, ErrorCode, Invalid, NotFound
from services import communities, cursors, follows, prices
from services.ids import parse_uuid

if TYPE_CHECKING:
    import uuid
    from collections.abc import Iterable

    from tortoise.queryset import QuerySet

    from services.auth import Principal


@dataclass(frozen=True)
class CampaignDraft:
    community_id: str
    sku_id: str
    title: str
    group_price: int
    team_size: int
    starts_at: datetime
    ends_at: datetime
    stock_cap: int
    team_hours: int = 24
    reservation_minutes: int = 15
    per_user_limit: int = 1
    head_price: int | None = None
    price_tiers: list[tuple[int, int]] = field(default_factory=list)  # (min_members, price)
    guaranteed: bool = False


def _invalid(detail: str) -> Invalid:
    return Invalid(ErrorCode.CAMPAIGN_INVALID, detail)


def _check(draft: CampaignDraft, now: datetime) -> None:
    if not 2 <= draft.team_size <= 50:
        raise _invalid("team_size must be between 2 and 50")
    if draft.starts_at.tzinfo is None or draft.ends_at.tzinfo is None:
        raise _invalid("times must carry a time zone")
    if draft.ends_at <= draft.starts_at:
        raise _invalid("ends_at must be after starts_at")
    if draft.ends_at <= now:
        raise _invalid("the campaign would already be over")
    if not 0 <= draft.group_price <= MAX_PRICE or not 1 <= draft.stock_cap <= 1_000_000:
        raise _invalid(f"group_price must be 0..{MAX_PRICE} and stock_cap 1..1000000")
    if draft.head_price is not None and not 0 <= draft.head_price <= draft.group_price:
        raise _invalid("head_price must be between 0 and group_price")
    if not 1 <= draft.team_hours <= 24 * 7 or not 1 <= draft.reservation_minutes <= 120:
        raise _invalid("team_hours must be 1..168 and reservation_minutes 1..120")
    if not 1 <= draft.per_user_limit <= 100:
        raise _invalid("per_user_limit must be 1..100")
    last_members, last_price = 1, draft.group_price
    for members, price in sorted(draft.price_tiers):
        if not last_members < members <= draft.team_size:
            raise _invalid("price tier sizes must be distinct and within the team size")
        if not 0 <= price <= last_price:
            raise _invalid("a larger tier must not cost more than a smaller one")
        last_members, last_price = members, price


async def create_campaign(*, principal: Principal, draft: CampaignDraft, now: datetime) -> Campaign:
    """Check the rules, then carve the campaign's stock out of the SKU's stock."""
    _check(draft, now)
    community = await communities.get_community(draft.community_id)
    await communities.ensure_can_manage(principal, community)
    sku_key = parse_uuid(draft.sku_id)
    sku = await Sku.get_or_none(id=sku_key).prefetch_related("product") if sku_key else None
    # A supplier's product sells once reviewed and while on sale (services.off_sale).
    if sku is None or (sku.product.supplier_id is not None and not sku.product.active):
        raise NotFound(ErrorCode.SKU_NOT_FOUND, "no such SKU")
    if sku.product.community_id not in (None, community.id):
        raise _invalid("the SKU belongs to another community")
    tiers = [price for _, price in draft.price_tiers]
    prices.ensure_not_above_list(
        sku,
        {
            "group_price": draft.group_price,
            "head_price": draft.head_price,
            "price_tiers": max(tiers) if tiers else None,
        },
    )
    async with in_transaction():
        taken = await Sku.filter(id=sku.id, stock__gte=draft.stock_cap).update(
            stock=F("stock") - draft.stock_cap
        )
        if taken != 1:
            raise Conflict(ErrorCode.OUT_OF_STOCK, f"the SKU has fewer than {draft.stock_cap} left")
        campaign = await Campaign.create(
            community=community,
            sku=sku,
            title=draft.title,
            group_price=draft.group_price,
            head_price=draft.head_price,
            price_tiers=[{"min_members": m, "price": p} for m, p in sorted(draft.price_tiers)],
            team_size=draft.team_size,
            team_hours=draft.team_hours,
            reservation_minutes=draft.reservation_minutes,
            starts_at=draft.starts_at,
            ends_at=draft.ends_at,
            stock_cap=draft.stock_cap,
            stock_left=draft.stock_cap,
            per_user_limit=draft.per_user_limit,
            guaranteed=draft.guaranteed,
            created_by_id=principal.user_id,
        )
        await follows.announce_campaign(campaign, now=now)  # followers hear after commit
        return campaign


_STOCK_LEFT_SQL = (
    "SELECT c.id, c.stock_left + COALESCE(SUM(s.stock_left), 0)::int AS left "
    "FROM campaigns c LEFT JOIN campaign_stock_slices s ON s.campaign_id = c.id "
    "WHERE c.id = ANY($1::uuid[]) GROUP BY c.id"
)


async def get_campaign(campaign_id: str | uuid.UUID) -> Campaign:
    key = parse_uuid(campaign_id)
    campaign = await Campaign.get_or_none(id=key) if key else None
    if campaign is None:
        raise NotFound(ErrorCode.CAMPAIGN_NOT_FOUND, "no such campaign")
    return campaign


def _running(community_id: str | None, now: datetime) -> QuerySet[Campaign] | None:
    """Campaigns running now (not paused); None: ``community_id`` names no community."""
    query = Campaign.filter(starts_at__lte=now, ends_at__gt=now, paused_at=None)
    if community_id is None:
        return query
    key = parse_uuid(community_id)
    return None if key is None else query.filter(community_id=key)


async def list_campaigns(*, community_id: str | None, now: datetime) -> list[Campaign]:
    """Campaigns running now (not paused), soonest ending first: the deals the chat numbers."""
    query = _running(community_id, now)
    return [] if query is None else await query.order_by("ends_at", "id").limit(100)


MAX_PAGE = 100


async def page_campaigns(
    *, community_id: str | None, now: datetime, limit: int, cursor: str | None
) -> tuple[list[Campaign], str | None]:
    """Campaigns running now, soonest ending first, ``limit`` at a time after ``cursor``; and
    the cursor of the next page (None: this was the last)."""
    query = _running(community_id, now)
    if query is None:
        return [], None
    return await cursors.page(
        query, limit=min(max(limit, 1), MAX_PAGE), cursor=cursor, stamp="ends_at", ascending=True
    )


async def stock_left(campaign_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
    """What each campaign has left to sell: its reserve plus the units set aside in its
    stock slices (migration 0020). One query for any number of campaigns."""
    wanted = list(set(campaign_ids))
    if not wanted:
        return {}
    _, rows = await connections.get("default").execute_query(_STOCK_LEFT_SQL, [wanted])
    return {row["id"]: row["left"] for row in rows}


def is_running(campaign: Campaign, now: datetime) -> bool:
    """Within its window and not paused: people may start and join teams."""
    return campaign.paused_at is None and campaign.starts_at <= now < campaign.ends_at


@dataclass(frozen=True)
class CampaignEdit:
    """What a leader may change once a campaign exists; None leaves a field as it is.
    Prices and stock stay: members already hold seats at them."""

    title: str | None = None
    ends_at: datetime | None = None
    per_user_limit: int | None = None


async def managed(*, principal: Principal, limit: int = 100) -> list[Campaign]:
    """The campaigns of the communities the caller leads, newest first."""
    return (
        await Campaign.filter(community__leader_id=principal.user_id)
        .order_by("-starts_at", "-id")
        .limit(limit)
        .prefetch_related("community")
    )


async def skus_for(*, principal: Principal, limit: int = 100) -> list[Sku]:
    """What the caller may put in a campaign: their communities' SKUs and the shop-wide ones,
    with stock to carve."""
    led = await Community.filter(leader_id=principal.user_id).values_list("id", flat=True)
    return (
        await Sku.filter(Q(product__community_id=None) | Q(product__community_id__in=led))
        .filter(stock__gt=0)
        .order_by("name", "id")
        .limit(limit)
        .prefetch_related("product")
    )


async def _own(principal: Principal, campaign_id: str | uuid.UUID) -> Campaign:
    campaign = await get_campaign(campaign_id)
    community = await communities.get_community(campaign.community_id)
    await communities.ensure_can_manage(principal, community)
    return campaign


async def one_managed(*, principal: Principal, campaign_id: str | uuid.UUID) -> Campaign:
    """A campaign of a community the caller may manage (what a confirm page shows)."""
    return await _own(principal, campaign_id)


def _not_over(campaign: Campaign, now: datetime) -> None:
    if campaign.ends_at <= now:
        raise Conflict(ErrorCode.CAMPAIGN_NOT_ACTIVE, "the campaign is already over")


async def update(
    *, principal: Principal, campaign_id: str | uuid.UUID, edit: CampaignEdit, now: datetime
) -> Campaign:
    campaign = await _own(principal, campaign_id)
    _not_over(campaign, now)
    changes: dict[str, object] = {}
    if edit.title is not None:
        title = edit.title.strip()
        if not 1 <= len(title) <= 128:
            raise _invalid("title must be 1..128 characters")
        changes["title"] = title
    if edit.ends_at is not None:
        if edit.ends_at.tzinfo is None:
            raise _invalid("times must carry a time zone")
        if edit.ends_at <= max(now, campaign.starts_at):
            raise _invalid("ends_at must be after now and after starts_at")
        changes["ends_at"] = edit.ends_at
    if edit.per_user_limit is not None:
        if not 1 <= edit.per_user_limit <= 100:
            raise _invalid("per_user_limit must be 1..100")
        changes["per_user_limit"] = edit.per_user_limit
    # Only while it is still not over: a close racing the edit wins.
    if changes and not await Campaign.filter(id=campaign.id, ends_at__gt=now).update(**changes):
        raise Conflict(ErrorCode.CAMPAIGN_NOT_ACTIVE, "the campaign is already over")
    return await get_campaign(campaign.id)


async def pause(*, principal: Principal, campaign_id: str | uuid.UUID, now: datetime) -> Campaign:
    """No new teams or members until resumed; pausing twice is the same as once."""
    campaign = await _own(principal, campaign_id)
    _not_over(campaign, now)
    await Campaign.filter(id=campaign.id, paused_at=None, ends_at__gt=now).update(paused_at=now)
    return await get_campaign(campaign.id)


async def resume(*, principal: Principal, campaign_id: str | uuid.UUID, now: datetime) -> Campaign:
    campaign = await _own(principal, campaign_id)
    _not_over(campaign, now)
    await Campaign.filter(id=campaign.id).update(paused_at=None)
    return await get_campaign(campaign.id)


async def close(*, principal: Principal, campaign_id: str | uuid.UUID, now: datetime) -> Campaign:
    """The campaign ends now: teams already open close at their own deadlines, as when a
    campaign ends on time. Closing what is over is a no-op."""
    campaign = await _own(principal, campaign_id)
    await end([campaign.id], now=now)
    return await get_campaign(campaign.id)


async def end(campaign_ids: Iterable[uuid.UUID], *, now: datetime) -> int:
    """Those of the campaigns not over yet end now (how many did): their teams close at their
    own deadlines. Closing and taking a product off sale (``services.off_sale``) both end so."""
    ids = list(campaign_ids)
    if not ids:
        return 0
    await Campaign.filter(id__in=ids, ends_at__gt=now, starts_at__gt=now).update(
        starts_at=now
    )  # a campaign closed before it started keeps starts_at <= ends_at
    return await Campaign.filter(id__in=ids, ends_at__gt=now).update(ends_at=now)


def team_deadline(campaign: Campaign, now: datetime) -> datetime:
    return now + timedelta(hours=campaign.team_hours)
