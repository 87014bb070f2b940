"""Member tiers: admins set the ladder; members read their tier (also in GET /api/v1/me)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from miniapp_api.auth import admin
from miniapp_api.fields import Flag, Id, integer
from miniapp_api.spec import endpoint
from models.limits import INT_MAX
from services import tiers
from services.auth import Principal

if TYPE_CHECKING:
    from models.tier import TierLevel, TierRules

TAGS = ("tiers",)


class LevelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=32, description="e.g. 银卡会员")
    threshold: integer(0, INT_MAX, description="fen of growth from which the level holds")
    discount_bps: integer(0, 5000, description="off group prices, in 1/10000") = 0
    points_multiplier_pct: integer(100, 1000, description="150: points x1.5") = 100
    coupon_template_ids: list[Id] = Field(
        default_factory=list, max_length=10, description="the monthly coupon pack"
    )


class LadderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    window_days: integer(1, 730, description="growth counts payments of this many days") = 365
    lower_mid_month: Flag = Field(
        default=False, description="false: a member's tier never falls before the month is over"
    )
    timezone: str = Field(
        default="Asia/Shanghai", min_length=1, max_length=64, description="where months turn"
    )
    levels: list[LevelIn] = Field(max_length=20)


class LevelOut(BaseModel):
    name: str
    threshold: int = Field(description="fen of growth")
    discount_bps: int
    points_multiplier_pct: int
    coupon_template_ids: list[str]

    @classmethod
    def of(cls, level: TierLevel) -> LevelOut:
        return cls(
            name=level.name,
            threshold=level.threshold,
            discount_bps=level.discount_bps,
            points_multiplier_pct=level.points_multiplier_pct,
            coupon_template_ids=[str(i) for i in level.coupon_template_ids or ()],
        )


class LadderOut(BaseModel):
    window_days: int
    lower_mid_month: bool
    timezone: str
    levels: list[LevelOut] = Field(description="lowest threshold first")

    @classmethod
    def of(cls, rules: TierRules, levels: list[TierLevel]) -> LadderOut:
        return cls(
            window_days=rules.window_days,
            lower_mid_month=rules.lower_mid_month,
            timezone=rules.timezone,
            levels=[LevelOut.of(level) for level in levels],
        )


class TierOut(BaseModel):
    name: str | None = Field(description="the member's tier; null: below every level")
    growth: int = Field(description="fen: paid GMV minus refunds over the window")
    window_days: int
    next_name: str | None = Field(description="the next level up; null at the top")
    to_next: int | None = Field(description="fen of growth still needed for it")
    discount_bps: int = Field(description="the tier discount on group prices")
    points_multiplier_pct: int
    monthly_coupon_template_ids: list[str]

    @classmethod
    def of(cls, found: tiers.Standing) -> TierOut:
        perks = found.perks
        return cls(
            name=found.level.name if found.level else None,
            growth=found.growth,
            window_days=found.window_days,
            next_name=found.next_level.name if found.next_level else None,
            to_next=found.to_next,
            discount_bps=perks.discount_bps,
            points_multiplier_pct=perks.points_multiplier_pct,
            monthly_coupon_template_ids=list(perks.monthly_coupon_template_ids),
        )


@endpoint(summary="Admins: the member-tier ladder", tags=TAGS, response=LadderOut, auth=admin)
async def get_ladder() -> LadderOut:
    return LadderOut.of(await tiers.rules(), await tiers.levels())


@endpoint(
    summary="Admins: replace the member-tier ladder (levels kept by name)",
    tags=TAGS,
    body=LadderIn,
    response=LadderOut,
    auth=admin,
    errors=(403, 422),
)
async def set_ladder(*, principal: Principal, body: LadderIn, now: datetime) -> LadderOut:
    ladder = tiers.Ladder(
        window_days=body.window_days,
        lower_mid_month=body.lower_mid_month,
        timezone=body.timezone,
        levels=tuple(
            tiers.LevelSpec(
                name=level.name,
                threshold=level.threshold,
                discount_bps=level.discount_bps,
                points_multiplier_pct=level.points_multiplier_pct,
                coupon_template_ids=tuple(str(i) for i in level.coupon_template_ids),
            )
            for level in body.levels
        ),
    )
    return LadderOut.of(*await tiers.set_ladder(ladder, actor=principal, now=now))


@endpoint(summary="The caller's member tier and its perks", tags=TAGS, response=TierOut, auth=True)
async def my_tier(*, principal: Principal, now: datetime) -> TierOut:
    found = await tiers.standing(principal.user_id, now=now)
    return TierOut.of(found)


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/admin/tiers", get_ladder)
    app.router.add_put("/api/v1/admin/tiers", set_ladder)
    app.router.add_get("/api/v1/me/tier", my_tier)
