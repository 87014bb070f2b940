"""Reviews after pickup: one per order line, rated 1-5 with text and up to nine images,
moderated before anyone else sees them; the community's leader may reply once.

Shown on the product and the campaign with the average of the reviews shown. A review whose
images wait for WeChat's verdict, or that WeChat wants reviewed, is out of sight until the
verdict (services/moderation.py); its author is told so.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.activity import PointsEntry
from models.catalog import Product, Sku
from models.community import Community
from models.moderation import Shown
from models.order import Order, OrderStatus
from models.review import Review
from models.user import User
from qunshop.errors import Conflict, ErrorCode, Forbidden, Invalid, NotFound
from services import campaigns, communities, moderation, orders
from services.ids import parse_uuid

if TYPE_CHECKING:
    from collections.abc import Mapping

    from services.auth import Principal

REVIEW_POINTS = 5  # a review shown earns its author points once (points_ledger's ref)


async def _earn(review: Review, now: datetime) -> None:
    if review.community_id is None:
        return
    await PointsEntry.get_or_create(
        ref=f"review:{review.order_id}",
        defaults={
            "user_id": review.author_id,
            "community_id": review.community_id,
            "delta": REVIEW_POINTS,
            "reason": "review",
        },
    )


async def _decided(ref: str, approved: bool, now: datetime) -> None:
    """A held review an operator (or WeChat's image verdicts) let through earns its points."""
    review = await Review.get_or_none(id=ref)
    if approved and review is not None:
        await _earn(review, now)


moderation.register(moderation.Kind.REVIEW, moderation.Target(Review, decided=_decided))
moderation.register(
    moderation.Kind.REPLY, moderation.Target(Review, shown="reply_shown", text="reply_text")
)

REVIEWABLE = (OrderStatus.PICKED_UP, OrderStatus.COMPLETED)
IMAGES_MAX = 9
TEXT_MAX = 500
SHOWN = 50
_SUMMARY_SQL = (
    "SELECT count(*) AS n, avg(rating) AS average FROM reviews WHERE shown = 'visible' AND {where}"
)


@dataclass(frozen=True)
class Written:
    review: Review
    author: str  # the author's nickname, as the listings show it
    held: bool  # out of sight until moderation decides
    reason: str


@dataclass(frozen=True)
class Summary:
    count: int
    average: float | None  # one decimal; None without reviews
    reviews: list[Review]
    authors: dict[uuid.UUID, str]  # the reviews' authors' and repliers' ids -> nickname


def _check(rating: int, text: str, images: list[str]) -> None:
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise Invalid(ErrorCode.VALIDATION_FAILED, "rating is 1 to 5")
    if len(text) > TEXT_MAX:
        raise Invalid(ErrorCode.VALIDATION_FAILED, f"at most {TEXT_MAX} characters")
    if len(images) > IMAGES_MAX or not all(u.startswith("https://") for u in images):
        raise Invalid(ErrorCode.VALIDATION_FAILED, f"at most {IMAGES_MAX} https image URLs")


async def reviewable(principal: Principal) -> list[Order]:
    """The caller's picked-up orders without a review, newest first (chat's 评价 lists them)."""
    return (
        await Order.filter(user_id=principal.user_id, status__in=REVIEWABLE, review=None)
        .order_by("-picked_up_at", "-id")
        .select_related("sku__product")
        .limit(9)
    )


async def write(
    *,
    principal: Principal,
    order_id: str | uuid.UUID,
    rating: int,
    text: str,
    images: list[str],
    now: datetime,
    wechat: moderation.Screen | None = None,
) -> Written:
    """Review one's own picked-up order, once."""
    _check(rating, text, images)
    key = parse_uuid(order_id)
    order = await Order.get_or_none(id=key, user_id=principal.user_id) if key else None
    if order is None:
        raise NotFound(ErrorCode.ORDER_NOT_FOUND, "no such order of yours")
    if order.status in orders.REFUNDED_IN_FULL:
        # As Taobao and JD close a fully refunded order: nothing bought, nothing to review.
        # A partly refunded order stays picked up (or completed) and is reviewed.
        raise Conflict(
            ErrorCode.ORDER_REFUNDED_NO_REVIEW,
            "this order was refunded in full: it is closed and takes no review",
            status_now=order.status.value,
        )
    if order.status not in REVIEWABLE:
        raise Conflict(ErrorCode.ORDER_NOT_PICKED_UP, "an order is reviewed after pickup")
    if await Review.exists(order_id=order.id):
        raise Conflict(ErrorCode.ALREADY_REVIEWED, "this order has its review")
    author = await User.get(id=principal.user_id)
    verdict = await moderation.screen(
        kind=moderation.Kind.REVIEW,
        author=author,
        text=text,
        now=now,
        wechat=wechat,
        images=images,
    )
    sku = await Sku.get(id=order.sku_id)
    try:
        async with in_transaction():
            review = await Review.create(
                order_id=order.id,
                author_id=author.id,
                product_id=sku.product_id,
                campaign_id=order.campaign_id,
                community_id=order.community_id,
                rating=rating,
                text=text.strip(),
                images=images,
                shown=verdict.shown,
                created_at=now,
            )
            if not verdict.held:
                await _earn(review, now)
            await moderation.hold(
                kind=moderation.Kind.REVIEW,
                ref=str(review.id),
                verdict=verdict,
                author=author,
                text=review.text,
                images=images,
                community_id=order.community_id,
                now=now,
            )
    except IntegrityError:  # a second review of the same order at the same moment
        raise Conflict(ErrorCode.ALREADY_REVIEWED, "this order has its review") from None
    return Written(review=review, author=author.nickname, held=verdict.held, reason=verdict.reason)


async def reply(
    *,
    principal: Principal,
    review_id: str,
    text: str,
    now: datetime,
    wechat: moderation.Screen | None = None,
) -> Review:
    """The community's leader (or an admin) answers a review, once; moderated as well."""
    review = await _review(review_id)
    if review.community_id is None:
        if not principal.is_admin:
            raise Forbidden(ErrorCode.NOT_COMMUNITY_LEADER, "only an operator may answer")
    else:
        community = await communities.get_community(review.community_id)
        await communities.ensure_can_manage(principal, community)
    if not text.strip() or len(text) > TEXT_MAX:
        raise Invalid(ErrorCode.VALIDATION_FAILED, f"1 to {TEXT_MAX} characters")
    if review.reply_text:
        raise Conflict(ErrorCode.ALREADY_REVIEWED, "this review has its reply")
    author = await User.get(id=principal.user_id)
    verdict = await moderation.screen(
        kind=moderation.Kind.REPLY, author=author, text=text, now=now, wechat=wechat
    )
    async with in_transaction():
        changed = await Review.filter(id=review.id, reply_text="").update(
            reply_text=text.strip(),
            reply_shown=verdict.shown,
            replied_at=now,
            replied_by_id=principal.user_id,
        )
        if not changed:
            raise Conflict(ErrorCode.ALREADY_REVIEWED, "this review has its reply")
        await moderation.hold(
            kind=moderation.Kind.REPLY,
            ref=str(review.id),
            verdict=verdict,
            author=author,
            text=text.strip(),
            community_id=review.community_id,
            now=now,
        )
    return (
        await Review.filter(id=review.id)
        .select_related("author")
        .prefetch_related("replied_by")
        .get()
    )


async def for_leader(*, principal: Principal, limit: int = 50) -> list[Review]:
    """The shown reviews in the communities the caller leads, newest first: the console's
    page to answer them (unanswered first)."""
    led = await Community.filter(leader_id=principal.user_id).values_list("id", flat=True)
    found = (
        await Review.filter(community_id__in=list(led), shown=Shown.VISIBLE)
        .select_related("product", "author", "community")
        .prefetch_related("replied_by")
        .order_by("-created_at")
        .limit(limit)
    )
    return sorted(found, key=lambda r: bool(r.reply_text))  # stable: newest first in each


async def _review(review_id: str) -> Review:
    key = parse_uuid(review_id)
    review = await Review.get_or_none(id=key, shown=Shown.VISIBLE) if key else None
    if review is None:
        raise NotFound(ErrorCode.REVIEW_NOT_FOUND, "no such review")
    return review


async def _summary(where: str, value: uuid.UUID, **filters: object) -> Summary:
    rows = await connections.get("default").execute_query_dict(
        _SUMMARY_SQL.format(where=where), [value]
    )
    count, average = rows[0]["n"], rows[0]["average"]
    reviews = (
        await Review.filter(shown=Shown.VISIBLE, **filters).order_by("-created_at").limit(SHOWN)
    )
    people = {r.author_id for r in reviews} | {r.replied_by_id for r in reviews if r.replied_by_id}
    names = await User.filter(id__in=people).values_list("id", "nickname")
    return Summary(
        count=count,
        average=round(float(average), 1) if average is not None else None,
        reviews=reviews,
        authors=dict(names),  # type: ignore[arg-type]
    )


async def for_product(product_id: str | uuid.UUID) -> Summary:
    key = parse_uuid(product_id)
    if key is None or not await Product.exists(id=key):
        raise NotFound(ErrorCode.PRODUCT_NOT_FOUND, "no such product")
    return await _summary("product_id = $1", key, product_id=key)


async def for_campaign(campaign_id: str | uuid.UUID) -> Summary:
    campaign = await campaigns.get_campaign(campaign_id)
    return await _summary("campaign_id = $1", campaign.id, campaign_id=campaign.id)


def reply_of(review: Review) -> str:
    """The leader's reply as others may see it ("" while held or removed)."""
    return review.reply_text if review.reply_shown is Shown.VISIBLE else ""


def reply_by(review: Review, names: Mapping[uuid.UUID, str]) -> str:
    """Who wrote the reply others see, by nickname ("" when no reply is shown, or its writer
    is not known: a reply older than migration 0330, or a writer without a nickname)."""
    if not reply_of(review) or review.replied_by_id is None:
        return ""
    return names.get(review.replied_by_id, "")
