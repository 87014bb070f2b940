"""Coupons: the templates an admin makes and the coupons people hold.

A template's ``stock_left`` and a coupon's ``status`` change only by checked conditional
updates (services/coupons.py); CHECKs and unique keys back them (migration 0031).
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint, UniqueConstraint
from tortoise.models import Model


class CouponKind(StrEnum):
    AMOUNT = "amount"  # 满减: ``amount_off`` once the price reaches ``threshold`` (0: none)
    PERCENT = "percent"  # ``percent_off`` of the price, at most ``max_off``


class CouponScope(StrEnum):
    ALL = "all"
    PRODUCT = "product"  # scope_ref: a product id
    CATEGORY = "category"  # scope_ref: a product category
    COMMUNITY = "community"  # scope_ref: a community id


class GrantRule(StrEnum):
    """How a template is given besides being claimed (services/coupon_grants.py)."""

    NONE = "none"
    INVITE = "invite"  # to the inviter, when an invitee is bound
    FIRST_ORDER = "first_order"  # to the buyer, when their first order is paid
    WINBACK = "winback"  # to members silent for ``rule_days`` days (the clock)
    TIER_UPGRADE = "tier_upgrade"  # on a member-tier upgrade (the tiers service calls it)


class CouponStatus(StrEnum):
    AVAILABLE = "available"
    LOCKED = "locked"  # held by an order awaiting payment
    USED = "used"  # spent by a paid order
    EXPIRED = "expired"


class CouponTemplate(Model):
    id = fields.UUIDField(primary_key=True)
    name = fields.CharField(max_length=64)
    kind = fields.CharEnumField(CouponKind, max_length=16)
    threshold = fields.IntField(default=0)  # fen; 0: no threshold
    amount_off = fields.IntField(default=0)  # fen (AMOUNT)
    percent_off = fields.IntField(default=0)  # 1..99 (PERCENT)
    max_off = fields.IntField(default=0)  # fen, the cap of a PERCENT coupon
    new_user_only = fields.BooleanField(default=False)
    scope = fields.CharEnumField(CouponScope, max_length=16, default=CouponScope.ALL)
    scope_ref = fields.CharField(max_length=64, default="")
    stock_total = fields.IntField()
    stock_left = fields.IntField()
    per_user_limit = fields.IntField(default=1)
    valid_from = fields.DatetimeField(null=True)  # fixed dates; None with valid_days
    valid_until = fields.DatetimeField(null=True)
    valid_days = fields.IntField(null=True)  # N days from the claim
    claimable = fields.BooleanField(default=True)  # users may claim it (else: granted only)
    points_price = fields.IntField(null=True)  # exchangeable for this many points
    grant_rule = fields.CharEnumField(GrantRule, max_length=16, default=GrantRule.NONE)
    rule_days = fields.IntField(null=True)  # WINBACK: silent for this many days
    community = fields.ForeignKeyField(
        "models.Community", related_name="coupon_templates", null=True, on_delete=fields.RESTRICT
    )  # whose group hears of it (its card); None: shop-wide
    active = fields.BooleanField(default=True)
    created_by = fields.ForeignKeyField(
        "models.User", related_name="coupon_templates", on_delete=fields.RESTRICT
    )
    created_at = fields.DatetimeField()

    class Meta:
        table = "coupon_templates"
        constraints = (
            CheckConstraint(
                check="stock_left >= 0 AND stock_left <= stock_total", name="ck_coupon_stock"
            ),
            CheckConstraint(check="per_user_limit >= 1", name="ck_coupon_per_user"),
            CheckConstraint(
                check="(valid_days IS NULL) <> (valid_until IS NULL)", name="ck_coupon_valid"
            ),
        )


class Coupon(Model):
    id = fields.UUIDField(primary_key=True)
    template = fields.ForeignKeyField(
        "models.CouponTemplate", related_name="coupons", on_delete=fields.RESTRICT
    )
    user = fields.ForeignKeyField("models.User", related_name="coupons", on_delete=fields.RESTRICT)
    # The n-th of this template this user got: unique with (template, user), 1..limit, so
    # two concurrent claims of one person cannot both pass the per-user limit.
    nth = fields.IntField()
    status = fields.CharEnumField(
        CouponStatus, max_length=16, default=CouponStatus.AVAILABLE, db_index=True
    )
    order = fields.ForeignKeyField(
        "models.Order", related_name="coupons", null=True, on_delete=fields.RESTRICT
    )
    source = fields.CharField(max_length=16)  # claim, points, operator, or a GrantRule
    source_ref = fields.CharField(max_length=96, null=True, unique=True)  # a grant, once
    valid_from = fields.DatetimeField()
    valid_until = fields.DatetimeField(db_index=True)
    claimed_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "coupons"
        constraints = (
            UniqueConstraint(fields=("template_id", "user_id", "nth"), name="uq_coupon_nth"),
            CheckConstraint(
                check="(status IN ('locked', 'used')) = (order_id IS NOT NULL)",
                name="ck_coupon_order",
            ),
        )
