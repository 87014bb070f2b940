"""Request and response models of coupons, points and checkout discounts (issue 16)."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from miniapp_api.fields import Fen, Flag, Id, JsonInt, integer
from models.activity import PointsEntry
from models.coupon import CouponKind, CouponScope, CouponTemplate, GrantRule
from models.pricing import SkuPrice
from services import coupons
from services.coupons import Held

# Optional integers keep their bounds in the schema only as bounded types (fields.integer).
Days = integer(1, 3650, description="days")
PointsPrice = integer(1, 10_000_000, description="points")


class CouponTemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    kind: CouponKind = Field(description="amount: 满减 (threshold 0: no threshold); percent")
    stock_total: JsonInt = Field(ge=1, le=10_000_000)
    threshold: Fen = 0
    amount_off: Fen = 0
    percent_off: JsonInt = Field(default=0, ge=0, le=99)
    max_off: Fen = 0
    new_user_only: Flag = False
    scope: CouponScope = CouponScope.ALL
    scope_ref: str = Field(
        default="",
        max_length=64,
        description="a product or community id, or a category; empty for scope all",
    )
    per_user_limit: JsonInt = Field(default=1, ge=1, le=100)
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = Field(default=None, description="fixed dates; or else")
    valid_days: Days | None = Field(default=None, description="from the claim")
    claimable: Flag = True
    points_price: PointsPrice | None = None
    grant_rule: GrantRule = GrantRule.NONE
    rule_days: Days | None = None
    community_id: Id | None = Field(
        default=None, description="the community whose group chat gets the coupon card"
    )


class CouponTemplateOut(BaseModel):
    id: str
    name: str
    kind: str
    threshold: int
    amount_off: int
    percent_off: int
    max_off: int
    new_user_only: bool
    scope: str
    scope_ref: str
    stock_total: int
    stock_left: int
    per_user_limit: int
    valid_from: datetime | None
    valid_until: datetime | None
    valid_days: int | None
    claimable: bool
    points_price: int | None
    grant_rule: str
    rule_days: int | None
    community_id: str | None
    active: bool

    @classmethod
    def of(cls, t: CouponTemplate) -> CouponTemplateOut:
        return cls(
            **{
                name: getattr(t, name)
                for name in cls.model_fields
                if name not in ("id", "kind", "scope", "grant_rule", "community_id")
            },
            id=str(t.id),
            kind=t.kind.value,
            scope=t.scope.value,
            grant_rule=t.grant_rule.value,
            community_id=str(t.community_id) if t.community_id else None,
        )


class CouponTemplateList(BaseModel):
    items: list[CouponTemplateOut]
    next_cursor: str | None = Field(
        default=None, description="pass as cursor for the next page; null: done"
    )


class TemplateQuery(BaseModel):
    community_id: Id | None = Field(
        default=None, description="the community one is in: its own coupons besides shop-wide"
    )
    limit: int = Field(50, ge=1, le=coupons.MAX_PAGE, description="items per page")
    cursor: str | None = Field(None, max_length=256, description="next_cursor of the last page")


class CouponQuery(BaseModel):
    limit: int = Field(50, ge=1, le=coupons.MAX_PAGE, description="items per page")
    cursor: str | None = Field(None, max_length=256, description="next_cursor of the last page")


class CouponOut(BaseModel):
    id: str
    status: str = Field(description="available, locked (an order awaits payment), used, expired")
    usable: bool = Field(description="available and inside its dates now")
    order_id: str | None
    valid_from: datetime
    valid_until: datetime
    source: str
    template: CouponTemplateOut

    @classmethod
    def of(cls, held: Held) -> CouponOut:
        c = held.coupon
        return cls(
            id=str(c.id),
            status=c.status.value,
            usable=held.usable,
            order_id=str(c.order_id) if c.order_id else None,
            valid_from=c.valid_from,
            valid_until=c.valid_until,
            source=c.source,
            template=CouponTemplateOut.of(held.template),
        )


class CouponList(BaseModel):
    items: list[CouponOut]
    next_cursor: str | None = Field(
        default=None, description="pass as cursor for the next page; null: done"
    )


class GrantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_ids: list[Id] = Field(min_length=1, max_length=1000)


class GrantOut(BaseModel):
    granted: int
    refused: dict[str, int] = Field(description="error code: how many people")


class DiscountsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    coupon_id: Id | None = Field(default=None, description="one coupon; null: none")
    points: JsonInt = Field(default=0, ge=0, le=100_000_000, description="100 points = 1 yuan")


class PointsEntryOut(BaseModel):
    delta: int
    reason: str
    at: datetime

    @classmethod
    def of(cls, e: PointsEntry) -> PointsEntryOut:
        return cls(delta=e.delta, reason=e.reason, at=e.created_at)


class PointsOut(BaseModel):
    balance: int
    fen_per_point: int
    expiring: int = Field(description="points that expire within 30 days unless spent")
    expiring_by: datetime | None
    entries: list[PointsEntryOut]


class SkuPriceOut(BaseModel):
    price: int
    since: datetime
    until: datetime | None

    @classmethod
    def of(cls, p: SkuPrice) -> SkuPriceOut:
        return cls(price=p.price, since=p.since, until=p.until)


class SkuPriceList(BaseModel):
    items: list[SkuPriceOut] = Field(description="every price the SKU had, newest first")
    reference_price: int = Field(
        description="fen: the lowest price of the last 30 days, the only original price shown"
    )
