"""Reviews: write one after pickup, read them on a product or a campaign, the leader's reply."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from miniapp_api.auth import staff
from miniapp_api.fields import NO_NUL, NOT_BLANK, JsonInt
from miniapp_api.spec import endpoint
from models.review import Review
from services import moderation, reviews
from services.auth import Principal

TAGS = ("reviews",)
HttpsUrl = Annotated[str, StringConstraints(pattern=r"^https://[!-~]+$", max_length=512)]


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rating: JsonInt = Field(ge=1, le=5)
    text: str = Field(default="", max_length=500, pattern=NO_NUL, examples=["橙子很甜，下次还买"])
    images: list[HttpsUrl] = Field(default_factory=list, max_length=9)


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=500, pattern=NOT_BLANK)


class ReviewOut(BaseModel):
    id: str
    order_id: str
    product_id: str
    campaign_id: str | None
    author: str = Field(description="the author's nickname")
    rating: int
    text: str
    images: list[str]
    reply: str = Field(description="the leader's reply, '' when none is shown")
    reply_by: str = Field(
        description="the nickname of who replied (the leader or an operator); '' when no "
        "reply is shown or its writer is not known"
    )
    created_at: datetime

    @classmethod
    def of(cls, r: Review, author: str, replier: str = "") -> ReviewOut:
        return cls(
            id=str(r.id),
            order_id=str(r.order_id),
            product_id=str(r.product_id),
            campaign_id=str(r.campaign_id) if r.campaign_id else None,
            author=author,
            rating=r.rating,
            text=r.text,
            images=list(r.images),
            reply=reviews.reply_of(r),
            reply_by=replier,
            created_at=r.created_at,
        )


class WrittenOut(BaseModel):
    review: ReviewOut
    held: bool = Field(description="out of sight until moderation decides")
    reason: str


class ReviewList(BaseModel):
    count: int
    average: float | None = Field(description="mean rating of the reviews shown, one decimal")
    items: list[ReviewOut]


def _listing(found: reviews.Summary) -> ReviewList:
    return ReviewList(
        count=found.count,
        average=found.average,
        items=[
            ReviewOut.of(r, found.authors.get(r.author_id, ""), reviews.reply_by(r, found.authors))
            for r in found.reviews
        ],
    )


@endpoint(
    summary="Review one's picked-up order (once; moderated before others see it)",
    tags=TAGS,
    body=ReviewIn,
    response=WrittenOut,
    status=201,
    auth=True,
    errors=(401, 403, 404, 409, 422),
)
async def write_review(
    *,
    principal: Principal,
    body: ReviewIn,
    order_id: str,
    now: datetime,
    screen: moderation.Screen,
) -> WrittenOut:
    done = await reviews.write(
        principal=principal,
        order_id=order_id,
        rating=body.rating,
        text=body.text,
        images=body.images,
        now=now,
        wechat=screen,
    )
    me = ReviewOut.of(done.review, done.author)
    return WrittenOut(review=me, held=done.held, reason=done.reason)


@endpoint(
    summary="A product's reviews, newest first, with the average rating",
    tags=TAGS,
    response=ReviewList,
    errors=(404,),
)
async def product_reviews(*, product_id: str) -> ReviewList:
    return _listing(await reviews.for_product(product_id))


@endpoint(
    summary="A campaign's reviews, newest first, with the average rating",
    tags=TAGS,
    response=ReviewList,
    errors=(404,),
)
async def campaign_reviews(*, campaign_id: str) -> ReviewList:
    return _listing(await reviews.for_campaign(campaign_id))


@endpoint(
    summary="The community's leader answers a review (once; moderated)",
    tags=TAGS,
    body=ReplyIn,
    response=ReviewOut,
    auth=staff,
    errors=(401, 403, 404, 409, 422),
)
async def reply_review(
    *,
    principal: Principal,
    body: ReplyIn,
    review_id: str,
    now: datetime,
    screen: moderation.Screen,
) -> ReviewOut:
    done = await reviews.reply(
        principal=principal,
        review_id=review_id,
        text=body.text,
        now=now,
        wechat=screen,
    )
    replier = reviews.reply_by(done, {done.replied_by_id: done.replied_by.nickname})
    return ReviewOut.of(done, done.author.nickname, replier)


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v1/orders/{order_id}/review", write_review)
    app.router.add_get("/api/v1/products/{product_id}/reviews", product_reviews)
    app.router.add_get("/api/v1/campaigns/{campaign_id}/reviews", campaign_reviews)
    app.router.add_post("/api/v1/reviews/{review_id}/reply", reply_review)
