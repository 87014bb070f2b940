"""The rules operators set for growth: who may be bound to an inviter and for how long, the
leader's share of community orders, and the invite commission (two levels at most).

Stored in the database (one row, scope "global") so every process and every door reads the
same rules, including the payment transaction that accrues earnings. No row: ``DEFAULTS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.growth import BindingScope, GrowthRules
from qunshop.errors import ErrorCode, Forbidden, Invalid

if TYPE_CHECKING:
    from collections.abc import Mapping

    from services.auth import Principal

SCOPE = "global"
MAX_LEVELS = 2  # a third level of commission is pyramid selling (传销): refused
MAX_RATE_BPS = 3000
MAX_TOTAL_BPS = 5000
MAX_BINDING_DAYS = 3650
PYRAMID = f"invite commission has at most {MAX_LEVELS} levels: a third level is pyramid selling"


@dataclass(frozen=True)
class Rules:
    leader_share_bps: int = 500
    invite_bps: tuple[int, ...] = (300, 100)  # level 1 (the buyer's inviter), level 2
    binding_scope: BindingScope = BindingScope.ANY
    binding_days: int | None = 30  # None: permanent

    def __post_init__(self) -> None:
        if len(self.invite_bps) > MAX_LEVELS:
            raise Invalid(ErrorCode.PYRAMID_REFUSED, PYRAMID)
        rates = (self.leader_share_bps, *self.invite_bps)
        if any(not 0 <= r <= MAX_RATE_BPS for r in rates) or sum(rates) > MAX_TOTAL_BPS:
            raise Invalid(
                ErrorCode.GROWTH_RULES_INVALID,
                f"each rate is 0..{MAX_RATE_BPS} bps and together at most {MAX_TOTAL_BPS}",
            )
        if self.binding_days is not None and not 1 <= self.binding_days <= MAX_BINDING_DAYS:
            raise Invalid(
                ErrorCode.GROWTH_RULES_INVALID,
                f"binding_days is 1..{MAX_BINDING_DAYS}, or none for permanent bindings",
            )

    def binding_expiry(self, bound_at: datetime) -> datetime | None:
        if self.binding_days is None:
            return None
        return bound_at + timedelta(days=self.binding_days)

    def level_rate(self, level: int) -> int:
        """The commission of level 1 or 2; 0 where the operators set none."""
        return self.invite_bps[level - 1] if level <= len(self.invite_bps) else 0


DEFAULTS = Rules()


def _of(row: GrowthRules) -> Rules:
    return Rules(
        leader_share_bps=row.leader_share_bps,
        invite_bps=(row.invite_level1_bps, row.invite_level2_bps),
        binding_scope=row.binding_scope,
        binding_days=row.binding_days,
    )


def of_columns(row: Mapping[str, Any]) -> Rules:
    """The rules from the row's columns read along with other things (a left join on
    ``scope``: every column None where there is no row, and then ``DEFAULTS``)."""
    if row["leader_share_bps"] is None:
        return DEFAULTS
    return Rules(
        leader_share_bps=row["leader_share_bps"],
        invite_bps=(row["invite_level1_bps"], row["invite_level2_bps"]),
        binding_scope=BindingScope(row["binding_scope"]),
        binding_days=row["binding_days"],
    )


async def current() -> Rules:
    row = await GrowthRules.get_or_none(scope=SCOPE)
    return DEFAULTS if row is None else _of(row)


async def update(*, actor: Principal, rules: Rules, now: datetime) -> Rules:
    """Admins set the rules; they apply to touches and payments from now on."""
    if not actor.is_admin:
        raise Forbidden(ErrorCode.FORBIDDEN, "only admins set the growth rules")
    values = {
        "leader_share_bps": rules.leader_share_bps,
        "invite_level1_bps": rules.level_rate(1),
        "invite_level2_bps": rules.level_rate(2),
        "binding_scope": rules.binding_scope,
        "binding_days": rules.binding_days,
        "updated_by_id": actor.user_id,
        "updated_at": now,
    }
    if not await GrowthRules.filter(scope=SCOPE).update(**values):
        try:
            async with in_transaction():
                await GrowthRules.create(scope=SCOPE, **values)
        except IntegrityError:  # a concurrent first update created it: ours is the later write
            await GrowthRules.filter(scope=SCOPE).update(**values)
    return await current()
