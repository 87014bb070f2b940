"""Request and response models of the share, attribution, earnings and pickup endpoints."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, field_validator

from miniapp_api.fields import Id, JsonInt, ShareCode, integer
from models.growth import BindingScope, EarningEntry, EarningStatement, ShareKind, Withdrawal
from models.limits import INT_MAX
from qunshop.errors import ErrorCode, Invalid
from services.growth_rules import (
    MAX_BINDING_DAYS,
    MAX_LEVELS,
    MAX_RATE_BPS,
    MAX_TOTAL_BPS,
    PYRAMID,
)
from services.leaderboards import Board, Scope


class UpdatableOut(BaseModel):
    """A team's updatable share card (动态消息): pass these to wx.updateShareMenu with
    isUpdatableMessage and withShareTicket; the server moves the card as seats are paid."""

    activity_id: str
    expires_at: datetime = Field(description="the id stops updating after this")
    member_count: int = Field(description="templateInfo parameter member_count (paid seats)")
    room_limit: int = Field(description="templateInfo parameter room_limit (the team's size)")


class ShareOut(BaseModel):
    """What onShareAppMessage returns, and the mini-program code for posters."""

    kind: ShareKind
    code: str = Field(description="the sharer's opaque code; also the wxacode scene")
    title: str
    path: str = Field(description="onShareAppMessage path, with its query")
    image_url: str = Field(description="a 5:4 picture; empty lets WeChat take a screenshot")
    wxacode_page: str = Field(description="the page the mini-program code opens")
    wxacode_url: str = Field(description="GET: the mini-program code image (PNG)")
    updatable: UpdatableOut | None = Field(
        default=None, description="a team's live card; null for other shares or if unavailable"
    )


class InviteQuery(BaseModel):
    community_id: Id | None = Field(default=None, description="the community invited to")


class CodeImage(RootModel[bytes]):
    """The mini-program code, a PNG image."""


class EntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: ShareCode = Field(description="the path's s=, or the decoded options.scene")


class EntryOut(BaseModel):
    kind: ShareKind
    community_id: str | None
    campaign_id: str | None
    team_id: str | None
    outcome: str = Field(
        description="bound, already_bound (first touch wins), self_invite, cycle, not_new_user"
    )


class GroupEntryIn(BaseModel):
    """From wx.getGroupEnterInfo (or the older wx.getShareInfo) on a group launch."""

    model_config = ConfigDict(extra="forbid")

    encrypted_data: str = Field(min_length=1, max_length=8192, description="encryptedData")
    iv: str = Field(min_length=1, max_length=64)
    code: ShareCode | None = None
    team_ref: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9-]{1,64}$", description="the team opened: code or id"
    )
    order_id: Id | None = Field(default=None, description="the caller's order")


class GroupEntryOut(BaseModel):
    opengid: str
    chat_type: int | None = Field(description="3: WeChat group, 4: WeCom interop group")
    community_id: str | None
    outcome: str = Field(description="the invite attribution of the code, or no_code")
    team_bound: bool
    order_bound: bool


class GroupStatsOut(BaseModel):
    chat_id: str = Field(description="the opengid (or WeCom chat id)")
    visits: int
    visitors: int
    teams: int
    orders: int
    buyers: int
    gmv: int = Field(description="net sales: paid less refunded, fen")
    refunded: int = Field(description="fen")
    conversion_bps: int = Field(description="buyers per visitor, in basis points")


class GroupStatsList(BaseModel):
    items: list[GroupStatsOut]


class LeaderboardQuery(BaseModel):
    # Literals, not the enums: query parameters are documented inline, without $refs.
    scope: Literal["community", "campaign"]
    id: Id = Field(description="the community or campaign id")
    board: Literal["inviters", "sharers"]
    limit: int = Field(default=10, ge=1, le=100)


class RankOut(BaseModel):
    rank: int
    user_id: str
    nickname: str
    score: int


class LeaderboardOut(BaseModel):
    scope: Scope
    id: str
    board: Board
    items: list[RankOut]


class EarningEntryOut(BaseModel):
    id: str
    order_id: str | None = Field(description="the order an accrual came from; null: a withdrawal")
    withdrawal_id: str | None = Field(description="the withdrawal (提现) this row moved")
    kind: str
    event: str
    amount: int = Field(description="fen")
    frozen_delta: int
    available_delta: int
    created_at: datetime

    @classmethod
    def of(cls, e: EarningEntry) -> EarningEntryOut:
        return cls(
            id=str(e.id),
            order_id=str(e.order_id) if e.order_id else None,
            withdrawal_id=str(e.withdrawal_id) if e.withdrawal_id else None,
            kind=e.kind.value,
            event=e.event.value,
            amount=e.amount,
            frozen_delta=e.frozen_delta,
            available_delta=e.available_delta,
            created_at=e.created_at,
        )


class PeriodOut(BaseModel):
    accrued: int
    released: int
    reversed: int
    orders: int


class EarningsOut(BaseModel):
    frozen: int = Field(description="fen, released when the order is picked up or completed")
    available: int = Field(description="fen")
    week_start: date
    week: PeriodOut
    recent: list[EarningEntryOut]


class StatementOut(BaseModel):
    week_start: date
    accrued: int
    released: int
    reversed: int
    frozen_balance: int
    available_balance: int

    @classmethod
    def of(cls, s: EarningStatement) -> StatementOut:
        return cls(
            week_start=s.week_start,
            accrued=s.accrued,
            released=s.released,
            reversed=s.reversed,
            frozen_balance=s.frozen_balance,
            available_balance=s.available_balance,
        )


class StatementList(BaseModel):
    items: list[StatementOut]


Rate = integer(0, MAX_RATE_BPS, description="basis points")
BindingDays = integer(1, MAX_BINDING_DAYS)


class RulesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    leader_share_bps: JsonInt = Field(
        ge=0, le=MAX_RATE_BPS, description="of every order of the leader's community"
    )
    invite_commission_bps: list[Rate] = Field(
        max_length=MAX_LEVELS,
        description="level 1 (the buyer's inviter) first; a third level is pyramid selling. "
        f"All rates together at most {MAX_TOTAL_BPS}",
    )
    binding_scope: BindingScope
    binding_days: BindingDays | None = Field(description="null: permanent bindings")

    @field_validator("invite_commission_bps", mode="before")
    @classmethod
    def _no_third_level(cls, value: object) -> object:
        # Before the length check, so a third level keeps its own stable code.
        if isinstance(value, list) and len(value) > MAX_LEVELS:
            raise Invalid(ErrorCode.PYRAMID_REFUSED, PYRAMID)
        return value


class RulesOut(BaseModel):
    leader_share_bps: int
    invite_commission_bps: list[int]
    binding_scope: BindingScope
    binding_days: int | None


class PickupPointOut(BaseModel):
    name: str
    address: str
    hours: str


class TicketOut(BaseModel):
    order_id: str
    status: str
    code: str = Field(description="show it at the pickup point")
    pickup_point: PickupPointOut | None


class VerifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=32)


class ShortageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(
        min_length=1, max_length=64, description='the pick list\'s number ("1") or a SKU id'
    )
    short: JsonInt = Field(ge=1, le=100_000, description="units missing")


class ArrivedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    community_id: str | None = Field(
        default=None, max_length=64, description="the caller's first community when absent"
    )
    shortages: list[ShortageIn] = Field(
        default_factory=list,
        max_length=100,
        description="SKUs of the arriving batch that came short; their newest orders are refunded",
    )


class ArrivalOut(BaseModel):
    community_id: str
    arrival_id: str | None = Field(description="null: no confirmed order was waiting")
    orders: int = Field(description="orders now ready for pickup")
    pickup_point: PickupPointOut | None
    batch_id: str | None = Field(default=None, description="the batch that arrived, if any")
    refunded_orders: int = Field(default=0, description="orders refunded for a shortage")


class PickupLineOut(BaseModel):
    order_id: str
    buyer: str
    item: str
    quantity: int
    amount: int
    status: str
    picked_up_at: datetime | None


class PickupDayQuery(BaseModel):
    community_id: Id | None = None


class PickupDayOut(BaseModel):
    community_id: str
    day: str
    pickup_point: PickupPointOut | None
    waiting: list[PickupLineOut] = Field(
        description="待提货: arrived (ready_for_pickup), waiting to be picked up"
    )
    arriving: list[PickupLineOut] = Field(
        description="待到货: paid (confirmed), the goods not at the pickup point yet"
    )
    picked_up: list[PickupLineOut] = Field(description="picked up today")
    waiting_count: int = Field(
        description="待提货 orders, all of them (the list shows the first 200)"
    )
    arriving_count: int = Field(
        description="待到货 orders, all of them (the list shows the first 200)"
    )
    picked_up_count: int = Field(
        description="picked up today, all of them (the list shows the first 200)"
    )


# 0 passes here so the service answers it with its own code (withdrawal_below_minimum).
WithdrawFen = integer(0, INT_MAX, description="fen, at least 100; left out: all available")


class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: WithdrawFen | None = None


class WithdrawalOut(BaseModel):
    id: str
    amount: int = Field(description="fen")
    status: str = Field(description="requested, approved (being paid), paid, rejected, failed")
    reason: str = Field(description="why it was rejected, or why WeChat Pay refused it")
    created_at: datetime
    settled_at: datetime | None

    @classmethod
    def of(cls, w: Withdrawal) -> WithdrawalOut:
        return cls(
            id=str(w.id),
            amount=w.amount,
            status=w.status.value,
            reason=w.reason,
            created_at=w.created_at,
            settled_at=w.settled_at,
        )


class WithdrawalList(BaseModel):
    items: list[WithdrawalOut]
    available: int = Field(description="fen available to withdraw now")
