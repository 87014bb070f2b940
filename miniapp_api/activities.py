"""Scheduled activities, flash sales and check-ins over HTTP: parse, call a service, render."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints
from redis.asyncio import Redis

from miniapp_api.auth import staff
from miniapp_api.commerce_schemas import OrderOut
from miniapp_api.fields import Fen, Id, JsonInt
from miniapp_api.spec import endpoint
from models.activity import ActivityKind, FlashSale
from services import activities, checkin, flashbuy, flashsale
from services.auth import Principal
from services.flashgate import FlashGate

TAGS = ("activities",)
Cron = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
    Field(
        description="crontab: minute hour day month weekday (Sunday = 0), "
        "in the community's time zone; e.g. '0 9 * * 1-5'"
    ),
]
Title = Annotated[str, StringConstraints(strip_whitespace=True, max_length=128)]
Words = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]


class FlashSaleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku_id: Id
    price: Fen = Field(description="fen; price x per_user_limit stays within an order's amount")
    stock: JsonInt = Field(
        ge=1, le=flashsale.MAX_STOCK, description="carved out of the SKU's stock"
    )
    per_user_limit: JsonInt = Field(default=1, ge=1, le=flashsale.MAX_LIMIT)
    minutes: JsonInt = Field(default=30, ge=5, le=24 * 60, description="how long it sells")

    def spec(self) -> flashsale.FlashSpec:
        return flashsale.FlashSpec(**self.model_dump(exclude={"sku_id"}), sku_id=str(self.sku_id))


class ActivityIn(BaseModel):
    """Give ``cron`` (recurring) or ``run_at`` (once); a flash sale is once, at ``run_at``."""

    model_config = ConfigDict(extra="forbid")

    kind: ActivityKind
    title: Title = ""
    text: Words = Field(default="", description="what is posted; required for announcements")
    cron: Cron | None = None
    run_at: AwareDatetime | None = None
    flash_sale: FlashSaleIn | None = None


class ActivityPatch(BaseModel):
    """The fields sent change; a new ``cron`` or ``run_at`` replaces the schedule."""

    model_config = ConfigDict(extra="forbid")

    title: Title = ""
    text: Words = ""
    cron: Cron | None = None
    run_at: AwareDatetime | None = None


class ActivityQuery(BaseModel):
    all: bool = Field(default=False, description="false: only those with a firing to come")


class FlashSaleOut(BaseModel):
    id: str
    activity_id: str
    sku_id: str
    price: int
    stock: int
    stock_left: int
    per_user_limit: int
    starts_at: datetime
    ends_at: datetime

    @classmethod
    def of(cls, s: FlashSale) -> FlashSaleOut:
        return cls(
            id=str(s.id),
            activity_id=str(s.activity_id),
            sku_id=str(s.sku_id),
            price=s.price,
            stock=s.stock,
            stock_left=s.stock_left,
            per_user_limit=s.per_user_limit,
            starts_at=s.starts_at,
            ends_at=s.ends_at,
        )


class FlashProductOut(BaseModel):
    id: str
    title: str
    sku_name: str
    image: str | None = Field(description="the product's first image; null: it has none")
    images: list[str]
    regular_price: int = Field(description="the SKU's price outside the sale, fen")


class FlashSaleCardOut(FlashSaleOut):
    product: FlashProductOut

    @classmethod
    def of_card(cls, card: flashsale.Card) -> FlashSaleCardOut:
        product = card.sku.product
        images = [str(url) for url in product.images]
        return cls(
            **FlashSaleOut.of(card.sale).model_dump(),
            product=FlashProductOut(
                id=str(product.id),
                title=product.title,
                sku_name=card.sku.name,
                image=images[0] if images else None,
                images=images,
                regular_price=card.sku.price,
            ),
        )


class ActivityOut(BaseModel):
    id: str
    community_id: str
    kind: ActivityKind
    title: str
    text: str
    cron: str | None
    run_at: datetime | None
    next_run_at: datetime | None = Field(description="null: nothing more to run")
    last_run_at: datetime | None
    active: bool = Field(description="false: cancelled")
    flash_sale: FlashSaleOut | None

    @classmethod
    def of(cls, view: activities.View) -> ActivityOut:
        a = view.activity
        return cls(
            id=str(a.id),
            community_id=str(a.community_id),
            kind=a.kind,
            title=a.title,
            text=a.payload.get("text", ""),
            cron=a.cron,
            run_at=a.run_at,
            next_run_at=a.next_run_at,
            last_run_at=a.last_run_at,
            active=a.active,
            flash_sale=FlashSaleOut.of(view.flash_sale) if view.flash_sale else None,
        )


class ActivityList(BaseModel):
    items: list[ActivityOut]


class FlashBuyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quantity: JsonInt = Field(default=1, ge=1, le=flashsale.MAX_LIMIT)
    chat_id: str | None = Field(default=None, max_length=128)


class CheckInOut(BaseModel):
    day: date = Field(description="the community's local day")
    streak: int
    points: int = Field(description="earned by this call; 0 when already checked in")
    balance: int
    created: bool = Field(description="false: already checked in today")


def _ids(request: web.Request) -> dict[str, str]:
    return {
        "community_id": request.match_info["community_id"],
        "activity_id": request.match_info["activity_id"],
    }


@endpoint(
    summary="Schedule an activity (the community's leader, or an admin)",
    tags=TAGS,
    body=ActivityIn,
    response=ActivityOut,
    status=201,
    auth=staff,
    errors=(404, 409),
)
async def create_activity(
    *, principal: Principal, body: ActivityIn, community_id: str, now: datetime
) -> ActivityOut:
    draft = activities.Draft(
        kind=body.kind,
        title=body.title,
        text=body.text,
        cron=body.cron,
        run_at=body.run_at,
        flash=body.flash_sale.spec() if body.flash_sale else None,
    )
    view = await activities.create_activity(
        principal=principal, community_id=community_id, draft=draft, now=now
    )
    return ActivityOut.of(view)


@endpoint(
    summary="The community's activities, oldest first",
    tags=TAGS,
    query=ActivityQuery,
    response=ActivityList,
    auth=staff,
    errors=(404,),
)
async def list_activities(
    *, principal: Principal, query: ActivityQuery, community_id: str
) -> ActivityList:
    views = await activities.list_activities(
        principal=principal, community_id=community_id, upcoming_only=not query.all
    )
    return ActivityList(items=[ActivityOut.of(v) for v in views])


@endpoint(summary="One activity", tags=TAGS, response=ActivityOut, auth=staff, errors=(404,))
async def get_activity(*, principal: Principal, community_id: str, activity_id: str) -> ActivityOut:
    view = await activities.get_activity(
        principal=principal, community_id=community_id, activity_id=activity_id
    )
    return ActivityOut.of(view)


@endpoint(
    summary="Change an activity; a new schedule reschedules it",
    tags=TAGS,
    body=ActivityPatch,
    response=ActivityOut,
    auth=staff,
    errors=(404, 409),
)
async def edit_activity(
    *,
    principal: Principal,
    body: ActivityPatch,
    community_id: str,
    activity_id: str,
    now: datetime,
    redis: Redis,
) -> ActivityOut:
    view = await activities.edit_activity(
        principal=principal,
        now=now,
        redis=redis,
        community_id=community_id,
        activity_id=activity_id,
        **{name: getattr(body, name) for name in body.model_fields_set},
    )
    return ActivityOut.of(view)


@endpoint(
    summary="Cancel an activity: nothing more runs; a flash sale stops selling",
    tags=TAGS,
    response=None,
    status=204,
    auth=staff,
    errors=(404,),
)
async def cancel_activity(
    *, principal: Principal, community_id: str, activity_id: str, now: datetime, redis: Redis
) -> None:
    await activities.cancel_activity(
        principal=principal,
        now=now,
        redis=redis,
        community_id=community_id,
        activity_id=activity_id,
    )


@endpoint(
    summary="A flash sale, as its card shows it: the sale and the product on sale",
    tags=TAGS,
    response=FlashSaleCardOut,
    errors=(404,),
)
async def get_flash_sale(*, sale_id: str) -> FlashSaleCardOut:
    return FlashSaleCardOut.of_card(await flashsale.card(sale_id))


@endpoint(
    summary="Buy in a flash sale: an order held for payment, within the per-person limit",
    tags=TAGS,
    body=FlashBuyIn,
    response=OrderOut,
    status=201,
    auth=True,
    idempotent_key=True,
    errors=(404, 409, 503),
)
async def buy_flash_sale(
    *, principal: Principal, body: FlashBuyIn, sale_id: str, flash_gate: FlashGate, now: datetime
) -> OrderOut:
    bought = await flashbuy.buy(
        principal=principal,
        sale_id=sale_id,
        quantity=body.quantity,
        chat_id=body.chat_id,
        gate=flash_gate,
        now=now,
    )
    return OrderOut.of(bought.order, bought.product)  # a new order: no refunds


@endpoint(
    summary="签到: check in to the community for today (again the same day changes nothing)",
    tags=TAGS,
    response=CheckInOut,
    auth=True,
    errors=(403, 404),
)
async def check_in(*, principal: Principal, community_id: str, now: datetime) -> CheckInOut:
    result = await checkin.check_in(principal=principal, community_id=community_id, now=now)
    return CheckInOut(
        day=result.checkin.day,
        streak=result.checkin.streak,
        points=result.points,
        balance=result.balance,
        created=result.created,
    )


def setup(app: web.Application) -> None:
    base = "/api/v1/communities/{community_id}"
    app.router.add_post(f"{base}/activities", create_activity)
    app.router.add_get(f"{base}/activities", list_activities)
    app.router.add_get(f"{base}/activities/{{activity_id}}", get_activity)
    app.router.add_patch(f"{base}/activities/{{activity_id}}", edit_activity)
    app.router.add_delete(f"{base}/activities/{{activity_id}}", cancel_activity)
    app.router.add_post(f"{base}/checkin", check_in)
    app.router.add_get("/api/v1/flash-sales/{sale_id}", get_flash_sale)
    app.router.add_post("/api/v1/flash-sales/{sale_id}/buy", buy_flash_sale)
