"""Request and response models of the group-buy, order and payment endpoints."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from miniapp_api.fields import WEB_URL, Fen, Flag, Id, JsonInt
from models.groupbuy import Campaign, Team
from models.order import Order
from services import campaigns, groupbuy, join_pay, storefront


class ProductBrief(BaseModel):
    """The product as a card shows it."""

    product_id: str
    sku_id: str
    title: str = Field(description="the product's name")
    sku_name: str
    image: str | None = Field(description="the product's first image; null: none")
    price: int = Field(description="fen, the SKU's list price (a campaign's is group_price)")

    @classmethod
    def of(cls, brief: storefront.Brief | None) -> ProductBrief | None:
        return None if brief is None else cls(**product_fields(brief))


def product_fields(brief: storefront.Brief) -> dict[str, Any]:
    """ProductBrief's fields, in its order."""
    return {
        "product_id": str(brief.product_id),
        "sku_id": str(brief.sku_id),
        "title": brief.title,
        "sku_name": brief.sku_name,
        "image": brief.image,
        "price": brief.price,
    }


class MemberOut(BaseModel):
    """A member of a team as others see them: a nickname and an avatar, nothing more."""

    nickname: str
    avatar_url: str | None = Field(description="null: none chosen")
    is_head: bool
    paid: bool


class RefundOut(BaseModel):
    amount: int = Field(description="fen")
    status: str = Field(description="pending, submitted, succeeded or failed")
    reason: str = Field(description="team_failed, tier_price, late_payment, ...")
    created_at: datetime
    settled_at: datetime | None


class TierIn(BaseModel):
    min_members: JsonInt = Field(ge=2, le=50)
    price: Fen


class CampaignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    community_id: Id
    sku_id: Id
    title: str = Field(min_length=1, max_length=128)
    group_price: Fen
    team_size: JsonInt = Field(ge=2, le=50)
    starts_at: AwareDatetime
    ends_at: AwareDatetime = Field(description="after starts_at, and not yet past")
    stock_cap: JsonInt = Field(ge=1, le=1_000_000)
    team_hours: JsonInt = Field(default=24, ge=1, le=168)
    reservation_minutes: JsonInt = Field(default=15, ge=1, le=120)
    per_user_limit: JsonInt = Field(default=1, ge=1, le=100)
    head_price: Fen | None = Field(default=None, description="fen; the head's perk")
    price_tiers: list[TierIn] = Field(default_factory=list, max_length=10)
    guaranteed: Flag = False


class CampaignOut(BaseModel):
    id: str
    community_id: str
    sku_id: str
    title: str
    group_price: int
    head_price: int | None
    price_tiers: list[TierIn]
    team_size: int
    team_hours: int
    starts_at: datetime
    ends_at: datetime
    stock_cap: int
    stock_left: int
    per_user_limit: int
    guaranteed: bool
    paused_at: datetime | None = None  # paused by its leader: no new teams or members
    product: ProductBrief | None = None

    @classmethod
    def of(
        cls, c: Campaign, stock_left: int, product: storefront.Brief | None = None
    ) -> CampaignOut:
        return cls(
            id=str(c.id),
            community_id=str(c.community_id),
            sku_id=str(c.sku_id),
            title=c.title,
            group_price=c.group_price,
            head_price=c.head_price,
            price_tiers=[TierIn(**t) for t in c.price_tiers],
            team_size=c.team_size,
            team_hours=c.team_hours,
            starts_at=c.starts_at,
            ends_at=c.ends_at,
            stock_cap=c.stock_cap,
            stock_left=stock_left,
            per_user_limit=c.per_user_limit,
            guaranteed=c.guaranteed,
            paused_at=c.paused_at,
            product=ProductBrief.of(product),
        )


class CampaignList(BaseModel):
    items: list[CampaignOut]
    next_cursor: str | None = Field(
        default=None, description="pass as cursor for the next page; null: done"
    )


