"""Member tiers: levels an admin defines, the rules of the ladder, and each member's tier.

A member's growth is their paid GMV minus refunds over a rolling window (services/tiers.py);
their tier is the highest level whose threshold it reaches, held for the rest of the month
in which it was last set unless the rules allow lowering mid-month.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model


class TierLevel(Model):
    id = fields.UUIDField(primary_key=True)
    name = fields.CharField(max_length=32, unique=True)
    threshold = fields.IntField()  # growth in fen from which the level holds
    discount_bps = fields.IntField(default=0)  # off group prices, in 1/10000
    points_multiplier_pct = fields.IntField(default=100)  # 150: points x1.5
    coupon_template_ids = fields.JSONField(default=list)  # the monthly coupon pack
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "tier_levels"
        constraints = (
            CheckConstraint(check="threshold >= 0", name="ck_tier_threshold"),
            CheckConstraint(check="discount_bps BETWEEN 0 AND 5000", name="ck_tier_discount"),
            CheckConstraint(
                check="points_multiplier_pct BETWEEN 100 AND 1000", name="ck_tier_multiplier"
            ),
        )


class TierRules(Model):
    """The ladder's rules: one row (id 1)."""

    id = fields.IntField(primary_key=True)
    window_days = fields.IntField(default=365)
    lower_mid_month = fields.BooleanField(default=False)
    timezone = fields.CharField(max_length=64, default="Asia/Shanghai")  # where months turn
    # Raised by every change of the ladder: a member calculated under an older one is
    # recalculated on their next read.
    ladder_version = fields.IntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "tier_rules"
        constraints = (
            CheckConstraint(check="window_days BETWEEN 1 AND 730", name="ck_tier_window"),
        )


class MemberTier(Model):
    """A member's tier as last recalculated, and the month it is held for."""

    id = fields.UUIDField(primary_key=True)
    user = fields.OneToOneField("models.User", related_name="member_tier")
    level = fields.ForeignKeyField(
        "models.TierLevel", related_name="members", null=True, on_delete=fields.SET_NULL
    )
    growth = fields.IntField(default=0)
    held_month = fields.CharField(max_length=7)  # "2026-12": the level holds all that month
    recalculated_at = fields.DatetimeField()
    ladder_version = fields.IntField(default=0)  # the ladder's version it was calculated under

    class Meta:
        table = "member_tiers"
