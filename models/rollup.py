"""Rollups the dashboards read: kept up to date by the clock (``services.rollups``), so a
page reads a few rows per day and never counts orders.

Ids of communities, campaigns and SKUs are plain columns, not foreign keys: a rollup row
describes what happened and must neither block nor follow a delete.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.migrations.constraints import UniqueConstraint
from tortoise.models import Model

# ``campaign_id`` of the rows for what belongs to no campaign (direct orders, invites).
NO_CAMPAIGN = "00000000-0000-0000-0000-000000000000"


class FunnelDay(Model):
    """One community's (and campaign's) day: card shared -> opened -> joined -> paid ->
    picked up, with the money: GMV and paid orders, refunds settled."""

    # Each count is of that day's events (paid, picked_up: paid, picked up that day), except
    # joined_paid and joined_picked_up (0250): of the orders placed that day, those paid
    # since, and of those the ones picked up since. The funnel reads those: each step a
    # subset of the one before, where paid beside joined is two populations.

    id = fields.UUIDField(primary_key=True)
    community_id = fields.UUIDField()
    campaign_id = fields.UUIDField()
    day = fields.DateField()
    shared = fields.IntField(default=0)
    opened = fields.IntField(default=0)
    joined = fields.IntField(default=0)
    paid = fields.IntField(default=0)
    picked_up = fields.IntField(default=0)
    joined_paid = fields.IntField(default=0)  # of the orders placed that day, paid since
    joined_picked_up = fields.IntField(default=0)  # of those, picked up since
    gmv = fields.BigIntField(default=0)  # fen, of the orders paid that day
    refunds = fields.IntField(default=0)
    refunded = fields.BigIntField(default=0)  # fen

    class Meta:
        table = "funnel_days"
        constraints = (
            UniqueConstraint(fields=("community_id", "day", "campaign_id"), name="uq_funnel_day"),
        )


class ProductDay(Model):
    """Paid orders and GMV of one SKU in one community on one day (top products)."""

    id = fields.UUIDField(primary_key=True)
    community_id = fields.UUIDField()
    sku_id = fields.UUIDField()
    day = fields.DateField()
    orders = fields.IntField(default=0)
    quantity = fields.IntField(default=0)
    gmv = fields.BigIntField(default=0)

    class Meta:
        table = "product_days"
        constraints = (
            UniqueConstraint(fields=("community_id", "day", "sku_id"), name="uq_product_day"),
        )


class MemberStats(Model):
    """A member of a community and what they bought there: the cohorts' (and RFM's) row."""

    id = fields.UUIDField(primary_key=True)
    community_id = fields.UUIDField()
    user_id = fields.UUIDField()
    joined_at = fields.DatetimeField()
    orders = fields.IntField(default=0)  # paid, not refunded
    spent = fields.BigIntField(default=0)  # fen
    first_paid_at = fields.DatetimeField(null=True)
    last_paid_at = fields.DatetimeField(null=True)

    class Meta:
        table = "member_stats"
        constraints = (
            UniqueConstraint(fields=("community_id", "user_id"), name="uq_member_stats"),
        )


class Cohort(Model):
    """The members who joined a community in one week, and how many bought, and again."""

    id = fields.UUIDField(primary_key=True)
    community_id = fields.UUIDField()
    week = fields.DateField()  # the Monday
    members = fields.IntField(default=0)
    buyers = fields.IntField(default=0)
    repeaters = fields.IntField(default=0)

    class Meta:
        table = "member_cohorts"
        constraints = (UniqueConstraint(fields=("community_id", "week"), name="uq_member_cohort"),)