class CampaignQuery(BaseModel):
    community_id: Id | None = None
    limit: int = Field(100, ge=1, le=campaigns.MAX_PAGE, description="items per page")
    cursor: str | None = Field(None, max_length=256, description="next_cursor of the last page")


class TeamOut(BaseModel):
    """What anyone with the link sees: of its members, only nicknames and avatars."""

    id: str
    code: str
    campaign_id: str
    size: int
    seats_held: int
    seats_left: int
    seats_paid: int
    status: str
    deadline_at: datetime
    guaranteed: bool = Field(
        description="the merchant completes the team at its deadline with any paid member "
        "(its campaign's guaranteed)",
    )
    final_price: int | None
    product: ProductBrief | None = None
    members: list[MemberOut] = Field(default_factory=list, description="head first")

    @classmethod
    def of(
        cls, t: Team, campaign: storefront.TeamCampaign, members: list[storefront.Member]
    ) -> TeamOut:
        return cls(
            **team_fields(
                functools.partial(getattr, t), campaign.product, members, campaign.guaranteed
            )
        )


def team_fields(
    column: Callable[[str], Any],
    product: storefront.Brief | None,
    members: Iterable[storefront.Member],
    guaranteed: bool,
) -> dict[str, Any]:
    """TeamOut's fields, in its order, from the team's columns (``column(name)``: a model's
    attribute or a row's value) and what it shows of its campaign."""
    size, held = column("size"), column("seats_held")
    return {
        "id": str(column("id")),
        "code": column("code"),
        "campaign_id": str(column("campaign_id")),
        "size": size,
        "seats_held": held,
        "seats_left": max(size - held, 0),
        "seats_paid": column("seats_paid"),
        "status": str(column("status")),
        "deadline_at": column("deadline_at"),
        "guaranteed": guaranteed,
        "final_price": column("final_price"),
        "product": None if product is None else product_fields(product),
        # Plain dicts: pydantic builds the fifty members of a full team in one pass.
        "members": [m._asdict() for m in members],
    }


class TeamList(BaseModel):
    items: list[TeamOut]
    next_cursor: str | None = Field(
        default=None, description="pass as cursor for the next page; null: done"
    )


class MyTeamsQuery(BaseModel):
    limit: int = Field(100, ge=1, le=groupbuy.MAX_PAGE, description="items per page")
    cursor: str | None = Field(None, max_length=256, description="next_cursor of the last page")


_PAY = (
    "pay now: the answer carries the payment's parameters too (``payment``), or why they "
    "could not be prepared (``payment_error``); the seat is held either way"
)


class StartTeamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chat_id: str | None = Field(default=None, max_length=128)
    pay: Flag = Field(default=False, description=_PAY)


class JoinTeamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chat_id: str | None = Field(default=None, max_length=128)
    pay: Flag = Field(default=False, description=_PAY)


class OrderOut(BaseModel):
    id: str
    kind: str
    status: str
    sku_id: str
    campaign_id: str | None
    team_id: str | None
    flash_sale_id: str | None = Field(description="a flash order's sale, null for the others")
    quantity: int
    unit_price: int = Field(description="fen, the group (or sale) price of one")
    amount: int = Field(description="fen, what is charged: the breakdown's paid")
    list_price: int = Field(description="fen, the SKU's price when ordered")
    member_off: int = Field(description="fen, the member tier's discount")
    coupon_off: int = Field(description="fen, the one coupon's discount")
    delivery_fee: int = Field(description="fen, home delivery's fee (0 when picked up)")
    points_used: int
    points_off: int = Field(description="fen, paid in points")
    reserved_until: datetime | None
    paid_at: datetime | None
    created_at: datetime
    product: ProductBrief | None = None
    pickup_code: str | None = Field(default=None, description="shown at the pickup point")
    refunds: list[RefundOut] = Field(default_factory=list)

    @classmethod
    def of(
        cls,
        o: Order,
        product: storefront.Brief | None = None,
        refunds: list[storefront.RefundLine] | None = None,
    ) -> OrderOut:
        return cls(**order_fields(functools.partial(getattr, o), product, refunds or ()))


def order_fields(
    column: Callable[[str], Any],
    product: storefront.Brief | None,
    refunds: Iterable[storefront.RefundLine],
) -> dict[str, Any]:
    """OrderOut's fields, in its order, from the order's columns (``column(name)``: a model's
    attribute or a row's value)."""
    campaign_id, team_id = column("campaign_id"), column("team_id")
    flash_sale_id = column("flash_sale_id")
    return {
        "id": str(column("id")),
        "kind": str(column("kind")),
        "status": str(column("status")),
        "sku_id": str(column("sku_id")),
        "campaign_id": str(campaign_id) if campaign_id else None,
        "team_id": str(team_id) if team_id else None,
        "flash_sale_id": str(flash_sale_id) if flash_sale_id else None,
        "quantity": column("quantity"),
        "unit_price": column("unit_price"),
        "amount": column("amount"),
        # An order answered as just made (a start, a flash buy) has not read back the list
        # price the database wrote (orders_list_price: the SKU's price then, which the
        # brief has just read).
        "list_price": column("list_price") or (product.price if product else 0),
        "member_off": column("member_off"),
        "coupon_off": column("coupon_off"),
        "delivery_fee": column("delivery_fee"),
        "points_used": column("points_used"),
        "points_off": column("points_off"),
        "reserved_until": column("reserved_until"),
        "paid_at": column("paid_at"),
        "created_at": column("created_at"),
        "product": None if product is None else product_fields(product),
        "pickup_code": column("pickup_code"),
        "refunds": [vars(r) for r in refunds],
    }


class OrderList(BaseModel):
    items: list[OrderOut]
    next_cursor: str | None = Field(
        default=None, description="pass as cursor for the next page; null: done"
    )


class OrderQuery(BaseModel):
    limit: int = Field(50, ge=1, le=100, description="items per page")
    cursor: str | None = Field(None, max_length=256, description="next_cursor of the last page")


class PayParams(BaseModel):
    """Pass these to wx.requestPayment as they are."""

    model_config = ConfigDict(populate_by_name=True)

    app_id: str = Field(alias="appId")
    time_stamp: str = Field(alias="timeStamp")
    nonce_str: str = Field(alias="nonceStr")
    package: str
    sign_type: str = Field(alias="signType")
    pay_sign: str = Field(alias="paySign")


class PaymentError(BaseModel):
    """Why a join (or start) asked to pay carries no payment parameters. The seat is held
    all the same: prepay it later (POST /api/v1/orders/{order_id}/prepay), which answers
    the same code as an error while the cause lasts."""

    code: str = Field(
        description="the stable error code, as prepay answers it",
        json_schema_extra={"enum": sorted(c.value for c in join_pay.PAY_REFUSALS)},
    )
    detail: str


class Reservation(BaseModel):
    team: TeamOut
    order: OrderOut
    payment: PayParams | None = Field(
        default=None,
        description="only when asked to pay: what wx.requestPayment takes, as prepay answers "
        "it; null when it could not be prepared (payment_error says why)",
    )
    payment_error: PaymentError | None = Field(
        default=None,
        description="only when asked to pay: null, or why payment is null",
    )


class DirectOrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku_id: Id
    quantity: JsonInt = Field(default=1, ge=1, le=99)
    community_id: Id | None = None


class SimulatedPayment(BaseModel):
    order_id: str
    notify_status: int
    notify_reply: str


class OpenTeamList(BaseModel):
    items: list[TeamOut] = Field(description="joinable now, fullest first")


Nickname = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class ProfileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Shown to others on teams and cards: spaces alone would show nobody.
    nickname: Nickname | None = None
    avatar_url: str | None = Field(default=None, max_length=512, pattern=WEB_URL)
